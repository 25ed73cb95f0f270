package managed

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

func TestServes(t *testing.T) {
	p := start(t, Options{})
	tg := p.Target()
	if tg.Network != "unix" || tg.Addr != filepath.Join(p.dir, SocketName) || len(tg.Password) != 2*passwordBytes {
		t.Fatalf("Target = %v (password %d bytes)", tg, len(tg.Password))
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(p.Version()) {
		t.Errorf("Version = %q", p.Version())
	}
	if p.Pid() == 0 || p.Restarts() != 0 {
		t.Errorf("Pid = %d, Restarts = %d", p.Pid(), p.Restarts())
	}
	if !isSocket(filepath.Join(p.dir, SocketName)) {
		t.Errorf("no socket %s in the instance directory", SocketName)
	}
	ctx := testCtx(t)
	c := client(t, tg)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "tcp_port:0\r\n") {
		t.Errorf("INFO server has no tcp_port:0:\n%s", info)
	}
	if !strings.Contains(p.logs.String(), "redis-server="+itoa(p.Pid())) {
		t.Errorf("the server's output was not forwarded:\n%s", p.logs)
	}
}

// The backend refuses, to Redoubt itself, what could reach outside the
// directory, change its security or stop it, and keeps the rest.
func TestCommands(t *testing.T) {
	p := start(t, Options{})
	ctx := testCtx(t)
	c := client(t, p.Target())
	refused := regexp.MustCompile(`^(NOPERM|ERR .*not allowed)`)
	tests := []struct {
		name string
		args []any
		want *regexp.Regexp // nil: allowed
	}{
		{"config set dir", []any{"config", "set", "dir", "/tmp"}, refused},
		{"config get", []any{"config", "get", "requirepass"}, refused},
		{"debug", []any{"debug", "sleep", "0"}, refused},
		{"module", []any{"module", "list"}, refused},
		{"replicaof", []any{"replicaof", "127.0.0.1", "1"}, refused},
		{"slaveof", []any{"slaveof", "127.0.0.1", "1"}, refused},
		{"sync", []any{"sync"}, refused},
		{"psync", []any{"psync", "?", "-1"}, refused},
		{"replconf", []any{"replconf", "listening-port", "1"}, refused},
		{"migrate", []any{"migrate", "127.0.0.1", "1", "k", "0", "100"}, refused},
		{"monitor", []any{"monitor"}, refused},
		{"shutdown", []any{"shutdown", "nosave"}, refused},
		{"acl", []any{"acl", "setuser", "default", "nopass"}, refused},
		{"cluster", []any{"cluster", "info"}, refused},
		{"client pause", []any{"client", "pause", "10000"}, refused},
		{"client setname", []any{"client", "setname", "redoubt"}, nil},
		{"client id", []any{"client", "id"}, nil},
		{"save", []any{"save"}, nil},
		{"eval", []any{"eval", "return 1", "0"}, nil},
	}
	if p.version.atLeast(version{6, 2, 0}) {
		tests = append(tests, struct {
			name string
			args []any
			want *regexp.Regexp
		}{"failover", []any{"failover"}, refused})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "client pause" && !p.version.atLeast(version{7, 0, 0}) {
				t.Skip("a rule removes a subcommand from 7.0")
			}
			err := c.Do(ctx, tt.args...).Err()
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("%v: %v", tt.args, err)
			case tt.want != nil && (err == nil || !tt.want.MatchString(err.Error())):
				t.Fatalf("%v: err %v, want %v", tt.args, err, tt.want)
			}
		})
	}
	if !isSocket(filepath.Join(p.dir, SocketName)) || c.Ping(ctx).Err() != nil {
		t.Fatal("the server is gone")
	}
	if _, err := os.Stat(filepath.Join(p.dir, "dump.rdb")); err != nil {
		t.Errorf("SAVE did not write in the instance directory: %v", err)
	}
}

func TestNoPassword(t *testing.T) {
	p := start(t, Options{})
	tg := p.Target()
	tg.Password = ""
	err := client(t, tg).Set(testCtx(t), "k", "v", 0).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("SET without a password: %v, want NOAUTH", err)
	}
	tg.Password = strings.Repeat("0", 2*passwordBytes)
	err = client(t, tg).Ping(testCtx(t)).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") && !strings.HasPrefix(err.Error(), "ERR invalid password") {
		t.Fatalf("PING with a wrong password: %v", err)
	}
}

// A server killed with SIGKILL comes back with its data (appendfsync
// always), its socket and its password, and OnState tells.
func TestRestart(t *testing.T) {
	var mu sync.Mutex
	var states []string
	p := start(t, Options{AppendOnly: true, AppendFsync: "always", OnState: func(up bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		states = append(states, map[bool]string{true: "up", false: "down"}[up])
		if up != (err == nil) {
			t.Errorf("OnState(%v, %v)", up, err)
		}
	}})
	ctx := testCtx(t)
	c := client(t, p.Target())
	if err := c.Set(ctx, "durable", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	aof := "appendonlydir"
	if !p.version.atLeast(version{7, 0, 0}) {
		aof = "appendonly.aof"
	}
	if _, err := os.Stat(filepath.Join(p.dir, aof)); err != nil {
		t.Fatalf("no %s in the instance directory: %v", aof, err)
	}
	old := p.Pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, testTimeout, "a restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) == 2
	})
	if pid := p.Pid(); pid == 0 || pid == old || p.Restarts() != 1 {
		t.Fatalf("Pid %d (was %d), Restarts %d", pid, old, p.Restarts())
	}
	mu.Lock()
	if strings.Join(states, ",") != "down,up" {
		t.Errorf("OnState: %v", states)
	}
	mu.Unlock()
	var got string
	testutil.WaitFor(t, testTimeout, "GET after the restart", func() bool {
		var err error
		got, err = c.Get(ctx, "durable").Result()
		return err == nil
	})
	if got != "yes" {
		t.Fatalf("GET after the restart = %q", got)
	}
	if !strings.Contains(p.logs.String(), "signal: killed") {
		t.Errorf("no warning with the exit status:\n%s", p.logs)
	}
}

func TestStop(t *testing.T) {
	p := start(t, Options{})
	pid := p.Pid()
	if err := p.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	assertStopped(t, p, pid)
	if err := p.Stop(testCtx(t)); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// A Stop whose context has already ended kills the server and says so.
func TestStopKills(t *testing.T) {
	p := start(t, Options{})
	pid := p.Pid()
	ctx, cancel := contextDone()
	defer cancel()
	err := p.Stop(ctx)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Stop with an ended context: %v, want killed", err)
	}
	assertStopped(t, p, pid)
	if again := p.Stop(testCtx(t)); !errors.Is(again, err) {
		t.Fatalf("second Stop: %v, want %v", again, err)
	}
}

func assertStopped(t *testing.T, p *started, pid int) {
	t.Helper()
	if p.Pid() != 0 {
		t.Errorf("Pid after Stop = %d", p.Pid())
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d after Stop: %v", pid, err)
	}
	if _, err := os.Lstat(filepath.Join(p.dir, SocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Stop: %v", err)
	}
	if err := probe(p.addr, p.password, time.Second); err == nil {
		t.Error("the server still answers after Stop")
	}
	if _, err := os.Stat(filepath.Join(p.dir, "redoubt.lock")); err != nil {
		t.Errorf("the lock file: %v", err)
	}
}
