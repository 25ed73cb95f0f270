package engine

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/command"
)

// listOf builds a list holding elems.
func listOf(elems ...string) *list {
	l := newList(len(elems))
	for _, e := range elems {
		l.pushBack(e)
	}
	return l
}

// contents returns the elements of l in order.
func contents(l *list) []string {
	out := make([]string, l.len())
	for i := range out {
		out[i] = l.at(i)
	}
	return out
}

// checkList compares l with the model and checks its invariants: the byte
// total, the ring size, and that free slots hold no strings.
func checkList(t *testing.T, step int, l *list, model []string) {
	t.Helper()
	if got := contents(l); !slices.Equal(got, model) {
		t.Fatalf("step %d: list %q, model %q", step, got, model)
	}
	var b int64
	for _, e := range model {
		b += int64(len(e))
	}
	if l.bytes != b {
		t.Fatalf("step %d: bytes %d, want %d", step, l.bytes, b)
	}
	size := len(l.buf)
	if size < listMinCap || size&(size-1) != 0 || l.n > size {
		t.Fatalf("step %d: ring of %d slots for %d elements", step, size, l.n)
	}
	for i := l.n; i < size; i++ {
		if l.buf[l.slot(i)] != "" {
			t.Fatalf("step %d: free slot %d still holds %q", step, i, l.buf[l.slot(i)])
		}
	}
}

// TestListDeque runs random operations on the ring and on a slice model,
// comparing them after every step, across growth, shrinking and
// wrap-around.
func TestListDeque(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	l := newList(0)
	var model []string
	for step := range 20000 {
		v := strconv.Itoa(r.IntN(5)) + strings.Repeat("x", r.IntN(3))
		switch op := r.IntN(12); {
		case op < 3 && len(model) < 400:
			l.pushFront(v)
			model = slices.Insert(model, 0, v)
		case op < 6 && len(model) < 400:
			l.pushBack(v)
			model = append(model, v)
		case op == 6 && len(model) > 0:
			if got := l.popFront(); got != model[0] {
				t.Fatalf("step %d: popFront %q, want %q", step, got, model[0])
			}
			model = model[1:]
		case op == 7 && len(model) > 0:
			if got := l.popBack(); got != model[len(model)-1] {
				t.Fatalf("step %d: popBack %q", step, got)
			}
			model = model[:len(model)-1]
		case op == 8:
			i := r.IntN(len(model) + 1)
			l.insert(i, v)
			model = slices.Insert(model, i, v)
		case op == 9:
			limit := int64(r.IntN(4))
			fromTail := r.IntN(2) == 0
			got := l.remove([]byte(v), limit, fromTail)
			want := modelRemove(&model, v, limit, fromTail)
			if got != want {
				t.Fatalf("step %d: remove %q limit %d tail %v: %d, want %d", step, v, limit, fromTail, got, want)
			}
		case op == 10 && len(model) > 0 && r.IntN(8) == 0:
			k := r.IntN(len(model) + 1)
			if r.IntN(2) == 0 {
				l.dropFront(k)
				model = model[k:]
			} else {
				l.dropBack(k)
				model = model[:len(model)-k]
			}
		case op == 11 && len(model) > 0:
			i := r.IntN(len(model))
			l.set(i, v)
			model[i] = v
		}
		checkList(t, step, l, model)
	}
}

// modelRemove is LREM on a slice.
func modelRemove(model *[]string, v string, limit int64, fromTail bool) int64 {
	s := *model
	var removed int64
	keep := make([]bool, len(s))
	for k := range s {
		i := k
		if fromTail {
			i = len(s) - 1 - k
		}
		if s[i] == v && (limit == 0 || removed < limit) {
			removed++
		} else {
			keep[i] = true
		}
	}
	var out []string
	for i, e := range s {
		if keep[i] {
			out = append(out, e)
		}
	}
	*model = out
	return removed
}

// TestListShrink checks that a ring gives memory back as it empties and
// that memory() follows.
func TestListShrink(t *testing.T) {
	l := newList(0)
	empty := l.memory()
	for i := range 10000 {
		l.pushBack(strconv.Itoa(i))
	}
	if len(l.buf) != 16384 {
		t.Fatalf("10000 elements in %d slots", len(l.buf))
	}
	full := l.memory()
	if want := int64(listHeaderSize + 16384*listSlotSize + 38890 + 10000*listAllocSlack); full != want {
		t.Fatalf("memory %d, want %d", full, want)
	}
	for l.len() > 0 {
		l.popFront()
	}
	if len(l.buf) != listMinCap || l.memory() != empty {
		t.Fatalf("emptied list: %d slots, memory %d (empty %d)", len(l.buf), l.memory(), empty)
	}
	l.remove([]byte("x"), 0, false) // on an empty list
	l.dropFront(0)
	l.dropBack(0)
}

// TestListRemoveMinInt checks LREM's count math.MinInt64, which wraps in
// Redis and removes every match from the tail.
func TestListRemoveMinInt(t *testing.T) {
	k := newEnv(t)
	k.run("RPUSH", "l", "a", "b", "a", "a")
	k.want("LREM l -9223372036854775808 a", ":3\r\n")
	k.want("LRANGE l 0 -1", "*1\r\n$1\r\nb\r\n")
}

// TestListClone checks that COPY's clone shares nothing mutable.
func TestListClone(t *testing.T) {
	l := listOf("a", "b", "c")
	l.popFront()
	l.pushBack("d")
	c := l.clone().(*list)
	c.set(0, "X")
	c.pushFront("Y")
	if got := contents(l); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("original changed: %q", got)
	}
	if got := contents(c); !slices.Equal(got, []string{"Y", "X", "c", "d"}) {
		t.Fatalf("clone %q", got)
	}
	if l.memory() != listOf("b", "c", "d").memory() {
		t.Fatalf("memory %d", l.memory())
	}
}

// TestListCommands checks replies and side effects that the differential
// tests cannot see: empty lists are deleted, nothing is created on error,
// arguments are copied, and huge counts allocate nothing.
func TestListCommands(t *testing.T) {
	k := newEnv(t)
	for _, tc := range []struct{ line, reply string }{
		{"RPUSH l a b c", ":3\r\n"},
		{"LPUSH l z", ":4\r\n"},
		{"LRANGE l 0 -1", "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"},
		{"RPOP l 2", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"},
		{"LPOP l 9223372036854775807", "*2\r\n$1\r\nz\r\n$1\r\na\r\n"},
		{"EXISTS l", ":0\r\n"},
		{"LPOP l", "$-1\r\n"},
		{"LPOP l 1", "*-1\r\n"},
		{"LPOP l 1 2", "-ERR wrong number of arguments for 'lpop' command\r\n"},
		{"RPOP l 1 2", "-ERR wrong number of arguments for 'rpop' command\r\n"},
		{"LPUSHX l a", ":0\r\n"},
		{"LSET l 0 a", "-ERR no such key\r\n"},
		{"LINSERT l BEFORE a b", ":0\r\n"},
		{"LTRIM l 0 1", "+OK\r\n"},
		{"LMOVE l m LEFT RIGHT", "$-1\r\n"},
		{"LPOS l a", "$-1\r\n"},
		{"LPOS l a COUNT 0", "*0\r\n"},
		{"LMPOP 1 l LEFT", "*-1\r\n"},
		{"RPUSH one x", ":1\r\n"},
		{"LTRIM one 1 0", "+OK\r\n"},
		{"EXISTS one", ":0\r\n"},
		{"RPUSH one x x", ":2\r\n"},
		{"LREM one 0 x", ":2\r\n"},
		{"EXISTS one", ":0\r\n"},
		{"RPUSH r a", ":1\r\n"},
		{"RPOPLPUSH r r", "$1\r\na\r\n"},
		{"LRANGE r 0 -1", "*1\r\n$1\r\na\r\n"},
		{"LMOVE r s LEFT LEFT", "$1\r\na\r\n"},
		{"EXISTS r", ":0\r\n"},
		{"LPOS s a RANK -9223372036854775808 COUNT 5", "*1\r\n:0\r\n"},
		{"LPOS s a MAXLEN 9223372036854775807 COUNT 9223372036854775807", "*1\r\n:0\r\n"},
		{"LRANGE s -9223372036854775808 9223372036854775807", "*1\r\n$1\r\na\r\n"},
		{"LINDEX s -9223372036854775808", "$-1\r\n"},
		{"LSET s -9223372036854775808 x", "-ERR index out of range\r\n"},
		{"LMPOP 9223372036854775807 s LEFT", "-ERR syntax error\r\n"},
		{"BLMPOP 0 9223372036854775807 s LEFT", "-ERR syntax error\r\n"},
	} {
		k.want(tc.line, tc.reply)
	}
	if k.stored("m") {
		t.Fatal("LMOVE from a missing list created the destination")
	}
	if v := k.value("s"); v == nil || v.typeName() != "list" || v.encodingName() != "quicklist" {
		t.Fatal("LMOVE did not create a list destination")
	}
}

// TestListArgsCopied checks that stored elements do not alias the
// connection's argument buffers.
func TestListArgsCopied(t *testing.T) {
	e, c := lockedEngine(t)
	args := fields("RPUSH l abc")
	pushCommand(c, args, false, false)
	args[2][0] = 'X'
	cmdLSet(c, fields("LSET l 0 def"))
	set := fields("LSET l 0 ghi")
	cmdLSet(c, set)
	set[3][0] = 'X'
	ins := fields("LINSERT l BEFORE ghi jkl")
	cmdLInsert(c, ins)
	ins[4][0] = 'X'
	l := e.dbs[0].keys.Get([]byte("l")).obj.(*list)
	if got := contents(l); !slices.Equal(got, []string{"jkl", "ghi"}) {
		t.Fatalf("list %q", got)
	}
}

// TestListWrongType checks that every list command refuses another type
// and leaves it alone.
func TestListWrongType(t *testing.T) {
	k := newEnv(t)
	k.run("SET", "s", "v")
	for _, line := range []string{
		"LPUSH s a", "RPUSH s a", "LPUSHX s a", "RPUSHX s a", "LPOP s", "RPOP s 2", "LLEN s",
		"LRANGE s 0 1", "LINDEX s 0", "LSET s 0 a", "LINSERT s BEFORE a b", "LREM s 0 a", "LTRIM s 0 1",
		"LPOS s a", "LMOVE s d LEFT LEFT", "RPOPLPUSH s d", "LMPOP 1 s LEFT", "BLPOP s 0", "BRPOP s 0",
		"BLMOVE s d LEFT LEFT 0", "BRPOPLPUSH s d 0", "BLMPOP 0 1 s LEFT",
	} {
		k.want(line, "-"+errWrongType+"\r\n")
	}
	k.want("GET s", "$1\r\nv\r\n")
	if k.stored("d") {
		t.Fatal("a refused move created the destination")
	}
}

// TestListAllocs checks that the hot paths allocate nothing beyond the
// copy of a pushed element.
func TestListAllocs(t *testing.T) {
	e, c := lockedEngine(t)
	l := newList(200)
	for i := range 200 {
		l.pushBack("element:" + strconv.Itoa(i))
	}
	c.db.add(e, []byte("l"), Value{obj: l})
	lrange, lindex, llen := fields("LRANGE l 0 99"), fields("LINDEX l 7"), fields("LLEN l")
	lpos, rpush, lpush := fields("LPOS l element:150"), fields("RPUSH l element:x"), fields("LPUSH l element:x")
	lpop, rpop := fields("LPOP l"), fields("RPOP l")
	for _, tc := range []struct {
		name string
		run  func()
		max  float64
	}{
		{"LRANGE 0 99", func() { cmdLRange(c, lrange) }, 0},
		{"LINDEX", func() { cmdLIndex(c, lindex) }, 0},
		{"LLEN", func() { cmdLLen(c, llen) }, 0},
		{"LPOS", func() { cmdLPos(c, lpos) }, 0},
		{"RPUSH+LPOP", func() { pushCommand(c, rpush, false, false); popCommand(c, lpop, true, "lpop") }, 1},
		{"LPUSH+RPOP", func() { pushCommand(c, lpush, true, false); popCommand(c, rpop, false, "rpop") }, 1},
	} {
		if n := testing.AllocsPerRun(100, func() { c.W.Reset(); tc.run() }); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}

// benchList returns a client whose database holds list "l" of n elements,
// on an engine locked until b ends.
func benchList(b *testing.B, n int) *Client {
	e, c := lockedEngine(b)
	l := newList(n)
	for range n {
		l.pushBack("xxx")
	}
	c.db.add(e, []byte("l"), Value{obj: l})
	return c
}

func BenchmarkListPushPop(b *testing.B) {
	c := benchList(b, 1000)
	push := [][]byte{[]byte("lpush"), []byte("l"), []byte("xxx")}
	pop := [][]byte{[]byte("rpop"), []byte("l")}
	b.ReportAllocs()
	for b.Loop() {
		c.W.Reset()
		pushCommand(c, push, true, false)
		popCommand(c, pop, false, "rpop")
	}
}

func BenchmarkLRange100(b *testing.B) {
	c := benchList(b, 600)
	args := [][]byte{[]byte("lrange"), []byte("l"), []byte("0"), []byte("99")}
	b.ReportAllocs()
	for b.Loop() {
		c.W.Reset()
		cmdLRange(c, args)
	}
}

// TestListSpan checks span on every range of a wrapped ring.
func TestListSpan(t *testing.T) {
	l := newList(0)
	var model []string
	for i := range 6 {
		l.pushBack(strconv.Itoa(i))
		l.pushFront("-" + strconv.Itoa(i))
		model = append([]string{"-" + strconv.Itoa(i)}, append(model, strconv.Itoa(i))...)
	}
	for from := 0; from <= l.len(); from++ {
		for to := 0; to <= l.len(); to++ {
			a, b := l.span(from, to)
			got := append(slices.Clone(a), b...)
			var want []string
			if from < to {
				want = model[from:to]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("span(%d, %d) = %q, want %q", from, to, got, want)
			}
		}
	}
}

// FuzzListCommands runs arbitrary scripts of the non-blocking list
// commands (the blocking ones share their parsers) and checks,
// after each command, that nothing panicked, that no empty list is kept
// and that every list's byte total matches its elements. (FuzzCommands
// covers the well-formedness of replies for all commands.)
func FuzzListCommands(f *testing.F) {
	for _, seed := range []string{
		"RPUSH l a b c a\nLREM l -1 a\nLINSERT l BEFORE b x\nLTRIM l 1 -1\nLPOS l a RANK -1 COUNT 0 MAXLEN 3",
		"LPUSH l 1 2 3\nLMOVE l l LEFT RIGHT\nRPOPLPUSH l m\nLMPOP 2 m l RIGHT COUNT 9223372036854775807",
		"RPUSH l a\nLPOP l 9223372036854775807\nLSET l -9223372036854775808 x\nLRANGE l -9223372036854775808 -1",
		"RPUSH l a b\nLPOS l a RANK -9223372036854775808 COUNT 1\nLREM l -9223372036854775808 a\nLINDEX l -1",
	} {
		f.Add(seed)
	}
	e, c := lockedEngine(f)
	names := listCommands()
	f.Fuzz(func(t *testing.T, script string) {
		c.db.flush(e)
		for i, line := range strings.Split(script, "\n") {
			if i >= 50 {
				break
			}
			args := fields(line)
			if len(args) == 0 {
				continue
			}
			spec, _ := e.table.Resolve(args, e.Supports)
			if spec == nil || names[spec.Name] == nil || spec.Has(command.FlagBlocking) {
				continue // not a list command, or one that may block
			}
			c.W.Reset()
			e.Exec(c, spec, args)
			if strings.Contains(string(c.W.Bytes()), "internal error") {
				t.Fatalf("%q panicked", line)
			}
			checkListKeys(t, line, c.db)
		}
	})
}

// checkListKeys checks the invariants of every list in db.
func checkListKeys(t *testing.T, line string, db *DB) {
	t.Helper()
	db.keys.Range(func(k string, v *Value) bool {
		l, ok := v.obj.(*list)
		if !ok {
			return true
		}
		if l.len() == 0 {
			t.Fatalf("after %q: empty list %q kept", line, k)
		}
		var b int64
		for i := range l.len() {
			b += int64(len(l.at(i)))
		}
		if b != l.bytes {
			t.Fatalf("after %q: list %q holds %d bytes, counts %d", line, k, b, l.bytes)
		}
		return true
	})
}
