package compat

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// keyCases are hand-written cases for every generic key command, option
// and error, run in order on an empty instance. Times to live are far in
// the future or absolute, so no reply depends on timing.
func keyCases() [][]string {
	return [][]string{
		// DEL, UNLINK, EXISTS, TYPE, TOUCH.
		cmd("DEL k"), cmd("SET k v"), cmd("DEL k k"), cmd("EXISTS k"), cmd("SET a 1"), cmd("SET b 2"),
		cmd("EXISTS a b a nokey"), cmd("DEL a b nokey a"), cmd("SET a 1"), cmd("UNLINK a nokey"), cmd("UNLINK a"),
		cmd("TYPE nokey"), cmd("SET s v"), cmd("TYPE s"), cmd("HSET h f v"), cmd("TYPE h"),
		cmd("TOUCH s h nokey s"), cmd("TOUCH nokey"),

		// EXPIRE family: options, errors, overflow.
		cmd("EXPIRE s 100000"), cmd("TTL s"), cmd("EXPIRE s 100000 NX"), cmd("EXPIRE s 200000 XX"), cmd("TTL s"),
		cmd("EXPIRE s 100 GT"), cmd("EXPIRE s 300000 gt"), cmd("TTL s"), cmd("EXPIRE s 400000 LT"),
		cmd("EXPIRE s 200000 lt"), cmd("TTL s"), cmd("EXPIRE s 250000 XX GT"), cmd("EXPIRE s 100000 XX LT"),
		cmd("TTL s"), cmd("EXPIRE s 10 NX XX"), cmd("EXPIRE s 10 GT LT"), cmd("EXPIRE s 10 NX GT"),
		cmd("EXPIRE s 10 LT NX"), cmd("EXPIRE s 10 FOO"), cmd("EXPIRE s abc FOO"), cmd("EXPIRE s abc"),
		cmd("EXPIRE s 1.5"), cmd("EXPIRE s 10 NX NX"), {"EXPIRE", "s", "10", "BAR\x00baz"},
		cmd("EXPIRE s 9223372036854775807"), cmd("EXPIRE s 9223372036854775"), cmd("EXPIRE s -9223372036854775808"),
		cmd("EXPIRE s -9223372036854775"), cmd("PEXPIRE s 9223372036854775807"), cmd("EXPIREAT s 9223372036854775808"),
		cmd("EXPIREAT s 9223372036854775"), cmd("EXPIRETIME s"), cmd("PEXPIRETIME s"),
		cmd("PEXPIREAT s 9223372036854775807"), cmd("PEXPIRETIME s"), cmd("EXPIRETIME s"),
		cmd("EXPIRE nokey 100"), cmd("EXPIRE nokey 100 XX"), cmd("PEXPIRE nokey 100"), cmd("EXPIREAT nokey 100"),
		cmd("PERSIST s"), cmd("TTL s"), cmd("PERSIST s"), cmd("PERSIST nokey"), cmd("EXPIRE s 100 GT"),
		cmd("EXPIRE s 100 XX"), cmd("EXPIRE s 100000 LT"), cmd("TTL s"), cmd("PERSIST s"),
		cmd("TTL nokey"), cmd("PTTL nokey"), cmd("EXPIRETIME nokey"), cmd("PEXPIRETIME nokey"),
		cmd("TTL s"), cmd("PTTL s"), cmd("EXPIRETIME s"), cmd("PEXPIRETIME s"),
		cmd("EXPIREAT s 4102444800"), cmd("EXPIRETIME s"), cmd("PEXPIRETIME s"),
		cmd("PEXPIREAT s 4102444800499"), cmd("EXPIRETIME s"), cmd("PEXPIREAT s 4102444800500"),
		cmd("EXPIRETIME s"), cmd("PEXPIRETIME s"), cmd("PEXPIRE s 100000000"), cmd("TTL s"),
		// A time in the past deletes the key, whatever the options.
		cmd("SET p v"), cmd("EXPIRE p -1"), cmd("EXISTS p"), cmd("SET p v"), cmd("EXPIREAT p 1"), cmd("GET p"),
		cmd("SET p v"), cmd("PEXPIRE p 0"), cmd("EXISTS p"), cmd("SET p v"), cmd("EXPIRE p -5 NX"), cmd("EXISTS p"),
		cmd("SET p v"), cmd("EXPIRE p -5 GT"), cmd("EXPIRE p -5 LT"), cmd("EXISTS p"),
		cmd("SET p v EX 100000"), cmd("EXPIRE p 0 LT"), cmd("EXISTS p"),

		// RENAME, RENAMENX.
		cmd("RENAME nokey x"), cmd("RENAMENX nokey x"), cmd("RENAME nokey nokey"), cmd("RENAME s s"),
		cmd("RENAMENX s s"), cmd("RENAME s s2"), cmd("EXISTS s"), cmd("GET s2"), cmd("EXPIRETIME s2"),
		cmd("SET plain v"), cmd("RENAME s2 plain"), cmd("EXPIRETIME plain"), cmd("RENAME h plain"),
		cmd("TYPE plain"), cmd("EXPIRETIME plain"), cmd("HGETALL plain"), cmd("SET x 1"),
		cmd("RENAMENX plain x"), cmd("RENAMENX plain newname"), cmd("TYPE newname"), cmd("EXISTS plain"),

		// COPY.
		cmd("SET src v"), cmd("COPY src dst"), cmd("GET dst"), cmd("COPY src dst"), cmd("SET src v2"),
		cmd("COPY src dst REPLACE"), cmd("GET dst"), cmd("COPY src src"), cmd("COPY src src REPLACE"),
		cmd("COPY src src DB 0"), cmd("COPY src src DB 1"), cmd("COPY src x DB 99"), cmd("COPY src x DB -1"),
		cmd("COPY src x DB abc"), cmd("COPY src x DB 4294967296"), cmd("COPY src x DB"), cmd("COPY src x FOO"),
		cmd("COPY src x REPLACE FOO"), cmd("COPY nokey x"), cmd("COPY nokey x DB 99"), cmd("COPY src x db 1 replace"),
		cmd("SELECT 1"), cmd("GET src"), cmd("GET x"), cmd("COPY src x DB 1"), cmd("SELECT 0"),
		cmd("HSET hh a 1 b 2"), cmd("COPY hh hh2"), cmd("HSET hh2 c 3"), cmd("HDEL hh2 a"), cmd("HGETALL hh"),
		cmd("HGETALL hh2"), cmd("OBJECT ENCODING hh2"), cmd("EXPIRE src 100000"), cmd("COPY src src3"),
		cmd("TTL src3"), cmd("COPY src3 src4 DB 2"),

		// MOVE.
		cmd("MOVE src 1"), cmd("MOVE src 0"), cmd("MOVE src 99"), cmd("MOVE src -1"), cmd("MOVE src x"),
		cmd("MOVE src 2147483648"), cmd("MOVE nokey 1"), cmd("MOVE nokey 0"), cmd("MOVE src3 3"), cmd("EXISTS src3"),
		cmd("SELECT 3"), cmd("TTL src3"), cmd("GET src3"), cmd("MOVE src3 0"), cmd("SELECT 0"), cmd("MOVE hh 2"),
		cmd("SELECT 2"), cmd("HGETALL hh"), cmd("TTL src4"), cmd("SELECT 0"),

		// SWAPDB.
		cmd("DBSIZE"), cmd("SWAPDB 0 2"), cmd("DBSIZE"), cmd("GET src4"), cmd("HGETALL hh"), cmd("SWAPDB 0 2"),
		cmd("DBSIZE"), cmd("SWAPDB x 0"), cmd("SWAPDB 0 x"), cmd("SWAPDB x y"), cmd("SWAPDB 0 99"),
		cmd("SWAPDB -1 0"), cmd("SWAPDB 0 0"), cmd("SWAPDB 2147483648 0"), cmd("DBSIZE"),

		// OBJECT.
		cmd("OBJECT ENCODING nokey"), cmd("OBJECT ENCODING src"), cmd("OBJECT ENCODING hh2"),
		cmd("OBJECT REFCOUNT nokey"), cmd("OBJECT REFCOUNT src"), cmd("OBJECT REFCOUNT hh2"),
		cmd("OBJECT FREQ nokey"), cmd("OBJECT FREQ src"), cmd("OBJECT IDLETIME nokey"),
		cmd("OBJECT HELP"), cmd("object help"), cmd("OBJECT help extra"), cmd("OBJECT FOO"), cmd("OBJECT"),
		cmd("OBJECT ENCODING"), cmd("OBJECT ENCODING a b"),
		cmd("SET n 5"), cmd("OBJECT REFCOUNT n"), cmd("SET n 0"), cmd("OBJECT REFCOUNT n"), cmd("SET n 9999"),
		cmd("OBJECT REFCOUNT n"), cmd("SET n 10000"), cmd("OBJECT REFCOUNT n"), cmd("SET n -1"),
		cmd("OBJECT REFCOUNT n"), cmd("SET n 07"), cmd("OBJECT REFCOUNT n"), cmd("OBJECT ENCODING n"),
		cmd("SET n 42"), cmd("COPY n n2"), cmd("OBJECT REFCOUNT n2"), cmd("OBJECT ENCODING n2"),
		cmd("RENAME n n3"), cmd("OBJECT REFCOUNT n3"), cmd("OBJECT ENCODING n3"),

		// FLUSHDB, FLUSHALL, RANDOMKEY and SCAN on an empty database.
		cmd("FLUSHDB FOO"), cmd("FLUSHDB SYNC extra"), cmd("FLUSHALL FOO"), cmd("FLUSHALL ASYNC extra"),
		cmd("DBSIZE"), cmd("FLUSHDB"), cmd("DBSIZE"), cmd("RANDOMKEY"), cmd("SELECT 1"), cmd("DBSIZE"),
		cmd("FLUSHDB async"), cmd("DBSIZE"), cmd("SELECT 2"), cmd("DBSIZE"), cmd("FLUSHALL sync"), cmd("DBSIZE"),
		cmd("SELECT 0"), cmd("FLUSHALL"), cmd("SCAN 0"), cmd("SCAN -1"), {"SCAN", ""}, cmd("SCAN +0"),
		cmd("SCAN 18446744073709551615"), cmd("SCAN 0 COUNT 100 MATCH * TYPE string"),
		cmd("KEYS *"), cmd("RANDOMKEY"),

		// SCAN errors.
		cmd("SCAN x"), {"SCAN", " 1"}, cmd("SCAN 1x"), cmd("SCAN 18446744073709551616"), cmd("SCAN -"),
		cmd("SCAN +"), cmd("SCAN 0x10"), cmd("SCAN 1.0"), cmd("SCAN x COUNT 0"), cmd("SCAN 0 COUNT 0"),
		cmd("SCAN 0 COUNT -1"), cmd("SCAN 0 COUNT x"), cmd("SCAN 0 COUNT 9223372036854775808"),
		cmd("SCAN 0 MATCH"), cmd("SCAN 0 COUNT"), cmd("SCAN 0 TYPE"), cmd("SCAN 0 FOO bar"),
		cmd("SCAN 0 COUNT 10 FOO"), cmd("SCAN 0 match * count 9223372036854775807"),

		// WRONGTYPE does not apply: key commands work on every type.
		cmd("HSET h f v"), cmd("SET s v"), cmd("EXPIRE h 100000"), cmd("TTL h"), cmd("RENAME h s"),
		cmd("TYPE s"), cmd("COPY s h"), cmd("TYPE h"), cmd("DEL h s"),
	}
}

// TestKeys compares every hand-written generic key case with
// redis-server, under RESP2 and RESP3.
func TestKeys(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll(keyCases())
	})
}

// TestKeysPatterns checks KEYS and SCAN's MATCH and TYPE filters on a
// small keyspace, where one SCAN call returns every key with cursor 0 on
// both servers and only the order differs.
func TestKeysPatterns(t *testing.T) {
	p := newPair(t)
	for _, c := range [][]string{
		cmd("SET one 1"), cmd("SET two 2"), cmd("SET three 3"), cmd("HSET hash f v"), cmd("SET h?llo x"),
		cmd("SET hello x"), cmd("SET hallo x"), cmd("SET Hello x"), {"SET", "bin\x00ary", "x"},
	} {
		p.check(c...)
	}
	for _, pat := range []string{"*", "t*", "*o", "h?llo", "h[ae]llo", "h[^e]llo", "h\\?llo", "[a-z]*", "*e*",
		"nomatch", "", "HELLO", "bin*", "[", "h[a-", "\\"} {
		p.checkUnordered(false, "KEYS", pat)
		p.checkScanSmall("SCAN", "0", "MATCH", pat)
	}
	for _, typ := range []string{"string", "STRING", "hash", "Hash", "list", "none", "foo"} {
		p.checkScanSmall("SCAN", "0", "TYPE", typ)
		p.checkScanSmall("SCAN", "0", "TYPE", typ, "MATCH", "h*", "COUNT", "1000")
	}
	p.checkScanSmall("SCAN", "0")
	p.checkScanSmall("SCAN", "0", "COUNT", "1000")
	p.check("DBSIZE")

	// Keys that expired but were never touched: KEYS and SCAN skip them
	// (whether lazily or because active expiry removed them first). A probe
	// key with the same expiry is the one touched, to see when both
	// servers have passed it.
	at := strconv.FormatInt(p.serverMillis()+30, 10)
	p.check("SET", "probe", "v")
	for _, k := range []string{"one", "hash", "hello", "probe"} {
		p.check("PEXPIREAT", k, at)
	}
	p.check("PEXPIRE", "two", "100000000")
	testutil.WaitFor(t, 10*time.Second, "the probe key to expire on both servers", func() bool {
		return string(p.oracle.do("EXISTS", "probe")) == ":0\r\n" && string(p.us.do("EXISTS", "probe")) == ":0\r\n"
	})
	p.checkUnordered(false, "KEYS", "*")
	p.checkScanSmall("SCAN", "0", "COUNT", "1000")
	p.checkScanSmall("SCAN", "0", "TYPE", "string")
	p.check("EXISTS", "one", "hash", "hello", "two")
	p.check("DBSIZE")
}

// serverMillis reads redis-server's clock with TIME.
func (p *pair) serverMillis() int64 {
	p.t.Helper()
	v := decodeReply(p.t, p.oracle.do("TIME"))
	sec, _ := strconv.ParseInt(string(v.Elems[0].Str), 10, 64)
	usec, _ := strconv.ParseInt(string(v.Elems[1].Str), 10, 64)
	return sec*1000 + usec/1000
}

// TestKeysScanGuarantee checks SCAN's guarantee on both servers: a full
// iteration returns every key that is present from start to end, while
// keys are added (growing the table through several resizes) and deleted
// between calls.
func TestKeysScanGuarantee(t *testing.T) {
	p := newPair(t)
	r := rand.New(rand.NewPCG(seed(t), 1))
	for _, c := range []*rawConn{p.oracle, p.us} {
		c.do("FLUSHALL")
		for i := range 500 {
			c.do("SET", "stable:"+strconv.Itoa(i), "v")
			c.do("SET", "doomed:"+strconv.Itoa(i), "v")
		}
	}
	count := strconv.Itoa(1 + r.IntN(20))
	for _, c := range []*rawConn{p.oracle, p.us} {
		added, deleted := 0, 0
		seen := scanAll(t, c, []string{"SCAN", "0", "COUNT", count}, 1, 1, func(call int) {
			if call >= 60 {
				return // stop growing, so the scan can finish
			}
			for range 40 {
				c.do("SET", "new:"+strconv.Itoa(added), "v")
				added++
			}
			if deleted < 500 {
				c.do("DEL", "doomed:"+strconv.Itoa(deleted))
				deleted++
			}
		})
		for i := range 500 {
			if seen["stable:"+strconv.Itoa(i)] == 0 {
				t.Errorf("%s: SCAN COUNT %s missed stable:%d", c.name, count, i)
			}
		}
		for k := range seen {
			if !strings.HasPrefix(k, "stable:") && !strings.HasPrefix(k, "doomed:") && !strings.HasPrefix(k, "new:") {
				t.Errorf("%s: SCAN returned unknown key %q", c.name, k)
			}
		}
		t.Logf("%s: %d distinct keys seen, %d added, %d deleted during the scan", c.name, len(seen), added, deleted)
	}
	// With nothing changing, a full iteration returns exactly the keyspace
	// on both servers (duplicates are allowed, missing keys are not).
	want := scanAll(t, p.oracle, []string{"SCAN", "0", "COUNT", "7", "MATCH", "stable:1*"}, 1, 1, nil)
	got := scanAll(t, p.us, []string{"SCAN", "0", "COUNT", "7", "MATCH", "stable:1*"}, 1, 1, nil)
	if !sameKeys(want, got) {
		t.Errorf("full SCAN MATCH differs: redis-server %d keys, redoubt %d keys", len(want), len(got))
	}
}

// TestKeysRandom sends a seeded random mix of key, string and hash
// commands over a few keys in three databases to both servers.
func TestKeysRandom(t *testing.T) {
	randomSequence(t, 4000, 600, func(p *pair, s uint64, proto int) func() {
		g := &mixGen{r: rand.New(rand.NewPCG(s, uint64(proto)))}
		return func() { g.step(p, true) }
	}, func(p *pair) {
		p.checkScanSmall("SCAN", "0", "COUNT", "1000")
	})
}
