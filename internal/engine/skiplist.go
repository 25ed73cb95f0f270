package engine

import (
	"math/bits"
	"math/rand/v2"
)

// The skiplist of the "skiplist" sorted-set encoding: Redis's zskiplist
// (Pugh's skiplist with a span per link, so rank and range queries are
// O(log n)), laid out for a garbage-collected heap.
//
// Nodes are not separate objects: they live in chunked arenas and refer to
// each other by uint32 index, so a million-member set is a few hundred
// pointer-free blocks plus the member strings, and the garbage collector
// has little to scan. A node is 40 bytes (member header, score, backward
// and level-0 forward links, and a reference to its upper levels); only
// the quarter of the nodes that are taller than one level have upper
// levels, 8 bytes each (forward index and span), in a second arena. Level
// 0 needs no span: it is always 1.
//
// Index 0 is nil; the header node is kept apart in hdr. Freed nodes and
// upper-level blocks go on free lists and are reused; compact rebuilds the
// arenas when most of their slots are free.
const (
	slMaxLevel  = 32 // ZSKIPLIST_MAXLEVEL
	slChunkBits = 10
	slChunkSize = 1 << slChunkBits // nodes (or levels) per arena chunk
	slChunkMask = slChunkSize - 1
	slFirstCap  = 16 // initial capacity of a chunk, doubled up to slChunkSize
	slUpBits    = 5  // low bits of an upper-level reference: height-1
)

// slNode is one element.
type slNode struct {
	member string
	score  float64
	back   uint32 // previous node; 0 for the first
	next   uint32 // level-0 forward link; 0 for the last
	up     uint32 // upper levels: blockIndex<<slUpBits | height-1; 0 for height 1
}

// slLevel is one upper-level link.
type slLevel struct {
	fwd  uint32
	span uint32 // number of level-0 steps the link jumps
}

// slChunk is a block of nodes.
type slChunk struct {
	nodes []slNode
}

// skiplist orders (score, member) pairs by score, then member bytes.
// The zero value is not usable; call newSkiplist.
type skiplist struct {
	chunks   []slChunk
	levels   [][]slLevel // upper-level blocks; a block never spans chunks
	hdr      [slMaxLevel]slLevel
	tail     uint32
	length   int
	level    int // height of the tallest node, at least 1
	freeNode uint32
	freeUp   [slMaxLevel]uint32 // free upper blocks by height-1, linked by fwd
	slots    int                // node slots allocated
}

func newSkiplist() *skiplist { return &skiplist{level: 1} }

// slRandomLevel draws a height: each extra level with probability 1/4, as
// Redis's ZSKIPLIST_P.
func slRandomLevel() int {
	return min(1+bits.TrailingZeros64(rand.Uint64())/2, slMaxLevel)
}

// node returns node x (x != 0). The pointer is valid until the next
// allocation.
func (s *skiplist) node(x uint32) *slNode {
	return &s.chunks[x>>slChunkBits].nodes[x&slChunkMask]
}

func (s *skiplist) upRef(x uint32) uint32 { return s.node(x).up }

// height reports the number of levels of node x.
func (s *skiplist) height(x uint32) int { return int(s.upRef(x)&(1<<slUpBits-1)) + 1 }

// lvl returns link i of x, for the header (any i) or i >= 1.
func (s *skiplist) lvl(x uint32, i int) *slLevel {
	if x == 0 {
		return &s.hdr[i]
	}
	a := s.upRef(x)>>slUpBits + uint32(i-1)
	return &s.levels[a>>slChunkBits][a&slChunkMask]
}

// fwd is the forward link of x at level i.
func (s *skiplist) fwd(x uint32, i int) uint32 {
	if i == 0 && x != 0 {
		return s.node(x).next
	}
	return s.lvl(x, i).fwd
}

// span is the span of the link of x at level i.
func (s *skiplist) span(x uint32, i int) uint32 {
	if i == 0 && x != 0 {
		return 1
	}
	return s.lvl(x, i).span
}

func (s *skiplist) setFwd(x uint32, i int, f uint32) {
	if i == 0 && x != 0 {
		s.node(x).next = f
		return
	}
	s.lvl(x, i).fwd = f
}

func (s *skiplist) setSpan(x uint32, i int, n uint32) {
	if i == 0 && x != 0 {
		return
	}
	s.lvl(x, i).span = n
}

// less reports whether node x sorts before (score, member).
func (s *skiplist) less(x uint32, score float64, member string) bool {
	n := s.node(x)
	return n.score < score || (n.score == score && n.member < member)
}

// first returns the first node, or 0.
func (s *skiplist) first() uint32 { return s.hdr[0].fwd }

// insert adds (score, member), which the caller knows is absent, and
// returns its node (zslInsert).
func (s *skiplist) insert(score float64, member string) uint32 {
	var update [slMaxLevel]uint32
	var rank [slMaxLevel]uint32
	x := uint32(0)
	for i := s.level - 1; i >= 0; i-- {
		if i < s.level-1 {
			rank[i] = rank[i+1]
		}
		for f := s.fwd(x, i); f != 0 && s.less(f, score, member); f = s.fwd(x, i) {
			rank[i] += s.span(x, i)
			x = f
		}
		update[i] = x
	}
	h := slRandomLevel()
	if h > s.level {
		for i := s.level; i < h; i++ {
			rank[i], update[i] = 0, 0
			s.hdr[i].span = uint32(s.length)
		}
		s.level = h
	}
	x = s.alloc(member, score, h)
	for i := 0; i < h; i++ {
		s.setFwd(x, i, s.fwd(update[i], i))
		s.setFwd(update[i], i, x)
		s.setSpan(x, i, s.span(update[i], i)-(rank[0]-rank[i]))
		s.setSpan(update[i], i, rank[0]-rank[i]+1)
	}
	for i := h; i < s.level; i++ {
		s.setSpan(update[i], i, s.span(update[i], i)+1)
	}
	n := s.node(x)
	n.back = update[0]
	if n.next != 0 {
		s.node(n.next).back = x
	} else {
		s.tail = x
	}
	s.length++
	return x
}

// unlink removes node x given the last node before it at every level
// (zslDeleteNode). It does not free x.
func (s *skiplist) unlink(x uint32, update *[slMaxLevel]uint32) {
	for i := 0; i < s.level; i++ {
		u := update[i]
		if s.fwd(u, i) == x {
			s.setSpan(u, i, s.span(u, i)+s.span(x, i)-1)
			s.setFwd(u, i, s.fwd(x, i))
		} else {
			s.setSpan(u, i, s.span(u, i)-1)
		}
	}
	n := s.node(x)
	if n.next != 0 {
		s.node(n.next).back = n.back
	} else {
		s.tail = n.back
	}
	for s.level > 1 && s.hdr[s.level-1].fwd == 0 {
		s.level--
	}
	s.length--
}

// findUpdate fills update with the last node before (score, member) at
// every level and returns the node at that position, or 0.
func (s *skiplist) findUpdate(score float64, member string, update *[slMaxLevel]uint32) uint32 {
	x := uint32(0)
	for i := s.level - 1; i >= 0; i-- {
		for f := s.fwd(x, i); f != 0 && s.less(f, score, member); f = s.fwd(x, i) {
			x = f
		}
		update[i] = x
	}
	return s.fwd(x, 0)
}

// delete removes (score, member) and reports whether it was there.
func (s *skiplist) delete(score float64, member string) bool {
	var update [slMaxLevel]uint32
	x := s.findUpdate(score, member, &update)
	if x == 0 {
		return false
	}
	if n := s.node(x); n.score != score || n.member != member {
		return false
	}
	s.unlink(x, &update)
	s.free(x)
	return true
}

// updateScore moves member from score cur to score to and returns its
// node, which may be a new one (zslUpdateScore).
func (s *skiplist) updateScore(cur float64, member string, to float64) uint32 {
	var update [slMaxLevel]uint32
	x := s.findUpdate(cur, member, &update)
	n := s.node(x)
	if (n.back == 0 || s.node(n.back).score < to) && (n.next == 0 || s.node(n.next).score > to) {
		n.score = to
		return x
	}
	s.unlink(x, &update)
	s.free(x)
	return s.insert(to, member)
}

// rank returns the 1-based rank of (score, member), or 0 (zslGetRank).
func (s *skiplist) rank(score float64, member string) int {
	x, rank := uint32(0), 0
	for i := s.level - 1; i >= 0; i-- {
		for f := s.fwd(x, i); f != 0; f = s.fwd(x, i) {
			n := s.node(f)
			if n.score > score || (n.score == score && n.member > member) {
				break
			}
			rank += int(s.span(x, i))
			x = f
		}
		if x != 0 && s.node(x).score == score && s.node(x).member == member {
			return rank
		}
	}
	return 0
}

// byRank returns the node of 1-based rank r, or 0.
func (s *skiplist) byRank(r int) uint32 {
	if r < 1 || r > s.length {
		return 0
	}
	x, traversed := uint32(0), 0
	for i := s.level - 1; i >= 0; i-- {
		for f := s.fwd(x, i); f != 0 && traversed+int(s.span(x, i)) <= r; f = s.fwd(x, i) {
			traversed += int(s.span(x, i))
			x = f
		}
		if traversed == r {
			return x
		}
	}
	return 0
}

// firstWhere returns the first node for which out is false, walking the
// list as if out were true for a prefix of it, and its 1-based rank; 0
// when out holds for every node. It is the search of zslFirstInRange and
// zslFirstInLexRange.
func (s *skiplist) firstWhere(out func(n *slNode) bool) (uint32, int) {
	x, rank := uint32(0), 0
	for i := s.level - 1; i >= 0; i-- {
		for f := s.fwd(x, i); f != 0 && out(s.node(f)); f = s.fwd(x, i) {
			rank += int(s.span(x, i))
			x = f
		}
	}
	x = s.fwd(x, 0)
	if x == 0 {
		return 0, 0
	}
	return x, rank + 1
}

// lastWhere returns the last node for which in holds, walking the list as
// if in were true for a prefix of it, and its 1-based rank; 0 when in
// fails for the first node. It is the search of zslLastInRange.
func (s *skiplist) lastWhere(in func(n *slNode) bool) (uint32, int) {
	x, rank := uint32(0), 0
	for i := s.level - 1; i >= 0; i-- {
		for f := s.fwd(x, i); f != 0 && in(s.node(f)); f = s.fwd(x, i) {
			rank += int(s.span(x, i))
			x = f
		}
	}
	return x, rank
}

// deleteRangeByRank removes the nodes of 1-based ranks start..end,
// calling fn with each one's member and score first
// (zslDeleteRangeByRank).
func (s *skiplist) deleteRangeByRank(start, end int, fn func(member string, score float64)) int {
	var update [slMaxLevel]uint32
	x, traversed := uint32(0), 0
	for i := s.level - 1; i >= 0; i-- {
		for f := s.fwd(x, i); f != 0 && traversed+int(s.span(x, i)) < start; f = s.fwd(x, i) {
			traversed += int(s.span(x, i))
			x = f
		}
		update[i] = x
	}
	traversed++
	x = s.fwd(x, 0)
	removed := 0
	for x != 0 && traversed <= end {
		n := s.node(x)
		next := n.next
		fn(n.member, n.score)
		s.unlink(x, &update)
		s.free(x)
		removed++
		traversed++
		x = next
	}
	return removed
}

// alloc returns a node for (member, score) with h levels, all links zero.
func (s *skiplist) alloc(member string, score float64, h int) uint32 {
	var x uint32
	if s.freeNode != 0 {
		x = s.freeNode
		n := s.node(x)
		s.freeNode = n.next
		*n = slNode{member: member, score: score}
	} else {
		if len(s.chunks) == 0 {
			// Slot 0 is nil.
			s.chunks = append(s.chunks, slChunk{nodes: make([]slNode, 1, slFirstCap)})
		}
		c := &s.chunks[len(s.chunks)-1]
		if len(c.nodes) == slChunkSize {
			s.chunks = append(s.chunks, slChunk{nodes: make([]slNode, 0, slFirstCap)})
			c = &s.chunks[len(s.chunks)-1]
		}
		if len(c.nodes) == cap(c.nodes) {
			c.nodes = growTo(c.nodes, min(2*cap(c.nodes), slChunkSize))
		}
		x = uint32((len(s.chunks)-1)<<slChunkBits + len(c.nodes))
		c.nodes = append(c.nodes, slNode{member: member, score: score})
		s.slots++
	}
	var up uint32
	if h > 1 {
		up = s.allocUp(h)
	}
	s.node(x).up = up
	return x
}

// allocUp returns the reference of a zeroed block of h-1 upper levels.
func (s *skiplist) allocUp(h int) uint32 {
	k := h - 1
	if a := s.freeUp[k]; a != 0 {
		s.freeUp[k] = s.levels[a>>slChunkBits][a&slChunkMask].fwd
		blk := s.levels[a>>slChunkBits][a&slChunkMask:][:k]
		clear(blk)
		return a<<slUpBits | uint32(k)
	}
	if len(s.levels) == 0 {
		s.levels = append(s.levels, make([]slLevel, 1, slFirstCap)) // slot 0 unused
	}
	c := &s.levels[len(s.levels)-1]
	if len(*c)+k > slChunkSize {
		s.levels = append(s.levels, make([]slLevel, 0, slFirstCap))
		c = &s.levels[len(s.levels)-1]
	}
	if len(*c)+k > cap(*c) {
		*c = growTo(*c, min(max(2*cap(*c), len(*c)+k), slChunkSize))
	}
	a := uint32((len(s.levels)-1)<<slChunkBits + len(*c))
	*c = append(*c, make([]slLevel, k)...)
	return a<<slUpBits | uint32(k)
}

// free puts node x and its upper levels on the free lists.
func (s *skiplist) free(x uint32) {
	if ref := s.upRef(x); ref != 0 {
		k := ref & (1<<slUpBits - 1)
		a := ref >> slUpBits
		s.levels[a>>slChunkBits][a&slChunkMask].fwd = s.freeUp[k]
		s.freeUp[k] = a
	}
	*s.node(x) = slNode{next: s.freeNode} // drop the member for the GC
	s.freeNode = x
}

// wasteful reports whether most node slots are free, so that compact
// would give memory back.
func (s *skiplist) wasteful() bool {
	return s.slots > 2*slChunkSize && s.length*4 < s.slots
}

// growTo returns a copy of b with capacity n.
func growTo[T any](b []T, n int) []T {
	c := make([]T, len(b), n)
	copy(c, b)
	return c
}
