package engine

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeObject is a value of another type. Embedding the interface keeps it
// an object whatever methods object grows.
type fakeObject struct{ object }

func (fakeObject) typeName() string { return "hash" }
func (fakeObject) encoding() string { return "listpack" }
func (fakeObject) memory() int64    { return 0 }

const wrongType = "-" + errWrongType + "\r\n"

// TestStringsWrongType runs every string command against a key of another
// type, made directly so the test does not depend on any other type.
func TestStringsWrongType(t *testing.T) {
	s := newEnv(t)
	reset := func() {
		s.e.Lock()
		s.c.db.set(s.e, []byte("h"), Value{obj: fakeObject{}}, false)
		s.e.Unlock()
	}
	reset()
	for _, tc := range []struct{ line, want string }{
		{"GET h", wrongType}, {"GETDEL h", wrongType}, {"GETEX h", wrongType}, {"GETEX h EX 10", wrongType},
		{"GETEX h EX abc", wrongType}, {"GETEX h FOO", "-ERR syntax error\r\n"}, {"GETSET h v", wrongType},
		{"GETRANGE h 0 -1", wrongType}, {"GETRANGE h a 1", "-" + errNotInt + "\r\n"}, {"SUBSTR h 0 1", wrongType},
		{"STRLEN h", wrongType}, {"APPEND h x", wrongType}, {"SETRANGE h 0 x", wrongType},
		{"SETRANGE h -1 x", "-ERR offset is out of range\r\n"}, {"SETRANGE h 536870912 x", wrongType},
		{"INCR h", wrongType}, {"DECR h", wrongType}, {"INCRBY h 1", wrongType},
		{"INCRBY h x", "-" + errNotInt + "\r\n"}, {"DECRBY h 1", wrongType},
		{"DECRBY h -9223372036854775808", "-ERR decrement would overflow\r\n"},
		{"INCRBYFLOAT h 1", wrongType}, {"INCRBYFLOAT h x", wrongType},
		{"MGET h x h", "*3\r\n$-1\r\n$-1\r\n$-1\r\n"},
		{"LCS h x", "-ERR The specified keys must contain string values\r\n"},
		{"LCS x h FOO", "-ERR The specified keys must contain string values\r\n"},
		{"SETNX h v", ":0\r\n"}, {"SET h v NX", "$-1\r\n"}, {"SET h v GET", wrongType},
		{"SET h v EX abc GET", "-" + errNotInt + "\r\n"}, {"SET h v NX GET", wrongType},
		{"MSETNX h v", ":0\r\n"}, {"GET h", wrongType},
	} {
		s.want(tc.line, tc.want)
	}
	if s.run("SETRANGE", "h", "0", "") != wrongType {
		t.Error("SETRANGE with an empty value on a wrong type must fail")
	}
	for _, line := range []string{"SET h v", "SET h v XX", "MSET h v", "SETEX h 10 v", "PSETEX h 10 v", "SET h v KEEPTTL"} {
		reset()
		s.run(strings.Fields(line)...)
		if v := s.value("h"); v.obj != nil || v.str != "v" {
			t.Errorf("%s did not replace the hash: %+v", line, v)
		}
	}
}

// TestStringsExpiry checks, with a fake clock, that an expired key is
// absent for every command and which commands keep a time to live.
func TestStringsExpiry(t *testing.T) {
	s := newEnv(t)
	expireSoon := func(val string) {
		s.t.Helper()
		s.want("SET k "+val+" PX 100", "+OK\r\n")
		s.advance(100 * time.Millisecond)
	}
	for _, tc := range []struct{ val, line, want string }{
		{"v", "GET k", "$-1\r\n"}, {"v", "STRLEN k", ":0\r\n"}, {"v", "GETRANGE k 0 -1", "$0\r\n\r\n"},
		{"v", "GETDEL k", "$-1\r\n"}, {"v", "GETEX k PERSIST", "$-1\r\n"}, {"v", "GETSET k w", "$-1\r\n"},
		{"v", "MGET k", "*1\r\n$-1\r\n"}, {"5", "INCR k", ":1\r\n"}, {"5", "DECRBY k 2", ":-2\r\n"},
		{"5", "INCRBYFLOAT k 1.5", "$3\r\n1.5\r\n"}, {"abc", "APPEND k x", ":1\r\n"},
		{"abc", "SETRANGE k 1 x", ":2\r\n"}, {"v", "SETNX k w", ":1\r\n"},
		{"v", "SET k w NX", "+OK\r\n"}, {"v", "SET k w XX", "$-1\r\n"}, {"v", "SET k w GET", "$-1\r\n"},
		{"v", "MSETNX k w", ":1\r\n"}, {"abc", "LCS k k", "$0\r\n\r\n"},
	} {
		expireSoon(tc.val)
		s.want(tc.line, tc.want)
		if s.ttl("k") != -1 {
			t.Errorf("%s after expiry left a TTL", tc.line)
		}
		s.run("DEL", "k")
	}

	// Who keeps the time to live and who drops it.
	for _, tc := range []struct {
		line string
		keep bool
	}{
		{"INCR k", true}, {"DECR k", true}, {"INCRBY k 5", true}, {"DECRBY k 5", true},
		{"INCRBYFLOAT k 0.5", true}, {"APPEND k 1", true}, {"SETRANGE k 0 9", true},
		{"SET k 1 KEEPTTL", true}, {"SET k 1 XX KEEPTTL GET", true}, {"GETEX k", true}, {"GET k", true},
		{"SET k 1", false}, {"SET k 1 GET", false}, {"GETSET k 1", false},
		{"MSET k 1", false}, {"GETEX k PERSIST", false}, {"SETNX k 1", true}, {"MSETNX k 1", true},
	} {
		s.want("SET k 10 EX 1000", "+OK\r\n")
		s.run(strings.Fields(tc.line)...)
		if got := s.ttl("k"); (got == 1_000_000) != tc.keep {
			t.Errorf("%s: ttl %d ms, keep=%v", tc.line, got, tc.keep)
		}
	}

	// New expiries are relative to the engine clock; absolute ones in the
	// past delete the key.
	s.want("SET k v EX 10", "+OK\r\n")
	if got := s.ttl("k"); got != 10_000 {
		t.Errorf("EX 10: ttl %d", got)
	}
	s.want("GETEX k PX 500", "$1\r\nv\r\n")
	if got := s.ttl("k"); got != 500 {
		t.Errorf("GETEX PX 500: ttl %d", got)
	}
	at := strconv.FormatInt(s.now.UnixMilli()+2000, 10)
	s.want("GETEX k PXAT "+at, "$1\r\nv\r\n")
	if got := s.ttl("k"); got != 2000 {
		t.Errorf("GETEX PXAT: ttl %d", got)
	}
	s.want("SETEX k 3 v", "+OK\r\n")
	s.want("PSETEX k 3 v", "+OK\r\n")
	if got := s.ttl("k"); got != 3 {
		t.Errorf("PSETEX 3: ttl %d", got)
	}
	now := strconv.FormatInt(s.now.UnixMilli(), 10)
	s.want("GETEX k PXAT "+now, "$1\r\nv\r\n")
	if s.value("k") != nil {
		t.Error("GETEX PXAT now did not delete the key")
	}
	s.want("SET k v PXAT "+now, "+OK\r\n")
	s.want("GET k", "$-1\r\n")
	s.want("SET k v EX 9223372036854775", "-ERR invalid expire time in 'set' command\r\n")
	s.want("SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n")
	s.want("SETEX k 0 v", "-ERR invalid expire time in 'setex' command\r\n")
	s.want("PSETEX k -1 v", "-ERR invalid expire time in 'psetex' command\r\n")
	s.want("SET k v", "+OK\r\n")
	s.want("GETEX k EX 0", "-ERR invalid expire time in 'getex' command\r\n")
}

// TestStringsEncoding checks the OBJECT ENCODING each command leaves.
func TestStringsEncoding(t *testing.T) {
	s := newEnv(t)
	long := strings.Repeat("x", 45)
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"SET k 123"}, "int"}, {[]string{"SET k -9223372036854775808"}, "int"},
		{[]string{"SET k 9223372036854775808"}, "embstr"}, {[]string{"SET k 0123"}, "embstr"},
		{[]string{"SET k " + long}, "raw"}, {[]string{"SET k " + long[:44]}, "embstr"},
		{[]string{"APPEND k 123"}, "int"}, {[]string{"SET k 12", "APPEND k 3"}, "raw"},
		{[]string{"SET k 12", "APPEND k 3", "INCR k"}, "int"}, {[]string{"SETRANGE k 0 12"}, "raw"},
		{[]string{"INCRBYFLOAT k 1"}, "embstr"}, {[]string{"INCRBYFLOAT k 1e50"}, "raw"},
		{[]string{"INCR k"}, "int"}, {[]string{"MSET k 5"}, "int"}, {[]string{"GETSET k 5"}, "int"},
		{[]string{"SETEX k 10 5"}, "int"}, {[]string{"SET k ab", "SETRANGE k 0 cd"}, "raw"},
	} {
		s.run("DEL", "k")
		for _, line := range tc.lines {
			s.run(strings.Fields(line)...)
		}
		if got := stringEncoding(s.value("k")); got != tc.want {
			t.Errorf("%q: encoding %s, want %s", tc.lines, got, tc.want)
		}
	}
}

// TestStringsLimits checks the size limits without allocating anything
// near them.
func TestStringsLimits(t *testing.T) {
	s := newEnv(t)
	tooLong := "-" + errStringLimit + "\r\n"
	s.want("SETRANGE k 536870912 x", tooLong)
	s.want("SETRANGE k 536870911 xy", tooLong)
	s.want("SETRANGE k 9223372036854775807 xy", tooLong)
	if s.value("k") != nil {
		t.Error("a refused SETRANGE created the key")
	}
	// APPEND checks the sum the same way; a string near the limit is too
	// big for a test, so the check is called directly.
	c := s.c
	s.e.Lock()
	c.W.Reset()
	if checkStringLength(c, maxStringLen-1, 2) || string(c.W.Bytes()) != tooLong {
		t.Errorf("checkStringLength: %q", c.W.Bytes())
	}
	c.W.Reset()
	if !checkStringLength(c, maxStringLen-2, 2) || c.W.Buffered() != 0 {
		t.Error("checkStringLength refused a string at the limit")
	}
	s.e.Unlock()

	a := strings.Repeat("a", 11585)
	s.run("SET", "a", a)
	s.run("SET", "b", a)
	for _, opt := range []string{"", "LEN", "IDX"} {
		args := []string{"LCS", "a", "b"}
		if opt != "" {
			args = append(args, opt)
		}
		if got := s.run(args...); !strings.HasPrefix(got, "-ERR Insufficient memory") {
			t.Errorf("LCS %s over the limit: %.60q", opt, got)
		}
	}
}

// TestParseLongDouble checks parsing against strtold's rules and the
// long double range.
func TestParseLongDouble(t *testing.T) {
	for _, tc := range []struct{ in, want string }{ // want "" means invalid
		{"1", "1"}, {"-1.5", "-1.5"}, {"+.5", "0.5"}, {"5.", "5"}, {"1e3", "1000"}, {"1E+3", "1000"},
		{"0x10", "16"}, {"0X1P-2", "0.25"}, {"0x.8p1", "1"}, {"-0x1.8p1", "-3"}, {"00012", "12"},
		{"0e-99999", "0"}, {"-0", "0"}, {"1e-4940", "0"}, {"inf", "inf"}, {"-Infinity", "-inf"},
		{"", ""}, {" 1", ""}, {"1 ", ""}, {"1\x00", ""}, {"nan", ""}, {"NaN", ""}, {"infin", ""},
		{"0x", ""}, {"0x1p", ""}, {"0xg", ""}, {"0b1", ""}, {"1e", ""}, {"1e+", ""}, {"1_0", ""},
		{".", ""}, {"+-1", ""}, {"1..2", ""}, {"1e5000", ""}, {"1e-5000", ""}, {"1e999999999999999", ""},
		{"1e-999999999999999", ""}, {"0x1p16384", ""}, {"0x1p16383", "big"}, {"0x1p-16445", "0"},
		{"0x1p-16446", ""}, {"0x1.0000000000000000000001p-16446", "0"},
		{strings.Repeat("0", 5119), "0"}, {strings.Repeat("0", 5120), ""},
	} {
		f, ok := parseLongDouble([]byte(tc.in))
		switch {
		case tc.want == "" && ok:
			t.Errorf("%.40q: parsed as %s, want invalid", tc.in, f.Text('g', 20))
		case tc.want == "":
		case !ok:
			t.Errorf("%.40q: invalid, want %s", tc.in, tc.want)
		case f.IsInf() && (f.Sign() > 0) != (tc.want == "inf"):
			t.Errorf("%q: %v", tc.in, f)
		case f.IsInf():
		case tc.want == "big":
			if len(formatLongDouble(f)) < 4000 {
				t.Errorf("%q: %s", tc.in, formatLongDouble(f))
			}
		case formatLongDouble(f) != tc.want:
			t.Errorf("%q: %s, want %s", tc.in, formatLongDouble(f), tc.want)
		}
	}
}

// TestIncrByFloatLongDouble checks results that float64 would get wrong.
func TestIncrByFloatLongDouble(t *testing.T) {
	s := newEnv(t)
	s.want("INCRBYFLOAT k 0.1", "$3\r\n0.1\r\n")
	s.want("INCRBYFLOAT k 0.2", "$3\r\n0.3\r\n") // float64: 0.30000000000000004
	s.want("SET k 10.50", "+OK\r\n")
	s.want("INCRBYFLOAT k 0.1", "$4\r\n10.6\r\n")
	s.want("SET k 1", "+OK\r\n")
	s.want("INCRBYFLOAT k 1e4933", "-"+errNotFloat+"\r\n")
	s.want("SET k 0x1.fffffffffffffffep16383", "+OK\r\n") // the largest long double
	largest := s.run("INCRBYFLOAT", "k", "0")
	if !strings.HasPrefix(largest, "$4933\r\n11897314953572317650") {
		t.Errorf("largest long double: %.40q", largest)
	}
	s.want("INCRBYFLOAT k 0x1p16318", largest)                  // under half an ulp: rounds down
	s.want("INCRBYFLOAT k 0x1p16319", "-"+errIncrNaNInf+"\r\n") // a tie: rounds up, to 2**16384
	s.want("SET k 1", "+OK\r\n")
	s.want("INCRBYFLOAT k -1e-30", "$1\r\n1\r\n")
	s.want("INCRBYFLOAT k -1", "$1\r\n0\r\n")
	s.want("INCRBYFLOAT k -0.000000000000000001", "$1\r\n0\r\n") // "-0" is printed "0"
}

// TestLCSRanges checks IDX on the example of Redis's documentation.
func TestLCSRanges(t *testing.T) {
	s := newEnv(t)
	s.want("MSET key1 ohmytext key2 mynewtext", "+OK\r\n")
	s.want("LCS key1 key2", "$6\r\nmytext\r\n")
	s.want("LCS key1 key2 LEN", ":6\r\n")
	s.want("LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
		"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n")
	s.want("LCS key1 key2 IDX",
		"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n")
}

// benchCommand measures handler h running line, after the setup lines
// ran on the same client.
func benchCommand(b *testing.B, h Handler, line string, setup ...string) {
	e, c := lockedEngine(b)
	for _, l := range setup {
		execArgs(b, e, c, fields(l))
	}
	args := fields(line)
	b.ReportAllocs()
	for b.Loop() {
		c.W.Reset()
		h(c, args)
	}
}

// BenchmarkGet measures GET of an existing key: no allocation.
func BenchmarkGet(b *testing.B) {
	benchCommand(b, cmdGet, "GET key:000001", "SET key:000001 some-value-of-a-usual-size")
}

// BenchmarkSet measures SET of an existing key: one allocation, the
// stored copy of the value.
func BenchmarkSet(b *testing.B) {
	set := "SET key:000001 some-value-of-a-usual-size"
	benchCommand(b, cmdSet, set, set)
}

// BenchmarkIncr measures INCR of an existing key: one allocation, the
// formatted result.
func BenchmarkIncr(b *testing.B) {
	benchCommand(b, cmdIncr, "INCR counter", "SET counter 1000")
}

// BenchmarkMGet measures MGET of ten keys: no allocation.
func BenchmarkMGet(b *testing.B) {
	benchCommand(b, cmdMGet, "MGET key:0 key:1 key:2 key:3 key:4 key:5 key:6 key:7 key:8 key:9",
		"MSET key:0 value key:1 value key:2 value key:3 value key:4 value key:5 value key:6 value key:7 value key:8 value key:9 value")
}

// TestHotPathAllocs enforces the allocation budgets of the hot commands:
// none for GET and MGET, the stored copy for SET and INCR.
func TestHotPathAllocs(t *testing.T) {
	_, c := lockedEngine(t)
	cmdMSet(c, fields("MSET k1 some-value-of-a-usual-size k2 1000 k3 x"))
	for _, tc := range []struct {
		h    Handler
		line string
		max  float64
	}{
		{cmdGet, "GET k1", 0}, {cmdGet, "GET nokey", 0}, {cmdMGet, "MGET k1 k2 k3 nokey", 0},
		{cmdSet, "SET k1 some-other-value-of-a-usual-size", 1}, {cmdIncr, "INCR k2", 1},
		{cmdStrlen, "STRLEN k1", 0}, {cmdGetRange, "GETRANGE k1 2 5", 0},
	} {
		a := fields(tc.line)
		got := testing.AllocsPerRun(200, func() {
			c.W.Reset()
			tc.h(c, a)
		})
		if got > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.line, got, tc.max)
		}
	}
}

// TestAppendAmortized checks that many small appends to a growing value
// cost allocation in proportion to the final size (Redis appends in place
// into spare room; copying the whole value each time would be quadratic).
func TestAppendAmortized(t *testing.T) {
	env := newEnv(t)
	chunk := strings.Repeat("x", 1000)
	env.run("SET", "k", "")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 5000; i++ {
		env.run("APPEND", "k", chunk)
	}
	runtime.ReadMemStats(&after)
	// Final size 5 MB; a copy per append would allocate about 12.5 GB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 40<<20 {
		t.Fatalf("5000 appends of 1 KB allocated %d bytes", grew)
	}
	env.want("STRLEN k", ":5000000\r\n")
}

// TestAppendAfterCopy checks that a copy never shares the spare room of
// the value it was copied from.
func TestAppendAfterCopy(t *testing.T) {
	env := newEnv(t)
	env.run("SET", "a", "x")
	env.run("APPEND", "a", "y") // "a" now owns spare room
	env.run("COPY", "a", "b")
	env.run("APPEND", "a", "1")
	env.run("APPEND", "b", "2")
	env.want("GET a", "$3\r\nxy1\r\n")
	env.want("GET b", "$3\r\nxy2\r\n")
	env.run("RENAME", "a", "c") // a move keeps the room
	env.run("APPEND", "c", "3")
	env.want("GET c", "$4\r\nxy13\r\n")
	env.want("GET b", "$3\r\nxy2\r\n")
}
