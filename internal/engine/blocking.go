package engine

import (
	"math"
	"time"
)

// Blocking commands (BLPOP, BLMOVE, BZPOPMIN, BLMPOP …).
//
// Contract for data-type handlers:
//
//   - parse the timeout with parseBlockTimeout (writes Redis's error);
//   - try to serve at once; if nothing can be served and c.mayBlock(),
//     call c.block(keys, timeout, nullArray) and return without writing a
//     reply; if !c.mayBlock() (inside MULTI/EXEC), write the timeout reply
//     (WriteNullArray or WriteNull) at once, as Redis does;
//   - a key that gains a list or sorted set (db.add / db.set of such a
//     value) is signalled ready by the engine itself; when it is, the
//     engine runs the same command again for each client blocked on it,
//     first blocked first served, with the same arguments; a handler that
//     still finds nothing calls c.block again and keeps its place;
//   - on timeout the engine writes the null array (nullArray) or the null
//     bulk reply.

// parseBlockTimeout parses a timeout in seconds (fractions allowed, 0 for
// forever) as Redis does, writing its error when the argument is bad.
func parseBlockTimeout(c *Client, arg []byte) (time.Duration, bool) {
	f, ok := parseFloat(arg)
	if !ok {
		c.W.WriteError("ERR timeout is not a float or out of range")
		return 0, false
	}
	if f < 0 {
		c.W.WriteError("ERR timeout is negative")
		return 0, false
	}
	ms := f * 1000
	if ms > float64(math.MaxInt64/int64(time.Millisecond)) {
		c.W.WriteError("ERR timeout is out of range")
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// mayBlock reports whether the running command may block: not inside
// MULTI/EXEC. (Stub; the blocking work completes it.)
func (c *Client) mayBlock() bool { return false }

// block parks the client on keys (stub: answers the timeout reply at once).
func (c *Client) block(keys [][]byte, timeout time.Duration, nullArray bool) {
	if nullArray {
		c.W.WriteNullArray()
	} else {
		c.W.WriteNull()
	}
}

// signalReady records that key in db may now serve blocked clients. (Stub.)
func (e *Engine) signalReady(db *DB, key string) {}
