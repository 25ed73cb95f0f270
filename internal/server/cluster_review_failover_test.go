package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

func rvPipelineWorker(t *testing.T, addr string, w int) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Error(err)
		return
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	rd := resp.NewReader(nc, resp.DefaultLimits())
	null := "$-1\r\n"
	if w%2 == 1 {
		null = "_\r\n"
		nc.Write(respCmd("HELLO", "3"))
		if _, err := rd.ReadRaw(); err != nil {
			t.Error(err)
			return
		}
	}
	bulk := func(v string) string { return "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n" }
	prefix := "rv:p" + strconv.Itoa(w) + ":"
	counter := prefix + "n"
	var n int
	for round := range 12 {
		var out []byte
		var want []string
		add := func(reply string, args ...string) {
			out = append(out, respCmd(args...)...)
			want = append(want, reply)
		}
		for i := range 6 {
			k := prefix + strconv.Itoa(i)
			j := prefix + strconv.Itoa(i+6)
			v := strconv.Itoa(round) + "-" + strconv.Itoa(i)
			add("+OK\r\n", "SET", k, v)
			add(bulk(v), "GET", k)
			n++
			add(":"+strconv.Itoa(n)+"\r\n", "INCR", counter)
			add("+OK\r\n", "MSET", j, v+"j", k, v+"k")
			add("*3\r\n"+bulk(v+"k")+null+bulk(v+"j"), "MGET", k, prefix+"none", j)
			add(":2\r\n", "EXISTS", k, prefix+"none", j)
			add("-ERR SELECT is not allowed in cluster mode\r\n", "SELECT", "1")
			add("+PONG\r\n", "PING")
			add("", "DBSIZE")
			add(":1\r\n", "DEL", j, prefix+"none")
			add(null, "GET", j)
			add("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "LPUSH", k, "x")
			add("", "NOSUCHCOMMAND", k)
		}
		if _, err := nc.Write(out); err != nil {
			t.Error(err)
			return
		}
		for i, exp := range want {
			raw, err := rd.ReadRaw()
			if err != nil {
				t.Errorf("reply %d: %v", i, err)
				return
			}
			got := string(raw)
			switch {
			case exp == "" && (strings.HasPrefix(got, ":") || strings.HasPrefix(got, "-ERR unknown command")):
			case got != exp:
				t.Errorf("client %d round %d reply %d: %q, want %q", w, round, i, clip(got), exp)
				return
			}
		}
	}
}

// rvClient is a go-redis client of Redoubt, RESP2, without cluster
// support.
func rvClient(t *testing.T, s *Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: 2, MaxRetries: -1, PoolSize: 2})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClusterReviewFailover kills the master a subscriber is pinned to,
// in a cluster with replicas.
func TestClusterReviewFailover(t *testing.T) {
	cl := testutil.StartCluster(t, 3, 1)
	ctx := context.Background()
	s := rvStart(t, cl, nil)
	sub := dial(t, s.Addrs()[0])
	if got := sub.do("SUBSCRIBE", "rv:alerts"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	victim := rvSubNode(t, cl, "rv:alerts")
	var kv, ko string
	for _, m := range s.cl.Masters() {
		if m.Addr == victim.Addr {
			kv = rvKey("rv:fv", m.First())
		} else {
			ko = rvKey("rv:fo", m.First())
		}
	}
	c := dial(t, s.Addrs()[0])
	c.do("SET", kv, "before")
	c.do("SET", ko, "before")
	cl.WaitSynced(t, 10*time.Second)
	victim.Kill()

	// The other masters serve their slots during the outage; a split
	// command that needs the dead one fails.
	if got := c.do("SET", ko, "during"); got != "+OK\r\n" {
		t.Errorf("SET on a live master during the outage: %q", got)
	}
	if got := c.do("GET", kv); !strings.HasPrefix(got, "-") {
		t.Errorf("GET on the dead master: %q", got)
	}
	if got := c.do("MSET", ko, "split", kv, "split"); !strings.HasPrefix(got, "-") {
		t.Errorf("MSET across the dead master: %q", got)
	} else {
		t.Logf("MSET across the dead master: %q; the live master's key is now %q", got, c.do("GET", ko))
	}
	cl.WaitFailover(t, victim, 30*time.Second)

	// Its slots come back, with their data, without restarting Redoubt.
	testutil.WaitFor(t, 10*time.Second, "the failed-over slot to answer", func() bool {
		return c.do("GET", kv) == "$6\r\nbefore\r\n"
	})

	// The subscriber's node is gone, and its subscription with it: the
	// client must learn it (its connection closed, so it subscribes
	// again), or keep receiving the channel's messages. Not silence.
	pub := cl.Client(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		pub.Publish(ctx, "rv:alerts", "after")
		got, err := sub.replyWithin(250 * time.Millisecond)
		if err == nil && strings.Contains(got, "after") {
			break
		}
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			break // closed: the client knows
		}
		if time.Now().After(deadline) {
			t.Error("the subscriber's master died: 5 s after the failover the subscriber is neither disconnected nor receiving messages")
			break
		}
	}
}

// TestClusterReviewPushesDuringSplit: a RESP3 subscriber whose pushes
// pile up (1 MiB) while it waits for the parts of a split MGET has them
// written out in the middle of the wait — and with them every reply
// already in the output — after which the merge slices the output at a
// mark taken before: past its end (a panic outside any recovery: the
// process dies, every client of every instance with it), or into the
// middle of other replies (a broken stream). Nothing but an ordinary
// client is needed: it publishes to its own channel through Redoubt.
// The scenario runs in a child process, so that the crash does not take
// the other tests with it.
func TestClusterReviewPushesDuringSplit(t *testing.T) {
	if os.Getenv("RV_PUSHES_CHILD") != "1" {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestClusterReviewPushesDuringSplit$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "RV_PUSHES_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			lines := strings.Split(string(out), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "panic:") {
					lines = lines[i:min(len(lines), i+16)]
					break
				}
			}
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			t.Errorf("the scenario failed (%v):\n%s", err, strings.Join(lines, "\n"))
		}
		return
	}
	cl := testutil.StartCluster(t, 3, 0)
	s := rvStart(t, cl, nil)
	var keys []string
	for _, m := range s.cl.Masters() {
		keys = append(keys, rvKey("rv:pd", m.First()))
	}
	// The publisher: another ordinary client of Redoubt.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	pc, err := net.Dial("tcp", s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	wg.Go(func() {
		msg := respCmd("PUBLISH", "rv:flood", strings.Repeat("x", 1200<<10))
		rd := resp.NewReader(pc, resp.DefaultLimits())
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := pc.Write(msg); err != nil {
				return
			}
			if _, err := rd.ReadRaw(); err != nil {
				return
			}
		}
	})
	// TIME's reply (Redoubt's own) is still in the output when MGET's
	// parts are awaited. A subscriber whose stream broke is replaced, to
	// give the crash its chance.
	broken := 0
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		if err := rvFloodSubscriber(s.Addrs()[0], keys, end); err != nil {
			if broken == 0 {
				t.Errorf("a subscriber's stream broke: %v", err)
			}
			broken++
		}
	}
	t.Logf("%d subscribers' streams broke", broken)
}

// rvFloodSubscriber subscribes to rv:flood (RESP3) and pipelines TIME
// and an MGET of keys (split) until end; it returns what went wrong.
func rvFloodSubscriber(addr string, keys []string, end time.Time) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(end.Add(10 * time.Second))
	nc.Write(append(respCmd("HELLO", "3"), respCmd("SUBSCRIBE", "rv:flood")...))
	lim := resp.DefaultLimits()
	lim.MaxArgs, lim.MaxBulk = 1<<20, 1<<30
	rd := resp.NewReader(nc, lim)
	next := func() (string, error) {
		for {
			raw, err := rd.ReadRaw()
			if err != nil {
				return "", err
			}
			if raw[0] != '>' || strings.Contains(string(raw[:min(len(raw), 40)]), "subscribe") {
				return string(raw[:min(len(raw), 200)]), nil
			}
		}
	}
	next() // HELLO
	next() // subscribe confirmation
	cmds := append(respCmd("TIME"), respCmd(append([]string{"MGET"}, keys...)...)...)
	for i := 0; time.Now().Before(end); i++ {
		if _, err := nc.Write(cmds); err != nil {
			return err
		}
		if got, err := next(); err != nil || !strings.HasPrefix(got, "*2") {
			return fmt.Errorf("round %d: TIME answered %q (%v)", i, got, err)
		}
		if got, err := next(); err != nil || !strings.HasPrefix(got, "*3\r\n") {
			return fmt.Errorf("round %d: MGET of 3 keys answered %q (%v)", i, got, err)
		}
	}
	return nil
}

// TestClusterReviewGatewayPipelinedError: PipelinedErrorLeaksSubscription
// in gateway mode — the mark that misjudges PSUBSCRIBE is gwPubsub's.
func TestClusterReviewGatewayPipelinedError(t *testing.T) {
	s, _ := startGateway(t)
	a := dial(t, s.Addrs()[0])
	a.do("SET", "str", "x")
	a.do("HELLO", "3")
	a.do("SUBSCRIBE", "ch1")
	a.send(string(respCmd("LPUSH", "str", "x")) + string(respCmd("PSUBSCRIBE", "secret*")))
	a.reply()
	a.reply()
	a.do("UNSUBSCRIBE", "ch1")
	b := dial(t, s.Addrs()[0])
	b.do("HELLO", "3")
	if got := b.do("WATCH", "k"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	dial(t, s.Addrs()[0]).do("PUBLISH", "secret.1", "for A only")
	if got, err := b.replyWithin(time.Second); err == nil {
		t.Errorf("client B received %q, a message of client A's subscription", got)
	}
}
