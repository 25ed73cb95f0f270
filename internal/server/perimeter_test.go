package server

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/guard"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
)

// secureOpts returns options with a recorder the test can read and the
// given changes to the default security.
func secureOpts(change func(*Security)) (Options, *monitor.Recorder) {
	sec := DefaultSecurity()
	if change != nil {
		change(&sec)
	}
	rec := monitor.NewRecorder(nil, nil)
	return Options{Security: &sec, Events: rec}, rec
}

// fakeClock is a clock the test moves; the server reads it from other
// goroutines.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(unix int64) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Unix(unix, 0).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// fakePeer makes a server see every connection as coming from one
// address, which the test may change at any time.
type fakePeer struct{ addr atomic.Pointer[netip.Addr] }

func (f *fakePeer) set(addr string) {
	a := netip.MustParseAddr(addr)
	f.addr.Store(&a)
}

// startAsPeer starts a server that sees every connection as coming from
// addr (injected, so the rules are tested without a second network).
func startAsPeer(t *testing.T, opts Options, addr string) (*Server, *fakePeer) {
	t.Helper()
	f := &fakePeer{}
	f.set(addr)
	opts.peerOf = func(net.Conn) (netip.Addr, guard.Class) {
		a := *f.addr.Load()
		return a, guard.ClassifyAddr(a)
	}
	return startServer(t, opts), f
}

func allowlist(t *testing.T, groups ...guard.Group) *guard.Allowlist {
	t.Helper()
	a, err := guard.NewAllowlist(groups)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// An HTTP request that Redis lets through: PUT is not one of the two
// command names Redis 3.2.7+ treats as an attack, and an HTTP/1.0 request
// needs no Host header, so redis-server runs the SET in the body.
const putAttack = "PUT / HTTP/1.0\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\nSET csrf pwned\r\nQUIT\r\n"

func TestCrossProtocolAttackWorksOnRedis(t *testing.T) {
	r := testutil.StartRedis(t)
	c := dial(t, r.Addr)
	c.send(putAttack)
	_ = c.closed()
	c2 := dial(t, r.Addr)
	if got := c2.do("GET", "csrf"); got != "$5\r\npwned\r\n" {
		t.Fatalf("the attack did not work on redis-server (GET = %q); the test below proves nothing", got)
	}
}

func TestCrossProtocolGuard(t *testing.T) {
	tests := []struct {
		name, payload string
	}{
		{"put request", putAttack},
		{"post request", "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nSET csrf pwned\r\n"},
		{"get request line alone", "GET / HTTP/1.1\r\n"},
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"header after inline commands", "SET csrf pwned\r\nOrigin: http://evil.example\r\n"},
		{"header with unbalanced quote", "User-Agent: \"x\r\n"},
		{"header as a RESP command name", "*2\r\n$5\r\nHost:\r\n$1\r\nx\r\n"},
		{"lower-case header", "content-length: 5\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, rec := secureOpts(nil)
			s := startServer(t, opts)
			c := dial(t, s.Addrs()[0])
			c.send(tc.payload)
			if !c.closedSilently() {
				t.Fatal("connection not closed silently")
			}
			if got := rec.Count(monitor.CrossProtocol); got != 1 {
				t.Fatalf("%d cross-protocol events, want 1", got)
			}
			if ev := rec.Recent()[0]; !strings.HasPrefix(ev.Addr, "127.0.0.1:") || ev.Instance != "default" {
				t.Fatalf("event %+v lacks the peer or instance", ev)
			}
			c2 := dial(t, s.Addrs()[0])
			if got := c2.do("EXISTS", "csrf"); got != ":0\r\n" {
				t.Fatalf("EXISTS csrf = %q: a line of the request ran", got)
			}
		})
	}
}

// TestLegitimateValuesAreNotAttacks: HTTP text inside values, keys and
// arguments is data, not a request line.
func TestLegitimateValuesAreNotAttacks(t *testing.T) {
	opts, rec := secureOpts(nil)
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	page := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nHost: x\r\n\r\n<html>"
	if got := c.do("SET", "cache:page", page); got != "+OK\r\n" {
		t.Fatalf("SET = %q", got)
	}
	if got := c.do("GET", "cache:page"); got != "$"+itoa(len(page))+"\r\n"+page+"\r\n" {
		t.Fatalf("GET = %q", got)
	}
	c.send("SET a:b c\r\nGET a:b\r\n")
	if got := c.reply() + c.reply(); got != "+OK\r\n$1\r\nc\r\n" {
		t.Fatalf("inline = %q", got)
	}
	if n := rec.Count(monitor.CrossProtocol); n != 0 {
		t.Fatalf("%d false cross-protocol events", n)
	}
}

func TestStrictRESP(t *testing.T) {
	for _, strict := range []bool{true, false} {
		opts, rec := secureOpts(func(sec *Security) {
			sec.StrictRESP = strict
			sec.Allowlist = allowlist(t, guard.Group{Name: "lan", Entries: []string{"10.0.0.0/8"}})
		})
		s, _ := startAsPeer(t, opts, "10.1.2.3")
		c := dial(t, s.Addrs()[0])
		if got := c.do("PING"); got != "+PONG\r\n" {
			t.Fatalf("strict=%v: RESP PING = %q", strict, got)
		}
		c.send("PING\r\n")
		got := c.reply()
		if strict {
			if got != "-"+inlineRefusedReply+"\r\n" || !c.closed() {
				t.Fatalf("strict: inline PING = %q, want one error and a close", got)
			}
			if rec.Count(monitor.InlineRefused) != 1 {
				t.Fatal("no inline_refused event")
			}
		} else if got != "+PONG\r\n" {
			t.Fatalf("not strict: inline PING = %q", got)
		}
	}
	// Loopback peers keep inline commands under strict RESP (redis-cli,
	// telnet and health checks on the host).
	opts, _ := secureOpts(nil)
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	c.send("PING\r\n")
	if got := c.reply(); got != "+PONG\r\n" {
		t.Fatalf("loopback inline PING = %q", got)
	}
}

func TestBans(t *testing.T) {
	clock := newFakeClock(1_000_000)
	opts, rec := secureOpts(func(sec *Security) {
		sec.Allowlist = allowlist(t, guard.DefaultGroups()[0], guard.Group{Name: "lan", Entries: []string{"10.0.0.0/8"}})
	})
	opts.Now = clock.Now
	s, peer := startAsPeer(t, opts, "10.9.9.9")
	for i := 0; i < 3; i++ {
		c := dial(t, s.Addrs()[0])
		c.send("GET / HTTP/1.1\r\n")
		if !c.closedSilently() {
			t.Fatalf("attempt %d: not closed", i)
		}
	}
	if n := rec.Count(monitor.Banned); n != 1 {
		t.Fatalf("%d ban events after 3 attempts, want 1", n)
	}
	// Banned: closed at accept, before a byte is read.
	c := dial(t, s.Addrs()[0])
	if !c.closedSilently() {
		t.Fatal("banned address not closed at accept")
	}
	if rec.Count(monitor.BanRefused) != 1 {
		t.Fatal("no ban_refused event")
	}
	if bans := s.bans.List(); len(bans) != 1 || bans[0].Addr.String() != "10.9.9.9/32" {
		t.Fatalf("ban list %+v", bans)
	}
	// The ban ends after its duration.
	clock.Add(guard.DefaultBanOptions().Duration + time.Second)
	c = dial(t, s.Addrs()[0])
	if got := c.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("after the ban: PING = %q", got)
	}
	// Loopback peers are never banned.
	peer.set("127.0.0.1")
	for i := 0; i < 5; i++ {
		c := dial(t, s.Addrs()[0])
		c.send("GET / HTTP/1.1\r\n")
		_ = c.closedSilently()
	}
	c = dial(t, s.Addrs()[0])
	t.Cleanup(func() {
		if t.Failed() {
			for _, ev := range rec.Recent() {
				t.Logf("%+v", ev)
			}
		}
	})
	if got := c.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("loopback after attempts: PING = %q", got)
	}
	var info string
	info = c.do("INFO", "security")
	if !strings.Contains(info, "banned_addresses:0") || !strings.Contains(info, "cross_protocol_attempts:8") {
		t.Fatalf("INFO security:\n%s", info)
	}
}

// dialFrom connects to addr from a local address such as 127.0.0.2.
func dialFrom(t *testing.T, from, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, nc)
}

func TestAllowlist(t *testing.T) {
	opts, rec := secureOpts(nil)
	s := startServer(t, opts)
	addr := s.Addrs()[0]

	outsider := dialFrom(t, "127.0.0.2", addr)
	if !outsider.closedSilently() {
		t.Fatal("127.0.0.2 is outside the default allowlist but was not closed")
	}
	if rec.Count(monitor.AllowlistDenied) != 1 {
		t.Fatal("no allowlist_denied event")
	}

	// Reload with 127.0.0.2 allowed: it may connect, nothing restarts.
	wider := DefaultSecurity()
	wider.Allowlist = allowlist(t, guard.DefaultGroups()[0], guard.Group{Name: "ci", Entries: []string{"127.0.0.2/32"}})
	if err := s.Reload(wider); err != nil {
		t.Fatal(err)
	}
	b := dialFrom(t, "127.0.0.2", addr)
	if got := b.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("allowed 127.0.0.2: PING = %q", got)
	}
	a := dial(t, addr)
	if got := a.do("SET", "k", "v"); got != "+OK\r\n" {
		t.Fatal(got)
	}

	// Back to the default: 127.0.0.2's connection is closed, 127.0.0.1's stays.
	if err := s.Reload(DefaultSecurity()); err != nil {
		t.Fatal(err)
	}
	if !b.closed() {
		t.Fatal("connection from an address no longer allowed is still open")
	}
	if got := a.do("GET", "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("allowed connection after reload: GET = %q", got)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Run("maxclients", func(t *testing.T) {
		opts, rec := secureOpts(func(sec *Security) { sec.MaxClients = 2 })
		s := startServer(t, opts)
		dial(t, s.Addrs()[0]).do("PING")
		dial(t, s.Addrs()[0]).do("PING")
		c := dial(t, s.Addrs()[0])
		if got := c.reply(); got != "-ERR max number of clients reached\r\n" || !c.closed() {
			t.Fatalf("third client: %q", got)
		}
		if rec.Count(monitor.MaxClients) != 1 {
			t.Fatal("no maxclients event")
		}
	})
	t.Run("per address", func(t *testing.T) {
		opts, _ := secureOpts(func(sec *Security) { sec.PerAddress = 2 })
		s := startServer(t, opts)
		first := dial(t, s.Addrs()[0])
		first.do("PING")
		dial(t, s.Addrs()[0]).do("PING")
		c := dial(t, s.Addrs()[0])
		if got := c.reply(); got != "-ERR too many connections from your address\r\n" {
			t.Fatalf("third from one address: %q", got)
		}
		// A closed connection frees its place.
		first.nc.Close()
		testutil.WaitFor(t, 5*time.Second, "the place to be freed", func() bool { return s.perAddr.Count(netip.MustParseAddr("127.0.0.1")) < 2 })
		if got := dial(t, s.Addrs()[0]).do("PING"); got != "+PONG\r\n" {
			t.Fatalf("after a close: %q", got)
		}
	})
}

// TestGuardSwitch: with cross_protocol_guard off (for measuring its cost)
// the PUT attack gets through as it does on redis-server, which shows the
// guard is what stops it.
func TestGuardSwitch(t *testing.T) {
	opts, rec := secureOpts(func(sec *Security) { sec.NoGuard = true })
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	c.send(putAttack)
	_ = c.closed()
	c2 := dial(t, s.Addrs()[0])
	if got := c2.do("GET", "csrf"); got != "$5\r\npwned\r\n" {
		t.Fatalf("guard off: GET = %q, want the attack's value", got)
	}
	if n := rec.Count(monitor.CrossProtocol); n != 0 {
		t.Fatalf("guard off recorded %d events", n)
	}
}
