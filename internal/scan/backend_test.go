package scan

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"redoubt/internal/config"
	"redoubt/internal/managed"
	"redoubt/internal/resp"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// passwordEnv is the variable the tests' configurations read the
// backend's password from (password_env).
const passwordEnv = "REDOUBT_SCAN_TEST_PASSWORD"

func randomPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// redisDo sends commands to a test's redis-server as its default user
// before it is locked, and fails the test on an error reply.
func redisDo(t testing.TB, addr string, cmds ...[]string) {
	t.Helper()
	var raw [][][]byte
	for _, c := range cmds {
		var args [][]byte
		for _, a := range c {
			args = append(args, []byte(a))
		}
		raw = append(raw, args)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	vals, err := upstream.Do(ctx, upstream.Target{Network: "tcp", Addr: addr}, raw...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v.Type == resp.TypeError {
			t.Fatalf("%q: %s", cmds[i], v.Str)
		}
	}
}

// backendConfig is a configuration whose default instance fronts url,
// logging in with password (none when empty).
func backendConfig(t testing.TB, url, password string) *config.Config {
	t.Helper()
	pw := ""
	if password != "" {
		t.Setenv(passwordEnv, password)
		pw = "\n      password_env: " + passwordEnv
	}
	return parse(t, `
instances:
  - name: default
    data: `+filepath.Join(t.TempDir(), "d")+`
    backend:
      url: `+url+pw)
}

// backendFindings scans cfg and returns the findings about its backend.
func backendFindings(t testing.TB, cfg *config.Config) []Finding {
	t.Helper()
	start := time.Now()
	fs := scanConfig(t, cfg)
	t.Logf("scan took %v", time.Since(start).Round(time.Millisecond))
	var out []Finding
	for _, f := range fs {
		if strings.HasPrefix(f.ID, "backend-") {
			out = append(out, f)
		}
	}
	return out
}

func hasID(fs []Finding, id string, sev Severity) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.ID == id && f.Severity == sev })
}

// TestWeakBackends probes real redis-servers set up badly, and a
// hardened one in two ways.
func TestWeakBackends(t *testing.T) {
	pw := randomPassword(t)
	tests := []struct {
		name  string
		args  []string   // redis-server arguments
		setup [][]string // commands run as the default user once it is up
		user  string     // Redoubt's account on the backend
		pass  string
		want  []string // rule/severity, in report order
		// unverified lists what the info finding must mention.
		unverified []string
	}{
		{
			name: "no password, protected mode off, everything enabled",
			args: []string{"--protected-mode", "no", "--enable-debug-command", "yes", "--enable-module-command", "yes",
				"--enable-protected-configs", "yes"},
			want: []string{"backend-config-enabled/high", "backend-debug-enabled/high", "backend-module-enabled/high",
				"backend-no-password/high", "backend-protected-mode-off/medium"},
		},
		{
			// Redis 7's default enable-protected-configs no still
			// guards dir and dbfilename: CONFIG SET is medium.
			name:  "password, but CONFIG, DEBUG and MODULE enabled",
			args:  []string{"--enable-debug-command", "yes", "--enable-module-command", "yes"},
			setup: [][]string{{"CONFIG", "SET", "requirepass", pw}},
			pass:  pw,
			want:  []string{"backend-debug-enabled/high", "backend-module-enabled/high", "backend-config-enabled/medium"},
		},
		{
			name: "DEBUG local only, CONFIG GET without CONFIG SET",
			args: []string{"--enable-debug-command", "local",
				"--user", "redoubt", "on", ">" + pw, "~*", "&*", "+@all", "-config", "+config|get"},
			setup: [][]string{{"ACL", "SETUSER", "default", "off"}},
			user:  "redoubt", pass: pw,
			// The scanner dials from loopback: "local" lets it, and
			// Redoubt on the same host, run DEBUG.
			want: []string{"backend-debug-enabled/high", "backend-config-readable/medium"},
		},
		{
			name: "hardened: an ACL user without dangerous commands",
			args: []string{"--enable-debug-command", "no", "--enable-module-command", "no", "--protected-mode", "yes",
				"--user", "redoubt", "on", ">" + pw, "~*", "&*", "+@all", "-@dangerous", "+info"},
			setup:      [][]string{{"ACL", "SETUSER", "default", "off"}},
			user:       "redoubt",
			pass:       pw,
			want:       []string{"backend-unverified/info"},
			unverified: []string{"protected-mode: CONFIG GET answered \"NOPERM", "bind: CONFIG GET answered \"NOPERM"},
		},
		{
			name:       "hardened: requirepass and CONFIG renamed away",
			args:       []string{"--rename-command", "CONFIG", "", "--enable-debug-command", "no", "--enable-module-command", "no"},
			setup:      [][]string{{"ACL", "SETUSER", "default", "resetpass", ">" + pw}},
			pass:       pw,
			want:       []string{"backend-unverified/info"},
			unverified: []string{"protected-mode: CONFIG GET answered \"ERR unknown command", "enable-module-command cannot be read"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.StartRedis(t, tt.args...)
			if tt.setup != nil {
				redisDo(t, r.Addr, tt.setup...)
			}
			url := "redis://" + r.Addr
			if tt.user != "" {
				url = "redis://" + tt.user + "@" + r.Addr
			}
			fs := backendFindings(t, backendConfig(t, url, tt.pass))
			if got := strings.Join(ids(fs), " "); got != strings.Join(tt.want, " ") {
				t.Fatalf("findings %q, want %q\n%+v", got, tt.want, fs)
			}
			for _, f := range fs {
				if f.Instance != "default" || f.Node != url {
					t.Errorf("finding %s about %q %q, want default %q", f.ID, f.Instance, f.Node, url)
				}
				if f.ID == RuleBackendUnverified && strings.Contains(f.Evidence, "version") {
					t.Errorf("the version was not read: %s", f.Evidence)
				}
			}
			for _, want := range tt.unverified {
				if u := byID(fs, RuleBackendUnverified); len(u) != 1 || !strings.Contains(u[0].Evidence, want) {
					t.Errorf("unverified evidence lacks %q: %+v", want, u)
				}
			}
			noSecret(t, fs, pw)
		})
	}
}

// TestBackendOldVersion judges recorded INFO texts; the real 7.x servers
// of the other tests give no finding.
func TestBackendOldVersion(t *testing.T) {
	info := func(v string) resp.Value {
		return resp.Value{Type: resp.TypeBulk, Str: []byte("# Server\r\nredis_version:" + v + "\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\ntcp_port:6379\r\n")}
	}
	for _, tt := range []struct {
		version, want string
	}{
		{"2.8.24", "backend-old-version/high"},
		{"3.0.7", "backend-old-version/high"},
		{"3.2.6", "backend-old-version/high"},
		{"3.2.7", ""},
		{"3.2.12", ""},
		{"4.0.0", ""},
		{"7.0.15", ""},
		{"255.255.255", ""},
		{"garbage", "backend-unverified/info"},
	} {
		n := &nodeScan{inst: "i", node: "redis://x"}
		n.version(info(tt.version))
		n.finish()
		if got := strings.Join(ids(n.out), " "); got != tt.want {
			t.Errorf("redis_version:%s: %q, want %q", tt.version, got, tt.want)
		}
	}
	if old, ok := olderThan("3.2", minVersion); !ok || !old {
		t.Error("3.2 is older than 3.2.7")
	}
}

// TestOpenBind reads bind settings as CONFIG GET gives them.
func TestOpenBind(t *testing.T) {
	for _, tt := range []struct {
		bind string
		open int
	}{
		{"127.0.0.1", 0},
		{"127.0.0.1 -::1", 0},
		{"localhost", 0},
		{"", 1},
		{"* -::*", 2},
		{"0.0.0.0", 1},
		{"::", 1},
		{"127.0.0.1 10.0.0.5", 1},
		{"127.0.0.1 -192.0.2.1", 1},
		{"redis.internal", 1},
	} {
		if got := openBind(tt.bind); len(got) != tt.open {
			t.Errorf("bind %q: %q, want %d open", tt.bind, got, tt.open)
		}
	}
}

// TestClusterPeers reads CLUSTER NODES as 3.x and 7.x print it.
func TestClusterPeers(t *testing.T) {
	text := "e7d1 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n" +
		"67ed 10.0.0.2:7001@17001,node2.example master - 0 1 2 connected 5461-10922\n" +
		"292f :7002@17002 master - 0 1 3 connected 10923-16383\n" +
		"3f8a 10.0.0.4:7003 slave e7d1 0 1 1 connected\n" +
		"9c1d :0@0 master,noaddr - 1 1 0 disconnected\n" +
		"aa00 10.0.0.9:7009@17009 handshake - 0 0 0 connected\n" +
		"b000 2001:db8::5:7005@17005 master - 0 1 5 connected\n"
	got := clusterPeers(resp.Value{Type: resp.TypeBulk, Str: []byte(text)}, "192.168.0.9:7000")
	want := []string{"10.0.0.1:7000", "10.0.0.2:7001", "192.168.0.9:7002", "10.0.0.4:7003", "[2001:db8::5]:7005"}
	if !slices.Equal(got, want) {
		t.Fatalf("peers %q, want %q", got, want)
	}
}

// TestBackendUnreachable: a closed port, and a server that accepts and
// never answers, which must not hold the scan beyond its timeout.
func TestBackendUnreachable(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	closed := net.JoinHostPort("127.0.0.1", "1")
	for _, addr := range []string{closed, silent.Addr().String()} {
		cfg := backendConfig(t, "redis://"+addr, "")
		start := time.Now()
		fs := Run(context.Background(), Options{Config: cfg, Timeout: 300 * time.Millisecond})
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%s: the scan took %v with a 300ms timeout", addr, took)
		}
		u := byID(fs, RuleBackendUnreachable)
		if len(u) != 1 || u[0].Severity != High {
			t.Fatalf("%s: %v", addr, ids(fs))
		}
		t.Logf("%s: %s", addr, u[0].Evidence)
	}
}

// TestBackendLoginFailed: a wrong password, and none where one is
// needed.
func TestBackendLoginFailed(t *testing.T) {
	pw := randomPassword(t)
	r := testutil.StartRedis(t)
	redisDo(t, r.Addr, []string{"CONFIG", "SET", "requirepass", pw})
	for _, tt := range []struct{ pass, evidence string }{
		{"wrong-" + pw, "WRONGPASS"},
		{"", "NOAUTH"},
	} {
		fs := backendFindings(t, backendConfig(t, "redis://"+r.Addr, tt.pass))
		if got := strings.Join(ids(fs), " "); got != "backend-login-failed/high" {
			t.Fatalf("password set %v: %q: %+v", tt.pass != "", got, fs)
		}
		if !strings.Contains(fs[0].Evidence, tt.evidence) {
			t.Errorf("evidence %q lacks %q", fs[0].Evidence, tt.evidence)
		}
		noSecret(t, fs, pw)
	}
}

// TestBackendReachable binds a password-less redis-server to the host
// side of a veth pair, so that a peer on another network really reaches
// it: the finding says so, and the missing password is then critical.
func TestBackendReachable(t *testing.T) {
	ns := testutil.NewNetns(t)
	r := testutil.StartRedis(t, "--bind", "127.0.0.1", ns.Host.String(), "--protected-mode", "no")
	_, port, _ := net.SplitHostPort(r.Addr)
	addr := net.JoinHostPort(ns.Host.String(), port)

	// The claim is true: the peer gets PONG without a password.
	c, err := ns.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING from the namespace: %q, %v", line, err)
	}

	for _, url := range []string{"redis://" + r.Addr, "redis://" + addr} {
		fs := backendFindings(t, backendConfig(t, url, ""))
		reach := byID(fs, RuleBackendReachable)
		if len(reach) != 1 || !strings.Contains(reach[0].Evidence, ns.Host.String()) {
			t.Fatalf("%s: reachable %+v\nall %v", url, reach, ids(fs))
		}
		if !hasID(fs, RuleBackendNoPassword, Critical) {
			t.Fatalf("%s: no critical backend-no-password: %v", url, ids(fs))
		}
		t.Logf("%s: %s", url, reach[0].Evidence)
	}
}

// TestManagedOffline: `redoubt scan` of a managed backend it did not
// start probes the socket in the data directory without a password; the
// server passes its running process's target instead.
func TestManagedOffline(t *testing.T) {
	data := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, `
instances:
  - name: default
    data: `+data+`
    backend: managed`)
	fs := backendFindings(t, cfg)
	if got := strings.Join(ids(fs), " "); got != "backend-unverified/info" || !strings.Contains(fs[0].Evidence, "no managed redis-server is running") {
		t.Fatalf("nothing running: %+v", fs)
	}

	sock := filepath.Join(data, managed.SocketName)
	r := testutil.StartRedis(t, "--unixsocket", sock, "--unixsocketperm", "700")
	fs = backendFindings(t, cfg)
	if got := strings.Join(ids(fs), " "); got != "backend-no-password/high backend-unverified/info" {
		t.Fatalf("a password-less server on the socket: %+v", fs)
	}

	// As the server would: the live target, logged in.
	pw := randomPassword(t)
	redisDo(t, r.Addr, []string{"CONFIG", "SET", "requirepass", pw}, []string{"CONFIG", "SET", "port", "0"})
	fs = Run(context.Background(), Options{Config: cfg, Timeout: 2 * time.Second,
		Managed: map[string]upstream.Target{"default": {Network: "unix", Addr: sock, Password: pw}}})
	if got := strings.Join(ids(fs), " "); got != "backend-config-enabled/medium no-password/low" {
		t.Fatalf("the live managed server: %+v", fs)
	}
	noSecret(t, fs, pw)
}
