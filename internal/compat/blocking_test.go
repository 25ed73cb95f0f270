package compat

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
)

// Blocking commands: each side gets the same connections and the same
// steps, one connection blocks, another pushes, and what the blocked one
// receives must be the same bytes. Blocked state is polled with CLIENT
// LIST (flags=b), never waited for with a sleep.

// conn2 opens another connection to each server.
func (p *pair) conn2() *pair {
	p.t.Helper()
	return &pair{
		t:          p.t,
		oracle:     dialRaw(p.t, "redis-server", p.oracleAddr),
		us:         dialRaw(p.t, "redoubt", p.usAddr),
		oracleAddr: p.oracleAddr,
		usAddr:     p.usAddr,
	}
}

// sendBoth writes a command to both servers without reading the reply.
func (p *pair) sendBoth(args ...string) {
	p.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	raw := resp.AppendCommand(nil, bs...)
	for _, c := range []*rawConn{p.oracle, p.us} {
		_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.nc.Write(raw); err != nil {
			p.t.Fatalf("%s: write: %v", c.name, err)
		}
	}
}

// expectBoth reads the next reply on both connections and compares them.
func (p *pair) expectBoth(what string) {
	p.t.Helper()
	want, got := p.oracle.read(), p.us.read()
	if !bytes.Equal(want, got) {
		p.t.Errorf("%s\n redis-server: %q\n redoubt:      %q", what, want, got)
	}
}

// blockedCount counts the blocked clients in a CLIENT LIST reply.
func blockedCount(list []byte) int {
	n := 0
	for _, line := range strings.Split(string(list), "\n") {
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "flags="); ok && strings.Contains(v, "b") {
				n++
			}
		}
	}
	return n
}

// waitBlockedBoth polls both servers through ctl until n clients are
// blocked on each.
func (p *pair) waitBlockedBoth(ctl *pair, n int) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range []*rawConn{ctl.oracle, ctl.us} {
		for list := c.do("CLIENT", "LIST"); blockedCount(list) != n; list = c.do("CLIENT", "LIST") {
			if time.Now().After(deadline) {
				p.t.Fatalf("%s: never %d blocked clients:\n%s", c.name, n, list)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// block sends a blocking command on b and waits until it blocks, n
// clients being blocked then.
func (p *pair) block(b *pair, n int, args ...string) {
	p.t.Helper()
	b.sendBoth(args...)
	p.waitBlockedBoth(p, n)
}

func TestCompatBlockingServe(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		a := p.conn2()
		if proto == 3 {
			a.helloBoth()
		}
		// Served by a push to the second key.
		p.block(a, 1, "BLPOP", "k1", "k2", "0")
		p.check("RPUSH", "k2", "x", "y")
		a.expectBoth("BLPOP k1 k2 0")
		p.check("LRANGE", "k2", "0", "-1")
		p.check("DEL", "k2")
		// BRPOP, and commands pipelined after the blocked one.
		a.sendBoth("BRPOP", "k", "0")
		a.sendBoth("ECHO", "after")
		p.waitBlockedBoth(p, 1)
		p.check("LPUSH", "k", "1", "2", "3")
		a.expectBoth("BRPOP k 0")
		a.expectBoth("ECHO after")
		p.check("LRANGE", "k", "0", "-1")
		p.check("DEL", "k")
		// BLMPOP with COUNT, BRPOPLPUSH.
		p.block(a, 1, "BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "2")
		p.check("RPUSH", "m2", "a", "b", "c")
		a.expectBoth("BLMPOP")
		p.block(a, 1, "BRPOPLPUSH", "s", "d", "0")
		p.check("RPUSH", "s", "v")
		a.expectBoth("BRPOPLPUSH")
		p.check("LRANGE", "d", "0", "-1")
		// A positive timeout under a millisecond times out (it is not 0:
		// forever); a tiny negative one blocks forever.
		a.sendBoth("BLPOP", "tiny", "0.0009")
		a.expectBoth("BLPOP tiny 0.0009")
		p.block(a, 1, "BLPOP", "tiny", "-0.0001")
		p.check("RPUSH", "tiny", "t")
		a.expectBoth("BLPOP tiny -0.0001")
		// A transaction that pushes and pops leaves nothing to serve;
		// the client stays blocked until the next push.
		p.block(a, 1, "BLPOP", "e", "0")
		p.check("MULTI")
		p.check("RPUSH", "e", "1")
		p.check("LPOP", "e")
		p.check("EXEC")
		p.waitBlockedBoth(p, 1)
		p.check("MULTI")
		p.check("RPUSH", "e", "2", "3")
		p.check("LLEN", "e")
		p.check("EXEC")
		a.expectBoth("BLPOP e 0 after EXEC")
		p.check("LRANGE", "e", "0", "-1")
		// A key that gets a string is no list to serve; a later list is.
		p.block(a, 1, "BLPOP", "t", "0")
		p.check("SET", "t", "str")
		p.check("DEL", "t")
		p.check("RPUSH", "t", "ok")
		a.expectBoth("BLPOP t 0 after a string")
		// Sorted sets.
		p.block(a, 1, "BZPOPMIN", "z1", "z2", "0")
		p.check("ZADD", "z2", "2", "b", "1", "a")
		a.expectBoth("BZPOPMIN z1 z2 0")
		p.block(a, 1, "BZPOPMAX", "z3", "0")
		p.check("ZADD", "z3", "1.5", "x")
		a.expectBoth("BZPOPMAX z3 0")
		p.block(a, 1, "BZMPOP", "0", "2", "z4", "z5", "MAX", "COUNT", "5")
		p.check("ZADD", "z4", "1", "m", "2", "n")
		a.expectBoth("BZMPOP")
		// A list key a BLPOP waits on becomes a zset: Redis 7.0 leaves
		// the client blocked; a BZPOPMIN on it is served.
		p.block(a, 1, "BLPOP", "mixed", "0")
		b := p.conn2()
		p.block(b, 2, "BZPOPMIN", "mixed", "0")
		p.check("ZADD", "mixed", "1", "z")
		b.expectBoth("BZPOPMIN mixed 0")
		p.waitBlockedBoth(p, 1)
		p.check("RPUSH", "mixed", "l")
		a.expectBoth("BLPOP mixed 0 after a zset")
		// SWAPDB brings a list to a key a client waits on.
		p.block(a, 1, "BLPOP", "sw", "0")
		p.check("SELECT", "9")
		p.check("RPUSH", "sw", "from9")
		p.check("SWAPDB", "0", "9")
		a.expectBoth("BLPOP sw 0 after SWAPDB")
		p.check("SELECT", "0")
		p.check("FLUSHALL")
	})
}

func TestCompatBlockingFIFO(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		var cs []*pair
		for i := 0; i < 3; i++ {
			c := p.conn2()
			if proto == 3 {
				c.helloBoth()
			}
			p.block(c, i+1, "BLPOP", "q", "0")
			cs = append(cs, c)
		}
		p.check("RPUSH", "q", "a", "b")
		cs[0].expectBoth("first blocked")
		cs[1].expectBoth("second blocked")
		p.waitBlockedBoth(p, 1)
		p.check("RPUSH", "q", "c", "d")
		cs[2].expectBoth("third blocked")
		p.check("LRANGE", "q", "0", "-1")
		// A chain: BLMOVE's push serves a client blocked on its
		// destination.
		p.check("DEL", "q")
		p.block(cs[0], 1, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
		p.block(cs[1], 2, "BLPOP", "dst", "0")
		p.block(cs[2], 3, "BLMOVE", "src", "dst2", "RIGHT", "LEFT", "0")
		p.check("RPUSH", "src", "v1", "v2")
		cs[0].expectBoth("BLMOVE src dst")
		cs[1].expectBoth("BLPOP dst after the chain")
		cs[2].expectBoth("BLMOVE src dst2")
		p.check("EXISTS", "src", "dst")
		p.check("LRANGE", "dst2", "0", "-1")
	})
}

func TestCompatBlockingTimeout(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		a := p.conn2()
		if proto == 3 {
			a.helloBoth()
		}
		for _, c := range [][]string{
			cmd("BLPOP k 0.05"), cmd("BRPOP k1 k2 0.01"), cmd("BRPOPLPUSH k d 0.02"),
			cmd("BLMOVE k d LEFT RIGHT 0.01"), cmd("BLMPOP 0.01 1 k LEFT"),
			cmd("BLPOP k .02"), cmd("BLPOP k 1e-2"), cmd("BZPOPMIN z 0.01"), cmd("BZPOPMAX z1 z2 0.01"),
			cmd("BZMPOP 0.01 1 z MIN"),
		} {
			a.check(c...)
		}
		// Errors are answered at once.
		for _, c := range [][]string{
			cmd("BLPOP k -1"), cmd("BLPOP k abc"), cmd("BLPOP k 1e300"), cmd("BLPOP k inf"),
			cmd("BLPOP k nan"), cmd("BLMOVE k d UP LEFT 0"), cmd("BLMPOP 0 0 k LEFT"),
			cmd("BLPOP k 9223372036854776"), cmd("BLPOP k 9223372036854775.808"),
		} {
			a.check(c...)
		}
		p.check("SET", "str", "x")
		a.check("BLPOP", "nokey", "str", "0")
		// Inside MULTI nothing blocks: the timeout reply at once.
		a.check("MULTI")
		a.check("BLPOP", "k", "0")
		a.check("BRPOPLPUSH", "k", "d", "0")
		a.check("BLMOVE", "k", "d", "LEFT", "LEFT", "0")
		a.check("BLMPOP", "0", "1", "k", "LEFT")
		a.check("BZPOPMIN", "z", "0")
		a.check("BZMPOP", "0", "1", "z", "MAX")
		a.check("EXEC")
	})
}

func TestCompatBlockingUnblock(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		a := p.conn2()
		if proto == 3 {
			a.helloBoth()
		}
		ids := [2]string{
			strings.Trim(string(a.oracle.do("CLIENT", "ID")), ":\r\n"),
			strings.Trim(string(a.us.do("CLIENT", "ID")), ":\r\n"),
		}
		unblock := func(extra ...string) {
			t.Helper()
			want := p.oracle.do(append([]string{"CLIENT", "UNBLOCK", ids[0]}, extra...)...)
			got := p.us.do(append([]string{"CLIENT", "UNBLOCK", ids[1]}, extra...)...)
			if !bytes.Equal(want, got) {
				t.Errorf("CLIENT UNBLOCK %q\n redis-server: %q\n redoubt:      %q", extra, want, got)
			}
		}
		unblock()
		p.block(a, 1, "BLPOP", "k", "0")
		unblock("TIMEOUT")
		a.expectBoth("unblocked with TIMEOUT")
		p.block(a, 1, "BLMOVE", "k", "d", "LEFT", "LEFT", "0")
		unblock("error")
		a.expectBoth("unblocked with ERROR")
		p.block(a, 1, "BRPOPLPUSH", "k", "d", "0")
		unblock("maybe")
		unblock()
		a.expectBoth("unblocked BRPOPLPUSH")
		a.check("PING")
	})
}
