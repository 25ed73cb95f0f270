package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func testEntry() Entry {
	return Entry{
		Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 123, time.UTC), Type: "auth_failed",
		Instance: "default", Addr: "10.0.0.5:51234", Account: "app", Detail: "wrong password",
		Fields: map[string]string{"b": "2", "a": "1"}, Prev: ZeroHash,
	}
}

// TestHashDefinition checks the documented definition of the hash: the
// SHA-256 of the line's bytes before `,"hash":`.
func TestHashDefinition(t *testing.T) {
	e := testEntry()
	line, h, err := encode(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":7,"time":"2026-01-02T03:04:05.000000123Z","type":"auth_failed","instance":"default",` +
		`"addr":"10.0.0.5:51234","account":"app","detail":"wrong password","fields":{"a":"1","b":"2"},` +
		`"prev":"` + ZeroHash + `"`
	sum := sha256.Sum256([]byte(want))
	if h != hex.EncodeToString(sum[:]) {
		t.Fatalf("hash %s, want the SHA-256 of %s", h, want)
	}
	if got := string(line); got != want+`,"hash":"`+h+"\"}\n" {
		t.Fatalf("line\n%s", got)
	}
	got, decoded, lerr := parseLine(bytes.TrimSuffix(line, []byte("\n")))
	if lerr != nil || !decoded {
		t.Fatal(lerr)
	}
	if got.Hash != h || got.Seq != 7 || got.Fields["b"] != "2" || !got.Time.Equal(e.Time) {
		t.Fatalf("parsed %+v", got)
	}
}

func TestParseLine(t *testing.T) {
	e := testEntry()
	good, _, err := encode(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	good = bytes.TrimSuffix(good, []byte("\n"))
	rehash := func(body string) string { // a line with a correct hash over body
		sum := sha256.Sum256([]byte(body))
		return body + `,"hash":"` + hex.EncodeToString(sum[:]) + `"}`
	}
	body := string(good[:len(good)-suffixLen])
	tests := []struct {
		name string
		line string
		kind Kind // "" for sound
	}{
		{"sound", string(good), ""},
		{"edited field", strings.Replace(string(good), `"app"`, `"adm"`, 1), Edited},
		{"edited seq", strings.Replace(string(good), `"seq":7`, `"seq":8`, 1), Edited},
		{"edited hash", string(good[:len(good)-3]) + `0"}`, Edited},
		{"empty", "", BadLine},
		{"not json", "hello world", BadLine},
		{"no hash", body + "}", BadLine},
		{"uppercase hash", strings.ToUpper(string(good[:1])) + string(good[1:len(good)-66]) + strings.ToUpper(string(good[len(good)-66:len(good)-2])) + `"}`, BadLine},
		{"unknown field", rehash(strings.Replace(body, `{"seq":7`, `{"seq":7,"extra":1`, 1)), BadLine},
		{"no seq", rehash(strings.Replace(body, `"seq":7,`, ``, 1)), BadLine},
		{"bad prev", rehash(strings.Replace(body, ZeroHash, "xyz", 1)), BadLine},
		{"no type", rehash(strings.Replace(body, `"type":"auth_failed",`, ``, 1)), BadLine},
		{"bad time", rehash(strings.Replace(body, `"2026-01-02T03:04:05.000000123Z"`, `"yesterday"`, 1)), BadLine},
		{"not an object", rehash(`[1,2,3` + strings.Repeat(" ", 10)), BadLine},
		{"too long", string(good[:1]) + strings.Repeat(" ", MaxLine) + string(good[1:]), BadLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, lerr := parseLine([]byte(tt.line))
			switch {
			case tt.kind == "" && lerr != nil:
				t.Fatalf("want sound, got %v", lerr)
			case tt.kind != "" && lerr == nil:
				t.Fatalf("want %s, got sound", tt.kind)
			case tt.kind != "" && lerr.kind != tt.kind:
				t.Fatalf("want %s, got %v", tt.kind, lerr)
			}
		})
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes
		{"ééé", 5, "éé"},
		{"\xff\xff\xff", 2, "\xff\xff"},
		{"€", 0, ""},
	} {
		if got := clip(tt.s, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestLargestEntryFits checks that an entry at every limit, made of the
// characters JSON escapes the most, still fits in MaxLine.
func TestLargestEntryFits(t *testing.T) {
	worst := strings.Repeat("\x01", 4096) // \u0001: six bytes each
	e := Entry{Seq: 1<<64 - 1, Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		Type: worst, Instance: worst, Addr: worst, Account: worst, Detail: worst, Fields: map[string]string{}}
	for i := range 100 {
		e.Fields[string(rune('A'+i))+strings.Repeat("\x01", 100)] = worst
	}
	sanitize(&e)
	if len(e.Fields) != maxFields || len(e.Detail) != maxDetail {
		t.Fatalf("sanitize kept %d fields, detail of %d bytes", len(e.Fields), len(e.Detail))
	}
	e.Prev = ZeroHash
	line, _, err := encode(nil, &e)
	if err != nil {
		t.Fatalf("%v (%d bytes)", err, len(line))
	}
	if _, _, lerr := parseLine(bytes.TrimSuffix(line, []byte("\n"))); lerr != nil {
		t.Fatal(lerr)
	}
	for k, v := range e.Fields {
		if !utf8.ValidString(k) || len(v) > maxFieldValue {
			t.Fatalf("field %q: %d bytes", k, len(v))
		}
	}
}

func TestSanitizeCopiesFields(t *testing.T) {
	m := map[string]string{"a": "1"}
	e := Entry{Fields: m}
	sanitize(&e)
	m["a"] = "changed"
	if e.Fields["a"] != "1" {
		t.Fatal("sanitize kept the caller's map")
	}
}

func TestFileName(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    uint64
		ok   bool
	}{
		{"events-00000001.jsonl", 1, true},
		{"events-123456789.jsonl", 123456789, true},
		{"events-1.jsonl", 0, false},
		{"events-00000000.jsonl", 0, false},
		{"events-0000000x.jsonl", 0, false},
		{"events-00000001.jsonl.bak", 0, false},
		{"events-+0000001.jsonl", 0, false},
		{"events-99999999999999999999.jsonl", 0, false},
	} {
		n, ok := parseFileName(tt.name)
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseFileName(%q) = %d, %v", tt.name, n, ok)
		}
		if ok && FileName(n) != tt.name {
			t.Errorf("FileName(%d) = %q", n, FileName(n))
		}
	}
}
