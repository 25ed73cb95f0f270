package managed

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// A directory too long for a socket address is reached through
// /proc/self/fd; its odd name also tests the quoting of "dir".
func TestLongDir(t *testing.T) {
	name := `a dir with "quotes", a \ backslash, é and ` + strings.Repeat("x", 120)
	dir := instanceDir(t, name)
	if n := len(filepath.Join(dir, SocketName)); n <= maxSocketPath {
		t.Fatalf("socket path of %d bytes is not long", n)
	}
	p := start(t, Options{Dir: dir})
	addr := p.Target().Addr
	if !strings.HasPrefix(addr, "/proc/self/fd/") || len(addr) > maxSocketPath {
		t.Fatalf("Target().Addr = %q", addr)
	}
	ctx := testCtx(t)
	c := client(t, p.Target())
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if !isSocket(filepath.Join(dir, SocketName)) {
		t.Fatal("the socket is not in the instance directory")
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if p.dirFD != -1 {
		t.Errorf("directory descriptor %d still open after Stop", p.dirFD)
	}
	if err := probe(addr, p.password, time.Second); err == nil {
		t.Error("the server answers after Stop")
	}
}

func TestStaleSocketRemoved(t *testing.T) {
	dir := instanceDir(t, "")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, SocketName), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if !isSocket(filepath.Join(dir, SocketName)) {
		t.Fatal("no stale socket to test with")
	}
	p := start(t, Options{Dir: dir})
	if err := probe(p.addr, p.password, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStartErrors(t *testing.T) {
	testutil.RequireTool(t, "redis-server")
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) Options
		want    error  // nil: check text
		text    string // in the error
	}{
		{"missing binary", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, Binary: "/nonexistent/redis-server"}
		}, nil, "/nonexistent/redis-server"},
		{"not redis", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, Binary: script(t, `echo hello`)}
		}, nil, "no version"},
		{"redis 4", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, Binary: script(t, `echo "Redis server v=4.0.9 sha=0"`)}
		}, nil, "needs 5.0"},
		{"file named redis.sock", func(t *testing.T, dir string) Options {
			writeFile(t, filepath.Join(dir, SocketName), "precious")
			return Options{Dir: dir}
		}, ErrNotSocket, ""},
		{"symlink named redis.sock", func(t *testing.T, dir string) Options {
			target := filepath.Join(t.TempDir(), "precious")
			writeFile(t, target, "precious")
			if err := os.Symlink(target, filepath.Join(dir, SocketName)); err != nil {
				t.Fatal(err)
			}
			return Options{Dir: dir}
		}, ErrNotSocket, ""},
		{"directory named redis.sock", func(t *testing.T, dir string) Options {
			if err := os.Mkdir(filepath.Join(dir, SocketName), 0o700); err != nil {
				t.Fatal(err)
			}
			return Options{Dir: dir}
		}, ErrNotSocket, ""},
		{"group-writable directory", func(t *testing.T, dir string) Options {
			if err := os.Chmod(dir, 0o770); err != nil {
				t.Fatal(err)
			}
			return Options{Dir: dir}
		}, ErrDirPermissions, ""},
		{"missing directory", func(t *testing.T, dir string) Options {
			return Options{Dir: filepath.Join(dir, "missing")}
		}, os.ErrNotExist, ""},
		{"bad policy", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, MaxMemoryPolicy: "allkeys-everything"}
		}, nil, "maxmemory policy"},
		{"bad fsync", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, AppendFsync: "sometimes"}
		}, nil, "appendfsync"},
		{"negative maxmemory", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, MaxMemory: -1}
		}, nil, "maxmemory"},
		{"bad configuration", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, extraConfig: []string{"no-such-directive yes"}}
		}, nil, "Bad directive"},
		{"never answers", func(t *testing.T, dir string) Options {
			return Options{Dir: dir, Binary: script(t, versionLine+`cat >/dev/null; exec sleep 30`),
				StartTimeout: 300 * time.Millisecond}
		}, nil, "did not answer within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := instanceDir(t, "")
			opts := tt.prepare(t, dir)
			began := time.Now()
			p, err := Start(opts)
			if err == nil {
				p.Stop(testCtx(t))
				t.Fatal("Start succeeded")
			}
			t.Logf("Start: %v", err)
			if time.Since(began) > testTimeout {
				t.Errorf("Start took %v", time.Since(began))
			}
			if tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Start: %v; want %v %q", err, tt.want, tt.text)
			}
			if got, err := os.ReadFile(filepath.Join(dir, SocketName)); err == nil && string(got) != "precious" {
				t.Errorf("redis.sock changed: %q", got)
			}
		})
	}
}

// versionLine makes a script answer --version as redis 7.0.15.
const versionLine = `if [ "$1" = --version ]; then echo "Redis server v=7.0.15 sha=00000000:0 bits=64"; exit 0; fi
`

// A server that fails echoes its configuration, password included: the
// error and the logs must not show it. The fake server also records what
// it was given: the configuration on stdin, its environment, its
// arguments.
func TestFailureRedacted(t *testing.T) {
	bin := script(t, versionLine+`cat > got.conf; env > got.env; echo "$@" > got.args
echo ">>> '$(grep '^user' got.conf)'"
exit 1`)
	dir := instanceDir(t, "")
	logs := &logBuffer{}
	_, err := Start(Options{Dir: dir, Binary: bin, Logger: logs.logger(), MaxMemory: 1 << 20, AppendOnly: true})
	if err == nil || !strings.Contains(err.Error(), "exited before answering: exit status 1") {
		t.Fatalf("Start: %v", err)
	}
	conf := readFile(t, filepath.Join(dir, "got.conf"))
	m := regexp.MustCompile(`(?m)^user default reset on >([0-9a-f]{64}) `).FindStringSubmatch(conf)
	if m == nil {
		t.Fatalf("no ACL rule in the configuration:\n%s", conf)
	}
	password := m[1]
	for what, s := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(s, password) || strings.Contains(s, password[:20]) {
			t.Errorf("the %s show the password:\n%s", what, s)
		}
		if !strings.Contains(s, redacted) {
			t.Errorf("the %s have no %q:\n%s", what, redacted, s)
		}
	}
	for _, line := range []string{"port 0", `unixsocket "redis.sock"`, "unixsocketperm 700",
		"dir " + quote(dir), "appendonly yes", "maxmemory 1048576", "enable-debug-command no"} {
		if !strings.Contains(conf, line+"\n") {
			t.Errorf("configuration has no %q:\n%s", line, conf)
		}
	}
	for _, v := range strings.Fields(readFile(t, filepath.Join(dir, "got.env"))) {
		if !strings.HasPrefix(v, "PATH=") && !strings.HasPrefix(v, "PWD=") { // the shell adds PWD
			t.Errorf("environment has %q", v)
		}
	}
	if args := strings.TrimSpace(readFile(t, filepath.Join(dir, "got.args"))); args != "-" {
		t.Errorf("arguments: %q", args)
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	sh := testutil.RequireTool(t, "sh")
	p := filepath.Join(t.TempDir(), "fake-redis-server")
	if err := os.WriteFile(p, []byte("#!"+sh+"\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
