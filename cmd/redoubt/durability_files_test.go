package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/aof"
)

// respSpan is one command of an append-only file: its bytes
// [start, end) and its arguments.
type respSpan struct {
	start, end int
	args       []string
}

// parseAOF splits a file of RESP commands (arrays of bulk strings) into
// its commands; the file must be well formed.
func parseAOF(t *testing.T, data []byte) []respSpan {
	t.Helper()
	var out []respSpan
	line := func(at int) (string, int) {
		i := bytes.Index(data[at:], []byte("\r\n"))
		if i < 0 {
			t.Fatalf("offset %d: no line end", at)
		}
		return string(data[at : at+i]), at + i + 2
	}
	for off := 0; off < len(data); {
		start := off
		hdr, next := line(off)
		if !strings.HasPrefix(hdr, "*") {
			t.Fatalf("offset %d: %q is not an array header", off, hdr)
		}
		n, _ := strconv.Atoi(hdr[1:])
		off = next
		var args []string
		for range n {
			b, next := line(off)
			size, err := strconv.Atoi(strings.TrimPrefix(b, "$"))
			if !strings.HasPrefix(b, "$") || err != nil {
				t.Fatalf("offset %d: %q is not a bulk header", off, b)
			}
			args = append(args, string(data[next:next+size]))
			off = next + size + 2
		}
		out = append(out, respSpan{start: start, end: off, args: args})
	}
	return out
}

// incrFile returns the path of the incremental file the AOF in data
// appends to (the last one the manifest names) and the manifest.
func incrFile(t *testing.T, data string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, aof.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := aof.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(data, m.Incrs[len(m.Incrs)-1].Name), string(b)
}

// findSpan returns the index of the last command whose arguments are args.
func findSpan(t *testing.T, spans []respSpan, args ...string) int {
	t.Helper()
	for i := len(spans) - 1; i >= 0; i-- {
		if strings.EqualFold(strings.Join(spans[i].args, " "), strings.Join(args, " ")) {
			return i
		}
	}
	t.Fatalf("no command %q in the file", args)
	return -1
}

// TestTornTailIsTruncated writes data through the binary, stops it, cuts
// the last incremental file as a crash in the middle of a write would
// (inside the last command, inside a trailing MULTI … EXEC block, with
// zero bytes after the cut), and restarts: the instance starts, warns
// naming the file and the offset where the torn command started, keeps
// everything before it and nothing of the torn command or transaction,
// and appends cleanly after the cut.
func TestTornTailIsTruncated(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		name string
		tx   bool // the file ends with a MULTI … EXEC block
		// cut returns where the file is cut, given the span of the last
		// command and of the transaction's first command, and what is
		// appended after the cut.
		cut func(last, first respSpan) (int, []byte)
	}{
		{"inside the last command", false, func(last, _ respSpan) (int, []byte) { return (last.start + last.end) / 2, nil }},
		{"after the last command's header", false, func(last, _ respSpan) (int, []byte) { return last.start + 4, nil }},
		{"one byte short", false, func(last, _ respSpan) (int, []byte) { return last.end - 1, nil }},
		{"inside the command, zeros after", false, func(last, _ respSpan) (int, []byte) {
			return (last.start + last.end) / 2, make([]byte, 4096)
		}},
		{"inside EXEC", true, func(last, _ respSpan) (int, []byte) { return last.end - 3, nil }},
		{"before EXEC", true, func(last, _ respSpan) (int, []byte) { return last.start, nil }},
		{"inside the transaction's first SET", true, func(_, first respSpan) (int, []byte) { return first.end + 10, nil }},
		{"before EXEC, zeros after", true, func(last, _ respSpan) (int, []byte) { return last.start, make([]byte, 512) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			data := filepath.Join(t.TempDir(), "d")
			in := newDurInstance(t, bin, data, "    appendfsync: always\n")
			in.start()
			c := in.client(0)
			for i := range 100 {
				if err := c.Set(ctx, "k"+strconv.Itoa(i), "v"+strconv.Itoa(i), 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.RPush(ctx, "list", "a", "b").Err(); err != nil {
				t.Fatal(err)
			}
			if tt.tx {
				if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "t1", "x", 0)
					p.Incr(ctx, "t2")
					p.RPush(ctx, "list", "c")
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			} else if err := c.Set(ctx, "last", strings.Repeat("z", 100), 0).Err(); err != nil {
				t.Fatal(err)
			}
			in.stop()

			file, _ := incrFile(t, data)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			spans := parseAOF(t, b)
			last := spans[len(spans)-1]
			first, inner := last, last // the torn unit's start; the transaction's first command
			if tt.tx {
				multi := findSpan(t, spans, "MULTI")
				first, inner = spans[multi], spans[multi+1]
				if !strings.EqualFold(last.args[0], "exec") || !strings.EqualFold(strings.Join(inner.args, " "), "SET t1 x") {
					t.Fatalf("the file does not end with the transaction: %q … %q", inner.args, last.args)
				}
			} else if last.args[1] != "last" {
				t.Fatalf("the last command is %q", last.args)
			}
			at, pad := tt.cut(last, inner)
			torn := append(append([]byte{}, b[:at]...), pad...)
			if err := os.WriteFile(file, torn, 0o600); err != nil {
				t.Fatal(err)
			}

			in.start()
			warn := regexp.MustCompile(`level=WARN msg="aof: truncated a torn write[^"]*" .*file=(\S+) offset=(\d+) removed_bytes=(\d+)`)
			m := warn.FindStringSubmatch(in.logs.String())
			if m == nil {
				t.Fatalf("no warning about the torn write in the log:\n%s", in.logs.String())
			}
			if m[1] != file || m[2] != strconv.Itoa(first.start) || m[3] != strconv.Itoa(len(torn)-first.start) {
				t.Errorf("warning names file=%s offset=%s removed=%s, want %s %d %d",
					m[1], m[2], m[3], file, first.start, len(torn)-first.start)
			}
			if fi, err := os.Stat(file); err != nil || fi.Size() != int64(first.start) {
				t.Errorf("after start-up the file is %v bytes (%v), want %d", fi.Size(), err, first.start)
			}
			c = in.client(0)
			for i := range 100 {
				if v, err := c.Get(ctx, "k"+strconv.Itoa(i)).Result(); err != nil || v != "v"+strconv.Itoa(i) {
					t.Fatalf("k%d before the cut: %q %v", i, v, err)
				}
			}
			if l, err := c.LRange(ctx, "list", 0, -1).Result(); err != nil || strings.Join(l, ",") != "a,b" {
				t.Errorf("list = %q %v, want a,b (no element of the torn transaction)", l, err)
			}
			if n, err := c.Exists(ctx, "last", "t1", "t2").Result(); err != nil || n != 0 {
				t.Errorf("%d keys of the torn command or transaction are back (%v)", n, err)
			}
			// New writes go after the cut and a clean restart finds them
			// with no warning.
			if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			in.stop()
			in.start()
			if strings.Contains(in.logs.String(), "torn") {
				t.Errorf("the second start still found a torn tail:\n%s", in.logs.String())
			}
			if v, err := in.client(0).Get(ctx, "after").Result(); err != nil || v != "1" {
				t.Errorf("write after the truncation: %q %v", v, err)
			}
			if n, _ := in.client(0).DBSize(ctx).Result(); n != 102 {
				t.Errorf("DBSIZE %d after the second start, want 102", n)
			}
			in.stop()
		})
	}
}

// TestCorruptMiddleRefusesStart damages a command in the middle of the
// incremental file: the binary must refuse to start with a message naming
// the file, the offset of the damaged command and `redoubt check-aof
// --fix`; after `redoubt check-aof --fix` it starts with the commands
// before the damage.
func TestCorruptMiddleRefusesStart(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		name   string
		damage func(b []byte, s respSpan) // s: the damaged command
	}{
		{"array header", func(b []byte, s respSpan) { b[s.start] = 'X' }},
		{"bulk length", func(b []byte, s respSpan) {
			i := s.start + bytes.Index(b[s.start:], []byte("\r\n$5\r\nk")) // the key's length: $5 → $7
			b[i+3] = '7'
		}},
		{"garbage bytes", func(b []byte, s respSpan) { copy(b[s.start:], bytes.Repeat([]byte{0xff}, 12)) }},
		{"line end", func(b []byte, s respSpan) { b[s.end-1] = 'x' }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			data := filepath.Join(t.TempDir(), "d")
			in := newDurInstance(t, bin, data, "")
			in.start()
			c := in.client(0)
			for i := range 200 {
				if err := c.Set(ctx, fmt.Sprintf("k%04d", i), "v", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			in.stop()
			file, _ := incrFile(t, data)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			spans := parseAOF(t, b)
			victim := spans[findSpan(t, spans, "SET", "k0100", "v")]
			tt.damage(b, victim)
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}

			logs := in.refused()
			want := fmt.Sprintf("%s is corrupt at offset %d", file, victim.start)
			if !strings.Contains(logs, want) || !strings.Contains(logs, "redoubt check-aof --fix") {
				t.Fatalf("the refusal does not say %q and name `redoubt check-aof --fix`:\n%s", want, logs)
			}
			if got, _ := os.ReadFile(file); !bytes.Equal(got, b) {
				t.Fatal("the refused start changed the damaged file")
			}

			out, err := exec.Command(bin, "check-aof", "--fix", "--data", data).CombinedOutput()
			if err != nil {
				t.Fatalf("redoubt check-aof --fix: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "offset "+strconv.Itoa(victim.start)) {
				t.Errorf("check-aof does not name offset %d:\n%s", victim.start, out)
			}
			in.start()
			c = in.client(0)
			if n, err := c.DBSize(ctx).Result(); err != nil || n != 100 {
				t.Fatalf("after the fix: %d keys (%v), want the 100 before the damage", n, err)
			}
			if v, err := c.Get(ctx, "k0099").Result(); err != nil || v != "v" {
				t.Fatalf("k0099 after the fix: %q %v", v, err)
			}
			in.stop()
		})
	}
}

// TestReplaySpeed writes an append-only file of 1,000,000 SET commands in
// the on-disk format (manifest and incremental file), starts the binary
// on it and reads the load time from its log line. The target is 1M
// commands/s; the assertion is a loose 300k/s so a busy CI machine does
// not fail it.
func TestReplaySpeed(t *testing.T) {
	const n = 1_000_000
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	name := aof.Prefix + ".1.incr.aof"
	f, err := os.OpenFile(filepath.Join(data, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		k, v := fmt.Sprintf("key:%07d", i), fmt.Sprintf("value:%07d", i)
		fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	manifest := "file " + name + " seq 1 type i\n"
	if err := os.WriteFile(filepath.Join(data, aof.ManifestName), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	in := newDurInstance(t, bin, data, "")
	in.start()
	m := regexp.MustCompile(`msg="aof: loaded" .*commands=(\d+) .*duration=(\S+)`).FindStringSubmatch(in.logs.String())
	if m == nil {
		t.Fatalf("no `aof: loaded` line with commands and duration:\n%s", in.logs.String())
	}
	d, err := time.ParseDuration(m[2])
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != strconv.Itoa(n) {
		t.Fatalf("loaded %s commands, want %d", m[1], n)
	}
	c := in.client(0)
	if size, err := c.DBSize(context.Background()).Result(); err != nil || size != n {
		t.Fatalf("DBSIZE %d (%v), want %d", size, err, n)
	}
	if v, err := c.Get(context.Background(), "key:0999999").Result(); err != nil || v != "value:0999999" {
		t.Fatalf("last key: %q %v", v, err)
	}
	rate := float64(n) / d.Seconds()
	t.Logf("replayed %d SET commands in %v: %.0f commands/s (target 1,000,000/s)", n, d, rate)
	if rate < 300_000 {
		t.Errorf("replay at %.0f commands/s, below the 300,000/s floor", rate)
	}
	in.stop()
}
