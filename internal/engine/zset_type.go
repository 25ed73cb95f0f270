package engine

import (
	"sort"
)

// Redis 7.0's defaults of zset-max-listpack-entries and
// zset-max-listpack-value: a sorted set stays "listpack" encoded while it
// has at most this many members and every member is at most this long.
const (
	zsetMaxListpackEntries = 128
	zsetMaxListpackValue   = 64
)

// Memory estimate of a sorted set, in bytes, besides its member bytes:
//   - a listpack entry is a zsetEntry (string header 16, score 8);
//   - a skiplist member is its node (40, upper-level reference included),
//     a third of an upper level on average (8/3, rounded up to 3), its
//     dict entry (key 16, uint32 value padded to 8, next 8: 32) and about
//     one and a half bucket pointers (12);
//   - zsetOverhead is the zset struct and slice backing header;
//     zsetSkiplistOverhead the skiplist (its 32-level header and free
//     lists) and Dict structs a skiplist adds.
const (
	zsetListpackEntryBytes = 24
	zsetSkiplistEntryBytes = 40 + 3 + 32 + 12
	zsetOverhead           = 48
	zsetSkiplistOverhead   = 416 + 80
)

// zsetEntry is one member and its score.
type zsetEntry struct {
	member string
	score  float64
}

// zset is a value of the sorted-set type. Like Redis it has two
// encodings. A small set is a "listpack": its entries sorted by score,
// then member, in one slice. Past zsetMaxListpackEntries members, or once
// a member longer than zsetMaxListpackValue is added, it becomes a
// "skiplist": a skiplist ordered the same way plus a dict from member to
// skiplist node, the member string shared by both. It never goes back,
// except that the results of the *STORE commands are built in whichever
// encoding Redis would choose.
type zset struct {
	lp    []zsetEntry // the listpack encoding; unused once sl is set
	sl    *skiplist
	dict  *Dict[uint32] // member → node of sl
	bytes int64         // total length of the members
}

func (z *zset) typeName() string { return "zset" }

func (z *zset) encoding() string {
	if z.sl != nil {
		return "skiplist"
	}
	return "listpack"
}

// memory is the running estimate described at zsetSkiplistEntryBytes.
func (z *zset) memory() int64 {
	if z.sl != nil {
		return zsetOverhead + zsetSkiplistOverhead + int64(z.len())*zsetSkiplistEntryBytes + z.bytes
	}
	return zsetOverhead + int64(z.len())*zsetListpackEntryBytes + z.bytes
}

// clone copies the set, keeping its encoding. Member strings are
// immutable and shared.
func (z *zset) clone() object {
	c := &zset{bytes: z.bytes}
	if z.sl == nil {
		c.lp = append([]zsetEntry(nil), z.lp...)
		return c
	}
	c.toSkiplist()
	for x := z.sl.first(); x != 0; x = z.sl.node(x).next {
		n := z.sl.node(x)
		c.dict.Add(n.member, c.sl.insert(n.score, n.member))
	}
	return c
}

// len reports the number of members.
func (z *zset) len() int {
	if z.sl != nil {
		return z.sl.length
	}
	return len(z.lp)
}

// lpIndex returns the listpack index of member, or -1.
func (z *zset) lpIndex(member []byte) int {
	for i := range z.lp {
		if z.lp[i].member == string(member) {
			return i
		}
	}
	return -1
}

// lpSearch returns the listpack index where (score, member) sorts.
func (z *zset) lpSearch(score float64, member string) int {
	return sort.Search(len(z.lp), func(i int) bool {
		e := &z.lp[i]
		return e.score > score || (e.score == score && e.member >= member)
	})
}

// score returns the score of member.
func (z *zset) score(member []byte) (float64, bool) {
	if z.sl != nil {
		if p := z.dict.Get(member); p != nil {
			return z.sl.node(*p).score, true
		}
		return 0, false
	}
	if i := z.lpIndex(member); i >= 0 {
		return z.lp[i].score, true
	}
	return 0, false
}

// toSkiplist converts an empty or listpack set to the skiplist encoding.
func (z *zset) toSkiplist() {
	z.sl, z.dict = newSkiplist(), NewDict[uint32]()
	for _, e := range z.lp {
		z.dict.Add(e.member, z.sl.insert(e.score, e.member))
	}
	z.lp = nil
}

// insert adds member, which the caller knows is absent, converting a
// listpack first when it would grow too large (zsetAdd's check).
func (z *zset) insert(score float64, member string) {
	if z.sl == nil && (len(z.lp)+1 > zsetMaxListpackEntries || len(member) > zsetMaxListpackValue) {
		z.toSkiplist()
	}
	z.bytes += int64(len(member))
	if z.sl != nil {
		z.dict.Add(member, z.sl.insert(score, member))
		return
	}
	if score == 0 {
		score = 0 // a listpack stores -0 as "0"
	}
	i := z.lpSearch(score, member)
	z.lp = append(z.lp, zsetEntry{})
	copy(z.lp[i+1:], z.lp[i:])
	z.lp[i] = zsetEntry{member: member, score: score}
}

// update changes the score of member from cur to score.
func (z *zset) update(member []byte, cur, score float64) {
	if z.sl != nil {
		p := z.dict.Get(member)
		*p = z.sl.updateScore(cur, z.sl.node(*p).member, score)
		return
	}
	i := z.lpIndex(member)
	m := z.lp[i].member
	z.lpRemoveAt(i)
	z.bytes -= int64(len(m))
	z.insert(score, m)
}

// lpRemoveAt removes listpack entry i.
func (z *zset) lpRemoveAt(i int) {
	copy(z.lp[i:], z.lp[i+1:])
	z.lp[len(z.lp)-1] = zsetEntry{}
	z.lp = z.lp[:len(z.lp)-1]
}

// remove deletes member and reports whether it was there.
func (z *zset) remove(member []byte) bool {
	if z.sl == nil {
		i := z.lpIndex(member)
		if i < 0 {
			return false
		}
		z.lpRemoveAt(i)
		z.bytes -= int64(len(member))
		return true
	}
	p := z.dict.Get(member)
	if p == nil {
		return false
	}
	n := z.sl.node(*p)
	z.sl.delete(n.score, n.member)
	z.dict.Delete(member)
	z.bytes -= int64(len(member))
	z.maybeCompact()
	return true
}

// maybeCompact rebuilds a skiplist whose arenas are mostly free slots.
func (z *zset) maybeCompact() {
	if !z.sl.wasteful() {
		return
	}
	old := z.sl
	z.sl = newSkiplist()
	for x := old.first(); x != 0; x = old.node(x).next {
		n := old.node(x)
		*z.dict.GetString(n.member) = z.sl.insert(n.score, n.member)
	}
}

// zaddFlags are the options of ZADD.
type zaddFlags struct {
	nx, xx, gt, lt, incr bool
}

// zaddResult is what zsetAdd did.
type zaddResult uint8

const (
	zaddNop zaddResult = iota
	zaddAdded
	zaddUpdated
	zaddSame // processed, score unchanged
	zaddNaN
)

// add is Redis's zsetAdd: it adds or updates member as the flags say and
// returns what it did and the new score.
func (z *zset) add(score float64, member []byte, f zaddFlags) (zaddResult, float64) {
	cur, exists := z.score(member)
	if !exists {
		if f.xx {
			return zaddNop, 0
		}
		z.insert(score, string(member))
		return zaddAdded, score
	}
	if f.nx {
		return zaddNop, 0
	}
	if f.incr {
		score += cur
		if score != score {
			return zaddNaN, 0
		}
	}
	if (f.lt && score >= cur) || (f.gt && score <= cur) {
		return zaddNop, 0
	}
	if score == cur {
		return zaddSame, score
	}
	z.update(member, cur, score)
	return zaddUpdated, score
}

// rank returns the 0-based rank of member, counted from the end when
// reverse.
func (z *zset) rank(member []byte, reverse bool) (int, bool) {
	var r int
	if z.sl != nil {
		p := z.dict.Get(member)
		if p == nil {
			return 0, false
		}
		n := z.sl.node(*p)
		r = z.sl.rank(n.score, n.member) - 1
	} else if r = z.lpIndex(member); r < 0 {
		return 0, false
	}
	if reverse {
		r = z.len() - 1 - r
	}
	return r, true
}

// at returns the entry of 0-based rank r, which must exist.
func (z *zset) at(r int) zsetEntry {
	if z.sl == nil {
		return z.lp[r]
	}
	n := z.sl.node(z.sl.byRank(r + 1))
	return zsetEntry{n.member, n.score}
}

// walk calls fn for the entries from 0-based rank from towards the end,
// or towards the start when reverse, until fn returns false. fn must not
// change the set.
func (z *zset) walk(from int, reverse bool, fn func(e zsetEntry) bool) {
	if from < 0 || from >= z.len() {
		return
	}
	if z.sl == nil {
		for i := from; i >= 0 && i < len(z.lp); {
			if !fn(z.lp[i]) {
				return
			}
			if reverse {
				i--
			} else {
				i++
			}
		}
		return
	}
	for x := z.sl.byRank(from + 1); x != 0; {
		n := z.sl.node(x)
		if !fn(zsetEntry{n.member, n.score}) {
			return
		}
		if reverse {
			x = n.back
		} else {
			x = n.next
		}
	}
}

// removeRange deletes the entries of 0-based ranks start..end, which the
// caller has clipped to the set, calling fn (when not nil) with each
// first, and returns how many it deleted.
func (z *zset) removeRange(start, end int, fn func(e zsetEntry)) int {
	if start > end {
		return 0
	}
	if z.sl == nil {
		for _, e := range z.lp[start : end+1] {
			z.bytes -= int64(len(e.member))
			if fn != nil {
				fn(e)
			}
		}
		z.lp = append(z.lp[:start], z.lp[end+1:]...)
		clear(z.lp[len(z.lp):cap(z.lp)][:end-start+1])
		return end - start + 1
	}
	n := z.sl.deleteRangeByRank(start+1, end+1, func(member string, score float64) {
		if fn != nil {
			fn(zsetEntry{member, score})
		}
		z.dict.Delete([]byte(member))
		z.bytes -= int64(len(member))
	})
	z.maybeCompact()
	return n
}

// firstInScore returns the 0-based rank of the first entry in r, or -1
// (zzlFirstInRange, zslFirstInRange).
func (z *zset) firstInScore(r *scoreRange) int {
	if !z.inScoreRange(r) {
		return -1
	}
	if z.sl == nil {
		i := sort.Search(len(z.lp), func(i int) bool { return r.gteMin(z.lp[i].score) })
		if i == len(z.lp) || !r.lteMax(z.lp[i].score) {
			return -1
		}
		return i
	}
	x, rank := z.sl.firstWhere(func(n *slNode) bool { return !r.gteMin(n.score) })
	if x == 0 || !r.lteMax(z.sl.node(x).score) {
		return -1
	}
	return rank - 1
}

// lastInScore returns the 0-based rank of the last entry in r, or -1.
func (z *zset) lastInScore(r *scoreRange) int {
	if !z.inScoreRange(r) {
		return -1
	}
	if z.sl == nil {
		i := sort.Search(len(z.lp), func(i int) bool { return !r.lteMax(z.lp[i].score) }) - 1
		if i < 0 || !r.gteMin(z.lp[i].score) {
			return -1
		}
		return i
	}
	x, rank := z.sl.lastWhere(func(n *slNode) bool { return r.lteMax(n.score) })
	if x == 0 || !r.gteMin(z.sl.node(x).score) {
		return -1
	}
	return rank - 1
}

// inScoreRange reports whether r may hold entries of z (zslIsInRange).
func (z *zset) inScoreRange(r *scoreRange) bool {
	if r.empty() || z.len() == 0 {
		return false
	}
	return r.gteMin(z.at(z.len()-1).score) && r.lteMax(z.at(0).score)
}

// firstInLex returns the 0-based rank of the first entry in r, or -1.
// A listpack is searched from its start as zzlFirstInLexRange does, a
// skiplist as zslFirstInLexRange does, so that sets whose scores differ
// give Redis's answers.
func (z *zset) firstInLex(r *lexRange) int {
	if !z.inLexRange(r) {
		return -1
	}
	if z.sl == nil {
		for i := range z.lp {
			if r.gteMin(z.lp[i].member) {
				if !r.lteMax(z.lp[i].member) {
					return -1
				}
				return i
			}
		}
		return -1
	}
	x, rank := z.sl.firstWhere(func(n *slNode) bool { return !r.gteMin(n.member) })
	if x == 0 || !r.lteMax(z.sl.node(x).member) {
		return -1
	}
	return rank - 1
}

// lastInLex returns the 0-based rank of the last entry in r, or -1.
func (z *zset) lastInLex(r *lexRange) int {
	if !z.inLexRange(r) {
		return -1
	}
	if z.sl == nil {
		for i := len(z.lp) - 1; i >= 0; i-- {
			if r.lteMax(z.lp[i].member) {
				if !r.gteMin(z.lp[i].member) {
					return -1
				}
				return i
			}
		}
		return -1
	}
	x, rank := z.sl.lastWhere(func(n *slNode) bool { return r.lteMax(n.member) })
	if x == 0 || !r.gteMin(z.sl.node(x).member) {
		return -1
	}
	return rank - 1
}

// inLexRange reports whether r may hold entries of z (zslIsInLexRange).
func (z *zset) inLexRange(r *lexRange) bool {
	if r.empty() || z.len() == 0 {
		return false
	}
	return r.gteMin(z.at(z.len()-1).member) && r.lteMax(z.at(0).member)
}

// each calls fn for every entry in order.
func (z *zset) each(fn func(e zsetEntry)) {
	z.walk(0, false, func(e zsetEntry) bool { fn(e); return true })
}

// random returns a random entry of a non-empty set.
func (z *zset) random(intn func(int) int) zsetEntry {
	if z.sl == nil {
		return z.lp[intn(len(z.lp))]
	}
	k, v, _ := z.dict.Random()
	return zsetEntry{k, z.sl.node(*v).score}
}

// buildZset returns a set of entries with distinct members, in the
// encoding Redis gives a *STORE result (zsetConvertToListpackIfNeeded).
func buildZset(entries []zsetEntry) *zset {
	z := &zset{}
	maxLen := 0
	for _, e := range entries {
		maxLen = max(maxLen, len(e.member))
	}
	if len(entries) > zsetMaxListpackEntries || maxLen > zsetMaxListpackValue {
		z.toSkiplist()
	} else {
		z.lp = make([]zsetEntry, 0, len(entries))
	}
	for _, e := range entries {
		z.insert(e.score, e.member)
	}
	return z
}
