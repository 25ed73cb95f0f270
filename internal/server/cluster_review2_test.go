package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// Review 2: the data path shared by gateway and cluster mode after the
// cluster changes (sink numbering, gwSync over several connections,
// marks, split commands).

// r2Send writes every command of cmds in one write.
func r2Send(c *client, cmds [][]string) {
	c.t.Helper()
	var b []byte
	for _, cmd := range cmds {
		bs := make([][]byte, len(cmd))
		for i, a := range cmd {
			bs[i] = []byte(a)
		}
		b = resp.AppendCommand(b, bs...)
	}
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// r2Until reads replies until one equals last (included), or fails.
func r2Until(c *client, last string) []string {
	c.t.Helper()
	var out []string
	for len(out) < 100000 {
		raw, err := c.rd.ReadRaw()
		if err != nil {
			c.t.Fatalf("after %d replies (last %q): %v", len(out), r2Last(out), err)
		}
		out = append(out, string(raw))
		if string(raw) == last {
			return out
		}
	}
	c.t.Fatal("no end marker")
	return nil
}

func r2Last(out []string) string {
	if len(out) == 0 {
		return ""
	}
	return clip(out[len(out)-1])
}

// r2Norm makes replies of Redis and of Redoubt comparable: errors by
// their first word, HELLO's map by its kind.
func r2Norm(rs []string) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		switch {
		case strings.HasPrefix(r, "-"):
			out[i] = strings.Fields(r)[0]
		case strings.HasPrefix(r, "%7\r\n$6\r\nserver"), strings.HasPrefix(r, "*14\r\n$6\r\nserver"):
			out[i] = "HELLO"
		default:
			out[i] = r
		}
	}
	return out
}

// TestR2GatewayStatePipelines sends pipelines that mix state commands,
// errors and ordinary commands, in one write, to a redis-server and to a
// gateway in front of another: the replies must be the same.
func TestR2GatewayStatePipelines(t *testing.T) {
	direct := testutil.StartRedis(t)
	s, _ := startGateway(t)
	end := []string{"ECHO", "the-end"}
	pipelines := map[string][][]string{
		"resp2": {
			{"SET", "a", "1"}, {"MULTI"}, {"INCR", "a"}, {"GET"}, {"EXEC"}, {"GET", "a"},
			{"WATCH", "a"}, {"GET", "a"}, {"MULTI"}, {"INCR", "a"}, {"EXEC"},
			{"SELECT", "2"}, {"SET", "a", "x"}, {"GET", "a"}, {"WATCH", "a"}, {"SELECT", "0"}, {"GET", "a"},
			{"MULTI"}, {"SET", "a", "5"}, {"DISCARD"}, {"UNWATCH"}, {"GET", "a"},
			{"MULTI"}, {"SELECT", "3"}, {"SET", "a", "three"}, {"EXEC"}, {"GET", "a"}, {"SELECT", "0"},
			{"SUBSCRIBE", "ch1", "ch2"}, {"GET", "a"}, {"PING"}, {"PING", "x"}, {"UNSUBSCRIBE", "ch1", "ch2"},
			{"PING"}, {"GET", "a"}, {"WATCH", "a"}, {"MULTI"}, {"INCR", "a"}, {"RESET"}, {"EXEC"}, {"GET", "a"},
			{"SUBSCRIBE", "ch3"}, {"RESET"}, {"GET", "a"},
			{"INCR", "notanumber", "x"}, {"LPUSH", "a", "x"}, {"SELECT", "99"}, {"MULTI"}, {"MULTI"}, {"EXEC"},
			end,
		},
		"resp3": {
			{"HELLO", "3"}, {"SET", "a", "1"}, {"CLIENT", "TRACKING", "ON"}, {"GET", "a"}, {"SET", "a", "2"},
			{"GET", "a"}, {"MULTI"}, {"INCR", "a"}, {"EXEC"},
			{"SUBSCRIBE", "ch1"}, {"GET", "a"}, {"SELECT", "1"}, {"GET", "a"}, {"SELECT", "0"},
			{"WATCH", "a"}, {"MULTI"}, {"INCR", "a"}, {"EXEC"}, {"PING"},
			{"SUBSCRIBE", "ch2", "ch1"}, {"UNSUBSCRIBE", "ch1"}, {"HELLO", "2"}, {"PING"}, {"GET", "a"},
			{"HELLO", "3"}, {"GET", "a"}, {"CLIENT", "TRACKING", "OFF"}, {"UNSUBSCRIBE"},
			{"RESET"}, {"HELLO", "3"}, {"GET", "a"}, {"SET", "a", "3"}, {"GET", "a"},
			end,
		},
	}
	for name, cmds := range pipelines {
		t.Run(name, func(t *testing.T) {
			d := dial(t, direct.Addr)
			d.do("FLUSHALL")
			dial(t, s.Addrs()[0]).do("FLUSHALL")
			r2Send(d, cmds)
			want := r2Norm(r2Until(d, rvBulk("the-end")))
			g := dial(t, s.Addrs()[0])
			r2Send(g, cmds)
			got := r2Norm(r2Until(g, rvBulk("the-end")))
			for i := 0; i < len(want) || i < len(got); i++ {
				var w, gg string
				if i < len(want) {
					w = want[i]
				}
				if i < len(got) {
					gg = got[i]
				}
				if w != gg {
					t.Errorf("reply %d: got %q, Redis gives %q", i, clip(gg), clip(w))
				}
			}
		})
	}
}

// r2Pub publishes n numbered messages of size bytes on channel, straight
// to the backend.
func r2Pub(t *testing.T, addr, channel string, n, size int) {
	p := dial(t, addr)
	pad := strings.Repeat("p", max(0, size-12))
	for i := 0; i < n; i += 100 {
		var cmds [][]string
		for j := i; j < min(n, i+100); j++ {
			cmds = append(cmds, []string{"PUBLISH", channel, fmt.Sprintf("%010d:%s", j, pad)})
		}
		r2Send(p, cmds)
		for range cmds {
			p.reply()
		}
	}
}

// TestR2GatewaySlowSubscriberDropped: a subscriber that does not read is
// disconnected once 32 MiB of messages wait, as Redis's pub/sub output
// limit does (upstream.MaxPushBytes); its backend subscription goes too.
func TestR2GatewaySlowSubscriberDropped(t *testing.T) {
	s, r := startGateway(t)
	slow := dial(t, s.Addrs()[0])
	if tc, ok := slow.nc.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	if got := slow.do("SUBSCRIBE", "fire"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	pub := dial(t, r.Addr)
	msg := strings.Repeat("m", 64<<10)
	var last string
	for i := 0; i < 2000; i++ { // 125 MiB: far beyond the limit and the socket buffers
		if last = pub.do("PUBLISH", "fire", msg); last == ":0\r\n" {
			break
		}
	}
	if last != ":0\r\n" {
		t.Errorf("125 MiB of messages later the non-reading subscriber still holds its subscription")
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.clientCount() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.clientCount(); n != 0 {
		t.Errorf("the non-reading subscriber is still connected (%d clients)", n)
	}
}

// TestR2GatewaySubscriberFloodWhileCommands: a RESP3 subscriber that
// reads gets every message, in order, while it runs commands that read
// their reply behind a mark (SUBSCRIBE, SELECT, WATCH, MULTI/EXEC), and
// its replies are in order among them.
func TestR2GatewaySubscriberFloodWhileCommands(t *testing.T) {
	s, r := startGateway(t)
	sub := dial(t, s.Addrs()[0])
	sub.do("HELLO", "3")
	if got := sub.do("SUBSCRIBE", "flood"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	const n = 6000 // 6000 × 4 KiB: several PushFlush rounds
	var wg sync.WaitGroup
	wg.Go(func() { r2Pub(t, r.Addr, "flood", n, 4<<10) })
	var cmds [][]string
	var want []string
	for i := range 60 {
		k := "k" + strconv.Itoa(i)
		cmds = append(cmds,
			[]string{"SET", k, k}, []string{"SUBSCRIBE", "other" + strconv.Itoa(i)}, []string{"SELECT", "1"},
			[]string{"WATCH", k}, []string{"SELECT", "0"}, []string{"GET", k}, []string{"MULTI"},
			[]string{"GET", k}, []string{"EXEC"}, []string{"ECHO", "e" + strconv.Itoa(i)})
		want = append(want, "+OK\r\n", "subscribe", "+OK\r\n", "+OK\r\n", "+OK\r\n", rvBulk(k), "+OK\r\n",
			"+QUEUED\r\n", "*1\r\n"+rvBulk(k), rvBulk("e"+strconv.Itoa(i)))
	}
	next := 0 // the next message expected
	var replies []string
	deadline := time.Now().Add(20 * time.Second)
	go func() {
		for i := 0; i < len(cmds); i += 10 {
			r2Send(sub, cmds[i:i+10])
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for (next < n || len(replies) < len(want)) && time.Now().Before(deadline) {
		raw, err := sub.rd.ReadRaw()
		if err != nil {
			t.Fatalf("after %d messages and %d replies: %v", next, len(replies), err)
		}
		m := string(raw)
		if strings.HasPrefix(m, ">3\r\n$7\r\nmessage\r\n$5\r\nflood\r\n") {
			body := m[strings.LastIndex(m, "\n$")+1:]
			body = body[strings.Index(body, "\n")+1:]
			if got := body[:10]; got != fmt.Sprintf("%010d", next) {
				t.Fatalf("message %s arrived when %d was expected", got, next)
			}
			next++
			continue
		}
		i := len(replies)
		replies = append(replies, m)
		if i >= len(want) || !strings.Contains(m, want[i]) {
			t.Fatalf("reply %d (%v): got %q, want %q", i, cmds[min(i, len(cmds)-1)], clip(m), want[min(i, len(want)-1)])
		}
	}
	wg.Wait()
	if next != n || len(replies) != len(want) {
		t.Fatalf("got %d of %d messages and %d of %d replies", next, n, len(replies), len(want))
	}
}

// TestR2GatewayBlockedUnblockKill: CLIENT UNBLOCK ends a blocked
// client's BLPOP (nil, or UNBLOCKED with ERROR) and the client goes on;
// CLIENT KILL of a blocked client closes it and ends its BLPOP on the
// backend.
func TestR2GatewayBlockedUnblockKill(t *testing.T) {
	s, r := startGateway(t)
	addr := s.Addrs()[0]
	admin := dial(t, addr)
	backend := dial(t, r.Addr)
	blockedOnBackend := func() int {
		for _, line := range strings.Split(backend.do("INFO", "clients"), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "blocked_clients:"); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
		return -1
	}
	for _, proto := range []string{"2", "3"} {
		b := dial(t, addr)
		b.do("HELLO", proto)
		id := clientID(t, b)
		r2Send(b, [][]string{{"SET", "pre", "1"}, {"BLPOP", "r2q", "0"}, {"GET", "pre"}, {"BLPOP", "r2q", "0"}, {"ECHO", "after"}})
		if got := b.reply(); got != "+OK\r\n" {
			t.Fatal(got)
		}
		testutil.WaitFor(t, 5*time.Second, "the first BLPOP to block", func() bool { return blockedOnBackend() == 1 })
		if got := admin.do("CLIENT", "UNBLOCK", id); got != ":1\r\n" {
			t.Fatalf("RESP%s CLIENT UNBLOCK: %q", proto, got)
		}
		if got := b.reply(); got != "*-1\r\n" && got != "_\r\n" {
			t.Fatalf("RESP%s unblocked BLPOP: %q", proto, got)
		}
		if got := b.reply(); got != "$1\r\n1\r\n" {
			t.Fatalf("RESP%s GET after unblock: %q", proto, got)
		}
		testutil.WaitFor(t, 5*time.Second, "the second BLPOP to block", func() bool { return blockedOnBackend() == 1 })
		if got := admin.do("CLIENT", "UNBLOCK", id, "ERROR"); got != ":1\r\n" {
			t.Fatalf("RESP%s CLIENT UNBLOCK ERROR: %q", proto, got)
		}
		if got := b.reply(); !strings.HasPrefix(got, "-UNBLOCKED") {
			t.Fatalf("RESP%s BLPOP unblocked with ERROR: %q", proto, got)
		}
		if got := b.reply(); got != rvBulk("after") {
			t.Fatalf("RESP%s ECHO: %q", proto, got)
		}
		// Killed while blocked: closed, and the backend unblocked.
		r2Send(b, [][]string{{"BLPOP", "r2q", "0"}})
		testutil.WaitFor(t, 5*time.Second, "the BLPOP to block", func() bool { return blockedOnBackend() == 1 })
		if got := admin.do("CLIENT", "KILL", "ID", id); got != ":1\r\n" {
			t.Fatalf("CLIENT KILL: %q", got)
		}
		if !r2Closed(b) {
			t.Fatal("the killed client is still connected")
		}
		testutil.WaitFor(t, 5*time.Second, "the backend to unblock", func() bool { return blockedOnBackend() == 0 })
		// The key is not popped by a ghost.
		admin.do("RPUSH", "r2q", "v")
		if got := admin.do("LPOP", "r2q"); got != rvBulk("v") {
			t.Fatalf("RESP%s: a killed client's BLPOP took the element: %q", proto, got)
		}
	}
}

// r2EOF reports an error that is the peer's close, not a timeout.
func r2EOF(err error) bool {
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// r2Closed reports whether the server closes c within 5 s.
func r2Closed(c *client) bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.rd.ReadRaw()
	return r2EOF(err)
}

// TestR2GatewayRestartWhilePinned: clients holding state on a dedicated
// connection when the backend restarts: a subscriber is closed at once;
// a blocked client, one inside MULTI and one in another database get the
// error and are closed; none gets another's reply, and new clients are
// served after the restart.
func TestR2GatewayRestartWhilePinned(t *testing.T) {
	r := testutil.StartRedis(t)
	_, port, _ := net.SplitHostPort(r.Addr)
	s := startServer(t, Options{Backend: Backend{Kind: BackendRedis, Target: upstream.Target{Network: "tcp", Addr: r.Addr}}})
	addr := s.Addrs()[0]
	sub2, sub3, blk, tx, db := dial(t, addr), dial(t, addr), dial(t, addr), dial(t, addr), dial(t, addr)
	sub2.do("SUBSCRIBE", "r2r")
	sub3.do("HELLO", "3")
	sub3.do("SUBSCRIBE", "r2r")
	if got := tx.do("MULTI"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	tx.do("SET", "r2k", "1")
	if got := db.do("SELECT", "2"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	blk.send("*3\r\n$5\r\nBLPOP\r\n$3\r\nr2q\r\n$1\r\n0\r\n")
	direct := dial(t, r.Addr)
	testutil.WaitFor(t, 5*time.Second, "BLPOP to block", func() bool {
		return strings.Contains(direct.do("INFO", "clients"), "blocked_clients:1")
	})
	r.Stop()
	for name, c := range map[string]*client{"RESP2 subscriber": sub2, "RESP3 subscriber": sub3} {
		_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if raw, err := c.rd.ReadRaw(); !r2EOF(err) {
			t.Errorf("%s: got %q, %v instead of being closed", name, raw, err)
		}
	}
	if got := blk.reply(); got != upstream.UnavailableReply {
		t.Errorf("blocked client: %q", got)
	}
	if !r2Closed(blk) {
		t.Error("blocked client not closed")
	}
	startRedisAt(t, port, r.Dir)
	for name, c := range map[string]*client{"in MULTI": tx, "SELECT 2": db} {
		got := c.do("SET", "r2k", "2")
		if got != upstream.UnavailableReply && !strings.HasPrefix(got, "-") {
			t.Errorf("%s: SET after the restart: %q", name, got)
		}
		if !r2Closed(c) {
			t.Errorf("%s: not closed after its state was lost", name)
		}
	}
	n := dial(t, addr)
	testutil.WaitFor(t, 10*time.Second, "service after the restart", func() bool { return n.do("SET", "r2k", "3") == "+OK\r\n" })
	if got := n.do("GET", "r2k"); got != "$1\r\n3\r\n" {
		t.Errorf("GET: %q", got)
	}
}

// TestR2Cluster: the cluster path, on one cluster.
func TestR2Cluster(t *testing.T) {
	cl := testutil.StartCluster(t, 3, 0)
	a, b, c := rvKey("r2a", 100), rvKey("r2b", 7000), rvKey("r2c", 15000)

	// HELLO, RESET, SUBSCRIBE and QUIT in one pipeline with split
	// commands, each protocol's replies as Redis would give them.
	t.Run("PipelineStateAndSplits", func(t *testing.T) {
		s := rvStart(t, cl, nil)
		x := dial(t, s.Addrs()[0])
		steps := []struct {
			cmd  []string
			want string // "" : not checked
		}{
			{[]string{"MSET", a, "1", b, "2", c, "3"}, "+OK\r\n"},
			{[]string{"MGET", a, b, c, "r2none"}, "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n"},
			{[]string{"HELLO", "3"}, ""},
			{[]string{"MGET", a, "r2none", c}, "*3\r\n$1\r\n1\r\n_\r\n$1\r\n3\r\n"},
			{[]string{"EXISTS", a, a, b, "r2none"}, ":3\r\n"},
			{[]string{"DEL", a, "r2none"}, ":1\r\n"},
			{[]string{"MGET", b, c}, "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"},
			{[]string{"RESET"}, "+RESET\r\n"},
			{[]string{"MGET", a, b, c}, "*3\r\n$-1\r\n$1\r\n2\r\n$1\r\n3\r\n"},
			{[]string{"SUBSCRIBE", "r2ch"}, "*3\r\n$9\r\nsubscribe\r\n$4\r\nr2ch\r\n:1\r\n"},
			{[]string{"MGET", b, c}, "-ERR Can't execute 'mget'"},
			{[]string{"DEL", b, c}, "-ERR Can't execute 'del'"},
			{[]string{"PING"}, "*2\r\n$4\r\npong\r\n$0\r\n\r\n"},
			{[]string{"RESET"}, "+RESET\r\n"},
			{[]string{"MGET", b, c}, "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"},
			{[]string{"HELLO", "3"}, ""},
			{[]string{"SUBSCRIBE", "r2ch"}, ">3\r\n$9\r\nsubscribe\r\n$4\r\nr2ch\r\n:1\r\n"},
			{[]string{"MGET", b, c, a}, "*3\r\n$1\r\n2\r\n$1\r\n3\r\n_\r\n"},
			{[]string{"MSET", a, "A", b, "B"}, "+OK\r\n"},
			{[]string{"EXISTS", a, b, c, c}, ":4\r\n"},
			{[]string{"UNSUBSCRIBE", "r2ch"}, ">3\r\n$11\r\nunsubscribe\r\n$4\r\nr2ch\r\n:0\r\n"},
			{[]string{"MGET", a, b}, "*2\r\n$1\r\nA\r\n$1\r\nB\r\n"},
			{[]string{"QUIT"}, "+OK\r\n"},
			{[]string{"MGET", a, b}, "-"},
		}
		var cmds [][]string
		for _, st := range steps {
			cmds = append(cmds, st.cmd)
		}
		r2Send(x, cmds)
		for i, st := range steps[:len(steps)-1] {
			got := x.reply()
			if st.want != "" && !strings.HasPrefix(got, st.want) {
				t.Fatalf("step %d %v: got %q, want %q", i, st.cmd, clip(got), st.want)
			}
		}
		if !r2Closed(x) {
			t.Error("QUIT did not close the connection")
		}
	})

	// A RESP3 subscriber pipelines split commands (a part goes on its
	// pinned connection) while messages flood in: every message, in
	// order, and every reply right.
	t.Run("Resp3SubscriberSplitsUnderFlood", func(t *testing.T) {
		s := rvStart(t, cl, nil)
		sub := dial(t, s.Addrs()[0])
		sub.do("HELLO", "3")
		if got := sub.do("SUBSCRIBE", "r2flood"); !strings.Contains(got, "subscribe") {
			t.Fatal(got)
		}
		node := rvSubNode(t, cl, "r2flood")
		const n = 4000
		var wg sync.WaitGroup
		wg.Go(func() {
			p := dial(t, node.Addr)
			p.do("AUTH", cl.Password)
			pad := strings.Repeat("p", 2000)
			for i := 0; i < n; i += 100 {
				var cmds [][]string
				for j := i; j < i+100; j++ {
					cmds = append(cmds, []string{"PUBLISH", "r2flood", fmt.Sprintf("%010d:%s", j, pad)})
				}
				r2Send(p, cmds)
				for range cmds {
					p.reply()
				}
			}
		})
		var cmds [][]string
		var want []string
		for i := range 80 {
			v := strconv.Itoa(i)
			cmds = append(cmds, []string{"MSET", a, v, b, v, c, v}, []string{"MGET", c, b, a, "r2none"},
				[]string{"EXISTS", a, b, b, "r2none"}, []string{"GET", a}, []string{"DEL", a, b})
			want = append(want, "+OK\r\n", "*4\r\n"+rvBulk(v)+rvBulk(v)+rvBulk(v)+"_\r\n", ":3\r\n", rvBulk(v), ":2\r\n")
		}
		go func() {
			for i := 0; i < len(cmds); i += 25 {
				r2Send(sub, cmds[i:i+25])
				time.Sleep(3 * time.Millisecond)
			}
		}()
		next, got := 0, 0
		for next < n || got < len(want) {
			raw, err := sub.rd.ReadRaw()
			if err != nil {
				t.Fatalf("after %d messages and %d replies: %v", next, got, err)
			}
			m := string(raw)
			if strings.HasPrefix(m, ">3\r\n$7\r\nmessage\r\n") {
				i := strings.Index(m, "\r\n$2011\r\n") + len("\r\n$2011\r\n")
				if m[i:i+10] != fmt.Sprintf("%010d", next) {
					t.Fatalf("message %s when %d was expected", m[i:i+10], next)
				}
				next++
				continue
			}
			if m != want[got] {
				t.Fatalf("reply %d (%v): %q, want %q", got, cmds[got], clip(m), want[got])
			}
			got++
		}
		wg.Wait()
	})

	// MGET and EXISTS past the 256-request bound, among other commands
	// and small split commands, in one pipeline.
	t.Run("HugeSplitsInPipeline", func(t *testing.T) {
		s := rvStart(t, cl, nil)
		x := dial(t, s.Addrs()[0])
		const n = 1200
		mset, mget := []string{"MSET"}, []string{"MGET"}
		var wantGet strings.Builder
		wantGet.WriteString("*" + strconv.Itoa(n) + "\r\n")
		for i := range n {
			k := "r2h:" + strconv.Itoa(i)
			mget = append(mget, k)
			if i%2 == 0 {
				mset = append(mset, k, strconv.Itoa(i))
				wantGet.WriteString(rvBulk(strconv.Itoa(i)))
			} else {
				wantGet.WriteString("$-1\r\n")
			}
		}
		exists := []string{"EXISTS"}
		for range 300 {
			exists = append(exists, a)
		}
		exists = append(exists, b, "r2none")
		del := append([]string{"DEL"}, mget[1:]...)
		cmds := [][]string{{"SET", a, "x"}, {"SET", b, "y"}, mset, {"MGET", a, b}, mget, {"GET", a}, exists,
			{"MGET", b, a}, mget, exists, {"INCR", "r2n"}, del, {"MGET", "r2h:0", "r2h:2"}, {"DEL", a, b, "r2n"}}
		want := []string{"+OK\r\n", "+OK\r\n", "+OK\r\n", "*2\r\n$1\r\nx\r\n$1\r\ny\r\n", wantGet.String(), "$1\r\nx\r\n", ":301\r\n",
			"*2\r\n$1\r\ny\r\n$1\r\nx\r\n", wantGet.String(), ":301\r\n", ":1\r\n", ":" + strconv.Itoa(n/2) + "\r\n", "*2\r\n$-1\r\n$-1\r\n", ":3\r\n"}
		for round := range 3 {
			r2Send(x, cmds)
			for i, w := range want {
				if got := x.reply(); got != w {
					t.Fatalf("round %d reply %d (%s): %q, want %q", round, i, cmds[i][0], clip(got), clip(w))
				}
			}
		}
	})

	// Keys that are empty or hold binary bytes, braces and CRLF: split
	// commands send them to their slots' masters and merge their values.
	t.Run("BinaryAndEmptyKeys", func(t *testing.T) {
		s := rvStart(t, cl, nil)
		x := dial(t, s.Addrs()[0])
		keys := []string{"", "\x00", "\r\n", "{", "}", "{}", "{}x", "a{}b", "{\x00}", "\xff\xfe{\r\n}", " ", "*3\r\n"}
		mset, mget := []string{"MSET"}, []string{"MGET"}
		var want strings.Builder
		want.WriteString("*" + strconv.Itoa(len(keys)) + "\r\n")
		for i, k := range keys {
			v := "v" + strconv.Itoa(i) + k
			mset = append(mset, k, v)
			mget = append(mget, k)
			want.WriteString(rvBulk(v))
		}
		if got := x.do(mset...); got != "+OK\r\n" {
			t.Fatalf("MSET: %q", got)
		}
		if got := x.do(mget...); got != want.String() {
			t.Fatalf("MGET: %q, want %q", got, want.String())
		}
		for i, k := range keys {
			slot := strconv.Itoa(testutil.Slot(k))
			node := rvOwner(t, cl, testutil.Slot(k))
			if got := cl.Do(t, node.Addr, "GET", k); got != "v"+strconv.Itoa(i)+k {
				t.Errorf("key %q (slot %s) on its master: %q", k, slot, got)
			}
		}
		ex := append([]string{"EXISTS"}, mget[1:]...)
		ex = append(ex, mget[1:]...)
		if got := x.do(ex...); got != ":"+strconv.Itoa(2*len(keys))+"\r\n" {
			t.Errorf("EXISTS: %q", got)
		}
		if got := x.do(append([]string{"DEL"}, mget[1:]...)...); got != ":"+strconv.Itoa(len(keys))+"\r\n" {
			t.Errorf("DEL: %q", got)
		}
	})

	// max_reply_size with split commands: a part too large answers the
	// whole command with the error, and the pipeline stays in step.
	t.Run("MaxReplySplit", func(t *testing.T) {
		s := rvStart(t, cl, func(o *Options) { o.Backend.MaxReply = 64 << 10 })
		x := dial(t, s.Addrs()[0])
		big := strings.Repeat("B", 100<<10)
		mid := strings.Repeat("m", 1<<10)
		x.do("SET", b, big)
		x.do("MSET", a, mid, c, mid)
		tooLarge := "-ERR reply from the backend is larger than max_reply_size\r\n"
		for _, proto := range []string{"2", "3"} {
			x.do("HELLO", proto)
			cmds := [][]string{{"MGET", a, b, c}, {"GET", a}, {"MGET", c, a}, {"GET", b}, {"MGET", b, b}, {"EXISTS", a, b, c}, {"ECHO", "e"}}
			want := []string{tooLarge, rvBulk(mid), "*2\r\n" + rvBulk(mid) + rvBulk(mid), tooLarge, tooLarge, ":3\r\n", rvBulk("e")}
			r2Send(x, cmds)
			for i, w := range want {
				if got := x.reply(); got != w {
					t.Fatalf("RESP%s reply %d (%v): %q, want %q", proto, i, cmds[i][0], clip(got), clip(w))
				}
			}
		}
		x.do("DEL", a, b, c)
	})

	// A split MGET whose parts' replies together pass the reader's
	// buffer: each key gets its own value.
	t.Run("SplitMgetValues", func(t *testing.T) {
		s := rvStart(t, cl, nil)
		x := dial(t, s.Addrs()[0])
		for _, size := range []int{300, 30 << 10} {
			mget := []string{"MGET"}
			var want strings.Builder
			want.WriteString("*60\r\n")
			for i := range 60 {
				k := "r2v:" + strconv.Itoa(i)
				v := strings.Repeat(strconv.Itoa(i%10), size)
				if i%2 == 1 && size > 1000 { // 300: all of one length, wrong values parse
					v = "short" + strconv.Itoa(i)
				}
				x.do("SET", k, v)
				mget = append(mget, k)
				want.WriteString(rvBulk(v))
			}
			if got := x.do(mget...); got != want.String() {
				t.Errorf("MGET of 60 keys of %d-byte values across slots: %q", size, clip(got))
			}
		}
	})

	// Clients run random pipelines at once, each on its own keys spread
	// over the slots, against a model; HELLO and RESET among them.
	t.Run("ConcurrentModels", func(t *testing.T) {
		s := rvStart(t, cl, nil)
		var wg sync.WaitGroup
		for id := range 8 {
			x := dial(t, s.Addrs()[0])
			wg.Go(func() { r2Model(t, x, id) })
		}
		wg.Wait()
	})
}

// r2Model runs random pipelines of one client on its own keys and checks
// each reply against a model.
func r2Model(t *testing.T, x *client, id int) {
	rng := rand.New(rand.NewPCG(uint64(id), 42))
	model := map[string]string{}
	proto := 2
	key := func() string { return fmt.Sprintf("r2m%d:%d", id, rng.IntN(24)) }
	null := func() string {
		if proto == 3 {
			return "_\r\n"
		}
		return "$-1\r\n"
	}
	val := func(k string) string {
		if v, ok := model[k]; ok {
			return rvBulk(v)
		}
		return null()
	}
	for round := range 40 {
		var cmds [][]string
		var want []string
		for n := 1 + rng.IntN(40); n > 0; n-- {
			switch op := rng.IntN(20); {
			case op < 4:
				k, v := key(), fmt.Sprintf("v%d.%d", round, n)
				model[k] = v
				cmds, want = append(cmds, []string{"SET", k, v}), append(want, "+OK\r\n")
			case op < 6:
				k := key()
				cmds, want = append(cmds, []string{"GET", k}), append(want, val(k))
			case op < 10:
				nk := 1 + rng.IntN(8)
				if rng.IntN(15) == 0 {
					nk = 300
				}
				cmd, w := []string{"MGET"}, "*"+strconv.Itoa(nk)+"\r\n"
				for range nk {
					k := key()
					cmd, w = append(cmd, k), w+val(k)
				}
				cmds, want = append(cmds, cmd), append(want, w)
			case op < 12:
				cmd := []string{"MSET"}
				for range 1 + rng.IntN(5) {
					k, v := key(), fmt.Sprintf("m%d.%d.%d", round, n, rng.IntN(100))
					cmd = append(cmd, k, v)
				}
				for i := 1; i < len(cmd); i += 2 {
					model[cmd[i]] = cmd[i+1]
				}
				cmds, want = append(cmds, cmd), append(want, "+OK\r\n")
			case op < 15:
				cmd, cnt := []string{"EXISTS"}, 0
				for range 1 + rng.IntN(6) {
					k := key()
					if _, ok := model[k]; ok {
						cnt++
					}
					cmd = append(cmd, k)
				}
				cmds, want = append(cmds, cmd), append(want, ":"+strconv.Itoa(cnt)+"\r\n")
			case op < 17:
				cmd, cnt := []string{"DEL"}, 0
				for range 1 + rng.IntN(4) {
					k := key()
					if _, ok := model[k]; ok {
						cnt++
						delete(model, k)
					}
					cmd = append(cmd, k)
				}
				cmds, want = append(cmds, cmd), append(want, ":"+strconv.Itoa(cnt)+"\r\n")
			case op == 17:
				proto = 5 - proto
				cmds, want = append(cmds, []string{"HELLO", strconv.Itoa(proto)}), append(want, "")
			case op == 18:
				proto = 2
				cmds, want = append(cmds, []string{"RESET"}), append(want, "+RESET\r\n")
			default:
				cmds, want = append(cmds, []string{"PING"}), append(want, "+PONG\r\n")
			}
		}
		r2Send(x, cmds)
		for i, w := range want {
			got := x.reply()
			if w != "" && got != w {
				t.Errorf("client %d round %d reply %d (%v): %q, want %q", id, round, i, cmds[i], clip(got), clip(w))
				return
			}
		}
	}
}
