package engine

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// slModel is the reference the skiplist is checked against: the entries
// sorted as a sorted set sorts them.
type slModel []zsetEntry

func (m slModel) find(member string) int {
	return slices.IndexFunc(m, func(e zsetEntry) bool { return e.member == member })
}

func (m *slModel) insert(e zsetEntry) {
	i, _ := slices.BinarySearchFunc(*m, e, cmpEntries)
	*m = slices.Insert(*m, i, e)
}

// checkSkiplist verifies s against the model: order, back links, tail,
// length, and at every level that each span equals the rank distance it
// jumps and that the levels are sublists of level 0.
func checkSkiplist(t *testing.T, s *skiplist, m slModel) {
	t.Helper()
	if s.length != len(m) {
		t.Fatalf("length %d, model %d", s.length, len(m))
	}
	rankOf := map[uint32]int{0: 0}
	prev := uint32(0)
	i := 0
	for x := s.first(); x != 0; x = s.node(x).next {
		n := s.node(x)
		if i >= len(m) || n.member != m[i].member || n.score != m[i].score {
			t.Fatalf("rank %d: node %q %v, model %v", i+1, n.member, n.score, m[min(i, len(m)-1)])
		}
		if n.back != prev {
			t.Fatalf("rank %d: back %d, want %d", i+1, n.back, prev)
		}
		if s.height(x) > s.level {
			t.Fatalf("rank %d: height %d above list level %d", i+1, s.height(x), s.level)
		}
		i++
		rankOf[x] = i
		prev = x
	}
	if i != len(m) || s.tail != prev {
		t.Fatalf("walked %d of %d; tail %d, last %d", i, len(m), s.tail, prev)
	}
	for lv := 1; lv < s.level; lv++ {
		for x := uint32(0); ; {
			f := s.fwd(x, lv)
			if f == 0 {
				break
			}
			if got, want := int(s.span(x, lv)), rankOf[f]-rankOf[x]; got != want {
				t.Fatalf("level %d: span from rank %d is %d, want %d", lv, rankOf[x], got, want)
			}
			x = f
		}
	}
	for r := 1; r <= len(m); r++ {
		x := s.byRank(r)
		if x == 0 || s.node(x).member != m[r-1].member {
			t.Fatalf("byRank(%d) wrong", r)
		}
		if got := s.rank(m[r-1].score, m[r-1].member); got != r {
			t.Fatalf("rank(%q) = %d, want %d", m[r-1].member, got, r)
		}
	}
}

// TestSkiplistProperty runs random inserts, deletes, score updates and
// range deletions against a sorted-slice model.
func TestSkiplistProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := newSkiplist()
	var m slModel
	score := func() float64 { return float64(r.IntN(50)) / 2 }
	for step := range 4000 {
		member := "m" + strconv.Itoa(r.IntN(600))
		i := m.find(member)
		switch op := r.IntN(10); {
		case op < 5 && i < 0:
			e := zsetEntry{member, score()}
			s.insert(e.score, e.member)
			m.insert(e)
		case op < 7 && i >= 0:
			if !s.delete(m[i].score, member) {
				t.Fatalf("step %d: delete %q failed", step, member)
			}
			m = slices.Delete(m, i, i+1)
		case op < 9 && i >= 0:
			e := zsetEntry{member, score()}
			x := s.updateScore(m[i].score, member, e.score)
			if n := s.node(x); n.member != member || n.score != e.score {
				t.Fatalf("step %d: updateScore returned %q %v", step, n.member, n.score)
			}
			m = slices.Delete(m, i, i+1)
			m.insert(e)
		case op == 9 && len(m) > 0 && r.IntN(8) == 0:
			a := 1 + r.IntN(len(m))
			b := a + r.IntN(5)
			var gone []string
			n := s.deleteRangeByRank(a, b, func(member string, _ float64) { gone = append(gone, member) })
			end := min(b, len(m))
			for k, e := range m[a-1 : end] {
				if gone[k] != e.member {
					t.Fatalf("step %d: deleteRangeByRank removed %q, want %q", step, gone[k], e.member)
				}
			}
			if n != end-a+1 {
				t.Fatalf("step %d: removed %d, want %d", step, n, end-a+1)
			}
			m = slices.Delete(m, a-1, end)
		}
		if step%97 == 0 {
			checkSkiplist(t, s, m)
		}
	}
	checkSkiplist(t, s, m)
	if s.delete(1e9, "absent") || s.rank(1e9, "absent") != 0 || s.byRank(0) != 0 || s.byRank(len(m)+1) != 0 {
		t.Fatal("absent entries found")
	}
}

// TestSkiplistRanges checks the range searches against the model.
func TestSkiplistRanges(t *testing.T) {
	z := &zset{}
	z.toSkiplist()
	var m slModel
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		e := zsetEntry{"m" + strconv.Itoa(i), float64(r.IntN(100))}
		z.insert(e.score, e.member)
		m.insert(e)
	}
	for range 300 {
		rg := scoreRange{min: float64(r.IntN(110) - 5), max: float64(r.IntN(110) - 5), minex: r.IntN(2) == 0, maxex: r.IntN(2) == 0}
		first, last := -1, -1
		for i, e := range m {
			if rg.gteMin(e.score) && rg.lteMax(e.score) {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if got := z.firstInScore(&rg); got != first {
			t.Fatalf("%+v: first %d, want %d", rg, got, first)
		}
		if got := z.lastInScore(&rg); got != last {
			t.Fatalf("%+v: last %d, want %d", rg, got, last)
		}
	}
}

// TestSkiplistCompact checks that a set that shrinks gives its arena back
// and keeps its contents and its member→node map right.
func TestSkiplistCompact(t *testing.T) {
	z := &zset{}
	n := 5 * slChunkSize
	for i := range n {
		z.insert(float64(i), "m"+strconv.Itoa(i))
	}
	for i := range n - 100 {
		if !z.remove([]byte("m" + strconv.Itoa(i))) {
			t.Fatalf("remove m%d", i)
		}
	}
	if z.sl.slots > 2*slChunkSize {
		t.Fatalf("%d slots for 100 members after compaction", z.sl.slots)
	}
	for i := n - 100; i < n; i++ {
		s, ok := z.score([]byte("m" + strconv.Itoa(i)))
		if !ok || s != float64(i) {
			t.Fatalf("m%d: %v %v", i, s, ok)
		}
		if r, _ := z.rank([]byte("m"+strconv.Itoa(i)), false); r != i-(n-100) {
			t.Fatalf("m%d: rank %d", i, r)
		}
	}
}

// BenchmarkSkiplistInsert measures inserts into a large skiplist.
func BenchmarkSkiplistInsert(b *testing.B) {
	b.ReportAllocs()
	z := &zset{}
	z.toSkiplist()
	members := make([]string, b.N)
	for i := range members {
		members[i] = "element:" + strconv.Itoa(i)
	}
	b.ResetTimer()
	for i := range b.N {
		z.insert(float64(i%1000), members[i])
	}
}

// BenchmarkZSetAddRandom measures ZADD's work for random new members of a
// set of about a million.
func BenchmarkZSetAddRandom(b *testing.B) {
	b.ReportAllocs()
	z := &zset{}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 1_000_000 {
		z.insert(float64(r.IntN(1_000_000)), "element:"+strconv.Itoa(i))
	}
	args := make([][]byte, 4096)
	for i := range args {
		args[i] = []byte("element:x" + strconv.Itoa(r.IntN(1_000_000)))
	}
	b.ResetTimer()
	for i := range b.N {
		z.add(float64(r.IntN(1_000_000)), args[i%len(args)], zaddFlags{})
	}
}
