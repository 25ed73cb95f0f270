package compat

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/resp"
)

// hashCases are hand-written cases for every hash command, option and
// error, run in order on an empty database. Every hash here stays a
// listpack, whose order is defined, unless it is only read in
// order-independent ways.
func hashCases() [][]string {
	long := strings.Repeat("x", 65)
	max64 := strings.Repeat("y", 64)
	return [][]string{
		// HSET, HMSET, HSETNX, HGET, HMGET.
		cmd("HSET h f1 v1"), cmd("HSET h f1 v1b f2 v2 f3 v3"), cmd("HSET h f4 v4 f4 v4b"), cmd("HGET h f1"),
		cmd("HGET h f4"), cmd("HGET h nofield"), cmd("HGET nokey f"), cmd("HSET h f5"), cmd("HSET h f5 v f6"),
		cmd("HMSET h f5"), cmd("HMSET h f5 v5 f6 v6"), cmd("HMSET nokey2"), cmd("HSETNX h f1 new"),
		cmd("HSETNX h f7 v7"), cmd("HSETNX newh f v"), cmd("HGETALL newh"), cmd("HMGET h f1 nofield f7"),
		cmd("HMGET nokey a b"), {"HSET", "h", "", ""}, {"HGET", "h", ""}, {"HSET", "h", "bin\x00f", "bin\x00v\r\n"},
		{"HGET", "h", "bin\x00f"}, cmd("HGETALL h"), cmd("HKEYS h"), cmd("HVALS h"), cmd("HLEN h"),
		cmd("HKEYS nokey"), cmd("HVALS nokey"), cmd("HGETALL nokey"), cmd("HLEN nokey"),

		// HDEL, HEXISTS, HSTRLEN; the last HDEL deletes the key.
		cmd("HDEL h f1 f1 nofield f2"), cmd("HDEL h nofield"), cmd("HDEL nokey f"), cmd("HEXISTS h f1"),
		cmd("HEXISTS h f3"), cmd("HEXISTS nokey f"), cmd("HSTRLEN h f3"), cmd("HSTRLEN h nofield"),
		cmd("HSTRLEN nokey f"), {"HSTRLEN", "h", "bin\x00f"}, cmd("HGETALL h"), cmd("HSET d a 1 b 2"),
		cmd("HDEL d a b c"), cmd("EXISTS d"), cmd("HSET d a 1"), cmd("HDEL d a"), cmd("TYPE d"),

		// HINCRBY.
		cmd("HINCRBY c n 5"), cmd("HINCRBY c n -7"), cmd("HGET c n"), cmd("HINCRBY c n x"), cmd("HINCRBY c n 1.5"),
		cmd("HINCRBY c n 9223372036854775808"), cmd("HSET c s abc"), cmd("HINCRBY c s 1"), {"HSET", "c", "s", " 1"},
		cmd("HSET c big 9223372036854775807"), cmd("HINCRBY c big 1"), cmd("HINCRBY c big 0"),
		cmd("HINCRBY c big -1"), cmd("HSET c small -9223372036854775808"), cmd("HINCRBY c small -1"),
		cmd("HINCRBY c small 1"), cmd("HSET c z 007"), cmd("HINCRBY c z 1"), {"HSET", "c", "e", ""},
		cmd("HINCRBY c e 1"), cmd("HINCRBY newc n 9223372036854775807"), cmd("HINCRBY newc2 n x"), cmd("EXISTS newc2"),

		// HINCRBYFLOAT: long double arithmetic and formatting.
		cmd("HINCRBYFLOAT f a 0.1"), cmd("HINCRBYFLOAT f a 0.2"), cmd("HINCRBYFLOAT f a 1e-20"),
		cmd("HINCRBYFLOAT f a -0.3"), cmd("HINCRBYFLOAT f a 3.0e3"), cmd("HINCRBYFLOAT f a 0x10"),
		cmd("HINCRBYFLOAT f a .5"), cmd("HINCRBYFLOAT f a 5."), cmd("HINCRBYFLOAT f a -5e-1"),
		cmd("HINCRBYFLOAT f b 1e308"), cmd("HINCRBYFLOAT f c 10.50"), cmd("HINCRBYFLOAT f d -0"),
		cmd("HINCRBYFLOAT f e 1.23456789012345678"), cmd("HINCRBYFLOAT f g 5e-324"),
		cmd("HINCRBYFLOAT f a inf"), cmd("HINCRBYFLOAT f a -inf"), cmd("HINCRBYFLOAT f a infinity"),
		cmd("HINCRBYFLOAT f a nan"), cmd("HINCRBYFLOAT f a x"), {"HINCRBYFLOAT", "f", "a", ""},
		{"HINCRBYFLOAT", "f", "a", " 1"}, {"HINCRBYFLOAT", "f", "a", "1 "}, cmd("HINCRBYFLOAT f a 1e5000"),
		cmd("HINCRBYFLOAT f a 1e-5000"), cmd("HINCRBYFLOAT f a 1_0"), cmd("HINCRBYFLOAT f a 0x"),
		cmd("HINCRBYFLOAT f a 1e"), cmd("HINCRBYFLOAT f a 0x1p-2"), cmd("HGET f a"), cmd("HSET f s abc"),
		cmd("HINCRBYFLOAT f s 1"), cmd("HSET f i inf"), cmd("HINCRBYFLOAT f i 1"), cmd("HSET f n 5"),
		cmd("HINCRBYFLOAT f n 1"), cmd("HSET f m 1.5e3"), cmd("HINCRBYFLOAT f m 0"),
		cmd("HINCRBYFLOAT f h 1e4000"), cmd("HINCRBYFLOAT f h 1e4932"), cmd("HINCRBYFLOAT f h 1e4932"),
		cmd("HINCRBYFLOAT f h -1e4932"), cmd("HINCRBYFLOAT newf x inf"), cmd("EXISTS newf"),

		// Encodings: listpack up to 512 entries and 64-byte fields and
		// values, then hashtable for good.
		cmd("HSET e1 " + max64 + " " + max64), cmd("OBJECT ENCODING e1"), cmd("HSET e1 a " + long),
		cmd("OBJECT ENCODING e1"), cmd("HDEL e1 a"), cmd("OBJECT ENCODING e1"), cmd("HSET e2 " + long + " v"),
		cmd("OBJECT ENCODING e2"), cmd("HSET e3 a 1"), cmd("HSETNX e3 a " + long), cmd("OBJECT ENCODING e3"),
		cmd("HSETNX e3 b " + long), cmd("OBJECT ENCODING e3"), cmd("HSET e4 a 1"),
		cmd("HINCRBY e4 " + long + " 1"), cmd("OBJECT ENCODING e4"), cmd("HSET e5 a 1"),
		cmd("HINCRBYFLOAT e5 a 1e100"), cmd("OBJECT ENCODING e5"), cmd("HSET e6 a 1"),
		cmd("HINCRBY e6 a 99999999999999999"), cmd("OBJECT ENCODING e6"), cmd("HMSET e7 a 1 b " + long),
		cmd("OBJECT ENCODING e7"), cmd("HSET e8 x " + max64 + "z"), cmd("OBJECT ENCODING e8"),

		// HSCAN of a listpack: everything in one call, cursor 0.
		cmd("HSCAN h 0"), cmd("HSCAN h 5"), cmd("HSCAN h 0 COUNT 1"), cmd("HSCAN h 0 MATCH f*"),
		cmd("HSCAN h 0 MATCH f[3-5] COUNT 100"), cmd("HSCAN h 0 MATCH nomatch"), cmd("HSCAN nokey 0"),
		cmd("HSCAN nokey x"), cmd("HSCAN nokey 0 FOO"), cmd("HSCAN nokey 0 COUNT 0"), cmd("HSCAN h x"),
		cmd("HSCAN h 0 FOO"), cmd("HSCAN h 0 COUNT 0"), cmd("HSCAN h 0 COUNT x"), cmd("HSCAN h 0 TYPE hash"),
		cmd("HSCAN h 0 MATCH"), cmd("HSCAN h -1"), cmd("HSCAN h 18446744073709551616"),

		// HRANDFIELD: whole-hash and error cases are deterministic.
		cmd("HRANDFIELD nokey"), cmd("HRANDFIELD nokey 5"), cmd("HRANDFIELD nokey -5 WITHVALUES"),
		cmd("HRANDFIELD nokey 0"), cmd("HRANDFIELD h 0"), cmd("HRANDFIELD h 0 WITHVALUES"), cmd("HRANDFIELD h 100"),
		cmd("HRANDFIELD h 100 WITHVALUES"), cmd("HRANDFIELD h x"), cmd("HRANDFIELD h 1.5"),
		cmd("HRANDFIELD h 1 WITHVALUE"), cmd("HRANDFIELD h 1 WITHVALUES x"), cmd("HRANDFIELD h 1 withvalues extra"),
		cmd("HRANDFIELD h -9223372036854775808"), cmd("HRANDFIELD h 9223372036854775807"),
		cmd("HRANDFIELD h 4611686018427387904 WITHVALUES"), cmd("HRANDFIELD h -4611686018427387904 WITHVALUES"),
		cmd("HRANDFIELD h 4611686018427387903 WITHVALUES"), cmd("HRANDFIELD nokey -9223372036854775808"),
		cmd("HSET one f v"), cmd("HRANDFIELD one"), cmd("HRANDFIELD one 1"), cmd("HRANDFIELD one -3"),
		cmd("HRANDFIELD one -3 WITHVALUES"), cmd("HRANDFIELD one 2 WITHVALUES"),

		// WRONGTYPE, and hash commands against strings.
		cmd("SET s v"), cmd("HSET s f v"), cmd("HMSET s f v"), cmd("HSETNX s f v"), cmd("HGET s f"),
		cmd("HMGET s f"), cmd("HDEL s f"), cmd("HLEN s"), cmd("HSTRLEN s f"), cmd("HEXISTS s f"),
		cmd("HKEYS s"), cmd("HVALS s"), cmd("HGETALL s"), cmd("HINCRBY s f 1"), cmd("HINCRBY s f x"),
		cmd("HINCRBYFLOAT s f 1"), cmd("HINCRBYFLOAT s f x"), cmd("HRANDFIELD s"), cmd("HRANDFIELD s 1"),
		cmd("HRANDFIELD s 1 FOO"), cmd("HSCAN s 0"), cmd("HSCAN s x"), cmd("HSCAN s 0 FOO"), cmd("GET s"),
		cmd("GET h"), cmd("TYPE h"), cmd("TYPE s"),
	}
}

// TestHash compares every hand-written hash case with redis-server, under
// RESP2 and RESP3.
func TestHash(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll(hashCases())
	})
}

// TestHashConversion fills hashes across the 512-entry limit one field at
// a time and by batches (Redis 7.0's default limit is 512 entries), checking the encoding at every step and the
// contents as sets once they are hashtables.
func TestHashConversion(t *testing.T) {
	p := newPair(t)
	for i := range 520 {
		f := "f" + strconv.Itoa(i)
		p.check("HSET", "a", f, strconv.Itoa(i))
		p.check("OBJECT", "ENCODING", "a")
		p.check("HLEN", "a")
	}
	p.checkUnordered(true, "HGETALL", "a")
	p.checkUnordered(false, "HKEYS", "a")
	p.checkUnordered(false, "HVALS", "a")
	p.checkUnordered(false, "HRANDFIELD", "a", "1000")
	p.checkUnordered(false, "HRANDFIELD", "a", "1000", "WITHVALUES") // pairs kept together under RESP3
	for i := range 520 {
		p.check("HDEL", "a", "f"+strconv.Itoa(i))
		p.check("OBJECT", "ENCODING", "a") // stays hashtable until the key goes
	}
	p.check("EXISTS", "a")

	// One command adding 513 fields, and one adding exactly 512.
	args := []string{"HSET", "b"}
	for i := range 513 {
		args = append(args, "f"+strconv.Itoa(i), "v")
	}
	p.check(args...)
	p.check("OBJECT", "ENCODING", "b")
	p.check(args[:len(args)-2]...)
	p.check("HSET", "c", "x", "y")
	p.check(append([]string{"HSET", "c"}, args[2:len(args)-4]...)...)
	p.check("OBJECT", "ENCODING", "c")
	p.check("HGETALL", "c")
	p.check("HSETNX", "c", "new", "v")
	p.check("OBJECT", "ENCODING", "c")

	// COPY and RENAME keep the encoding.
	p.check("COPY", "b", "b2")
	p.check("OBJECT", "ENCODING", "b2")
	p.check("HSET", "small", "f", strings.Repeat("v", 65))
	p.check("HDEL", "small", "f")
	p.check("HSET", "small", "g", "1")
	p.check("COPY", "small", "small2")
	p.check("OBJECT", "ENCODING", "small2")
	p.check("RENAME", "small2", "small3")
	p.check("OBJECT", "ENCODING", "small3")
}

// TestHashScanGuarantee checks HSCAN's guarantee on a hashtable on both
// servers: every field present throughout is returned, while fields are
// added and deleted between calls.
func TestHashScanGuarantee(t *testing.T) {
	p := newPair(t)
	r := rand.New(rand.NewPCG(seed(t), 2))
	for _, c := range []*rawConn{p.oracle, p.us} {
		for i := range 400 {
			c.do("HSET", "big", "stable:"+strconv.Itoa(i), "v"+strconv.Itoa(i))
			c.do("HSET", "big", "doomed:"+strconv.Itoa(i), "v")
		}
	}
	p.check("OBJECT", "ENCODING", "big")
	count := strconv.Itoa(1 + r.IntN(20))
	for _, c := range []*rawConn{p.oracle, p.us} {
		added, deleted := 0, 0
		seen := scanAll(t, c, []string{"HSCAN", "big", "0", "COUNT", count}, 2, 2, func(call int) {
			if call >= 60 {
				return // stop growing, so the scan can finish
			}
			for range 30 {
				c.do("HSET", "big", "new:"+strconv.Itoa(added), "v")
				added++
			}
			if deleted < 400 {
				c.do("HDEL", "big", "doomed:"+strconv.Itoa(deleted))
				deleted++
			}
		})
		for i := range 400 {
			if seen["stable:"+strconv.Itoa(i)] == 0 {
				t.Errorf("%s: HSCAN COUNT %s missed stable:%d", c.name, count, i)
			}
		}
	}
	// Unchanged: a full HSCAN with MATCH returns the same fields (with their
	// values) on both.
	want := scanAll(t, p.oracle, []string{"HSCAN", "big", "0", "MATCH", "stable:2*"}, 2, 1, nil)
	got := scanAll(t, p.us, []string{"HSCAN", "big", "0", "MATCH", "stable:2*"}, 2, 1, nil)
	if !sameKeys(want, got) {
		t.Errorf("full HSCAN MATCH differs: redis-server %d elements, redoubt %d", len(want), len(got))
	}
	p.check("HLEN", "big")
}

// TestHashRandField checks HRANDFIELD's properties on listpack and
// hashtable hashes of several sizes, for every branch of Redis's
// algorithm, under RESP2 and RESP3.
func TestHashRandField(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		for _, size := range []int{1, 5, 100, 512, 513, 1500} {
			key := "h" + strconv.Itoa(size)
			hash := map[string]string{}
			args := []string{"HSET", key}
			for i := range size {
				f, v := "f"+strconv.Itoa(i), "v"+strconv.Itoa(i)
				hash[f] = v
				args = append(args, f, v)
			}
			p.check(args...)
			p.check("OBJECT", "ENCODING", key)
			for _, count := range []int{1, 2, size / 4, size / 3, size/2 + 1, size - 1, size, size + 1, -1, -2, -size, -3 * size} {
				for _, wv := range []bool{false, true} {
					a := []string{"HRANDFIELD", key, strconv.Itoa(count)}
					if wv {
						a = append(a, "WITHVALUES")
					}
					for range 3 {
						checkRandFieldReply(t, hash, a, decodeReply(t, p.us.do(a...)))
					}
				}
			}
			// Without a count: one field, as a bulk string.
			for range 5 {
				v := decodeReply(t, p.us.do("HRANDFIELD", key))
				if _, ok := hash[string(v.Str)]; v.Type != resp.TypeBulk || !ok {
					t.Errorf("HRANDFIELD %s: %q", key, v.Str)
				}
			}
			// A listpack returns a unique sample in listpack order.
			if size <= 512 && size > 3 {
				v := decodeReply(t, p.us.do("HRANDFIELD", key, strconv.Itoa(size/2)))
				last := -1
				for _, e := range v.Elems {
					i, _ := strconv.Atoi(strings.TrimPrefix(string(e.Str), "f"))
					if i <= last {
						t.Errorf("HRANDFIELD %s %d: not in listpack order at %q", key, size/2, e.Str)
						break
					}
					last = i
				}
			}
		}
		// Every field turns up: the draw is not stuck on a few.
		seen := map[string]bool{}
		for range 50 {
			for _, e := range decodeReply(t, p.us.do("HRANDFIELD", "h513", "-20")).Elems {
				seen[string(e.Str)] = true
			}
		}
		if len(seen) < 120 {
			t.Errorf("1000 draws from 129 fields saw only %d of them", len(seen))
		}
	})
}

// TestHashRandom sends a seeded random sequence of hash commands (with
// some string commands on the same keys) to both servers, under RESP2 and
// RESP3.
func TestHashRandom(t *testing.T) {
	randomSequence(t, 5000, 800, func(p *pair, s uint64, proto int) func() {
		g := &mixGen{r: rand.New(rand.NewPCG(s, 0x4a54+uint64(proto)))}
		return func() { g.step(p, false) }
	}, func(p *pair) {
		for i := range 6 {
			k := "k" + strconv.Itoa(i)
			p.check("OBJECT", "ENCODING", k)
			p.checkHash(k, true, "HGETALL", k)
		}
	})
}
