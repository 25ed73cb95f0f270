package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/eventlog"
	"redoubt/internal/testutil"
)

// scrape reads /metrics from the admin listener; "" when it does not
// answer.
func scrape(addr, token string) string {
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return ""
	}
	return string(b)
}

// TestAdminMetricsAndScan runs the binary with an allowlist open to the
// world and a metrics token: the start-up scan reports the open allowlist
// as a metric and an event in the log, /metrics needs the token, and the
// commands a client runs show in redoubt_commands_total.
func TestAdminMetricsAndScan(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	port := testutil.FreePort(t)
	adminPort := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	adminAddr := net.JoinHostPort("127.0.0.1", itoa(adminPort))
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("metrics-token-1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	yaml := "instances:\n  - name: mon\n    listen: [\"" + addr + "\"]\n    data: " + filepath.Join(dir, "d") +
		"\n    allowlist: {world: [0.0.0.0/0]}\nadmin:\n  listen: " + adminAddr + "\n  metrics_token_file: " + tokenFile + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfg)
	logs := &syncWriter{w: &bytes.Buffer{}}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testutil.WaitFor(t, 10*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	if out := testutil.Run(t, "redis-cli", "-p", itoa(port), "SET", "k", "v"); !strings.Contains(out, "OK") {
		t.Fatalf("SET: %s", out)
	}
	if m := scrape(adminAddr, ""); m != "" {
		t.Fatalf("/metrics answered without the token")
	}
	var m string
	testutil.WaitFor(t, 10*time.Second, "the start-up scan in the metrics", func() bool {
		m = scrape(adminAddr, "metrics-token-1234")
		return strings.Contains(m, "redoubt_scan_runs_total 1")
	})
	for _, want := range []string{
		`redoubt_scan_findings{instance="mon",rule="allowlist-open",severity=`,
		`redoubt_commands_total{command="set",instance="mon"} 1`,
		`redoubt_connected_clients{instance="mon"}`,
		`redoubt_security_events_total{instance="mon",type="cross_protocol"} 0`,
		`redoubt_process_resident_memory_bytes`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if l := logs.String(); !strings.Contains(l, "event=scan_finding") {
		t.Errorf("no scan_finding event in the log:\n%s", l)
	}
	// The log keeps one line per event type a second; the event file
	// keeps every event.
	var found bool
	testutil.WaitFor(t, 10*time.Second, "the allowlist-open finding in the event file", func() bool {
		entries, err := eventlog.Query(filepath.Join(dir, "d", eventlog.DirName), eventlog.Filter{Types: []string{"scan_finding"}})
		for _, e := range entries {
			found = found || (err == nil && e.Fields["id"] == "allowlist-open" && e.Instance == "mon")
		}
		return found
	})
	if strings.Contains(logs.String(), "metrics-token-1234") {
		t.Error("the metrics token is in the log")
	}
}

// syncWriter lets the test read a process's output while it writes.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
