package compat

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// zsetWriteCases are hand-written cases for ZADD, ZINCRBY, ZREM and the
// point reads, with every option and error, run in order on an empty
// database.
func zsetWriteCases() [][]string {
	long := strings.Repeat("x", 65)
	return [][]string{
		// ZADD and its options.
		cmd("ZADD z 1 a"), cmd("ZADD z 2 b 3 c 1 a"), cmd("ZADD z 5 a"), cmd("ZADD z CH 6 a 2 b 9 d"),
		cmd("ZADD z NX 7 a 8 e"), cmd("ZADD z XX 10 a 11 f"), cmd("ZADD z XX CH 10 a 12 b"),
		cmd("ZADD z GT 1 a"), cmd("ZADD z GT CH 100 a"), cmd("ZADD z LT CH 50 a 1 g"), cmd("ZADD z LT 60 a"),
		cmd("ZADD z XX GT CH 70 a"), cmd("ZADD z INCR 5 a"), cmd("ZADD z INCR -5.5 new"),
		cmd("ZADD z NX INCR 1 a"), cmd("ZADD z XX INCR 1 nope"), cmd("ZADD z GT INCR -1 a"),
		cmd("ZADD z LT INCR -1 a"), cmd("ZADD z gt lt 1 a"), cmd("ZADD z nx xx 1 a"), cmd("ZADD z nx gt 1 a"),
		cmd("ZADD z nx lt 1 a"), cmd("ZADD z incr 1 a 2 b"), cmd("ZADD z 1"), cmd("ZADD z 1 a 2"),
		cmd("ZADD z nx 1"), cmd("ZADD z x a"), cmd("ZADD z nan a"), cmd("ZADD z 1 a x b"), cmd("ZSCORE z b"),
		cmd("ZADD z 1e400 a"), cmd("ZADD z 1e-400 a"), cmd("ZADD z 1e-310 tiny"), cmd("ZADD z 0x10 hex"),
		cmd("ZADD z 0x1p-2 hexp"), cmd("ZADD z .5 dot"), cmd("ZADD z 5. dot2"), cmd("ZADD z +inf pinf"),
		cmd("ZADD z -inf ninf"), cmd("ZADD z Infinity inf2"), cmd("ZADD z 1_0 u"), cmd("ZADD z 0x x1"),
		cmd("ZADD z 1e x2"), {"ZADD", "z", " 1", "sp"}, {"ZADD", "z", "1 ", "sp"}, {"ZADD", "z", "", "e"},
		{"ZADD", "z", "1\x00", "nul"}, cmd("ZADD z 1.1 frac"), cmd("ZADD z 1e20 big"), cmd("ZADD z -0 negzero"),
		cmd("ZADD z 123456789012345678 huge"), cmd("ZADD z 0.1 p1"), cmd("ZADD z 3.0000000000000004 p3"),
		cmd("ZRANGE z 0 -1 WITHSCORES"), cmd("ZADD z INCR inf pinf"), cmd("ZADD z INCR -inf pinf"),
		cmd("ZINCRBY z -inf pinf"), cmd("ZADD z XX z 1 a"), cmd("ZADD nokey XX 1 a"), cmd("EXISTS nokey"),
		cmd("ZADD nokey2 XX INCR 1 a"), cmd("ZADD nokey3 GT 1 a"), cmd("ZRANGE nokey3 0 -1 WITHSCORES"),
		{"ZADD", "z", "1", ""}, {"ZADD", "z", "2", "bin\x00\r\n"}, {"ZSCORE", "z", "bin\x00\r\n"},

		// ZINCRBY.
		cmd("ZINCRBY z 1 a"), cmd("ZINCRBY z -1.5 newm"), cmd("ZINCRBY z x a"), cmd("ZINCRBY z nan a"),
		cmd("ZINCRBY z 1 b c"), cmd("ZINCRBY z incr a"), cmd("ZINCRBY z nx 5"), cmd("ZINCRBY znew 0.1 m"),
		cmd("ZINCRBY znew 0.2 m"), cmd("ZINCRBY znew -0 m"), cmd("ZINCRBY z2 -0 m"), cmd("ZSCORE z2 m"),

		// ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK.
		cmd("ZSCORE z a"), cmd("ZSCORE z nomember"), cmd("ZSCORE nokey a"), cmd("ZMSCORE z a b nomember"),
		cmd("ZMSCORE nokey a b"), cmd("ZCARD z"), cmd("ZCARD nokey"), cmd("ZRANK z a"), cmd("ZRANK z ninf"),
		cmd("ZRANK z nomember"), cmd("ZRANK nokey a"), cmd("ZREVRANK z a"), cmd("ZREVRANK z ninf"),
		cmd("ZREVRANK z nomember"),

		// ZREM; the last member deletes the key.
		cmd("ZREM z a a nomember b"), cmd("ZREM z nomember"), cmd("ZREM nokey a"), cmd("ZCARD z"),
		cmd("ZADD d 1 a 2 b"), cmd("ZREM d a b c"), cmd("EXISTS d"), cmd("ZADD d 1 a"), cmd("ZREM d a a"),
		cmd("TYPE d"),

		// Encodings: listpack up to 128 entries and 64-byte members.
		cmd("ZADD e1 1 " + long), cmd("OBJECT ENCODING e1"), cmd("ZADD e2 1 a 2 " + long), cmd("OBJECT ENCODING e2"),
		cmd("ZREM e2 " + long), cmd("OBJECT ENCODING e2"), cmd("ZADD e3 1 " + strings.Repeat("y", 64)),
		cmd("OBJECT ENCODING e3"), cmd("ZADD e4 XX 1 " + long), cmd("EXISTS e4"), cmd("ZADD e5 1 a"),
		cmd("ZADD e5 XX 1 " + long), cmd("OBJECT ENCODING e5"), cmd("ZINCRBY e5 1 " + long), cmd("OBJECT ENCODING e5"),
		cmd("ZADD sk 1 " + long + " -0 nz"), cmd("ZSCORE sk nz"), cmd("ZINCRBY sk -0 nz"), cmd("ZINCRBY sk -0 nz2"),
		cmd("ZRANGE sk 0 -1 WITHSCORES"), cmd("TYPE sk"), cmd("TYPE z"),

		// WRONGTYPE.
		cmd("SET s v"), cmd("ZADD s 1 a"), cmd("ZADD s x a"), cmd("ZADD s XX 1 a"), cmd("ZINCRBY s 1 a"),
		cmd("ZREM s a"), cmd("ZCARD s"), cmd("ZSCORE s a"), cmd("ZMSCORE s a"), cmd("ZRANK s a"),
		cmd("ZREVRANK s a"), cmd("ZCOUNT s 0 1"), cmd("ZCOUNT s x 1"), cmd("ZLEXCOUNT s - +"),
		cmd("ZLEXCOUNT s x +"), cmd("GET s"),
	}
}

// zsetRangeCases cover ZCOUNT, ZLEXCOUNT, the ZRANGE family, ZRANGESTORE
// and ZREMRANGE*.
func zsetRangeCases() [][]string {
	c := [][]string{
		cmd("ZADD r 1 a 2 b 3 c 4 d 5 e 5 f 6 g -inf ni +inf pi"),
		cmd("ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 ab"),
		cmd("ZADD mixed 3 a 1 b 2 c 0 d"),
	}
	for _, k := range []string{"r", "l", "mixed", "nokey"} {
		c = append(c,
			cmd("ZRANGE "+k+" 0 -1"), cmd("ZRANGE "+k+" 0 -1 WITHSCORES"), cmd("ZRANGE "+k+" 2 4 REV WITHSCORES"),
			cmd("ZRANGE "+k+" -3 -1"), cmd("ZRANGE "+k+" -100 100"), cmd("ZRANGE "+k+" 5 2"), cmd("ZRANGE "+k+" 100 200"),
			cmd("ZREVRANGE "+k+" 0 2"), cmd("ZREVRANGE "+k+" 0 -1 WITHSCORES"), cmd("ZREVRANGE "+k+" -2 -1 withscores"),
			cmd("ZRANGEBYSCORE "+k+" -inf +inf"), cmd("ZRANGEBYSCORE "+k+" (1 5 WITHSCORES"),
			cmd("ZRANGEBYSCORE "+k+" 2 (5"), cmd("ZRANGEBYSCORE "+k+" (2 (2"), cmd("ZRANGEBYSCORE "+k+" 2 2"),
			cmd("ZRANGEBYSCORE "+k+" 5 1"), cmd("ZRANGEBYSCORE "+k+" -inf +inf LIMIT 1 3"),
			cmd("ZRANGEBYSCORE "+k+" -inf +inf LIMIT 1 -1"), cmd("ZRANGEBYSCORE "+k+" -inf +inf LIMIT -1 3"),
			cmd("ZRANGEBYSCORE "+k+" -inf +inf LIMIT 2 0"), cmd("ZRANGEBYSCORE "+k+" -inf +inf LIMIT 100 1"),
			cmd("ZRANGEBYSCORE "+k+" 0 10 WITHSCORES LIMIT 0 2"), cmd("ZRANGEBYSCORE "+k+" (inf +inf"),
			cmd("ZRANGEBYSCORE "+k+" -inf (-inf"), cmd("ZRANGEBYSCORE "+k+" inf inf"),
			cmd("ZREVRANGEBYSCORE "+k+" +inf -inf WITHSCORES"), cmd("ZREVRANGEBYSCORE "+k+" 5 (1"),
			cmd("ZREVRANGEBYSCORE "+k+" 5 1 LIMIT 1 2"), cmd("ZREVRANGEBYSCORE "+k+" 1 5"),
			cmd("ZRANGE "+k+" 1 5 BYSCORE"), cmd("ZRANGE "+k+" 5 1 BYSCORE REV WITHSCORES"),
			cmd("ZRANGE "+k+" (1 +inf BYSCORE LIMIT 1 2"), cmd("ZRANGE "+k+" +inf (1 BYSCORE REV LIMIT 1 2"),
			cmd("ZRANGEBYLEX "+k+" - +"), cmd("ZRANGEBYLEX "+k+" [b (e"), cmd("ZRANGEBYLEX "+k+" (a [c"),
			cmd("ZRANGEBYLEX "+k+" [aa +"), cmd("ZRANGEBYLEX "+k+" - (b"), cmd("ZRANGEBYLEX "+k+" + -"),
			cmd("ZRANGEBYLEX "+k+" [c [a"), cmd("ZRANGEBYLEX "+k+" [a [a"), cmd("ZRANGEBYLEX "+k+" (a (a"),
			cmd("ZRANGEBYLEX "+k+" - + LIMIT 2 3"), cmd("ZRANGEBYLEX "+k+" - + LIMIT 2 -1"),
			cmd("ZRANGEBYLEX "+k+" - + LIMIT -2 3"), cmd("ZREVRANGEBYLEX "+k+" + -"),
			cmd("ZREVRANGEBYLEX "+k+" (e [b"), cmd("ZREVRANGEBYLEX "+k+" + - LIMIT 1 2"), cmd("ZREVRANGEBYLEX "+k+" - +"),
			cmd("ZRANGE "+k+" [b [e BYLEX"), cmd("ZRANGE "+k+" [e [b BYLEX REV LIMIT 0 2"), cmd("ZRANGE "+k+" - + bylex"),
			cmd("ZCOUNT "+k+" -inf +inf"), cmd("ZCOUNT "+k+" (1 5"), cmd("ZCOUNT "+k+" 5 1"), cmd("ZCOUNT "+k+" (5 (5"),
			cmd("ZLEXCOUNT "+k+" - +"), cmd("ZLEXCOUNT "+k+" [b (e"), cmd("ZLEXCOUNT "+k+" [e [b"),
			cmd("ZLEXCOUNT "+k+" (a +"),
		)
	}
	return append(c, [][]string{
		// Errors and option conflicts.
		cmd("ZRANGE r 0 -1 LIMIT 0 1"), cmd("ZRANGE r 0 -1 LIMIT 0 -1"), cmd("ZRANGE r a b"), cmd("ZRANGE r 0 b"),
		cmd("ZRANGE r [a [b BYLEX WITHSCORES"), cmd("ZRANGEBYLEX r - + WITHSCORES"), cmd("ZRANGE r 0 -1 BYSCORE BYLEX"),
		cmd("ZRANGE r 0 -1 REV REV"), cmd("ZRANGE r 0 -1 FOO"), cmd("ZRANGE r 0 -1 LIMIT 0"), cmd("ZRANGE r 0 -1 LIMIT x 1"),
		cmd("ZRANGE r 0 -1 BYSCORE LIMIT 0 x"), cmd("ZREVRANGE r 0 -1 REV"), cmd("ZREVRANGE r 0 -1 BYSCORE"),
		cmd("ZRANGEBYSCORE r 0 1 REV"), cmd("ZRANGEBYSCORE r 0 1 BYLEX"), cmd("ZRANGEBYSCORE r x 1"),
		cmd("ZRANGEBYSCORE r 1 x"), cmd("ZRANGEBYSCORE r (x 1"), cmd("ZRANGEBYSCORE r nan 1"), cmd("ZRANGEBYSCORE r 1 (nan"),
		{"ZRANGEBYSCORE", "r", "(", "5"}, {"ZRANGEBYSCORE", "r", "", "5"}, {"ZRANGEBYSCORE", "r", " 1", "5"},
		{"ZRANGEBYSCORE", "r", "1 ", "5"}, {"ZRANGEBYSCORE", "r", "1\x00junk", "5"}, {"ZRANGEBYSCORE", "r", "( 2", "5"},
		cmd("ZRANGEBYSCORE r 1e400 +inf"), cmd("ZRANGEBYSCORE r -1e400 1"), cmd("ZRANGEBYSCORE r 0x2 0x4"),
		cmd("ZRANGEBYSCORE r 1 5 LIMIT 0"), cmd("ZRANGEBYSCORE r 1 5 FOO"), cmd("ZRANGEBYSCORE nokey x 1"),
		cmd("ZRANGEBYLEX r a b"), cmd("ZRANGEBYLEX r [a b"), cmd("ZRANGEBYLEX r - a"), cmd("ZRANGEBYLEX r -a +"),
		cmd("ZRANGEBYLEX r ++ -"), {"ZRANGEBYLEX", "r", "", "+"}, {"ZRANGEBYLEX", "r", "-\x00x", "+"},
		cmd("ZRANGEBYLEX nokey a b"), cmd("ZLEXCOUNT r a b"), cmd("ZCOUNT r x 1"), cmd("ZCOUNT nokey x 1"),
		cmd("ZREVRANGEBYLEX r + - WITHSCORES"), cmd("ZREVRANGEBYSCORE r +inf -inf WITHSCORES LIMIT 1 1"),

		// ZRANGESTORE.
		cmd("ZRANGESTORE dst r 0 2"), cmd("ZRANGE dst 0 -1 WITHSCORES"), cmd("ZRANGESTORE dst r 0 -1 REV"),
		cmd("ZRANGE dst 0 -1 WITHSCORES"), cmd("ZRANGESTORE dst r (1 5 BYSCORE LIMIT 1 2"), cmd("ZRANGE dst 0 -1 WITHSCORES"),
		cmd("ZRANGESTORE dst l [b [d BYLEX"), cmd("ZRANGE dst 0 -1 WITHSCORES"), cmd("ZRANGESTORE dst r 5 1"),
		cmd("EXISTS dst"), cmd("ZRANGESTORE dst r 0 0"), cmd("ZRANGESTORE dst nokey 0 -1"), cmd("EXISTS dst"),
		cmd("ZRANGESTORE dst r 0 -1 WITHSCORES"), cmd("ZRANGESTORE dst r 0 -1 LIMIT 0 1"), cmd("SET str v"),
		cmd("ZRANGESTORE dst str 0 -1"), cmd("ZRANGESTORE str r 0 1"), cmd("TYPE str"), cmd("SET dst2 v EX 100"),
		cmd("ZRANGESTORE dst2 r 0 1"), cmd("TTL dst2"), cmd("OBJECT ENCODING dst2"), cmd("ZRANGESTORE r r 1 2"),
		cmd("ZRANGE r 0 -1 WITHSCORES"), cmd("ZADD r 1 a 2 b 3 c 4 d 5 e 5 f 6 g -inf ni +inf pi"),

		// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.
		cmd("ZADD rr 1 a 2 b 3 c 4 d 5 e 6 f"), cmd("ZREMRANGEBYRANK rr 0 1"), cmd("ZRANGE rr 0 -1"),
		cmd("ZREMRANGEBYRANK rr -1 -1"), cmd("ZREMRANGEBYRANK rr 5 10"), cmd("ZREMRANGEBYRANK rr 2 1"),
		cmd("ZREMRANGEBYRANK rr x 1"), cmd("ZREMRANGEBYRANK nokey 0 1"), cmd("ZREMRANGEBYSCORE rr (3 4"),
		cmd("ZRANGE rr 0 -1"), cmd("ZREMRANGEBYSCORE rr x 1"), cmd("ZREMRANGEBYSCORE rr 10 20"),
		cmd("ZREMRANGEBYSCORE rr -inf +inf"), cmd("EXISTS rr"), cmd("ZADD rl 0 a 0 b 0 c 0 d"),
		cmd("ZREMRANGEBYLEX rl [b (d"), cmd("ZRANGE rl 0 -1"), cmd("ZREMRANGEBYLEX rl a b"),
		cmd("ZREMRANGEBYLEX rl - +"), cmd("EXISTS rl"), cmd("ZREMRANGEBYLEX nokey - +"),
		cmd("ZREMRANGEBYSCORE nokey x 1"), cmd("ZREMRANGEBYRANK str 0 1"), cmd("ZREMRANGEBYSCORE str 0 1"),
		cmd("ZREMRANGEBYLEX str - +"), cmd("ZRANGE str 0 -1"), cmd("ZRANGEBYSCORE str 0 1"), cmd("ZRANGEBYLEX str - +"),
		cmd("ZADD mixed2 3 a 1 b 2 c 0 d 5 e"), cmd("ZREMRANGEBYLEX mixed2 [b [d"), cmd("ZRANGE mixed2 0 -1"),
	}...)
}

// zsetOpCases cover ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD,
// with sets as inputs.
func zsetOpCases() [][]string {
	return [][]string{
		cmd("ZADD a 1 x 2 y 3 z"), cmd("ZADD b 10 y 20 z 30 w"), cmd("ZADD c 100 z"), cmd("SADD s y z q"),
		cmd("SADD si 1 2 3"), cmd("ZADD n 1 1 5 2"), cmd("ZADD inf +inf x -inf y 0 z"), cmd("SET str v"),
		cmd("ZUNION 2 a b"), cmd("ZUNION 2 a b WITHSCORES"), cmd("ZUNION 3 a b c WITHSCORES AGGREGATE MIN"),
		cmd("ZUNION 3 a b c WITHSCORES AGGREGATE max"), cmd("ZUNION 2 a b WEIGHTS 2 0.5 WITHSCORES"),
		cmd("ZUNION 2 a b WEIGHTS 2 WITHSCORES"), cmd("ZUNION 2 a b WEIGHTS 2 x"), cmd("ZUNION 2 a b AGGREGATE foo"),
		cmd("ZUNION 2 a b AGGREGATE"), cmd("ZUNION 2 a s WITHSCORES"), cmd("ZUNION 3 a s si WITHSCORES"),
		cmd("ZUNION 2 a nokey WITHSCORES"), cmd("ZUNION 1 nokey"), cmd("ZUNION 0 a"), cmd("ZUNION -1 a"),
		cmd("ZUNION x a"), cmd("ZUNION 3 a b"), cmd("ZUNION 2 a str"), cmd("ZUNION 2 str nokey FOO"),
		cmd("ZUNION 2 a b FOO"), cmd("ZUNION 2 inf inf WITHSCORES"), cmd("ZUNION 2 inf a WEIGHTS 0 1 WITHSCORES"),
		cmd("ZUNION 2 inf inf WEIGHTS 1 -1 WITHSCORES"), cmd("ZUNION 1 a WEIGHTS inf WITHSCORES"),
		cmd("ZUNION 1 a WEIGHTS nan"), cmd("ZUNION 2 a b WEIGHTS 1 2 AGGREGATE MIN WEIGHTS 3 4 WITHSCORES"),
		cmd("ZUNION 2 a n WITHSCORES"),
		cmd("ZINTER 2 a b"), cmd("ZINTER 2 a b WITHSCORES"), cmd("ZINTER 3 a b c WITHSCORES"),
		cmd("ZINTER 2 a b WEIGHTS 1 -1 AGGREGATE MAX WITHSCORES"), cmd("ZINTER 2 a s WITHSCORES"),
		cmd("ZINTER 2 s a WITHSCORES"), cmd("ZINTER 2 a nokey"), cmd("ZINTER 2 a a WITHSCORES"),
		cmd("ZINTER 2 inf inf WEIGHTS 1 -1 WITHSCORES"), cmd("ZINTER 2 inf inf WEIGHTS 0 0 AGGREGATE MIN WITHSCORES"),
		cmd("ZINTER 0 a"), cmd("ZINTER 2 a str"), cmd("ZINTER 2 si n WITHSCORES"),
		cmd("ZDIFF 2 a b"), cmd("ZDIFF 2 a b WITHSCORES"), cmd("ZDIFF 1 a WITHSCORES"), cmd("ZDIFF 2 a a"),
		cmd("ZDIFF 2 a s WITHSCORES"), cmd("ZDIFF 2 s a WITHSCORES"), cmd("ZDIFF 2 nokey a"),
		cmd("ZDIFF 2 a b WEIGHTS 1 2"), cmd("ZDIFF 2 a b AGGREGATE SUM"), cmd("ZDIFF 0 a"), cmd("ZDIFF 2 a str"),
		cmd("ZINTERCARD 2 a b"), cmd("ZINTERCARD 2 a b LIMIT 1"), cmd("ZINTERCARD 2 a b LIMIT 0"),
		cmd("ZINTERCARD 2 a b LIMIT -1"), cmd("ZINTERCARD 2 a b LIMIT x"), cmd("ZINTERCARD 2 a b WITHSCORES"),
		cmd("ZINTERCARD 2 a b WEIGHTS 1 2"), cmd("ZINTERCARD 0 a"), cmd("ZINTERCARD 2 a"), cmd("ZINTERCARD 2 a s"),
		cmd("ZINTERCARD 1 nokey"), cmd("ZINTERCARD 2 a str"),
		cmd("ZUNIONSTORE d 2 a b"), cmd("ZRANGE d 0 -1 WITHSCORES"), cmd("OBJECT ENCODING d"),
		cmd("ZUNIONSTORE d 2 a b WEIGHTS 1 2 AGGREGATE MAX"), cmd("ZRANGE d 0 -1 WITHSCORES"),
		cmd("ZUNIONSTORE d 2 a b WITHSCORES"), cmd("ZINTERSTORE d 2 a b"), cmd("ZRANGE d 0 -1 WITHSCORES"),
		cmd("ZINTERSTORE d 2 a nokey"), cmd("EXISTS d"), cmd("ZINTERSTORE d 2 a nokey"), cmd("ZDIFFSTORE d 2 a b"),
		cmd("ZRANGE d 0 -1 WITHSCORES"), cmd("ZDIFFSTORE d 2 a a"), cmd("EXISTS d"), cmd("ZUNIONSTORE d 0 a"),
		cmd("ZUNIONSTORE d 3 a b"), cmd("ZUNIONSTORE str 1 a"), cmd("TYPE str"), cmd("SET t v EX 100"),
		cmd("ZUNIONSTORE t 1 a"), cmd("TTL t"), cmd("ZUNIONSTORE a 2 a b"), cmd("ZRANGE a 0 -1 WITHSCORES"),
		cmd("ZDIFFSTORE d 1 s"), cmd("ZRANGE d 0 -1 WITHSCORES"), cmd("ZINTERSTORE d 2 s si"), cmd("EXISTS d"),
		cmd("SET str v"), cmd("ZUNIONSTORE d 2 str a"),
	}
}

// zsetPopCases cover ZPOPMIN, ZPOPMAX, ZMPOP, the non-blocking paths of
// BZPOPMIN, BZPOPMAX and BZMPOP (inside MULTI they never block), ZSCAN of
// a listpack and the deterministic ZRANDMEMBER cases.
func zsetPopCases() [][]string {
	return [][]string{
		cmd("ZADD p 1 a 2 b 3 c 4 d 5 e"), cmd("ZPOPMIN p"), cmd("ZPOPMAX p"), cmd("ZPOPMIN p 2"),
		cmd("ZPOPMAX p 0"), cmd("ZPOPMIN p -1"), cmd("ZPOPMIN p x"), cmd("ZPOPMIN p 1 2"), cmd("ZPOPMIN nokey"),
		cmd("ZPOPMIN nokey 2"), cmd("ZPOPMAX p 10"), cmd("EXISTS p"), cmd("ZADD p 1 a 2 b 3 c"),
		cmd("ZMPOP 1 p MIN"), cmd("ZMPOP 2 nokey p MAX COUNT 5"), cmd("EXISTS p"), cmd("ZMPOP 1 p MIN"),
		cmd("ZMPOP 0 p MIN"), cmd("ZMPOP x p MIN"), cmd("ZMPOP 1 p"), cmd("ZMPOP 2 p MIN"), cmd("ZMPOP 1 p FOO"),
		cmd("ZMPOP 1 p MIN COUNT"), cmd("ZMPOP 1 p MIN COUNT 0"), cmd("ZMPOP 1 p MIN COUNT x"),
		cmd("ZMPOP 1 p MIN COUNT 1 COUNT 2"), cmd("ZMPOP 1 p MIN FOO 1"), cmd("SET str v"), cmd("ZPOPMIN str"),
		cmd("ZPOPMAX str 2"), cmd("ZMPOP 2 nokey str MIN"), cmd("ZADD p 1 a"), cmd("ZMPOP 2 p str MIN"),
		cmd("ZADD q 1 a 2 b 3 c"),
		cmd("MULTI"), cmd("BZPOPMIN nokey q 0"), cmd("BZPOPMAX q 0"), cmd("BZPOPMIN nokey 0"), cmd("BZPOPMIN q x"),
		cmd("BZPOPMIN q -1"), cmd("BZPOPMIN str 0"), cmd("BZMPOP 0 2 nokey q MAX COUNT 5"), cmd("BZMPOP 0 1 nokey MIN"),
		cmd("BZMPOP x 1 q MIN"), cmd("BZMPOP 0 0 q MIN"), cmd("BZMPOP 0 1 str MIN"), cmd("EXEC"),
		cmd("ZADD q 1 a 2 b 3 c"), cmd("BZPOPMIN q 0"), cmd("BZPOPMAX nokey q 0.5"), cmd("BZMPOP 1 1 q MAX COUNT 9"),
		cmd("BZPOPMIN str 0"), cmd("BZPOPMIN q x"), cmd("BZMPOP 0 1 q FOO"), cmd("BZMPOP -1 1 q MIN"),

		// ZSCAN of a listpack: everything in one call, cursor 0.
		cmd("ZADD sc 1 a 2.5 b -0 c 1e20 d inf e"), cmd("ZSCAN sc 0"), cmd("ZSCAN sc 7 COUNT 1"),
		cmd("ZSCAN sc 0 MATCH [ab]"), cmd("ZSCAN nokey 0"), cmd("ZSCAN nokey x"), cmd("ZSCAN sc x"),
		cmd("ZSCAN sc 0 FOO"), cmd("ZSCAN sc 0 COUNT 0"), cmd("ZSCAN sc 0 TYPE zset"), cmd("ZSCAN str 0"),

		// ZRANDMEMBER: the deterministic cases.
		cmd("ZRANDMEMBER nokey"), cmd("ZRANDMEMBER nokey 5"), cmd("ZRANDMEMBER nokey -5 WITHSCORES"),
		cmd("ZRANDMEMBER sc 0"), cmd("ZRANDMEMBER sc 10"), cmd("ZRANDMEMBER sc 5 WITHSCORES"), cmd("ZRANDMEMBER sc x"),
		cmd("ZRANDMEMBER sc 1 WITHSCORE"), cmd("ZRANDMEMBER sc 1 WITHSCORES x"), cmd("ZRANDMEMBER sc -9223372036854775808"),
		cmd("ZRANDMEMBER sc 4611686018427387904 WITHSCORES"), cmd("ZRANDMEMBER sc -4611686018427387904 WITHSCORES"),
		cmd("ZRANDMEMBER nokey -9223372036854775808"), cmd("ZADD one 7 m"), cmd("ZRANDMEMBER one"),
		cmd("ZRANDMEMBER one -3 WITHSCORES"), cmd("ZRANDMEMBER one 1 WITHSCORES"), cmd("ZRANDMEMBER str"),
		cmd("ZRANDMEMBER str 1"),
	}
}

// TestZSet compares every hand-written sorted-set case with redis-server,
// under RESP2 and RESP3.
func TestZSet(t *testing.T) {
	for name, cases := range map[string]func() [][]string{
		"write": zsetWriteCases, "range": zsetRangeCases, "ops": zsetOpCases, "pop": zsetPopCases,
	} {
		t.Run(name, func(t *testing.T) {
			eachProtocol(t, func(t *testing.T, p *pair, proto int) { p.checkAll(cases()) })
		})
	}
}

// zaddArgs returns ZADD key score member … for members prefix0..n-1 with
// scores i*mul.
func zaddArgs(key, prefix string, n int, mul float64) []string {
	args := []string{"ZADD", key}
	for i := range n {
		args = append(args, strconv.FormatFloat(float64(i)*mul, 'g', -1, 64), prefix+strconv.Itoa(i))
	}
	return args
}

// TestZSetConversion fills sorted sets across the 128-entry limit one
// member at a time and in one command, checking encodings and contents,
// and checks the encodings of *STORE results.
func TestZSetConversion(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		for i := range 132 {
			p.check("ZADD", "a", strconv.Itoa(i%7), "m"+strconv.Itoa(i))
			p.check("OBJECT", "ENCODING", "a")
		}
		p.check("ZRANGE", "a", "0", "-1", "WITHSCORES")
		p.check("ZRANGE", "a", "(2", "5", "BYSCORE", "LIMIT", "3", "10", "WITHSCORES")
		p.check("ZREVRANGE", "a", "3", "40", "WITHSCORES")
		for i := range 132 {
			p.check("ZRANK", "a", "m"+strconv.Itoa(i))
			p.check("ZREVRANK", "a", "m"+strconv.Itoa(i))
		}
		p.check(zaddArgs("b", "x", 129, 0.5)...)
		p.check("OBJECT", "ENCODING", "b")
		p.check(zaddArgs("c", "x", 128, 0.5)...)
		p.check("OBJECT", "ENCODING", "c")
		p.check("ZUNIONSTORE", "u", "1", "b")
		p.check("OBJECT", "ENCODING", "u")
		p.check("ZREMRANGEBYRANK", "u", "0", "0")
		p.check("OBJECT", "ENCODING", "u")
		p.check("ZUNIONSTORE", "u2", "1", "u")
		p.check("OBJECT", "ENCODING", "u2")
		p.check("ZINTERSTORE", "i", "2", "b", "c", "WITHSCORES")
		p.check("ZINTERSTORE", "i", "2", "b", "c", "WEIGHTS", "1", "3")
		p.check("OBJECT", "ENCODING", "i")
		p.check("ZDIFFSTORE", "df", "2", "b", "c")
		p.check("OBJECT", "ENCODING", "df")
		p.check("ZRANGESTORE", "rs", "b", "0", "127")
		p.check("OBJECT", "ENCODING", "rs")
		p.check("ZRANGESTORE", "rs", "b", "0", "128")
		p.check("OBJECT", "ENCODING", "rs")
		p.check("ZRANGESTORE", "rs", "b", "0", "128", "REV")
		p.check("ZRANGE", "rs", "0", "-1", "WITHSCORES")
		p.check("ZADD", "lm", "1", strings.Repeat("L", 65), "2", "s")
		p.check("OBJECT", "ENCODING", "lm")
		p.check("ZREM", "lm", strings.Repeat("L", 65))
		p.check("ZUNIONSTORE", "lm2", "1", "lm")
		p.check("OBJECT", "ENCODING", "lm2")
		p.check("ZRANGESTORE", "lm3", "lm", "0", "-1")
		p.check("OBJECT", "ENCODING", "lm3")
		p.check("COPY", "b", "b2")
		p.check("OBJECT", "ENCODING", "b2")
		p.check("ZRANGE", "b2", "0", "-1", "WITHSCORES")
		p.check("ZPOPMIN", "b", "3")
		p.check("ZPOPMAX", "b", "3")
		p.check("ZMPOP", "1", "b", "MAX", "COUNT", "2")
		p.check("ZREMRANGEBYSCORE", "b", "(10", "20")
		p.check("ZREMRANGEBYRANK", "b", "-5", "-2")
		p.check("ZRANGE", "b", "0", "-1", "WITHSCORES")
		p.check("ZCOUNT", "b", "5", "(40")
		p.check("OBJECT", "ENCODING", "b")
		p.check("ZPOPMIN", "b", "1000")
		p.check("EXISTS", "b")
		// Skiplist lex operations on a same-score set.
		args := []string{"ZADD", "lex"}
		for i := range 200 {
			args = append(args, "0", "m"+strconv.Itoa(i))
		}
		p.check(args...)
		p.check("ZRANGEBYLEX", "lex", "[m1", "(m2", "LIMIT", "3", "20")
		p.check("ZREVRANGEBYLEX", "lex", "(m5", "[m1", "LIMIT", "3", "20")
		p.check("ZLEXCOUNT", "lex", "[m1", "(m2")
		p.check("ZREMRANGEBYLEX", "lex", "(m1", "[m3")
		p.check("ZRANGEBYLEX", "lex", "-", "+")
		p.checkUnordered(false, "ZRANDMEMBER", "lex", "1000")
		p.check("ZRANDMEMBER", "lex", "1000")
	})
}

// TestZSetScanGuarantee checks ZSCAN's guarantee on a skiplist-encoded set
// on both servers: every member present throughout is returned, while
// members are added and removed between calls.
func TestZSetScanGuarantee(t *testing.T) {
	p := newPair(t)
	r := rand.New(rand.NewPCG(seed(t), 3))
	for _, c := range []*rawConn{p.oracle, p.us} {
		for i := range 300 {
			c.do("ZADD", "big", strconv.Itoa(i), "stable:"+strconv.Itoa(i))
			c.do("ZADD", "big", strconv.Itoa(-i), "doomed:"+strconv.Itoa(i))
		}
	}
	p.check("OBJECT", "ENCODING", "big")
	count := strconv.Itoa(1 + r.IntN(20))
	for _, c := range []*rawConn{p.oracle, p.us} {
		added, removed := 0, 0
		seen := scanAll(t, c, []string{"ZSCAN", "big", "0", "COUNT", count}, 2, 2, func(call int) {
			if call >= 60 {
				return
			}
			for range 20 {
				c.do("ZADD", "big", "1.5", "new:"+strconv.Itoa(added))
				added++
			}
			if removed < 300 {
				c.do("ZREM", "big", "doomed:"+strconv.Itoa(removed))
				removed++
			}
		})
		for i := range 300 {
			if seen["stable:"+strconv.Itoa(i)] == 0 {
				t.Errorf("%s: ZSCAN COUNT %s missed stable:%d", c.name, count, i)
			}
		}
	}
	want := scanAll(t, p.oracle, []string{"ZSCAN", "big", "0", "MATCH", "stable:2*"}, 2, 1, nil)
	got := scanAll(t, p.us, []string{"ZSCAN", "big", "0", "MATCH", "stable:2*"}, 2, 1, nil)
	if len(want) != len(got) {
		t.Errorf("full ZSCAN MATCH differs: redis-server %d elements, redoubt %d", len(want), len(got))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("full ZSCAN MATCH: %q seen %d times by redis-server, %d by redoubt", k, n, got[k])
		}
	}
}

// TestZSetRandom sends a seeded random sequence of sorted-set commands to
// both servers, on a few keys small and large, and compares every reply
// (random-member commands by their size only).
func TestZSetRandom(t *testing.T) {
	randomSequence(t, 3000, 500, func(p *pair, s uint64, proto int) func() {
		r := rand.New(rand.NewPCG(s, uint64(proto)))
		keys := []string{"k1", "k2", "k3", "ks"}
		p.check("SADD", "ks", "m1", "m2", "m3", "7")
		member := func() string {
			if r.IntN(20) == 0 {
				return strings.Repeat("L", 60+r.IntN(10))
			}
			return "m" + strconv.Itoa(r.IntN(160))
		}
		score := func() string {
			switch r.IntN(12) {
			case 0:
				return "-inf"
			case 1:
				return "+inf"
			case 2:
				return strconv.FormatFloat(r.NormFloat64()*1e6, 'g', -1, 64)
			}
			return strconv.Itoa(r.IntN(40) - 10)
		}
		bound := func() string {
			b := score()
			if r.IntN(3) == 0 {
				b = "(" + b
			}
			return b
		}
		idx := func() string { return strconv.Itoa(r.IntN(60) - 30) }
		return func() {
			k := keys[r.IntN(3)]
			switch r.IntN(16) {
			case 0, 1, 2:
				args := []string{"ZADD", k}
				args = append(args, []string{"", "NX", "XX", "GT", "LT", "CH"}[r.IntN(6)])
				if args[2] == "" {
					args = args[:2]
				}
				for range 1 + r.IntN(40) {
					args = append(args, score(), member())
				}
				p.check(args...)
			case 3:
				p.check("ZINCRBY", k, score(), member())
			case 4:
				p.check("ZREM", k, member(), member(), member())
			case 5:
				p.check("ZRANGE", k, idx(), idx(), "WITHSCORES")
			case 6:
				p.check("ZRANGE", k, bound(), bound(), "BYSCORE", "LIMIT", strconv.Itoa(r.IntN(5)), strconv.Itoa(r.IntN(10)-1), "WITHSCORES")
			case 7:
				p.check("ZREVRANGEBYSCORE", k, bound(), bound(), "WITHSCORES")
			case 8:
				m := member()
				p.check("ZRANK", k, m)
				p.check("ZREVRANK", k, m)
				p.check("ZSCORE", k, m)
			case 9:
				p.check("ZCOUNT", k, bound(), bound())
				p.check("ZCARD", k)
			case 10:
				p.check([]string{"ZPOPMIN", "ZPOPMAX"}[r.IntN(2)], k, strconv.Itoa(r.IntN(4)))
			case 11:
				p.check("ZREMRANGEBYSCORE", k, bound(), bound())
			case 12:
				p.check("ZREMRANGEBYRANK", k, idx(), idx())
			case 13:
				op := []string{"ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"}[r.IntN(3)]
				p.check(op, keys[r.IntN(3)], "3", keys[r.IntN(4)], keys[r.IntN(4)], keys[r.IntN(4)])
			case 14:
				op := []string{"ZUNION", "ZINTER", "ZDIFF"}[r.IntN(3)]
				p.check(op, "2", keys[r.IntN(4)], keys[r.IntN(4)], "WITHSCORES")
			case 15:
				p.check("OBJECT", "ENCODING", k)
				p.check("ZRANGESTORE", keys[r.IntN(3)], k, idx(), idx())
			}
		}
	}, func(p *pair) {
		for _, k := range []string{"k1", "k2", "k3"} {
			p.check("ZRANGE", k, "0", "-1", "WITHSCORES")
			p.check("OBJECT", "ENCODING", k)
		}
	})
}
