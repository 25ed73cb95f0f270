package engine

import (
	"cmp"
	"slices"
)

// The set algebra: SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE,
// SDIFF, SDIFFSTORE and SMEMBERS, after Redis 7.0's sinterGenericCommand
// and sunionDiffGenericCommand. A result set is built by adding members
// to a new set, as Redis does, so a stored result has the encoding Redis
// would give it, and an unstored one is listed in that set's order
// (ascending when it is an intset).

// lookupSets looks up keys for reading. A missing key is a nil set and
// sets missing; ok is false after WRONGTYPE was written (every key is
// checked, as Redis does, even after a missing one).
func (c *Client) lookupSets(keys [][]byte) (sets []*set, missing, ok bool) {
	sets = make([]*set, len(keys))
	for i, k := range keys {
		s, _, ok := c.lookupSet(k, true)
		if !ok {
			return nil, false, false
		}
		missing = missing || s == nil
		sets[i] = s
	}
	return sets, missing, true
}

// cmdSMembers is SMEMBERS key: SINTER of one key, as in Redis 7.0.
func cmdSMembers(c *Client, args [][]byte) {
	s, _, ok := c.lookupSet(args[1], true)
	if !ok {
		return
	}
	if s == nil {
		c.W.WriteSet(0)
		return
	}
	c.W.WriteSet(s.len())
	s.writeMembers(c)
}

// sinter is SINTER (dst nil), SINTERSTORE (dst set) and SINTERCARD
// (cardOnly, stopping once limit members were counted). It walks the
// smallest set, the sets sorted by size as Redis's qsort does (glibc's
// sort is stable for this), and keeps the members every other set has.
func sinter(c *Client, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	sets, missing, ok := c.lookupSets(keys)
	if !ok {
		return
	}
	if missing {
		switch {
		case dst != nil:
			c.storeSet(dst, newSet())
		case cardOnly:
			c.W.WriteInt(0)
		default:
			c.W.WriteSet(0)
		}
		return
	}
	slices.SortStableFunc(sets, func(a, b *set) int { return cmp.Compare(a.len(), b.len()) })
	first := sets[0]
	var (
		result  *set
		matched []int // indices in first, for the reply
		card    int64
	)
	if dst != nil {
		result = newSet()
	}
	for i := range first.len() {
		e := first.at(i)
		if !inOthers(e, first, sets[1:]) {
			continue
		}
		card++
		switch {
		case cardOnly:
			if card >= limit {
				c.W.WriteInt(card)
				return
			}
		case result != nil:
			result.addElem(e)
		default:
			matched = append(matched, i)
		}
	}
	switch {
	case cardOnly:
		c.W.WriteInt(card)
	case result != nil:
		c.storeSet(dst, result)
	default:
		c.W.WriteSet(len(matched))
		for _, i := range matched {
			writeElem(c, first.at(i))
		}
	}
}

// inOthers reports whether every set of others, except first itself,
// has e.
func inOthers(e elem, first *set, others []*set) bool {
	for _, s := range others {
		if s != first && !s.hasElem(e) {
			return false
		}
	}
	return true
}

// sunionDiff is SUNION and SDIFF (diff), storing the result under dst
// when it is not nil.
func sunionDiff(c *Client, keys [][]byte, dst []byte, diff bool) {
	sets, _, ok := c.lookupSets(keys)
	if !ok {
		return
	}
	result := newSet()
	switch {
	case !diff:
		for _, s := range sets {
			if s != nil {
				addAll(result, s)
			}
		}
	case sets[0] != nil:
		diffInto(result, sets)
	}
	if dst != nil {
		c.storeSet(dst, result)
		return
	}
	c.W.WriteSet(result.len())
	result.writeMembers(c)
}

// addAll adds every member of s to result.
func addAll(result, s *set) {
	for i := range s.len() {
		result.addElem(s.at(i))
	}
}

// diffInto puts sets[0] minus the other sets into result with the
// algorithm Redis would choose, which decides the result's encoding: the
// first adds only the members that survive; the second adds all of
// sets[0] (an intset of more than 512 members becomes a hashtable on the
// way) and removes the others' members.
func diffInto(result *set, sets []*set) {
	var one, two int64
	for _, s := range sets {
		if s != nil {
			one += int64(sets[0].len())
			two += int64(s.len())
		}
	}
	if one/2 <= two {
		first, others := sets[0], sets[1:]
		slices.SortStableFunc(others, func(a, b *set) int { return cmp.Compare(setLen(b), setLen(a)) })
		for i := range first.len() {
			e := first.at(i)
			if !inAny(e, first, others) {
				result.addElem(e)
			}
		}
		return
	}
	addAll(result, sets[0])
	for _, s := range sets[1:] {
		if result.len() == 0 {
			return
		}
		if s == nil {
			continue
		}
		for i := range s.len() {
			result.removeElem(s.at(i))
		}
	}
}

// inAny reports whether some set of others has e; first itself has
// every e.
func inAny(e elem, first *set, others []*set) bool {
	for _, s := range others {
		if s == first || (s != nil && s.hasElem(e)) {
			return true
		}
	}
	return false
}

// setLen is the size of s, 0 for a missing set.
func setLen(s *set) int {
	if s == nil {
		return 0
	}
	return s.len()
}
