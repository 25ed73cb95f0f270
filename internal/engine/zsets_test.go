package engine

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/resp"
)

// TestZSetParseScore checks string2d's rules: whole input, no leading
// space, no NaN, no overflow or underflow to zero.
func TestZSetParseScore(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"-1.5", -1.5, true}, {"0x10", 16, true}, {"0x1p-2", 0.25, true}, {".5", 0.5, true},
		{"5.", 5, true}, {"+inf", math.Inf(1), true}, {"-Infinity", math.Inf(-1), true}, {"1e-310", 1e-310, true},
		{"123456789012345678", 123456789012345678, true}, {"-0", 0, true},
		{"", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"nan", 0, false}, {"1e400", 0, false},
		{"1e-400", 0, false}, {"1_0", 0, false}, {"0x", 0, false}, {"1e", 0, false}, {"1\x00", 0, false},
		{"x", 0, false}, {"-", 0, false}, {"infin", 0, false}, {"--1", 0, false},
	} {
		got, ok := parseScore([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseScore(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if f, _ := parseScore([]byte("-0")); !math.Signbit(f) {
		t.Error("-0 lost its sign")
	}
}

// TestZSetParseRanges checks zslParseRange's and zslParseLexRange's rules.
func TestZSetParseRanges(t *testing.T) {
	for _, tc := range []struct {
		min, max string
		want     scoreRange
		ok       bool
	}{
		{"1", "2", scoreRange{min: 1, max: 2}, true},
		{"(1", "(2", scoreRange{min: 1, max: 2, minex: true, maxex: true}, true},
		{"-inf", "+inf", scoreRange{min: math.Inf(-1), max: math.Inf(1)}, true},
		{"", "(", scoreRange{maxex: true}, true},
		{" 1", "1e400", scoreRange{min: 1, max: math.Inf(1)}, true},
		{"1\x00junk", "2", scoreRange{min: 1, max: 2}, true},
		{"x", "1", scoreRange{}, false}, {"1", "nan", scoreRange{}, false}, {"1 ", "2", scoreRange{}, false},
		{"((1", "2", scoreRange{}, false}, {" ", "2", scoreRange{}, false},
	} {
		got, ok := parseScoreRange([]byte(tc.min), []byte(tc.max))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseScoreRange(%q, %q) = %+v, %v; want %+v, %v", tc.min, tc.max, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want lexBound
		ok   bool
	}{
		{"-", lexBound{inf: -1, ex: true}, true}, {"+", lexBound{inf: 1, ex: true}, true},
		{"+\x00x", lexBound{inf: 1, ex: true}, true}, {"[a", lexBound{s: "a"}, true}, {"(a", lexBound{s: "a", ex: true}, true},
		{"[", lexBound{}, true}, {"a", lexBound{}, false}, {"", lexBound{}, false}, {"++", lexBound{}, false},
	} {
		got, ok := parseLexBound([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseLexBound(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	r, _ := parseLexRange([]byte("-"), []byte("+"))
	if r.empty() || !r.gteMin("") || !r.lteMax("\xff\xff") {
		t.Error("- + is not everything")
	}
	r, _ = parseLexRange([]byte("+"), []byte("-"))
	if !r.empty() {
		t.Error("+ - is not empty")
	}
}

// TestZSetCommands runs command sequences through the engine.
func TestZSetCommands(t *testing.T) {
	env := newEnv(t)
	for _, tc := range []struct{ line, reply string }{
		{"ZADD z 1 a 2 b 3 c", ":3\r\n"},
		{"ZADD z XX CH 5 a 6 d", ":1\r\n"},
		{"ZADD z INCR 1.5 a", "$3\r\n6.5\r\n"},
		{"ZADD z GT INCR -1 a", "$-1\r\n"},
		{"ZRANGE z 0 -1 WITHSCORES", "*6\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\na\r\n$3\r\n6.5\r\n"},
		{"ZRANGEBYSCORE z (2 +inf LIMIT 0 1", "*1\r\n$1\r\nc\r\n"},
		{"ZREVRANK z b", ":2\r\n"},
		{"ZCOUNT z -inf (6.5", ":2\r\n"},
		{"ZINCRBY z 1 nope", "$1\r\n1\r\n"},
		{"ZREM z a b c nope", ":4\r\n"},
		{"EXISTS z", ":0\r\n"},
		{"ZADD z 1 a", ":1\r\n"},
		{"ZPOPMAX z 5", "*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{"EXISTS z", ":0\r\n"},
		{"ZADD z nan a", "-" + errNotFloat + "\r\n"},
		{"ZADD z NX XX 1 a", "-" + errZaddXXNX + "\r\n"},
		{"ZRANGEBYLEX z a b", "-" + errMinMaxLex + "\r\n"},
		{"ZRANGE z 0 -1 LIMIT 0 1", "-" + errLimitRank + "\r\n"},
		{"ZUNION 0 z", "-ERR at least 1 input key is needed for 'zunion' command\r\n"},
		{"ZMPOP 1 z MIN COUNT 0", "-" + errCountZero + "\r\n"},
		{"SET s v", "+OK\r\n"},
		{"ZCARD s", "-" + errWrongType + "\r\n"},
	} {
		env.want(tc.line, tc.reply)
	}
}

// TestZSetEncoding checks the listpack limits (128 entries, 64-byte
// members), that a skiplist never goes back, and the encodings of results.
func TestZSetEncoding(t *testing.T) {
	z := &zset{}
	for i := range zsetMaxListpackEntries {
		z.add(float64(i), []byte("m"+strconv.Itoa(i)), zaddFlags{})
	}
	if z.encoding() != "listpack" || z.len() != 128 {
		t.Fatalf("128 entries: %s, %d", z.encoding(), z.len())
	}
	z.add(1, []byte("one-more"), zaddFlags{})
	if z.encoding() != "skiplist" || z.len() != 129 {
		t.Fatalf("129 entries: %s, %d", z.encoding(), z.len())
	}
	for i := range 120 {
		z.remove([]byte("m" + strconv.Itoa(i)))
	}
	if z.encoding() != "skiplist" {
		t.Fatal("a shrinking skiplist went back to listpack")
	}
	if r, ok := z.rank([]byte("one-more"), false); !ok || r != 0 {
		t.Fatalf("rank of one-more: %d %v", r, ok)
	}
	long := &zset{}
	long.add(1, []byte(strings.Repeat("x", 65)), zaddFlags{})
	if long.encoding() != "skiplist" {
		t.Fatal("a 65-byte member stayed in a listpack")
	}
	if buildZset([]zsetEntry{{"a", 1}}).encoding() != "listpack" || buildZset(make([]zsetEntry, 129)).encoding() != "skiplist" {
		t.Fatal("buildZset chose the wrong encoding")
	}
}

// TestZSetCloneAndMemory checks that a clone is deep and that memory()
// follows the contents.
func TestZSetCloneAndMemory(t *testing.T) {
	for _, n := range []int{10, 300} {
		z := &zset{}
		for i := range n {
			z.add(float64(i), []byte("m"+strconv.Itoa(i)), zaddFlags{})
		}
		c := z.clone().(*zset)
		if c.encoding() != z.encoding() || c.len() != n || c.memory() != z.memory() {
			t.Fatalf("%d: clone %s %d %d, original %s %d %d", n, c.encoding(), c.len(), c.memory(), z.encoding(), z.len(), z.memory())
		}
		before := z.memory()
		c.remove([]byte("m0"))
		c.add(1e9, []byte("m1"), zaddFlags{})
		if s, _ := z.score([]byte("m1")); s != 1 || z.len() != n || z.memory() != before {
			t.Fatalf("%d: changing the clone changed the original", n)
		}
		if c.memory() >= before {
			t.Fatalf("%d: memory did not fall after a removal", n)
		}
		z.removeRange(0, z.len()-1, nil)
		if empty := (&zset{sl: z.sl}).memory(); z.memory() != empty || empty > 1024 {
			t.Fatalf("%d: empty set holds %d bytes", n, z.memory())
		}
	}
}

// TestZSetRandMember checks ZRANDMEMBER's distinct draws on both
// encodings and both sampling strategies: the right number of distinct
// members, each with its own score.
func TestZSetRandMember(t *testing.T) {
	env := newEnv(t)
	args := []string{"ZADD", "big"}
	for i := range 300 {
		args = append(args, strconv.Itoa(i), "m"+strconv.Itoa(i))
	}
	env.run(args...)
	env.run("ZADD", "small", "1", "a", "2", "b", "3", "c", "4", "d")
	for _, tc := range []struct {
		key   string
		count int
	}{{"big", 10}, {"big", 150}, {"big", 299}, {"small", 2}, {"small", 3}} {
		raw := env.run("ZRANDMEMBER", tc.key, strconv.Itoa(tc.count), "WITHSCORES")
		v, err := resp.NewReader(strings.NewReader(raw), resp.DefaultLimits()).ReadValue()
		if err != nil || len(v.Elems) != 2*tc.count {
			t.Fatalf("%s %d: %q", tc.key, tc.count, raw)
		}
		seen := map[string]bool{}
		for i := 0; i < len(v.Elems); i += 2 {
			m, s := string(v.Elems[i].Str), string(v.Elems[i+1].Str)
			if seen[m] {
				t.Fatalf("%s %d: %s twice", tc.key, tc.count, m)
			}
			seen[m] = true
			if want := env.run("ZSCORE", tc.key, m); want != "$"+strconv.Itoa(len(s))+"\r\n"+s+"\r\n" {
				t.Fatalf("%s %d: %s with score %s, ZSCORE %q", tc.key, tc.count, m, s, want)
			}
		}
	}
}
