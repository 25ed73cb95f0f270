package aof

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tornFixture is a small AOF: plain commands and a MULTI block. ends
// lists the offsets where a load may stop (after a command outside a
// MULTI block), with the commands replayed by then.
func tornFixture() (data []byte, ends []int64, replayed [][]string) {
	multi := [][]byte{[]byte("MULTI")}
	exec := [][]byte{[]byte("EXEC")}
	incr := [][]byte{[]byte("INCR"), []byte("n")}
	cmds := [][][]byte{set(0), set(1), multi, incr, set(2), exec, set(3), [][]byte{[]byte("DEL"), []byte("")}}
	commit := []bool{true, true, false, false, false, true, true, true}
	var done []string
	var pending []string
	ends = append(ends, 0)
	replayed = append(replayed, nil)
	for i, c := range cmds {
		data = encode(append([][][]byte{}, cmds[:i+1]...)...)
		parts := make([]string, len(c))
		for j, a := range c {
			parts[j] = string(a)
		}
		pending = append(pending, strings.Join(parts, " "))
		if commit[i] {
			done = append(done, pending...)
			pending = nil
			ends = append(ends, int64(len(data)))
			replayed = append(replayed, append([]string(nil), done...))
		}
	}
	return data, ends, replayed
}

// TestTornTailEveryCut cuts the file at every byte (and pads some cuts
// with zero bytes, as a file system may after a crash): Load replays the
// complete commands before the cut, truncates at the last one with a
// warning, and the next Open appends cleanly after it.
func TestTornTailEveryCut(t *testing.T) {
	data, ends, replayed := tornFixture()
	for cut := 0; cut <= len(data); cut++ {
		for _, pad := range []int{0, 7} {
			t.Run(fmt.Sprintf("cut%d+%d", cut, pad), func(t *testing.T) {
				d := openDir(t, "")
				content := append(append([]byte{}, data[:cut]...), make([]byte, pad)...)
				name := writeAOF(t, d.Path(), content)
				// The expected stop: the last commit point at or before the cut.
				k := 0
				for i, e := range ends {
					if e <= int64(cut) {
						k = i
					}
				}
				var logBuf bytes.Buffer
				var c collector
				info, err := Load(DirFS(d), logger(&logBuf), nil, c.cmd)
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if !equal(c.cmds, replayed[k]) {
					t.Fatalf("replayed %q, want %q", c.cmds, replayed[k])
				}
				fi, _ := os.Stat(filepath.Join(d.Path(), name))
				if fi.Size() != ends[k] {
					t.Fatalf("file is %d bytes, want %d", fi.Size(), ends[k])
				}
				torn := int64(len(content)) != ends[k]
				if torn != (info.Truncated != nil) {
					t.Fatalf("Truncated = %+v, torn %v", info.Truncated, torn)
				}
				if torn {
					msg := logBuf.String()
					if !strings.Contains(msg, name) || !strings.Contains(msg, fmt.Sprintf("offset=%d", ends[k])) {
						t.Fatalf("warning does not name the file and offset: %s", msg)
					}
				}
				// Appending after the truncation gives a valid file.
				w, err := Open(DirFS(d), info, Options{Log: quiet()})
				if err != nil {
					t.Fatal(err)
				}
				w.Append(set(9)...)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				cmds, _ := load(t, DirFS(d))
				if !equal(cmds, append(append([]string{}, replayed[k]...), setStr(9))) {
					t.Fatalf("after append: %q", cmds)
				}
			})
		}
	}
}

// TestCorruptionRefused: bad bytes before the end refuse the load with
// the file, the offset and the fix; Check reports the same and, with fix,
// keeps a copy and truncates at the last valid command.
func TestCorruptionRefused(t *testing.T) {
	good := encode(set(0), set(1), set(2), set(3))
	rec := int64(len(encode(set(0))))
	tests := []struct {
		name    string
		corrupt func([]byte) []byte
		offset  int64 // of the bad command
		valid   int   // commands before it
	}{
		{"bad array marker", func(b []byte) []byte { b[2*rec] = 'x'; return b }, 2 * rec, 2},
		{"bad bulk marker", func(b []byte) []byte { b[rec+4] = '#'; return b }, rec, 1},
		{"bad length digit", func(b []byte) []byte { b[rec+5] = 'z'; return b }, rec, 1},
		{"missing CR after bulk", func(b []byte) []byte { b[rec+11] = 'Q'; return b }, rec, 1},
		{"inline text in the middle", func(b []byte) []byte {
			return append(append(append([]byte{}, b[:rec]...), "SET a b\r\n"...), b[rec:]...)
		}, rec, 1},
		{"zeros in the middle", func(b []byte) []byte {
			return append(append(append([]byte{}, b[:rec]...), make([]byte, 16)...), b[rec:]...)
		}, rec, 1},
		{"nested MULTI", func(b []byte) []byte {
			m := encode([][]byte{[]byte("MULTI")})
			return append(append(append(append([]byte{}, m...), m...), b...), encode([][]byte{[]byte("EXEC")})...)
		}, int64(len(encode([][]byte{[]byte("MULTI")}))), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openDir(t, "")
			data := tt.corrupt(append([]byte{}, good...))
			name := writeAOF(t, d.Path(), data)
			_, err := Load(DirFS(d), quiet(), nil, func([][]byte) error { return nil })
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Load = %v, want *CorruptError", err)
			}
			if ce.Offset != tt.offset || !strings.HasSuffix(ce.File, name) {
				t.Fatalf("error at %s offset %d, want offset %d", ce.File, ce.Offset, tt.offset)
			}
			msg := err.Error()
			if !strings.Contains(msg, "redoubt check-aof --fix") || !strings.Contains(msg, filepath.Join(d.Path(), name)) ||
				!strings.Contains(msg, fmt.Sprintf("offset %d", tt.offset)) {
				t.Fatalf("unhelpful message: %s", msg)
			}
			// Nothing was changed by the refused load.
			if b, _ := os.ReadFile(filepath.Join(d.Path(), name)); !bytes.Equal(b, data) {
				t.Fatal("Load modified a corrupt file")
			}

			rep, err := Check(DirFS(d), false)
			if err != nil || rep.OK || rep.Files[0].Status != StatusCorrupt || rep.Files[0].Offset != tt.offset {
				t.Fatalf("Check = %+v, %v", rep, err)
			}
			rep, err = Check(DirFS(d), true)
			if err != nil || !rep.Files[0].Fixed || rep.Files[0].Backup != name+".bak" {
				t.Fatalf("Check fix = %+v, %v", rep, err)
			}
			if !strings.Contains(rep.String(), "fixed: truncated") {
				t.Fatalf("report: %s", rep)
			}
			if b, _ := os.ReadFile(filepath.Join(d.Path(), name+".bak")); !bytes.Equal(b, data) {
				t.Fatal("backup differs from the original")
			}
			cmds, _ := load(t, DirFS(d))
			if len(cmds) != tt.valid {
				t.Fatalf("after fix replayed %d commands, want %d", len(cmds), tt.valid)
			}
			rep, err = Check(DirFS(d), false)
			if err != nil || !rep.OK {
				t.Fatalf("Check after fix = %+v, %v", rep, err)
			}
			// A second fix picks a new backup name.
			os.WriteFile(filepath.Join(d.Path(), name), data, 0o600)
			rep, err = Check(DirFS(d), true)
			if err != nil || rep.Files[0].Backup != name+".bak.1" {
				t.Fatalf("second fix: %+v, %v", rep, err)
			}
		})
	}
}

// TestCorruptionInEarlierFile: only the last file may be torn or fixed.
func TestCorruptionInEarlierFile(t *testing.T) {
	d := openDir(t, "")
	m := &Manifest{Incrs: []Entry{{Name: incrName(1), Seq: 1, Kind: KindIncr}, {Name: incrName(2), Seq: 2, Kind: KindIncr}}}
	os.WriteFile(filepath.Join(d.Path(), ManifestName), m.Marshal(), 0o600)
	first := encode(set(0), set(1))
	os.WriteFile(filepath.Join(d.Path(), incrName(1)), first[:len(first)-3], 0o600) // torn, but not last
	os.WriteFile(filepath.Join(d.Path(), incrName(2)), encode(set(2)), 0o600)
	_, err := Load(DirFS(d), quiet(), nil, func([][]byte) error { return nil })
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.HasSuffix(ce.File, incrName(1)) {
		t.Fatalf("Load = %v", err)
	}
	if _, err := Check(DirFS(d), true); err == nil || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("Check fix = %v", err)
	}
}

func TestReplayError(t *testing.T) {
	d := openDir(t, "")
	writeAOF(t, d.Path(), encode(set(0), set(1)))
	boom := errors.New("boom")
	_, err := Load(DirFS(d), quiet(), nil, func(args [][]byte) error {
		if string(args[1]) == "key:1" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", len(encode(set(0))))) {
		t.Fatalf("Load = %v", err)
	}
}

func TestParseManifest(t *testing.T) {
	tests := []struct {
		in   string
		want string // Marshal of the result; "" for an error
	}{
		{"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
			"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"},
		{"# comment\nfile a.rdb seq 2 type h\nseq 3 type i file x.aof\n", "file x.aof seq 3 type i\n"},
		{"file x.aof seq 1 type i startoffset 0\n", "file x.aof seq 1 type i\n"},
		{"file x.aof seq 1 type i", ""},                    // no final newline
		{"file ../x seq 1 type i\n", ""},                   // not a plain name
		{"file x seq 0 type i\n", ""},                      // bad seq
		{"file x seq 1 type z\n", ""},                      // bad type
		{"file x seq 1\n", ""},                             // incomplete
		{"file x seq 1 type b\nfile y seq 2 type b\n", ""}, // two bases
		{"file x seq 2 type i\nfile y seq 1 type i\n", ""}, // out of order
		{"file x seq 1 type i\nfile x seq 2 type i\n", ""}, // twice
		{"\n", ""},                          // empty
		{"file \"x y\" seq 1 type i\n", ""}, // quoted
	}
	for _, tt := range tests {
		m, err := ParseManifest([]byte(tt.in))
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseManifest(%q) accepted", tt.in)
			}
			continue
		}
		if err != nil || string(m.Marshal()) != tt.want {
			t.Errorf("ParseManifest(%q) = %q, %v", tt.in, m.Marshal(), err)
		}
	}
}

// TestFreshAndOrphans: a fresh directory loads empty and Open creates the
// AOF; files of an AOF without a manifest refuse to load; leftovers a
// manifest does not name are removed by Open.
func TestFreshAndOrphans(t *testing.T) {
	d := openDir(t, "")
	_, info := load(t, DirFS(d))
	if !info.Fresh {
		t.Fatal("not fresh")
	}
	w, err := Open(DirFS(d), info, Options{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	w.Append(set(0)...)
	w.Close()
	for _, n := range []string{incrName(7), baseName(3, true) + tmpSuffix, ManifestName + tmpSuffix} {
		os.WriteFile(filepath.Join(d.Path(), n), []byte("junk"), 0o600)
	}
	os.WriteFile(filepath.Join(d.Path(), "unrelated.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(d.Path(), incrName(1)+".bak"), []byte("x"), 0o600)
	w = openWriter(t, DirFS(d), Options{})
	w.Close()
	ents, _ := d.ReadDir()
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := strings.Join([]string{incrName(1), incrName(1) + ".bak", ManifestName, "unrelated.txt"}, ",")
	if strings.Join(names, ",") != want {
		t.Fatalf("files %v, want %s", names, want)
	}
	// Without the manifest, the files are not guessed at.
	os.Remove(filepath.Join(d.Path(), ManifestName))
	if _, err := Load(DirFS(d), quiet(), nil, nil); err == nil || !strings.Contains(err.Error(), "refusing to guess") {
		t.Fatalf("Load without manifest = %v", err)
	}
}

// TestOpenChecksLoad: Open refuses without a LoadInfo, or one that does
// not match the directory.
func TestOpenChecksLoad(t *testing.T) {
	d := openDir(t, "")
	if _, err := Open(DirFS(d), nil, Options{}); err == nil {
		t.Fatal("Open without Load")
	}
	_, info := load(t, DirFS(d))
	w, err := Open(DirFS(d), info, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Commit(w.Append(set(0)...))
	w.Close()
	_, info2 := load(t, DirFS(d))
	f, _ := os.OpenFile(filepath.Join(d.Path(), incrName(1)), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("*3\r\n$3"))
	f.Close()
	if _, err := Open(DirFS(d), info2, Options{}); err == nil || !strings.Contains(err.Error(), "Load it again") {
		t.Fatalf("Open after the file changed = %v", err)
	}
	if _, err := Open(DirFS(d), info, Options{}); err == nil {
		t.Fatal("Open with a stale LoadInfo (fresh)")
	}
}

// TestLegacyAOF: a Redis 6 appendonly.aof becomes the base; an RDB base
// goes to the base loader.
func TestLegacyAOF(t *testing.T) {
	d := openDir(t, "")
	legacy := encode(set(0), set(1))
	os.WriteFile(filepath.Join(d.Path(), LegacyName), append(legacy, "*2\r\n$3"...), 0o600) // torn
	w := openWriter(t, DirFS(d), Options{})
	w.Append(set(2)...)
	w.Close()
	cmds, info := load(t, DirFS(d))
	if !equal(cmds, seqStrs(0, 3)) || info.Manifest.Base.Name != LegacyName {
		t.Fatalf("replayed %v, manifest %s", cmds, info.Manifest.Marshal())
	}

	// An RDB base.
	d2 := openDir(t, "")
	m := &Manifest{Base: &Entry{Name: baseName(1, true), Seq: 1, Kind: KindBase},
		Incrs: []Entry{{Name: incrName(1), Seq: 1, Kind: KindIncr}}}
	os.WriteFile(filepath.Join(d2.Path(), ManifestName), m.Marshal(), 0o600)
	os.WriteFile(filepath.Join(d2.Path(), baseName(1, true)), []byte("REDIS0011...opaque"), 0o600)
	os.WriteFile(filepath.Join(d2.Path(), incrName(1)), encode(set(5)), 0o600)
	var got string
	var c collector
	info, err := Load(DirFS(d2), quiet(), func(r io.Reader) error {
		b, err := io.ReadAll(r)
		got = string(b)
		return err
	}, c.cmd)
	if err != nil || got != "REDIS0011...opaque" || !equal(c.cmds, []string{setStr(5)}) || info.BaseSize != 18 {
		t.Fatalf("Load = %v, base %q, cmds %v", err, got, c.cmds)
	}
	if _, err := Load(DirFS(d2), quiet(), nil, c.cmd); err == nil || !strings.Contains(err.Error(), "no RDB loader") {
		t.Fatalf("Load without an RDB loader = %v", err)
	}
	rep, err := Check(DirFS(d2), false)
	if err != nil || !rep.OK || rep.Files[0].Status != StatusRDB {
		t.Fatalf("Check = %+v %v", rep, err)
	}
}
