package compat

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// stringCases are hand-written cases for every string command, option and
// error, run in order on an empty database.
func stringCases() [][]string {
	long := strings.Repeat("x", 45)
	return [][]string{
		// GET, SET and its options.
		cmd("GET k"), cmd("SET k v"), cmd("GET k"), cmd("SET k v2 XX"), cmd("GET k"),
		cmd("SET k v3 NX"), cmd("SET nk v NX"), cmd("SET nk2 v XX"), cmd("GET nk2"),
		cmd("SET k v NX XX"), cmd("SET k v XX NX"), cmd("SET k v NX NX"), cmd("SET k v xx xx"),
		cmd("SET k v GET"), cmd("SET k v4 GET XX"), cmd("SET k v5 NX GET"), cmd("GET k"),
		cmd("SET absent v NX GET"), cmd("GET absent"), cmd("SET absent2 v XX GET"), cmd("EXISTS absent2"),
		cmd("SET k v EX 100000 EX 200000"), cmd("SET k v PX 100000000 PX 1"), cmd("SET k v EX 10 PX 10"),
		cmd("SET k v PX 10 EX 10"), cmd("SET k v EX 10 EXAT 10"), cmd("SET k v PXAT 10 EXAT 10"),
		cmd("SET k v KEEPTTL EX 10"), cmd("SET k v EX 10 KEEPTTL"), cmd("SET k v KEEPTTL KEEPTTL"),
		cmd("SET k v EX"), cmd("SET k v PX"), cmd("SET k v EX 0"), cmd("SET k v EX -1"), cmd("SET k v PX 0"),
		cmd("SET k v EX abc"), cmd("SET k v EX 1.5"), cmd("SET k v EX 9223372036854775807"),
		cmd("SET k v PX 9223372036854775807"), cmd("SET k v EXAT 9223372036854775807"),
		cmd("SET k v PXAT 9223372036854775807"), cmd("SET k v EX 9223372036854775"),
		cmd("SET k v EX 9223372036854776"), cmd("SET k v EXAT 9223372036854775"),
		cmd("SET k v EXAT 9223372036854776"), cmd("SET k v EX 99999999999999999999"),
		cmd("SET k v FOO"), cmd("SET k v EX abc FOO"), cmd("SET k v FOO EX abc"), cmd("SET k v PERSIST"),
		cmd("SET k v get ex 100000"), cmd("SET k v Ex 100000 nX"), cmd("SET k v pXaT 99999999999999 xx"),
		{"SET", "k", "v", "NX\x00junk"}, {"SET", "k", "v", "XX\x00"}, {"SET", "k", "v", "\u212aEEPTTL"},
		{"SET", "k", "v", "EX\x00x", "100000"}, {"SET", "k", "v", "N"}, {"SET", "k", "v", "NXX"},
		// An absolute time in the past: the key is gone.
		cmd("SET past v EXAT 1"), cmd("GET past"), cmd("EXISTS past"), cmd("SET past v PXAT 1 GET"),
		cmd("SET past v PXAT 1000"), cmd("SETNX past w"), cmd("GET past"),
		// SETNX, SETEX, PSETEX.
		cmd("SETNX sn 1"), cmd("SETNX sn 2"), cmd("GET sn"),
		cmd("SETEX se 100000 v"), cmd("GET se"), cmd("SETEX se 0 v"), cmd("SETEX se -5 v"),
		cmd("SETEX se abc v"), cmd("SETEX se 9223372036854775807 v"), cmd("PSETEX pe 100000000 v"),
		cmd("GET pe"), cmd("PSETEX pe 0 v"), cmd("PSETEX pe x v"), cmd("PSETEX pe 9223372036854775807 v"),
		// GETSET, GETDEL, GETEX.
		cmd("GETSET gs a"), cmd("GETSET gs b"), cmd("GET gs"), cmd("GETDEL gs"), cmd("GETDEL gs"),
		cmd("EXISTS gs"), cmd("SET ge v"), cmd("GETEX ge"), cmd("GETEX ge EX 100000"),
		cmd("GETEX ge PX 100000000"), cmd("GETEX ge EXAT 99999999999"), cmd("GETEX ge PXAT 99999999999999"),
		cmd("GETEX ge PERSIST"), cmd("GETEX ge PERSIST PERSIST"), cmd("GETEX ge EX 10 PERSIST"),
		cmd("GETEX ge PERSIST EX 10"), cmd("GETEX ge EX 10 PX 10"), cmd("GETEX ge EX 10 EX 100000"),
		cmd("GETEX ge KEEPTTL"), cmd("GETEX ge NX"), cmd("GETEX ge GET"), cmd("GETEX ge EX"),
		cmd("GETEX ge EX 0"), cmd("GETEX ge EX abc"), cmd("GETEX ge PX -1"),
		cmd("GETEX ge EX 9223372036854775807"), cmd("GETEX nokey EX abc"), cmd("GETEX nokey EX 0"),
		cmd("GETEX nokey FOO"), {"GETEX", "ge", "persist\x00x"}, cmd("GETEX ge EXAT 1"), cmd("EXISTS ge"),
		cmd("SET ge v"), cmd("GETEX ge PXAT 1"), cmd("GET ge"),
		// MGET, MSET, MSETNX.
		cmd("MSET m1 a m2 b m3 c"), cmd("MGET m1 m2 m3 nokey m1"), cmd("MSET m1"), cmd("MSET m1 a m2"),
		cmd("MSET m1 x m1 y"), cmd("GET m1"), cmd("MSETNX m1 a n1 b"), cmd("EXISTS n1"),
		cmd("MSETNX n1 a n2 b"), cmd("MGET n1 n2"), cmd("MSETNX n3 a n3 b"), cmd("GET n3"),
		cmd("MSETNX n4 a n5"), cmd("MSETNX n4"),
		// INCR family.
		cmd("INCR i"), cmd("INCR i"), cmd("DECR i"), cmd("DECR i"), cmd("DECR i"), cmd("INCRBY i 10"),
		cmd("INCRBY i -20"), cmd("DECRBY i 5"), cmd("DECRBY i -5"), cmd("INCRBY i abc"), cmd("INCRBY i 1.5"),
		cmd("INCRBY i 99999999999999999999"), cmd("DECRBY i -9223372036854775808"),
		cmd("DECRBY i 9223372036854775807"), cmd("SET i 9223372036854775807"), cmd("INCR i"),
		cmd("INCRBY i 0"), cmd("INCRBY i -9223372036854775808"), cmd("INCRBY i 9223372036854775807"),
		cmd("SET i -9223372036854775808"), cmd("DECR i"), cmd("INCR i"), cmd("DECRBY i 1"),
		cmd("SET i -9223372036854775807"), cmd("DECRBY i 1"), cmd("DECR i"),
		cmd("SET i abc"), cmd("INCR i"), cmd("SET i 1.0"), cmd("INCR i"), cmd("SET i +1"), cmd("INCR i"),
		cmd("SET i 01"), cmd("INCR i"), cmd("SET i -0"), cmd("INCR i"), cmd("SET i"), {"SET", "i", " 1"},
		cmd("INCR i"), {"SET", "i", "1\x00"}, cmd("INCR i"), {"SET", "i", ""}, cmd("INCR i"),
		cmd("SET i 99999999999999999999"), cmd("INCR i"), cmd("SET i 00000000000000000001"), cmd("DECR i"),
		{"INCRBY", "i2", ""}, {"INCRBY", "i2", "1 "}, cmd("INCRBY i2 -0"), cmd("INCRBY i2 +1"),
		// INCRBYFLOAT, including long double arithmetic and formatting.
		cmd("INCRBYFLOAT f 0.1"), cmd("INCRBYFLOAT f 0.2"), cmd("INCRBYFLOAT f -0.3"), cmd("GET f"),
		cmd("SET f 10.50"), cmd("INCRBYFLOAT f 0.1"), cmd("INCRBYFLOAT f -5.0e3"), cmd("INCRBYFLOAT f 2.0e2"),
		cmd("INCRBYFLOAT f 1e-5"), cmd("INCRBYFLOAT f 1e-30"), cmd("INCRBYFLOAT f 3.0e-17"),
		cmd("SET f 5.0e3"), cmd("INCRBYFLOAT f 0"), cmd("INCRBYFLOAT f 1e308"), cmd("INCRBYFLOAT f 1e308"),
		cmd("INCRBYFLOAT f 1e400"), cmd("INCRBYFLOAT f -1e400"), cmd("INCRBYFLOAT f 1e4932"),
		cmd("INCRBYFLOAT f 1e4933"), cmd("INCRBYFLOAT f 1e-4940"), cmd("INCRBYFLOAT f 1e-5000"),
		cmd("INCRBYFLOAT f 0e-5000"), cmd("INCRBYFLOAT f 1.18973149535723176502e+4932"),
		cmd("SET f 1.18973149535723176502e+4932"), cmd("INCRBYFLOAT f 1e4931"), cmd("INCRBYFLOAT f -1e4932"),
		cmd("SET f 0"), cmd("INCRBYFLOAT f inf"), cmd("INCRBYFLOAT f -inf"), cmd("INCRBYFLOAT f +Infinity"),
		cmd("INCRBYFLOAT f nan"), cmd("INCRBYFLOAT f NaN"), cmd("INCRBYFLOAT f abc"), cmd("INCRBYFLOAT f 0x"),
		cmd("INCRBYFLOAT f 0x10"), cmd("INCRBYFLOAT f 0X1P-2"), cmd("INCRBYFLOAT f 0x.8p1"),
		cmd("INCRBYFLOAT f 0x1p"), cmd("INCRBYFLOAT f 0b101"), cmd("INCRBYFLOAT f 1e"), cmd("INCRBYFLOAT f 1e+"),
		cmd("INCRBYFLOAT f 1_0"), cmd("INCRBYFLOAT f +.5"), cmd("INCRBYFLOAT f -.5e-1"), cmd("INCRBYFLOAT f 5."),
		cmd("INCRBYFLOAT f ."), cmd("INCRBYFLOAT f 00012"), cmd("INCRBYFLOAT f infin"),
		{"INCRBYFLOAT", "f", ""}, {"INCRBYFLOAT", "f", " 1"}, {"INCRBYFLOAT", "f", "1 "},
		{"INCRBYFLOAT", "f", "1\x00"}, {"INCRBYFLOAT", "f", "\x00"},
		{"INCRBYFLOAT", "f", strings.Repeat("0", 5118) + "1"}, {"INCRBYFLOAT", "f", strings.Repeat("0", 5119) + "1"},
		{"INCRBYFLOAT", "f", "0." + strings.Repeat("0", 5000) + "1"},
		cmd("SET f inf"), cmd("INCRBYFLOAT f 1"), cmd("SET f abc"), cmd("INCRBYFLOAT f 1"),
		cmd("INCRBYFLOAT f abc"), cmd("SET f -1"), cmd("INCRBYFLOAT f 1"), cmd("INCRBYFLOAT f -1e-20"),
		cmd("SET f 3"), cmd("INCRBYFLOAT f 1.1"), cmd("INCRBYFLOAT f 123456789.123456789"),
		cmd("INCRBYFLOAT f 0.000000000000000001"), cmd("INCRBYFLOAT f 1e17"), cmd("INCRBYFLOAT f 1e20"),
		cmd("INCRBYFLOAT f 5e-324"), cmd("INCRBYFLOAT f 1.7976931348623157e308"), cmd("GET f"),
		// APPEND, STRLEN.
		cmd("APPEND a hello"), cmd("APPEND a _world"), cmd("GET a"), cmd("STRLEN a"), cmd("STRLEN nokey"),
		cmd("APPEND a2 123"), cmd("INCR a2"), {"APPEND", "a", ""}, {"APPEND", "a3", ""}, cmd("EXISTS a3"),
		cmd("STRLEN a3"), {"APPEND", "a", "\x00\xff\r\n"}, cmd("GET a"), cmd("STRLEN a"),
		cmd("SET a4 12"), cmd("APPEND a4 3"), cmd("INCR a4"), cmd("GET a4"),
		// SETRANGE.
		cmd("SETRANGE r 0 abc"), cmd("SETRANGE r 5 xyz"), cmd("GET r"), cmd("SETRANGE r 1 B"), cmd("GET r"),
		cmd("SETRANGE r 100 z"), cmd("STRLEN r"), {"SETRANGE", "r", "0", ""}, {"SETRANGE", "r2", "5", ""},
		cmd("EXISTS r2"), cmd("SETRANGE r -1 x"), cmd("SETRANGE r abc x"), cmd("SETRANGE r 1.5 x"),
		cmd("SETRANGE r 536870912 x"), cmd("SETRANGE r 536870911 xx"), {"SETRANGE", "r", "536870912", ""},
		cmd("SETRANGE r 9223372036854775807 x"), cmd("SETRANGE r 99999999999999999999 x"),
		{"SETRANGE", "r3", "536870912", ""}, cmd("SETRANGE r3 536870912 x"), cmd("EXISTS r3"),
		cmd("SET r4 1234"), cmd("SETRANGE r4 1 x"), cmd("GET r4"), cmd("SETRANGE r4 2 999999999999"),
		cmd("INCR r4"),
		// GETRANGE, SUBSTR.
		cmd("SET g Hello,World"), cmd("GETRANGE g 0 4"), cmd("GETRANGE g -5 -1"), cmd("GETRANGE g 0 -1"),
		cmd("GETRANGE g 0 -100"), cmd("GETRANGE g -100 -200"), cmd("GETRANGE g -1 -100"), cmd("GETRANGE g -1 -1"),
		cmd("GETRANGE g 5 3"), cmd("GETRANGE g 100 200"), cmd("GETRANGE g -100 100"), cmd("GETRANGE g 10 10"),
		cmd("GETRANGE g 11 11"), cmd("GETRANGE g 0 9223372036854775807"), cmd("GETRANGE g -9223372036854775808 -1"),
		cmd("GETRANGE g -9223372036854775808 -9223372036854775808"), cmd("GETRANGE g 3 -9223372036854775808"),
		cmd("GETRANGE g a 1"), cmd("GETRANGE g 1 a"), cmd("GETRANGE nokey 0 -1"), cmd("GETRANGE nokey a b"),
		cmd("SET g2 12345"), cmd("GETRANGE g2 1 2"), {"SET", "g3", ""}, cmd("GETRANGE g3 0 -1"),
		cmd("GETRANGE g3 0 0"), cmd("GETRANGE g3 -1 0"), cmd("SUBSTR g 1 3"), cmd("SUBSTR g -3 -1"),
		cmd("SUBSTR nokey 0 1"),
		// LCS.
		cmd("MSET l1 ohmytext l2 mynewtext"), cmd("LCS l1 l2"), cmd("LCS l1 l2 LEN"), cmd("LCS l1 l2 IDX"),
		cmd("LCS l1 l2 IDX MINMATCHLEN 4"), cmd("LCS l1 l2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
		cmd("LCS l1 l2 IDX WITHMATCHLEN"), cmd("LCS l1 l2 idx minmatchlen -5 withmatchlen"),
		cmd("LCS l1 l2 IDX LEN"), cmd("LCS l1 l2 LEN IDX"), cmd("LCS l1 l2 LEN LEN"), cmd("LCS l1 l2 FOO"),
		cmd("LCS l1 l2 MINMATCHLEN"), cmd("LCS l1 l2 MINMATCHLEN x"), cmd("LCS l1 l2 MINMATCHLEN 1 LEN"),
		cmd("LCS l1 l2 WITHMATCHLEN"), {"LCS", "l1", "l2", "len\x00x"}, cmd("LCS l1 nokey"),
		cmd("LCS nokey nokey2 IDX"), cmd("LCS nokey nokey2 LEN"), cmd("LCS l1 l1 IDX WITHMATCHLEN"),
		cmd("MSET l3 ABCBDAB l4 BDCABA"), cmd("LCS l3 l4"), cmd("LCS l3 l4 IDX WITHMATCHLEN"),
		cmd("LCS l4 l3 IDX"), cmd("MSET l5 aaaa l6 aa"), cmd("LCS l5 l6 IDX WITHMATCHLEN"),
		{"MSET", "l7", long, "l8", "axbxcx" + long[:10]}, cmd("LCS l7 l8 IDX WITHMATCHLEN MINMATCHLEN 2"),
		// Encodings made by each command.
		cmd("OBJECT ENCODING k"), cmd("OBJECT ENCODING i"), cmd("OBJECT ENCODING f"), cmd("OBJECT ENCODING a"),
		cmd("OBJECT ENCODING a2"), cmd("OBJECT ENCODING a4"), cmd("OBJECT ENCODING r"), cmd("OBJECT ENCODING r4"),
		cmd("OBJECT ENCODING g2"), cmd("OBJECT ENCODING g3"), cmd("OBJECT ENCODING m1"), cmd("OBJECT ENCODING sn"),
		{"SET", "e1", long}, cmd("OBJECT ENCODING e1"), {"SET", "e2", long[:44]}, cmd("OBJECT ENCODING e2"),
		{"SET", "e3", ""}, {"SETRANGE", "e3", "3", ""}, cmd("OBJECT ENCODING e3"), {"APPEND", "e3", ""},
		cmd("OBJECT ENCODING e3"), cmd("SET e4 12345678901234567890"), cmd("OBJECT ENCODING e4"),
		cmd("SET e5 -9223372036854775808"), cmd("OBJECT ENCODING e5"), cmd("INCRBYFLOAT e6 1"),
		cmd("OBJECT ENCODING e6"), cmd("INCRBYFLOAT e7 1e50"), cmd("OBJECT ENCODING e7"),
		cmd("GETSET e8 5"), cmd("OBJECT ENCODING e8"), cmd("MSETNX e9 7"), cmd("OBJECT ENCODING e9"),
		cmd("SETEX e10 100000 8"), cmd("OBJECT ENCODING e10"),
		// Time to live: who keeps it and who drops it (large TTLs only).
		cmd("SET t v EX 100000"), cmd("TTL t"), cmd("SET t v KEEPTTL"), cmd("TTL t"), cmd("SET t 1 XX"),
		cmd("TTL t"), cmd("SET t 1 EX 100000"), cmd("INCR t"), cmd("TTL t"), cmd("INCRBYFLOAT t 1.5"),
		cmd("TTL t"), cmd("APPEND t x"), cmd("TTL t"), cmd("SETRANGE t 0 y"), cmd("TTL t"),
		cmd("GETEX t PERSIST"), cmd("TTL t"), cmd("GETEX t EX 200000"), cmd("TTL t"), cmd("GETSET t z"),
		cmd("TTL t"), cmd("SETEX t 100000 v"), cmd("MSET t w"), cmd("TTL t"), cmd("PSETEX t 100000000 v"),
		cmd("TTL t"), cmd("SET t v GET KEEPTTL"), cmd("TTL t"),
	}
}

// wrongTypeCases run every string command against "h", a hash.
func wrongTypeCases() [][]string {
	return [][]string{
		cmd("GET h"), cmd("GETDEL h"), cmd("GETEX h"), cmd("GETEX h EX 10"), cmd("GETEX h EX abc"),
		cmd("GETEX h FOO"), cmd("GETSET h v"), cmd("GETRANGE h 0 -1"), cmd("GETRANGE h a 1"),
		cmd("SUBSTR h 0 1"), cmd("STRLEN h"), cmd("APPEND h x"), cmd("SETRANGE h 0 x"),
		{"SETRANGE", "h", "0", ""}, cmd("SETRANGE h -1 x"), cmd("SETRANGE h 536870912 x"),
		cmd("INCR h"), cmd("DECR h"), cmd("INCRBY h 1"), cmd("INCRBY h x"), cmd("DECRBY h 1"),
		cmd("DECRBY h -9223372036854775808"), cmd("INCRBYFLOAT h 1"), cmd("INCRBYFLOAT h x"),
		cmd("MGET h x h"), cmd("LCS h x"), cmd("LCS x h"), cmd("LCS h x FOO"), cmd("SETNX h v"),
		cmd("SET h v NX"), cmd("SET h v GET"), cmd("SET h v EX abc GET"), cmd("SET h v FOO GET"),
		cmd("SET h v NX GET"), cmd("SET h v XX GET"), cmd("MSETNX h v"), cmd("TYPE h"), cmd("SET h v XX"),
		cmd("GET h"), cmd("HSET h f v"), cmd("MSET h v"), cmd("GET h"),
	}
}

// TestStrings compares every hand-written string case with redis-server,
// under RESP2 and RESP3.
func TestStrings(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll(stringCases())
	})
}

// TestStringsWrongType runs the string commands against a hash.
func TestStringsWrongType(t *testing.T) {
	p := newPair(t)
	p.check("HSET", "h", "f", "v")
	p.checkAll(wrongTypeCases())
}

// TestStringsLCSLimit checks that LCS refuses a work table larger than
// proto-max-bulk-len (4 bytes per cell) the way Redis does.
func TestStringsLCSLimit(t *testing.T) {
	p := newPair(t)
	p.check("SET", "a", strings.Repeat("ab", 1500))
	p.check("SET", "b", strings.Repeat("ba", 1500))
	p.check("LCS", "a", "b", "LEN") // a 36 MB table: allowed
	p.check("SET", "a", strings.Repeat("a", 11585))
	p.check("SET", "b", strings.Repeat("a", 11585))
	for _, opt := range []string{"LEN", "IDX", "WITHMATCHLEN"} { // 11586² × 4 > 512 MiB
		p.check("LCS", "a", "b", opt)
	}
}

// TestStringsRandom sends a seeded random sequence of string commands over
// a small key space to both servers, under RESP2 and RESP3.
func TestStringsRandom(t *testing.T) {
	randomSequence(t, 3000, 500, func(p *pair, s uint64, proto int) func() {
		g := newStringGen(s)
		p.check("HSET", "h", "f", "v")
		return func() { p.check(g.next()...) }
	}, nil)
}

// stringGen makes random string commands over keys k0…k5 and "h", a hash.
type stringGen struct {
	r *rand.Rand
}

func newStringGen(seed uint64) *stringGen {
	return &stringGen{r: rand.New(rand.NewPCG(seed, 0x5712))}
}

func (g *stringGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *stringGen) key() string {
	if g.r.IntN(12) == 0 {
		return "h"
	}
	return "k" + strconv.Itoa(g.r.IntN(6))
}

// value is a random string value: integers at the edges, floats, empty,
// binary, long, and strings that almost parse.
func (g *stringGen) value() string {
	switch g.r.IntN(6) {
	case 0:
		return strconv.FormatInt(g.r.Int64N(2000)-1000, 10)
	case 1:
		return strconv.FormatFloat(g.r.NormFloat64()*1000, 'f', g.r.IntN(6), 64)
	case 2:
		b := make([]byte, g.r.IntN(8))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	case 3:
		return strings.Repeat(g.pick("a", "ab", "xyz"), g.r.IntN(30))
	}
	return g.pick("", "0", "-0", "1", "-1", "007", "+5", " 1", "1 ", "abc", "9223372036854775807",
		"-9223372036854775808", "9223372036854775806", "-9223372036854775807", "9223372036854775808",
		"99999999999999999999", "3.14", "-0.5", "1e10", "1e-10", "0x10", "inf", "-inf", "nan", "1e308",
		"1e400", "0.1", "10.50", "1.5e-3", "5e-324", "\x00", "1\x00", "helloworld", "hello")
}

func (g *stringGen) index() string {
	if g.r.IntN(10) == 0 {
		return g.pick("9223372036854775807", "-9223372036854775808", "x", "1.5", "99999999999999999999")
	}
	return strconv.Itoa(g.r.IntN(60) - 30)
}

// expiry is a SET/GETEX expiry option with a time far from now (so no
// reply depends on timing), a past absolute time, or a bad value.
func (g *stringGen) expiry() []string {
	switch g.r.IntN(8) {
	case 0:
		return []string{"EX", "100000"}
	case 1:
		return []string{"PX", "100000000"}
	case 2:
		return []string{"EXAT", g.pick("1", "4102444800")}
	case 3:
		return []string{"PXAT", g.pick("1", "4102444800000")}
	case 4:
		return []string{g.pick("EX", "PX", "EXAT", "PXAT"), g.pick("0", "-1", "abc", "9223372036854775807")}
	}
	return nil
}

func (g *stringGen) next() []string {
	k := g.key()
	switch g.r.IntN(26) {
	case 0, 1:
		return []string{"GET", k}
	case 2, 3:
		args := []string{"SET", k, g.value()}
		for i := g.r.IntN(4); i > 0; i-- {
			if g.r.IntN(2) == 0 {
				args = append(args, g.expiry()...)
			} else {
				args = append(args, g.pick("NX", "XX", "GET", "KEEPTTL", "nx", "get", "FOO"))
			}
		}
		return args
	case 4:
		return []string{"SETNX", k, g.value()}
	case 5:
		return []string{g.pick("SETEX", "PSETEX"), k, g.pick("100000000", "0", "-5", "x"), g.value()}
	case 6:
		return []string{"GETSET", k, g.value()}
	case 7:
		return []string{"GETDEL", k}
	case 8:
		args := []string{"GETEX", k}
		if g.r.IntN(3) == 0 {
			args = append(args, "PERSIST")
		}
		return append(args, g.expiry()...)
	case 9:
		return []string{"MGET", k, g.key(), g.key()}
	case 10:
		args := []string{g.pick("MSET", "MSETNX"), k, g.value()}
		if g.r.IntN(2) == 0 {
			args = append(args, g.key(), g.value())
		}
		if g.r.IntN(10) == 0 {
			args = append(args, g.key()) // odd: arity error
		}
		return args
	case 11, 12:
		return []string{g.pick("INCR", "DECR"), k}
	case 13:
		return []string{g.pick("INCRBY", "DECRBY"), k, g.pick(g.index(), g.value(), "9223372036854775807",
			"-9223372036854775808", "1000000000000000000")}
	case 14, 15:
		return []string{"INCRBYFLOAT", k, g.pick(g.value(), "0.1", "-0.2", "1.5", "1e-3", "3.0e2", "1e17")}
	case 16:
		return []string{"APPEND", k, g.value()}
	case 17:
		return []string{"SETRANGE", k, g.pick(g.index(), "536870912", "0", "3"), g.value()}
	case 18, 19:
		return []string{g.pick("GETRANGE", "SUBSTR"), k, g.index(), g.index()}
	case 20:
		return []string{"STRLEN", k}
	case 21:
		args := []string{"LCS", k, g.key()}
		for i := g.r.IntN(4); i > 0; i-- {
			switch g.r.IntN(5) {
			case 0:
				args = append(args, "MINMATCHLEN", g.pick("0", "1", "2", "3", "-1", "x"))
			default:
				args = append(args, g.pick("IDX", "IDX", "LEN", "WITHMATCHLEN", "FOO"))
			}
		}
		return args
	case 22:
		return []string{g.pick("DEL", "EXISTS"), k}
	case 23:
		return []string{"OBJECT", "ENCODING", k}
	}
	return []string{"GET", k}
}
