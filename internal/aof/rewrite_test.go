package aof

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/resp"
)

// kv is a toy engine: SET commands into a map, under one lock, logged to
// a Writer as the real engine will be.
type kv struct {
	mu   sync.Mutex
	data map[string]string
	w    *Writer
}

func newKV(w *Writer) *kv { return &kv{data: map[string]string{}, w: w} }

// set runs SET k v and returns the position to commit.
func (e *kv) set(k, v string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.data[k] = v
	return e.w.Append([]byte("SET"), []byte(k), []byte(v))
}

// startRewrite marks the rewrite and takes the view in one critical section.
func (e *kv) startRewrite() (*Rewrite, map[string]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rw, err := e.w.StartRewrite()
	if err != nil {
		return nil, nil, err
	}
	view := make(map[string]string, len(e.data))
	for k, v := range e.data {
		view[k] = v
	}
	return rw, view, nil
}

// writeView writes a view as a base in AOF format, keys sorted.
func writeView(view map[string]string) func(io.Writer) error {
	return func(w io.Writer) error {
		keys := make([]string, 0, len(view))
		for k := range view {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b []byte
		for _, k := range keys {
			b = resp.AppendCommand(b[:0], []byte("SET"), []byte(k), []byte(view[k]))
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// loadState replays fsys into a map.
func loadState(t testing.TB, fsys FS) map[string]string {
	t.Helper()
	state := map[string]string{}
	_, err := Load(fsys, quiet(), nil, func(args [][]byte) error {
		if string(args[0]) != "SET" || len(args) != 3 {
			return fmt.Errorf("unexpected command %q", args)
		}
		state[string(args[1])] = string(args[2])
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return state
}

func TestRewrite(t *testing.T) {
	d := openDir(t, "")
	w := openWriter(t, DirFS(d), Options{Fsync: FsyncAlways, Interval: time.Hour})
	e := newKV(w)
	for i := range 100 {
		e.set("k"+strconv.Itoa(i%10), strconv.Itoa(i)) // 10 keys, overwritten
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	before := w.Stats().CurrentSize
	rw, view, err := e.startRewrite()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.StartRewrite(); err != ErrRewriteInProgress {
		t.Fatalf("second StartRewrite = %v", err)
	}
	if !w.Stats().RewriteInProgress || w.NeedsRewrite() {
		t.Fatal("rewrite not in progress")
	}
	if err := w.Commit(e.set("after", "start")); err != nil { // switches
		t.Fatal(err)
	}
	if err := rw.Finish(BaseAOF, writeView(view)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(e.set("after", "finish")); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Rewrites != 1 || st.LastRewriteErr != "" || st.RewriteInProgress || st.BaseSize == 0 ||
		st.CurrentSize >= before || st.RewriteBaseSize == 0 {
		t.Fatalf("stats after rewrite: %+v (size before %d)", st, before)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := d.ReadDir()
	var names []string
	for _, en := range ents {
		names = append(names, en.Name())
	}
	want := []string{baseName(1, false), incrName(2), ManifestName}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("files %v, want %v", names, want)
	}
	if got := loadState(t, DirFS(d)); fmt.Sprint(got) != fmt.Sprint(e.data) {
		t.Fatalf("loaded %v, want %v", got, e.data)
	}
	// A rewrite with nothing appended after its start switches in Finish.
	w = openWriter(t, DirFS(d), Options{Fsync: FsyncEverySec, Interval: time.Hour})
	e.w = w
	rw, view, _ = e.startRewrite()
	if err := rw.Finish(BaseRDB, func(w io.Writer) error { _, err := w.Write([]byte("REDIS-blob")); return err }); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, err := d.ReadFile(baseName(2, true), 100)
	if err != nil || string(b) != "REDIS-blob" {
		t.Fatalf("base %q %v", b, err)
	}
	m, _ := readManifest(DirFS(d))
	if string(m.Marshal()) != fmt.Sprintf("file %s seq 2 type b\nfile %s seq 3 type i\n", baseName(2, true), incrName(3)) {
		t.Fatalf("manifest %s", m.Marshal())
	}
}

// TestRewriteCrashAtEveryStep simulates a crash before each file
// operation of a rewrite (the switch to the new incremental file, the
// base, the manifest, the removals), by copying the directory as it is at
// that moment, and checks the copy loads to the data of a prefix of the
// commands that includes every acknowledged one: the old state or the
// new, never a mix, never nothing.
func TestRewriteCrashAtEveryStep(t *testing.T) {
	steps := -1
	for k := 1; steps < 0 || k <= steps+1; k++ {
		n := crashRun(t, k)
		if n < 0 { // no crash happened: k is past the last step
			steps = k - 1
			break
		}
	}
	if steps < 10 {
		t.Fatalf("only %d steps in a rewrite?", steps)
	}
	t.Logf("crashed before each of %d file operations", steps)
}

// crashRun runs the scenario with a crash before operation k of the
// rewrite phase, checks the snapshot, and returns k, or -1 if the
// scenario has fewer operations.
func crashRun(t *testing.T, k int) int {
	d := openDir(t, "")
	ffs := newFaultFS(DirFS(d))
	w := openWriter(t, ffs, Options{Fsync: FsyncAlways, Interval: time.Hour})
	defer w.Close()
	e := newKV(w)
	var order []string // commands in execution order
	var acked atomic.Int64
	do := func(i int) {
		key, val := "k"+strconv.Itoa(i%7), strconv.Itoa(i)
		order = append(order, key+"="+val)
		if w.Commit(e.set(key, val)) == nil {
			acked.Store(int64(len(order)))
		}
	}
	for i := range 20 {
		do(i)
	}
	var snap string
	var crashedAt atomic.Int64
	var start int
	ffs.mu.Lock()
	start = len(ffs.ops)
	ffs.mu.Unlock()
	ffs.hook = func(n int, op string) {
		if n-start == k && crashedAt.Load() == 0 {
			crashedAt.Store(acked.Load() + 1) // +1: acked is read before; see below
			snap = snapshot(t, d.Path())
			ffs.setFail("open", errInjected)
			for _, o := range []string{"write", "sync", "rename", "remove", "syncdir", "truncate"} {
				ffs.setFail(o, errInjected)
			}
		}
	}
	rw, view, err := e.startRewrite()
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 30; i++ {
		do(i)
	}
	rw.Finish(BaseAOF, writeView(view))
	for i := 30; i < 35; i++ {
		do(i)
	}
	if crashedAt.Load() == 0 {
		return -1
	}
	ackedAtCrash := int(crashedAt.Load() - 1)
	// The snapshot must load to the state after some prefix of the
	// commands, at least as long as what was acknowledged at the crash.
	sd := openDir(t, snap)
	got := loadState(t, DirFS(sd))
	for p := ackedAtCrash; p <= len(order); p++ {
		if fmt.Sprint(got) == fmt.Sprint(prefixState(order[:p])) {
			return k
		}
	}
	ffs.mu.Lock()
	op := ffs.ops[start+k-1]
	ffs.mu.Unlock()
	t.Fatalf("crash before step %d (%s): loaded %v, which is no prefix of %v at least %d long",
		k, op, got, order, ackedAtCrash)
	return k
}

func prefixState(order []string) map[string]string {
	m := map[string]string{}
	for _, kv := range order {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// snapshot copies the regular files of dir to a new directory.
func snapshot(t *testing.T, dir string) string {
	dst := filepath.Join(t.TempDir(), "snap")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == "redoubt.lock" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestRewriteFailures makes each step of a rewrite fail (without a
// crash): Finish reports it, the Writer goes on appending (unless the
// fsync of the log itself failed, which is retried), the data loads
// whole, and a later rewrite succeeds.
func TestRewriteFailures(t *testing.T) {
	tests := []struct {
		fail       string
		writerFail bool
	}{
		{"open:" + incrName(2), false},
		{"open:" + ManifestName + tmpSuffix, false},
		{"rename:" + ManifestName, false},
		{"syncdir", false},
		{"open:" + baseName(1, false) + tmpSuffix, false},
		{"write:" + baseName(1, false) + tmpSuffix, false},
		{"sync:" + baseName(1, false) + tmpSuffix, false},
		{"rename:" + baseName(1, false), false},
	}
	for _, tt := range tests {
		t.Run(tt.fail, func(t *testing.T) {
			d := openDir(t, "")
			ffs := newFaultFS(DirFS(d))
			w := openWriter(t, ffs, Options{Fsync: FsyncAlways, Interval: 5 * time.Millisecond})
			e := newKV(w)
			for i := range 10 {
				e.set("a"+strconv.Itoa(i), "x")
			}
			w.Flush()
			ffs.setFail(tt.fail, errInjected)
			rw, view, err := e.startRewrite()
			if err != nil {
				t.Fatal(err)
			}
			e.set("b", "during")
			if err := rw.Finish(BaseAOF, writeView(view)); err == nil {
				t.Fatal("Finish succeeded")
			}
			if st := w.Stats(); st.LastRewriteErr == "" || st.RewriteInProgress {
				t.Fatalf("stats: %+v", st)
			}
			if (w.Err() != nil) != tt.writerFail {
				t.Fatalf("writer failed = %v", w.Err())
			}
			ffs.setFail(tt.fail, nil)
			waitFor(t, "healthy writer", func() bool { return w.Err() == nil })
			if err := w.Commit(e.set("c", "after")); err != nil {
				t.Fatal(err)
			}
			rw, view, err = e.startRewrite()
			if err != nil {
				t.Fatal(err)
			}
			if err := rw.Finish(BaseAOF, writeView(view)); err != nil {
				t.Fatalf("second rewrite: %v", err)
			}
			e.set("d", "last")
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := loadState(t, DirFS(d)); fmt.Sprint(got) != fmt.Sprint(e.data) {
				t.Fatalf("loaded %v, want %v", got, e.data)
			}
			// Open removes what the failures left behind.
			w = openWriter(t, DirFS(d), Options{})
			w.Close()
			ents, _ := d.ReadDir()
			if len(ents) != 3 {
				t.Fatalf("files left: %v", ents)
			}
		})
	}
}

// TestRewriteUnderLoad rewrites while writers keep going and compares
// the data set before and after a reload.
func TestRewriteUnderLoad(t *testing.T) {
	d := openDir(t, "")
	w := openWriter(t, DirFS(d), Options{Fsync: FsyncEverySec, Interval: 10 * time.Millisecond})
	e := newKV(w)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := w.Commit(e.set(fmt.Sprintf("k%d", (i*7+g)%500), fmt.Sprintf("%d-%d", g, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 5 {
		waitFor(t, "some writes", func() bool { return w.Stats().CurrentSize > 0 })
		rw, view, err := e.startRewrite()
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.Finish(BaseAOF, writeView(view)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := loadState(t, DirFS(d)); fmt.Sprint(got) != fmt.Sprint(e.data) {
		t.Fatalf("data set differs after reload: %d keys vs %d", len(got), len(e.data))
	}
	if st := w.Stats(); st.Rewrites != 5 {
		t.Fatalf("rewrites %d", st.Rewrites)
	}
}

func TestNeedsRewrite(t *testing.T) {
	d := openDir(t, "")
	w := openWriter(t, DirFS(d), Options{RewriteMinSize: 1000, RewritePercent: 100, Interval: time.Hour})
	defer w.Close()
	e := newKV(w)
	if w.NeedsRewrite() {
		t.Fatal("empty AOF needs a rewrite")
	}
	for i := 0; w.Stats().CurrentSize < 1000; i++ {
		w.Commit(e.set("k", strconv.Itoa(i)))
	}
	if !w.NeedsRewrite() {
		t.Fatalf("no rewrite needed at %+v", w.Stats())
	}
	rw, view, _ := e.startRewrite()
	if w.NeedsRewrite() {
		t.Fatal("rewrite needed during a rewrite")
	}
	if err := rw.Finish(BaseAOF, writeView(view)); err != nil {
		t.Fatal(err)
	}
	if w.NeedsRewrite() {
		t.Fatalf("rewrite needed right after one: %+v", w.Stats())
	}
	// Growth of 100% over the size after the rewrite, and the minimum.
	base := w.Stats().RewriteBaseSize
	for i := 0; w.Stats().CurrentSize < max(2*base, 1000); i++ {
		w.Commit(e.set("k", strconv.Itoa(i)))
	}
	if !w.NeedsRewrite() {
		t.Fatalf("no rewrite needed at %+v", w.Stats())
	}
	w2 := openWriter(t, DirFS(openDir(t, "")), Options{RewritePercent: -1, RewriteMinSize: 1})
	defer w2.Close()
	w2.Commit(w2.Append(set(1)...))
	if w2.NeedsRewrite() {
		t.Fatal("disabled auto rewrite")
	}
	info := string(w.Stats().AppendInfo(nil))
	for _, want := range []string{"aof_rewrites:1\r\n", "aof_last_bgrewrite_status:ok\r\n", "aof_last_write_status:ok\r\n", "aof_current_size:"} {
		if !strings.Contains(info, want) {
			t.Fatalf("INFO lacks %q:\n%s", want, info)
		}
	}
}
