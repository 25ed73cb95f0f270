package compat

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/resp"
)

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
