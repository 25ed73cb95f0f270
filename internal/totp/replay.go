package totp

import (
	"sync"
	"time"
)

// replayPruneFloor is the table size below which ReplayGuard never prunes.
const replayPruneFloor = 1024

// ReplayGuard remembers, per key (an operator account), the last time step
// whose code was accepted, and refuses any code of that step or an
// earlier one: RFC 6238 §5.2, "the verifier MUST NOT accept the second
// attempt of the OTP after the successful validation has been issued".
// A ReplayGuard is safe for concurrent use; two simultaneous uses of one
// code accept exactly one.
//
// Memory: an entry whose step is more than 2·Skew steps behind a step
// being accepted can no longer matter (no future code can be that old),
// so the table is pruned of such entries whenever it doubles past 1,024.
// The guard assumes the clock does not run backwards by more than a step.
type ReplayGuard struct {
	mu      sync.Mutex
	last    map[string]int64
	pruneAt int
}

// NewReplayGuard returns an empty guard.
func NewReplayGuard() *ReplayGuard {
	return &ReplayGuard{last: make(map[string]int64), pruneAt: replayPruneFloor}
}

// Validate checks code like the package-level Validate, skipping steps
// already used for key, and on success records the matched step. It
// returns whether the code is accepted.
func (g *ReplayGuard) Validate(key, code string, secret []byte, t time.Time, opts Options) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	after, seen := g.last[key]
	if !seen {
		after = -1
	}
	s, ok := validateAfter(code, secret, t, opts, after)
	if !ok {
		return false
	}
	g.record(key, s)
	return true
}

// Accept records step for key if it is later than every step accepted
// for key so far, and reports whether it was. Use it with a step returned
// by the package-level Validate.
func (g *ReplayGuard) Accept(key string, step int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, seen := g.last[key]; seen && step <= last {
		return false
	}
	g.record(key, step)
	return true
}

// Forget drops what the guard knows about key (when its secret changes).
func (g *ReplayGuard) Forget(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.last, key)
}

// Len returns the number of keys remembered.
func (g *ReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.last)
}

// record stores step for key and prunes when the table has grown. g.mu
// must be held.
func (g *ReplayGuard) record(key string, step int64) {
	g.last[key] = step
	if len(g.last) < g.pruneAt {
		return
	}
	for k, s := range g.last {
		if s < step-2*Skew {
			delete(g.last, k)
		}
	}
	g.pruneAt = max(replayPruneFloor, 2*len(g.last))
}
