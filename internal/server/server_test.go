package server

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if len(opts.Listen) == 0 {
		opts.Listen = []string{"127.0.0.1:0"}
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// client is a raw RESP client for black-box tests.
type client struct {
	t  *testing.T
	nc net.Conn
	rd *resp.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, nc)
}

// newClient wraps a connection; it is closed when the test ends.
func newClient(t *testing.T, nc net.Conn) *client {
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, nc: nc, rd: resp.NewReader(nc, resp.DefaultLimits())}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) do(args ...string) string {
	c.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := c.nc.Write(resp.AppendCommand(nil, bs...)); err != nil {
		c.t.Fatal(err)
	}
	return c.reply()
}

func (c *client) reply() string {
	c.t.Helper()
	raw, err := c.rd.ReadRaw()
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return string(raw)
}

// closed reports whether the server has closed the connection.
func (c *client) closed() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.rd.ReadRaw()
	return err != nil
}

// closedSilently reports whether the server closed the connection without
// sending a single byte.
func (c *client) closedSilently() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c.nc)
	if len(b) > 0 {
		c.t.Errorf("server sent %q before closing", b)
	}
	return err == nil && len(b) == 0
}

func TestBasicCommands(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"ping", "hi"}, "$2\r\nhi\r\n"},
		{[]string{"SET", "k", "v"}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$1\r\nv\r\n"},
		{[]string{"get"}, "-ERR wrong number of arguments for 'get' command\r\n"},
		{[]string{"nosuch", "a", "b"}, "-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n"},
		{[]string{"CLIENT", "nosuch"}, "-ERR unknown subcommand 'nosuch'. Try CLIENT HELP.\r\n"},
		{[]string{"SELECT", "16"}, "-ERR DB index is out of range\r\n"},
		{[]string{"SELECT", "1"}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$-1\r\n"},
		{[]string{"CLIENT", "SETNAME", "a b"}, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
		{[]string{"CLIENT", "SETNAME", "app"}, "+OK\r\n"},
		{[]string{"CLIENT", "GETNAME"}, "$3\r\napp\r\n"},
		{[]string{"HELLO", "4"}, "-NOPROTO unsupported protocol version\r\n"},
		{[]string{"AUTH", "x"}, "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"},
		{[]string{"AUTH", "nobody", "x"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"RESET"}, "+RESET\r\n"},
		{[]string{"GET", "k"}, "$1\r\nv\r\n"}, // RESET went back to db 0
	}
	for _, tt := range tests {
		if got := c.do(tt.args...); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.args, got, tt.want)
		}
	}
}

// TestPipelineOneFlush checks that a pipeline is answered with one write.
func TestPipelineOneFlush(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	const n = 100
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
	}
	before := s.totals().netOutputBytes.Load()
	c.send(b.String())
	// Every reply must arrive, in order, and in few TCP segments: read
	// everything with one deadline and count the reads that returned data.
	want := strings.Repeat("+OK\r\n", n)
	got := make([]byte, 0, len(want))
	reads := 0
	buf := make([]byte, 64<<10)
	for len(got) < len(want) {
		k, err := c.nc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		got = append(got, buf[:k]...)
	}
	if string(got) != want {
		t.Fatalf("replies differ")
	}
	// The server counts what it wrote once its write returns, which may
	// be after the client read it.
	testutil.WaitFor(t, 5*time.Second, "the output bytes counted", func() bool {
		return s.totals().netOutputBytes.Load()-before == int64(len(want))
	})
	if out := s.totals().netOutputBytes.Load() - before; out != int64(len(want)) {
		t.Fatalf("server wrote %d bytes, want %d", out, len(want))
	}
	if reads > 3 {
		t.Errorf("a pipeline of %d commands arrived in %d reads; want one flush", n, reads)
	}
}

func TestProtocolErrorClosesConnection(t *testing.T) {
	s := startServer(t, Options{})
	for _, in := range []string{"*1\r\n$-5\r\n", "*x\r\n", "*1\r\n+OK\r\n", "set \"unbalanced\r\n"} {
		c := dial(t, s.Addrs()[0])
		c.send("*1\r\n$4\r\nPING\r\n" + in + "*1\r\n$4\r\nPING\r\n")
		if got := c.reply(); got != "+PONG\r\n" {
			t.Fatalf("%q: first reply %q", in, got)
		}
		if got := c.reply(); !strings.HasPrefix(got, "-ERR Protocol error: ") {
			t.Fatalf("%q: got %q, want a protocol error", in, got)
		}
		if !c.closed() {
			t.Fatalf("%q: connection still open after a protocol error", in)
		}
	}
	// The server still serves others.
	if got := dial(t, s.Addrs()[0]).do("PING"); got != "+PONG\r\n" {
		t.Fatalf("after protocol errors: %q", got)
	}
}

func TestQuit(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	if got := c.do("QUIT"); got != "+OK\r\n" {
		t.Fatalf("QUIT: %q", got)
	}
	if !c.closed() {
		t.Fatal("connection open after QUIT")
	}
}

func TestClientKill(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	idB := b.do("CLIENT", "ID")
	id := strings.TrimSuffix(strings.TrimPrefix(idB, ":"), "\r\n")
	if got := a.do("CLIENT", "KILL", "ID", id); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL ID: %q", got)
	}
	if !b.closed() {
		t.Fatal("killed client still connected")
	}
	if got := a.do("CLIENT", "KILL", "ID", "999999"); got != ":0\r\n" {
		t.Fatalf("CLIENT KILL unknown id: %q", got)
	}
	list := a.do("CLIENT", "LIST")
	if strings.Count(list, "id=") != 1 || !strings.Contains(list, "cmd=client|list") {
		t.Fatalf("CLIENT LIST after kill: %q", list)
	}
}

// TestInstancesShareNothing runs two instances in one process and checks
// that keys, connections and settings stay apart.
func TestInstancesShareNothing(t *testing.T) {
	a := startServer(t, Options{Name: "a"})
	b := startServer(t, Options{Name: "b"})
	ca, cb := dial(t, a.Addrs()[0]), dial(t, b.Addrs()[0])
	ca.do("SET", "shared", "from-a")
	if got := cb.do("GET", "shared"); got != "$-1\r\n" {
		t.Fatalf("instance b sees a's key: %q", got)
	}
	if got := cb.do("DBSIZE"); got != ":0\r\n" {
		t.Fatalf("instance b DBSIZE: %q", got)
	}
	if !strings.Contains(ca.do("INFO", "server"), "instance:a") {
		t.Fatal("INFO of a does not name it")
	}
	if list := cb.do("CLIENT", "LIST"); strings.Count(list, "id=") != 1 {
		t.Fatalf("instance b lists other clients: %q", list)
	}
}

// TestGracefulShutdown checks that Shutdown stops accepting and lets the
// commands already sent finish with their replies.
func TestGracefulShutdown(t *testing.T) {
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0]
	c := dial(t, addr)
	c.do("SET", "k", "0")
	var wg sync.WaitGroup
	wg.Add(1)
	var shutdownErr atomic.Value
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			shutdownErr.Store(err)
		}
	}()
	wg.Wait()
	if err := shutdownErr.Load(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
	if !c.closed() {
		t.Fatal("connection open after shutdown")
	}
}

// TestShutdownFinishesPipeline sends a long pipeline and shuts down while it
// runs: every command that started gets its reply, and the replies are a
// prefix of the expected sequence (nothing shifted or lost mid-reply).
func TestShutdownFinishesPipeline(t *testing.T) {
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addrs()[0])
	const n = 20000
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n")
	}
	c.send(b.String())
	if got := c.reply(); got != ":1\r\n" {
		t.Fatalf("first reply %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	last := 1
	for {
		raw, err := c.rd.ReadRaw()
		if err != nil {
			break
		}
		last++
		if want := ":" + itoa(last) + "\r\n"; string(raw) != want {
			t.Fatalf("reply %d = %q, want %q", last, raw, want)
		}
	}
	if last < 1 || last > n {
		t.Fatalf("%d replies", last)
	}
}

func itoa(n int) string {
	return strings.TrimSpace(strings.TrimPrefix(string(resp.AppendInt(nil, int64(n))), ":"))
}

func TestInfoSections(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	c.do("SET", "a", "1")
	info := c.do("INFO")
	for _, want := range []string{"# Server\r\n", "redis_version:" + CompatVersion, "# Clients\r\n", "connected_clients:1",
		"# Memory\r\n", "used_memory:", "# Stats\r\n", "total_commands_processed:", "# Keyspace\r\n", "db0:keys=1,expires=0"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	if got := c.do("INFO", "nosuchsection"); got != "$0\r\n\r\n" {
		t.Errorf("INFO of an unknown section: %q", got)
	}
	if k := c.do("INFO", "keyspace"); strings.Contains(k, "# Server") {
		t.Errorf("INFO keyspace holds other sections: %q", k)
	}
}

// TestRedisCLI drives the server with the real redis-cli, inline and RESP.
func TestRedisCLI(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	s := startServer(t, Options{})
	host, port, _ := net.SplitHostPort(s.Addrs()[0])
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"SET", "greeting", "hello world"}, "OK"},
		{[]string{"GET", "greeting"}, "hello world"},
		{[]string{"-3", "HELLO", "3"}, "server"},
		{[]string{"COMMAND", "COUNT"}, ""},
	} {
		out := testutil.Run(t, cli, append([]string{"-h", host, "-p", port}, tt.args...)...)
		if !strings.Contains(out, tt.want) {
			t.Errorf("redis-cli %q: %q lacks %q", tt.args, out, tt.want)
		}
	}
}

// TestHandlerPanicRecovered checks that a panic in a command the server
// answers itself is answered with an error and the process and the
// connection go on.
func TestHandlerPanicRecovered(t *testing.T) {
	s := startServer(t, Options{})
	spec := s.lookupName("time")
	s.handlers[spec.ID] = func(c *conn, args [][]byte) {
		c.w.WriteArray(2)
		panic("boom")
	}
	c := dial(t, s.Addrs()[0])
	if got := c.do("TIME"); got != "-ERR internal error while running 'time'\r\n" {
		t.Fatalf("TIME: %q", got)
	}
	if got := c.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING after a panic: %q", got)
	}
}

// TestClientListWhileOthersChange runs CLIENT LIST while another client
// switches databases and grows its read buffer; under -race this checks
// that CLIENT LIST reads only what connections publish.
func TestClientListWhileOthersChange(t *testing.T) {
	s := startServer(t, Options{})
	a, b := dial(t, s.Addrs()[0]), dial(t, s.Addrs()[0])
	big := strings.Repeat("x", 100<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			b.do("SELECT", itoa(i%3))
			b.do("SET", "k", big)
			b.do("RESET")
		}
	}()
	for i := 0; i < 50; i++ {
		if list := a.do("CLIENT", "LIST"); !strings.Contains(list, "id=") {
			t.Fatalf("CLIENT LIST: %q", list)
		}
	}
	<-done
}

// stuckClient pipelines 512 MiB of replies and never reads them; it
// returns once the server is blocked writing to it.
func stuckClient(t *testing.T, s *Server) (c *client, id string) {
	t.Helper()
	c = dial(t, s.Addrs()[0])
	id = strings.TrimSuffix(strings.TrimPrefix(c.do("CLIENT", "ID"), ":"), "\r\n")
	c.do("SET", "big", strings.Repeat("x", 1<<20))
	c.send(strings.Repeat("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 512))
	// Socket buffers hold a few MiB: once the bytes written stop
	// growing for a while, the server is blocked in a write.
	last, since := int64(-1), time.Now()
	testutil.WaitFor(t, 20*time.Second, "the server to block writing", func() bool {
		n := s.totals().netOutputBytes.Load()
		if n != last {
			last, since = n, time.Now()
			return false
		}
		return n > 1<<20 && time.Since(since) > 200*time.Millisecond
	})
	return c, id
}

// TestKillClientThatDoesNotRead checks that CLIENT KILL ends a client
// whose replies the server is blocked writing.
func TestKillClientThatDoesNotRead(t *testing.T) {
	s := startServer(t, Options{})
	_, id := stuckClient(t, s)
	a := dial(t, s.Addrs()[0])
	a.do("PING")
	if n := s.clientCount(); n != 2 {
		t.Fatalf("%d clients", n)
	}
	if got := a.do("CLIENT", "KILL", "ID", id); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL: %q", got)
	}
	testutil.WaitFor(t, 5*time.Second, "the stuck client to be gone", func() bool { return s.clientCount() == 1 })
}

// TestShutdownWithClientThatDoesNotRead checks that Shutdown ends within
// its deadline even while the server is blocked writing to a client.
func TestShutdownWithClientThatDoesNotRead(t *testing.T) {
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	stuckClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_ = s.Shutdown(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
}
