package guard

import (
	"sync"
	"time"
)

// Limits of a LogLimiter.
const (
	// DefaultLogInterval is Redis's: a cross-protocol attempt is logged
	// at most once a minute.
	DefaultLogInterval = time.Minute
	// MaxLogKeys is the most keys a LogLimiter tracks. Past it, new keys
	// share one overflow key, so a flood of distinct keys (addresses)
	// still lets one line through per interval for all of them.
	MaxLogKeys = 4096
)

// LogLimiter lets a log line through at most once per interval per key,
// so that a flood of events does not flood the log, and says how many
// lines it held back. Counters and the event log should count every
// event; only the text log is limited. It is safe for concurrent use.
type LogLimiter struct {
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex // guards the fields below
	keys      map[string]*logKey
	overflow  logKey    // the key of every key past MaxLogKeys
	lastSweep time.Time // when keys were last swept of ended intervals
}

// logKey is the state of one key: when a line last went through, and how
// many were held back since.
type logKey struct {
	last       time.Time
	suppressed int
	seen       bool
}

// NewLogLimiter returns a limiter that lets one line per key through
// every interval (interval 0 or less lets every line through). now is its
// clock; nil means time.Now.
func NewLogLimiter(interval time.Duration, now func() time.Time) *LogLimiter {
	if now == nil {
		now = time.Now
	}
	return &LogLimiter{interval: interval, now: now, keys: make(map[string]*logKey)}
}

// Allow reports whether a line for key may be logged now. When it may,
// suppressed is how many lines of the key were held back since the last
// one that went through (log it: "and 41 more"); when it may not,
// suppressed is how many are held back so far, this one included.
func (l *LogLimiter) Allow(key string) (ok bool, suppressed int) {
	if l.interval <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= MaxLogKeys {
			l.sweep(now)
		}
		if len(l.keys) >= MaxLogKeys {
			k = &l.overflow
		} else {
			k = &logKey{}
			l.keys[key] = k
		}
	}
	if k.seen && now.Sub(k.last) < l.interval {
		k.suppressed++
		return false, k.suppressed
	}
	suppressed = k.suppressed
	*k = logKey{last: now, seen: true}
	return true, suppressed
}

// sweep forgets the keys whose interval ended: they would let the next
// line through anyway (only the count of lines held back since their last
// line is lost). It runs at most once per interval, so a flood of new
// keys does not make every call walk the table. l.mu is held.
func (l *LogLimiter) sweep(now time.Time) {
	if !l.lastSweep.IsZero() && now.Sub(l.lastSweep) < l.interval {
		return
	}
	l.lastSweep = now
	for key, k := range l.keys {
		if now.Sub(k.last) >= l.interval {
			delete(l.keys, key)
		}
	}
}
