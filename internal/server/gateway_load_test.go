package server

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/monitor"
	"redoubt/internal/resp"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// glConn is a raw RESP client that reports errors instead of failing
// the test, so it can run on its own goroutine.
type glConn struct {
	nc net.Conn
	rd *resp.Reader
}

func glDial(addr string) (*glConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &glConn{nc: nc, rd: resp.NewReader(nc, resp.DefaultLimits())}, nil
}

// pipeline sends every command in one write and reads as many replies,
// all within the timeout.
func (c *glConn) pipeline(cmds [][]string, timeout time.Duration) ([]string, error) {
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	var out []byte
	for _, args := range cmds {
		out = glEncode(out, args...)
	}
	if _, err := c.nc.Write(out); err != nil {
		return nil, err
	}
	replies := make([]string, 0, len(cmds))
	for range cmds {
		raw, err := c.rd.ReadRaw()
		if err != nil {
			return replies, err
		}
		replies = append(replies, string(raw))
	}
	return replies, nil
}

func glEncode(b []byte, args ...string) []byte {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return resp.AppendCommand(b, bs...)
}

func glBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func glArray(elems ...string) string {
	return "*" + strconv.Itoa(len(elems)) + "\r\n" + strings.Join(elems, "")
}

// glExpect is one command of a pipeline and the reply it must get.
type glExpect struct {
	args   []string
	want   string
	prefix bool // want is a prefix of the reply (policy errors)
}

func (e glExpect) ok(got string) bool {
	if e.prefix {
		return strings.HasPrefix(got, e.want)
	}
	return got == e.want
}

// glModel is what one client knows its keys hold, per database. Every
// value it writes names the client and the write, so a reply meant for
// another client or another command can never match.
type glModel struct {
	id   int
	rng  *rand.Rand
	db   int
	seq  int
	strs [2]map[string]string
	ctr  [2]int64
	list [2][]string
}

func newGLModel(id int, seed uint64) *glModel {
	return &glModel{id: id, rng: rand.New(rand.NewPCG(seed, uint64(id))),
		strs: [2]map[string]string{{}, {}}}
}

func (m *glModel) key(n int) string { return fmt.Sprintf("c%d:k%d", m.id, n) }
func (m *glModel) name(s string) string {
	return fmt.Sprintf("c%d:%s", m.id, s)
}

func (m *glModel) value() string {
	m.seq++
	return fmt.Sprintf("%d-%d-%d", m.id, m.seq, m.rng.Uint32())
}

func (m *glModel) getReply(key string) string {
	if v, ok := m.strs[m.db][key]; ok {
		return glBulk(v)
	}
	return "$-1\r\n"
}

// simple returns one command of the kinds allowed inside MULTI, applied
// to the model.
func (m *glModel) simple() glExpect {
	switch m.rng.IntN(3) {
	case 0:
		k, v := m.key(m.rng.IntN(8)), m.value()
		m.strs[m.db][k] = v
		return glExpect{args: []string{"SET", k, v}, want: "+OK\r\n"}
	case 1:
		k := m.key(m.rng.IntN(8))
		return glExpect{args: []string{"GET", k}, want: m.getReply(k)}
	default:
		m.ctr[m.db]++
		return glExpect{args: []string{"INCR", m.name("ctr")}, want: ":" + strconv.FormatInt(m.ctr[m.db], 10) + "\r\n"}
	}
}

// next appends the commands of one random step to p and applies them to
// the model.
func (m *glModel) next(p []glExpect) []glExpect {
	switch r := m.rng.IntN(100); {
	case r < 45:
		return append(p, m.simple())
	case r < 60:
		m.seq++
		s := fmt.Sprintf("%d-%d", m.id, m.seq)
		return append(p, glExpect{args: []string{"ECHO", s}, want: glBulk(s)})
	case r < 66:
		args := []string{"MGET"}
		var want []string
		for range 3 {
			k := m.key(m.rng.IntN(8))
			args = append(args, k)
			want = append(want, m.getReply(k))
		}
		return append(p, glExpect{args: args, want: glArray(want...)})
	case r < 74:
		l := m.name("l")
		if len(m.list[m.db]) >= 8 {
			m.list[m.db] = nil
			return append(p, glExpect{args: []string{"DEL", l}, want: ":1\r\n"})
		}
		v := m.value()
		m.list[m.db] = append(m.list[m.db], v)
		return append(p, glExpect{args: []string{"RPUSH", l, v}, want: ":" + strconv.Itoa(len(m.list[m.db])) + "\r\n"})
	case r < 80:
		var want []string
		for _, v := range m.list[m.db] {
			want = append(want, glBulk(v))
		}
		return append(p, glExpect{args: []string{"LRANGE", m.name("l"), "0", "-1"}, want: glArray(want...)})
	case r < 86:
		// A transaction on its own keys: the replies of the commands in
		// it come back as EXEC's array.
		p = append(p, glExpect{args: []string{"MULTI"}, want: "+OK\r\n"})
		var inner []string
		for range 1 + m.rng.IntN(4) {
			e := m.simple()
			inner = append(inner, e.want)
			p = append(p, glExpect{args: e.args, want: "+QUEUED\r\n"})
		}
		return append(p, glExpect{args: []string{"EXEC"}, want: glArray(inner...)})
	case r < 91:
		// SELECT 1 pins a dedicated connection; SELECT 0 gives it back.
		m.db = 1 - m.db
		return append(p, glExpect{args: []string{"SELECT", strconv.Itoa(m.db)}, want: "+OK\r\n"})
	case r < 96:
		// A blocking command that finds its list filled just before.
		q, v := m.name("q"), m.value()
		return append(p,
			glExpect{args: []string{"RPUSH", q, v}, want: ":1\r\n"},
			glExpect{args: []string{"BLPOP", q, "1"}, want: glArray(glBulk(q), glBulk(v))})
	default:
		return append(p, glExpect{args: []string{"DEBUG", "SLEEP", "0"}, want: "-ERR command 'DEBUG' is disabled", prefix: true})
	}
}

// TestGatewayRepliesNeverCrossed is a property test: 300 clients pipeline
// random commands through one gateway instance at once (plain commands
// on the shared connections, transactions, SELECT and blocking commands
// on dedicated ones, refused commands answered by Redoubt itself in
// between), and every reply each client reads is the one its own model
// predicts for that position. A reply routed to the wrong client, or out
// of order, cannot match: every value names its client and its write.
func TestGatewayRepliesNeverCrossed(t *testing.T) {
	const (
		clients = 300
		runFor  = 5 * time.Second
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	s, _ := startGateway(t)
	addr := s.Addrs()[0]
	deadline := time.Now().Add(runFor)
	var wg sync.WaitGroup
	var commands, pipelines atomic.Int64
	var failures atomic.Int64
	for id := range clients {
		wg.Go(func() {
			c, err := glDial(addr)
			if err != nil {
				t.Errorf("client %d: %v", id, err)
				return
			}
			defer c.nc.Close()
			m := newGLModel(id, seed)
			for round := 0; round == 0 || time.Now().Before(deadline); round++ {
				var p []glExpect
				for n := 1 + m.rng.IntN(50); len(p) < n; {
					p = m.next(p)
				}
				cmds := make([][]string, len(p))
				for i, e := range p {
					cmds[i] = e.args
				}
				got, err := c.pipeline(cmds, 20*time.Second)
				for i, g := range got {
					if !p[i].ok(g) {
						if failures.Add(1) <= 10 {
							t.Errorf("client %d (seed %d) round %d, command %d of %d %q:\n got %q\nwant %q",
								id, seed, round, i, len(p), p[i].args, g, p[i].want)
						}
						return
					}
				}
				if err != nil {
					t.Errorf("client %d round %d: after %d of %d replies: %v", id, round, len(got), len(p), err)
					return
				}
				commands.Add(int64(len(p)))
				pipelines.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("%d clients, %d pipelines, %d commands", clients, pipelines.Load(), commands.Load())
	if t.Failed() {
		return
	}
	// The clients are gone: their dedicated connections were given back
	// or closed, none is left open beyond the idle ones kept for reuse.
	testutil.WaitFor(t, 5*time.Second, "dedicated connections released", func() bool {
		return s.gw.Stats().Dedicated <= 16
	})
}

// raiseFileLimit makes room for n more open files, or skips the test.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("open file limit %d is below the %d the test needs", lim.Max, n)
	}
	old := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise the open file limit: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// TestGatewayPoolServesManyClients: 1,000 clients connected at once are
// served by the default pool; the backend sees no more than 4 connections
// of the instance.
func TestGatewayPoolServesManyClients(t *testing.T) {
	const clients = 1000
	raiseFileLimit(t, 4*clients+1024) // both ends of each connection are in this process
	r := testutil.StartRedis(t)
	sec := DefaultSecurity()
	sec.MaxClients = 2 * clients
	sec.PerAddress = 2 * clients
	s := startServer(t, Options{Name: "pool", Security: &sec, Backend: Backend{Kind: BackendRedis,
		Target: upstream.Target{Network: "tcp", Addr: r.Addr}}})
	addr := s.Addrs()[0]

	conns := make([]*glConn, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := glDial(addr)
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			conns[i] = c
			t.Cleanup(func() { c.nc.Close() })
			for round := range 3 {
				k, v := fmt.Sprintf("m%d", i), fmt.Sprintf("%d-%d", i, round)
				got, err := c.pipeline([][]string{{"SET", k, v}, {"GET", k}, {"GET", "nokey"}}, 20*time.Second)
				if err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				if want := []string{"+OK\r\n", glBulk(v), "$-1\r\n"}; strings.Join(got, "") != strings.Join(want, "") {
					t.Errorf("client %d round %d: got %q, want %q", i, round, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every client is still connected, and all were served.
	if n := s.clientCount(); n < clients {
		t.Fatalf("%d clients connected, want %d", n, clients)
	}
	list := testutilDo(t, r.Addr, "CLIENT", "LIST")
	mine := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name=redoubt-") {
			mine++
		}
	}
	if mine < 1 || mine > 4 {
		t.Fatalf("backend has %d connections of the instance, want 1 to 4:\n%s", mine, list)
	}
	if !strings.Contains(list, "name=redoubt-pool ") {
		t.Errorf("connections not named after the instance:\n%s", list)
	}
	t.Logf("%d clients served by %d backend connections", clients, mine)
}

// testutilDo runs one command directly on a redis-server.
func testutilDo(t *testing.T, addr string, args ...string) string {
	t.Helper()
	c, err := glDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.nc.Close()
	got, err := c.pipeline([][]string{args}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return got[0]
}

// startRedisAt starts redis-server on a given port and directory (to
// replace one that was stopped) and stops it when the test ends.
func startRedisAt(t *testing.T, port, dir string, extra ...string) func() {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-server")
	args := append([]string{
		"--port", port, "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"),
	}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	testutil.WaitFor(t, 10*time.Second, "redis-server on port "+port, func() bool {
		return testutil.Ping("127.0.0.1:"+port) == nil
	})
	return stop
}

// TestGatewayBackendRestart: clients keep writing and reading while the
// backend is killed and a new one starts on the same port. Every reply
// is the right one or exactly "backend unavailable", never another
// command's; while the backend is down commands fail fast; the events
// record it going down and coming back; and every client is served again
// on its own connection, with the data written before (append-only file,
// fsync always) still there.
func TestGatewayBackendRestart(t *testing.T) {
	aof := []string{"--appendonly", "yes", "--appendfsync", "always"}
	r := testutil.StartRedis(t, aof...)
	_, port, _ := net.SplitHostPort(r.Addr)
	rec := monitor.NewRecorder(nil, nil)
	s := startServer(t, Options{Name: "restart", Events: rec, Backend: Backend{Kind: BackendRedis,
		Target: upstream.Target{Network: "tcp", Addr: r.Addr}}})
	addr := s.Addrs()[0]

	probe, err := glDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.nc.Close()
	if got, err := probe.pipeline([][]string{{"SET", "durable", "yes"}}, 5*time.Second); err != nil || got[0] != "+OK\r\n" {
		t.Fatalf("SET durable: %q %v", got, err)
	}

	const clients = 16
	const unavailable = upstream.UnavailableReply
	var (
		phase     atomic.Int32 // 0 up, 1 down, 2 restarted
		served    [clients]atomic.Int64
		resumed   [clients]atomic.Bool
		refusals  atomic.Int64
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		seedClock = uint64(time.Now().UnixNano())
	)
	for id := range clients {
		c, err := glDial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.nc.Close()
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seedClock, uint64(id)))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				// Each command's right reply is its own: a key and a
				// value used once.
				var cmds [][]string
				var want []string
				for i := range 1 + rng.IntN(5) {
					tag := fmt.Sprintf("%d-%d-%d", id, seq, i)
					switch rng.IntN(3) {
					case 0:
						cmds = append(cmds, []string{"ECHO", tag})
						want = append(want, glBulk(tag))
					case 1:
						cmds = append(cmds, []string{"SET", "r:" + tag, tag})
						want = append(want, "+OK\r\n")
					default:
						cmds = append(cmds, []string{"SET", "r:" + tag, tag}, []string{"GET", "r:" + tag})
						want = append(want, "+OK\r\n", glBulk(tag))
					}
				}
				before := phase.Load()
				got, err := c.pipeline(cmds, 20*time.Second)
				if err != nil {
					t.Errorf("client %d: connection lost (phase %d): %v", id, before, err)
					return
				}
				allOK := true
				for i, g := range got {
					switch {
					case g == want[i]:
					case g == unavailable:
						allOK = false
						refusals.Add(1)
					case cmds[i][0] == "GET" && g == "$-1\r\n":
						allOK = false // its SET was refused, or landed before the kill
					default:
						t.Errorf("client %d (phase %d), command %q: got %q, want %q or %q", id, before, cmds[i], g, want[i], unavailable)
						return
					}
				}
				if allOK {
					served[id].Add(1)
					if before == 2 {
						resumed[id].Store(true)
					}
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	testutil.WaitFor(t, 10*time.Second, "every client served", func() bool {
		for i := range served {
			if served[i].Load() == 0 {
				return false
			}
		}
		return true
	})

	phase.Store(1)
	r.Stop()
	testutil.WaitFor(t, 5*time.Second, "a backend_down event", func() bool { return rec.Count(monitor.BackendDown) > 0 })
	if info := glInfoBackend(t, probe); !strings.Contains(info, "backend_status:down\r\n") {
		t.Errorf("INFO backend while down:\n%s", info)
	}
	// While it is down, a command fails at once: the first 20 within
	// 100ms each. The outage then lasts a second, long enough for the
	// gateway to back off between attempts; no command may wait for an
	// attempt (the later ones are bounded loosely, as 16 clients spin on
	// errors meanwhile).
	downAt := time.Now()
	var slowest time.Duration
	probes := 0
	for i := 0; i < 20 || time.Since(downAt) < time.Second; i++ {
		probes++
		bound := 100 * time.Millisecond
		if i >= 20 {
			bound = time.Second
		}
		start := time.Now()
		got, err := probe.pipeline([][]string{{"GET", "durable"}}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		if got[0] != unavailable || d > bound {
			t.Fatalf("probe %d while down: %q after %v, want %q within %v", i, got[0], d, unavailable, bound)
		}
		slowest = max(slowest, d)
	}
	t.Logf("while down, the slowest of %d commands failed in %v", probes, slowest)

	startRedisAt(t, port, r.Dir, aof...)
	phase.Store(2)
	upAt := time.Now()
	testutil.WaitFor(t, 10*time.Second, "a backend_up event", func() bool { return rec.Count(monitor.BackendUp) > 0 })
	testutil.WaitFor(t, 10*time.Second, "every client served again", func() bool {
		for i := range resumed {
			if !resumed[i].Load() {
				return false
			}
		}
		return true
	})
	t.Logf("every client served again %v after the new backend answered", time.Since(upAt))
	if got, err := probe.pipeline([][]string{{"GET", "durable"}}, 5*time.Second); err != nil || got[0] != "$3\r\nyes\r\n" {
		t.Errorf("value written before the restart: %q %v", got, err)
	}
	if info := glInfoBackend(t, probe); !strings.Contains(info, "backend_status:up\r\n") {
		t.Errorf("INFO backend after the restart:\n%s", info)
	}
	if refusals.Load() == 0 {
		t.Error("no client saw the outage: the test did not test it")
	}
	var kinds []monitor.Type
	for _, ev := range rec.Recent() {
		if ev.Type == monitor.BackendDown || ev.Type == monitor.BackendUp {
			kinds = append(kinds, ev.Type)
		}
	}
	if len(kinds) != 2 || kinds[0] != monitor.BackendDown || kinds[1] != monitor.BackendUp {
		t.Errorf("backend events %v, want [backend_down backend_up]", kinds)
	}
	t.Logf("%d replies were %q during the outage", refusals.Load(), strings.TrimSpace(unavailable))
}

// glInfoBackend returns INFO's backend section.
func glInfoBackend(t *testing.T, c *glConn) string {
	t.Helper()
	got, err := c.pipeline([][]string{{"INFO", "backend"}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return got[0]
}
