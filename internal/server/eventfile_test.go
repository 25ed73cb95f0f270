package server

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt/internal/eventlog"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
)

// TestEventFile: the instance's events — a cross-protocol attempt, a
// refused command, a finding recorded by the scanner — reach its
// hash-chained event file in <data>/events, which verifies intact, and
// INFO security reports the file's head.
func TestEventFile(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Options{Name: "ev", DataDir: dir})
	nc, err := net.Dial("tcp", s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.ReadAll(nc)
	nc.Close()
	cl := dial(t, s.Addrs()[0])
	cl.do("DEBUG", "SLEEP", "0")
	s.RecordEvent(monitor.Event{Type: monitor.ScanFinding, Detail: "allowlist-open: test", Fields: map[string]string{"id": "allowlist-open"}})

	evdir := filepath.Join(dir, eventlog.DirName)
	var got []eventlog.Entry
	testutil.WaitFor(t, 10*time.Second, "three events in the file", func() bool {
		got, err = eventlog.Query(evdir, eventlog.Filter{})
		return err == nil && len(got) >= 3
	})
	want := []string{"cross_protocol", "command_refused", "scan_finding"}
	for i, w := range want {
		if got[i].Type != w || got[i].Instance != "ev" {
			t.Errorf("entry %d: %s of %q, want %s of ev", i, got[i].Type, got[i].Instance, w)
		}
	}
	if got[2].Fields["id"] != "allowlist-open" {
		t.Errorf("the finding's fields were not kept: %v", got[2].Fields)
	}
	rep, err := eventlog.Verify(evdir)
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	sec := cl.do("INFO", "security")
	if !strings.Contains(sec, "eventlog_head:"+rep.Head) || !strings.Contains(sec, "eventlog_failing:0") {
		t.Errorf("INFO security does not report the file's head %s:\n%s", rep.Head, sec)
	}
	if v := value(gather(t, s)["redoubt_eventlog_written_total"], nil); v < 3 {
		t.Errorf("redoubt_eventlog_written_total = %v", v)
	}
}
