package compat

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// listCases are hand-written cases for every list command, option and
// error, run in order on an empty database. The blocking commands appear
// only where they do not block: with data, on errors and bad timeouts.
func listCases() [][]string {
	long := strings.Repeat("x", 100)
	return [][]string{
		// LPUSH, RPUSH, LPUSHX, RPUSHX, LLEN, LRANGE.
		cmd("LPUSH l a"), cmd("LPUSH l b c"), cmd("RPUSH l d e f"), cmd("LRANGE l 0 -1"), cmd("LLEN l"),
		cmd("LPUSHX l x y"), cmd("RPUSHX l z"), cmd("LPUSHX nokey a"), cmd("RPUSHX nokey a b"), cmd("EXISTS nokey"),
		cmd("LLEN nokey"), cmd("LRANGE l 0 -1"), {"RPUSH", "l", "", "bin\x00ary\r\n", long}, cmd("LRANGE l -3 -1"),
		cmd("LPUSH"), cmd("LPUSH l"), cmd("RPUSHX l"), cmd("LLEN"), cmd("LLEN l x"), cmd("TYPE l"),
		cmd("OBJECT ENCODING l"),

		// LRANGE bounds.
		cmd("LRANGE l 0 0"), cmd("LRANGE l 1 3"), cmd("LRANGE l -1 -1"), cmd("LRANGE l -100 2"),
		cmd("LRANGE l 2 100"), cmd("LRANGE l 5 2"), cmd("LRANGE l 100 200"), cmd("LRANGE l -100 -50"),
		cmd("LRANGE l -2 -3"), cmd("LRANGE l 0 -100"), cmd("LRANGE l -9223372036854775808 9223372036854775807"),
		cmd("LRANGE l 9223372036854775807 -9223372036854775808"), cmd("LRANGE l 0 9223372036854775808"),
		cmd("LRANGE l x 1"), cmd("LRANGE l 1 x"), cmd("LRANGE l 1.5 2"), {"LRANGE", "l", " 1", "2"},
		cmd("LRANGE l -0 1"), cmd("LRANGE l 01 2"), cmd("LRANGE l +1 2"), cmd("LRANGE nokey 0 -1"),
		cmd("LRANGE nokey x 1"), cmd("LRANGE l 0"),

		// LINDEX and LSET.
		cmd("LINDEX l 0"), cmd("LINDEX l -1"), cmd("LINDEX l 3"), cmd("LINDEX l -12"), cmd("LINDEX l 12"),
		cmd("LINDEX l -13"), cmd("LINDEX l 100"), cmd("LINDEX l -9223372036854775808"),
		cmd("LINDEX l 9223372036854775807"), cmd("LINDEX l x"), cmd("LINDEX nokey 0"), cmd("LINDEX nokey x"),
		cmd("LSET l 0 first"), cmd("LSET l -1 last"), cmd("LSET l 5 mid"), cmd("LSET l 12 x"), cmd("LSET l -13 x"),
		cmd("LSET l -9223372036854775808 x"), cmd("LSET l 9223372036854775807 x"), cmd("LSET l x v"),
		cmd("LSET nokey 0 v"), cmd("LSET nokey x v"), {"LSET", "l", "1", ""}, cmd("LRANGE l 0 -1"),

		// LINSERT.
		cmd("RPUSH ins a b c b"), cmd("LINSERT ins BEFORE b X"), cmd("LINSERT ins after b Y"),
		cmd("LINSERT ins AFTER c Z"), cmd("LINSERT ins before a W"), cmd("LINSERT ins BEFORE nopivot v"),
		cmd("LINSERT ins MIDDLE a v"), cmd("LINSERT nokey BEFORE a v"), cmd("LINSERT nokey MIDDLE a v"),
		cmd("EXISTS nokey"), {"LINSERT", "ins", "AFTER", "Z", ""}, {"LINSERT", "ins", "BEFORE", "", "E"},
		cmd("LRANGE ins 0 -1"), cmd("LINSERT ins BEFORE a"),

		// LREM.
		cmd("RPUSH rem a b a c a b a"), cmd("LREM rem 2 a"), cmd("LRANGE rem 0 -1"), cmd("LREM rem -1 a"),
		cmd("LRANGE rem 0 -1"), cmd("LREM rem 0 b"), cmd("LRANGE rem 0 -1"), cmd("LREM rem 5 nothere"),
		cmd("LREM rem x a"), cmd("LREM nokey 1 a"), cmd("LREM nokey x a"), cmd("LREM rem 0 a"), cmd("LREM rem 0 c"),
		cmd("EXISTS rem"), cmd("RPUSH rem a b a a"), cmd("LREM rem -9223372036854775808 a"), cmd("LRANGE rem 0 -1"),
		cmd("RPUSH rem a a"), cmd("LREM rem 9223372036854775807 a"), cmd("LRANGE rem 0 -1"), cmd("LREM rem -2 b"),
		cmd("EXISTS rem"),

		// LTRIM.
		cmd("RPUSH tr 0 1 2 3 4 5 6 7 8 9"), cmd("LTRIM tr 1 -2"), cmd("LRANGE tr 0 -1"), cmd("LTRIM tr -100 100"),
		cmd("LRANGE tr 0 -1"), cmd("LTRIM tr 2 4"), cmd("LRANGE tr 0 -1"), cmd("LTRIM tr x 1"), cmd("LTRIM tr 0 x"),
		cmd("LTRIM nokey 0 1"), cmd("LTRIM nokey x 1"), cmd("EXISTS nokey"), cmd("LTRIM tr 5 1"), cmd("EXISTS tr"),
		cmd("RPUSH tr a b c"), cmd("LTRIM tr 3 10"), cmd("EXISTS tr"), cmd("RPUSH tr a b c"),
		cmd("LTRIM tr -9223372036854775808 9223372036854775807"), cmd("LRANGE tr 0 -1"), cmd("LTRIM tr 0 -4"),
		cmd("EXISTS tr"),

		// LPOP and RPOP, with and without a count.
		cmd("RPUSH p a b c d e"), cmd("LPOP p"), cmd("RPOP p"), cmd("LPOP p 2"), cmd("RPOP p 0"), cmd("LPOP p 0"),
		cmd("RPUSH p x y z"), cmd("RPOP p 2"), cmd("RPOP p 100"), cmd("EXISTS p"), cmd("LPOP p"), cmd("RPOP p"),
		cmd("LPOP p 1"), cmd("RPOP p 5"), cmd("LPOP p 0"), cmd("RPOP nokey 0"), cmd("LPOP p x"), cmd("LPOP p -1"),
		cmd("RPOP p 1.5"), cmd("LPOP p 1 2"), cmd("RPOP p 1 2 3"), cmd("LPOP"), cmd("RPUSH p a b"),
		cmd("LPOP p 9223372036854775807"), cmd("RPUSH p a b"), cmd("RPOP p 9223372036854775808"),
		cmd("RPOP p -9223372036854775808"), cmd("LPOP p -0"), cmd("LRANGE p 0 -1"),

		// LPOS.
		cmd("RPUSH pos a b c 1 2 3 c c"), cmd("LPOS pos a"), cmd("LPOS pos c"), cmd("LPOS pos nothere"),
		cmd("LPOS pos c RANK 2"), cmd("LPOS pos c RANK -1"), cmd("LPOS pos c RANK -3"), cmd("LPOS pos c RANK 4"),
		cmd("LPOS pos c RANK -4"), cmd("LPOS pos c COUNT 0"), cmd("LPOS pos c COUNT 2"), cmd("LPOS pos c COUNT 10"),
		cmd("LPOS pos c RANK -1 COUNT 2"), cmd("LPOS pos c RANK 2 COUNT 0"), cmd("LPOS pos c RANK -2 COUNT 0"),
		cmd("LPOS pos c MAXLEN 3"), cmd("LPOS pos c MAXLEN 2"), cmd("LPOS pos c RANK -1 MAXLEN 1"),
		cmd("LPOS pos c RANK -1 MAXLEN 3 COUNT 0"), cmd("LPOS pos c COUNT 0 MAXLEN 7"), cmd("LPOS pos c MAXLEN 0"),
		cmd("LPOS pos nothere COUNT 5"), cmd("LPOS pos c rank 1 count 1 maxlen 0"),
		cmd("LPOS pos c RANK 1 RANK 2"), cmd("LPOS pos c COUNT 1 COUNT 3"), cmd("LPOS pos c RANK 0"),
		cmd("LPOS pos c RANK x"), cmd("LPOS pos c RANK 1.5"), cmd("LPOS pos c RANK 9223372036854775807"),
		cmd("LPOS pos c RANK -9223372036854775807"), cmd("LPOS pos c RANK -9223372036854775808"),
		cmd("LPOS pos c RANK -9223372036854775808 COUNT 2"), cmd("LPOS pos c RANK -9223372036854775808 COUNT 0"),
		cmd("LPOS pos c RANK 9223372036854775808"), cmd("LPOS pos c COUNT -1"), cmd("LPOS pos c COUNT x"),
		cmd("LPOS pos c COUNT 9223372036854775807"), cmd("LPOS pos c MAXLEN -1"), cmd("LPOS pos c MAXLEN x"),
		cmd("LPOS pos c MAXLEN 9223372036854775807"), cmd("LPOS pos c RANK"), cmd("LPOS pos c COUNT"),
		cmd("LPOS pos c MAXLEN"), cmd("LPOS pos c FOO 1"), cmd("LPOS pos c FOO"), cmd("LPOS nokey c"),
		cmd("LPOS nokey c COUNT 0"), cmd("LPOS nokey c RANK 0"), cmd("LPOS nokey c FOO"), cmd("LPOS pos"),
		cmd("LPOS pos c RANK 0 COUNT -1"), cmd("LPOS pos c COUNT -1 RANK 0"),

		// LMOVE and RPOPLPUSH, rotations included.
		cmd("RPUSH src a b c"), cmd("LMOVE src dst LEFT RIGHT"), cmd("LMOVE src dst RIGHT LEFT"),
		cmd("LMOVE src dst left left"), cmd("LRANGE dst 0 -1"), cmd("EXISTS src"), cmd("LMOVE src dst LEFT RIGHT"),
		cmd("RPOPLPUSH dst dst"), cmd("LRANGE dst 0 -1"), cmd("LMOVE dst dst LEFT RIGHT"), cmd("LRANGE dst 0 -1"),
		cmd("LMOVE dst dst RIGHT RIGHT"), cmd("LMOVE dst dst LEFT LEFT"), cmd("LRANGE dst 0 -1"),
		cmd("RPOPLPUSH dst other"), cmd("RPOPLPUSH nokey other"), cmd("LMOVE nokey other LEFT LEFT"),
		cmd("LMOVE dst other UP LEFT"), cmd("LMOVE dst other LEFT DOWN"), cmd("LMOVE nokey other UP LEFT"),
		cmd("RPUSH one x"), cmd("RPOPLPUSH one one"), cmd("LRANGE one 0 -1"), cmd("LMOVE one two RIGHT LEFT"),
		cmd("EXISTS one"), cmd("LRANGE two 0 -1"), cmd("LMOVE two"), cmd("RPOPLPUSH two"),

		// LMPOP.
		cmd("RPUSH m1 a b c d"), cmd("RPUSH m2 x y"), cmd("LMPOP 1 m1 LEFT"), cmd("LMPOP 2 nokey m1 RIGHT"),
		cmd("LMPOP 2 m2 m1 LEFT COUNT 5"), cmd("EXISTS m2"), cmd("LMPOP 3 nokey m2 m1 right count 1"),
		cmd("LMPOP 1 nokey LEFT"), cmd("LMPOP 2 nokey nokey2 LEFT COUNT 3"), cmd("LMPOP 0 m1 LEFT"),
		cmd("LMPOP -1 m1 LEFT"), cmd("LMPOP x m1 LEFT"), cmd("LMPOP 2 m1 LEFT"), cmd("LMPOP 3 m1 LEFT"),
		cmd("LMPOP 9223372036854775807 m1 LEFT"), cmd("LMPOP 9223372036854775808 m1 LEFT"),
		cmd("LMPOP 1 m1 MIDDLE"), cmd("LMPOP 1 m1 LEFT COUNT"), cmd("LMPOP 1 m1 LEFT COUNT 0"),
		cmd("LMPOP 1 m1 LEFT COUNT -1"), cmd("LMPOP 1 m1 LEFT COUNT x"), cmd("LMPOP 1 m1 LEFT COUNT 1 COUNT 1"),
		cmd("LMPOP 1 m1 LEFT FOO"), cmd("LMPOP 1 m1 LEFT FOO 1"), cmd("LMPOP 1 m1 LEFT COUNT 9223372036854775807"),
		cmd("LMPOP 0 m1 MIDDLE COUNT 0"), cmd("LMPOP 1 m1 MIDDLE COUNT 0"), cmd("LMPOP 1"), cmd("LMPOP 1 m1"),
		cmd("RPUSH m1 a b c"), cmd("LMPOP 1 m1 RIGHT COUNT 2"), cmd("LRANGE m1 0 -1"),

		// Blocking commands that find data, refuse their arguments or find
		// the wrong type: they never block.
		cmd("RPUSH b1 a b c"), cmd("RPUSH b2 x"), cmd("BLPOP nokey b1 0"), cmd("BRPOP nokey b1 b2 0"),
		cmd("BLPOP b2 b1 0.5"), cmd("EXISTS b2"), cmd("BRPOP b1 1"), cmd("BLPOP b1 x"), cmd("BLPOP b1 -1"),
		cmd("BLPOP b1 nan"), cmd("BLPOP b1 1e5000"), {"BLPOP", "b1", ""},
		{"BLPOP", "b1", " 1"}, cmd("RPUSH b1 a b c"), cmd("BLPOP b1 -0"), cmd("BRPOP b1 0.001"),
		cmd("BLPOP b1 3.5e2"), cmd("BLPOP b1"), cmd("BRPOP"), cmd("RPUSH b1 a b c d e"),
		cmd("BLMOVE b1 bd LEFT RIGHT 0"), cmd("BLMOVE b1 bd RIGHT LEFT 1.5"), cmd("BLMOVE b1 b1 LEFT RIGHT 0"),
		cmd("LRANGE b1 0 -1"), cmd("BLMOVE b1 bd UP LEFT 0"), cmd("BLMOVE b1 bd LEFT DOWN 0"),
		cmd("BLMOVE b1 bd LEFT LEFT x"), cmd("BLMOVE b1 bd LEFT LEFT -1"), cmd("BLMOVE nokey bd UP LEFT x"),
		cmd("BLMOVE nokey bd LEFT LEFT x"), cmd("BRPOPLPUSH b1 bd 0"), cmd("BRPOPLPUSH b1 bd x"),
		cmd("BRPOPLPUSH b1 bd -1"), cmd("BRPOPLPUSH nokey bd x"), cmd("LRANGE bd 0 -1"), cmd("BLMOVE b1 bd LEFT"),
		cmd("BRPOPLPUSH b1 bd"), cmd("RPUSH b3 a b c d"), cmd("BLMPOP 0 2 nokey b3 LEFT"),
		cmd("BLMPOP 0.5 1 b3 RIGHT COUNT 2"), cmd("BLMPOP 0 1 b3 LEFT COUNT 9"), cmd("EXISTS b3"),
		cmd("BLMPOP x 1 b3 LEFT"), cmd("BLMPOP -1 1 b3 LEFT"), cmd("BLMPOP x 0 b3 LEFT"), cmd("BLMPOP x 1 b3 UP"),
		cmd("BLMPOP x 1 b3 LEFT COUNT 0"), cmd("BLMPOP x 1 b3 LEFT FOO"), cmd("BLMPOP x 2 b3 LEFT"),
		cmd("BLMPOP 0 -1 b3 LEFT"), cmd("BLMPOP 0 1 b3 LEFT COUNT 1 COUNT 1"),
		cmd("BLMPOP 0 9223372036854775807 b3 LEFT"), cmd("BLMPOP 0 1 b3"), cmd("BLMPOP 0"),

		// WRONGTYPE, the order of checks, and list commands against strings.
		cmd("SET s v"), cmd("RPUSH l2 a b"), cmd("LPUSH s a"), cmd("RPUSH s a"), cmd("LPUSHX s a"), cmd("RPUSHX s a"),
		cmd("LPOP s"), cmd("RPOP s"), cmd("LPOP s 0"), cmd("LPOP s x"), cmd("LLEN s"), cmd("LRANGE s 0 -1"),
		cmd("LRANGE s x 1"), cmd("LINDEX s 0"), cmd("LINDEX s x"), cmd("LSET s 0 v"), cmd("LSET s x v"),
		cmd("LINSERT s BEFORE a b"), cmd("LINSERT s MIDDLE a b"), cmd("LREM s 0 a"), cmd("LREM s x a"),
		cmd("LTRIM s 0 1"), cmd("LTRIM s x 1"), cmd("LPOS s a"), cmd("LPOS s a RANK 0"), cmd("LPOS s a FOO"),
		cmd("LMOVE s l2 LEFT LEFT"), cmd("LMOVE l2 s LEFT LEFT"), cmd("LMOVE nokey s LEFT LEFT"),
		cmd("LMOVE s l2 UP LEFT"), cmd("RPOPLPUSH s l2"), cmd("RPOPLPUSH l2 s"), cmd("RPOPLPUSH nokey s"),
		cmd("LRANGE l2 0 -1"), cmd("LMPOP 1 s LEFT"), cmd("LMPOP 2 nokey s LEFT"), cmd("LMPOP 2 l2 s LEFT"),
		cmd("LMPOP 2 s l2 LEFT"), cmd("LMPOP 1 s UP"), cmd("RPUSH l2 c d e"), cmd("BLPOP s 0"), cmd("BLPOP nokey s l2 0"),
		cmd("BLPOP l2 s 0"), cmd("BRPOP s x"), cmd("BLMOVE s l2 LEFT LEFT 0"), cmd("BLMOVE l2 s LEFT LEFT 0"),
		cmd("BRPOPLPUSH s l2 0"), cmd("BRPOPLPUSH l2 s 0"), cmd("BLMPOP 0 1 s LEFT"), cmd("BLMPOP 0 2 nokey s LEFT"),
		cmd("BLMPOP x 1 s LEFT"), cmd("HSET h f v"), cmd("LPUSH h a"), cmd("LRANGE h 0 -1"), cmd("GET l2"),
		cmd("HGET l2 f"), cmd("INCR l2"), cmd("APPEND l2 x"), cmd("TYPE l2"), cmd("GET s"),

		// Keyspace: COPY, RENAME, DEL and expiry of lists.
		cmd("RPUSH c1 a b c"), cmd("COPY c1 c2"), cmd("RPUSH c2 d"), cmd("LRANGE c1 0 -1"), cmd("LRANGE c2 0 -1"),
		cmd("OBJECT ENCODING c2"), cmd("RENAME c2 c3"), cmd("LRANGE c3 0 -1"), cmd("TYPE c3"), cmd("DEL c3"),
		cmd("LLEN c3"), cmd("PEXPIRE c1 100000"), cmd("RPUSH c1 x"), cmd("TTL c1"), cmd("LTRIM c1 0 0"),
		cmd("TTL c1"), cmd("LPOP c1"), cmd("TTL c1"), cmd("EXISTS c1"),
	}
}

// TestList compares every hand-written list case with redis-server, under
// RESP2 and RESP3.
func TestList(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll(listCases())
	})
}

// TestListLarge checks big lists: pushes of many elements at once, long
// elements, ranges and pops across them, and LPOS/LREM over a long list.
func TestListLarge(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		args := []string{"RPUSH", "big"}
		for i := range 3000 {
			args = append(args, strconv.Itoa(i%97))
		}
		p.check(args...)
		p.check("LPUSH", "big", strings.Repeat("L", 10000), "", strings.Repeat("M", 70000))
		p.check("OBJECT", "ENCODING", "big")
		for _, c := range [][]string{
			cmd("LLEN big"), cmd("LRANGE big 0 99"), cmd("LRANGE big -100 -1"), cmd("LRANGE big 1500 1510"),
			cmd("LINDEX big 2"), cmd("LINDEX big 1700"), cmd("LPOS big 42 COUNT 0"), cmd("LPOS big 42 RANK -5 COUNT 3"),
			cmd("LPOS big 42 RANK 20 MAXLEN 1000"), cmd("LPOS big 42 RANK -20 MAXLEN 1000 COUNT 0"),
			cmd("LREM big 10 5"), cmd("LREM big -10 6"), cmd("LREM big 0 7"), cmd("LLEN big"), cmd("LINSERT big BEFORE 50 X"),
			cmd("LINSERT big AFTER 80 Y"), cmd("LSET big 1000 Z"), cmd("LPOP big 700"), cmd("RPOP big 700"),
			cmd("LTRIM big 100 -100"), cmd("LRANGE big 0 -1"), cmd("LMPOP 1 big RIGHT COUNT 1000"), cmd("LLEN big"),
			cmd("LRANGE big 0 -1"),
		} {
			p.check(c...)
		}
	})
}

// listGen makes random list commands over keys k0…k4, with some string
// commands on the same keys so WRONGTYPE turns up.
type listGen struct {
	r *rand.Rand
}

func (g *listGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *listGen) key() string { return "k" + strconv.Itoa(g.r.IntN(5)) }

// elem is an element: a few values repeat often, so LREM, LPOS and
// LINSERT find them.
func (g *listGen) elem() string {
	switch g.r.IntN(20) {
	case 0:
		return strings.Repeat("e", g.r.IntN(200))
	case 1:
		return ""
	case 2, 3, 4:
		return "v" + strconv.Itoa(g.r.IntN(100))
	}
	return "v" + strconv.Itoa(g.r.IntN(5))
}

// index is an index or count: small, negative, huge or not a number.
func (g *listGen) index() string {
	switch g.r.IntN(12) {
	case 0:
		return g.pick("9223372036854775807", "-9223372036854775808", "x", "1.5", "100000")
	case 1, 2, 3:
		return strconv.Itoa(-g.r.IntN(30))
	}
	return strconv.Itoa(g.r.IntN(30))
}

// end is LEFT or RIGHT, in any case, rarely wrong.
func (g *listGen) end() string {
	if g.r.IntN(40) == 0 {
		return "UP"
	}
	return g.pick("LEFT", "RIGHT", "left", "Right")
}

// elems appends 1 to max random elements to args.
func (g *listGen) elems(args []string, max int) []string {
	for i := 1 + g.r.IntN(max); i > 0; i-- {
		args = append(args, g.elem())
	}
	return args
}

// step sends one random command.
func (g *listGen) step(p *pair) {
	k := g.key()
	switch g.r.IntN(26) {
	case 0, 1, 2:
		p.check(g.elems([]string{g.pick("LPUSH", "RPUSH"), k}, 6)...)
	case 3:
		p.check(g.elems([]string{g.pick("LPUSHX", "RPUSHX"), k}, 3)...)
	case 4:
		// A batch, to make long lists.
		args := []string{g.pick("LPUSH", "RPUSH"), k}
		for i := range 20 + g.r.IntN(200) {
			args = append(args, "v"+strconv.Itoa(i%7))
		}
		p.check(args...)
	case 5, 6:
		args := []string{g.pick("LPOP", "RPOP"), k}
		if g.r.IntN(2) == 0 {
			args = append(args, g.pick("0", "1", "3", "50", "-1", "x"))
		}
		p.check(args...)
	case 7:
		p.check("LLEN", k)
	case 8, 9:
		p.check("LRANGE", k, g.index(), g.index())
	case 10:
		p.check("LINDEX", k, g.index())
	case 11:
		p.check("LSET", k, g.index(), g.elem())
	case 12:
		p.check("LINSERT", k, g.pick("BEFORE", "AFTER", "after", "x"), g.elem(), g.elem())
	case 13:
		p.check("LREM", k, g.pick("0", "1", "2", "-1", "-3", "x"), g.elem())
	case 14:
		p.check("LTRIM", k, g.index(), g.index())
	case 15, 16:
		g.lpos(p, k)
	case 17, 18:
		if g.r.IntN(3) == 0 {
			p.check("RPOPLPUSH", k, g.key())
			return
		}
		p.check("LMOVE", k, g.key(), g.end(), g.end())
	case 19:
		g.lmpop(p, "LMPOP")
	case 20:
		// The blocking commands, only where they cannot block: a key
		// that holds a list (or another type) comes first.
		if string(p.oracle.do("EXISTS", k)) == ":1\r\n" {
			switch g.r.IntN(4) {
			case 0:
				p.check(g.pick("BLPOP", "BRPOP"), k, g.key(), "0")
			case 1:
				p.check("BLMOVE", k, g.key(), g.end(), g.end(), "0")
			case 2:
				p.check("BRPOPLPUSH", k, g.key(), "0")
			default:
				p.check("BLMPOP", "0", "2", k, g.key(), g.end(), "COUNT", g.pick("1", "2", "10"))
			}
		}
	case 21:
		p.check("SET", k, g.elem())
	case 22:
		p.check(g.pick("DEL", "TYPE", "EXISTS", "GET"), k)
	case 23:
		p.check("OBJECT", "ENCODING", k)
	case 24:
		p.check("COPY", k, g.key(), "REPLACE")
	default:
		p.check("LRANGE", k, "0", "-1")
	}
}

// lpos sends an LPOS with random options.
func (g *listGen) lpos(p *pair, k string) {
	args := []string{"LPOS", k, g.elem()}
	for i := g.r.IntN(4); i > 0; i-- {
		switch g.r.IntN(4) {
		case 0:
			args = append(args, "RANK", g.pick("1", "2", "-1", "-3", "0", "5", "-9223372036854775808"))
		case 1:
			args = append(args, "COUNT", g.pick("0", "1", "2", "-1"))
		case 2:
			args = append(args, "MAXLEN", g.pick("0", "1", "5", "-1"))
		default:
			args = append(args, g.pick("RANK", "FOO"))
		}
	}
	p.check(args...)
}

// lmpop sends an LMPOP over 1 to 3 random keys.
func (g *listGen) lmpop(p *pair, name string) {
	n := 1 + g.r.IntN(3)
	args := []string{name, strconv.Itoa(n)}
	for range n {
		args = append(args, g.key())
	}
	args = append(args, g.end())
	if g.r.IntN(2) == 0 {
		args = append(args, "COUNT", g.pick("1", "2", "7", "100", "0"))
	}
	p.check(args...)
}

// TestListRandom sends a seeded random sequence of list commands (with
// some string and key commands on the same keys) to both servers, under
// RESP2 and RESP3.
func TestListRandom(t *testing.T) {
	randomSequence(t, 6000, 1000, func(p *pair, s uint64, proto int) func() {
		g := &listGen{r: rand.New(rand.NewPCG(s, 0x6c+uint64(proto)))}
		return func() { g.step(p) }
	}, func(p *pair) {
		for i := range 5 {
			k := "k" + strconv.Itoa(i)
			p.check("TYPE", k)
			p.check("LRANGE", k, "0", "-1")
		}
	})
}

// TestListBlockingInMulti checks the blocking commands inside MULTI/EXEC,
// where they never block: with nothing to pop they answer their timeout
// reply at once, whatever the timeout.
func TestListBlockingInMulti(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll([][]string{
			cmd("MULTI"), cmd("BLPOP nokey 0"), cmd("BRPOP nokey nokey2 1"), cmd("BLMOVE nokey d LEFT RIGHT 0"),
			cmd("BRPOPLPUSH nokey d 0"), cmd("BLMPOP 0 2 nokey nokey2 LEFT COUNT 2"), cmd("RPUSH l a b c"),
			cmd("BLPOP nokey l 0"), cmd("BLMOVE l d LEFT RIGHT 0"), cmd("BLMPOP 0 1 l RIGHT COUNT 5"),
			cmd("BLPOP l 0"), cmd("BLPOP l x"), cmd("EXEC"), cmd("EXISTS d l"),
		})
	})
}
