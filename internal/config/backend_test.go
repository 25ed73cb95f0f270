package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// backendFiles makes the files the backend tests name: password files of
// several modes, TLS files and a fake redis-server. It returns a replacer
// for "$DIR" in the test's YAML.
func backendFiles(t *testing.T) (dir string, r *strings.Replacer) {
	t.Helper()
	dir = t.TempDir()
	ca := testutil.NewCA(t, "backend CA")
	cert, key := ca.Issue(t, testutil.CertSpec{CN: "redoubt", Serial: 2, Client: true})
	files := []struct {
		name string
		data string
		mode os.FileMode
	}{
		{"pass", "hunter2\r\nsecond line\n", 0o600},
		{"pass.ro", "hunter2", 0o400},
		{"pass.group", "hunter2\n", 0o640},
		{"pass.world", "hunter2\n", 0o604},
		{"pass.empty", "\nhunter2\n", 0o600},
		{"ca.pem", string(ca.PEM), 0o644},
		{"client.pem", string(cert), 0o644},
		{"client.key", string(key), 0o600},
		{"junk.pem", "not a certificate", 0o644},
		{"redis-server", "#!/bin/sh\n", 0o755},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir, strings.NewReplacer("$DIR", dir)
}

// instanceYAML wraps backend lines (indented as instance keys) into a
// configuration whose backend key is on line 4.
func instanceYAML(backend string) string {
	return "instances:\n  - name: a\n    listen: 127.0.0.1:7001\n" + backend
}

func TestParseBackend(t *testing.T) {
	dir, r := backendFiles(t)
	t.Setenv("TEST_BACKEND_PASSWORD", "from-env")
	tests := []struct {
		name, yaml string
		want       Backend // Target compared by String, Username and Password
	}{
		{"absent", "", Backend{Kind: BackendEmbedded}},
		{"embedded", "    backend: embedded\n", Backend{Kind: BackendEmbedded, Line: 4}},
		{"managed", "    backend: managed\n", Backend{Kind: BackendManaged, Line: 4}},
		{"url", "    backend: redis://app@10.0.0.5:6379/2\n",
			Backend{Kind: BackendRedis, Target: target(t, "redis://app@10.0.0.5:6379/2"), Line: 4}},
		{"url with password", "    backend: redis://app:pw@10.0.0.5\n",
			Backend{Kind: BackendRedis, Target: target(t, "redis://app:pw@10.0.0.5"), Line: 4}},
		{"mapping, type from url", "    backend:\n      url: unix:///run/redis.sock?db=1\n      pool_size: 4\n      max_reply_size: 64mb\n",
			Backend{Kind: BackendRedis, Target: target(t, "unix:///run/redis.sock?db=1"), Pool: 4, MaxReply: 64 << 20, Line: 4}},
		{"password_file", "    backend:\n      type: redis\n      url: redis://app@h\n      password_file: $DIR/pass\n",
			Backend{Kind: BackendRedis, Target: target(t, "redis://app:hunter2@h"), Line: 4}},
		{"read-only password_file", "    backend:\n      url: redis://h\n      password_file: $DIR/pass.ro\n",
			Backend{Kind: BackendRedis, Target: target(t, "redis://:hunter2@h"), Line: 4}},
		{"password_env", "    backend:\n      url: redis://h\n      password_env: TEST_BACKEND_PASSWORD\n",
			Backend{Kind: BackendRedis, Target: target(t, "redis://:from-env@h"), Line: 4}},
		{"managed mapping", "    backend:\n      type: managed\n      pool_size: 16\n      max_reply_size: 4gb\n      redis_server: $DIR/redis-server\n",
			Backend{Kind: BackendManaged, Pool: 16, MaxReply: 4 << 30, RedisServer: filepath.Join(dir, "redis-server"), Line: 4}},
		{"embedded mapping", "    backend:\n      type: embedded\n", Backend{Kind: BackendEmbedded, Line: 4}},
		{"managed keeps the data keys", "    backend: managed\n    appendonly: false\n    maxmemory: 1gb\n", Backend{Kind: BackendManaged, Line: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("c.yaml", []byte(instanceYAML(r.Replace(tt.yaml))))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Instances[0].Backend
			if got.Target.String() != tt.want.Target.String() || got.Target.Username != tt.want.Target.Username ||
				got.Target.Password != tt.want.Target.Password || got.Target.Network != tt.want.Target.Network {
				t.Errorf("target %s (user %q), want %s (user %q), or the password differs",
					got.Target, got.Target.Username, tt.want.Target, tt.want.Target.Username)
			}
			got.Target, tt.want.Target = tt.want.Target, got.Target
			if got.Kind != tt.want.Kind || got.Pool != tt.want.Pool || got.MaxReply != tt.want.MaxReply ||
				got.RedisServer != tt.want.RedisServer || got.Line != tt.want.Line {
				t.Errorf("kind %s pool %d max reply %d redis-server %q line %d, want %s %d %d %q %d",
					got.Kind, got.Pool, got.MaxReply, got.RedisServer, got.Line,
					tt.want.Kind, tt.want.Pool, tt.want.MaxReply, tt.want.RedisServer, tt.want.Line)
			}
		})
	}
}

// TestParseClusterBackend: a cluster's seeds all carry the configured
// credentials and TLS settings.
func TestParseClusterBackend(t *testing.T) {
	_, r := backendFiles(t)
	tests := []struct {
		name, yaml string
		seeds      []string
		user, pass string
		tls        bool
	}{
		{"url", "    backend: redis-cluster://10.0.0.5:7000,10.0.0.6\n", []string{"10.0.0.5:7000", "10.0.0.6:6379"}, "", "", false},
		{"mapping with file", "    backend:\n      url: redis-cluster://app@10.0.0.5:7000,[::1]:7001\n      password_file: $DIR/pass\n      pool_size: 3\n",
			[]string{"10.0.0.5:7000", "[::1]:7001"}, "app", "hunter2", false},
		{"type and tls", "    backend:\n      type: cluster\n      url: rediss-cluster://n1:7000,n2:7000\n      tls:\n        ca_file: $DIR/ca.pem\n        server_name: cache.internal\n",
			[]string{"n1:7000", "n2:7000"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("c.yaml", []byte(instanceYAML(r.Replace(tt.yaml))))
			if err != nil {
				t.Fatal(err)
			}
			b := cfg.Instances[0].Backend
			if b.Kind != BackendCluster || len(b.Seeds) != len(tt.seeds) {
				t.Fatalf("kind %s, %d seeds", b.Kind, len(b.Seeds))
			}
			for i, s := range b.Seeds {
				if s.Addr != tt.seeds[i] || s.Username != tt.user || s.Password != tt.pass || (s.TLS != nil) != tt.tls {
					t.Errorf("seed %d: %s user %q tls %v, or the password differs", i, s, s.Username, s.TLS != nil)
				}
				if tt.tls && (s.TLS.RootCAs == nil || s.TLS.ServerName != "cache.internal") {
					t.Errorf("seed %d: the tls block was not applied", i)
				}
			}
		})
	}
	bad := []struct{ name, yaml, want string }{
		{"cluster needs nodes", "    backend: cluster\n", "backend: a cluster backend needs its nodes"},
		{"db in a cluster url", "    backend: redis-cluster://h:7000/1\n", "a cluster URL is a list of host:port"},
		{"cluster type, plain url", "    backend:\n      type: cluster\n      url: redis://h\n", "a cluster backend needs a redis-cluster:// or rediss-cluster:// URL"},
		{"redis type, cluster url", "    backend:\n      type: redis\n      url: redis-cluster://h\n", "a redis backend needs a redis://, rediss:// or unix:// URL"},
		{"cluster without url", "    backend:\n      type: cluster\n", "backend: a cluster backend needs a url"},
		{"cluster with redis_server", "    backend:\n      url: redis-cluster://h\n      redis_server: /bin/true\n", "redis_server does not apply to a cluster backend"},
		{"bad port, password", "    backend: redis-cluster://u:hunter2@h:1,h:0\n", "the port must be a number"},
		{"empty node", "    backend: redis-cluster://h:1,,h:2\n", "the host is empty"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(instanceYAML(r.Replace(tt.yaml))))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

func (b *Backend) seedsOrNil() []upstream.Target {
	if b == nil {
		return nil
	}
	return b.Seeds
}

func target(t *testing.T, raw string) upstream.Target {
	t.Helper()
	b, err := ParseBackend(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b.Target
}

// TestParseBackendErrors checks each rule's error, at its line, and that
// no error holds the password.
func TestParseBackendErrors(t *testing.T) {
	_, r := backendFiles(t)
	t.Setenv("TEST_BACKEND_EMPTY", "")
	tests := []struct{ name, yaml, want string }{
		{"bare redis", "    backend: redis\n", "c.yaml:4: backend: a redis backend needs its URL"},
		{"unknown word", "    backend: bogus\n", "c.yaml:4: backend: expected embedded, managed or a URL"},
		{"bad url, password", "    backend: redis://u:hunter2@h:99999\n", "c.yaml:4: backend: expected embedded, managed or a URL: bad backend URL: the port must be"},
		{"list", "    backend: [managed]\n", "c.yaml:4: backend must be embedded, managed, a URL or a mapping"},
		{"bad type", "    backend:\n      type: memcached\n", "c.yaml:5: backend type must be embedded, redis, managed or cluster"},
		{"bad url in mapping", "    backend:\n      url: redis://u:hunter2@h/x\n", "c.yaml:5: backend url: bad backend URL: the database must be"},
		{"unknown key", "    backend:\n      url: redis://h\n      colour: red\n", `c.yaml:6: unknown backend key "colour"`},
		{"redis without url", "    backend:\n      type: redis\n      pool_size: 2\n", "c.yaml:5: backend: a redis backend needs a url"},
		{"managed with url", "    backend:\n      type: managed\n      url: redis://h\n", "c.yaml:6: backend: url does not apply to a managed backend (Redoubt starts"},
		{"managed with password", "    backend:\n      type: managed\n      password_env: HOME\n", "c.yaml:6: backend: password_env does not apply to a managed backend"},
		{"managed with tls", "    backend:\n      type: managed\n      tls:\n        ca_file: x\n", "c.yaml:6: backend: tls does not apply to a managed backend"},
		{"embedded with pool", "    backend:\n      type: embedded\n      pool_size: 2\n", "c.yaml:6: backend: pool_size does not apply to an embedded backend"},
		{"embedded with url", "    backend:\n      type: embedded\n      url: redis://h\n", "c.yaml:6: backend: url does not apply to an embedded backend (set type: redis"},
		{"redis with redis_server", "    backend:\n      url: redis://h\n      redis_server: /bin/true\n", "c.yaml:6: backend: redis_server does not apply to a redis backend"},
		{"pool too small", "    backend:\n      url: redis://h\n      pool_size: 0\n", "c.yaml:6: expected a whole number from 1 to 16"},
		{"pool too big", "    backend:\n      url: redis://h\n      pool_size: 17\n", "c.yaml:6: expected a whole number from 1 to 16"},
		{"reply too small", "    backend:\n      url: redis://h\n      max_reply_size: 1k\n", "c.yaml:6: max_reply_size must be from 1kb to 4gb"},
		{"reply too big", "    backend:\n      url: redis://h\n      max_reply_size: 5gb\n", "c.yaml:6: max_reply_size must be from 1kb to 4gb"},
		{"reply not a size", "    backend:\n      url: redis://h\n      max_reply_size: lots\n", `c.yaml:6: expected a size such as 100mb, got "lots"`},
		{"file and env", "    backend:\n      url: redis://h\n      password_file: $DIR/pass\n      password_env: HOME\n", "c.yaml:7: backend: password_file and password_env are exclusive"},
		{"url password and file", "    backend:\n      url: redis://:hunter2@h\n      password_file: $DIR/pass\n", "c.yaml:6: backend: the url already holds a password"},
		{"url password and env", "    backend:\n      url: redis://:hunter2@h\n      password_env: HOME\n", "c.yaml:6: backend: the url already holds a password"},
		{"group-readable file", "    backend:\n      url: redis://h\n      password_file: $DIR/pass.group\n", "pass.group may be read by group or others (mode 0640): chmod 600 it"},
		{"world-readable file", "    backend:\n      url: redis://h\n      password_file: $DIR/pass.world\n", "c.yaml:6: backend password_file: $DIR/pass.world may be read by group or others (mode 0604)"},
		{"empty first line", "    backend:\n      url: redis://h\n      password_file: $DIR/pass.empty\n", "c.yaml:6: backend password_file: $DIR/pass.empty holds no password on its first line"},
		{"missing file", "    backend:\n      url: redis://h\n      password_file: $DIR/nope\n", "c.yaml:6: backend password_file: open $DIR/nope: no such file"},
		{"directory", "    backend:\n      url: redis://h\n      password_file: $DIR\n", "c.yaml:6: backend password_file: $DIR is not a regular file"},
		{"unset env", "    backend:\n      url: redis://h\n      password_env: TEST_BACKEND_UNSET_VARIABLE\n", `c.yaml:6: backend password_env: the environment variable "TEST_BACKEND_UNSET_VARIABLE" is unset or empty`},
		{"empty env", "    backend:\n      url: redis://h\n      password_env: TEST_BACKEND_EMPTY\n", `c.yaml:6: backend password_env: the environment variable "TEST_BACKEND_EMPTY" is unset or empty`},
		{"tls without rediss", "    backend:\n      url: redis://h\n      tls:\n        ca_file: $DIR/ca.pem\n", "c.yaml:7: backend tls needs a rediss:// or rediss-cluster:// url"},
		{"tls not a mapping", "    backend:\n      url: rediss://h\n      tls: yes\n", "c.yaml:6: backend tls must be a mapping"},
		{"missing ca", "    backend:\n      url: rediss://h\n      tls:\n        ca_file: $DIR/nope.pem\n", "c.yaml:7: backend tls ca_file: open $DIR/nope.pem"},
		{"ca not pem", "    backend:\n      url: rediss://h\n      tls:\n        ca_file: $DIR/junk.pem\n", "c.yaml:7: backend tls ca_file $DIR/junk.pem holds no PEM certificate"},
		{"cert without key", "    backend:\n      url: rediss://h\n      tls:\n        cert_file: $DIR/client.pem\n", "c.yaml:7: backend tls cert_file needs key_file"},
		{"key without cert", "    backend:\n      url: rediss://h\n      tls:\n        key_file: $DIR/client.key\n", "c.yaml:7: backend tls key_file needs cert_file"},
		{"bad pair", "    backend:\n      url: rediss://h\n      tls:\n        cert_file: $DIR/junk.pem\n        key_file: $DIR/client.key\n", "c.yaml:7: backend tls cert_file/key_file:"},
		{"unknown tls key", "    backend:\n      url: rediss://h\n      tls:\n        verify: false\n", `c.yaml:7: unknown backend tls key "verify"`},
		{"empty server name", "    backend:\n      url: rediss://h\n      tls:\n        server_name: \"\"\n", "c.yaml:7: backend tls server_name is empty"},
		{"missing redis-server", "    backend:\n      type: managed\n      redis_server: $DIR/nope\n", "c.yaml:6: backend redis_server:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(instanceYAML(r.Replace(tt.yaml))))
			if err == nil {
				t.Fatal("no error")
			}
			if want := r.Replace(tt.want); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

func TestBackendTLSFiles(t *testing.T) {
	_, r := backendFiles(t)
	cfg, err := Parse("c.yaml", []byte(instanceYAML(r.Replace(`    backend:
      url: rediss://app@10.0.0.5:6380
      password_file: $DIR/pass
      tls:
        ca_file: $DIR/ca.pem
        cert_file: $DIR/client.pem
        key_file: $DIR/client.key
        server_name: redis.internal
`))))
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Instances[0].Backend.Target.TLS
	switch {
	case tc == nil:
		t.Fatal("no TLS")
	case tc.RootCAs == nil:
		t.Error("ca_file not loaded")
	case len(tc.Certificates) != 1:
		t.Error("client certificate not loaded")
	case tc.ServerName != "redis.internal":
		t.Errorf("server name %q", tc.ServerName)
	}
	// Without a tls block: the system roots and the URL's host.
	cfg, err = Parse("c.yaml", []byte(instanceYAML("    backend: rediss://redis.example.com\n")))
	if err != nil {
		t.Fatal(err)
	}
	if tc := cfg.Instances[0].Backend.Target.TLS; tc == nil || tc.RootCAs != nil || tc.ServerName != "redis.example.com" {
		t.Errorf("default TLS: %v", tc != nil)
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data string
		mode       os.FileMode
		want, err  string
	}{
		{"plain", "pw", 0o600, "pw", ""},
		{"newline", "pw\n", 0o600, "pw", ""},
		{"crlf and more lines", "pw\r\nnext\n", 0o400, "pw", ""},
		{"spaces kept", " p w \n", 0o600, " p w ", ""},
		{"group read", "pw", 0o640, "", "may be read by group or others (mode 0640)"},
		{"group write", "pw", 0o620, "", "(mode 0620)"},
		{"others read", "pw", 0o604, "", "(mode 0604)"},
		{"empty", "", 0o600, "", "holds no password"},
		{"empty first line", "\r\npw", 0o600, "", "holds no password"},
		{"too big", strings.Repeat("x", maxPasswordBytes+1), 0o600, "", "larger than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := ReadPasswordFile(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error %q holds the content", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFlagBackend(t *testing.T) {
	dir, r := backendFiles(t)
	tests := []struct {
		name, upstream, file, env string
		want                      string // Kind and Target.String(), or the error
		password                  string
	}{
		{"none", "", "", "ignored", "<nil>", ""},
		{"file without upstream", "", "$DIR/pass", "", "--upstream-password-file needs --upstream", ""},
		{"managed", "managed", "", "ignored", "managed ", ""},
		{"embedded", "embedded", "", "", "embedded ", ""},
		{"url", "redis://app@10.0.0.5:6379/1", "", "", "redis redis://app@10.0.0.5:6379/1", ""},
		{"env", "redis://10.0.0.5", "", "envpw", "redis redis://10.0.0.5:6379", "envpw"},
		{"file", "rediss://h:6380", "$DIR/pass", "", "redis rediss://h:6380", "hunter2"},
		{"password in url", "redis://u:secret@127.0.0.1:1", "", "", "a password in the URL is refused: the command line is visible to every local user: put the password in --upstream-password-file or REDOUBT_UPSTREAM_PASSWORD", ""},
		{"password in bad url", "redis://u:secret@127.0.0.1:x", "", "", "--upstream: expected embedded, managed or a URL: bad backend URL: the port must be", ""},
		{"file and env", "redis://h", "$DIR/pass", "envpw", "both --upstream-password-file and REDOUBT_UPSTREAM_PASSWORD are set", ""},
		{"file for managed", "managed", "$DIR/pass", "", "--upstream-password-file does not apply to a managed backend", ""},
		{"loose file", "redis://h", "$DIR/pass.world", "", "--upstream-password-file: " + dir + "/pass.world may be read by group or others", ""},
		{"bare redis", "redis", "", "", "--upstream: a redis backend needs its URL", ""},
		{"cluster", "redis-cluster://10.0.0.5:7000,10.0.0.6:7000", "$DIR/pass", "", "cluster ", "hunter2"},
		{"cluster, password in url", "redis-cluster://:secret@10.0.0.5:7000", "", "", "a password in the URL is refused", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := FlagBackend(tt.upstream, r.Replace(tt.file), tt.env)
			got := "<nil>"
			switch {
			case err != nil:
				got = err.Error()
			case b != nil:
				got = b.Kind + " "
				if b.Kind == BackendRedis {
					got += b.Target.String()
				}
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "secret") || strings.Contains(got, "hunter2") {
				t.Errorf("%q holds the password", got)
			}
			if b != nil && b.Target.Password != tt.password {
				t.Errorf("password not from the expected source")
			}
			for _, seed := range b.seedsOrNil() {
				if seed.Password != tt.password {
					t.Errorf("seed %s: password not from the expected source", seed)
				}
			}
		})
	}
}

func TestOverrideBackend(t *testing.T) {
	b := Backend{Kind: BackendManaged}
	cfg := Default()
	if err := cfg.OverrideBackend(b); err != nil || cfg.Instances[0].Backend.Kind != BackendManaged {
		t.Fatalf("default: %v %s", err, cfg.Instances[0].Backend.Kind)
	}
	cfg, err := Parse("c.yaml", []byte("instances:\n  - name: other\n    listen: 127.0.0.1:7001\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.OverrideBackend(b); err == nil || !strings.Contains(err.Error(), `instance named "default"`) {
		t.Fatalf("no default instance: %v", err)
	}
	// --listen adds the default instance; --upstream then applies to it.
	cfg.Override("127.0.0.1:7002", "")
	if err := cfg.OverrideBackend(b); err != nil || cfg.Instances[1].Backend.Kind != BackendManaged {
		t.Fatalf("added default: %v", err)
	}
}
