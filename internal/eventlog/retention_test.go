package eventlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRetentionCarriesDamage: damage in the oldest file, or at its end, is
// still reported after retention removes the file, and after it removes
// the files after it too.
func TestRetentionCarriesDamage(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, files []string)
		kind   Kind
	}{
		{"edited line in the oldest file", func(t *testing.T, dir string, files []string) {
			edit(t, dir, files[0], 3, func(l []byte) []byte { return bytes.Replace(l, []byte("entry"), []byte("ENTRY"), 1) })
		}, Edited},
		{"last line of the oldest file removed", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[0])
			ls := lines(t, path)
			writeLines(t, path, ls[:len(ls)-2])
		}, Removed},
		{"oldest file torn, no entry names it", func(t *testing.T, dir string, files []string) {
			path := filepath.Join(dir, files[0])
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b[:len(b)-10], FileMode); err != nil {
				t.Fatal(err)
			}
		}, Torn},
		{"second file removed", func(t *testing.T, dir string, files []string) {
			rm(t, dir, files[1])
		}, Removed},
		{"oldest file removed", func(t *testing.T, dir string, files []string) {
			rm(t, dir, files[0])
		}, Removed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeLog(t, 80, 2<<10)
			files := names(t, dir)
			tt.tamper(t, dir, files)
			if rep := mustVerify(t, dir); rep.OK || rep.First.Kind != tt.kind {
				t.Fatalf("not detected to begin with: %v", rep.First)
			}
			// One pass that removes one file or two, then many.
			for _, maxFiles := range []int{len(names(t, dir)) - 2, 1} {
				rvReopen(t, dir, Options{MaxFileSize: 2 << 10, MaxFiles: maxFiles}, 30)
				rep := mustVerify(t, dir)
				if rep.OK || rep.First.Kind != tt.kind || rep.Pruned {
					t.Fatalf("MaxFiles %d: %+v %v", maxFiles, rep, rep.First)
				}
			}
			if now := names(t, dir); now[0] == files[0] || now[0] == files[1] || now[0] == files[2] {
				t.Fatalf("retention did not run: %v", now)
			}
		})
	}
}

// TestVerifyHead: the trusted head is located; an events_pruned entry after
// it does not account for the start of the log.
func TestVerifyHead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	l := openLog(t, Options{Dir: dir, MaxFileSize: 2 << 10, MaxFiles: 3})
	appendN(t, l, 60)
	early := l.Stats()
	appendN(t, l, 60) // retention goes on after the head was taken
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	late := l.Stats() // the head at shutdown, as the server logs it
	rep, err := VerifyHead(dir, strings.ToUpper(late.Head))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.HeadSeq != late.Seq || !rep.Pruned || rep.PrunedBy == 0 || rep.PrunedBy > late.Seq {
		t.Fatalf("newest head: %+v %v", rep, rep.First)
	}
	// The early head was pruned away with its file.
	if rep, _ := VerifyHead(dir, early.Head); rep.HeadSeq != 0 {
		t.Fatalf("early head found: %+v", rep)
	}
	// A head before the events_pruned entry that accounts for the start.
	var mid Entry
	for _, e := range entries(t, dir) {
		if e.Seq < rep.PrunedBy && e.Seq > rep.FirstSeq {
			mid = e
		}
	}
	rep, _ = VerifyHead(dir, mid.Hash)
	if rep.OK || rep.HeadSeq != mid.Seq || rep.First.Kind != Unconfirmed || rep.First.Seq != rep.FirstSeq {
		t.Fatalf("head before the pruned entry: %+v %v", rep, rep.First)
	}
	if rep, _ := Verify(dir); !rep.OK {
		t.Fatalf("%v", rep.First)
	}
}
