package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/auth"
	"redoubt/internal/testutil"
)

func pipeWith(t *testing.T, input string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(input); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { r.Close() })
	return r
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPasswd(t *testing.T) {
	const strong = "Tr0ub4dor&3-horse"
	var out, errOut bytes.Buffer
	if code := passwd([]string{"--stdin"}, pipeWith(t, strong+"\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	h, err := auth.ParseHash(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("output is not a hash: %q: %v", out.String(), err)
	}
	if !h.Verify([]byte(strong)) || h.Verify([]byte(strong+"x")) {
		t.Fatal("hash does not verify the password")
	}
	for _, weak := range []string{"short1A!", "alllowercaseletters", ""} {
		out.Reset()
		errOut.Reset()
		if code := passwd([]string{"--stdin"}, pipeWith(t, weak+"\n"), &out, &errOut); code == 0 {
			t.Fatalf("weak password %q accepted", weak)
		}
		if weak != "" && strings.Contains(errOut.String()+out.String(), weak) {
			t.Fatalf("the password is echoed: %q", errOut.String())
		}
	}
}

// rawPing sends PING over RESP from a local address and reports the reply,
// or "" when the server closed the connection.
func rawPing(t *testing.T, from, addr string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return ""
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	return string(buf[:n])
}

// TestSIGHUPReload runs the built binary with an allowlist, changes the
// file, sends SIGHUP and checks that the new allowlist applies without a
// restart while a connection from an address still allowed stays open.
func TestSIGHUPReload(t *testing.T) {
	bin := buildBinary(t)
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "redoubt.yaml")
	write := func(extra string) {
		body := "instances:\n  - name: default\n    listen: " + addr + "\n    data: " + filepath.Join(dir, "d") +
			"\n    allowlist:\n      default: [127.0.0.1, \"::1\"]\n" + extra
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--config", cfg)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	testutil.WaitFor(t, 10*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	if got := rawPing(t, "127.0.0.2", addr); got != "" {
		t.Fatalf("127.0.0.2 outside the allowlist got %q", got)
	}
	write("      ci: [127.0.0.2]\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "127.0.0.2 to be admitted after SIGHUP", func() bool {
		return rawPing(t, "127.0.0.2", addr) == "+PONG\r\n"
	})
	// A file with an error changes nothing.
	if err := os.WriteFile(cfg, []byte("instances:\n  - name: default\n    bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the reload error in the log", func() bool {
		return strings.Contains(logs.String(), "configuration not reloaded")
	})
	if got := rawPing(t, "127.0.0.2", addr); got != "+PONG\r\n" {
		t.Fatalf("after a bad reload 127.0.0.2 got %q", got)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}
