package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/config"
	"redoubt/internal/testutil"
)

// TestHelpDocumentsEverything checks that --help names every flag and
// every configuration key.
func TestHelpDocumentsEverything(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	help := errOut.String()
	for _, want := range []string{"--listen", "--data", "--config", "--log-level", "--threads", "--help"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %s", want)
		}
	}
	for _, k := range config.Keys() {
		if !strings.Contains(help, k[0]) {
			t.Errorf("--help lacks config key %s", k[0])
		}
	}
}

func TestThreadCount(t *testing.T) {
	tests := []struct {
		flag       int
		env        string
		cpus, want int
	}{
		{0, "", 2, 1}, {0, "", 1, 1}, {0, "", 16, 8}, {3, "", 16, 3}, {0, "6", 16, 6}, {2, "6", 16, 2}, {0, "x", 4, 2},
	}
	for _, tt := range tests {
		if got := threadCount(tt.flag, tt.env, tt.cpus); got != tt.want {
			t.Errorf("threadCount(%d, %q, %d) = %d, want %d", tt.flag, tt.env, tt.cpus, got, tt.want)
		}
	}
}

func TestConfigErrorStopsStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("instances:\n  - name: a\n    listen: 127.0.0.1:1\n    bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--config", path}, &out, &errOut); code == 0 {
		t.Fatal("started with a bad config")
	}
	if !strings.Contains(errOut.String(), "bad.yaml:4: unknown instance key \"bogus\"") {
		t.Fatalf("error lacks the line: %s", errOut.String())
	}
}

// TestSignalShutdown builds the binary, starts it, serves a command and
// checks that SIGTERM ends it with exit status 0.
func TestSignalShutdown(t *testing.T) {
	bin := buildBinary(t)
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	dataDir := filepath.Join(t.TempDir(), "d")
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--listen", addr, "--data", dataDir)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	testutil.WaitFor(t, 10*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	fi, err := os.Stat(dataDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v %v", fi, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15 s after SIGTERM")
	}
}

// buildBinary builds redoubt for tests that run the real binary; they are
// skipped with -short.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "redoubt")
	testutil.Run(t, "go", "build", "-o", bin, ".")
	return bin
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
