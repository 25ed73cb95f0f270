package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt/internal/auth"
	"redoubt/internal/totp"
)

func testHash(t *testing.T) string {
	t.Helper()
	h, err := auth.HashPassword([]byte("Correct-Horse-9"), auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSecurityValid(t *testing.T) {
	h := testHash(t)
	secretFile := filepath.Join(t.TempDir(), "totp")
	if err := os.WriteFile(secretFile, []byte(totp.EncodeSecret(totp.NewSecret())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("c.yaml", []byte(`
instances:
  - name: lan
    listen: 10.1.2.3:6379
    strict_resp: false
    allowlist:
      office: [10.1.0.0/16, "::ffff:192.168.1.7"]
      ci: 10.9.9.9
    bans: {attempts: 5, window: 1m, duration: 1h}
    maxclients: 500
    max_per_address: 20
    auth_timeout: 5s
    idle_timeout: 300
    disabled_commands: [flushall, keys, "config get"]
    enabled_commands: [monitor]
    accounts:
      - name: default
        password_hash: "`+h+`"
        role: read-write
        stepup: [flushdb]
        totp_secret_file: `+secretFile+`
      - name: reports
        password_hash: ["`+h+`"]
        rules: "~report:* -@all +@read"
`))
	if err != nil {
		t.Fatal(err)
	}
	inst := cfg.Instances[0]
	if inst.StrictRESP || inst.Bans.Attempts != 5 || inst.Bans.Window != time.Minute || inst.Bans.Duration != time.Hour ||
		inst.MaxClients != 500 || inst.PerAddress != 20 || inst.AuthTimeout != 5*time.Second || inst.IdleTimeout != 300*time.Second {
		t.Fatalf("scalars: %+v", inst)
	}
	if len(inst.Allowlist.Groups()) != 2 {
		t.Fatalf("allowlist groups: %+v", inst.Allowlist.Groups())
	}
	if strings.Join(inst.Disabled, ",") != "flushall,keys,config|get" || strings.Join(inst.Enabled, ",") != "monitor" {
		t.Fatalf("commands: %v %v", inst.Disabled, inst.Enabled)
	}
	if len(inst.Accounts) != 2 || len(inst.Accounts[0].Hashes) != 1 || inst.Accounts[0].TOTP == nil || inst.Accounts[1].User.Name != "reports" {
		t.Fatalf("accounts: %+v", inst.Accounts)
	}
	if !inst.Accounts[0].User.Enabled {
		t.Fatal("accounts are on unless their rules say off")
	}
}

// TestSecurityErrors: every mistake is reported with its line, and the
// rules of exposure refuse unsafe instances.
func TestSecurityErrors(t *testing.T) {
	h := testHash(t)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain password in rules", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    accounts:\n      - name: u\n        rules: \">secret123 +@all\"\n",
			[]string{"c.yaml:6:", "redoubt passwd"}},
		{"plain password key", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    accounts:\n      - name: u\n        password: hunter2\n",
			[]string{"c.yaml:6: a plain password may not be stored"}},
		{"bad hash", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    accounts:\n      - name: u\n        password_hash: abc\n",
			[]string{"c.yaml:6: password_hash"}},
		{"bad rule", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    accounts:\n      - name: u\n        rules: \"+@all frobnicate\"\n",
			[]string{"c.yaml:6:", "frobnicate"}},
		{"bad allowlist entry", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    allowlist:\n      office:\n        - 10.0.0.0/8\n        - 10.0.0.300\n",
			[]string{"c.yaml:7: allowlist", "10.0.0.300"}},
		{"unknown command", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    disabled_commands: [flushal]\n",
			[]string{"c.yaml:4: unknown command \"flushal\""}},
		{"bad duration", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    auth_timeout: soon\n",
			[]string{"c.yaml:4: expected a duration"}},
		{"public address", "instances:\n  - name: a\n    listen: 0.0.0.0:6379\n",
			[]string{"c.yaml:2:", "declare public: true"}},
		{"public without TLS", "instances:\n  - name: a\n    public: true\n    listen: 8.8.8.8:6379\n    accounts:\n      - name: default\n        password_hash: \"" + h + "\"\n",
			[]string{"must use TLS"}},
		{"private without password", "instances:\n  - name: a\n    listen: 192.168.1.5:6379\n",
			[]string{"needs an enabled account with a password"}},
		{"private with nopass default", "instances:\n  - name: a\n    listen: 192.168.1.5:6379\n    accounts:\n      - name: default\n        rules: nopass\n      - name: b\n        password_hash: \"" + h + "\"\n",
			[]string{"account \"default\" has no password"}},
		{"host name", "instances:\n  - name: a\n    listen: redis.example:6379\n",
			[]string{"redis.example"}},
		{"stepup without totp", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    accounts:\n      - name: u\n        rules: nopass\n        stepup: [flushall]\n",
			[]string{"stepup needs a totp_secret_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "secret123") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

// TestLoopbackNeedsNoPassword: like Redis's protected mode, a loopback or
// unix-socket instance may run without accounts; --listen to a private
// address then needs one.
func TestLoopbackNeedsNoPassword(t *testing.T) {
	cfg := Default()
	if err := cfg.Finish("flags"); err != nil {
		t.Fatal(err)
	}
	cfg.Override("10.0.0.5:6379", "")
	if err := cfg.Finish("flags"); err == nil || !strings.Contains(err.Error(), "needs an enabled account") {
		t.Fatalf("private --listen without a password: %v", err)
	}
}
