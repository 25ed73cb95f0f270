package engine

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Redis 7.0's strategy thresholds: SPOP with a count keeps the survivors
// instead of popping when few remain (spopMoveStrategyMul), SRANDMEMBER
// with a positive count shuffles a copy when it wants a large share of
// the set (srandSubStrategyMul).
const (
	spopMoveStrategyMul = 5
	srandSubStrategyMul = 3
)

// cmdSPop is SPOP key [count].
func cmdSPop(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.W.WriteError(errSyntax)
		return
	}
	if len(args) == 3 {
		spopCount(c, args[1], args[2])
		return
	}
	key := args[1]
	s, _, ok := c.lookupSet(key, false)
	if !ok {
		return
	}
	if s == nil {
		c.W.WriteNull()
		return
	}
	writeElem(c, s.popRandom())
	c.setChanged(key, s)
}

// spopCount is SPOP key count, with Redis 7.0's three cases: the whole
// set (listed as SUNION would, and the key deleted); few members, popped
// one by one; most members, where the survivors are drawn into a new set
// that replaces the old one (so it gets a new set's encoding) and the
// rest is listed.
func spopCount(c *Client, key, arg []byte) {
	l, ok := parseInt(arg)
	if !ok || l < 0 {
		c.W.WriteError(errSetNotPositive)
		return
	}
	s, v, ok := c.lookupSet(key, false)
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.W.WriteSet(0)
		return
	}
	size := s.len()
	if l >= int64(size) {
		writeUnionOrder(c, s)
		c.db.delete(c.e, key)
		return
	}
	count := int(l)
	remaining := size - count
	c.W.WriteSet(count)
	if remaining*spopMoveStrategyMul > count {
		for range count {
			writeElem(c, s.popRandom())
		}
	} else {
		kept := newSet()
		for range remaining {
			kept.addElem(s.popRandom())
		}
		s.writeMembers(c)
		v.obj = kept
	}
	c.e.keyChanged(c.db, string(key))
}

// writeUnionOrder writes s as a set reply in the order SUNION of s alone
// lists it: Redis copies it into a new set first, which is an intset (in
// ascending order) when every member is an integer and there are at most
// 512, and a hashtable in no particular order otherwise.
func writeUnionOrder(c *Client, s *set) {
	c.W.WriteSet(s.len())
	if s.ht == nil || s.len() > setMaxIntsetEntries {
		s.writeMembers(c)
		return
	}
	ints := make([]int64, 0, s.len())
	for _, m := range s.members {
		n, ok := intOf(m)
		if !ok {
			s.writeMembers(c)
			return
		}
		ints = append(ints, n)
	}
	slices.Sort(ints)
	for _, n := range ints {
		c.W.WriteBulkInt(n)
	}
}

// cmdSRandMember is SRANDMEMBER key [count] with Redis 7.0's semantics:
// without count one random member (or null); a positive count gives
// distinct members (all of them, in the set's order, when count ≥ the
// size); a negative count gives that many members drawn independently,
// streamed as they are drawn. Redis would stream any count up to
// -9223372036854775807; beyond maxRandomCount (the reply bound
// HRANDFIELD shares) the count is refused with "value is out of range".
func cmdSRandMember(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.W.WriteError(errSyntax)
		return
	}
	if len(args) == 2 {
		s, _, ok := c.lookupSet(args[1], true)
		if !ok {
			return
		}
		if s == nil {
			c.W.WriteNull()
			return
		}
		writeElem(c, s.random())
		return
	}
	l, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	if l < -math.MaxInt64 {
		c.W.WriteError(errSetRandRange)
		return
	}
	s, _, ok := c.lookupSet(args[1], true)
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.W.WriteArray(0)
		return
	}
	if l < 0 || l == 1 {
		count := max(-l, 1)
		if count > maxRandomCount {
			c.W.WriteError(errSetRandTooMany)
			return
		}
		c.W.WriteArray(int(count))
		for range count {
			writeElem(c, s.random())
		}
		return
	}
	size := s.len()
	if l >= int64(size) {
		c.W.WriteArray(size)
		s.writeMembers(c)
		return
	}
	writeDistinct(c, s, int(l))
}

// writeDistinct writes count distinct random members, 1 < count < size:
// a partial shuffle of all positions when count is a large share of the
// set, else draws until count distinct positions came up. Both allocate
// at most the set's size.
func writeDistinct(c *Client, s *set, count int) {
	size := s.len()
	c.W.WriteArray(count)
	if count*srandSubStrategyMul > size {
		pos := make([]int, size)
		for i := range pos {
			pos[i] = i
		}
		for i := range count {
			j := i + rand.IntN(size-i)
			pos[i], pos[j] = pos[j], pos[i]
			writeElem(c, s.at(pos[i]))
		}
		return
	}
	seen := make(map[int]struct{}, count)
	for len(seen) < count {
		i := rand.IntN(size)
		if _, dup := seen[i]; dup {
			continue
		}
		seen[i] = struct{}{}
		writeElem(c, s.at(i))
	}
}
