package aof

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPolicies checks what each policy has done when Commit returns,
// reading the file from another handle.
func TestPolicies(t *testing.T) {
	tests := []struct {
		policy       Policy
		syncOnCommit bool
	}{
		{FsyncAlways, true},
		{FsyncEverySec, false},
		{FsyncNo, false},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			d := openDir(t, "")
			ffs := newFaultFS(DirFS(d))
			// A long interval: only Commit does I/O here.
			w := openWriter(t, ffs, Options{Fsync: tt.policy, Interval: time.Hour})
			syncs := ffs.calls("sync")
			var seq uint64
			for i := range 10 {
				seq = w.Append(set(i)...)
			}
			if st := w.Stats(); st.BufferLength == 0 {
				t.Fatal("Append wrote through")
			}
			if err := w.Commit(seq); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(d.Path(), incrName(1)))
			if err != nil {
				t.Fatal(err)
			}
			want := encode(set(0), set(1), set(2), set(3), set(4), set(5), set(6), set(7), set(8), set(9))
			if string(got) != string(want) {
				t.Fatalf("file holds %q", got)
			}
			synced := ffs.calls("sync") > syncs
			if synced != tt.syncOnCommit {
				t.Fatalf("fsync on Commit = %v, want %v", synced, tt.syncOnCommit)
			}
			st := w.Stats()
			if tt.policy == FsyncEverySec && st.PendingFsyncBytes != int64(len(want)) {
				t.Fatalf("pending fsync bytes %d", st.PendingFsyncBytes)
			}
			if tt.policy == FsyncAlways && st.PendingFsyncBytes != 0 {
				t.Fatalf("pending fsync bytes %d", st.PendingFsyncBytes)
			}
			if st.CurrentSize != int64(len(want)) || st.BufferLength != 0 {
				t.Fatalf("stats %+v", st)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cmds, _ := load(t, DirFS(d))
			if !equal(cmds, seqStrs(0, 10)) {
				t.Fatalf("replayed %v", cmds)
			}
		})
	}
}

// TestEverySecBackground: with no Commit at all, the background goroutine
// writes and fsyncs within the interval.
func TestEverySecBackground(t *testing.T) {
	d := openDir(t, "")
	ffs := newFaultFS(DirFS(d))
	w := openWriter(t, ffs, Options{Fsync: FsyncEverySec, Interval: 20 * time.Millisecond})
	defer w.Close()
	for i := range 100 {
		w.Append(set(i)...)
	}
	waitFor(t, "background fsync", func() bool {
		st := w.Stats()
		return st.BufferLength == 0 && st.PendingFsyncBytes == 0 && st.Fsyncs > 0
	})
	if n := ffs.calls("sync"); n == 0 {
		t.Fatal("no fsync")
	}
}

// TestWriteThreshold: a big buffer is written before the interval.
func TestWriteThreshold(t *testing.T) {
	d := openDir(t, "")
	w := openWriter(t, DirFS(d), Options{Fsync: FsyncNo, Interval: time.Hour, WriteThreshold: 1000})
	defer w.Close()
	for i := range 100 {
		w.Append(set(i)...)
	}
	waitFor(t, "threshold write", func() bool { return w.Stats().BufferLength < 1000 })
}

// TestGroupCommit: concurrent Commits under always share fsyncs, and
// every acknowledged command is in the file once, in Append order.
func TestGroupCommit(t *testing.T) {
	d := openDir(t, "")
	ffs := newFaultFS(DirFS(d))
	w := openWriter(t, ffs, Options{Fsync: FsyncAlways, Interval: time.Hour})
	var engine sync.Mutex // the engine lock: Append order = execution order
	next := 0
	var wg sync.WaitGroup
	const workers, each = 8, 200
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				engine.Lock()
				seq := w.Append(set(next)...)
				next++
				engine.Unlock()
				if err := w.Commit(seq); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	syncs := ffs.calls("sync")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d commits, %d fsyncs", workers*each, syncs)
	if syncs >= workers*each {
		t.Errorf("no group commit: %d fsyncs for %d commits", syncs, workers*each)
	}
	cmds, _ := load(t, DirFS(d))
	if !equal(cmds, seqStrs(0, workers*each)) {
		t.Fatalf("replayed %d commands, want %d in order", len(cmds), workers*each)
	}
}

// TestFaultInjection makes writes or fsyncs fail: the Writer refuses,
// reports, retries, and resumes once the fault clears, and the file holds
// every command exactly once.
func TestFaultInjection(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		op     string
	}{
		{"always/fsync", FsyncAlways, "sync"},
		{"always/write", FsyncAlways, "write"},
		{"everysec/fsync", FsyncEverySec, "sync"},
		{"everysec/write", FsyncEverySec, "write"},
		{"no/write", FsyncNo, "write"},
		{"always/fsync+truncate", FsyncAlways, "sync+truncate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openDir(t, "")
			ffs := newFaultFS(DirFS(d))
			var reports []string
			var repMu sync.Mutex
			opts := Options{Fsync: tt.policy, Interval: 10 * time.Millisecond, OnError: func(err error) {
				repMu.Lock()
				defer repMu.Unlock()
				if err == nil {
					reports = append(reports, "recovered")
				} else {
					reports = append(reports, "failed")
				}
			}}
			w := openWriter(t, ffs, opts)
			n := 0
			commit := func(k int) error {
				var seq uint64
				for range k {
					seq = w.Append(set(n)...)
					n++
				}
				return w.Commit(seq)
			}
			if err := commit(5); err != nil {
				t.Fatal(err)
			}
			for _, op := range strings.Split(tt.op, "+") {
				ffs.setFail(op, errInjected)
			}
			// everysec and no write on Commit: a write fault shows there;
			// an fsync fault shows in the background.
			err := commit(5)
			if tt.op != "write" && tt.policy != FsyncAlways {
				if err != nil {
					t.Fatalf("Commit under %s with an fsync fault: %v", tt.policy, err)
				}
				waitFor(t, "background fsync failure", func() bool { return w.Err() != nil })
			} else if err == nil {
				t.Fatal("Commit succeeded while the disk fails")
			}
			e := w.Err()
			if e == nil || !errors.Is(e, errInjected) {
				t.Fatalf("Err() = %v", e)
			}
			if !strings.HasPrefix(e.Reply(), "MISCONF Errors writing to the AOF file: injected fault") {
				t.Fatalf("Reply() = %q", e.Reply())
			}
			if st := w.Stats(); !st.Failing || st.LastWriteErr == "" ||
				!strings.Contains(string(st.AppendInfo(nil)), "aof_last_write_status:err") {
				t.Fatalf("stats do not show the failure: %+v", st)
			}
			// While failing, Commit refuses fast; Append still buffers.
			if err := commit(3); err == nil {
				t.Fatal("Commit succeeded while failed")
			}
			if _, err := w.StartRewrite(); err == nil {
				t.Fatal("StartRewrite while failed")
			}
			if w.NeedsRewrite() {
				t.Fatal("NeedsRewrite while failed")
			}
			time.Sleep(50 * time.Millisecond) // several failed retries
			if w.Err() == nil {
				t.Fatal("recovered while the fault persists")
			}
			for _, op := range strings.Split(tt.op, "+") {
				ffs.setFail(op, nil)
			}
			waitFor(t, "recovery", func() bool { return w.Err() == nil })
			if err := commit(4); err != nil {
				t.Fatalf("Commit after recovery: %v", err)
			}
			if st := w.Stats(); st.Failing || st.LastWriteErr != "" {
				t.Fatalf("stats after recovery: %+v", st)
			}
			repMu.Lock()
			got := strings.Join(reports, ",")
			repMu.Unlock()
			if got != "failed,recovered" {
				t.Fatalf("OnError calls: %s", got)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cmds, _ := load(t, DirFS(d))
			if !equal(cmds, seqStrs(0, n)) {
				t.Fatalf("replayed %d commands, want %d exactly once in order:\n%v", len(cmds), n, cmds)
			}
		})
	}
}

// TestCloseFlushes: Close writes and fsyncs under every policy, and the
// Writer refuses afterwards.
func TestCloseFlushes(t *testing.T) {
	for _, p := range []Policy{FsyncAlways, FsyncEverySec, FsyncNo} {
		t.Run(p.String(), func(t *testing.T) {
			d := openDir(t, "")
			ffs := newFaultFS(DirFS(d))
			w := openWriter(t, ffs, Options{Fsync: p, Interval: time.Hour})
			w.Append(set(0)...)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if ffs.calls("sync") == 0 {
				t.Fatal("Close did not fsync")
			}
			if err := w.Commit(w.Append(set(1)...)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Commit after Close = %v", err)
			}
			if err := w.Close(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second Close = %v", err)
			}
			cmds, _ := load(t, DirFS(d))
			if !equal(cmds, seqStrs(0, 1)) {
				t.Fatalf("replayed %v", cmds)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for _, s := range []string{"always", "everysec", "no", "EverySec"} {
		p, err := ParsePolicy(s)
		if err != nil || !strings.EqualFold(p.String(), s) {
			t.Fatalf("ParsePolicy(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Fatal("ParsePolicy accepted nonsense")
	}
}

// TestAppendDoesNotBlock: Append returns while a Commit is stuck in an
// fsync (the engine lock holder never waits for the disk).
func TestAppendDoesNotBlock(t *testing.T) {
	d := openDir(t, "")
	ffs := newFaultFS(DirFS(d))
	release := make(chan struct{})
	var stuck atomic.Bool
	ffs.hook = func(_ int, op string) {
		if op == "sync:"+incrName(1) && stuck.CompareAndSwap(false, true) {
			<-release
		}
	}
	w := openWriter(t, ffs, Options{Fsync: FsyncAlways, Interval: time.Hour})
	done := make(chan error)
	go func() { done <- w.Commit(w.Append(set(0)...)) }()
	waitFor(t, "fsync to start", stuck.Load)
	appended := make(chan struct{})
	go func() {
		for i := 1; i < 1000; i++ {
			w.Append(set(i)...)
		}
		close(appended)
	}()
	select {
	case <-appended:
	case <-time.After(10 * time.Second):
		t.Fatal("Append blocked behind an fsync")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cmds, _ := load(t, DirFS(d))
	if len(cmds) != 1000 {
		t.Fatalf("replayed %d", len(cmds))
	}
}
