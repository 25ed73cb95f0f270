// Package monitor records security events: every cross-protocol attempt,
// allowlist denial, ban, failed or throttled authentication and refused
// command becomes one typed Event. A Recorder counts every event, keeps the
// most recent ones in memory for INFO, tests and the console, and writes
// them to the logger with a rate limit per type, so a flood of attempts
// cannot flood the log while the counters still count each one.
package monitor

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Type names a kind of event. The names are stable: they appear in logs,
// INFO and (later) the event file.
type Type string

// The event types.
const (
	CrossProtocol   Type = "cross_protocol"   // HTTP or header line on a Redis port
	InlineRefused   Type = "inline_refused"   // inline command from a peer under strict RESP
	AllowlistDenied Type = "allowlist_denied" // peer outside every allowlist group
	AllowlistClosed Type = "allowlist_closed" // open connection closed after a reload
	BanRefused      Type = "ban_refused"      // connection from a banned address
	Banned          Type = "banned"           // an address was put on the ban list
	MaxClients      Type = "maxclients"       // connection refused: too many clients
	AddressLimit    Type = "address_limit"    // connection refused: too many from one address
	AuthTimeout     Type = "auth_timeout"     // no authentication in time
	AuthFailed      Type = "auth_failed"      // wrong user name or password
	AuthThrottled   Type = "auth_throttled"   // AUTH delayed after repeated failures
	AuthLocked      Type = "auth_locked"      // an address or account was locked
	AuthUnlocked    Type = "auth_unlocked"    // a lock ended
	AuthRefused     Type = "auth_refused"     // AUTH refused during a lock
	CommandRefused  Type = "command_refused"  // disabled command or ACL denial
	StepUp          Type = "stepup"           // REDOUBT STEPUP accepted
	StepUpFailed    Type = "stepup_failed"    // REDOUBT STEPUP with a wrong or replayed code
	BackendDown     Type = "backend_down"     // the backend stopped answering
	BackendUp       Type = "backend_up"       // the backend answers again
)

// The event types of the scanner, the console and the event file.
const (
	ScanFinding      Type = "scan_finding"       // the scanner found a weakness
	AdminLogin       Type = "admin_login"        // an operator logged in to the console
	AdminLoginFailed Type = "admin_login_failed" // a console login was refused
	AdminChange      Type = "admin_change"       // an operator changed the configuration
	EventsDropped    Type = "events_dropped"     // events lost before reaching the event file
)

// Event is one security-relevant event. Addr is the peer ("ip:port", or the
// socket path for unix sockets); Detail never holds a secret.
type Event struct {
	Time     time.Time
	Type     Type
	Instance string
	Addr     string
	Account  string
	Detail   string
	// Fields holds optional extra data (before and after values, the
	// operator, a finding's id). Like Detail it never holds a secret.
	Fields map[string]string
}

// Sink receives events. Record must not block for long: it runs on the
// connection's goroutine.
type Sink interface {
	Record(Event)
}

// recentMax is how many events a Recorder keeps in memory.
const recentMax = 1024

// logInterval is the least time between two log lines of one event type;
// the lines skipped in between are counted in the next one.
const logInterval = time.Second

// Recorder is the in-process Sink: counters by type, a ring of recent
// events, and rate-limited log lines. It is safe for concurrent use.
type Recorder struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	recent  []Event // ring of at most recentMax
	next    int
	counts  map[Type]*atomic.Int64
	lastLog map[Type]time.Time
	skipped map[Type]int
	notify  []chan struct{}
}

// NewRecorder returns a Recorder that logs to log; now may be nil.
func NewRecorder(log *slog.Logger, now func() time.Time) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Recorder{
		log:     log,
		now:     now,
		counts:  map[Type]*atomic.Int64{},
		lastLog: map[Type]time.Time{},
		skipped: map[Type]int{},
	}
}

// Record counts ev, keeps it, and logs it unless a line of its type was
// logged less than a second ago.
func (r *Recorder) Record(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = r.now()
	}
	r.mu.Lock()
	c := r.counts[ev.Type]
	if c == nil {
		c = new(atomic.Int64)
		r.counts[ev.Type] = c
	}
	c.Add(1)
	if len(r.recent) < recentMax {
		r.recent = append(r.recent, ev)
	} else {
		r.recent[r.next] = ev
	}
	r.next = (r.next + 1) % recentMax
	logIt := ev.Time.Sub(r.lastLog[ev.Type]) >= logInterval
	skipped := r.skipped[ev.Type]
	if logIt {
		r.lastLog[ev.Type] = ev.Time
		r.skipped[ev.Type] = 0
	} else {
		r.skipped[ev.Type]++
	}
	waiters := r.notify
	r.notify = nil
	r.mu.Unlock()
	for _, ch := range waiters {
		close(ch)
	}
	if logIt {
		attrs := []any{"event", string(ev.Type), "instance", ev.Instance}
		if ev.Addr != "" {
			attrs = append(attrs, "addr", ev.Addr)
		}
		if ev.Account != "" {
			attrs = append(attrs, "account", ev.Account)
		}
		if ev.Detail != "" {
			attrs = append(attrs, "detail", ev.Detail)
		}
		if skipped > 0 {
			attrs = append(attrs, "suppressed", skipped)
		}
		r.log.Warn("security event", attrs...)
	}
}

// Count reports how many events of type t were recorded.
func (r *Recorder) Count(t Type) int64 {
	r.mu.Lock()
	c := r.counts[t]
	r.mu.Unlock()
	if c == nil {
		return 0
	}
	return c.Load()
}

// Recent returns the kept events, oldest first.
func (r *Recorder) Recent() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Event, 0, len(r.recent))
	if len(r.recent) == recentMax {
		out = append(out, r.recent[r.next:]...)
		out = append(out, r.recent[:r.next]...)
	} else {
		out = append(out, r.recent...)
	}
	return out
}

// Changed returns a channel closed at the next Record, so tests and
// watchers wait for events without polling.
func (r *Recorder) Changed() <-chan struct{} {
	ch := make(chan struct{})
	r.mu.Lock()
	r.notify = append(r.notify, ch)
	r.mu.Unlock()
	return ch
}
