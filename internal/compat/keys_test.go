package compat

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
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
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			p := newPair(t)
			if proto == 3 {
				p.helloBoth()
			}
			for _, c := range keyCases() {
				p.check(c...)
			}
		})
	}
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
	// (whether lazily or because active expiry removed them first).
	at := p.serverMillis() + 30
	for _, k := range []string{"one", "hash", "hello"} {
		p.check("PEXPIREAT", k, strconv.FormatInt(at, 10))
	}
	p.check("PEXPIRE", "two", "100000000")
	for p.serverMillis() <= at+1 {
		time.Sleep(2 * time.Millisecond)
	}
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

// decodeReply decodes one raw reply.
func decodeReply(t testing.TB, raw []byte) resp.Value {
	t.Helper()
	v, err := resp.NewReader(bytes.NewReader(raw), resp.DefaultLimits()).ReadValue()
	if err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return v
}

// scanReply splits a SCAN-style reply into its cursor and elements; ok is
// false for any other reply (an error).
func scanReply(t testing.TB, raw []byte) (cursor string, elems []string, ok bool) {
	t.Helper()
	v := decodeReply(t, raw)
	if v.Type != resp.TypeArray || len(v.Elems) != 2 {
		return "", nil, false
	}
	for _, e := range v.Elems[1].Elems {
		elems = append(elems, string(e.Str))
	}
	return string(v.Elems[0].Str), elems, true
}

// checkScanSmall compares a SCAN or HSCAN that is expected to finish in one
// call (cursor 0 on both servers) as a set of elements (field-value pairs
// for pairs-style replies are compared as the sorted list of elements,
// which is enough since fields are unique). Errors must be identical.
func (p *pair) checkScanSmall(args ...string) {
	p.t.Helper()
	want, got := p.oracle.do(args...), p.us.do(args...)
	wc, we, wok := scanReply(p.t, want)
	gc, ge, gok := scanReply(p.t, got)
	if !wok || !gok {
		if !bytes.Equal(want, got) {
			p.t.Errorf("%s\n redis-server: %q\n redoubt:      %q", fmtCmd(args), want, got)
		}
		return
	}
	if wc != "0" || gc != "0" {
		p.t.Errorf("%s: not finished in one call: redis-server cursor %s, redoubt cursor %s", fmtCmd(args), wc, gc)
		return
	}
	slices.Sort(we)
	slices.Sort(ge)
	if !slices.Equal(we, ge) {
		p.t.Errorf("%s (as a set)\n redis-server: %q\n redoubt:      %q", fmtCmd(args), we, ge)
	}
}

// scanAll runs a whole SCAN-style iteration on c: args holds the command
// with "0" at the cursor index ci. Between calls it runs between(i), which
// may change the collection. It returns how often each element (or field,
// with step 2) came back.
func scanAll(t testing.TB, c *rawConn, args []string, ci, step int, between func(call int)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	args = slices.Clone(args)
	args[ci] = "0"
	for call := 0; ; call++ {
		cursor, elems, ok := scanReply(t, c.do(args...))
		if !ok {
			t.Fatalf("%s: %s did not answer a scan", c.name, fmtCmd(args))
		}
		for i := 0; i < len(elems); i += step {
			seen[elems[i]]++
		}
		if cursor == "0" {
			return seen
		}
		if call > 1_000_000 {
			t.Fatalf("%s: %s never finished", c.name, fmtCmd(args))
		}
		args[ci] = cursor
		if between != nil {
			between(call)
		}
	}
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

// sameKeys reports whether two multisets have the same elements.
func sameKeys(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if b[k] == 0 {
			return false
		}
	}
	return true
}

// checkNear compares integer replies that depend on the clock (TTL, PTTL,
// EXPIRETIME of a relative expiry) within tol; -1 and -2 must be equal and
// anything else byte-identical.
func (p *pair) checkNear(tol int64, args ...string) {
	p.t.Helper()
	want, got := p.oracle.do(args...), p.us.do(args...)
	if bytes.Equal(want, got) {
		return
	}
	w, g := decodeReply(p.t, want), decodeReply(p.t, got)
	if w.Type == resp.TypeInteger && g.Type == resp.TypeInteger && w.Int >= 0 && g.Int >= 0 &&
		max(w.Int-g.Int, g.Int-w.Int) <= tol {
		return
	}
	p.t.Errorf("%s (within %d)\n redis-server: %q\n redoubt:      %q", fmtCmd(args), tol, want, got)
}

// checkRandomKey checks RANDOMKEY by its properties: null on both or on
// neither, and a key that exists.
func (p *pair) checkRandomKey() {
	p.t.Helper()
	want, got := p.oracle.do("RANDOMKEY"), p.us.do("RANDOMKEY")
	wv, gv := decodeReply(p.t, want), decodeReply(p.t, got)
	if wv.Null != gv.Null {
		p.t.Errorf("RANDOMKEY\n redis-server: %q\n redoubt:      %q", want, got)
		return
	}
	if !gv.Null {
		if r := p.us.do("EXISTS", string(gv.Str)); string(r) != ":1\r\n" {
			p.t.Errorf("RANDOMKEY returned %q, which does not exist (%q)", gv.Str, r)
		}
	}
}

// TestKeysRandom sends a seeded random mix of key, string and hash
// commands over a few keys in three databases to both servers.
func TestKeysRandom(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 600
	}
	s := seed(t)
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			p := newPair(t)
			if proto == 3 {
				p.helloBoth()
			}
			g := &mixGen{r: rand.New(rand.NewPCG(s, uint64(proto)))}
			for i := 0; i < n && !t.Failed(); i++ {
				g.step(p, true)
			}
			p.checkScanSmall("SCAN", "0", "COUNT", "1000")
		})
	}
}

// mixGen makes random commands over keys k0…k5 in databases 0…2: strings,
// hashes that cross the listpack limits, and the generic key commands.
type mixGen struct {
	r  *rand.Rand
	db int
}

func (g *mixGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *mixGen) key() string { return "k" + strconv.Itoa(g.r.IntN(6)) }

// field is a hash field: mostly from a small set, sometimes from a large
// one (to pass 512 entries) and rarely longer than 64 bytes.
func (g *mixGen) field() string {
	switch g.r.IntN(20) {
	case 0:
		return "long-field-" + strings.Repeat("f", 60)
	case 1, 2, 3, 4:
		return "f" + strconv.Itoa(g.r.IntN(700))
	}
	return "f" + strconv.Itoa(g.r.IntN(8))
}

// hvalue is a hash value: numbers, floats, text, empty and rarely long.
func (g *mixGen) hvalue() string {
	switch g.r.IntN(12) {
	case 0:
		return strings.Repeat("v", 60+g.r.IntN(10))
	case 1, 2, 3:
		return strconv.Itoa(g.r.IntN(2000) - 1000)
	case 4:
		return g.pick("1.5", "0.1", "-2.25", "1e3", "3.0", "abc", "", "9223372036854775807", "-0")
	}
	return "v" + strconv.Itoa(g.r.IntN(100))
}

// checkHash compares a reply whose order follows the hash's layout: exact
// for a listpack, as a set for a hashtable (asked of the oracle first).
func (p *pair) checkHash(key string, pairs bool, args ...string) {
	p.t.Helper()
	if string(p.oracle.do("OBJECT", "ENCODING", key)) == "$9\r\nhashtable\r\n" {
		p.checkUnordered(pairs, args...)
		return
	}
	p.check(args...)
}

// step sends one random command; keysToo adds the generic key commands
// (TestHashRandom leaves them out to focus on hashes).
func (g *mixGen) step(p *pair, keysToo bool) {
	k := g.key()
	n := 24
	if keysToo {
		n = 44
	}
	switch g.r.IntN(n) {
	case 0, 1:
		args := []string{"HSET", k}
		for i := 1 + g.r.IntN(3); i > 0; i-- {
			args = append(args, g.field(), g.hvalue())
		}
		p.check(args...)
	case 2:
		// A batch of new fields, to cross 512 entries.
		args := []string{g.pick("HSET", "HMSET"), k}
		base := g.r.IntN(600)
		for i := range 50 + g.r.IntN(150) {
			args = append(args, "f"+strconv.Itoa(base+i), strconv.Itoa(i))
		}
		p.check(args...)
	case 3:
		p.check("HSETNX", k, g.field(), g.hvalue())
	case 4, 5:
		p.check("HGET", k, g.field())
	case 6:
		p.check("HMGET", k, g.field(), g.field(), g.field())
	case 7:
		args := []string{"HDEL", k}
		for i := 1 + g.r.IntN(4); i > 0; i-- {
			args = append(args, g.field())
		}
		p.check(args...)
	case 8:
		if g.r.IntN(3) == 0 {
			// Delete a whole range of the batch fields at once.
			args := []string{"HDEL", k}
			base := g.r.IntN(600)
			for i := range 200 {
				args = append(args, "f"+strconv.Itoa(base+i))
			}
			p.check(args...)
			return
		}
		p.check(g.pick("HLEN", "HSTRLEN"), k, g.field())
	case 9:
		p.check("HEXISTS", k, g.field())
	case 10:
		p.checkHash(k, true, "HGETALL", k)
	case 11:
		p.checkHash(k, false, g.pick("HKEYS", "HVALS"), k)
	case 12:
		p.check("HINCRBY", k, g.field(), g.pick("1", "-3", "100", "x", "9223372036854775807", "-9223372036854775808"))
	case 13:
		p.check("HINCRBYFLOAT", k, g.field(), g.pick("0.1", "-0.2", "1.5", "1e-3", "3.0e2", "x", "inf", "1e308", "5"))
	case 14:
		p.check("OBJECT", "ENCODING", k)
	case 15:
		p.check("HSTRLEN", k, g.field())
	case 16:
		if string(p.oracle.do("OBJECT", "ENCODING", k)) == "$8\r\nlistpack\r\n" {
			p.check("HSCAN", k, "0", "COUNT", g.pick("1", "10"), "MATCH", g.pick("*", "f1*", "long*"))
		} else {
			p.check("TYPE", k)
		}
	case 17:
		g.checkRandField(p, k)
	case 18:
		p.check("SET", k, g.hvalue())
	case 19:
		p.check("GET", k)
	case 20:
		p.check("TYPE", k)
	case 21:
		p.check("HLEN", k)
	case 22:
		p.check("EXISTS", k, g.key())
	case 23:
		p.check("DEL", k)

	// Generic key commands.
	case 24, 25:
		p.check(g.pick("RENAME", "RENAMENX"), k, g.key())
	case 26, 27:
		args := []string{"COPY", k, g.key()}
		if g.r.IntN(2) == 0 {
			args = append(args, "DB", strconv.Itoa(g.r.IntN(3)))
		}
		if g.r.IntN(2) == 0 {
			args = append(args, "REPLACE")
		}
		p.check(args...)
	case 28:
		p.check("MOVE", k, strconv.Itoa(g.r.IntN(3)))
	case 29, 30:
		g.db = g.r.IntN(3)
		p.check("SELECT", strconv.Itoa(g.db))
	case 31:
		args := []string{g.pick("EXPIRE", "PEXPIRE"), k, g.pick("100000", "200000", "300000000", "-1")}
		if g.r.IntN(2) == 0 {
			args = append(args, g.pick("NX", "XX", "GT", "LT"))
		}
		p.check(args...)
	case 32:
		p.checkNear(1, "TTL", k)
	case 33:
		p.checkNear(2000, "PTTL", k)
	case 34:
		p.check("PERSIST", k)
	case 35:
		p.check("DBSIZE")
	case 36:
		p.checkUnordered(false, "KEYS", g.pick("*", "k[0-2]", "*3"))
	case 37:
		p.checkScanSmall("SCAN", "0", "COUNT", "100", "TYPE", g.pick("hash", "string"))
	case 38:
		p.checkRandomKey()
	case 39:
		if g.r.IntN(4) == 0 {
			p.check("SWAPDB", strconv.Itoa(g.r.IntN(3)), strconv.Itoa(g.r.IntN(3)))
			return
		}
		p.check("TOUCH", k, g.key())
	case 40:
		if g.r.IntN(10) == 0 {
			p.check("FLUSHDB")
			return
		}
		p.check("OBJECT", "REFCOUNT", k)
	case 41:
		p.check("UNLINK", k)
	case 42:
		p.check("EXPIREAT", k, g.pick("4102444800", "1"))
		p.check("EXPIRETIME", k)
	case 43:
		p.check("TYPE", k)
		p.check("OBJECT", "ENCODING", k)
	}
}

// checkRandField checks HRANDFIELD by its properties against the
// oracle's view of the hash.
func (g *mixGen) checkRandField(p *pair, k string) {
	p.t.Helper()
	count := g.r.IntN(12) - 6
	args := []string{"HRANDFIELD", k, strconv.Itoa(count)}
	if g.r.IntN(2) == 0 {
		args = append(args, "WITHVALUES")
	}
	all := decodeReply(p.t, p.oracle.do("HGETALL", k))
	if all.Type != resp.TypeArray && all.Type != resp.TypeMap {
		p.check(args...) // WRONGTYPE
		return
	}
	hash := map[string]string{}
	for i := 0; i+1 < len(all.Elems); i += 2 {
		hash[string(all.Elems[i].Str)] = string(all.Elems[i+1].Str)
	}
	checkRandFieldReply(p.t, hash, args, decodeReply(p.t, p.us.do(args...)))
}

// checkRandFieldReply checks one HRANDFIELD reply of Redoubt against the
// hash it was drawn from: size, membership, values, and uniqueness for a
// positive count.
func checkRandFieldReply(t testing.TB, hash map[string]string, args []string, v resp.Value) {
	t.Helper()
	count, _ := strconv.Atoi(args[2])
	withValues := len(args) > 3
	want := count
	if count < 0 {
		want = -count
	} else if count > len(hash) {
		want = len(hash)
	}
	if len(hash) == 0 {
		want = 0
	}
	var fields, values []string
	for i := 0; i < len(v.Elems); i++ {
		e := v.Elems[i]
		switch {
		case withValues && e.Type == resp.TypeArray && len(e.Elems) == 2: // RESP3
			fields = append(fields, string(e.Elems[0].Str))
			values = append(values, string(e.Elems[1].Str))
		case withValues && i+1 < len(v.Elems):
			fields = append(fields, string(e.Str))
			values = append(values, string(v.Elems[i+1].Str))
			i++
		default:
			fields = append(fields, string(e.Str))
		}
	}
	if len(fields) != want {
		t.Errorf("%s: %d fields, want %d: %q", fmtCmd(args), len(fields), want, fields)
		return
	}
	seen := map[string]bool{}
	for i, f := range fields {
		val, ok := hash[f]
		if !ok {
			t.Errorf("%s: field %q is not in the hash", fmtCmd(args), f)
		}
		if withValues && values[i] != val {
			t.Errorf("%s: field %q has value %q, want %q", fmtCmd(args), f, values[i], val)
		}
		if count > 0 && seen[f] {
			t.Errorf("%s: field %q repeated with a positive count", fmtCmd(args), f)
		}
		seen[f] = true
	}
}
