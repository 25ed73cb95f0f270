// Package slowlog keeps Redis's slow log: the most recent commands whose
// execution took at least a threshold, as SLOWLOG GET, LEN and RESET show
// them.
//
// It follows Redis 7.4 (slowlog.c): entry ids start at 0 and only grow, RESET
// empties the log but never reuses an id, the threshold has microsecond
// resolution and a command is logged when its duration is at least the
// threshold, a negative threshold or a maximum length of 0 disables the log
// (Redis 7.0 still spends an id per command when the length is 0; 7.4 does
// not, and neither do we), and arguments are cut exactly as Redis cuts them
// (see [MaxArgs] and [MaxArgBytes]).
//
// The hot path calls [Log.Enabled] after every command: one atomic load, no
// lock, no allocation. Only a command that passes calls [Log.Add], which takes
// the lock and copies what it keeps. Which commands are never logged (AUTH,
// HELLO with a password, EXEC and so on) and which arguments are redacted is
// the caller's decision, as is the RESP encoding of [Entry] values.
package slowlog

import (
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of redis.conf.
const (
	// DefaultMaxLen is slowlog-max-len's default.
	DefaultMaxLen = 128
	// DefaultThreshold is slowlog-log-slower-than's default (10000 µs).
	DefaultThreshold = 10 * time.Millisecond
	// DefaultGetCount is how many entries SLOWLOG GET returns without a count.
	DefaultGetCount = 10
)

// Log is a bounded, newest-first log of slow commands. It is safe for
// concurrent use. Enabled, Add, Get, Len and Reset treat a nil *Log as a
// disabled, empty log.
type Log struct {
	// gate is the threshold in nanoseconds, a whole number of microseconds,
	// or -1 when the log is disabled. Enabled reads it without the lock.
	gate atomic.Int64

	mu sync.Mutex
	// The fields below are guarded by mu.
	threshold int64 // microseconds as configured; negative disables
	maxLen    int
	nextID    int64
	ring      []Entry // len(ring) <= maxLen; ring[start] is the oldest entry
	start     int
	n         int
}

// New returns a log that keeps at most maxLen entries of commands that took
// at least slowerThan (truncated to whole microseconds). A negative
// slowerThan disables the log, 0 logs every command; a maxLen of 0 (or less)
// disables it too.
func New(maxLen int, slowerThan time.Duration) *Log {
	l := &Log{maxLen: max(maxLen, 0), threshold: micros(slowerThan)}
	l.setGate()
	return l
}

// micros converts a threshold to microseconds; a negative duration shorter
// than a microsecond stays negative (disabled) instead of becoming 0 (log
// everything).
func micros(d time.Duration) int64 {
	us := d.Microseconds()
	if d < 0 && us == 0 {
		us = -1
	}
	return us
}

// setGate publishes the threshold for Enabled. Callers hold mu (or own l).
func (l *Log) setGate() {
	if l.threshold < 0 || l.maxLen == 0 {
		l.gate.Store(-1)
		return
	}
	l.gate.Store(l.threshold * int64(time.Microsecond))
}

// Enabled reports whether a command that ran for d is to be logged. It costs
// one atomic load and never allocates; call it for every command and call Add
// only when it is true.
func (l *Log) Enabled(d time.Duration) bool {
	if l == nil {
		return false
	}
	g := l.gate.Load()
	return g >= 0 && int64(d) >= g
}

// Add logs a command that ran for d, unless the log is disabled or d is under
// the threshold (checked again under the lock, so a concurrent SetThreshold
// is honoured). args is the command with its name first; addr is the client's
// "ip:port" (or "path:0" for a unix socket) and name its CLIENT SETNAME name.
// Add copies what it keeps, truncated as Redis does, so the caller may reuse
// args' buffers as soon as it returns. now stamps the entry.
func (l *Log) Add(d time.Duration, args [][]byte, addr, name string, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.threshold < 0 || l.maxLen == 0 || d.Microseconds() < l.threshold {
		return
	}
	e := newEntry(args, addr, name)
	e.ID = l.nextID
	l.nextID++
	e.Time = now
	e.Duration = d
	l.push(e)
}

// push appends e as the newest entry, dropping the oldest at maxLen.
// Callers hold mu.
func (l *Log) push(e Entry) {
	switch {
	case l.n < len(l.ring):
		l.ring[(l.start+l.n)%len(l.ring)] = e
		l.n++
	case l.n < l.maxLen:
		// Full but allowed to grow: linearise into a larger ring.
		grown := make([]Entry, min(l.maxLen, max(8, 2*len(l.ring))))
		l.copyOldestFirst(grown)
		l.ring, l.start = grown, 0
		l.ring[l.n] = e
		l.n++
	default:
		l.ring[l.start] = e
		l.start = (l.start + 1) % len(l.ring)
	}
}

// copyOldestFirst copies the n entries, oldest first, into dst, which has room
// for them. Callers hold mu.
func (l *Log) copyOldestFirst(dst []Entry) {
	for i := 0; i < l.n; i++ {
		dst[i] = l.ring[(l.start+i)%len(l.ring)]
	}
}

// at returns the i-th newest entry (0 is the newest). Callers hold mu.
func (l *Log) at(i int) *Entry {
	return &l.ring[(l.start+l.n-1-i)%len(l.ring)]
}

// Get returns up to n entries, newest first, as SLOWLOG GET n does; a
// negative n returns them all (SLOWLOG GET -1). The entries and their Args
// are copies the caller owns.
func (l *Log) Get(n int) []Entry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > l.n {
		n = l.n
	}
	out := make([]Entry, n)
	total := 0
	for i := range out {
		total += len(l.at(i).Args)
	}
	args := make([]string, 0, total)
	for i := range out {
		e := *l.at(i)
		from := len(args)
		args = append(args, e.Args...)
		e.Args = args[from:len(args):len(args)]
		out[i] = e
	}
	return out
}

// Len returns the number of entries, as SLOWLOG LEN does.
func (l *Log) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Reset empties the log and releases its memory, as SLOWLOG RESET does. Ids
// are not reused: the next entry continues the sequence.
func (l *Log) Reset() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring, l.start, l.n = nil, 0, 0
}

// SetMaxLen changes slowlog-max-len. Older entries beyond the new length are
// dropped at once (Redis drops them when the next command finishes, which is
// the CONFIG SET itself). A length of 0 or less disables the log.
func (l *Log) SetMaxLen(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxLen = max(n, 0)
	if len(l.ring) > l.maxLen {
		// Keep the ring no longer than maxLen, so push can rely on it.
		var kept []Entry
		if k := min(l.n, l.maxLen); k > 0 {
			kept = make([]Entry, k)
			for i := range kept {
				kept[i] = *l.at(k - 1 - i)
			}
		}
		l.ring, l.start, l.n = kept, 0, len(kept)
	}
	l.setGate()
}

// SetThreshold changes slowlog-log-slower-than. d is truncated to whole
// microseconds; a negative d disables the log and 0 logs every command.
func (l *Log) SetThreshold(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.threshold = micros(d)
	l.setGate()
}

// MaxLen returns slowlog-max-len.
func (l *Log) MaxLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxLen
}

// Threshold returns slowlog-log-slower-than; Threshold().Microseconds() is the
// value CONFIG GET shows.
func (l *Log) Threshold() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.threshold) * time.Microsecond
}
