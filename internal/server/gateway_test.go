package server

import (
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// startGateway starts a real redis-server and an instance in front of it.
func startGateway(t *testing.T, extra ...string) (*Server, *testutil.Redis) {
	t.Helper()
	r := testutil.StartRedis(t, extra...)
	s := startServer(t, Options{Backend: Backend{Kind: BackendRedis,
		Target: upstream.Target{Network: "tcp", Addr: r.Addr}}})
	return s, r
}

func TestGatewayBasics(t *testing.T) {
	s, _ := startGateway(t)
	c := dial(t, s.Addrs()[0])
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"SET", "k", "v"}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$1\r\nv\r\n"},
		{[]string{"SELECT", "0"}, "+OK\r\n"},
		{[]string{"SELECT", "3"}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$-1\r\n"},
		{[]string{"SET", "k", "three"}, "+OK\r\n"},
		{[]string{"SELECT", "0"}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$1\r\nv\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"INCR", "n"}, "+QUEUED\r\n"},
		{[]string{"INCR", "n"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*2\r\n:1\r\n:2\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"INCR", "n"}, "+QUEUED\r\n"},
		{[]string{"CONFIG", "SET", "dir", "/tmp"}, "-ERR command 'CONFIG SET' is disabled on this instance; change it in the admin console\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"GET", "n"}, "$1\r\n2\r\n"},
		{[]string{"RPUSH", "q", "a"}, ":1\r\n"},
		{[]string{"BLPOP", "q", "1"}, "*2\r\n$1\r\nq\r\n$1\r\na\r\n"},
		{[]string{"BLPOP", "q", "0.05"}, "*-1\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
	}
	for _, st := range steps {
		if got := c.do(st.args...); got != st.want {
			t.Fatalf("%v: got %q, want %q", st.args, got, st.want)
		}
	}
	// A pipeline mixing forwarded and refused commands keeps its order.
	c.send("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
	for _, want := range []string{"+OK\r\n", "-ERR command 'DEBUG' is disabled", "$1\r\n1\r\n"} {
		if got := c.reply(); !strings.HasPrefix(got, want) {
			t.Fatalf("pipeline: got %q, want %q", got, want)
		}
	}
}

func TestGatewayPubSub(t *testing.T) {
	s, _ := startGateway(t)
	sub := dial(t, s.Addrs()[0])
	pub := dial(t, s.Addrs()[0])
	if got := sub.do("SUBSCRIBE", "ch", "other"); got != "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n" {
		t.Fatalf("subscribe: %q", got)
	}
	if got := sub.reply(); got != "*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n" {
		t.Fatalf("subscribe 2: %q", got)
	}
	testutil.WaitFor(t, 5*time.Second, "a subscriber", func() bool { return pub.do("PUBLISH", "ch", "hello") == ":1\r\n" })
	if got := sub.reply(); got != "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n" {
		t.Fatalf("message: %q", got)
	}
	if got := sub.do("UNSUBSCRIBE"); !strings.Contains(got, "unsubscribe") {
		t.Fatalf("unsubscribe: %q", got)
	}
	sub.reply()
	if got := sub.do("GET", "x"); got != "$-1\r\n" {
		t.Fatalf("after unsubscribe: %q", got)
	}
}

func TestGatewayBackendDown(t *testing.T) {
	s, r := startGateway(t)
	c := dial(t, s.Addrs()[0])
	if got := c.do("SET", "k", "v"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	r.Stop()
	testutil.WaitFor(t, 5*time.Second, "backend unavailable", func() bool {
		return c.do("GET", "k") == "-ERR backend unavailable\r\n"
	})
}

func TestGatewayInfo(t *testing.T) {
	s, r := startGateway(t)
	c := dial(t, s.Addrs()[0])
	c.do("SET", "k", "v")
	info := c.do("INFO")
	for _, want := range []string{"# Server\r\nredis_version:", "# Backend\r\nbackend:redis\r\nbackend_target:redis://" + r.Addr, "backend_status:up",
		"# Keyspace\r\ndb0:keys=1,", "# Memory\r\nused_memory:", "# Security\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q:\n%s", want, info)
		}
	}
	if got := c.do("INFO", "commandstats"); !strings.Contains(got, "cmdstat_set:calls=1") {
		t.Errorf("INFO commandstats: %s", got)
	}
	r.Stop()
	testutil.WaitFor(t, 5*time.Second, "backend down in INFO", func() bool {
		return strings.Contains(c.do("INFO", "backend"), "backend_status:down")
	})
}

// TestGatewayTrackingRedirect: RESP2 client-side caching through the
// gateway. REDIRECT names a Redoubt client id; invalidations reach that
// client's subscription, and an id of no subscribed client is refused.
func TestGatewayTrackingRedirect(t *testing.T) {
	s, _ := startGateway(t)
	inv := dial(t, s.Addrs()[0])
	id := strings.TrimSuffix(strings.TrimPrefix(inv.do("CLIENT", "ID"), ":"), "\r\n")
	reader := dial(t, s.Addrs()[0])
	if got := reader.do("CLIENT", "TRACKING", "ON", "REDIRECT", id); got != "-ERR The client ID you want redirect to does not exist\r\n" {
		t.Fatalf("redirect to a client without a subscription: %q", got)
	}
	if got := inv.do("SUBSCRIBE", "__redis__:invalidate"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	if got := reader.do("CLIENT", "TRACKING", "ON", "REDIRECT", id); got != "+OK\r\n" {
		t.Fatalf("CLIENT TRACKING ON REDIRECT: %q", got)
	}
	reader.do("GET", "cached")
	dial(t, s.Addrs()[0]).do("SET", "cached", "changed")
	if got := inv.reply(); !strings.Contains(got, "invalidate") || !strings.Contains(got, "cached") {
		t.Fatalf("invalidation: %q", got)
	}
}
