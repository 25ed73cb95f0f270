package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// seedLines returns the lines of a real log: rotated, pruned, with a
// dropped count and a crash recovery.
func seedLines(f *testing.F) [][]byte {
	dir := writeLog(f, 12, 1<<10)
	var out [][]byte
	for _, name := range names(f, dir) {
		out = append(out, lines(f, filepath.Join(dir, name))...)
	}
	return out
}

// fuzzSeeds adds seeds of whole files to f and returns a sound first
// file for the fuzzed one to follow.
func fuzzSeeds(f *testing.F) []byte {
	ls := seedLines(f)
	f.Add(bytes.Join(ls, nil))
	f.Add(bytes.Join(ls[:3], nil))
	f.Add(ls[0][:len(ls[0])/2])
	f.Add([]byte("{}\n\n\n"))
	f.Add([]byte(`{"seq":1,"time":"2026-01-02T03:04:05Z","type":"x","instance":"","prev":"` + ZeroHash + `","hash":"` + ZeroHash + `"}` + "\n"))
	f.Add(bytes.Repeat([]byte("z"), MaxLine+10))
	return bytes.Join(ls[:2], nil)
}

// fuzzDir makes a directory with a sound first event file and data as
// the second.
func fuzzDir(t *testing.T, first, data []byte) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName(1)), first, FileMode); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName(2)), data, FileMode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// FuzzVerify writes arbitrary bytes as the second of two event files and
// checks that Verify and Walk never panic and that the report is
// consistent.
func FuzzVerify(f *testing.F) {
	first := fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := fuzzDir(t, first, data)
		rep, err := Verify(dir)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK != (rep.First == nil) || rep.OK != (rep.Problems == 0) || rep.Files != 2 {
			t.Fatalf("inconsistent report %+v", rep)
		}
		n := 0
		if err := Walk(dir, func(Entry) error { n++; return nil }); err != nil || n != rep.Entries {
			t.Fatalf("Walk: %d entries, %v; Verify: %d", n, err, rep.Entries)
		}
	})
}

// FuzzResume opens a Log on a directory whose newest file holds arbitrary
// bytes: it must start, never change what it does not append to, and
// write a sound file itself.
func FuzzResume(f *testing.F) {
	first := fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := fuzzDir(t, first, data)
		l, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		l.Append(Entry{Type: "after"})
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		st := l.Stats()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		// The file the Log wrote last is sound on its own.
		files := names(t, dir)
		last := files[len(files)-1]
		v := checkFile(filepath.Join(dir, last), last)
		if v.rep.First != nil || v.torn != nil || v.rep.Head != st.Head || st.Written == 0 {
			t.Fatalf("the log's own file %s: %v %v (head %s, stats %+v)", last, v.rep.First, v.torn, v.rep.Head, st)
		}
		// It appended to the file, or left it alone and started a new one.
		now := mustRead(t, filepath.Join(dir, FileName(2)))
		if !bytes.HasPrefix(now, data) || (len(files) > 2 && len(now) != len(data)) {
			t.Fatal("the log changed the file it resumed from")
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseLine checks that parseLine never panics, that a sound line's
// hash is the SHA-256 of its bytes before `,"hash":`, and that a sound
// entry encodes again to a sound line with the same contents.
func FuzzParseLine(f *testing.F) {
	for _, l := range seedLines(f) {
		f.Add(bytes.TrimSuffix(l, []byte("\n")))
	}
	f.Add([]byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, decoded, lerr := parseLine(line)
		if lerr != nil {
			if lerr.kind != Edited && decoded {
				t.Fatalf("decoded with %v", lerr)
			}
			return
		}
		sum := sha256.Sum256(line[:len(line)-suffixLen])
		if e.Hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("sound line with hash %s", e.Hash)
		}
		again, h, err := encode(nil, &e)
		if err != nil {
			return // a forged line JSON does not write that compactly
		}
		e2, _, lerr := parseLine(bytes.TrimSuffix(again, []byte("\n")))
		if lerr != nil {
			t.Fatalf("re-encoded %s: %v", again, lerr)
		}
		if e2.Hash != h || e2.Seq != e.Seq || e2.Type != e.Type || e2.Prev != e.Prev || e2.Detail != e.Detail ||
			!e2.Time.Equal(e.Time) || len(e2.Fields) != len(e.Fields) {
			t.Fatalf("round trip %+v → %+v", e, e2)
		}
	})
}
