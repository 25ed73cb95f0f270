// Package testutil starts real redis-server processes for tests and finds
// the tools tests need. Under CI=true a missing tool fails the test instead
// of skipping it.
package testutil

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireTool returns the path of an executable, or skips the test when it is
// missing, except under CI=true, where a missing tool fails the run.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found on PATH; `make test` installs it (apt-get install redis-server redis-tools)", name)
		}
		t.Skipf("%s not found on PATH; run `make test` to install it", name)
	}
	return p
}

// Redis is a real redis-server started for one test.
type Redis struct {
	Addr string // host:port on loopback
	Dir  string
	cmd  *exec.Cmd
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartRedis starts redis-server on a free loopback port with a private
// directory, waits until it answers PING, and stops it when the test ends.
// Extra arguments are passed as "--name value" pairs.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	bin := RequireTool(t, "redis-server")
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := FreePort(t)
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--dir", dir, "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"),
		}
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, cmd: cmd}
		if err := waitPing(r.Addr, 10*time.Second); err != nil {
			lastErr = err
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			continue
		}
		t.Cleanup(r.Stop)
		return r
	}
	log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	t.Fatalf("redis-server did not start: %v\n%s", lastErr, log)
	return nil
}

// Stop kills the server and waits for it.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func waitPing(addr string, timeout time.Duration) error {
	var lastErr error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lastErr = Ping(addr); lastErr == nil {
			return nil
		}
	}
	return fmt.Errorf("no PING reply from %s: %v", addr, lastErr)
}

// Ping sends one inline PING and expects +PONG.
func Ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// WaitFor polls cond every few milliseconds until it is true or the timeout
// passes, and fails the test then.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Run runs a command with a timeout and returns its combined output,
// failing the test when it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}
