package main

// Adversarial review of `redoubt events verify|list` (issue 10). Tests
// named TestReview… that fail show a bug; the others are regression
// checks.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/eventlog"
)

// rvForgeLine encodes an entry as the Log does (fields in the documented
// order) with a correct hash: anyone can, the chain has no key.
func rvForgeLine(t *testing.T, seq uint64, typ, prev string, fields map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(struct {
		Seq      uint64            `json:"seq"`
		Time     time.Time         `json:"time"`
		Type     string            `json:"type"`
		Instance string            `json:"instance"`
		Fields   map[string]string `json:"fields,omitempty"`
		Prev     string            `json:"prev"`
	}{seq, time.Now().UTC(), typ, "default", fields, prev})
	if err != nil {
		t.Fatal(err)
	}
	body := b[:len(b)-1]
	sum := sha256.Sum256(body)
	return append(append(body, `,"hash":"`+hex.EncodeToString(sum[:])+`"}`...), '\n')
}

// rvEntries returns the sound entries of one event file, in order.
func rvFileEntries(t *testing.T, path string) []eventlog.Entry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []eventlog.Entry
	for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e eventlog.Entry
		if err := json.Unmarshal([]byte(ln), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestReviewVerifyHeadVouchesForRemovedOldestFiles: --head promises "it
// must be in the log, which shows that no entry up to it was cut off".
// With the instance stopped, an attacker removes the oldest event files
// (the ones with the events to hide: entries *before* the head) and
// appends one forged events_pruned entry after the head naming the new
// start. Verify takes any events_pruned entry anywhere in the log as
// proof of retention, including one that the trusted head does not
// cover, so `verify --head` reports the log intact and the head found.
// The fix: with --head, an events_pruned entry after the head cannot
// excuse the start (report it as unconfirmed/damaged); Verify should
// say which entry excused the start.
func TestReviewVerifyHeadVouchesForRemovedOldestFiles(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	head := writeTestEvents(t, d, 60) // the head the server logged at shutdown
	files, _ := filepath.Glob(filepath.Join(d, eventlog.DirName, "events-*.jsonl"))
	if len(files) < 4 {
		t.Fatalf("files %v", files)
	}
	// Remove the two oldest files: entries well before the head.
	for _, f := range files[:2] {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	start := rvFileEntries(t, files[2])[0]
	newest := rvFileEntries(t, files[len(files)-1])
	last := newest[len(newest)-1]
	if last.Hash != head {
		t.Fatalf("the newest entry is not the head")
	}
	forged := rvForgeLine(t, last.Seq+1, eventlog.TypePruned, last.Hash, map[string]string{
		"file": filepath.Base(files[1]), "last_seq": strconv.FormatUint(start.Seq-1, 10), "last_hash": start.Prev,
	})
	f, err := os.OpenFile(files[len(files)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(forged); err != nil {
		t.Fatal(err)
	}
	f.Close()

	code, out, _ := runEvents("verify", "--data", d, "--head", head)
	if code == 0 {
		t.Fatalf("entries 1–%d, all before the trusted head (seq %d), were removed by hand and "+
			"verify --head says:\n%s", start.Seq-1, last.Seq, out)
	}
}

// TestReviewListJSONPassesTerminalControls: the plain output of list
// quotes every control character (formatEntry: "an entry cannot send
// control sequences to a terminal"), but --json prints what
// encoding/json leaves raw: C1 controls such as U+009B (CSI, which
// UTF-8 terminals such as xterm and VTE act on), DEL and bidi overrides.
// The JSON stays valid if they are written as \u escapes.
func TestReviewListJSONPassesTerminalControls(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	l, err := eventlog.Open(eventlog.Options{Dir: filepath.Join(d, eventlog.DirName)})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(eventlog.Entry{Type: "cross_protocol", Detail: "\u009b2J\u009b31mowned\x7f \u202eevil"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runEvents("list", "--data", d, "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, r := range out {
		if (r >= 0x7f && r <= 0x9f) || r == '\u202e' {
			t.Fatalf("list --json prints raw %U: %q", r, out)
		}
	}
}

// TestReviewVerifyHostileFiles (regression): verify names damage in files
// that are not event logs at all, without crashing, and prints nothing
// raw from them.
func TestReviewVerifyHostileFiles(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	writeTestEvents(t, d, 10)
	files, _ := filepath.Glob(filepath.Join(d, eventlog.DirName, "events-*.jsonl"))
	bad := `{"seq":1,"time":"2026-01-02T03:04:05Z","type":"\u001b]0;x\u0007","instance":"` + "\x1b[2J" + `","prev":"` +
		eventlog.ZeroHash + `","hash":"` + eventlog.ZeroHash + `"}` + "\n"
	if err := os.WriteFile(files[0], []byte(bad+strings.Repeat("{", 100000)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runEvents("verify", "--data", d)
	if code != 1 || !strings.Contains(out, "DAMAGED") || strings.ContainsAny(out+errOut, "\x1b\x07") {
		t.Fatalf("exit %d\n%q\n%q", code, out, errOut)
	}
	code, out, _ = runEvents("list", "--data", d, "--limit", "0")
	if code != 0 || strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("list: exit %d %q", code, out)
	}
}
