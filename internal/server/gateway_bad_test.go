package server

import (
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// gbFake is a backend that answers the handshake as redis-server does and
// ECHO as the test tells it: a Go listener the test controls.
type gbFake struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup

	mu   sync.Mutex
	open []net.Conn
	// echo answers one ECHO on connection n (1 for the first); it returns
	// what to write and whether to close the connection after.
	echo func(n int64, arg string) (out string, closeAfter bool)
}

func startGBFake(t *testing.T, echo func(n int64, arg string) (string, bool)) *gbFake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &gbFake{ln: ln, echo: echo}
	f.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.open = append(f.open, nc)
			f.mu.Unlock()
			n := f.conns.Add(1)
			f.wg.Go(func() { f.serve(n, nc) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, nc := range f.open {
			nc.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *gbFake) serve(n int64, nc net.Conn) {
	defer nc.Close()
	rd := resp.NewReader(nc, resp.DefaultLimits())
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			return
		}
		name := strings.ToUpper(string(args[0]))
		if len(args) > 1 && name == "CLIENT" {
			name += " " + strings.ToUpper(string(args[1]))
		}
		var out string
		closeAfter := false
		switch name {
		case "AUTH", "SELECT", "CLIENT SETNAME":
			out = "+OK\r\n"
		case "HELLO":
			out = "%1\r\n$5\r\nproto\r\n:3\r\n"
		case "INFO":
			out = glBulk("# Server\r\nredis_version:7.0.0\r\n")
		case "CLIENT ID":
			out = ":" + strconv.FormatInt(100+n, 10) + "\r\n"
		case "ECHO":
			if len(args) != 2 {
				out = "-ERR wrong number of arguments for 'echo' command\r\n"
				break
			}
			out, closeAfter = f.echo(n, string(args[1]))
		default:
			out = "-ERR unknown command\r\n"
		}
		if _, err := nc.Write([]byte(out)); err != nil || closeAfter {
			return
		}
	}
}

// TestGatewayBadBackendInput: a backend that sends something that is not
// a reply (garbage, a reply cut by a close, a length beyond the limits,
// nesting beyond the limits) on the shared connection. The client whose
// request met it and the clients with requests in flight behind it get
// "backend unavailable", nothing else; their connections to Redoubt stay
// open and serve again once the gateway has reconnected to a backend
// that behaves; clients that connect later are served.
func TestGatewayBadBackendInput(t *testing.T) {
	tests := []struct {
		name       string
		bad        string
		closeAfter bool
	}{
		{"garbage", "?garbage\r\n", false},
		{"closed mid-reply", "$10\r\nabc", true},
		{"bulk length beyond the limit", "$99999999999999\r\n", false},
		{"nesting beyond the limit", strings.Repeat("*1\r\n", 100) + ":1\r\n", false},
		{"negative length", "$-7\r\nabc\r\n", false},
	}
	const unavailable = upstream.UnavailableReply
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The first connection answers "bad" with the bad bytes
			// only once the two ECHOs sent behind it have arrived, so
			// they are in flight when it breaks; every other ECHO, and
			// every later connection, is answered properly.
			var (
				mu      sync.Mutex
				sawBad  bool
				held    []string
				release = make(chan struct{})
			)
			f := startGBFake(t, func(n int64, arg string) (string, bool) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case n != 1:
					return glBulk(arg), false
				case arg == "bad":
					sawBad = true
					return "", false // written with the ones behind it
				case sawBad:
					held = append(held, arg)
					if len(held) == 2 {
						close(release)
						return tt.bad, tt.closeAfter
					}
					return "", false
				}
				return glBulk(arg), false
			})
			s := startServer(t, Options{Name: "bad", Backend: Backend{Kind: BackendRedis, Pool: 1,
				Target: upstream.Target{Network: "tcp", Addr: f.ln.Addr().String(), DialTimeout: time.Second}}})
			addr := s.Addrs()[0]
			a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
			for i, cl := range []*client{a, b, c} {
				if got, want := cl.do("ECHO", "before"+strconv.Itoa(i)), glBulk("before"+strconv.Itoa(i)); got != want {
					t.Fatalf("client %d before: got %q, want %q", i, got, want)
				}
			}
			a.send(string(glEncode(nil, "ECHO", "bad")))
			testutil.WaitFor(t, 5*time.Second, "the backend to receive the bad request", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return sawBad
			})
			b.send(string(glEncode(nil, "ECHO", "b-in-flight")))
			c.send(string(glEncode(nil, "ECHO", "c-in-flight")))
			select {
			case <-release:
			case <-time.After(5 * time.Second):
				t.Fatal("the requests behind the bad one did not reach the backend")
			}
			for i, cl := range []*client{a, b, c} {
				if got := cl.reply(); got != unavailable {
					t.Errorf("client %d, request in flight: got %q, want %q", i, got, unavailable)
				}
			}
			// Each connection to Redoubt serves again by itself, after
			// the gateway dials a new backend connection.
			for i, cl := range []*client{a, b, c} {
				want := glBulk("again" + strconv.Itoa(i))
				testutil.WaitFor(t, 5*time.Second, "client "+strconv.Itoa(i)+" served again", func() bool {
					got := cl.do("ECHO", "again"+strconv.Itoa(i))
					if got != want && got != unavailable {
						t.Fatalf("client %d after: got %q, want %q or %q", i, got, want, unavailable)
					}
					return got == want
				})
			}
			if got, want := dial(t, addr).do("ECHO", "late"), glBulk("late"); got != want {
				t.Errorf("client connected later: got %q, want %q", got, want)
			}
			if st := s.gw.Stats(); st.Failures < 1 || !st.Up {
				t.Errorf("backend stats %+v: want one failure and up", st)
			}
		})
	}
}

// TestGatewayReplyTooLarge: a reply beyond the instance's reply limit is
// refused to its own client with an error that names the limit, without
// being buffered, and the shared connection stays in step: the next
// commands of that client and of the others get their own replies.
func TestGatewayReplyTooLarge(t *testing.T) {
	const (
		limit = 1 << 20
		size  = 4 << 20
	)
	r := testutil.StartRedis(t)
	s := startServer(t, Options{Name: "big", Backend: Backend{Kind: BackendRedis, MaxReply: limit,
		Target: upstream.Target{Network: "tcp", Addr: r.Addr}}})
	big := strings.Repeat("v", size)
	if got := testutilDo(t, r.Addr, "SET", "big", big); got != "+OK\r\n" {
		t.Fatalf("SET big on the backend: %q", got)
	}
	addr := s.Addrs()[0]
	mine, other := dial(t, addr), dial(t, addr)
	if got := other.do("SET", "small", "s"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	const tooLarge = "-ERR reply from the backend is larger than max_reply_size\r\n"
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const rounds = 5
	for i := range rounds {
		// The large reply sits between two small ones of the same
		// client in one pipeline, and another client's request.
		mine.send(string(glEncode(glEncode(glEncode(nil, "ECHO", "x"+strconv.Itoa(i)), "GET", "big"), "GET", "small")))
		other.send(string(glEncode(nil, "ECHO", "o"+strconv.Itoa(i))))
		for _, want := range []string{glBulk("x" + strconv.Itoa(i)), tooLarge, glBulk("s")} {
			if got := mine.reply(); got != want {
				t.Fatalf("round %d: got %q, want %q", i, got, want)
			}
		}
		if got, want := other.reply(), glBulk("o"+strconv.Itoa(i)); got != want {
			t.Fatalf("round %d, other client: got %q, want %q", i, got, want)
		}
	}
	runtime.ReadMemStats(&after)
	// 20 MiB went through the gateway; it must not have held any of
	// the values (a generous bound for everything else allocated).
	grew := after.TotalAlloc - before.TotalAlloc
	if grew > limit {
		t.Errorf("allocated %d bytes while %d bytes of refused replies went through", grew, rounds*size)
	}
	t.Logf("allocated %d bytes while %d bytes of refused replies went through", grew, rounds*size)
	if got := mine.do("GET", "small"); got != "$1\r\ns\r\n" {
		t.Errorf("after: got %q", got)
	}
	if got := s.gw.Stats().RepliesTooLarge; got != rounds {
		t.Errorf("RepliesTooLarge = %d, want %d", got, rounds)
	}
	if s.gw.Stats().Failures != 0 {
		t.Errorf("a large reply broke a backend connection")
	}
}
