//go:build linux

package eventlog

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"redoubt/internal/testutil"
)

// countHandler counts log records by message.
type countHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countHandler) WithGroup(string) slog.Handler            { return h }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}

func (h *countHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.HasPrefix(m, msg) {
			n++
		}
	}
	return n
}

// need skips the test, or fails it under CI=true, which runs as root
// with the capabilities these tests need.
func need(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// mountT runs mount with args and unmounts target when the test ends.
func mountT(t *testing.T, target string, args ...string) {
	t.Helper()
	mount := testutil.RequireTool(t, "mount")
	umount := testutil.RequireTool(t, "umount")
	if os.Geteuid() != 0 {
		need(t, "mounting needs root")
	}
	if out, err := exec.Command(mount, append(args, target)...).CombinedOutput(); err != nil {
		need(t, "mount %v: %v: %s", args, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(umount, target).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", target, err, out)
			_ = exec.Command(umount, "-l", target).Run()
		}
	})
}

// failUntilFailing appends batches until the log reports failing; each
// Flush returns once the batch was tried.
func failUntilFailing(t *testing.T, l *Log) {
	t.Helper()
	for i := 0; i == 0 || !l.Stats().Failing; i++ {
		if i == 1000 {
			t.Fatalf("still writing after %d batches: %+v", i, l.Stats())
		}
		for j := range 50 {
			l.Append(Entry{Type: "cross_protocol", Addr: "10.0.0.1:" + strconv.Itoa(j), Detail: "GET / HTTP/1.1"})
		}
		l.Flush()
	}
}

// checkRecovered checks a log that failed and recovered: it writes
// again, the chain is sound, and an events_dropped entry counts the loss.
func checkRecovered(t *testing.T, l *Log, dir string) {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatalf("after the disk came back: %v", err)
	}
	appendN(t, l, 5)
	st := l.Stats()
	if st.Failing || st.WriteErrors == 0 || st.LastError == "" || st.Dropped == 0 {
		t.Fatalf("%+v", st)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir)
	if !rep.OK {
		t.Fatalf("%+v %v", rep, rep.First)
	}
	var counted uint64
	for _, e := range entries(t, dir) {
		if e.Type == TypeDropped {
			n, _ := strconv.ParseUint(e.Fields["count"], 10, 64)
			counted += n
		}
	}
	if counted != st.Dropped {
		t.Fatalf("events_dropped entries count %d, Stats.Dropped %d", counted, st.Dropped)
	}
}

// TestDiskFull fills a small tmpfs under a running log: it reports
// Failing without blocking anything, and when space is freed it writes
// again and records what it dropped.
func TestDiskFull(t *testing.T) {
	mnt := t.TempDir()
	mountT(t, mnt, "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs")
	dir := filepath.Join(mnt, "events")
	l := openLog(t, Options{Dir: dir, MaxFileSize: 64 << 10, MaxFiles: 100})
	appendN(t, l, 10)
	filler := filepath.Join(mnt, "filler")
	testutil.FillDisk(t, filler)

	failUntilFailing(t, l)
	st := l.Stats()
	if !st.Failing || st.Dropped == 0 || st.LastError == "" {
		t.Fatalf("%+v", st)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, l, dir)
}

// TestUnwritableDir starts a log on a read-only directory: it starts
// anyway, reports Failing, and writes once the directory is writable
// again. As root, which ignores modes, the directory is a read-only bind
// mount.
func TestUnwritableDir(t *testing.T) {
	dir := writeLog(t, 10, 0)
	var writable func()
	if os.Geteuid() == 0 {
		mountT(t, dir, "--bind", dir)
		mount := testutil.RequireTool(t, "mount")
		remount := func(mode string) {
			if out, err := exec.Command(mount, "-o", "remount,bind,"+mode, dir).CombinedOutput(); err != nil {
				need(t, "remount %s: %v: %s", mode, err, out)
			}
		}
		remount("ro")
		writable = func() { remount("rw") }
	} else {
		path := filepath.Join(dir, FileName(1))
		for _, p := range []string{path, dir} {
			if err := os.Chmod(p, 0o500); err != nil {
				t.Fatal(err)
			}
		}
		writable = func() {
			for _, p := range []string{dir, path} {
				if err := os.Chmod(p, 0o700); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Cleanup(writable)
	}
	if _, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		t.Fatal("the directory is still writable")
	}

	logs := &countHandler{}
	l := openLog(t, Options{Dir: dir, Logger: slog.New(logs)})
	failUntilFailing(t, l)
	for range 20 { // more failed writes: counted, not logged
		l.Append(Entry{Type: "x"})
		l.Flush()
	}
	writable()
	checkRecovered(t, l, dir)
	if n, m := logs.count("event log cannot write"), logs.count("event log writing again"); n != 1 || m != 1 {
		t.Fatalf("%d lines on failing and %d on recovering, want one each", n, m)
	}
	if files := names(t, dir); len(files) != 1 {
		t.Fatalf("files %v: the log should have gone on in its file", files)
	}
}
