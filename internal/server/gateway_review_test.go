package server

import (
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// Review tests: isolation between clients of a gateway instance.

// replyWithin reads one reply with a deadline; "" and the error when none
// came.
func (c *client) replyWithin(d time.Duration) (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	defer c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	raw, err := c.rd.ReadRaw()
	return string(raw), err
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

func clientID(t *testing.T, c *client) string {
	t.Helper()
	return strings.TrimSuffix(strings.TrimPrefix(c.do("CLIENT", "ID"), ":"), "\r\n")
}

// TestGatewayReviewTrackingRedirectReuse: CLIENT TRACKING … REDIRECT
// names a client's dedicated backend connection; when that client's state
// ends the connection goes back to the idle set as clean, yet the backend
// still redirects the tracking client's invalidations to it. The next
// client to get it receives another client's invalidations (key names it
// never read).
func TestGatewayReviewTrackingRedirectReuse(t *testing.T) {
	s, _ := startGateway(t)
	addr := s.Addrs()[0]
	x := dial(t, addr)
	x.do("HELLO", "3")
	if got := x.do("WATCH", "w"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	tr := dial(t, addr)
	if got := tr.do("CLIENT", "TRACKING", "ON", "REDIRECT", clientID(t, x)); got != "+OK\r\n" {
		t.Fatalf("tracking: %q", got)
	}
	if got := x.do("UNWATCH"); got != "+OK\r\n" { // x's connection goes back, "clean"
		t.Fatal(got)
	}
	y := dial(t, addr)
	y.do("HELLO", "3")
	if got := y.do("WATCH", "z"); got != "+OK\r\n" { // y gets the idle connection
		t.Fatal(got)
	}
	tr.do("GET", "secret:key:of:tr")
	dial(t, addr).do("SET", "secret:key:of:tr", "v")
	// A bounded wait for something that must not come (the invalidation
	// has no receiver now): there is no event to poll for.
	time.Sleep(100 * time.Millisecond)
	y.send("*1\r\n$4\r\nPING\r\n")
	got, err := y.replyWithin(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got != "+PONG\r\n" {
		t.Fatalf("client y received %q, meant for another client (its PING should get +PONG)", clip(got))
	}
}

// TestGatewayReviewResp2UnsubscribeRace: a RESP2 subscriber's last
// UNSUBSCRIBE turns the connection's "subscribed" flag off before the
// backend processed it, so the messages still in flight are taken for
// replies: the first one answers the UNSUBSCRIBE, the connection is
// released as clean, and the next one is handed to whichever client picks
// the connection up next.
func TestGatewayReviewResp2UnsubscribeRace(t *testing.T) {
	s, r := startGateway(t, "--client-output-buffer-limit", "pubsub 0 0 0")
	addr := s.Addrs()[0]
	for attempt := 0; attempt < 8; attempt++ {
		x := dial(t, addr)
		if got := x.do("SUBSCRIBE", "private"); !strings.Contains(got, "subscribe") {
			t.Fatal(got)
		}
		// x reads what it gets, so its goroutine is never stuck writing.
		xs := make(chan string, 100)
		go func() {
			defer close(xs)
			for {
				_ = x.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				raw, err := x.rd.ReadRaw()
				if err != nil {
					return
				}
				xs <- clip(string(raw))
			}
		}()
		y := dial(t, addr)
		pub := dial(t, r.Addr) // straight to the backend
		var batch []byte
		// 28 MiB in all: under the 32 MiB a subscriber may have waiting
		// (more, and a slow reader is rightly disconnected), and large
		// enough that the backend is still sending when the UNSUBSCRIBE
		// arrives.
		for i := 0; i < 4; i++ {
			batch = append(batch, respCmd("PUBLISH", "private", "M"+itoa(i)+strings.Repeat("s", 7<<20))...)
		}
		pub.send(string(batch))
		x.send("*1\r\n$11\r\nUNSUBSCRIBE\r\n")
		// y takes dedicated connections over and over; once x's is
		// released it is y's next one.
		deadline := time.Now().Add(2 * time.Second)
		// RESET closes y's connection rather than keeping it idle, so the
		// idle set holds x's alone once it is released.
		pairs := strings.Repeat("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n*1\r\n$5\r\nRESET\r\n", 50)
		for time.Now().Before(deadline) {
			y.send(pairs)
			for i := 0; i < 100; i++ {
				got, err := y.replyWithin(5 * time.Second)
				if err != nil {
					t.Fatalf("client y: %v", err)
				}
				if got != "+OK\r\n" && got != "+RESET\r\n" {
					t.Fatalf("attempt %d: client y's WATCH/RESET got %q — another client's pub/sub message", attempt, clip(got))
				}
			}
		}
		var last string
		for f := range xs {
			last = f
		}
		if !strings.Contains(last, "unsubscribe") {
			t.Errorf("attempt %d: x's last frame is %q, not its UNSUBSCRIBE confirmation", attempt, last)
		}
		x.nc.Close()
	}
}

func respCmd(args ...string) []byte {
	var b strings.Builder
	b.WriteString("*" + itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return []byte(b.String())
}

// TestGatewayReviewMonitorShared: MONITOR is not refused for ever (an
// operator may enable it), and it is forwarded on a shared connection,
// which then streams the backend's command feed as if they were replies to
// the other clients' requests.
func TestGatewayReviewMonitorShared(t *testing.T) {
	r := testutil.StartRedis(t)
	sec := DefaultSecurity()
	sec.Enabled = []string{"monitor"}
	s := startServer(t, Options{Security: &sec, Backend: Backend{Kind: BackendRedis, Pool: 1,
		Target: upstream.Target{Network: "tcp", Addr: r.Addr}}})
	addr := s.Addrs()[0]
	a := dial(t, addr)
	if got := a.do("MONITOR"); got != "+OK\r\n" {
		t.Skipf("MONITOR refused: %q", got)
	}
	b := dial(t, addr)
	for i := 0; i < 5; i++ {
		got := b.do("SET", "k"+itoa(i+1), "v")
		if got != "+OK\r\n" {
			t.Fatalf("client b's SET #%d got %q (the shared connection is in MONITOR mode)", i, clip(got))
		}
	}
}

// TestGatewayReviewResp3SubscribeHello2: a RESP3 subscriber that switches
// to RESP2 (HELLO 2) leaves its dedicated connection with the RESP2
// "subscribed" flag off, so a message is taken for a reply.
func TestGatewayReviewResp3SubscribeHello2(t *testing.T) {
	s, _ := startGateway(t)
	addr := s.Addrs()[0]
	x := dial(t, addr)
	x.do("HELLO", "3")
	if got := x.do("SUBSCRIBE", "ch"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	x.do("HELLO", "2")
	pub := dial(t, addr)
	if got := pub.do("PUBLISH", "ch", "hello"); got != ":1\r\n" {
		t.Fatal(got)
	}
	got, err := x.replyWithin(3 * time.Second)
	if err != nil || got != "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n" {
		t.Errorf("message after HELLO 2: %q %v", clip(got), err)
	}
	x.send("*1\r\n$4\r\nPING\r\n")
	got, err = x.replyWithin(3 * time.Second)
	if err != nil || got != "*2\r\n$4\r\npong\r\n$0\r\n\r\n" {
		t.Fatalf("PING after HELLO 2 while subscribed: %q %v", clip(got), err)
	}
}

// TestGatewayReviewNoEvictShared: CLIENT NO-EVICT is connection state the
// gateway does not know about; it is forwarded on a shared connection (or
// at EXEC on a dedicated one later reused), where it stays for every
// other client.
func TestGatewayReviewNoEvictShared(t *testing.T) {
	s, r := startGateway(t)
	a := dial(t, s.Addrs()[0])
	if got := a.do("CLIENT", "NO-EVICT", "on"); got != "+OK\r\n" {
		t.Skipf("CLIENT NO-EVICT refused: %q", got)
	}
	direct := dial(t, r.Addr)
	list := direct.do("CLIENT", "LIST")
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "name=redoubt-") && strings.Contains(line, " flags=e") {
			t.Fatalf("a shared/idle backend connection is left in no-evict mode: %s", line)
		}
	}
}

// TestGatewayReviewSubscribeRefusedByBackendACL: the gateway expects one
// confirmation per channel, but a backend that refuses the SUBSCRIBE
// (ACL channel rules) answers with a single error: the client's
// following reply goes missing and it hangs.
func TestGatewayReviewSubscribeRefusedByBackendACL(t *testing.T) {
	r := testutil.StartRedis(t, "--user", "gw", "on", ">pw", "~*", "&ok*", "+@all")
	s := startServer(t, Options{Backend: Backend{Kind: BackendRedis,
		Target: upstream.Target{Network: "tcp", Addr: r.Addr, Username: "gw", Password: "pw"}}})
	x := dial(t, s.Addrs()[0])
	x.send(string(respCmd("SUBSCRIBE", "ok1", "secret")))
	got, err := x.replyWithin(3 * time.Second)
	if err != nil || !strings.HasPrefix(got, "-NOPERM") {
		t.Fatalf("SUBSCRIBE refused by the backend (redis answers one -NOPERM): %q %v", clip(got), err)
	}
	x.send("*1\r\n$4\r\nPING\r\n")
	got, err = x.replyWithin(3 * time.Second)
	if err != nil || got != "+PONG\r\n" {
		t.Fatalf("PING after a refused SUBSCRIBE: %q %v", clip(got), err)
	}
}
