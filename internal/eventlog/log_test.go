package eventlog

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestChainAcrossRotation writes enough to fill several files and checks
// that each file starts from the last hash of the one before.
func TestChainAcrossRotation(t *testing.T) {
	dir := writeLog(t, 300, 4<<10)
	files := names(t, dir)
	if len(files) < 5 {
		t.Fatalf("%d files, want several: %v", len(files), files)
	}
	var prev Entry
	for i, name := range files {
		e, ok := firstEntry(filepath.Join(dir, name))
		if !ok {
			t.Fatalf("%s does not start with an entry", name)
		}
		if i > 0 && (e.Seq != prev.Seq+1 || e.Prev != prev.Hash) {
			t.Fatalf("%s starts at seq %d prev %s; the file before ends at seq %d hash %s", name, e.Seq, e.Prev, prev.Seq, prev.Hash)
		}
		ls := lines(t, filepath.Join(dir, name))
		last, _, lerr := parseLine(ls[len(ls)-2][:len(ls[len(ls)-2])-1])
		if lerr != nil {
			t.Fatal(lerr)
		}
		prev = last
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != FileMode {
			t.Fatalf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != DirMode {
		t.Fatalf("dir: %v, mode %v", err, fi.Mode())
	}
	rep := mustVerify(t, dir)
	if !rep.OK || rep.Entries != 300 || rep.FirstSeq != 1 || rep.LastSeq != 300 || rep.Files != len(files) {
		t.Fatalf("%+v %v", rep, rep.First)
	}
	if rep.Head != prev.Hash {
		t.Fatalf("head %s, want %s", rep.Head, prev.Hash)
	}
}

// TestResume reopens a log and checks that it continues the chain in the
// same file.
func TestResume(t *testing.T) {
	dir := writeLog(t, 10, 0)
	l := openLog(t, Options{Dir: dir})
	appendN(t, l, 5)
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if files := names(t, dir); len(files) != 1 {
		t.Fatalf("files %v, want one", files)
	}
	rep := mustVerify(t, dir)
	if !rep.OK || rep.LastSeq != 15 || st.Seq != 15 || st.Head != rep.Head || st.Written != 5 {
		t.Fatalf("report %+v %v, stats %+v", rep, rep.First, st)
	}
}

// TestResumeDamaged reopens logs whose newest file was torn by a crash or
// damaged: the log starts anyway, leaves the file alone, and goes on in a
// new file whose first entry records it.
func TestResumeDamaged(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(ls [][]byte) [][]byte
		wantOK    bool // Verify accepts the log afterwards
		wantKind  Kind
		recovered int
	}{
		{"torn last line", func(ls [][]byte) [][]byte {
			ls[len(ls)-1] = []byte(`{"seq":11,"time":"2026-01`)
			return ls
		}, true, "", 1},
		{"last line cut before its newline", func(ls [][]byte) [][]byte {
			n := len(ls) - 2
			ls[n] = ls[n][:len(ls[n])-1]
			return ls
		}, true, "", 1},
		{"edited last line", func(ls [][]byte) [][]byte {
			n := len(ls) - 2
			ls[n] = []byte(string(ls[n][:20]) + "X" + string(ls[n][21:]))
			return ls
		}, false, Edited, 0},
		{"garbage file", func([][]byte) [][]byte {
			return [][]byte{[]byte("\x00\x01garbage\n")}
		}, false, BadLine, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeLog(t, 10, 0)
			path := filepath.Join(dir, FileName(1))
			writeLines(t, path, tt.damage(lines(t, path)))
			damaged, _ := os.ReadFile(path)

			l := openLog(t, Options{Dir: dir})
			appendN(t, l, 3)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != string(damaged) {
				t.Fatal("the damaged file was changed")
			}
			files := names(t, dir)
			if len(files) != 2 {
				t.Fatalf("files %v, want a new one", files)
			}
			first, ok := firstEntry(filepath.Join(dir, files[1]))
			if !ok || first.Type != TypeRecovered || first.Fields["file"] != FileName(1) {
				t.Fatalf("the new file starts with %+v", first)
			}
			rep := mustVerify(t, dir)
			if rep.OK != tt.wantOK || rep.Recovered != tt.recovered || (!rep.OK && rep.First.Kind != tt.wantKind) {
				t.Fatalf("%+v first %v", rep, rep.First)
			}
			if !rep.OK && rep.First.File != FileName(1) {
				t.Fatalf("damage reported in %s, want %s", rep.First.File, FileName(1))
			}
		})
	}
}

// TestAppendNeverBlocks floods a log whose writer is stuck: every Append
// returns (the test would hang otherwise), what the queue cannot hold is
// counted, and once the writer moves again the count is in the chain.
func TestAppendNeverBlocks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	stuck := make(chan struct{})
	entered := make(chan struct{}, 1)
	var once sync.Once
	l, err := open(Options{Dir: dir, QueueSize: 64}, func() {
		once.Do(func() {
			entered <- struct{}{}
			<-stuck
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Append(Entry{Type: "first"})
	<-entered // the writer holds the first batch and waits

	const goroutines, each = 8, 12500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				l.Append(Entry{Type: "cross_protocol", Addr: "10.0.0." + strconv.Itoa(g) + ":" + strconv.Itoa(i)})
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	if st.Queued != 64 || st.Dropped != goroutines*each-64 {
		t.Fatalf("queued %d dropped %d", st.Queued, st.Dropped)
	}
	close(stuck)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	es := entries(t, dir)
	if len(es) != 1+64+1 {
		t.Fatalf("%d entries, want %d", len(es), 1+64+1)
	}
	// The count is written before the first entry after the loss.
	if dropped := es[0]; dropped.Type != TypeDropped || dropped.Fields["count"] != strconv.Itoa(goroutines*each-64) {
		t.Fatalf("first entry %+v", dropped)
	}
	if es[1].Type != "first" {
		t.Fatalf("second entry %+v", es[1])
	}
	if rep := mustVerify(t, dir); !rep.OK {
		t.Fatal(rep.First)
	}
}

// TestRetention checks that pruning keeps MaxFiles closed files, records
// each removal in the chain, and that Verify accepts it; removing the
// oldest remaining file by hand is reported.
func TestRetention(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	l := openLog(t, Options{Dir: dir, MaxFileSize: 2 << 10, MaxFiles: 2})
	appendN(t, l, 200)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := names(t, dir)
	if len(files) != 3 {
		t.Fatalf("files %v, want 2 closed and the current", files)
	}
	rep := mustVerify(t, dir)
	if !rep.OK || !rep.Pruned || rep.FirstSeq <= 1 {
		t.Fatalf("%+v %v", rep, rep.First)
	}
	pruned := 0
	for _, e := range entries(t, dir) {
		if e.Type == TypePruned {
			pruned++
		}
	}
	if pruned == 0 {
		t.Fatal("no events_pruned entry left")
	}

	if err := os.Remove(filepath.Join(dir, files[0])); err != nil {
		t.Fatal(err)
	}
	rep = mustVerify(t, dir)
	if rep.OK || rep.First.Kind != Removed || rep.First.File != files[1] || rep.First.Line != 1 {
		t.Fatalf("after removing %s by hand: %+v %v", files[0], rep, rep.First)
	}
}

// TestRetentionMaxAge reopens a log whose closed files are old.
func TestRetentionMaxAge(t *testing.T) {
	dir := writeLog(t, 100, 2<<10)
	files := names(t, dir)
	old := time.Now().Add(-48 * time.Hour)
	for _, name := range files[:3] {
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	l := openLog(t, Options{Dir: dir, MaxFileSize: 2 << 10, MaxFiles: 100, MaxAge: 24 * time.Hour, Now: time.Now})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	now := names(t, dir)
	if now[0] != files[3] {
		t.Fatalf("files %v, were %v", now, files)
	}
	if rep := mustVerify(t, dir); !rep.OK || !rep.Pruned {
		t.Fatalf("%+v %v", rep, rep.First)
	}
}

func TestEntryContents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	l := openLog(t, Options{Dir: dir, Instance: "inst"})
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.FixedZone("X", 3600))
	fields := map[string]string{"before": "a", "after": "b"}
	l.Append(Entry{Time: at, Type: "admin_change", Account: "root", Detail: "set maxclients", Fields: fields,
		Seq: 99, Prev: "forged", Hash: "forged"})
	fields["after"] = "changed after Append"
	l.Append(Entry{Type: "other", Instance: "explicit", Detail: string(make([]byte, 5000))})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	es := entries(t, dir)
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[0]
	if e.Seq != 1 || e.Prev != ZeroHash || !e.Time.Equal(at) || e.Time.Location() != time.UTC ||
		e.Instance != "inst" || e.Fields["after"] != "b" || e.Account != "root" {
		t.Fatalf("%+v", e)
	}
	if es[1].Instance != "explicit" || len(es[1].Detail) != maxDetail || es[1].Time.IsZero() {
		t.Fatalf("%+v", es[1])
	}
}

func TestCloseAndFlush(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	l := openLog(t, Options{Dir: dir})
	appendN(t, l, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := l.Flush(); err != ErrClosed {
		t.Fatalf("Flush after Close: %v", err)
	}
	l.Append(Entry{Type: "late"})
	if st := l.Stats(); st.Dropped != 1 || st.Written != 3 || st.Files != 1 || st.Bytes == 0 || st.Failing {
		t.Fatalf("%+v", st)
	}
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without a directory")
	}
}

// TestSymlinkedFile plants a symlink under the name of the newest file:
// the log neither follows it nor stops.
func TestSymlinkedFile(t *testing.T) {
	dir := writeLog(t, 5, 0)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, FileName(2))); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, Options{Dir: dir})
	appendN(t, l, 2)
	l.Close()
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatal("the log wrote through a symlink")
	}
	rep := mustVerify(t, dir)
	if rep.OK || rep.First.Kind != Unreadable || rep.First.File != FileName(2) || rep.LastSeq != 8 {
		t.Fatalf("%+v %v", rep, rep.First)
	}
}

func BenchmarkAppend(b *testing.B) {
	l := openLog(b, Options{Dir: filepath.Join(b.TempDir(), "events")})
	e := Entry{Type: "cross_protocol", Instance: "default", Addr: "10.0.0.1:51234", Detail: "GET / HTTP/1.1"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Append(e)
		}
	})
	b.StopTimer()
	l.Flush()
	st := l.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
}

func BenchmarkEncode(b *testing.B) {
	e := testEntry()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = encode(buf[:0], &e)
	}
}
