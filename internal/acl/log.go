package acl

import (
	"strings"
	"sync"
	"time"
)

// Log limits.
const (
	// DefaultLogLen is Redis's default acllog-max-len: the entries kept.
	DefaultLogLen = 128
	// logGroupWindow is how close in time a denial must come to a similar
	// entry to be counted in it instead of logged anew (Redis's
	// ACL_LOG_GROUPING_MAX_TIME_DELTA).
	logGroupWindow = 60 * time.Second
	// logGroupScan is how many of the newest entries Redis looks through
	// for a similar one.
	logGroupScan = 10
	// MaxLogField bounds the object and client-info strings of an entry,
	// so that a flood of denials on huge keys cannot grow the log without
	// bound. Redis keeps them whole.
	MaxLogField = 1024
)

// Context is where a denied command ran, as ACL LOG reports it.
type Context uint8

// Contexts of ACL LOG entries.
const (
	ContextTopLevel Context = iota // "toplevel"
	ContextMulti                   // "multi": queued in MULTI, refused at EXEC
	ContextLua                     // "lua": called from a script
)

// String returns the name ACL LOG uses for c.
func (c Context) String() string {
	switch c {
	case ContextMulti:
		return "multi"
	case ContextLua:
		return "lua"
	}
	return "toplevel"
}

// LogEntry is one ACL LOG entry: Count similar denials, the last at Updated.
type LogEntry struct {
	Count      int
	Reason     string // "command", "key", "channel" or "auth"
	Context    string // "toplevel", "multi" or "lua"
	Object     string // the command, key or channel refused; for "auth", the command (AUTH or HELLO)
	Username   string
	Created    time.Time // the first denial of the group
	Updated    time.Time // the last one; Redis's age-seconds counts from it
	ClientInfo string    // CLIENT INFO of the last client, as Redis records it
}

// Log is the ACL LOG: the newest denials first, similar denials within a
// minute of each other grouped into one entry with a count, at most a fixed
// number of entries. A Log is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	entries []LogEntry // newest first
}

// NewLog returns an empty log of at most max entries (DefaultLogLen when
// max <= 0) whose entries are stamped by now (time.Now when nil).
func NewLog(max int, now func() time.Time) *Log {
	if max <= 0 {
		max = DefaultLogLen
	}
	if now == nil {
		now = time.Now
	}
	return &Log{max: max, now: now}
}

// Add records one denial, as Redis's addACLLogEntry does: when one of the
// ten newest entries has the same reason, context, object and user and was
// updated within a minute, that entry counts it, takes the new client info
// and moves to the front; otherwise a new entry goes in front and the
// oldest beyond the limit is dropped.
func (l *Log) Add(reason Reason, ctx Context, object, username, clientInfo string) {
	object, clientInfo = clip(object), clip(clientInfo)
	now := l.now()
	r, c := reason.String(), ctx.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < len(l.entries) && i < logGroupScan; i++ {
		e := &l.entries[i]
		d := now.Sub(e.Updated)
		if d < 0 {
			d = -d
		}
		if e.Reason != r || e.Context != c || d > logGroupWindow || e.Object != object || e.Username != username {
			continue
		}
		e.Count++
		e.Updated = now
		e.ClientInfo = clientInfo
		m := *e
		copy(l.entries[1:i+1], l.entries[:i])
		l.entries[0] = m
		return
	}
	e := LogEntry{Count: 1, Reason: r, Context: c, Object: object, Username: username,
		Created: now, Updated: now, ClientInfo: clientInfo}
	if len(l.entries) < l.max {
		l.entries = append(l.entries, LogEntry{})
	}
	copy(l.entries[1:], l.entries)
	l.entries[0] = e
}

// AddDenial records a denial returned by User.Check.
func (l *Log) AddDenial(d Denial, ctx Context, username, clientInfo string) {
	if d.Allowed() {
		return
	}
	l.Add(d.Reason, ctx, d.Object, username, clientInfo)
}

// Entries returns up to n entries, newest first, of the user username, or
// of every user when username is "". n < 0 counts as 0, as in ACL LOG.
func (l *Log) Entries(username string, n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []LogEntry{}
	for _, e := range l.entries {
		if len(out) >= n {
			break
		}
		if username == "" || e.Username == username {
			out = append(out, e)
		}
	}
	return out
}

// Len returns the number of entries.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Reset removes the entries of the user username, or every entry when
// username is "" (ACL LOG RESET).
func (l *Log) Reset(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if username == "" {
		l.entries = nil
		return
	}
	kept := l.entries[:0]
	for _, e := range l.entries {
		if e.Username != username {
			kept = append(kept, e)
		}
	}
	clear(l.entries[len(kept):])
	l.entries = kept
}

func clip(s string) string {
	if len(s) > MaxLogField {
		return strings.Clone(s[:MaxLogField]) // not a view that keeps s alive
	}
	return s
}
