package managed

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// testTimeout bounds every wait of these tests.
const testTimeout = 20 * time.Second

// logBuffer collects what a Process logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// instanceDir makes an instance directory, mode 0700, named name inside
// the test's temporary directory ("" : the temporary directory itself).
func instanceDir(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if name != "" {
		dir = filepath.Join(dir, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The caller's lock file, which the server must leave alone.
	if err := os.WriteFile(filepath.Join(dir, "redoubt.lock"), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// contextDone returns a context that has already ended.
func contextDone() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}

func itoa(n int) string { return strconv.Itoa(n) }

// started is a Process started for one test, stopped when it ends.
type started struct {
	*Process
	dir  string
	logs *logBuffer
}

// start starts a managed server in a fresh directory unless opts.Dir is
// set, and checks when the test ends that the password was never logged.
func start(t *testing.T, opts Options) *started {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-server")
	if opts.Binary == "" {
		opts.Binary = bin
	}
	if opts.Dir == "" {
		opts.Dir = instanceDir(t, "")
	}
	logs := &logBuffer{}
	opts.Logger = logs.logger()
	p, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		p.mu.Lock()
		stoppedByTest := p.finished // and checked by the test
		p.mu.Unlock()
		if err := p.Stop(ctx); err != nil && !stoppedByTest {
			t.Errorf("Stop: %v", err)
		}
		if strings.Contains(logs.String(), p.password) {
			t.Errorf("the password was logged:\n%s", logs)
		}
	})
	return &started{Process: p, dir: opts.Dir, logs: logs}
}

// client connects to tg with go-redis; closed when the test ends.
func client(t *testing.T, tg upstream.Target) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Network:  tg.Network,
		Addr:     tg.Addr,
		Password: tg.Password,
		Protocol: 2,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testCtx is a context bounded by testTimeout.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// isSocket reports whether path is a socket (not following a symlink).
func isSocket(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().Type() == os.ModeSocket
}
