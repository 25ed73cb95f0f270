package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"redoubt/internal/config"
	"redoubt/internal/server"
)

// TestUpstreamFlagErrors checks the refusals of --upstream and its
// password flags; none may echo the password.
func TestUpstreamFlagErrors(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.pass")
	tight := filepath.Join(dir, "tight.pass")
	noDefault := filepath.Join(dir, "other.yaml")
	for _, f := range []struct {
		path, data string
		mode       os.FileMode
	}{
		{loose, "secret\n", 0o644},
		{tight, "secret\n", 0o600},
		{noDefault, "instances:\n  - name: other\n    listen: 127.0.0.1:1\n    data: " + filepath.Join(dir, "d") + "\n", 0o600},
	} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f.path, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		args []string
		env  string // REDOUBT_UPSTREAM_PASSWORD
		code int
		want string
	}{
		{"password in url", []string{"--upstream", "redis://u:secret@127.0.0.1:1"}, "", 2,
			"redoubt: --upstream: a password in the URL is refused: the command line is visible to every local user: put the password in --upstream-password-file or REDOUBT_UPSTREAM_PASSWORD"},
		{"password only in url", []string{"--upstream", "rediss://:secret@127.0.0.1"}, "", 2, "the command line is visible to every local user"},
		{"password in bad url", []string{"--upstream", "redis://u:secret@127.0.0.1:port"}, "", 2, "bad backend URL: the port must be"},
		{"not a url", []string{"--upstream", "10.0.0.5:6379"}, "", 2, "--upstream: expected embedded, managed or a URL"},
		{"loose password file", []string{"--upstream", "redis://127.0.0.1:1", "--upstream-password-file", loose}, "", 2, "may be read by group or others (mode 0644)"},
		{"missing password file", []string{"--upstream", "redis://127.0.0.1:1", "--upstream-password-file", filepath.Join(dir, "nope")}, "", 2, "no such file"},
		{"file without upstream", []string{"--upstream-password-file", tight}, "", 2, "--upstream-password-file needs --upstream"},
		{"file and env", []string{"--upstream", "redis://127.0.0.1:1", "--upstream-password-file", tight}, "secret", 2, "both --upstream-password-file and REDOUBT_UPSTREAM_PASSWORD are set"},
		{"file for managed", []string{"--upstream", "managed", "--upstream-password-file", tight}, "", 2, "does not apply to a managed backend"},
		{"no default instance", []string{"--config", noDefault, "--upstream", "managed"}, "", 1, `--upstream applies to the instance named "default" and the configuration has none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(config.UpstreamPasswordEnv, tt.env)
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.want)
			}
			if strings.Contains(out.String()+errOut.String(), "secret") {
				t.Errorf("the password is echoed: %s", errOut.String())
			}
		})
	}
}

// TestUpstreamPasswordRefusedBinary runs the real binary with a password
// in --upstream: it must exit 2 before it starts, without the password.
func TestUpstreamPasswordRefusedBinary(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--upstream", "redis://u:secret@127.0.0.1:1", "--data", filepath.Join(t.TempDir(), "d"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "the command line is visible to every local user") {
		t.Errorf("output lacks the reason: %s", out)
	}
	if strings.Contains(string(out), "secret") {
		t.Errorf("output holds the password: %s", out)
	}
}

// TestUpstreamHelp checks that --help names the upstream flags and the
// password variable.
func TestUpstreamHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"--upstream ", "--upstream-password-file", config.UpstreamPasswordEnv, "--upstream managed"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestUpstreamBackendOptions checks the mapping of a configured backend
// to the server's options, flags included.
func TestUpstreamBackendOptions(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		yaml     string   // "" : no --config
		flags    []string // --upstream, --upstream-password-file
		kind     server.BackendKind
		target   string
		password string
		pool     int
		maxReply int64
	}{
		{name: "default", kind: server.BackendEmbedded},
		{name: "flag url", flags: []string{"redis://app@10.0.0.5:6380/1", pass}, kind: server.BackendRedis, target: "redis://app@10.0.0.5:6380/1", password: "pw"},
		{name: "flag managed", flags: []string{"managed", ""}, kind: server.BackendManaged},
		{name: "file", yaml: "    backend:\n      url: unix:///run/r.sock\n      password_file: " + pass + "\n      pool_size: 3\n      max_reply_size: 1mb\n",
			kind: server.BackendRedis, target: "unix:///run/r.sock", password: "pw", pool: 3, maxReply: 1 << 20},
		{name: "flag over file", yaml: "    backend: managed\n", flags: []string{"rediss://h", ""}, kind: server.BackendRedis, target: "rediss://h:6379"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			if tt.yaml != "" {
				var err error
				cfg, err = config.Parse("c.yaml", []byte("instances:\n  - name: default\n    data: "+filepath.Join(dir, "d")+"\n"+tt.yaml))
				if err != nil {
					t.Fatal(err)
				}
			}
			var b *config.Backend
			if tt.flags != nil {
				var err error
				if b, err = config.FlagBackend(tt.flags[0], tt.flags[1], ""); err != nil {
					t.Fatal(err)
				}
			}
			empty := ""
			sf := &serverFlags{listen: &empty, data: &empty, adminListen: &empty, backend: b}
			if err := sf.override(cfg, "c.yaml"); err != nil {
				t.Fatal(err)
			}
			got := serverBackend(cfg.Instances[0].Backend)
			target := ""
			if got.Kind == server.BackendRedis {
				target = got.Target.String()
			}
			if got.Kind != tt.kind || target != tt.target || got.Target.Password != tt.password || got.Pool != tt.pool || got.MaxReply != tt.maxReply {
				t.Errorf("got %s %q pool %d max reply %d (password as expected: %v)", got.Kind, target, got.Pool, got.MaxReply, got.Target.Password == tt.password)
			}
		})
	}
}
