package acl

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// clock is a manual clock for the log tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time            { return c.t }
func (c *clock) advance(d time.Duration)   { c.t = c.t.Add(d) }
func newClock() *clock                     { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }
func objects(es []LogEntry) (out []string) { return appendObjects(out, es) }

func appendObjects(out []string, es []LogEntry) []string {
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s:%d", e.Object, e.Count))
	}
	return out
}

func TestLogGrouping(t *testing.T) {
	tests := []struct {
		name string
		run  func(l *Log, c *clock)
		want string // objects:counts, newest first
	}{
		{"similar within a minute", func(l *Log, c *clock) {
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "id=1")
			c.advance(59 * time.Second)
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "id=2")
		}, "k:2"},
		{"exactly a minute still groups", func(l *Log, c *clock) {
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "")
			c.advance(time.Minute)
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "")
		}, "k:2"},
		{"window counts from the last update", func(l *Log, c *clock) {
			for i := 0; i < 3; i++ {
				l.Add(ReasonKey, ContextTopLevel, "k", "u", "")
				c.advance(50 * time.Second)
			}
		}, "k:3"},
		{"older than a minute starts anew", func(l *Log, c *clock) {
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "")
			c.advance(61 * time.Second)
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "")
		}, "k:1 k:1"},
		{"reason, context, object and user must match", func(l *Log, c *clock) {
			l.Add(ReasonKey, ContextTopLevel, "k", "u", "")
			l.Add(ReasonChannel, ContextTopLevel, "k", "u", "")
			l.Add(ReasonKey, ContextMulti, "k", "u", "")
			l.Add(ReasonKey, ContextTopLevel, "k2", "u", "")
			l.Add(ReasonKey, ContextTopLevel, "k", "v", "")
		}, "k:1 k2:1 k:1 k:1 k:1"},
		{"a match moves to the front", func(l *Log, c *clock) {
			l.Add(ReasonKey, ContextTopLevel, "a", "u", "")
			l.Add(ReasonKey, ContextTopLevel, "b", "u", "")
			l.Add(ReasonKey, ContextTopLevel, "a", "u", "")
		}, "a:2 b:1"},
		{"only the ten newest are searched", func(l *Log, c *clock) {
			l.Add(ReasonKey, ContextTopLevel, "old", "u", "")
			for i := 0; i < 10; i++ {
				l.Add(ReasonKey, ContextTopLevel, fmt.Sprint(i), "u", "")
			}
			l.Add(ReasonKey, ContextTopLevel, "old", "u", "")
		}, "old:1 9:1 8:1 7:1 6:1 5:1 4:1 3:1 2:1 1:1 0:1 old:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := NewLog(0, c.now)
			tt.run(l, c)
			if got := strings.Join(objects(l.Entries("", 100)), " "); got != tt.want {
				t.Fatalf("entries %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLogEntryFields(t *testing.T) {
	c := newClock()
	l := NewLog(0, c.now)
	start := c.t
	l.AddDenial(Denial{}, ContextTopLevel, "u", "") // allowed: nothing logged
	l.AddDenial(Denial{Reason: ReasonCommand, Object: "config|set"}, ContextLua, "u", "id=1")
	c.advance(time.Second)
	l.AddDenial(Denial{Reason: ReasonCommand, Object: "config|set"}, ContextLua, "u", "id=2")
	l.Add(ReasonAuth, ContextMulti, "AUTH", "nobody", "id=3")
	es := l.Entries("", 10)
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	want := LogEntry{Count: 2, Reason: "command", Context: "lua", Object: "config|set", Username: "u",
		Created: start, Updated: start.Add(time.Second), ClientInfo: "id=2"}
	if es[1] != want {
		t.Fatalf("entry %+v, want %+v", es[1], want)
	}
	if es[0].Reason != "auth" || es[0].Context != "multi" {
		t.Fatalf("entry %+v", es[0])
	}
	long := strings.Repeat("k", 10*MaxLogField)
	l.Add(ReasonKey, ContextTopLevel, long, "u", long)
	if e := l.Entries("", 1)[0]; len(e.Object) != MaxLogField || len(e.ClientInfo) != MaxLogField {
		t.Fatalf("entry not clipped: %d %d", len(e.Object), len(e.ClientInfo))
	}
}

func TestLogBoundAndFilters(t *testing.T) {
	c := newClock()
	l := NewLog(0, c.now)
	for i := 0; i < 300; i++ {
		user := "u"
		if i%2 == 1 {
			user = "v"
		}
		l.Add(ReasonKey, ContextTopLevel, fmt.Sprint(i), user, "")
	}
	if l.Len() != DefaultLogLen {
		t.Fatalf("Len = %d, want %d", l.Len(), DefaultLogLen)
	}
	tests := []struct {
		user string
		n    int
		want string
	}{
		{"", 3, "299:1 298:1 297:1"},
		{"u", 2, "298:1 296:1"},
		{"v", 1, "299:1"},
		{"", -1, ""},
		{"nobody", 5, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.user, tt.n), func(t *testing.T) {
			if got := strings.Join(objects(l.Entries(tt.user, tt.n)), " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	l.Reset("u")
	if n := len(l.Entries("u", 1000)); n != 0 || l.Len() != DefaultLogLen/2 {
		t.Fatalf("after Reset(u): %d of u, %d in all", n, l.Len())
	}
	l.Reset("")
	if l.Len() != 0 {
		t.Fatal("Reset did not empty the log")
	}
	small := NewLog(2, c.now)
	for i := 0; i < 5; i++ {
		small.Add(ReasonKey, ContextTopLevel, fmt.Sprint(i), "u", "")
	}
	if got := strings.Join(objects(small.Entries("", 10)), " "); got != "4:1 3:1" {
		t.Fatalf("bounded log holds %s", got)
	}
}

func TestLogConcurrent(t *testing.T) {
	l := NewLog(0, nil)
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				l.Add(ReasonCommand, ContextTopLevel, fmt.Sprint(i%7), "u", "")
				_ = l.Entries("u", 5)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	total := 0
	for _, e := range l.Entries("", 1000) {
		total += e.Count
	}
	if total != 800 {
		t.Fatalf("counted %d denials, want 800", total)
	}
}
