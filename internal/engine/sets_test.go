package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSetEncoding checks which members keep a set an intset (integers as
// string2ll reads them, at most 512) and that a hashtable never goes back.
func TestSetEncoding(t *testing.T) {
	for _, tc := range []struct {
		member string
		enc    string
	}{
		{"0", "intset"}, {"-1", "intset"}, {"9223372036854775807", "intset"}, {"-9223372036854775808", "intset"},
		{"9223372036854775808", "hashtable"}, {"-9223372036854775809", "hashtable"}, {"-0", "hashtable"},
		{"007", "hashtable"}, {"+1", "hashtable"}, {" 1", "hashtable"}, {"1 ", "hashtable"}, {"1.0", "hashtable"},
		{"", "hashtable"}, {"0x10", "hashtable"}, {"a", "hashtable"}, {strings.Repeat("1", 25), "hashtable"},
	} {
		s := newSet()
		s.addBytes([]byte("5"))
		s.addBytes([]byte(tc.member))
		if s.encoding() != tc.enc {
			t.Errorf("member %q: %s, want %s", tc.member, s.encoding(), tc.enc)
		}
		if !s.hasBytes([]byte(tc.member)) || !s.hasBytes([]byte("5")) || s.len() != 2 {
			t.Errorf("member %q lost (len %d)", tc.member, s.len())
		}
	}

	s := newSet()
	for i := setMaxIntsetEntries; i > 0; i-- {
		if !s.addInt(int64(i * 3)) {
			t.Fatalf("%d not new", i)
		}
	}
	if s.encoding() != "intset" || !slices.IsSorted(s.is) {
		t.Fatalf("512 integers: %s, sorted %v", s.encoding(), slices.IsSorted(s.is))
	}
	if s.addBytes([]byte("3")) || s.encoding() != "intset" {
		t.Fatal("a repeated member changed the set")
	}
	s.addInt(1)
	if s.encoding() != "hashtable" || s.len() != 513 || !s.hasInt(1) || !s.hasBytes([]byte("1536")) {
		t.Fatalf("513 integers: %s, %d", s.encoding(), s.len())
	}
	for i := 1; i <= 510; i++ {
		s.removeInt(int64(i * 3))
	}
	if s.encoding() != "hashtable" || s.len() != 3 {
		t.Fatalf("a shrinking hashtable: %s, %d", s.encoding(), s.len())
	}
}

// TestSetModel runs random operations on sets of both encodings against a
// map, checking the members, the dense index of a hashtable, and that
// memory() equals a recount from scratch.
func TestSetModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		s, model := newSet(), map[string]bool{}
		strs := round%2 == 1
		for range 3000 {
			m := strconv.Itoa(r.IntN(700) - 50)
			if strs && r.IntN(4) == 0 {
				m = "m" + m
			}
			var got, want bool
			switch r.IntN(5) {
			case 0, 1:
				got, want = s.addBytes([]byte(m)), !model[m]
				model[m] = true
			case 2:
				got, want = s.removeBytes([]byte(m)), model[m]
				delete(model, m)
			case 3:
				got, want = s.hasElem(elem{s: m}), model[m]
			case 4:
				if s.len() > 0 {
					e := s.popRandom()
					k := elemString(e)
					got, want = model[k], true
					delete(model, k)
				}
			}
			if got != want {
				t.Fatalf("round %d, member %q: got %v, want %v", round, m, got, want)
			}
		}
		checkSetInvariants(t, s, model)
	}
}

// elemString is the member as a client sees it.
func elemString(e elem) string {
	if e.isInt {
		return strconv.FormatInt(e.n, 10)
	}
	return e.s
}

// checkSetInvariants checks s against model and its own invariants.
func checkSetInvariants(t *testing.T, s *set, model map[string]bool) {
	t.Helper()
	if s.len() != len(model) {
		t.Fatalf("len %d, want %d", s.len(), len(model))
	}
	var bytes int64
	for i := range s.len() {
		m := elemString(s.at(i))
		if !model[m] {
			t.Fatalf("member %q not in the model", m)
		}
		if s.ht != nil {
			if p := s.ht.GetString(m); p == nil || *p != i {
				t.Fatalf("index of %q is wrong", m)
			}
			bytes += allocSize(len(m))
		}
	}
	if s.ht == nil {
		if !slices.IsSorted(s.is) {
			t.Fatal("intset not sorted")
		}
		return
	}
	if s.ht.Len() != len(s.members) || bytes != s.bytes {
		t.Fatalf("dict %d entries, members %d, bytes %d (recount %d)", s.ht.Len(), len(s.members), s.bytes, bytes)
	}
}

// TestSetMemory checks that memory() grows with members and their length,
// and comes back down when they go.
func TestSetMemory(t *testing.T) {
	s := newSet()
	empty := s.memory()
	for i := range 100 {
		s.addInt(int64(i))
	}
	ints := s.memory()
	if ints <= empty || ints > empty+100*intsetSlotSize*2 {
		t.Fatalf("100 integers: %d bytes (empty %d)", ints, empty)
	}
	long := strings.Repeat("x", 1000)
	s.addBytes([]byte(long))
	withLong := s.memory()
	if withLong < ints+1000 {
		t.Fatalf("a 1000-byte member: %d bytes, before %d", withLong, ints)
	}
	s.removeBytes([]byte(long))
	if s.memory() > withLong-1000 {
		t.Fatalf("removing a 1000-byte member: %d bytes, before %d", s.memory(), withLong)
	}
	for i := range 10000 {
		s.addBytes([]byte("member:" + strconv.Itoa(i)))
	}
	full := s.memory()
	for i := range 10000 {
		s.removeBytes([]byte("member:" + strconv.Itoa(i)))
	}
	if s.memory() > full/4 {
		t.Fatalf("emptied: %d bytes, full %d", s.memory(), full)
	}
}

// TestSetClone checks that COPY's clone keeps the encoding and shares no
// state with the original.
func TestSetClone(t *testing.T) {
	for _, members := range [][]string{{"1", "2", "3"}, {"a", "1", "b"}} {
		s := newSet()
		for _, m := range members {
			s.addBytes([]byte(m))
		}
		c := s.clone().(*set)
		if c.encoding() != s.encoding() || c.memory() > s.memory() || c.memory() <= setStructSize {
			t.Fatalf("clone: %s %d, original %s %d", c.encoding(), c.memory(), s.encoding(), s.memory())
		}
		c.addBytes([]byte("new"))
		c.removeBytes([]byte(members[0]))
		if s.hasBytes([]byte("new")) || !s.hasBytes([]byte(members[0])) || s.len() != 3 {
			t.Fatal("changing the clone changed the original")
		}
	}
}

// TestSetCommands checks replies and side effects that the differential
// tests cannot see: empty sets are deleted, nothing is created on error,
// *STORE drops the destination's time to live and SPOP keeps it.
func TestSetCommands(t *testing.T) {
	k := newEnv(t)
	for _, tc := range []struct{ line, reply string }{
		{"SADD s a b", ":2\r\n"}, {"SREM s a b", ":2\r\n"}, {"SPOP nokey x", "-ERR value is out of range, must be positive\r\n"},
		{"SRANDMEMBER nokey x", "-ERR value is not an integer or out of range\r\n"},
		{"SINTERCARD 2 a", "-ERR Number of keys can't be greater than number of args\r\n"},
		{"SINTERSTORE d nokey", ":0\r\n"}, {"SMOVE nokey d m", ":0\r\n"}, {"SADD s 1", ":1\r\n"},
		{"SMOVE s d 1", ":1\r\n"}, {"SPOP d", "$1\r\n1\r\n"},
	} {
		k.want(tc.line, tc.reply)
	}
	for _, key := range []string{"s", "d"} {
		if k.stored(key) {
			t.Errorf("key %s was kept or created", key)
		}
	}
	k.run("SADD", "a", "1", "2", "3")
	k.run("SADD", "dst", "x")
	k.run("EXPIRE", "dst", "100")
	k.want("SUNIONSTORE dst a", ":3\r\n")
	if k.ttl("dst") != -1 {
		t.Error("SUNIONSTORE kept the destination's TTL")
	}
	args := []string{"SADD", "p"}
	for i := range 600 {
		args = append(args, strconv.Itoa(i))
	}
	k.run(args...)
	k.run("EXPIRE", "p", "100")
	k.run("SPOP", "p", "590") // few survivors: a new set, an intset
	if k.ttl("p") <= 0 || k.value("p").encodingName() != "intset" {
		t.Errorf("SPOP 590 of 600: ttl %d, encoding %s", k.ttl("p"), k.value("p").encodingName())
	}
	k.want("SCARD p", ":10\r\n")
}

// TestSetRandomUniform checks that SPOP and SRANDMEMBER draw every member
// about equally often, from an intset and from a hashtable, and that a
// positive count gives distinct members.
func TestSetRandomUniform(t *testing.T) {
	for _, strs := range []bool{false, true} {
		const n, draws = 50, 50000
		k := newEnv(t)
		args := []string{"SADD", "s"}
		for i := range n {
			m := strconv.Itoa(i)
			if strs {
				m = "m" + m
			}
			args = append(args, m)
		}
		k.run(args...)
		counts := map[string]int{}
		for range draws / 10 {
			for _, m := range k.elems("SRANDMEMBER", "s", "-10") {
				counts[m]++
			}
		}
		checkUniform(t, "SRANDMEMBER -10", counts, n, draws)

		counts = map[string]int{}
		for range draws / 5 {
			ms := k.elems("SRANDMEMBER", "s", "5")
			if len(ms) != 5 || len(slices.Compact(slices.Sorted(slices.Values(ms)))) != 5 {
				t.Fatalf("SRANDMEMBER 5: %q", ms)
			}
			for _, m := range ms {
				counts[m]++
			}
		}
		checkUniform(t, "SRANDMEMBER 5", counts, n, draws)

		counts = map[string]int{}
		for range draws {
			reply := k.run("SPOP", "s")
			m := reply[strings.Index(reply, "\n")+1 : len(reply)-2]
			counts[m]++
			k.run("SADD", "s", m)
		}
		checkUniform(t, "SPOP", counts, n, draws)
	}
}

// checkUniform fails when a chi-square test rejects a uniform draw of n
// values at p < 0.00001 (threshold for 49 degrees of freedom: 103), so a
// correct draw fails about once in 100,000 runs while a bias as small as
// one member in ten drawn 20% less often fails nearly always.
func checkUniform(t *testing.T, name string, counts map[string]int, n, draws int) {
	t.Helper()
	if len(counts) != n {
		t.Errorf("%s: %d distinct members drawn, want %d", name, len(counts), n)
		return
	}
	expect := float64(draws) / float64(n)
	var chi2 float64
	for _, c := range counts {
		d := float64(c) - expect
		chi2 += d * d / expect
	}
	if chi2 > 103 {
		t.Errorf("%s: chi-square %.1f over %d members: not uniform", name, chi2, n)
	}
}

// elems runs a command with an array reply and returns its elements.
func (env *testEnv) elems(args ...string) []string {
	env.t.Helper()
	raw := env.run(args...)
	var out []string
	lines := strings.Split(raw, "\r\n")
	for i := 1; i+1 < len(lines); i += 2 {
		out = append(out, lines[i+1])
	}
	return out
}

// TestSetCountBounds checks that counts never drive an allocation beyond
// the set: SRANDMEMBER's negative count is streamed up to the reply bound
// and refused beyond it; positive counts and SPOP counts are clamped.
func TestSetCountBounds(t *testing.T) {
	k := newEnv(t)
	k.run("SADD", "s", "a")
	k.want("SRANDMEMBER s -1048576", "*1048576\r\n"+strings.Repeat("$1\r\na\r\n", 1048576))
	k.want("SRANDMEMBER s -1048577", "-ERR value is out of range\r\n")
	k.want("SRANDMEMBER s -9223372036854775807", "-ERR value is out of range\r\n")
	k.want("SRANDMEMBER nokey -9223372036854775807", "*0\r\n")
	k.want("SRANDMEMBER s 9223372036854775807", "*1\r\n$1\r\na\r\n")
	k.want("SINTERCARD 9223372036854775807 s", "-ERR Number of keys can't be greater than number of args\r\n")
	k.want("SSCAN s 0 COUNT 9223372036854775807", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n")
	k.want("SPOP s 9223372036854775807", "*1\r\n$1\r\na\r\n")
	k.run("SADD", "s", "x", "y")
	if n := testing.AllocsPerRun(20, func() { k.run("SRANDMEMBER", "s", "9223372036854775807") }); n > 20 {
		t.Errorf("SRANDMEMBER with a huge count: %v allocations", n)
	}
}

// TestSetBadInput sends random arguments to every set command and checks
// that none panics (the engine would answer "internal error").
func TestSetBadInput(t *testing.T) {
	k := newEnv(t)
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"s", "t", "nokey", "0", "1", "-1", "x", "", "LIMIT", "COUNT", "MATCH", "*", "9223372036854775807",
		"-9223372036854775808", "18446744073709551616", "2", "3", "[", "\\", strconv.Itoa(math.MaxInt32)}
	names := []string{"SADD", "SREM", "SCARD", "SISMEMBER", "SMISMEMBER", "SMEMBERS", "SPOP", "SRANDMEMBER", "SMOVE",
		"SINTER", "SINTERCARD", "SINTERSTORE", "SUNION", "SUNIONSTORE", "SDIFF", "SDIFFSTORE", "SSCAN"}
	k.run("SADD", "s", "1", "2", "a")
	k.run("SET", "str", "v")
	for range 20000 {
		args := []string{names[r.IntN(len(names))]}
		for i := r.IntN(6); i >= 0; i-- {
			args = append(args, words[r.IntN(len(words))])
		}
		if r.IntN(30) == 0 {
			k.run("SADD", "t", strconv.Itoa(r.IntN(1000)), "m"+strconv.Itoa(r.IntN(10)))
		}
		k.e.Lock()
		spec, _ := k.e.table.Resolve(toBytes(args), k.e.Supports)
		k.e.Unlock()
		if spec == nil {
			continue // arity: the server answers before the engine
		}
		if reply := k.run(args...); strings.Contains(reply, "internal error") {
			t.Fatalf("%q: %q", args, reply)
		}
	}
}

func toBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// benchSet returns a client whose database holds set "s" with n members
// (integers when ints), on an engine locked until b ends.
func benchSet(tb testing.TB, n int, ints bool) *Client {
	e, c := lockedEngine(tb)
	s := newSet()
	for i := range n {
		if ints {
			s.addInt(int64(i))
		} else {
			s.addBytes([]byte("element:" + strconv.Itoa(i)))
		}
	}
	c.db.add(e, []byte("s"), Value{obj: s})
	return c
}

func BenchmarkSAdd(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run("members="+strconv.Itoa(n), func(b *testing.B) {
			c := benchSet(b, n, false)
			args := [][]byte{[]byte("sadd"), []byte("s"), []byte("element:0")}
			b.ReportAllocs()
			for b.Loop() {
				c.W.Reset()
				cmdSAdd(c, args)
			}
		})
	}
}

// BenchmarkSPop pops a member and adds it back: the pop itself allocates
// nothing, the add copies the member into the set.
func BenchmarkSPop(b *testing.B) {
	for _, ints := range []bool{true, false} {
		b.Run("ints="+strconv.FormatBool(ints), func(b *testing.B) {
			c := benchSet(b, 500, ints)
			pop := [][]byte{[]byte("spop"), []byte("s")}
			add := [][]byte{[]byte("sadd"), []byte("s"), nil}
			b.ReportAllocs()
			for b.Loop() {
				c.W.Reset()
				cmdSPop(c, pop)
				reply := c.W.Bytes()
				add[2] = reply[strings.IndexByte(string(reply), '\n')+1 : len(reply)-2]
				cmdSAdd(c, add)
			}
		})
	}
}

// TestSetAllocs checks that the hot paths of redis-benchmark's sadd and
// spop allocate nothing: adding a present member, popping from both
// encodings, popping a missing key, and membership tests.
func TestSetAllocs(t *testing.T) {
	for _, ints := range []bool{true, false} {
		c := benchSet(t, 5000, ints)
		member := []byte("element:1")
		if ints {
			member = []byte("1")
		}
		for name, args := range map[string][][]byte{
			"SADD present": {[]byte("sadd"), []byte("s"), member},
			"SISMEMBER":    {[]byte("sismember"), []byte("s"), member},
			"SCARD":        {[]byte("scard"), []byte("s")},
		} {
			h := c.e.handlers[c.e.table.Lookup(args[0]).ID]
			if n := testing.AllocsPerRun(100, func() { c.W.Reset(); h(c, args) }); n != 0 {
				t.Errorf("%s (ints %v): %v allocations", name, ints, n)
			}
		}
		pop := [][]byte{[]byte("spop"), []byte("s")}
		if n := testing.AllocsPerRun(1000, func() { c.W.Reset(); cmdSPop(c, pop) }); n != 0 {
			t.Errorf("SPOP (ints %v): %v allocations", ints, n)
		}
		missing := [][]byte{[]byte("spop"), []byte("nokey")}
		if n := testing.AllocsPerRun(100, func() { c.W.Reset(); cmdSPop(c, missing) }); n != 0 {
			t.Errorf("SPOP of a missing key: %v allocations", n)
		}
	}
}
