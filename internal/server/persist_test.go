package server

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/aof"
	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

// faults decides what the append-only file's writes and fsyncs do: fail
// (a write fails half-way, as on a full disk), or wait at a gate.
type faults struct {
	write, sync atomic.Bool
	gate        atomic.Pointer[chan struct{}] // non-nil: Sync waits until it is closed
	failed      atomic.Int64                  // faults injected
}

// holdSyncs makes every fsync wait until the returned function is called.
func (f *faults) holdSyncs() (release func()) {
	ch := make(chan struct{})
	f.gate.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			f.gate.Store(nil)
			close(ch)
		})
	}
}

type faultFS struct {
	aof.FS
	f *faults
}

func (s faultFS) OpenFile(name string, flag int, perm fs.FileMode) (aof.File, error) {
	file, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	ff := &faultFile{File: file, f: s.f}
	if fi, err := file.Stat(); err == nil {
		ff.synced.Store(fi.Size())
	}
	return ff, nil
}

// faultFile fails as a file on a failing disk does. After a failed
// fsync it also forgets what was written since the last good one, as
// Linux may drop the dirty pages: the writer must write them again.
type faultFile struct {
	aof.File
	f      *faults
	synced atomic.Int64 // size at the last good fsync
}

func (ff *faultFile) Write(p []byte) (int, error) {
	if ff.f.write.Load() {
		ff.f.failed.Add(1)
		n, _ := ff.File.Write(p[:len(p)/2]) // a short write, then a full disk
		return n, syscall.ENOSPC
	}
	return ff.File.Write(p)
}

func (ff *faultFile) Sync() error {
	if g := ff.f.gate.Load(); g != nil {
		<-*g
	}
	if ff.f.sync.Load() {
		ff.f.failed.Add(1)
		_ = ff.File.Truncate(ff.synced.Load()) // the dirty pages are gone
		return syscall.EIO
	}
	if err := ff.File.Sync(); err != nil {
		return err
	}
	if fi, err := ff.File.Stat(); err == nil {
		ff.synced.Store(fi.Size())
	}
	return nil
}

// logBuffer collects a server's log for the test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPersistent starts an instance with an append-only file in dir,
// whose file operations go through f (nil: none injected). stop shuts it
// down and reports the error of closing the file. BGREWRITEAOF is
// enabled.
func startPersistent(t *testing.T, dir string, policy aof.Policy, f *faults, log *logBuffer) (s *Server, stop func() error) {
	t.Helper()
	p := Persistence{Enabled: true, Fsync: policy}
	if f != nil {
		p.wrapFS = func(fsys aof.FS) aof.FS { return faultFS{fsys, f} }
	}
	sec := DefaultSecurity()
	sec.Enabled = []string{"bgrewriteaof"}
	s, err := New(Options{
		Listen:      []string{"127.0.0.1:0"},
		DataDir:     dir,
		Persistence: p,
		Security:    &sec,
		Logger:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			if f != nil {
				f.write.Store(false)
				f.sync.Store(false)
				if g := f.gate.Swap(nil); g != nil {
					close(*g)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			serr = s.Shutdown(ctx)
		})
		return serr
	}
	t.Cleanup(func() { _ = stop() })
	return s, stop
}

// rawConn is a RESP connection whose errors are values: the server may
// close it on purpose.
type rawConn struct {
	nc net.Conn
	rd *resp.Reader
}

func rawDial(addr string) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{nc: nc, rd: resp.NewReader(nc, resp.DefaultLimits())}, nil
}

func (c *rawConn) send(args ...string) error {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(resp.AppendCommand(nil, bs...))
	return err
}

// read reads one reply, waiting at most d.
func (c *rawConn) read(d time.Duration) (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	raw, err := c.rd.ReadRaw()
	return string(raw), err
}

func (c *rawConn) do(args ...string) (string, error) {
	if err := c.send(args...); err != nil {
		return "", err
	}
	return c.read(10 * time.Second)
}

func (c *rawConn) close() { _ = c.nc.Close() }

// mustDo runs a command on a new connection and returns the reply.
func mustDo(t *testing.T, addr string, args ...string) string {
	t.Helper()
	c, err := rawDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	r, err := c.do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

// ackWriter sets keys prefix:0, prefix:1 … until stopped and records
// which ones the server acknowledged with +OK, redialling when the server
// closes the connection (as it does when a commit fails).
type ackWriter struct {
	prefix  string
	acked   []int
	refused int // MISCONF replies
	dropped int // connections closed without a reply
	other   []string
}

func (w *ackWriter) run(addr string, stop <-chan struct{}) {
	var c *rawConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if c == nil {
			var err error
			if c, err = rawDial(addr); err != nil {
				w.other = append(w.other, err.Error())
				return
			}
		}
		r, err := c.do("SET", w.prefix+":"+strconv.Itoa(i), strconv.Itoa(i))
		switch {
		case err != nil:
			w.dropped++
			c.close()
			c = nil
		case r == "+OK\r\n":
			w.acked = append(w.acked, i)
		case strings.HasPrefix(r, "-MISCONF "):
			w.refused++
		default:
			w.other = append(w.other, r)
		}
	}
}

// TestFaultInjectionStopsWrites makes the append-only file's writes or
// fsyncs fail under a write load: writes must stop with the MISCONF
// error, reads go on, INFO and the log say so; once the fault clears,
// writes resume by themselves and after a restart every write that was
// acknowledged is there.
func TestFaultInjectionStopsWrites(t *testing.T) {
	tests := []struct {
		name    string
		policy  aof.Policy
		fail    func(*faults) *atomic.Bool
		op      string // in the log
		errText string // in the MISCONF reply
	}{
		{"write/always", aof.FsyncAlways, func(f *faults) *atomic.Bool { return &f.write }, "write", "no space left on device"},
		{"fsync/always", aof.FsyncAlways, func(f *faults) *atomic.Bool { return &f.sync }, "fsync", "input/output error"},
		{"write/everysec", aof.FsyncEverySec, func(f *faults) *atomic.Bool { return &f.write }, "write", "no space left on device"},
		{"fsync/everysec", aof.FsyncEverySec, func(f *faults) *atomic.Bool { return &f.sync }, "fsync", "input/output error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var f faults
			var log logBuffer
			s, stop := startPersistent(t, dir, tt.policy, &f, &log)
			addr := s.Addrs()[0]
			defer func() {
				if t.Failed() {
					t.Logf("server log:\n%s", log.String())
				}
			}()
			if r := mustDo(t, addr, "SET", "before", "1"); r != "+OK\r\n" {
				t.Fatalf("SET before: %q", r)
			}

			quit := make(chan struct{})
			writers := make([]*ackWriter, 3)
			var wg sync.WaitGroup
			for i := range writers {
				writers[i] = &ackWriter{prefix: "w" + strconv.Itoa(i)}
				wg.Go(func() { writers[i].run(addr, quit) })
			}
			stopWriters := sync.OnceFunc(func() { close(quit); wg.Wait() })
			defer stopWriters()
			testutil.WaitFor(t, 10*time.Second, "acknowledged writes", func() bool {
				return s.store.aof.Stats().CurrentSize > 20_000
			})

			tt.fail(&f).Store(true)
			want := "-MISCONF Errors writing to the AOF file: " + tt.errText + "\r\n"
			var probe string
			testutil.WaitFor(t, 10*time.Second, "writes to be refused", func() bool {
				c, err := rawDial(addr)
				if err != nil {
					return false
				}
				defer c.close()
				probe, _ = c.do("SET", "probe", "x")
				return strings.HasPrefix(probe, "-MISCONF")
			})
			if probe != want {
				t.Errorf("refusal = %q, want %q", probe, want)
			}
			for _, args := range [][]string{{"GET", "before"}, {"EXISTS", "w0:0"}, {"PING"}} {
				if r := mustDo(t, addr, args...); strings.HasPrefix(r, "-") {
					t.Errorf("%v while the file fails: %q, want a normal reply", args, r)
				}
			}
			if r := mustDo(t, addr, "INCR", "counter"); r != want {
				t.Errorf("INCR while the file fails: %q, want %q", r, want)
			}
			info := mustDo(t, addr, "INFO", "persistence")
			if !strings.Contains(info, "aof_last_write_status:err") {
				t.Errorf("INFO persistence while failing lacks aof_last_write_status:err:\n%s", info)
			}
			logged := "aof: " + tt.op + " failed"
			if l := log.String(); !strings.Contains(l, logged) || !strings.Contains(l, dir) {
				t.Errorf("the log does not report %q with the file in %s", logged, dir)
			}

			tt.fail(&f).Store(false)
			testutil.WaitFor(t, 10*time.Second, "writes to be accepted again", func() bool {
				c, err := rawDial(addr)
				if err != nil {
					return false
				}
				defer c.close()
				r, _ := c.do("SET", "after", "2")
				return r == "+OK\r\n"
			})
			if info := mustDo(t, addr, "INFO", "persistence"); !strings.Contains(info, "aof_last_write_status:ok") {
				t.Errorf("INFO persistence after recovery lacks aof_last_write_status:ok:\n%s", info)
			}
			if !strings.Contains(log.String(), "accepting writes") {
				t.Error("the log does not report the recovery")
			}
			// Some more acknowledged writes after the recovery.
			recovered := s.store.aof.Stats().CurrentSize
			testutil.WaitFor(t, 10*time.Second, "writes after recovery", func() bool {
				return s.store.aof.Stats().CurrentSize > recovered+20_000
			})
			stopWriters()
			if err := stop(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if f.failed.Load() == 0 {
				t.Fatal("no fault was injected")
			}

			s2, _ := startPersistent(t, dir, tt.policy, nil, &log)
			addr2 := s2.Addrs()[0]
			c, err := rawDial(addr2)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			checked, refused, dropped := 0, 0, 0
			for _, w := range writers {
				if len(w.other) > 0 {
					t.Errorf("writer %s got unexpected replies: %q", w.prefix, w.other[:min(3, len(w.other))])
				}
				refused += w.refused
				dropped += w.dropped
				for _, i := range w.acked {
					want := "$" + strconv.Itoa(len(strconv.Itoa(i))) + "\r\n" + strconv.Itoa(i) + "\r\n"
					if r, err := c.do("GET", w.prefix+":"+strconv.Itoa(i)); err != nil || r != want {
						t.Fatalf("acknowledged %s:%d after restart: %q %v", w.prefix, i, r, err)
					}
					checked++
				}
			}
			for k, v := range map[string]string{"before": "1", "after": "2"} {
				if r, _ := c.do("GET", k); r != "$1\r\n"+v+"\r\n" {
					t.Errorf("GET %s after restart: %q", k, r)
				}
			}
			if r, _ := c.do("EXISTS", "counter"); r != ":0\r\n" {
				t.Errorf("the refused INCR left a key: %q", r)
			}
			t.Logf("%d acknowledged writes checked after restart (%d refused with MISCONF, %d connections closed without a reply)",
				checked, refused, dropped)
		})
	}
}

// TestDurableReplyWaitsForFsync holds the append-only file's fsync and
// checks which replies wait for it: under appendfsync always every reply
// that acknowledges a change (a write, a transaction, a blocked pop
// served by another client's push) waits; under everysec none does.
func TestDurableReplyWaitsForFsync(t *testing.T) {
	tests := []struct {
		name   string
		policy aof.Policy
		// setup runs before the fsync is held, on its own connection;
		// it returns that connection when its reply is the one to watch.
		setup func(t *testing.T, addr string) *rawConn
		// pre run before the fsync is held, on the same connection as
		// cmds, which run while it is held (one pipeline: the replies
		// of a batch are written together).
		pre   [][]string
		cmds  [][]string
		wait  bool   // the watched reply must wait for the fsync
		reply string // the watched reply
	}{
		{name: "SET/always", policy: aof.FsyncAlways, cmds: [][]string{{"SET", "k", "v"}}, wait: true, reply: "+OK\r\n"},
		{name: "MULTI/always", policy: aof.FsyncAlways,
			pre:  [][]string{{"MULTI"}, {"INCR", "n"}, {"RPUSH", "l", "a"}},
			cmds: [][]string{{"EXEC"}}, wait: true, reply: "*2\r\n:1\r\n:1\r\n"},
		{name: "SPOP/always", policy: aof.FsyncAlways,
			setup: func(t *testing.T, addr string) *rawConn { mustDo(t, addr, "SADD", "s", "only"); return nil },
			cmds:  [][]string{{"SPOP", "s"}}, wait: true, reply: "$4\r\nonly\r\n"},
		{name: "served BLPOP/always", policy: aof.FsyncAlways,
			setup: func(t *testing.T, addr string) *rawConn {
				c, err := rawDial(addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.close)
				if err := c.send("BLPOP", "q", "0"); err != nil {
					t.Fatal(err)
				}
				testutil.WaitFor(t, 5*time.Second, "BLPOP to block", func() bool {
					return strings.Contains(mustDo(t, addr, "INFO", "clients"), "blocked_clients:1\r\n")
				})
				return c
			},
			cmds: [][]string{{"RPUSH", "q", "x"}}, wait: true, reply: "*2\r\n$1\r\nq\r\n$1\r\nx\r\n"},
		{name: "GET/always", policy: aof.FsyncAlways, cmds: [][]string{{"GET", "k"}}, wait: false, reply: "$-1\r\n"},
		{name: "SET/everysec", policy: aof.FsyncEverySec, cmds: [][]string{{"SET", "k", "v"}}, wait: false, reply: "+OK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f faults
			var log logBuffer
			s, stop := startPersistent(t, t.TempDir(), tt.policy, &f, &log)
			addr := s.Addrs()[0]
			var watched *rawConn
			if tt.setup != nil {
				watched = tt.setup(t, addr)
			}
			c, err := rawDial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			if watched == nil {
				watched = c
			}
			for _, args := range tt.pre {
				if r, err := c.do(args...); err != nil || strings.HasPrefix(r, "-") {
					t.Fatalf("%v: %q %v", args, r, err)
				}
			}
			release := f.holdSyncs()
			defer release()
			for _, args := range tt.cmds {
				if err := c.send(args...); err != nil {
					t.Fatal(err)
				}
			}
			const window = 300 * time.Millisecond
			r, err := watched.read(window)
			if tt.wait {
				if err == nil {
					t.Fatalf("got %q while the fsync was still running: the reply did not wait for the append-only file", r)
				}
				if !errors.Is(err, syscall.ETIMEDOUT) && !isTimeout(err) {
					t.Fatalf("read: %v", err)
				}
				release()
				r, err = watched.read(5 * time.Second)
			}
			if err != nil {
				t.Fatalf("no reply: %v", err)
			}
			if r != tt.reply {
				t.Fatalf("reply %q, want %q", r, tt.reply)
			}
			release()
			if watched != c {
				if r, err := c.read(5 * time.Second); err != nil || r != ":1\r\n" {
					t.Fatalf("pusher's reply: %q %v", r, err)
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestDurabilityClosesWithoutReplies checks what the client of a failing
// commit sees: its connection is closed without the reply, never +OK.
func TestDurabilityClosesWithoutReplies(t *testing.T) {
	var f faults
	var log logBuffer
	s, _ := startPersistent(t, t.TempDir(), aof.FsyncAlways, &f, &log)
	c, err := rawDial(s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if r, err := c.do("SET", "a", "1"); err != nil || r != "+OK\r\n" {
		t.Fatalf("SET a: %q %v", r, err)
	}
	f.sync.Store(true)
	r, err := c.do("SET", "b", "2")
	if err == nil {
		t.Fatalf("a write whose fsync failed was answered %q", r)
	}
	if !strings.Contains(log.String(), "closing the connection without its replies") {
		t.Errorf("the log does not say why the connection closed:\n%s", log.String())
	}
}

// TestRewriteKeepsDatabases rewrites the append-only file while the last
// command logged was in another database than 0, then writes there again:
// after a restart (base, then the new incremental file, replayed from
// database 0) every key must be in its own database. The second case
// runs BGREWRITEAOF inside MULTI … EXEC, which holds the engine lock: it
// must not hang the instance, and is carried out after the EXEC.
func TestRewriteKeepsDatabases(t *testing.T) {
	tests := []struct {
		name    string
		rewrite [][]string // on the connection, which has selected db 3
		reply   string     // of the last command
	}{
		{"BGREWRITEAOF", [][]string{{"BGREWRITEAOF"}}, "+Background append only file rewriting started\r\n"},
		{"BGREWRITEAOF in EXEC", [][]string{{"MULTI"}, {"SET", "intx", "1"}, {"BGREWRITEAOF"}, {"SET", "intx2", "2"}, {"EXEC"}},
			"*3\r\n+OK\r\n+Background append only file rewriting scheduled\r\n+OK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var log logBuffer
			s, stop := startPersistent(t, dir, aof.FsyncAlways, nil, &log)
			c, err := rawDial(s.Addrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			for _, args := range [][]string{{"SET", "zero", "0"}, {"SELECT", "3"}, {"SET", "before", "3"}} {
				if r, err := c.do(args...); err != nil || r != "+OK\r\n" {
					t.Fatalf("%v: %q %v", args, r, err)
				}
			}
			var r string
			for _, args := range tt.rewrite {
				if r, err = c.do(args...); err != nil {
					t.Fatalf("%v: %v (the instance hangs?)", args, err)
				}
			}
			if r != tt.reply {
				t.Fatalf("reply %q, want %q", r, tt.reply)
			}
			testutil.WaitFor(t, 10*time.Second, "the rewrite", func() bool {
				st := s.store.aof.Stats()
				return st.Rewrites == 1 && !st.RewriteInProgress
			})
			if r, err := c.do("SET", "after", "3"); err != nil || r != "+OK\r\n" {
				t.Fatalf("SET after: %q %v", r, err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			s2, _ := startPersistent(t, dir, aof.FsyncAlways, nil, &log)
			c2, err := rawDial(s2.Addrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c2.close()
			want := map[string][]string{"0": {"zero"}, "3": {"after", "before"}}
			if len(tt.rewrite) > 1 {
				want["3"] = []string{"after", "before", "intx", "intx2"}
			}
			for db, keys := range want {
				if r, _ := c2.do("SELECT", db); r != "+OK\r\n" {
					t.Fatalf("SELECT %s: %q", db, r)
				}
				r, err := c2.do("KEYS", "*")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, line := range strings.Split(r, "\r\n") {
					if line != "" && line[0] != '*' && line[0] != '$' {
						got = append(got, line)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, keys) {
					t.Errorf("db %s after restart: keys %q, want %q", db, got, keys)
				}
			}
		})
	}
}
