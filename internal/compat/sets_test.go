package compat

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/resp"
)

// setCases are hand-written cases for every set command, option and
// error, run in order on an empty database. A case that starts with "~"
// is compared as an unordered reply (a hashtable's members, or a sample);
// the others are byte-identical, which includes the ascending order of
// every intset.
func setCases() [][]string {
	long := strings.Repeat("m", 70)
	return [][]string{
		// SADD, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS of an intset.
		cmd("SADD i 3 1 2"), cmd("SADD i 2 5 -7 5"), cmd("SMEMBERS i"), cmd("SCARD i"), cmd("OBJECT ENCODING i"),
		cmd("SISMEMBER i 5"), cmd("SISMEMBER i 4"), cmd("SISMEMBER i x"), cmd("SISMEMBER nokey 1"),
		cmd("SMISMEMBER i 1 4 5 x"), cmd("SMISMEMBER nokey a b"), cmd("SCARD nokey"), cmd("SMEMBERS nokey"),
		cmd("SADD i 9223372036854775807 -9223372036854775808"), cmd("SMEMBERS i"), cmd("OBJECT ENCODING i"),
		cmd("SISMEMBER i 9223372036854775807"), cmd("TYPE i"), cmd("SADD i"), cmd("SISMEMBER i"),

		// Members that are not integers as string2ll reads them.
		cmd("SADD n 1 007"), cmd("OBJECT ENCODING n"), {"~", "SMEMBERS", "n"}, cmd("SADD n2 -0"),
		cmd("OBJECT ENCODING n2"), cmd("SADD n3 +1"), cmd("OBJECT ENCODING n3"), cmd("SADD n4 9223372036854775808"),
		cmd("OBJECT ENCODING n4"), cmd("SADD n5 1.0"), cmd("OBJECT ENCODING n5"), {"SADD", "n6", ""},
		cmd("OBJECT ENCODING n6"), {"SADD", "n7", " 1"}, cmd("OBJECT ENCODING n7"), cmd("SADD n8 -9223372036854775809"),
		cmd("OBJECT ENCODING n8"), cmd("SISMEMBER n 7"), cmd("SISMEMBER n 007"), cmd("SISMEMBER n 1"),
		{"SADD", "bin", "a\x00b", "a\r\nb"}, {"SISMEMBER", "bin", "a\x00b"}, {"~", "SMEMBERS", "bin"},

		// SADD to a hashtable; SREM from both encodings; the last SREM
		// deletes the key.
		cmd("SADD h a b c 1 2"), cmd("OBJECT ENCODING h"), {"~", "SMEMBERS", "h"}, cmd("SCARD h"),
		cmd("SREM h a x 1 1"), {"~", "SMEMBERS", "h"}, cmd("SREM h b c 2"), cmd("EXISTS h"), cmd("SREM nokey a"),
		cmd("SREM i 1 x 99 -7"), cmd("SMEMBERS i"), cmd("SADD d 1 2"), cmd("SREM d 1 2 3"), cmd("EXISTS d"),
		cmd("SADD d x"), cmd("SREM d x"), cmd("TYPE d"), cmd("SREM i"),

		// SMOVE between encodings, to a new key, to itself, missing.
		cmd("SADD src 1 2 a"), cmd("SADD dst 10"), cmd("SMOVE src dst 1"), cmd("SMEMBERS dst"),
		cmd("OBJECT ENCODING dst"), cmd("SMOVE src dst a"), cmd("OBJECT ENCODING dst"), {"~", "SMEMBERS", "dst"},
		cmd("SMOVE src dst nomember"), cmd("SMOVE src new1 2"), cmd("OBJECT ENCODING new1"), cmd("EXISTS src"),
		cmd("SADD src x"), cmd("SMOVE src new2 x"), cmd("OBJECT ENCODING new2"), cmd("SMOVE new1 new1 2"),
		cmd("SMOVE new1 new1 3"), cmd("SMOVE nokey dst 1"), cmd("SADD dup 5"), cmd("SADD dup2 5"),
		cmd("SMOVE dup dup2 5"), cmd("SMEMBERS dup2"), cmd("EXISTS dup"), cmd("SMOVE"), cmd("SMOVE a b"),

		// SPOP and SRANDMEMBER: the deterministic cases.
		cmd("SPOP nokey"), cmd("SPOP nokey 3"), cmd("SPOP nokey 0"), cmd("SPOP i 0"), cmd("SPOP i -1"),
		cmd("SPOP i x"), cmd("SPOP i 1.5"), cmd("SPOP nokey -1"), cmd("SPOP i 9223372036854775808"),
		cmd("SPOP i 1 2"), cmd("SPOP nokey 1 2"), cmd("SADD one 42"), cmd("SPOP one"), cmd("EXISTS one"),
		cmd("SADD one 42"), cmd("SPOP one 1"), cmd("EXISTS one"), cmd("SADD all 3 1 2"), cmd("SPOP all 3"),
		cmd("EXISTS all"), cmd("SADD all 3 1 2"), cmd("SPOP all 100"), cmd("SADD all2 b a"), {"~", "SPOP", "all2", "5"},
		cmd("SRANDMEMBER nokey"), cmd("SRANDMEMBER nokey 5"), cmd("SRANDMEMBER nokey -5"), cmd("SRANDMEMBER nokey 0"),
		cmd("SRANDMEMBER i 0"), cmd("SRANDMEMBER i 100"), cmd("SRANDMEMBER i 9223372036854775807"),
		cmd("SRANDMEMBER i -9223372036854775808"), cmd("SRANDMEMBER nokey -9223372036854775808"),
		cmd("SRANDMEMBER i x"), cmd("SRANDMEMBER i 9223372036854775808"), cmd("SRANDMEMBER i 1 2"),
		cmd("SRANDMEMBER i 1.0"), cmd("SADD one 42"), cmd("SRANDMEMBER one"), cmd("SRANDMEMBER one 1"),
		cmd("SRANDMEMBER one -3"), cmd("SRANDMEMBER one 3"), {"~", "SRANDMEMBER", "bin", "2"},

		// SINTER, SINTERCARD, SINTERSTORE.
		cmd("DEL a b c"), cmd("SADD a 1 2 3 4 5"), cmd("SADD b 4 5 6 3"), cmd("SADD c 5 4 x y"),
		cmd("SINTER a b"), cmd("SINTER b a"), cmd("SINTER a b c"), cmd("SINTER a"), cmd("SINTER a a"),
		cmd("SINTER a nokey"), cmd("SINTER nokey a"), {"~", "SINTER", "c", "c"}, cmd("SINTERSTORE dst a b"),
		cmd("SMEMBERS dst"), cmd("OBJECT ENCODING dst"), cmd("SINTERSTORE dst a c"), cmd("OBJECT ENCODING dst"),
		cmd("SINTERSTORE dst a nokey"), cmd("EXISTS dst"), cmd("SINTERSTORE dst a b"), cmd("SADD e z"),
		cmd("SINTERSTORE dst a e"), cmd("EXISTS dst"), cmd("SINTERSTORE a a"), cmd("SMEMBERS a"),
		{"~", "SINTER", "c"}, cmd("SINTERSTORE cc c"), cmd("OBJECT ENCODING cc"), cmd("SREM cc x y"),
		{"~", "SINTER", "cc"}, cmd("SINTERCARD 2 a b"), cmd("SINTERCARD 3 a b c"), cmd("SINTERCARD 1 a"),
		cmd("SINTERCARD 2 a nokey"), cmd("SINTERCARD 1 nokey"), cmd("SINTERCARD 2 a b LIMIT 1"),
		cmd("SINTERCARD 2 a b limit 0"), cmd("SINTERCARD 2 a b LIMIT 100"), cmd("SINTERCARD 1 a LIMIT 2 LIMIT 3"),
		cmd("SINTERCARD 0 a"), cmd("SINTERCARD -1 a"), cmd("SINTERCARD x a"), cmd("SINTERCARD 3 a b"),
		cmd("SINTERCARD 9223372036854775808 a"), cmd("SINTERCARD 1 a LIMIT -1"), cmd("SINTERCARD 1 a LIMIT x"),
		cmd("SINTERCARD 1 a LIMIT"), cmd("SINTERCARD 1 a FOO 1"), cmd("SINTERCARD 1 a LIMIT 1 FOO"),
		cmd("SINTERCARD 1 a LIMIT 9223372036854775808"), cmd("SINTERCARD 2 a a"),

		// SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE.
		cmd("SUNION a b"), cmd("SUNION a nokey b"), cmd("SUNION nokey"), {"~", "SUNION", "a", "c"},
		cmd("SUNIONSTORE u a b"), cmd("OBJECT ENCODING u"), cmd("SUNIONSTORE u a c"), cmd("OBJECT ENCODING u"),
		cmd("SUNIONSTORE u nokey"), cmd("EXISTS u"), cmd("SDIFF a b"), cmd("SDIFF b a"), cmd("SDIFF a nokey"),
		cmd("SDIFF nokey a"), cmd("SDIFF a a"), cmd("SDIFF a b c"), {"~", "SDIFF", "c", "a"}, {"~", "SDIFF", "c", "nokey"},
		cmd("SDIFFSTORE df a b"), cmd("OBJECT ENCODING df"), cmd("SDIFFSTORE df c a"), cmd("OBJECT ENCODING df"),
		cmd("SDIFFSTORE df a a"), cmd("EXISTS df"), cmd("SDIFFSTORE df nokey a"), cmd("SUNIONSTORE a a b"),
		cmd("SMEMBERS a"), cmd("SDIFFSTORE a a b"), cmd("SMEMBERS a"), cmd("SADD x1 " + long),
		{"~", "SUNION", "x1", "a"}, cmd("SET str v"), cmd("EXPIRE str 1000"), cmd("SUNIONSTORE str a"), cmd("TTL str"),
		cmd("TYPE str"), cmd("SADD t 1"), cmd("EXPIRE t 1000"), cmd("SINTERSTORE t a"), cmd("TTL t"),

		// SSCAN of an intset and of small hashtables: one call, cursor 0.
		cmd("SSCAN i 0"), cmd("SSCAN i 7"), cmd("SSCAN i 0 COUNT 1"), cmd("SSCAN i 0 MATCH *2*"),
		cmd("SSCAN i 0 MATCH -*"), cmd("SSCAN i 0 MATCH nomatch"), cmd("SSCAN nokey 0"), cmd("SSCAN nokey x"),
		cmd("SSCAN nokey 0 FOO"), cmd("SSCAN nokey 0 COUNT 0"), cmd("SSCAN i x"), cmd("SSCAN i 0 FOO"),
		cmd("SSCAN i 0 COUNT 0"), cmd("SSCAN i 0 COUNT x"), cmd("SSCAN i 0 TYPE set"), cmd("SSCAN i 0 MATCH"),
		cmd("SSCAN i -1"), cmd("SSCAN i 18446744073709551616"), cmd("SSCAN i 0 count 5 match *"),

		// WRONGTYPE, and set commands against strings.
		cmd("SET s v"), cmd("SADD s a"), cmd("SREM s a"), cmd("SCARD s"), cmd("SISMEMBER s a"),
		cmd("SMISMEMBER s a"), cmd("SMEMBERS s"), cmd("SPOP s"), cmd("SPOP s 1"), cmd("SPOP s x"),
		cmd("SPOP s 0"), cmd("SRANDMEMBER s"), cmd("SRANDMEMBER s 1"), cmd("SRANDMEMBER s x"),
		cmd("SMOVE s i 1"), cmd("SMOVE i s 1"), cmd("SMOVE i s 12345"), cmd("SMOVE nokey s 1"),
		cmd("SMOVE s nokey 1"), cmd("SINTER i s"), cmd("SINTER nokey s"), cmd("SINTERSTORE d i s"),
		cmd("SINTERCARD 2 i s"), cmd("SINTERCARD 2 nokey s"), cmd("SUNION i s"), cmd("SUNIONSTORE d s"),
		cmd("SDIFF i s"), cmd("SDIFF nokey s"), cmd("SDIFFSTORE d i s"), cmd("SINTERSTORE s i"), cmd("TYPE s"),
		cmd("SET s v"), cmd("SSCAN s 0"), cmd("SSCAN s x"), cmd("SSCAN s 0 FOO"), cmd("GET i"), cmd("TYPE i"),
		cmd("EXISTS d"),
	}
}

// checkCases runs cases in order: byte-identical, or unordered for the
// cases marked "~".
func (p *pair) checkCases(cases [][]string) {
	p.t.Helper()
	for _, c := range cases {
		if c[0] == "~" {
			p.checkUnordered(false, c[1:]...)
			continue
		}
		p.check(c...)
	}
}

// TestSet compares every hand-written set case with redis-server, under
// RESP2 and RESP3 (where SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a
// count reply with the set type).
func TestSet(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkCases(setCases())
	})
}

// intRange returns the decimal integers from..to-1, step apart.
func intRange(from, to, step int) []string {
	var out []string
	for i := from; i < to; i += step {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// TestSetConversion checks the intset limit (512 members) one member at a
// time and by batches, the encodings that SMOVE and the *STORE commands
// give, SPOP's rebuilt set, COPY, and SSCAN of both encodings.
func TestSetConversion(t *testing.T) {
	p := newPair(t)
	for i := range 515 {
		p.check("SADD", "a", strconv.Itoa(i*7-1000))
		p.check("OBJECT", "ENCODING", "a")
		if i%64 == 0 || i >= 510 {
			p.checkSet("a", "SMEMBERS", "a")
		}
	}
	p.check("SCARD", "a")
	for i := range 515 {
		p.check("SREM", "a", strconv.Itoa(i*7-1000))
		p.check("OBJECT", "ENCODING", "a") // stays hashtable until the key goes
	}
	p.check("EXISTS", "a")

	// One command adding 513 members, one adding 512, then one more.
	p.check(append([]string{"SADD", "b"}, intRange(0, 513, 1)...)...)
	p.check("OBJECT", "ENCODING", "b")
	p.check(append([]string{"SADD", "c"}, intRange(0, 512, 1)...)...)
	p.check("OBJECT", "ENCODING", "c")
	p.check("SMEMBERS", "c")
	p.check("SADD", "c", "511")
	p.check("OBJECT", "ENCODING", "c")
	p.check("SADD", "c", "512")
	p.check("OBJECT", "ENCODING", "c")
	p.check(append([]string{"SADD", "d"}, intRange(1000, 1600, 1)...)...) // 600 integers, hashtable

	// Results of the *STORE commands, from both sides of the limit.
	for _, c := range [][]string{
		{"SUNIONSTORE", "r", "b"}, {"SUNIONSTORE", "r", "c"}, {"SINTERSTORE", "r", "b", "c"},
		{"SINTERSTORE", "r", "b", "d"}, {"SINTERSTORE", "r", "b", "b"}, {"SDIFFSTORE", "r", "b", "c"},
		{"SDIFFSTORE", "r", "d", "c"}, {"SDIFFSTORE", "r", "d", "nokey"}, {"SDIFFSTORE", "r", "d", "b", "c"},
		{"SUNIONSTORE", "r", "c", "d"}, {"SDIFFSTORE", "r", "c", "b"}, {"SDIFFSTORE", "r", "b", "d", "d", "d", "d"},
	} {
		p.check(c...)
		p.check("OBJECT", "ENCODING", "r")
		p.checkSet("r", "SMEMBERS", "r")
	}
	// SDIFF's two algorithms give different encodings: many small sets to
	// subtract make Redis copy the first set whole and remove from it.
	p.check(append([]string{"SADD", "big"}, intRange(0, 600, 1)...)...)
	p.check(append([]string{"SADD", "sub"}, intRange(0, 400, 1)...)...)
	for _, c := range [][]string{
		{"SDIFFSTORE", "r", "big", "sub"}, {"SDIFFSTORE", "r", "big", "nokey"}, {"SDIFFSTORE", "r", "c", "sub"},
		{"SDIFFSTORE", "r", "big", "sub", "sub", "sub"}, {"SDIFFSTORE", "r", "big", "c"},
	} {
		p.check(c...)
		p.check("OBJECT", "ENCODING", "r")
		p.checkSet("r", "SMEMBERS", "r")
		p.checkNewSet(append([]string{"SDIFF"}, c[2:]...)...)
	}

	// SMOVE into a full intset converts it.
	p.check("SMOVE", "b", "c", "512")
	p.check("SADD", "c2", "x")
	p.check("SREM", "c2", "x")
	p.check(append([]string{"SADD", "c3"}, intRange(0, 512, 1)...)...)
	p.check("SADD", "src", "9999")
	p.check("SMOVE", "src", "c3", "9999")
	p.check("OBJECT", "ENCODING", "c3")

	// COPY and RENAME keep the encoding, even a hashtable of integers.
	p.check("COPY", "d", "d2")
	p.check("OBJECT", "ENCODING", "d2")
	p.check(append([]string{"SREM", "d2"}, intRange(1000, 1590, 1)...)...)
	p.check("OBJECT", "ENCODING", "d2")
	p.checkUnordered(false, "SMEMBERS", "d2")
	p.check("COPY", "d2", "d3")
	p.check("OBJECT", "ENCODING", "d3")
	p.check("RENAME", "d3", "d4")
	p.check("OBJECT", "ENCODING", "d4")
	p.check("SUNION", "d4") // a new set: an intset, so ascending
	p.check("SDIFF", "d4", "nokey")

	// SSCAN: an intset in one call; a small hashtable in one call with a
	// large COUNT.
	p.check("SUNIONSTORE", "d5", "d4")
	p.check("OBJECT", "ENCODING", "d5")
	p.check("SSCAN", "d5", "0", "COUNT", "1")
	p.check("SSCAN", "d5", "0", "MATCH", "1*")
	p.checkScanSmall("SSCAN", "d4", "0", "COUNT", "1000")
	p.checkScanSmall("SSCAN", "d", "0", "COUNT", "10000", "MATCH", "*5*")
}

// TestSetPopRebuild checks the encoding SPOP with a count leaves: Redis
// pops few members one by one (the set keeps its encoding) but, when
// most go, keeps the survivors in a new set (an intset when they are
// integers). The popped members are checked against the oracle's set and
// removed from it with SREM, the oracle rebuilt as Redis would.
func TestSetPopRebuild(t *testing.T) {
	p := newPair(t)
	for _, tc := range []struct {
		size, count int
		strs        bool
	}{{600, 100, false}, {600, 550, false}, {600, 500, false}, {600, 499, false}, {100, 90, false},
		{100, 83, false}, {100, 84, false}, {2000, 1900, false}, {600, 550, true}, {10, 9, false}, {10, 9, true}} {
		args := []string{"SADD", "p"}
		for i := range tc.size {
			m := strconv.Itoa(i)
			if tc.strs && i%2 == 0 {
				m = "m" + m
			}
			args = append(args, m)
		}
		p.check("DEL", "p")
		p.check(args...)
		p.check("EXPIRE", "p", "1000")
		p.spopMirror("p", strconv.Itoa(tc.count))
		p.check("OBJECT", "ENCODING", "p")
		p.check("SCARD", "p")
		p.check("TTL", "p") // SPOP keeps the time to live, even of a rebuilt set
		p.checkSet("p", "SMEMBERS", "p")
	}
}

// checkSet compares a reply that lists the members of key: exact for an
// intset (ascending), as a set for a hashtable.
func (p *pair) checkSet(key string, args ...string) {
	p.t.Helper()
	if string(p.oracle.do("OBJECT", "ENCODING", key)) == "$9\r\nhashtable\r\n" {
		p.checkUnordered(false, args...)
		return
	}
	p.check(args...)
}

// checkNewSet compares the reply of SUNION or SDIFF, which lists a new
// set: exact when that set is an intset (ascending), as a set otherwise.
// The encoding is asked of the oracle by storing the same result under a
// scratch key (SUNIONSTORE, SDIFFSTORE), deleted after.
func (p *pair) checkNewSet(args ...string) {
	p.t.Helper()
	const scratch = "scratch:newset"
	p.oracle.do(append([]string{args[0] + "STORE", scratch}, args[1:]...)...)
	intset := string(p.oracle.do("OBJECT", "ENCODING", scratch)) == "$6\r\nintset\r\n"
	p.oracle.do("DEL", scratch)
	if intset {
		p.check(args...)
		return
	}
	p.checkUnordered(false, args...)
}

// members returns the oracle's members of key, or ok=false when key does
// not hold a set.
func (p *pair) members(key string) (map[string]bool, bool) {
	p.t.Helper()
	v := decodeReply(p.t, p.oracle.do("SMEMBERS", key))
	if v.Type != resp.TypeArray && v.Type != resp.TypeSet {
		return nil, false
	}
	m := map[string]bool{}
	for _, e := range v.Elems {
		m[string(e.Str)] = true
	}
	return m, true
}

// spopMirror runs SPOP key [count] on Redoubt, checks the popped members
// against the oracle's set (members, distinct, how many, the reply type)
// and removes them from the oracle with SREM. When Redis would have kept
// the survivors in a new set, the oracle's set is rebuilt the same way
// (SUNIONSTORE of itself, its time to live restored).
func (p *pair) spopMirror(key string, count ...string) {
	p.t.Helper()
	args := append([]string{"SPOP", key}, count...)
	before, isSet := p.members(key)
	n := -1
	if len(count) == 1 {
		var err error
		if n, err = strconv.Atoi(count[0]); err != nil || n < 0 {
			isSet = false
		}
	}
	if !isSet || len(before) == 0 || n == 0 {
		p.check(args...) // errors, missing key, count 0: no change
		return
	}
	raw := p.us.do(args...)
	v := decodeReply(p.t, raw)
	var popped []string
	if n < 0 {
		popped = []string{string(v.Str)}
	} else {
		wantType := byte(resp.TypeArray)
		if raw[0] == '~' {
			wantType = resp.TypeSet
		}
		if v.Type != wantType || len(v.Elems) != min(n, len(before)) {
			p.t.Errorf("%s: reply %q for a set of %d", fmtCmd(args), raw, len(before))
			return
		}
		for _, e := range v.Elems {
			popped = append(popped, string(e.Str))
		}
	}
	seen := map[string]bool{}
	for _, m := range popped {
		if !before[m] || seen[m] {
			p.t.Errorf("%s: popped %q (a member: %v, repeated: %v)", fmtCmd(args), m, before[m], seen[m])
			return
		}
		seen[m] = true
	}
	ttl := string(p.oracle.do("PTTL", key))
	p.oracle.do(append([]string{"SREM", key}, popped...)...)
	remaining := len(before) - len(popped)
	if n > 0 && remaining > 0 && remaining*5 <= n {
		p.oracle.do("SUNIONSTORE", key, key)
		if ms := strings.TrimSuffix(strings.TrimPrefix(ttl, ":"), "\r\n"); ms != "-1" && ms != "-2" {
			p.oracle.do("PEXPIRE", key, ms)
		}
	}
}

// TestSetScanGuarantee checks SSCAN's guarantee on a hashtable on both
// servers: every member present throughout is returned, while members are
// added and removed between calls; and a full SSCAN with MATCH returns the
// same members on both.
func TestSetScanGuarantee(t *testing.T) {
	p := newPair(t)
	r := rand.New(rand.NewPCG(seed(t), 3))
	for _, c := range []*rawConn{p.oracle, p.us} {
		for i := range 400 {
			c.do("SADD", "big", "stable:"+strconv.Itoa(i), "doomed:"+strconv.Itoa(i))
		}
	}
	p.check("OBJECT", "ENCODING", "big")
	count := strconv.Itoa(1 + r.IntN(20))
	for _, c := range []*rawConn{p.oracle, p.us} {
		added, removed := 0, 0
		seen := scanAll(t, c, []string{"SSCAN", "big", "0", "COUNT", count}, 2, 1, func(call int) {
			if call >= 60 {
				return
			}
			for range 30 {
				c.do("SADD", "big", "new:"+strconv.Itoa(added))
				added++
			}
			if removed < 400 {
				c.do("SREM", "big", "doomed:"+strconv.Itoa(removed))
				c.do("SPOP", "big") // may take a stable member: counted below
				removed++
			}
		})
		for i := range 400 {
			m := "stable:" + strconv.Itoa(i)
			if seen[m] == 0 && string(c.do("SISMEMBER", "big", m)) == ":1\r\n" {
				t.Errorf("%s: SSCAN COUNT %s missed %s", c.name, count, m)
			}
		}
	}
	for _, c := range []*rawConn{p.oracle, p.us} {
		c.do("DEL", "big")
		for i := range 1000 {
			c.do("SADD", "big", "m"+strconv.Itoa(i))
		}
	}
	want := scanAll(t, p.oracle, []string{"SSCAN", "big", "0", "MATCH", "m2*"}, 2, 1, nil)
	got := scanAll(t, p.us, []string{"SSCAN", "big", "0", "MATCH", "m2*"}, 2, 1, nil)
	if !sameKeys(want, got) || len(got) != 111 {
		t.Errorf("full SSCAN MATCH differs: redis-server %d members, redoubt %d", len(want), len(got))
	}
	// COUNT counts members walked: a walk of 1000 members with COUNT 10
	// takes many calls on both.
	calls := 0
	scanAll(t, p.us, []string{"SSCAN", "big", "0", "COUNT", "10"}, 2, 1, func(int) { calls++ })
	if calls < 50 {
		t.Errorf("SSCAN COUNT 10 over 1000 members took %d calls", calls)
	}
}

// TestSetRandMember checks SRANDMEMBER's and SPOP's replies by their
// properties (size, membership, distinct members for a positive count,
// the reply type) on intsets and hashtables of several sizes, for every
// branch of Redis's algorithms, under RESP2 and RESP3.
func TestSetRandMember(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		for _, size := range []int{1, 5, 100, 512, 513, 1500} {
			for _, strs := range []bool{false, true} {
				key := "s" + strconv.Itoa(size) + strconv.FormatBool(strs)
				args := []string{"SADD", key}
				for i := range size {
					m := strconv.Itoa(i)
					if strs {
						m = "m" + m
					}
					args = append(args, m)
				}
				p.check(args...)
				p.check("OBJECT", "ENCODING", key)
				members, _ := p.members(key)
				for _, count := range []int{1, 2, size / 4, size / 3, size/3 + 1, size/2 + 1, size - 1, size, size + 1, -1, -2, -size, -3 * size} {
					a := []string{"SRANDMEMBER", key, strconv.Itoa(count)}
					for range 3 {
						checkSample(t, members, a, p.us.do(a...), '*')
					}
				}
				p.checkSet(key, "SRANDMEMBER", key, strconv.Itoa(size)) // the whole set, in its order
				for range 5 {
					v := decodeReply(t, p.us.do("SRANDMEMBER", key))
					if v.Type != resp.TypeBulk || !members[string(v.Str)] {
						t.Errorf("SRANDMEMBER %s: %q", key, v.Str)
					}
				}
				for _, count := range []int{1, size / 10, size / 2, size - 1, size} {
					p.check("SCARD", key)
					p.spopMirror(key, strconv.Itoa(count))
					p.check("OBJECT", "ENCODING", key)
					p.checkSet(key, "SMEMBERS", key)
					if string(p.oracle.do("EXISTS", key)) == ":0\r\n" {
						break
					}
				}
			}
		}
	})
}

// checkSample checks an SRANDMEMBER reply against the members of the set:
// its type, size and membership, and distinct members for a positive
// count.
func checkSample(t testing.TB, members map[string]bool, args []string, raw []byte, typ byte) {
	t.Helper()
	count, _ := strconv.Atoi(args[2])
	want := count
	if count < 0 {
		want = -count
	} else if count > len(members) {
		want = len(members)
	}
	v := decodeReply(t, raw)
	if raw[0] != typ || len(v.Elems) != want {
		t.Errorf("%s: %d members of type %c, want %d of type %c", fmtCmd(args), len(v.Elems), raw[0], want, typ)
		return
	}
	seen := map[string]bool{}
	for _, e := range v.Elems {
		m := string(e.Str)
		if !members[m] {
			t.Errorf("%s: %q is not a member", fmtCmd(args), m)
		}
		if count > 0 && seen[m] {
			t.Errorf("%s: %q repeated with a positive count", fmtCmd(args), m)
		}
		seen[m] = true
	}
}

// TestSetRandom sends a seeded random sequence of set commands (with some
// string and key commands on the same keys) to both servers, under RESP2
// and RESP3.
func TestSetRandom(t *testing.T) {
	randomSequence(t, 5000, 800, func(p *pair, s uint64, proto int) func() {
		g := &setGen{r: rand.New(rand.NewPCG(s, 0x5e7+uint64(proto)))}
		return func() { g.step(p) }
	}, func(p *pair) {
		for i := range 6 {
			k := "s" + strconv.Itoa(i)
			p.check("OBJECT", "ENCODING", k)
			p.checkSet(k, "SMEMBERS", k)
		}
	})
}

// setGen makes random set commands over keys s0…s5: members that are
// small integers (intsets), batches of integers that cross the 512 limit,
// strings, and integer look-alikes that are not integers.
type setGen struct{ r *rand.Rand }

func (g *setGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *setGen) key() string { return "s" + strconv.Itoa(g.r.IntN(6)) }

func (g *setGen) member() string {
	switch g.r.IntN(20) {
	case 0:
		return g.pick("-0", "007", "+1", "1.0", "", "9223372036854775807", "-9223372036854775808", "9223372036854775808")
	case 1, 2, 3:
		return "m" + strconv.Itoa(g.r.IntN(10))
	case 4, 5, 6:
		return strconv.Itoa(g.r.IntN(800))
	}
	return strconv.Itoa(g.r.IntN(12) - 2)
}

// members returns 1 to n random members.
func (g *setGen) members(n int) []string {
	var out []string
	for i := 1 + g.r.IntN(n); i > 0; i-- {
		out = append(out, g.member())
	}
	return out
}

// keys returns 1 to 3 random keys, sometimes a missing one.
func (g *setGen) keys() []string {
	var out []string
	for i := 1 + g.r.IntN(3); i > 0; i-- {
		if g.r.IntN(8) == 0 {
			out = append(out, "nokey")
		} else {
			out = append(out, g.key())
		}
	}
	return out
}

func (g *setGen) step(p *pair) {
	k := g.key()
	switch g.r.IntN(26) {
	case 0, 1, 2:
		p.check(append([]string{"SADD", k}, g.members(3)...)...)
	case 3:
		base := g.r.IntN(700)
		p.check(append([]string{"SADD", k}, intRange(base, base+50+g.r.IntN(200), 1+g.r.IntN(2))...)...)
	case 4, 5:
		p.check(append([]string{"SREM", k}, g.members(4)...)...)
	case 6:
		base := g.r.IntN(700)
		p.check(append([]string{"SREM", k}, intRange(base, base+300, 1)...)...)
	case 7:
		p.check(g.pick("SCARD", "TYPE", "EXISTS", "OBJECT ENCODING"), k)
	case 8:
		p.check("SISMEMBER", k, g.member())
	case 9:
		p.check(append([]string{"SMISMEMBER", k}, g.members(4)...)...)
	case 10:
		p.checkSet(k, "SMEMBERS", k)
	case 11:
		p.spopMirror(k)
	case 12:
		p.spopMirror(k, g.pick("0", "1", "2", "5", "20", "100", "600", "-1", "x"))
	case 13:
		g.checkRandMember(p, k)
	case 14:
		p.check("SMOVE", k, g.key(), g.member())
	case 15:
		p.checkUnordered(false, append([]string{"SINTER"}, g.keys()...)...)
	case 16:
		keys := g.keys()
		args := append([]string{"SINTERCARD", strconv.Itoa(len(keys))}, keys...)
		if g.r.IntN(2) == 0 {
			args = append(args, "LIMIT", g.pick("0", "1", "3", "-1"))
		}
		p.check(args...)
	case 17:
		p.checkNewSet(append([]string{g.pick("SUNION", "SDIFF")}, g.keys()...)...)
	case 18, 19:
		dst := g.key()
		p.check(append([]string{g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), dst}, g.keys()...)...)
		p.check("OBJECT", "ENCODING", dst)
	case 20:
		if string(p.oracle.do("OBJECT", "ENCODING", k)) == "$9\r\nhashtable\r\n" {
			p.checkScanSmall("SSCAN", k, "0", "COUNT", "5000", "MATCH", g.pick("*", "m*", "1*"))
		} else {
			p.check("SSCAN", k, "0", "MATCH", g.pick("*", "m*", "1*"))
		}
	case 21:
		p.check("SET", k, "v")
	case 22:
		p.check("DEL", k)
	case 23:
		p.check("COPY", k, g.key(), "REPLACE")
	case 24:
		p.check("RENAME", k, g.key())
	case 25:
		p.check("OBJECT", "ENCODING", k)
	}
}

// checkRandMember checks SRANDMEMBER by its properties against the
// oracle's view of the set.
func (g *setGen) checkRandMember(p *pair, k string) {
	p.t.Helper()
	count := strconv.Itoa(g.r.IntN(30) - 10)
	members, isSet := p.members(k)
	if !isSet || len(members) == 0 {
		p.check("SRANDMEMBER", k, count)
		return
	}
	args := []string{"SRANDMEMBER", k, count}
	checkSample(p.t, members, args, p.us.do(args...), '*')
	if v := decodeReply(p.t, p.us.do("SRANDMEMBER", k)); !members[string(v.Str)] {
		p.t.Errorf("SRANDMEMBER %s: %q is not a member", k, v.Str)
	}
}
