package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

// cmd encodes a command as RESP.
func cmd(args ...string) []byte {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return resp.AppendCommand(nil, bs...)
}

// bulk is the RESP bulk string of s.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// waitSink runs Wait with a bound: a request that is never answered
// fails the test instead of hanging it.
func waitSink(t *testing.T, s *Sink, within time.Duration) string {
	t.Helper()
	done := make(chan []byte, 1)
	go func() { done <- s.Wait(nil) }()
	select {
	case b := <-done:
		return string(b)
	case <-time.After(within):
		t.Fatalf("Wait did not return within %v; %d requests pending", within, s.Pending())
		return ""
	}
}

// pollUntil polls cond until it holds or the timeout passes.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, timeout, what, cond)
}

func TestSinkOrder(t *testing.T) {
	type step struct {
		seq   uint64
		frame string
		first bool
		last  bool
		drop  bool
	}
	tests := []struct {
		name     string
		requests int
		steps    []step
		want     string
	}{
		{"one", 1, []step{{0, "+OK\r\n", true, true, false}}, "+OK\r\n"},
		{"in order", 3, []step{{0, ":1\r\n", true, true, false}, {1, ":2\r\n", true, true, false}, {2, ":3\r\n", true, true, false}}, ":1\r\n:2\r\n:3\r\n"},
		{"multi-frame request", 2, []step{{0, "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n", true, false, false},
			{0, "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n", false, true, false}, {1, "+PONG\r\n", true, true, false}},
			"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n+PONG\r\n"},
		{"dropped replies count but are not kept", 3, []step{{0, "+OK\r\n", true, true, true}, {1, "$1\r\nv\r\n", true, true, false}, {2, "+OK\r\n", true, true, true}}, "$1\r\nv\r\n"},
		// Requests that went to different connections: replies are
		// parked until the older ones are in.
		{"out of order", 3, []step{{2, ":3\r\n", true, true, false}, {1, ":2\r\n", true, true, false}, {0, ":1\r\n", true, true, false}}, ":1\r\n:2\r\n:3\r\n"},
		{"parked multi-frame, finished at the head", 3, []step{
			{1, "*1\r\n$1\r\na\r\n", true, false, false}, {2, ":9\r\n", true, true, false},
			{0, ":0\r\n", true, true, false}, {1, "*1\r\n$1\r\nb\r\n", false, true, false}},
			":0\r\n*1\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n:9\r\n"},
		{"parked dropped reply", 3, []step{{1, "+OK\r\n", true, true, true}, {2, ":2\r\n", true, true, false}, {0, ":0\r\n", true, true, false}}, ":0\r\n:2\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSink()
			for range tt.requests {
				s.add()
			}
			if got := s.Pending(); got != tt.requests {
				t.Fatalf("Pending = %d, want %d", got, tt.requests)
			}
			for _, st := range tt.steps {
				s.reply(st.seq, []byte(st.frame), st.first, st.last, st.drop)
			}
			if got := s.Pending(); got != 0 {
				t.Fatalf("Pending after the replies = %d", got)
			}
			if got := waitSink(t, s, 5*time.Second); got != tt.want {
				t.Fatalf("Wait = %q, want %q", got, tt.want)
			}
			// The buffer was handed over: a second Wait has nothing.
			if got := waitSink(t, s, 5*time.Second); got != "" {
				t.Fatalf("second Wait = %q, want nothing", got)
			}
		})
	}
}

// TestSinkRedirects: with Redirects, a MOVED reply is held back and the
// replies after it wait; the resent request's reply takes its place.
func TestSinkRedirects(t *testing.T) {
	s := NewSink()
	s.Redirects = true
	for range 3 {
		s.add()
	}
	s.reply(0, []byte(":0\r\n"), true, true, false)
	s.reply(1, []byte("-MOVED 12 127.0.0.1:7001\r\n"), true, true, false)
	s.reply(2, []byte(":2\r\n"), true, true, false)
	out, st := s.WaitSome(nil)
	if st != Redirected || string(out) != ":0\r\n" {
		t.Fatalf("WaitSome = %q, %v; want the first reply and Redirected", out, st)
	}
	rs := s.TakeRedirects()
	if len(rs) != 1 || rs[0].Seq != 1 || string(rs[0].Reply) != "-MOVED 12 127.0.0.1:7001\r\n" {
		t.Fatalf("redirects = %+v", rs)
	}
	// A MOVED that is not a whole reply's only frame is delivered.
	s.reply(1, []byte(":1\r\n"), true, true, false)
	out, st = s.WaitSome(nil)
	if st != Done || string(out) != ":1\r\n:2\r\n" {
		t.Fatalf("after the resend: %q, %v", out, st)
	}
	// Without Redirects the error is an ordinary reply.
	s2 := NewSink()
	s2.add()
	s2.reply(0, []byte("-MOVED 12 127.0.0.1:7001\r\n"), true, true, false)
	if got := waitSink(t, s2, 5*time.Second); got != "-MOVED 12 127.0.0.1:7001\r\n" {
		t.Fatalf("plain sink: %q", got)
	}
}

// TestSinkWaitBlocks: Wait returns only once the last pending request is
// answered, and with every reply.
func TestSinkWaitBlocks(t *testing.T) {
	s := NewSink()
	s.add()
	s.add()
	s.reply(0, []byte(":1\r\n"), true, true, false)
	done := make(chan string, 1)
	go func() { done <- string(s.Wait(nil)) }()
	pollUntil(t, 5*time.Second, "Wait to block", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.waiting
	})
	select {
	case got := <-done:
		t.Fatalf("Wait returned %q with a request still pending", got)
	default:
	}
	s.reply(1, []byte("*2\r\n"), true, false, false) // first frame of a two-frame reply: not complete
	select {
	case got := <-done:
		t.Fatalf("Wait returned %q before the last frame", got)
	default:
	}
	s.reply(1, []byte(":2\r\n:3\r\n"), false, true, false)
	select {
	case got := <-done:
		if want := ":1\r\n*2\r\n:2\r\n:3\r\n"; got != want {
			t.Fatalf("Wait = %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the last reply")
	}
}

// TestSinkAsyncWait: a client that waits while it reads its own socket is
// woken through Wake, and Ready tells it the replies are in.
func TestSinkAsyncWait(t *testing.T) {
	s := NewSink()
	var wakes atomic.Int64
	s.Wake = func() { wakes.Add(1) }
	s.AsyncWait = true
	s.add()
	if s.Ready() {
		t.Fatal("Ready with a request pending")
	}
	s.reply(0, []byte("*-1\r\n"), true, true, false)
	if got := wakes.Load(); got != 1 {
		t.Fatalf("Wake called %d times, want 1", got)
	}
	if !s.Ready() {
		t.Fatal("not Ready after the reply")
	}
	s.AsyncWait = false
	if got := waitSink(t, s, 5*time.Second); got != "*-1\r\n" {
		t.Fatalf("Wait = %q", got)
	}
}

// TestSinkPushes: pushes take their place among the replies in the
// order they arrived, wake the client, and past MaxPushBytes are dropped
// and reported as overflow.
func TestSinkPushes(t *testing.T) {
	tests := []struct {
		name     string
		sizes    []int // pushes, by size
		kept     int   // bytes of pushes kept
		overflow bool
	}{
		{"small", []int{10, 20, 30}, 60, false},
		{"exactly the limit", []int{MaxPushBytes / 2, MaxPushBytes / 2}, MaxPushBytes, false},
		{"over the limit", []int{MaxPushBytes / 2, MaxPushBytes/2 + 1, 5}, MaxPushBytes/2 + 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSink()
			var wakes atomic.Int64
			s.Wake = func() { wakes.Add(1) }
			s.add()
			s.add()
			s.reply(0, []byte("+FIRST\r\n"), true, true, false)
			for _, n := range tt.sizes {
				s.push(bytes.Repeat([]byte{'p'}, n))
			}
			s.reply(1, []byte("+OK\r\n"), true, true, false)
			if got := wakes.Load(); got != int64(len(tt.sizes)) {
				t.Errorf("Wake called %d times, want %d", got, len(tt.sizes))
			}
			got := waitSink(t, s, 5*time.Second)
			want := "+FIRST\r\n" + strings.Repeat("p", tt.kept) + "+OK\r\n"
			if got != want {
				t.Errorf("received %d bytes, want %d: the first reply, the pushes kept, then the last reply", len(got), len(want))
			}
			if _, overflow := s.Available(nil); overflow != tt.overflow {
				t.Errorf("overflow %v, want %v", overflow, tt.overflow)
			}
			if got, _ := s.Available(nil); len(got) != 0 {
				t.Errorf("Available after everything was taken = %d bytes, want 0", len(got))
			}
		})
	}
}

// newTestBackend connects to addr with one shared connection per
// protocol, and closes the backend when the test ends.
func newTestBackend(t *testing.T, opts Options) *Backend {
	t.Helper()
	if opts.Pool == 0 {
		opts.Pool = 1
	}
	if opts.Name == "" {
		opts.Name = "redoubt-test"
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func redisTarget(r *testutil.Redis) Target {
	return Target{Network: "tcp", Addr: r.Addr, DialTimeout: 2 * time.Second}
}

// TestConnPipelinesInOrder: many clients pipeline through one shared
// connection at once (RESP2 and RESP3); every client gets exactly its
// own replies, in its order.
func TestConnPipelinesInOrder(t *testing.T) {
	r := testutil.StartRedis(t)
	b := newTestBackend(t, Options{Target: redisTarget(r)})
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			const clients, rounds = 16, 40
			var wg sync.WaitGroup
			for id := range clients {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(id), uint64(proto)))
					sink := NewSink()
					for round := range rounds {
						c, err := b.Shared(proto, uint64(id))
						if err != nil {
							t.Errorf("client %d: Shared: %v", id, err)
							return
						}
						if c.Proto() != proto {
							t.Errorf("client %d: connection speaks RESP%d", id, c.Proto())
							return
						}
						var want strings.Builder
						for i := range 1 + rng.IntN(30) {
							key := fmt.Sprintf("p%d:c%d:k%d", proto, id, i)
							val := fmt.Sprintf("%d-%d-%d-%d", id, round, i, rng.Uint32())
							c.Send(sink, cmd("SET", key, val), 1, false)
							c.Send(sink, cmd("ECHO", val+"!"), 1, false)
							c.Send(sink, cmd("GET", key), 1, false)
							want.WriteString("+OK\r\n" + bulk(val+"!") + bulk(val))
						}
						c.Flush()
						if got := waitSink(t, sink, 10*time.Second); got != want.String() {
							t.Errorf("client %d round %d:\n got %q\nwant %q", id, round, got, want.String())
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
	if st := b.Stats(); st.Shared != 2 || !st.Up || st.Version == "" || st.Failures != 0 {
		t.Errorf("Stats = %+v, want both protocols' connections up, a version and no failures", st)
	}
}

// TestConnDedicated: a dedicated connection knows its backend client id,
// carries a subscription whose messages arrive as pushes, and is reused
// once released clean.
func TestConnDedicated(t *testing.T) {
	r := testutil.StartRedis(t)
	b := newTestBackend(t, Options{Target: redisTarget(r)})
	c, err := b.Dedicated(2)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() <= 0 {
		t.Fatalf("ID = %d", c.ID())
	}
	sink := NewSink()
	woken := make(chan struct{}, 1)
	sink.Wake = func() {
		select {
		case woken <- struct{}{}:
		default:
		}
	}
	c.Send(sink, cmd("CLIENT", "ID"), 1, false)
	c.Flush()
	if got, want := waitSink(t, sink, 5*time.Second), ":"+strconv.FormatInt(c.ID(), 10)+"\r\n"; got != want {
		t.Fatalf("CLIENT ID = %q, want %q", got, want)
	}
	c.SetOwner(sink, true)
	c.Send(sink, cmd("SUBSCRIBE", "a", "b"), 2, false)
	c.Flush()
	if got, want := waitSink(t, sink, 5*time.Second), "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"; got != want {
		t.Fatalf("SUBSCRIBE = %q, want %q", got, want)
	}
	pub, err := b.Shared(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	ps := NewSink()
	pub.Send(ps, cmd("PUBLISH", "b", "hello"), 1, false)
	pub.Flush()
	if got := waitSink(t, ps, 5*time.Second); got != ":1\r\n" {
		t.Fatalf("PUBLISH = %q", got)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up for the message")
	}
	if got, _ := sink.Available(nil); string(got) != "*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$5\r\nhello\r\n" {
		t.Fatalf("push = %q", got)
	}
	c.Send(sink, cmd("UNSUBSCRIBE"), 2, false)
	c.Flush()
	if got := waitSink(t, sink, 5*time.Second); strings.Count(got, "unsubscribe") != 2 {
		t.Fatalf("UNSUBSCRIBE = %q", got)
	}
	b.Release(c, true)
	again, err := b.Dedicated(2)
	if err != nil {
		t.Fatal(err)
	}
	if again != c {
		t.Errorf("a clean released connection was not reused")
	}
	if got := b.Stats().Dedicated; got != 1 {
		t.Errorf("Stats.Dedicated = %d, want 1", got)
	}
	b.Release(again, false)
	if !again.Broken() {
		t.Errorf("a connection released with state was not closed")
	}
	if got := b.Stats().Dedicated; got != 0 {
		t.Errorf("Stats.Dedicated after release = %d, want 0", got)
	}
}

// TestConnMaxReply: a reply beyond MaxReply is answered with an error to
// its own client only, and the connection stays in step.
func TestConnMaxReply(t *testing.T) {
	r := testutil.StartRedis(t)
	b := newTestBackend(t, Options{Target: redisTarget(r), MaxReply: 1024})
	c, err := b.Shared(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	mine, other := NewSink(), NewSink()
	c.Send(mine, cmd("SET", "big", big), 1, false)
	c.Send(mine, cmd("SET", "small", "s"), 1, false)
	c.Send(mine, cmd("GET", "big"), 1, false)
	c.Send(other, cmd("GET", "small"), 1, false)
	c.Send(mine, cmd("LRANGE", "nolist", "0", "-1"), 1, false)
	c.Send(other, cmd("ECHO", "after"), 1, false)
	c.Flush()
	if got, want := waitSink(t, mine, 5*time.Second), "+OK\r\n+OK\r\n-ERR reply from the backend is larger than max_reply_size\r\n*0\r\n"; got != want {
		t.Errorf("client with the large reply: got %q, want %q", got, want)
	}
	if got, want := waitSink(t, other, 5*time.Second), "$1\r\ns\r\n$5\r\nafter\r\n"; got != want {
		t.Errorf("other client: got %q, want %q", got, want)
	}
	if c.Broken() {
		t.Error("a large reply broke the connection")
	}
	if got := b.Stats().RepliesTooLarge; got != 1 {
		t.Errorf("RepliesTooLarge = %d, want 1", got)
	}
}

// TestConnClosePending: closing a connection (or the whole backend) with
// requests in flight answers every one of them with UnavailableReply, and
// later requests at once.
func TestConnClosePending(t *testing.T) {
	tests := []struct {
		name      string
		dedicated bool
		close     func(b *Backend, c *Conn)
	}{
		{"Conn.Close of a dedicated connection", true, func(_ *Backend, c *Conn) { c.Close() }},
		{"Backend.Close with a shared connection", false, func(b *Backend, _ *Conn) { b.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.StartRedis(t)
			b := newTestBackend(t, Options{Target: redisTarget(r)})
			var c *Conn
			var err error
			if tt.dedicated {
				c, err = b.Dedicated(2)
			} else {
				c, err = b.Shared(2, 0)
			}
			if err != nil {
				t.Fatal(err)
			}
			blocked, behind := NewSink(), NewSink()
			c.Send(blocked, cmd("BLPOP", "nolist", "0"), 1, false)
			for i := range 3 {
				c.Send(behind, cmd("ECHO", strconv.Itoa(i)), 1, false)
			}
			c.Flush()
			// Wait until the backend holds the BLPOP: the requests are
			// then truly in flight, not only queued here.
			pollUntil(t, 5*time.Second, "the backend to block the BLPOP", func() bool {
				return strings.Contains(redisDo(t, r.Addr, "CLIENT", "LIST"), "cmd=blpop")
			})
			later := NewSink()
			c.Send(later, cmd("ECHO", "queued"), 1, false) // queued, never flushed
			tt.close(b, c)
			if got := waitSink(t, blocked, 5*time.Second); got != UnavailableReply {
				t.Errorf("blocked request: got %q, want %q", got, UnavailableReply)
			}
			if got, want := waitSink(t, behind, 5*time.Second), strings.Repeat(UnavailableReply, 3); got != want {
				t.Errorf("requests behind it: got %q, want %q", got, want)
			}
			if got := waitSink(t, later, 5*time.Second); got != UnavailableReply {
				t.Errorf("queued request: got %q, want %q", got, UnavailableReply)
			}
			if !c.Broken() {
				t.Error("connection not Broken after Close")
			}
			after := NewSink()
			c.Send(after, cmd("PING"), 1, false)
			if after.Pending() != 0 {
				t.Error("a request on a closed connection is not answered at once")
			}
			if got := waitSink(t, after, time.Second); got != UnavailableReply {
				t.Errorf("request after Close: got %q", got)
			}
		})
	}
}

// redisDo runs one command on a fresh connection to a redis-server and
// returns the raw reply.
func redisDo(t *testing.T, addr string, args ...string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(cmd(args...)); err != nil {
		t.Fatal(err)
	}
	raw, err := resp.NewReader(nc, resp.DefaultLimits()).ReadRaw()
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestBackendDown: a backend that is not there makes New report the
// error, and every request fail fast; when it dies while up, its
// requests are answered with UnavailableReply and OnHealth says so.
func TestBackendDown(t *testing.T) {
	t.Run("never up", func(t *testing.T) {
		addr := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
		b, err := New(Options{Target: Target{Network: "tcp", Addr: addr}, Pool: 1})
		if err == nil {
			t.Fatal("New to a closed port reported no error")
		}
		t.Cleanup(b.Close)
		if b.Up() {
			t.Fatal("Up with no backend")
		}
		for range 20 {
			start := time.Now()
			if _, err := b.Shared(2, 0); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Shared: %v", err)
			}
			if _, err := b.Dedicated(2); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Dedicated: %v", err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Fatalf("failing took %v", d)
			}
		}
	})
	t.Run("dies", func(t *testing.T) {
		r := testutil.StartRedis(t)
		health := make(chan bool, 16)
		b := newTestBackend(t, Options{Target: redisTarget(r), OnHealth: func(up bool, err error) {
			if !up && err == nil {
				t.Errorf("down without a reason")
			}
			health <- up
		}})
		c, err := b.Shared(2, 0)
		if err != nil {
			t.Fatal(err)
		}
		s := NewSink()
		c.Send(s, cmd("BLPOP", "nolist", "0"), 1, false)
		c.Flush()
		pollUntil(t, 5*time.Second, "the BLPOP to block", func() bool {
			return strings.Contains(redisDo(t, r.Addr, "CLIENT", "LIST"), "cmd=blpop")
		})
		r.Stop()
		if got := waitSink(t, s, 5*time.Second); got != UnavailableReply {
			t.Fatalf("request in flight: got %q", got)
		}
		select {
		case up := <-health:
			if up {
				t.Fatal("OnHealth said up")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("OnHealth not told that the backend is down")
		}
		if b.Up() {
			t.Error("Up after the backend died")
		}
		if _, err := b.Shared(2, 0); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Shared while down: %v", err)
		}
	})
}

// fakeBackend is a TCP server that answers the handshake as redis-server
// does and hands every other command to onCmd.
type fakeBackend struct {
	ln    net.Listener
	conns atomic.Int64
	onCmd func(fc *fakeConn, args [][]byte)
	wg    sync.WaitGroup
}

// fakeConn is one connection to the fake backend.
type fakeConn struct {
	n  int64 // 1 for the first connection
	nc net.Conn
}

func (fc *fakeConn) write(s string) { _, _ = fc.nc.Write([]byte(s)) }

func startFake(t *testing.T, onCmd func(fc *fakeConn, args [][]byte)) *fakeBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBackend{ln: ln, onCmd: onCmd}
	var mu sync.Mutex
	var open []net.Conn
	f.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, nc)
			mu.Unlock()
			fc := &fakeConn{n: f.conns.Add(1), nc: nc}
			f.wg.Go(func() { f.serve(fc) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, nc := range open {
			nc.Close()
		}
		mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakeBackend) addr() string { return f.ln.Addr().String() }

func (f *fakeBackend) serve(fc *fakeConn) {
	defer fc.nc.Close()
	rd := resp.NewReader(fc.nc, resp.DefaultLimits())
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			return
		}
		name := strings.ToUpper(string(args[0]))
		if len(args) > 1 && name == "CLIENT" {
			name += " " + strings.ToUpper(string(args[1]))
		}
		switch name {
		case "AUTH", "SELECT", "CLIENT SETNAME":
			fc.write("+OK\r\n")
		case "HELLO":
			fc.write("%1\r\n$5\r\nproto\r\n:3\r\n")
		case "INFO":
			fc.write(bulk("# Server\r\nredis_version:7.0.0\r\n"))
		case "CLIENT ID":
			fc.write(":" + strconv.FormatInt(100+fc.n, 10) + "\r\n")
		default:
			f.onCmd(fc, args)
		}
	}
}

// TestConnCloseKeepsOrder: a connection that fails while its reader is
// still handing out replies it has already received must not answer a
// client's later request before its earlier one. Here the reader holds
// the replies of A1 (client 1) and A2 (client 2), and is held up handing
// A1 to client 1, when the connection fails (Close here; a failed write
// takes the same path). Client 2's request B is queued before the
// failure, or sent after it. Client 2 must read the reply of A2 first
// and that of B second; it must never see B's error where A2's reply
// belongs and A2's reply where B's belongs.
func TestConnCloseKeepsOrder(t *testing.T) {
	tests := []struct {
		name        string
		beforeClose bool // B is queued before the failure, else sent after it
	}{
		{"request queued when the connection fails", true},
		{"request sent after the connection failed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var echoes []string
			f := startFake(t, func(fc *fakeConn, args [][]byte) {
				mu.Lock()
				defer mu.Unlock()
				echoes = append(echoes, string(args[1]))
				if len(echoes) == 2 { // both replies in one write: one read takes them
					fc.write(bulk(echoes[0]) + bulk(echoes[1]))
				}
			})
			b := newTestBackend(t, Options{Target: Target{Network: "tcp", Addr: f.addr()}})
			c, err := b.Shared(2, 0)
			if err != nil {
				t.Fatal(err)
			}
			s1, s2 := NewSink(), NewSink()
			c.Send(s1, cmd("ECHO", "A1"), 1, false)
			c.Send(s2, cmd("ECHO", "A2"), 1, false)
			s1.mu.Lock() // the reader blocks handing A1 to client 1
			locked := true
			defer func() {
				if locked {
					s1.mu.Unlock()
				}
			}()
			c.Flush()
			pollUntil(t, 5*time.Second, "the reader to take the requests", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return len(c.queue) == 0
			})
			if tt.beforeClose {
				c.Send(s2, cmd("ECHO", "B"), 1, false)
				c.Close()
			} else {
				c.Close()
				c.Send(s2, cmd("ECHO", "B"), 1, false)
			}
			s1.mu.Unlock()
			locked = false
			if got := waitSink(t, s1, 5*time.Second); got != bulk("A1") && got != UnavailableReply {
				t.Errorf("client 1: got %q", got)
			}
			got := waitSink(t, s2, 5*time.Second)
			if ok := got == bulk("A2")+UnavailableReply || got == UnavailableReply+UnavailableReply; !ok {
				t.Errorf("client 2 (ECHO A2, ECHO B): got %q; want the reply of A2 (or the error) first, then the error for B", got)
			}
		})
	}
}

// FuzzConnReplies feeds arbitrary bytes to a connection as the replies to
// three clients' requests, then closes it. Whatever the bytes, every
// client gets exactly one reply: the i-th complete value of the stream
// for the i-th request (pushes, which no request on a shared connection
// waits for, are skipped), or UnavailableReply once the stream is broken,
// short, or not RESP. Nothing hangs, nothing panics.
func FuzzConnReplies(f *testing.F) {
	for _, seed := range []string{
		"+OK\r\n$1\r\nv\r\n:1\r\n",
		"+OK\r\n$1\r\nv\r\n:1\r\n+EXTRA\r\n",
		"*2\r\n$1\r\na\r\n$1\r\nb\r\n%1\r\n+k\r\n+v\r\n_\r\n",
		"?garbage\r\n",
		"+OK\r\n$10\r\nabc",
		"$99999999999999\r\n",
		"*-1\r\n$-1\r\n-ERR x\r\n",
		">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n+OK\r\n:2\r\n",
		"|1\r\n+a\r\n+b\r\n+OK\r\n,1.5\r\n#t\r\n",
		strings.Repeat("*1\r\n", 70) + ":1\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := startFake(t, func(fc *fakeConn, args [][]byte) {
			if fc.n != 1 {
				return // connections dialled again after the failure stay silent
			}
			if string(args[1]) == "2" {
				fc.write(string(data))
				fc.nc.Close()
			}
		})
		b := newTestBackend(t, Options{Target: Target{Network: "tcp", Addr: fb.addr(), DialTimeout: time.Second}})
		c, err := b.Shared(2, 0)
		if err != nil {
			t.Fatal(err)
		}
		sinks := []*Sink{NewSink(), NewSink(), NewSink()}
		for i, s := range sinks {
			c.Send(s, cmd("ECHO", strconv.Itoa(i)), 1, false)
		}
		c.Flush()
		// The values the stream holds, read as the connection reads them.
		lim := resp.DefaultLimits()
		lim.MaxArgs = 1 << 40
		lim.MaxValue = 512 << 20
		rd := resp.NewReader(bytes.NewReader(data), lim)
		var values []string
		for len(values) < len(sinks) {
			raw, err := rd.ReadRaw()
			if err != nil {
				break
			}
			if raw[0] == '>' {
				continue // a push on a shared connection is nobody's reply: dropped
			}
			values = append(values, string(raw))
		}
		for i, s := range sinks {
			got := waitSink(t, s, 10*time.Second)
			want := UnavailableReply
			if i < len(values) {
				want = values[i]
			}
			if got != want {
				t.Fatalf("request %d: got %q, want %q (stream %q)", i, got, want, data)
			}
		}
	})
}
