package managed

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out  string
		want version
		err  bool
	}{
		{"Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n", version{7, 0, 15}, false},
		{"Redis server v=5.0.14 sha=00000000:0 malloc=libc bits=64 build=1", version{5, 0, 14}, false},
		{"Valkey server v=8.1.0 sha=0", version{8, 1, 0}, false},
		{"Redis server v=7.x.1", version{}, true},
		{"Redis server v=7.0", version{}, true},
		{"hello", version{}, true},
		{"", version{}, true},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.out)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseVersion(%q) = %v, %v", tt.out, got, err)
		}
	}
}

// The configuration follows what each release understands: an unknown
// directive or ACL rule would stop the server.
func TestConfigByVersion(t *testing.T) {
	const pw = "0123456789abcdef"
	tests := []struct {
		v        version
		has, not []string
	}{
		{version{5, 0, 14},
			[]string{"requirepass " + pw, `rename-command config ""`, `rename-command replicaof ""`, `rename-command module ""`},
			[]string{"user default", "acl", "failover", "client|pause", "sanitize-dump-payload", "enable-debug-command"}},
		{version{6, 0, 16},
			[]string{"user default reset on >" + pw + " ~* +@all -config -debug", "-acl -cluster\n"},
			[]string{"requirepass", "rename-command", "&*", "-failover", "client|pause", "sanitize-dump-payload", "enable-"}},
		{version{6, 2, 14},
			[]string{"~* &* +@all", "-failover", "sanitize-dump-payload clients"},
			[]string{"requirepass", "client|pause", "enable-"}},
		{version{7, 0, 15},
			[]string{"-shutdown -failover -acl -cluster -client|pause\n", "enable-protected-configs no",
				"enable-debug-command no", "enable-module-command no"},
			[]string{"requirepass", "rename-command"}},
	}
	o := Options{Dir: "/srv/redoubt/i 1", Databases: 4, MaxMemory: 1 << 30, MaxMemoryPolicy: "allkeys-lru", AppendFsync: "always", AppendOnly: true}
	common := []string{"port 0\n", "unixsocket \"redis.sock\"\n", "unixsocketperm 700\n", `dir "/srv/redoubt/i 1"` + "\n",
		"protected-mode yes\n", "daemonize no\n", "supervised no\n", "logfile \"\"\n", "save \"\"\n", "appendonly yes\n",
		"appendfsync always\n", "databases 4\n", "maxmemory 1073741824\n", "maxmemory-policy allkeys-lru\n"}
	for _, tt := range tests {
		t.Run(tt.v.String(), func(t *testing.T) {
			conf := config(o, tt.v, pw)
			for _, s := range append(common, tt.has...) {
				if !strings.Contains(conf, s) {
					t.Errorf("no %q in\n%s", s, conf)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(conf, s) {
					t.Errorf("%q in\n%s", s, conf)
				}
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/srv/redoubt/a", `"/srv/redoubt/a"`},
		{"with space", `"with space"`},
		{`say "hi"`, `"say \"hi\""`},
		{`back\slash`, `"back\\slash"`},
		{"new\nline", `"new\x0aline"`},
		{"é", `"\xc3\xa9"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for d := minBackoff; len(got) < 9; d = nextBackoff(d) {
		got = append(got, d)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("back-off %v, want %v ms", got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	const pw = "0123456789abcdef"
	tests := []struct {
		line string
		cut  bool
		want string
	}{
		{"Ready to accept connections", false, "Ready to accept connections"},
		{">>> 'user default on >" + pw + " ~*'", false, ">>> 'user default on >" + redacted + " ~*'"},
		{pw + pw, false, redacted + redacted},
		{"line cut in >01234567", true, "line cut in >" + redacted},
		{"not cut >01234567", false, "not cut >01234567"},
	}
	for _, tt := range tests {
		if got := redact(tt.line, pw, tt.cut); got != tt.want {
			t.Errorf("redact(%q, %v) = %q, want %q", tt.line, tt.cut, got, tt.want)
		}
	}
}

// Long lines are cut, without showing the password across the cut; the
// tail keeps the last lines.
func TestOutput(t *testing.T) {
	const pw = "0123456789abcdef"
	long := strings.Repeat("x", maxLineBytes-4) + pw + strings.Repeat("y", 3*maxLineBytes)
	var in strings.Builder
	in.WriteString(long + "\n")
	for i := range tailLines + 5 {
		in.WriteString("line " + itoa(i) + "\r\n")
	}
	in.WriteString("no newline at the end")
	logs := &logBuffer{}
	o := newOutput(logs.logger(), 42, pw)
	o.run(io.NopCloser(strings.NewReader(in.String())))
	if s := logs.String(); strings.Contains(s, pw[:4]) || !strings.Contains(s, "redis-server=42") {
		t.Errorf("logs:\n%.300s", s)
	}
	lines := strings.Split(o.last(tailWait), "\n")
	if len(lines) != tailLines || lines[0] != "line 6" || lines[tailLines-1] != "no newline at the end" {
		t.Errorf("tail: %q", lines)
	}
}
