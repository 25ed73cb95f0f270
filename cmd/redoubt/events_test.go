package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/eventlog"
)

// writeTestEvents makes the event log of a data directory with n entries
// through eventlog, as the server writes it, in files of about 2 KiB, and
// returns the head hash.
func writeTestEvents(t *testing.T, data string, n int) string {
	t.Helper()
	l, err := eventlog.Open(eventlog.Options{Dir: filepath.Join(data, eventlog.DirName), Instance: "default", MaxFileSize: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		typ := "auth_failed"
		if i%2 == 1 {
			typ = "cross_protocol"
		}
		l.Append(eventlog.Entry{Type: typ, Addr: "10.0.0.1:" + strconv.Itoa(i), Account: "app", Detail: "attempt " + strconv.Itoa(i)})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	return l.Stats().Head
}

// runEvents runs `redoubt events args…` in-process.
func runEvents(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"events"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// eventFile returns the path of event file n of a data directory.
func eventFile(data string, n uint64) string {
	return filepath.Join(data, eventlog.DirName, eventlog.FileName(n))
}

// editEventLines rewrites an event file line by line (lines keep their
// newlines; nil removes one).
func editEventLines(t *testing.T, path string, f func(ls [][]byte) [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ls := f(bytes.SplitAfter(b, []byte("\n")))
	if err := os.WriteFile(path, bytes.Join(ls, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEventsVerifyIntact(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	head := writeTestEvents(t, d, 40)
	code, out, errOut := runEvents("verify", "--data", d)
	if code != 0 || !strings.Contains(out, "event log is intact") || !strings.Contains(out, " 40 entries, seq 1–40") ||
		!strings.Contains(out, "head "+head) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = runEvents("verify", "--data", d, "--head", head)
	if code != 0 || !strings.Contains(out, "is entry 40; 0 entries follow it") {
		t.Fatalf("--head: exit %d\n%s", code, out)
	}
}

// TestEventsVerifyDamaged tampers with the files and checks that verify
// exits 1 naming the file, line, seq and kind of the first damage.
func TestEventsVerifyDamaged(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, d string)
		want   string
	}{
		{"edited", func(t *testing.T, d string) {
			editEventLines(t, eventFile(d, 1), func(ls [][]byte) [][]byte {
				ls[2] = bytes.Replace(ls[2], []byte("auth_failed"), []byte("auth_passed"), 1)
				return ls
			})
		}, "DAMAGED: events-00000001.jsonl line 3 (seq 3): edited"},
		{"removed", func(t *testing.T, d string) {
			editEventLines(t, eventFile(d, 1), func(ls [][]byte) [][]byte { return append(ls[:1:1], ls[2:]...) })
		}, "DAMAGED: events-00000001.jsonl line 2 (seq 3): removed: seq 2 is missing"},
		{"reordered", func(t *testing.T, d string) {
			editEventLines(t, eventFile(d, 1), func(ls [][]byte) [][]byte { ls[3], ls[4] = ls[4], ls[3]; return ls })
		}, "DAMAGED: events-00000001.jsonl line 4 (seq 5): reordered"},
		{"middle file removed", func(t *testing.T, d string) {
			if err := os.Remove(eventFile(d, 2)); err != nil {
				t.Fatal(err)
			}
		}, "DAMAGED: events-00000003.jsonl line 1"},
		{"not JSON", func(t *testing.T, d string) {
			if err := os.WriteFile(eventFile(d, 2), []byte("\x00\x01\x02garbage\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "DAMAGED: events-00000002.jsonl line 1: bad line"},
		{"truncated last line", func(t *testing.T, d string) {
			files, _ := filepath.Glob(filepath.Join(d, eventlog.DirName, "events-*.jsonl"))
			last := files[len(files)-1]
			b, _ := os.ReadFile(last)
			if err := os.WriteFile(last, b[:len(b)-7], 0o600); err != nil {
				t.Fatal(err)
			}
		}, ": torn: the file ends inside a line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "d")
			writeTestEvents(t, d, 40)
			tt.tamper(t, d)
			code, out, errOut := runEvents("verify", "--data", d)
			if code != 1 || !strings.Contains(out, tt.want) || strings.Contains(out, "intact") {
				t.Fatalf("exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", code, tt.want, out, errOut)
			}
		})
	}
}

// TestEventsVerifyHead cuts the newest entries off the end, which the
// chain alone cannot show; the head the server reported does.
func TestEventsVerifyHead(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	head := writeTestEvents(t, d, 10)
	files, _ := filepath.Glob(filepath.Join(d, eventlog.DirName, "events-*.jsonl"))
	editEventLines(t, files[len(files)-1], func(ls [][]byte) [][]byte { return ls[:len(ls)-3] })
	if code, out, _ := runEvents("verify", "--data", d); code != 0 {
		t.Fatalf("without --head: exit %d\n%s", code, out)
	}
	code, out, _ := runEvents("verify", "--data", d, "--head", head)
	if code != 1 || !strings.Contains(out, "is not in the log") {
		t.Fatalf("with --head: exit %d\n%s", code, out)
	}
}

func TestEventsUsage(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	writeTestEvents(t, a, 3)
	writeTestEvents(t, b, 7)
	cfg := filepath.Join(tmp, "redoubt.yaml")
	body := "instances:\n  - name: default\n    data: " + a + "\n  - name: other\n    listen: 127.0.0.1:1\n    data: " + b + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	noEvents := filepath.Join(tmp, "empty")
	if err := os.Mkdir(noEvents, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "missing")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"no subcommand", nil, 2, "Usage: redoubt events verify"},
		{"unknown subcommand", []string{"check"}, 2, `unknown command "check"`},
		{"help", []string{"--help"}, 0, "redoubt events list"},
		{"verify help", []string{"verify", "--help"}, 0, "--head"},
		{"list help", []string{"list", "--help"}, 0, "--since"},
		{"no directory", []string{"verify"}, 2, "--data DIR"},
		{"both", []string{"verify", "--data", a, "--config", cfg}, 2, "not both"},
		{"extra argument", []string{"verify", "--data", a, "x"}, 2, `unexpected argument "x"`},
		{"missing directory", []string{"verify", "--data", missing}, 1, "does not exist"},
		{"no event log", []string{"verify", "--data", noEvents}, 0, "holds no event log"},
		{"config default instance", []string{"verify", "--config", cfg}, 0, " 3 entries"},
		{"config named instance", []string{"verify", "--config", cfg, "--instance", "other"}, 0, " 7 entries"},
		{"config unknown instance", []string{"verify", "--config", cfg, "--instance", "nope"}, 2, `no instance "nope"`},
		{"list bad time", []string{"list", "--data", a, "--since", "yesterday"}, 2, "--since"},
		{"list bad limit", []string{"list", "--data", a, "--limit", "-1"}, 2, "--limit"},
		{"list config", []string{"list", "--config", cfg, "--instance", "other", "--limit", "1"}, 0, "attempt 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runEvents(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("events verify created the missing directory")
	}
	if _, err := os.Stat(filepath.Join(noEvents, eventlog.DirName)); err == nil {
		t.Fatal("events verify created an event directory")
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "redoubt events verify --data DIR") {
		t.Fatalf("redoubt --help does not list events verify:\n%s", errOut.String())
	}
}

func TestEventsList(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	writeTestEvents(t, d, 20)

	code, out, errOut := runEvents("list", "--data", d, "--type", "cross_protocol", "--limit", "3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for i, want := range []string{"#16  cross_protocol  default  addr=10.0.0.1:15  account=app  detail=\"attempt 15\"", "#18 ", "#20 "} {
		if !strings.Contains(lines[i], want) {
			t.Fatalf("line %d %q lacks %q", i, lines[i], want)
		}
	}

	code, out, _ = runEvents("list", "--data", d, "--json", "--type", "auth_failed,cross_protocol", "--limit", "0")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 20 {
		t.Fatalf("--json: exit %d, %d lines", code, len(lines))
	}
	var e eventlog.Entry
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Seq != 1 || e.Hash == "" || e.Account != "app" {
		t.Fatalf("--json line %s: %v", lines[0], err)
	}
	code, out, _ = runEvents("list", "--data", d, "--since", e.Time.Add(1).Format("2006-01-02T15:04:05.999999999Z07:00"), "--limit", "0")
	if code != 0 || strings.Count(out, "\n") != 19 {
		t.Fatalf("--since: exit %d\n%s", code, out)
	}
}

// TestEventsListEscapes writes an entry full of terminal escapes and line
// breaks: list prints it on one line, with nothing raw.
func TestEventsListEscapes(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	l, err := eventlog.Open(eventlog.Options{Dir: filepath.Join(d, eventlog.DirName)})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(eventlog.Entry{Type: "cross_protocol", Account: "\x1b]0;owned\x07", Detail: "GET /\r\n2026-01-01T00:00:00.000Z  #99  admin_login",
		Fields: map[string]string{"k\u202e": "v=1"}})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runEvents("list", "--data", d)
	if code != 0 || strings.Count(out, "\n") != 1 || strings.ContainsAny(out, "\x1b\x07\r\u202e") {
		t.Fatalf("exit %d: %q", code, out)
	}
	if !strings.Contains(out, `account="\x1b]0;owned\a"`) || !strings.Contains(out, `"k\u202e"="v=1"`) {
		t.Fatalf("%q", out)
	}
}

func TestEventsPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text: 1–2":    "plain text: 1–2",
		"a\x1b[31mb\n":       `a\x1b[31mb\n`,
		"bidi \u202e":        `bidi \u202e`,
		"bad utf-8 \xff end": `bad utf-8 \ufffd end`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
