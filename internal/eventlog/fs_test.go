//go:build unix

package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"redoubt/internal/datadir"
)

// onSub opens data as a data directory, runs a Log on its events
// subdirectory with opts, appends n entries, closes the Log and the data
// directory, and returns the Log's last Stats.
func onSub(t *testing.T, data string, opts Options, n int) Stats {
	t.Helper()
	d, err := datadir.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sub, err := d.Sub(DirName)
	if err != nil {
		t.Fatal(err)
	}
	opts.FS, opts.Dir = sub, filepath.Join(data, DirName)
	l := openLog(t, opts)
	appendN(t, l, n)
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.SyncDir(); !errors.Is(err, datadir.ErrClosed) {
		t.Fatalf("the Log did not close its FS: %v", err)
	}
	return st
}

// TestFSSwappedDataDir: a Log on a datadir Sub keeps writing, rotating
// and pruning in its own directory after the data directory's path is
// swapped for a symlink to another one; nothing lands there.
func TestFSSwappedDataDir(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	d, err := datadir.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sub, err := d.Sub(DirName)
	if err != nil {
		t.Fatal(err)
	}
	l := openLog(t, Options{FS: sub, Dir: filepath.Join(data, DirName), MaxFileSize: 2 << 10, MaxFiles: 3})
	appendN(t, l, 5)

	if err := os.Rename(data, data+".moved"); err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(root, "evil")
	if err := os.MkdirAll(filepath.Join(evil, DirName), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(evil, data); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 100) // several files: rotation and retention
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// After Close: retention may still have written a pruning entry
	// after the last append.
	st := l.Stats()
	var outside []string
	_ = filepath.WalkDir(evil, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			outside = append(outside, p)
		}
		return nil
	})
	if len(outside) > 0 {
		t.Fatalf("written in the swapped-in directory: %v", outside)
	}
	moved := filepath.Join(data+".moved", DirName)
	rep := mustVerify(t, moved)
	if !rep.OK || !rep.Pruned || rep.Head != st.Head || st.Failing || st.Files != 4 {
		t.Fatalf("%+v %v; stats %+v", rep, rep.First, st)
	}
	if files := names(t, moved); len(files) != 4 {
		t.Fatalf("files %v, want 3 closed and the current", files)
	}
}

// TestFSResume: a Log on a Sub continues the chain of the files there,
// never appends to a hard-linked newest file (seen through datadir's
// stat), and never follows a symlink planted as the newest file.
func TestFSResume(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := filepath.Join(data, DirName)
	st := onSub(t, data, Options{}, 5)
	if rep := mustVerify(t, dir); !rep.OK || rep.LastSeq != 5 || rep.Head != st.Head {
		t.Fatalf("%+v %v", rep, rep.First)
	}
	onSub(t, data, Options{}, 2)
	if files := names(t, dir); len(files) != 1 {
		t.Fatalf("files %v: the Log should have appended", files)
	}

	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Link(filepath.Join(dir, FileName(1)), outside); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(outside)
	onSub(t, data, Options{}, 3)
	if after, _ := os.ReadFile(outside); string(after) != string(before) {
		t.Fatal("the Log appended to a hard-linked file")
	}
	if rep := mustVerify(t, dir); !rep.OK || rep.LastSeq != 11 {
		t.Fatalf("%+v %v", rep, rep.First)
	}

	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	files := names(t, dir)
	n, _ := parseFileName(files[len(files)-1])
	if err := os.Symlink(target, filepath.Join(dir, FileName(n+1))); err != nil {
		t.Fatal(err)
	}
	onSub(t, data, Options{}, 2)
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatal("the Log wrote through a symlink")
	}
	rep := mustVerify(t, dir)
	if rep.OK || rep.First.Kind != Unreadable || rep.First.File != FileName(n+1) || rep.LastSeq != 14 {
		t.Fatalf("%+v %v", rep, rep.First)
	}
}

// TestCloseContext: with the writer stuck (a disk that does not answer),
// CloseContext returns when its context ends; the writer finishes later,
// writes what was queued, and its goroutine ends.
func TestCloseContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	stuck := make(chan struct{})
	entered := make(chan struct{}, 1)
	first := true
	before := runtime.NumGoroutine()
	l, err := open(Options{Dir: dir, Now: newClock().Now}, func() {
		if first {
			first = false
			entered <- struct{}{}
			<-stuck
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(Entry{Type: "first"})
	<-entered
	l.Append(Entry{Type: "queued"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.CloseContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("CloseContext took %v", d)
	}
	l.Append(Entry{Type: "after close"}) // dropped, never blocks
	close(stuck)
	if err := l.Close(); err != nil { // waits for the writer now
		t.Fatal(err)
	}
	// The entry appended after CloseContext is counted before the rest.
	es := entries(t, dir)
	if len(es) != 3 || es[0].Type != TypeDropped || es[0].Fields["count"] != "1" ||
		es[1].Type != "first" || es[2].Type != "queued" {
		t.Fatalf("%+v", es)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines, %d before", n, before)
	}
}

// TestEmptyType: an entry without a type is written as TypeUnknown.
func TestEmptyType(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	l := openLog(t, Options{Dir: dir})
	l.Append(Entry{Detail: "no type"})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, dir); len(es) != 1 || es[0].Type != TypeUnknown || es[0].Detail != "no type" {
		t.Fatalf("%+v", es)
	}
}
