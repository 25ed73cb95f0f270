package server

// Adversarial review of the event file wiring (issue 10). Tests named
// TestReview… that fail show a bug; the others are regression checks.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/eventlog"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
)

// rvFlushEvents waits until the instance's event file has written what
// was recorded.
func rvFlushEvents(t *testing.T, s *Server) {
	t.Helper()
	if err := s.evlog.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestReviewEventFileFollowsSwappedDataDir: internal/datadir confines an
// instance to the directory it opened and locked: every operation goes
// through the descriptor, so that whoever can write the parent (accepted
// with a warning, and the scanner says "they can replace the data
// directory while the instance is stopped") cannot redirect a running
// instance. The event log does not use that descriptor: openEventFile
// hands eventlog a path, and eventlog creates, opens, fsyncs and prunes
// by path (os.MkdirAll, openFile(filepath.Join(dir, name)), os.Remove).
// Swap <data> for a symlink while the instance runs and the next event
// file is created in the attacker's directory: the security events leave
// the data directory (readable and removable by the attacker) and are
// missing from the instance's own log.
func TestReviewEventFileFollowsSwappedDataDir(t *testing.T) {
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o777); err != nil { // writable by others, no sticky bit
		t.Fatal(err)
	}
	data := filepath.Join(parent, "data")
	s := startServer(t, Options{Name: "swap", DataDir: data, EventFiles: EventFiles{MaxFileSize: 4096}})
	record := func(detail string, n int) {
		for i := range n {
			s.RecordEvent(monitor.Event{Type: monitor.ScanFinding, Detail: detail + " " + strconv.Itoa(i)})
		}
		rvFlushEvents(t, s)
	}
	record("before the swap", 3)

	// Someone who can write the parent swaps the data directory.
	if err := os.Rename(data, filepath.Join(parent, "data.moved")); err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(t.TempDir(), "evil")
	if err := os.MkdirAll(evil, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(evil, data); err != nil {
		t.Fatal(err)
	}
	record("after the swap", 100) // several times MaxFileSize: the file rotates

	var outside []string
	_ = filepath.WalkDir(evil, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != evil {
			outside = append(outside, strings.TrimPrefix(p, evil))
		}
		return nil
	})
	if len(outside) > 0 {
		t.Fatalf("the running instance wrote outside its locked data directory, into %s: %v", evil, outside)
	}
}

// rvMountExt4 mounts a small ext4 image (fsfreeze works on it, not on
// tmpfs) and returns the mount point; root only.
func rvMountExt4(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mount and fsfreeze")
	}
	mkfs := testutil.RequireTool(t, "mkfs.ext4")
	mount := testutil.RequireTool(t, "mount")
	umount := testutil.RequireTool(t, "umount")
	testutil.RequireTool(t, "fsfreeze")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command(mount, "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("mount -o loop: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(umount, mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
			_ = exec.Command(umount, "-l", mnt).Run()
		}
	})
	return mnt
}

// TestReviewShutdownHangsOnStuckEventDisk: the disk under the event file
// stops answering (a frozen file system, a hung NFS or iSCSI volume). The
// data path keeps serving — good — but Shutdown(ctx) ignores its
// deadline: closeEventFile calls eventlog.Log.Close, which waits for the
// writer without a limit, so the instance never stops and its data
// directory lock is never released.
func TestReviewShutdownHangsOnStuckEventDisk(t *testing.T) {
	mnt := rvMountExt4(t)
	data := filepath.Join(mnt, "data")
	s := startServer(t, Options{Name: "stuck", DataDir: data})
	s.RecordEvent(monitor.Event{Type: monitor.ScanFinding, Detail: "before"})
	rvFlushEvents(t, s)

	if out, err := exec.Command("fsfreeze", "-f", mnt).CombinedOutput(); err != nil {
		t.Skipf("fsfreeze: %v: %s", err, out)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if out, err := exec.Command("fsfreeze", "-u", mnt).CombinedOutput(); err != nil {
				t.Errorf("fsfreeze -u: %v: %s", err, out)
			}
		}
	}
	t.Cleanup(thaw) // before startServer's Shutdown and the umount

	s.RecordEvent(monitor.Event{Type: monitor.ScanFinding, Detail: "while the disk is stuck"})
	// The data path is not blocked (this part holds).
	cl := dial(t, s.Addrs()[0])
	if got := cl.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING while the event disk is stuck: %q", got)
	}
	if sec := cl.do("INFO", "security"); !strings.Contains(sec, "eventlog_enabled:1") {
		t.Fatalf("INFO security: %q", sec)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Shutdown(ctx) }()
	select {
	case <-done:
	case <-time.After(4 * time.Second):
		thaw()
		<-done
		t.Fatalf("Shutdown with a 1s deadline still waiting after %v: it waits for the event file's writer without a limit",
			time.Since(start).Round(time.Millisecond))
	}
}

// TestReviewEventsDirSymlinkAtStart (regression): <data>/events planted
// as a symlink before the instance starts is refused: nothing is written
// through it, INFO reports the failure, and clients are served.
func TestReviewEventsDirSymlinkAtStart(t *testing.T) {
	data := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(data, eventlog.DirName)); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Options{Name: "sym", DataDir: data})
	for i := range 20 {
		s.RecordEvent(monitor.Event{Type: monitor.ScanFinding, Detail: strconv.Itoa(i)})
	}
	s.evlog.Flush()
	cl := dial(t, s.Addrs()[0])
	if got := cl.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}
	sec := cl.do("INFO", "security")
	if !strings.Contains(sec, "eventlog_failing:1") || !strings.Contains(sec, "eventlog_last_error:") {
		t.Errorf("INFO security does not report the failing event file:\n%s", sec)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("written through the symlink: %v", ents)
	}
}

// TestReviewAuthFailureEventHasNoPassword (regression): failed AUTH, with
// one and two arguments and through HELLO, leaves no password in the
// event file.
func TestReviewAuthFailureEventHasNoPassword(t *testing.T) {
	s, _ := withAccounts(t, nil)
	data := s.opts.DataDir
	const secret = "Sup3r-Secret-Passw0rd-rv"
	cl := dial(t, s.Addrs()[0])
	cl.do("AUTH", secret)
	cl.do("AUTH", "app", secret)
	cl.do("AUTH", "nobody", secret)
	cl.do("HELLO", "3", "AUTH", "app", secret)
	rvFlushEvents(t, s)
	es, err := eventlog.Query(filepath.Join(data, eventlog.DirName), eventlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Type == string(monitor.AuthFailed) {
			n++
		}
		if strings.Contains(e.Detail+e.Account+e.Addr+e.Type, secret) {
			t.Fatalf("the password is in the event file: %+v", e)
		}
		for k, v := range e.Fields {
			if strings.Contains(k+v, secret) {
				t.Fatalf("the password is in the event file: %+v", e)
			}
		}
	}
	if n < 4 {
		t.Fatalf("%d auth_failed entries, want 4: %+v", n, es)
	}
}
