package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/eventlog"
	"redoubt/internal/testutil"
)

// infoField reads one field of an INFO section.
func infoField(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	s, err := c.Info(t.Context(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// crossProtocol sends a browser's POST from src and waits for the close.
func crossProtocol(addr string, src net.IP) error {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\r\n"); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, nc)
	return err
}

// TestEventFloodOnFullDisk: the instance's data directory is a full
// tmpfs, so the event file cannot be written. A flood of cross-protocol
// attempts (each one an event) must leave a client served all along;
// INFO reports the event file failing and the events it dropped; once
// space is freed the file resumes with an events_dropped entry, and
// `redoubt events verify` finds the chain intact.
func TestEventFloodOnFullDisk(t *testing.T) {
	bin := buildBinary(t)
	data := tmpfs(t, "1m")
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "instances:\n  - name: flood\n    listen: [\"" + addr + "\"]\n    data: " + data +
		"\n    appendonly: false\n    allowlist: {local: [127.0.0.0/8]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfg, "--admin-listen", "off", "--log-level", "warn")
	logs := &syncWriter{w: &bytes.Buffer{}}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testutil.WaitFor(t, 10*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(data, "filler")
	testutil.FillDisk(t, filler)

	const attempts = 20000
	var failedAttempts atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > attempts {
					return
				}
				src := net.IPv4(127, 0, 0, byte(2+(int(i)+w)%240))
				if crossProtocol(addr, src) != nil {
					failedAttempts.Add(1)
				}
			}
		})
	}
	// The client keeps being served while the flood runs.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var served int
	var worst time.Duration
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		start := time.Now()
		if v, err := c.Get(t.Context(), "k").Result(); err != nil || v != "v" {
			t.Fatalf("GET during the flood: %q %v", v, err)
		}
		worst = max(worst, time.Since(start))
		served++
	}
	t.Logf("%d GETs during the flood, slowest %v; %d attempts not answered", served, worst, failedAttempts.Load())
	if served == 0 || worst > 2*time.Second {
		t.Errorf("client starved during the flood: %d GETs, slowest %v", served, worst)
	}
	if got := infoField(t, c, "security", "cross_protocol_attempts"); got != strconv.Itoa(attempts) {
		t.Errorf("cross_protocol_attempts = %s, want %d", got, attempts)
	}
	if got := infoField(t, c, "security", "eventlog_failing"); got != "1" {
		t.Errorf("eventlog_failing = %q on a full disk", got)
	}
	dropped, _ := strconv.Atoi(infoField(t, c, "security", "eventlog_dropped"))
	if dropped == 0 {
		t.Error("eventlog_dropped = 0 on a full disk")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the event file to recover", func() bool {
		return infoField(t, c, "security", "eventlog_failing") == "0"
	})
	entries, err := eventlog.Query(filepath.Join(data, eventlog.DirName), eventlog.Filter{Types: []string{eventlog.TypeDropped}})
	if err != nil || len(entries) == 0 {
		t.Fatalf("no events_dropped entry after recovery: %v %v", entries, err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"events", "verify", "--data", data}, &out, &errOut); code != 0 {
		t.Errorf("events verify: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if n := strings.Count(logs.String(), "event file"); n > 20 {
		t.Errorf("the event file's failure was logged %d times", n)
	}
}
