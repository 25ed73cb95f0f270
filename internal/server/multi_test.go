package server

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/guard"
)

func TestMultiExec(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	steps := []struct{ cmd, want string }{
		{"EXEC", "-ERR EXEC without MULTI\r\n"},
		{"DISCARD", "-ERR DISCARD without MULTI\r\n"},
		{"MULTI", "+OK\r\n"},
		{"MULTI", "-ERR MULTI calls can not be nested\r\n"},
		{"WATCH k", "-ERR WATCH inside MULTI is not allowed\r\n"},
		{"SET k v", "+QUEUED\r\n"},
		{"INCR k", "+QUEUED\r\n"},
		{"CLIENT ID", "+QUEUED\r\n"},
		{"ECHO hi", "+QUEUED\r\n"},
		{"EXEC", "*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n:1\r\n$2\r\nhi\r\n"},
		{"MULTI", "+OK\r\n"},
		{"SET k v2", "+QUEUED\r\n"},
		{"DISCARD", "+OK\r\n"},
		{"GET k", "$1\r\nv\r\n"},
		// Errors while queueing abort the transaction.
		{"MULTI", "+OK\r\n"},
		{"SET k v3", "+QUEUED\r\n"},
		{"NOSUCHCOMMAND", "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n"},
		{"SET k v4", "+QUEUED\r\n"},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{"GET k", "$1\r\nv\r\n"},
		{"MULTI", "+OK\r\n"},
		{"GET", "-ERR wrong number of arguments for 'get' command\r\n"},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{"MULTI", "+OK\r\n"},
		{"CONFIG SET maxmemory 1", "-ERR command 'CONFIG SET' is disabled on this instance; change it in the admin console\r\n"},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{"MULTI", "+OK\r\n"},
		{"EXEC", "*0\r\n"},
		// RESET ends a transaction.
		{"MULTI", "+OK\r\n"},
		{"SET k v5", "+QUEUED\r\n"},
		{"RESET", "+RESET\r\n"},
		{"EXEC", "-ERR EXEC without MULTI\r\n"},
		{"GET k", "$1\r\nv\r\n"},
	}
	for _, st := range steps {
		if got := c.do(strings.Fields(st.cmd)...); got != st.want {
			t.Errorf("%s: %q, want %q", st.cmd, got, st.want)
		}
	}
}

func TestMultiClientList(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	c.do("MULTI")
	c.do("SET", "a", "b")
	c.do("CLIENT", "LIST")
	got := c.do("EXEC")
	if !strings.Contains(got, "flags=x ") || !strings.Contains(got, " multi=2 ") {
		t.Fatalf("CLIENT LIST inside MULTI: %q", got)
	}
	if got := c.do("CLIENT", "INFO"); !strings.Contains(got, "flags=N ") || !strings.Contains(got, " multi=-1 ") {
		t.Fatalf("CLIENT INFO after EXEC: %q", got)
	}
}

func TestWatch(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	exec := func(want string) {
		t.Helper()
		a.do("MULTI")
		a.do("INCR", "n")
		if got := a.do("EXEC"); got != want {
			t.Fatalf("EXEC: %q, want %q", got, want)
		}
	}
	// Untouched: runs.
	a.do("WATCH", "n")
	exec("*1\r\n:1\r\n")
	// Touched by another client: fails with the null array.
	a.do("WATCH", "n")
	b.do("SET", "n", "10")
	exec("*-1\r\n")
	// EXEC cleared the WATCH.
	exec("*1\r\n:11\r\n")
	// UNWATCH forgets the change.
	a.do("WATCH", "n")
	b.do("INCR", "n")
	a.do("UNWATCH")
	exec("*1\r\n:13\r\n")
	// FLUSHALL touches an existing key.
	a.do("WATCH", "n")
	b.do("FLUSHALL")
	exec("*-1\r\n")
	// DISCARD clears the WATCH.
	a.do("WATCH", "n")
	b.do("SET", "n", "1")
	a.do("MULTI")
	a.do("DISCARD")
	exec("*1\r\n:2\r\n")
	// Expiry: a key that expires between WATCH and EXEC aborts it.
	a.do("SET", "n", "5", "PX", "30")
	a.do("WATCH", "n")
	for deadline := time.Now().Add(5 * time.Second); b.do("PTTL", "n") != ":-2\r\n"; {
		if time.Now().After(deadline) {
			t.Fatal("key never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	exec("*-1\r\n")
	// Under RESP3 the failed EXEC is a null.
	a.do("HELLO", "3")
	a.do("WATCH", "n")
	b.do("SET", "n", "1")
	exec("_\r\n")
}

// TestMultiQueueBounded drives a connection directly (no network) with
// a lowered limit: past it the command is refused and EXEC fails.
func TestMultiQueueBounded(t *testing.T) {
	s, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.eng.Close()
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	c := newConn(s, p1, p1, netip.Addr{}, guard.Loopback)
	c.tx.limit = 1 << 20
	run := func(args ...string) string {
		t.Helper()
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		c.w.Reset()
		c.exec(bs)
		c.unlock()
		return string(c.w.Bytes())
	}
	run("MULTI")
	big := strings.Repeat("x", 100<<10)
	for i := 0; ; i++ {
		got := run("SET", "k", big)
		if got == "+QUEUED\r\n" {
			if i > c.tx.limit/len(big) {
				t.Fatal("queue passed its limit")
			}
			continue
		}
		if got != "-"+txTooLargeReply+"\r\n" {
			t.Fatalf("over the limit: %q", got)
		}
		if len(c.tx.queue) != 0 {
			t.Fatal("the queue of an aborted transaction is kept")
		}
		break
	}
	if got := run("SET", "k", "small"); got != "+QUEUED\r\n" {
		t.Fatalf("after the limit: %q", got)
	}
	if got := run("EXEC"); got != "-"+execAbortReply+"\r\n" {
		t.Fatalf("EXEC: %q", got)
	}
	if got := run("EXISTS", "k"); got != ":0\r\n" {
		t.Fatalf("EXISTS: %q", got)
	}
}

// TestExecAtomic runs transactions from many clients against plain
// increments of others: every transaction's two reads must be equal.
func TestExecAtomic(t *testing.T) {
	s := startServer(t, Options{})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], PoolSize: 8})
	defer rdb.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				rdb.Incr(ctx, "ctr")
			}
		}
	}()
	for i := 0; i < 200; i++ {
		var g1, g2 *redis.StringCmd
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			g1 = p.Get(ctx, "ctr")
			p.Ping(ctx)
			g2 = p.Get(ctx, "ctr")
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		if g1.Val() != g2.Val() {
			t.Fatalf("another client ran inside EXEC: %q then %q", g1.Val(), g2.Val())
		}
	}
	close(stop)
	<-done
}

// TestWatchGoRedis is go-redis's optimistic-locking loop (WATCH, read,
// MULTI/EXEC, retry on TxFailedErr) from several clients at once.
func TestWatchGoRedis(t *testing.T) {
	s := startServer(t, Options{})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], PoolSize: 8})
	defer rdb.Close()
	const workers, each = 4, 25
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				for {
					err := rdb.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, "w").Int()
						if err != nil && !errors.Is(err, redis.Nil) {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "w", n+1, 0)
							return nil
						})
						return err
					}, "w")
					if errors.Is(err, redis.TxFailedErr) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := rdb.Get(ctx, "w").Int(); n != workers*each {
		t.Fatalf("counter %d, want %d: a lost update", n, workers*each)
	}
}
