package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// waitBlocked polls until n clients are blocked.
func waitBlocked(t *testing.T, s *Server, n int) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%d blocked clients", n), func() bool { return s.eng.BlockedClients() == n })
}

// sendCmd writes one command without reading its reply.
func (c *client) sendCmd(args ...string) {
	c.t.Helper()
	var b strings.Builder
	b.WriteString("*" + itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	c.send(b.String())
}

func TestBlockServedByPush(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	a.sendCmd("BLPOP", "k1", "k2", "0")
	waitBlocked(t, s, 1)
	if got := b.do("CLIENT", "LIST"); !strings.Contains(got, "flags=b ") || !strings.Contains(got, "cmd=blpop") {
		t.Errorf("CLIENT LIST of a blocked client: %q", got)
	}
	if got := b.do("RPUSH", "k2", "x", "y"); got != ":2\r\n" {
		t.Fatalf("RPUSH: %q", got)
	}
	if got := a.reply(); got != "*2\r\n$2\r\nk2\r\n$1\r\nx\r\n" {
		t.Fatalf("BLPOP served: %q", got)
	}
	waitBlocked(t, s, 0)
	if got := b.do("LRANGE", "k2", "0", "-1"); got != "*1\r\n$1\r\ny\r\n" {
		t.Fatalf("left: %q", got)
	}
	if got := a.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("after: %q", got)
	}
}

func TestBlockTimeout(t *testing.T) {
	s := startServer(t, Options{})
	a := dial(t, s.Addrs()[0])
	start := time.Now()
	if got := a.do("BLPOP", "k", "0.15"); got != "*-1\r\n" {
		t.Fatalf("BLPOP timeout: %q", got)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	a.do("HELLO", "3")
	if got := a.do("BLPOP", "k", "0.01"); got != "_\r\n" {
		t.Fatalf("BLPOP timeout under RESP3: %q", got)
	}
	if got := a.do("BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"); got != "_\r\n" {
		t.Fatalf("BLMOVE timeout under RESP3: %q", got)
	}
	waitBlocked(t, s, 0)
}

func TestBlockFIFOAndPipeline(t *testing.T) {
	s := startServer(t, Options{})
	addr := s.Addrs()[0]
	p := dial(t, addr)
	var cs []*client
	for i := 0; i < 3; i++ {
		c := dial(t, addr)
		// The commands after BLPOP run once it is served, in order.
		c.send("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*2\r\n$4\r\nECHO\r\n$" + itoa(len(itoa(i))) + "\r\n" + itoa(i) + "\r\n")
		waitBlocked(t, s, i+1)
		cs = append(cs, c)
	}
	if got := p.do("RPUSH", "q", "a", "b", "c"); got != ":3\r\n" {
		t.Fatalf("RPUSH: %q", got)
	}
	for i, c := range cs {
		want := "*2\r\n$1\r\nq\r\n$1\r\n" + string(rune('a'+i)) + "\r\n"
		if got := c.reply(); got != want {
			t.Errorf("client %d: %q, want %q", i, got, want)
		}
		if got := c.reply(); got != "$1\r\n"+itoa(i)+"\r\n" {
			t.Errorf("client %d pipelined ECHO: %q", i, got)
		}
	}
}

func TestBlockLMoveChain(t *testing.T) {
	s := startServer(t, Options{})
	addr := s.Addrs()[0]
	a, b, p := dial(t, addr), dial(t, addr), dial(t, addr)
	a.sendCmd("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
	waitBlocked(t, s, 1)
	b.sendCmd("BLPOP", "dst", "0")
	waitBlocked(t, s, 2)
	p.do("LPUSH", "src", "v")
	if got := a.reply(); got != "$1\r\nv\r\n" {
		t.Fatalf("BLMOVE: %q", got)
	}
	if got := b.reply(); got != "*2\r\n$3\r\ndst\r\n$1\r\nv\r\n" {
		t.Fatalf("BLPOP on the destination: %q", got)
	}
	if got := p.do("EXISTS", "src", "dst"); got != ":0\r\n" {
		t.Fatalf("EXISTS: %q", got)
	}
}

// TestBlockServedAfterExec checks that a transaction runs whole before a
// client blocked on a key it fills is served.
func TestBlockServedAfterExec(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	a.sendCmd("BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	b.do("MULTI")
	b.do("RPUSH", "k", "1", "2")
	b.do("LLEN", "k")
	if got := b.do("EXEC"); got != "*2\r\n:2\r\n:2\r\n" {
		t.Fatalf("EXEC: %q", got)
	}
	if got := a.reply(); got != "*2\r\n$1\r\nk\r\n$1\r\n1\r\n" {
		t.Fatalf("BLPOP: %q", got)
	}
	// Inside MULTI a blocking command never blocks.
	a.do("MULTI")
	a.do("BLPOP", "nokey", "0")
	a.do("BRPOPLPUSH", "nokey", "x", "0")
	if got := a.do("EXEC"); got != "*2\r\n*-1\r\n$-1\r\n" {
		t.Fatalf("blocking commands in EXEC: %q", got)
	}
}

func TestBlockedClientLeaves(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	a.sendCmd("BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	a.nc.Close()
	waitBlocked(t, s, 0)
	b.do("RPUSH", "k", "v")
	if got := b.do("LLEN", "k"); got != ":1\r\n" {
		t.Fatalf("the element went to a client that left: LLEN %q", got)
	}
}

func TestBlockedClientKilled(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	id := strings.TrimSuffix(strings.TrimPrefix(a.do("CLIENT", "ID"), ":"), "\r\n")
	a.sendCmd("BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	if got := b.do("CLIENT", "KILL", "ID", id); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL: %q", got)
	}
	if !a.closed() {
		t.Fatal("killed blocked client still connected")
	}
	waitBlocked(t, s, 0)
}

func TestBlockedClientShutdown(t *testing.T) {
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	a := dial(t, s.Addrs()[0])
	a.sendCmd("BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a blocked client: %v", err)
	}
	if !a.closed() {
		t.Fatal("blocked client still connected after shutdown")
	}
}

func TestClientUnblock(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	id := strings.TrimSuffix(strings.TrimPrefix(a.do("CLIENT", "ID"), ":"), "\r\n")
	if got := b.do("CLIENT", "UNBLOCK", id); got != ":0\r\n" {
		t.Fatalf("CLIENT UNBLOCK of a client not blocked: %q", got)
	}
	a.sendCmd("BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	if got := b.do("CLIENT", "UNBLOCK", id); got != ":1\r\n" {
		t.Fatalf("CLIENT UNBLOCK: %q", got)
	}
	if got := a.reply(); got != "*-1\r\n" {
		t.Fatalf("unblocked with TIMEOUT: %q", got)
	}
	a.sendCmd("BRPOP", "k", "0")
	waitBlocked(t, s, 1)
	if got := b.do("CLIENT", "UNBLOCK", id, "error"); got != ":1\r\n" {
		t.Fatalf("CLIENT UNBLOCK ERROR: %q", got)
	}
	if got := a.reply(); got != "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" {
		t.Fatalf("unblocked with ERROR: %q", got)
	}
	if got := b.do("CLIENT", "UNBLOCK", id, "later"); got != "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n" {
		t.Fatalf("bad reason: %q", got)
	}
	if got := a.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("after: %q", got)
	}
}

// TestBlockedInputBounded sends more than maxBlockedInput while blocked:
// the connection stops reading, is still served, and then runs every
// command sent meanwhile, in order.
func TestBlockedInputBounded(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	a.sendCmd("BLPOP", "k", "0")
	waitBlocked(t, s, 1)
	const n = 3 * maxBlockedInput / 14 // "*1\r\n$4\r\nPING\r\n" is 14 bytes
	done := make(chan error, 1)
	go func() {
		_, err := a.nc.Write([]byte(strings.Repeat("*1\r\n$4\r\nPING\r\n", n)))
		done <- err
	}()
	// The server buffers at most maxBlockedInput; the rest waits in the
	// kernel buffers or in the writer above.
	b.do("RPUSH", "k", "v")
	if got := a.reply(); got != "*2\r\n$1\r\nk\r\n$1\r\nv\r\n" {
		t.Fatalf("BLPOP: %q", got)
	}
	for i := 0; i < n; i++ {
		if got := a.reply(); got != "+PONG\r\n" {
			t.Fatalf("PING %d: %q", i, got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBlockGoRedis(t *testing.T) {
	s := startServer(t, Options{})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: 3})
	defer rdb.Close()
	other := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: 2})
	defer other.Close()
	res := make(chan []string, 1)
	go func() {
		v, _ := rdb.BLPop(ctx, 0, "gk").Result()
		res <- v
	}()
	waitBlocked(t, s, 1)
	other.RPush(ctx, "gk", "hello")
	if v := <-res; len(v) != 2 || v[0] != "gk" || v[1] != "hello" {
		t.Fatalf("BLPop: %q", v)
	}
	if _, err := rdb.BLPop(ctx, time.Second, "gk").Result(); err != redis.Nil {
		t.Fatalf("BLPop timeout: %v", err)
	}
}
