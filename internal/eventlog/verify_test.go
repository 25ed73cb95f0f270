package eventlog

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyDetects tampers with a sound log of three files and checks
// that Verify names the first damage: its kind, file and line.
func TestVerifyDetects(t *testing.T) {
	type spot struct {
		file int // index in the file list
		line int // from 1
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, files []string)
		kind   Kind
		at     spot
		seq    uint64 // 0: not checked
	}{
		{"sound", func(*testing.T, string, []string) {}, "", spot{}, 0},
		{"edited field", func(t *testing.T, dir string, files []string) {
			edit(t, dir, files[1], 3, func(l []byte) []byte { return bytes.Replace(l, []byte("10.0.0.1"), []byte("10.6.6.6"), 1) })
		}, Edited, spot{1, 3}, 0},
		{"edited and rehashed", func(t *testing.T, dir string, files []string) {
			edit(t, dir, files[1], 3, func(l []byte) []byte {
				e, _, _ := parseLine(l[:len(l)-1])
				e.Detail = "nothing happened"
				out, _, _ := encode(nil, &e) // a correct hash, but the next entry names the old one
				return out
			})
		}, ChainBroken, spot{1, 4}, 0},
		{"removed line", func(t *testing.T, dir string, files []string) {
			edit(t, dir, files[1], 2, func([]byte) []byte { return nil })
		}, Removed, spot{1, 2}, 0},
		{"removed last line of a middle file", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[1])
			ls := lines(t, path)
			writeLines(t, path, ls[:len(ls)-2])
		}, Removed, spot{2, 1}, 0},
		{"swapped lines", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[1])
			ls := lines(t, path)
			ls[2], ls[3] = ls[3], ls[2]
			writeLines(t, path, ls)
		}, Reordered, spot{1, 3}, 0},
		{"duplicated line", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[1])
			ls := lines(t, path)
			writeLines(t, path, append(ls[:3:3], ls[2:]...))
		}, Reordered, spot{1, 4}, 0},
		{"removed middle file", func(t *testing.T, dir string, files []string) {
			rm(t, dir, files[1])
		}, Removed, spot{1, 1}, 0}, // files[2] is now the second file
		{"removed oldest file", func(t *testing.T, dir string, files []string) {
			rm(t, dir, files[0])
		}, Removed, spot{0, 1}, 0},
		{"files swapped", func(t *testing.T, dir string, files []string) {
			a, b := filepath.Join(dir, files[0]), filepath.Join(dir, files[1])
			tmp := a + ".tmp"
			for _, r := range [][2]string{{a, tmp}, {b, a}, {tmp, b}} {
				if err := os.Rename(r[0], r[1]); err != nil {
					t.Fatal(err)
				}
			}
		}, Reordered, spot{0, 1}, 0},
		{"truncated last line", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[2])
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b[:len(b)-10], FileMode); err != nil {
				t.Fatal(err)
			}
		}, Torn, spot{2, -1}, 0},
		{"torn line in a middle file", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[1])
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b[:len(b)-10], FileMode); err != nil {
				t.Fatal(err)
			}
		}, Torn, spot{1, -1}, 0},
		{"file not JSON", func(t *testing.T, dir string, files []string) {
			if err := os.WriteFile(filepath.Join(dir, files[1]), []byte("PK\x03\x04 not json\n"), FileMode); err != nil {
				t.Fatal(err)
			}
		}, BadLine, spot{1, 1}, 0},
		{"line too long", func(t *testing.T, dir string, files []string) {
			edit(t, dir, files[1], 2, func([]byte) []byte { return append(bytes.Repeat([]byte("x"), 2*MaxLine), '\n') })
		}, BadLine, spot{1, 2}, 0},
		{"no newline anywhere", func(t *testing.T, dir string, files []string) {
			if err := os.WriteFile(filepath.Join(dir, files[2]), bytes.Repeat([]byte("y"), 3*MaxLine), FileMode); err != nil {
				t.Fatal(err)
			}
		}, Torn, spot{2, 1}, 0},
		{"file is a directory", func(t *testing.T, dir string, files []string) {
			rm(t, dir, files[1])
			if err := os.Mkdir(filepath.Join(dir, files[1]), 0o700); err != nil {
				t.Fatal(err)
			}
		}, Unreadable, spot{1, 0}, 0},
		{"first entry not genesis", func(t *testing.T, dir string, files []string) {
			edit(t, dir, files[0], 1, func(l []byte) []byte {
				e, _, _ := parseLine(l[:len(l)-1])
				e.Prev = strings.Repeat("1", 64)
				out, _, _ := encode(nil, &e)
				return out
			})
		}, ChainBroken, spot{0, 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeLog(t, 60, 2<<10)
			files := names(t, dir)
			if len(files) < 3 {
				t.Fatalf("files %v", files)
			}
			tt.tamper(t, dir, files)
			rep := mustVerify(t, dir)
			if tt.kind == "" {
				if !rep.OK || rep.First != nil || rep.Entries != 60 {
					t.Fatalf("%+v %v", rep, rep.First)
				}
				return
			}
			p := rep.First
			if rep.OK || p == nil || rep.Problems == 0 {
				t.Fatalf("not detected: %+v", rep)
			}
			wantFile := names(t, dir)[tt.at.file]
			if p.Kind != tt.kind || p.File != wantFile || (tt.at.line >= 0 && p.Line != tt.at.line) {
				t.Fatalf("first problem %v, want %s in %s line %d", p, tt.kind, wantFile, tt.at.line)
			}
			if tt.seq != 0 && p.Seq != tt.seq {
				t.Fatalf("seq %d, want %d", p.Seq, tt.seq)
			}
			if !strings.Contains(p.String(), string(tt.kind)) || !strings.Contains(p.String(), p.File) {
				t.Fatalf("String() = %q", p.String())
			}
		})
	}
}

// edit replaces line n (from 1, with its newline) of an event file.
func edit(t *testing.T, dir, name string, n int, f func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	ls := lines(t, path)
	ls[n-1] = f(ls[n-1])
	writeLines(t, path, ls)
}

func rm(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyEmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an event file"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir)
	if !rep.OK || rep.Files != 0 || rep.Entries != 0 {
		t.Fatalf("empty dir: %+v", rep)
	}
	if _, err := Verify(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
	// An empty event file (a crash right after creating it) is sound.
	if err := os.WriteFile(filepath.Join(dir, FileName(1)), nil, FileMode); err != nil {
		t.Fatal(err)
	}
	if rep := mustVerify(t, dir); !rep.OK || rep.Files != 1 {
		t.Fatalf("empty file: %+v", rep)
	}
}

// TestVerifyCountsEveryProblem damages two places: the first is named,
// both are counted.
func TestVerifyCountsEveryProblem(t *testing.T) {
	dir := writeLog(t, 60, 2<<10)
	files := names(t, dir)
	edit(t, dir, files[2], 2, func(l []byte) []byte { return bytes.Replace(l, []byte("entry"), []byte("ENTRY"), 1) })
	edit(t, dir, files[0], 4, func(l []byte) []byte { return bytes.Replace(l, []byte("entry"), []byte("ENTRY"), 1) })
	rep := mustVerify(t, dir)
	if rep.Problems != 2 || rep.First.File != files[0] || rep.First.Line != 4 || rep.Entries != 58 {
		t.Fatalf("%+v %v", rep, rep.First)
	}
}

func TestQuery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	c := newClock()
	l := openLog(t, Options{Dir: dir, Instance: "a", Now: c.Now, MaxFileSize: 1 << 10})
	for i := range 30 {
		typ := "auth_failed"
		if i%3 == 0 {
			typ = "cross_protocol"
		}
		l.Append(Entry{Type: typ, Detail: string(rune('a' + i%26))})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	all := entries(t, dir)
	if len(all) != 30 {
		t.Fatalf("%d entries", len(all))
	}
	tests := []struct {
		name  string
		f     Filter
		first uint64 // seq of the first result
		n     int
	}{
		{"all", Filter{}, 1, 30},
		{"type", Filter{Types: []string{"cross_protocol"}}, 1, 10},
		{"types", Filter{Types: []string{"cross_protocol", "auth_failed"}}, 1, 30},
		{"limit keeps the newest", Filter{Limit: 5}, 26, 5},
		{"type and limit", Filter{Types: []string{"cross_protocol"}, Limit: 3}, 22, 3},
		{"since", Filter{Since: all[10].Time}, 11, 20},
		{"until", Filter{Until: all[10].Time}, 1, 10},
		{"instance", Filter{Instance: "b"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Query(dir, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n || (tt.n > 0 && got[0].Seq != tt.first) {
				t.Fatalf("%d entries from seq %v", len(got), got)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Seq <= got[i-1].Seq {
					t.Fatal("not oldest first")
				}
			}
		})
	}
}
