package monitor

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	now := time.Unix(1000, 0)
	r := NewRecorder(log, func() time.Time { return now })

	changed := r.Changed()
	// A flood of one type: every event counted and kept, one log line per
	// second, the next line says how many were left out.
	for i := 0; i < 50; i++ {
		r.Record(Event{Type: CrossProtocol, Instance: "a", Addr: "10.0.0.1:5"})
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed was not closed by Record")
	}
	if got := r.Count(CrossProtocol); got != 50 {
		t.Fatalf("count %d, want 50", got)
	}
	if n := strings.Count(logBuf.String(), "cross_protocol"); n != 1 {
		t.Fatalf("%d log lines in the same second, want 1:\n%s", n, logBuf.String())
	}
	now = now.Add(time.Second)
	r.Record(Event{Type: CrossProtocol, Instance: "a"})
	if !strings.Contains(logBuf.String(), "suppressed=49") {
		t.Fatalf("second line does not report the suppressed ones:\n%s", logBuf.String())
	}
	// Another type is logged on its own schedule.
	r.Record(Event{Type: AuthFailed, Instance: "a", Account: "app"})
	if !strings.Contains(logBuf.String(), "event=auth_failed") {
		t.Fatalf("auth_failed not logged:\n%s", logBuf.String())
	}
	if got := len(r.Recent()); got != 52 {
		t.Fatalf("%d recent events, want 52", got)
	}
}

func TestRecorderRingKeepsNewest(t *testing.T) {
	r := NewRecorder(nil, nil)
	for i := 0; i < recentMax+10; i++ {
		r.Record(Event{Type: AuthFailed, Detail: string(rune('a' + i%26))})
	}
	got := r.Recent()
	if len(got) != recentMax {
		t.Fatalf("%d kept, want %d", len(got), recentMax)
	}
	if got[len(got)-1].Detail != string(rune('a'+(recentMax+9)%26)) || got[0].Detail != string(rune('a'+10%26)) {
		t.Fatalf("ring order wrong: first %q last %q", got[0].Detail, got[len(got)-1].Detail)
	}
}
