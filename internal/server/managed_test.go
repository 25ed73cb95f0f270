package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// TestManagedBackend runs an instance whose redis-server Redoubt starts
// itself: clients reach the data only through Redoubt, the server has no
// TCP port, its files stay in the instance directory, it comes back by
// itself when it dies, and it stops with the instance.
func TestManagedBackend(t *testing.T) {
	testutil.RequireTool(t, "redis-server")
	dir := filepath.Join(t.TempDir(), "inst")
	opts := Options{DataDir: dir, Persistence: DefaultPersistence(), Backend: Backend{Kind: BackendManaged}}
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	if got := c.do("SET", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	info := c.do("INFO", "backend")
	if !strings.Contains(info, "backend:managed") || !strings.Contains(info, "backend_status:up") {
		t.Fatalf("INFO backend: %s", info)
	}

	// The backend itself: no TCP port, a password, files in the directory.
	tgt := s.managed.Target()
	direct := redis.NewClient(&redis.Options{Network: "unix", Addr: tgt.Addr, Password: tgt.Password})
	defer direct.Close()
	ctx := context.Background()
	srv, err := direct.Info(ctx, "server").Result()
	if err != nil || !strings.Contains(srv, "tcp_port:0\r\n") {
		t.Fatalf("backend INFO server: %v %q", err, srv)
	}
	anon := redis.NewClient(&redis.Options{Network: "unix", Addr: tgt.Addr})
	defer anon.Close()
	if err := anon.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("backend without password: %v", err)
	}
	if err := direct.ConfigSet(ctx, "dir", "/tmp").Err(); err == nil {
		t.Fatal("CONFIG SET on the managed backend was allowed")
	}
	if _, err := os.Stat(filepath.Join(dir, "appendonlydir")); err != nil {
		t.Fatalf("append-only directory not in the instance directory: %v", err)
	}

	// Kill it: it comes back, with the data (written to the OS before the reply), and the
	// clients are served again without reconnecting.
	pid := s.managed.(interface{ Pid() int }).Pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "service after the backend restarted", func() bool {
		return c.do("GET", "k") == "$1\r\nv\r\n"
	})
	if got := s.managed.(interface{ Restarts() int64 }).Restarts(); got != 1 {
		t.Fatalf("restarts: %d", got)
	}

	// Shutdown stops it.
	newPid := s.managed.(interface{ Pid() int }).Pid()
	ctxT, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctxT); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(newPid, 0); err == nil {
		t.Fatalf("managed redis-server %d still runs after shutdown", newPid)
	}
}
