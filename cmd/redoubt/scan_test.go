package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt/internal/config"
	"redoubt/internal/scan"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// scanRedisDo runs commands on a test's redis-server as its default
// user and fails the test on an error reply.
func scanRedisDo(t *testing.T, addr string, cmds ...[][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	vals, err := upstream.Do(ctx, upstream.Target{Network: "tcp", Addr: addr}, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v.Type == '-' {
			t.Fatalf("%q: %s", cmds[i], v.Str)
		}
	}
}

func scanArgs(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

// runScan runs `redoubt scan` in-process with the backend password in
// REDOUBT_UPSTREAM_PASSWORD.
func runScan(t *testing.T, password string, a ...string) (int, string, string) {
	t.Helper()
	t.Setenv(config.UpstreamPasswordEnv, password)
	var out, errOut bytes.Buffer
	code := run(append([]string{"scan", "--data", filepath.Join(t.TempDir(), "d"), "--admin-listen", "off"}, a...), &out, &errOut)
	if password != "" && strings.Contains(out.String()+errOut.String(), password) {
		t.Fatalf("the output holds the backend's password:\n%s%s", out.String(), errOut.String())
	}
	return code, out.String(), errOut.String()
}

// TestScanCommand runs `redoubt scan --upstream` against a weak real
// redis-server and a hardened one.
func TestScanCommand(t *testing.T) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	pw := hex.EncodeToString(b)

	weak := testutil.StartRedis(t, "--protected-mode", "no", "--enable-debug-command", "yes")
	hard := testutil.StartRedis(t, "--enable-debug-command", "no", "--enable-module-command", "no",
		"--user", "redoubt", "on", ">"+pw, "~*", "&*", "+@all", "-@dangerous", "+info")
	scanRedisDo(t, hard.Addr, scanArgs("ACL", "SETUSER", "default", "off"))

	t.Run("weak", func(t *testing.T) {
		code, out, errOut := runScan(t, "", "--upstream", "redis://"+weak.Addr)
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
		}
		for _, want := range []string{
			"HIGH      backend-no-password         default redis://" + weak.Addr,
			"backend-debug-enabled", "backend-config-enabled", "backend-protected-mode-off",
			"evidence: PING sent without AUTH was answered PONG",
			"remedy:   set requirepass",
			"1 instance scanned in",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// --fail-on critical: the worst here is high.
		if code, out, _ := runScan(t, "", "--upstream", "redis://"+weak.Addr, "--fail-on", "critical"); code != 0 {
			t.Errorf("--fail-on critical: exit %d\n%s", code, out)
		}
	})

	t.Run("weak as JSON", func(t *testing.T) {
		code, out, errOut := runScan(t, "", "--upstream", "redis://"+weak.Addr, "--json")
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
		}
		var got []scan.Finding
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var f scan.Finding
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, f)
		}
		if len(got) == 0 || got[0].Severity != scan.High || !strings.Contains(out, `"severity":"high"`) {
			t.Fatalf("findings %+v", got)
		}
	})

	t.Run("hardened", func(t *testing.T) {
		code, out, errOut := runScan(t, pw, "--upstream", "redis://redoubt@"+hard.Addr)
		if code != 0 {
			t.Fatalf("exit %d, want 0\n%s%s", code, out, errOut)
		}
		if strings.Contains(out, "backend-") && !strings.Contains(out, "backend-unverified") {
			t.Fatalf("backend findings on a hardened backend:\n%s", out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "HIGH") || strings.HasPrefix(line, "CRITICAL") || strings.HasPrefix(line, "MEDIUM") {
				t.Errorf("finding on a hardened setup: %s", line)
			}
		}
		// Only what the restricted account cannot see, as info, and the
		// default instance's own lack of accounts, low on loopback.
		if !strings.Contains(out, "INFO      backend-unverified") || !strings.Contains(out, "LOW       no-password") {
			t.Errorf("output:\n%s", out)
		}
		// --fail-on low fails on that low finding.
		if code, _, _ := runScan(t, pw, "--upstream", "redis://redoubt@"+hard.Addr, "--fail-on", "low"); code != 1 {
			t.Errorf("--fail-on low: exit %d, want 1", code)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		code, out, _ := runScan(t, "wrong-"+pw, "--upstream", "redis://redoubt@"+hard.Addr)
		if code != 1 || !strings.Contains(out, "backend-login-failed") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
}

// TestScanCommandErrors: flags and configuration errors, as the server
// handles them.
func TestScanCommandErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("instances:\n  - name: x\n    listen: 8.8.8.8:6379\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage: redoubt scan"},
		{[]string{"--fail-on", "severe"}, 2, `unknown severity "severe"`},
		{[]string{"--timeout", "0s"}, 2, "--timeout must be positive"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--upstream", "redis://u:secret@127.0.0.1:1"}, 2, "a password in the URL is refused"},
		{[]string{"--config", bad}, 1, "configuration errors"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"scan"}, tt.args...), &out, &errOut); code != tt.code {
			t.Errorf("%q: exit %d, want %d\n%s", tt.args, code, tt.code, errOut.String())
		}
		if !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%q: stderr %q lacks %q", tt.args, errOut.String(), tt.want)
		}
		if strings.Contains(out.String()+errOut.String(), "secret") {
			t.Errorf("%q: output holds the password", tt.args)
		}
	}
}
