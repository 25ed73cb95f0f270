package engine

import (
	"fmt"
	"math"
	"math/big"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/resp"
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
//   - on timeout the engine writes the null array whatever nullArray says:
//     Redis 7.0 answers every blocking command that times out so
//     (replyToBlockedClientTimedOut), even BRPOPLPUSH and BLMOVE, whose
//     reply inside MULTI is the null bulk string.
//
// Division of work: the engine keeps the registry of blocked clients (by
// database and key, in the order they blocked), the keys signalled ready,
// and serves them after each command (after EXEC as a whole). The server
// does the waiting: it sees Blocking() after Exec, waits on the socket
// (noticing a peer that leaves) until the client's unblock hook wakes it
// or the timeout passes, and then calls FinishBlock to move the reply into
// the connection's writer.
//
// While a client is blocked its replies are written to a writer of its
// own (blockState.w), never to c.W: the connection's goroutine keeps using
// its writer (flushing earlier replies, pub/sub messages) without the
// engine lock, while other goroutines serve the client under the lock.

// UnblockReason says why a blocked client is released other than by being
// served.
type UnblockReason int

const (
	// UnblockTimeout answers the command's timeout reply (CLIENT UNBLOCK
	// TIMEOUT, or the timeout passing).
	UnblockTimeout UnblockReason = iota
	// UnblockError answers Redis's UNBLOCKED error (CLIENT UNBLOCK ERROR).
	UnblockError
	// UnblockDrop answers nothing: the connection is going away.
	UnblockDrop
)

// unblockedReply is Redis's reply to a command ended by CLIENT UNBLOCK
// ERROR.
const unblockedReply = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// blockStates of a client.
const (
	blockNone    uint8 = iota // not blocked
	blockPending              // the running handler called block
	blockParked               // waiting in the registry
	blockServing              // being run again for a ready key
	blockDone                 // answered; the reply waits in blockState.w
)

// blockState is a client's blocking command.
type blockState struct {
	state   uint8
	again   bool // the re-run handler called block again
	timeout time.Duration
	db      *DB
	keys    []string
	spec    *command.Spec
	args    [][]byte // a copy: the reader's buffer is reused
	w       *resp.Writer
	hook    func() // called when another goroutine unblocks the client
}

// blockKey names a key in a database.
type blockKey struct {
	db  *DB
	key string
}

// blockRegistry is the engine's blocked clients and ready keys.
type blockRegistry struct {
	waiting  map[blockKey][]*Client // in the order they blocked
	ready    []blockKey             // signalled, in order, not yet served
	readySet map[blockKey]struct{}
	serving  bool
	count    atomic.Int64 // parked clients, for INFO without the lock
}

// maxBlockTimeout is the longest wait: longer timeouts (Redis accepts up
// to the year 292 million) wait this long, which is forever in practice.
const maxBlockTimeout = 100 * 365 * 24 * time.Hour

// parseBlockTimeout parses a timeout in seconds (fractions allowed, 0 for
// forever) as Redis 7.0's getTimeoutFromObjectOrReply does, writing its
// error when the argument is bad: the seconds become whole milliseconds,
// truncated (so 0.0001 is 0, forever); a value too large for a 64-bit
// count of milliseconds overflows to a negative one on Redis's platforms
// ("timeout is negative"). (Redis 7.2's "timeout is out of range" for a
// deadline past 2^63 ms does not exist in 7.0: such a wait is forever.)
func parseBlockTimeout(c *Client, arg []byte) (time.Duration, bool) {
	f, ok := parseFloat(arg)
	if !ok {
		c.W.WriteError("ERR timeout is not a float or out of range")
		return 0, false
	}
	ms := math.Trunc(f * 1000)
	n := int64(ms)
	if ms >= 1<<62 {
		// Near the limit float64 rounds differently from the long
		// double Redis computes with: redo it with a 64-bit mantissa.
		n, ok = longDoubleMillis(arg)
	}
	if ms < 0 || !ok {
		c.W.WriteError("ERR timeout is negative")
		return 0, false
	}
	if n == 0 && f > 0 {
		// Redis 7.0.15 times out at once on a positive timeout under a
		// millisecond (BLPOP k 0.0009, 1e-300); only 0 and tiny negative
		// values block forever.
		n = 1
	}
	if n > int64(maxBlockTimeout/time.Millisecond) {
		return maxBlockTimeout, true
	}
	return time.Duration(n) * time.Millisecond, true
}

// longDoubleMillis is trunc(seconds * 1000) computed as C's long double
// (x87, a 64-bit mantissa) does it, for timeouts near 2^63 ms. It reports
// false when the product does not fit in an int64, which Redis's
// conversion turns into a negative number.
func longDoubleMillis(arg []byte) (int64, bool) {
	f, _, err := big.ParseFloat(string(arg), 10, 64, big.ToNearestEven)
	if err != nil || f.IsInf() {
		return 0, false
	}
	f.Mul(f, big.NewFloat(1000).SetPrec(64))
	n, acc := f.Int64() // truncates toward zero
	if acc != big.Below && acc != big.Exact {
		return 0, false // above MaxInt64
	}
	if n == math.MaxInt64 && f.Cmp(new(big.Float).SetInt64(math.MaxInt64)) > 0 {
		return 0, false
	}
	return n, true
}

// mayBlock reports whether the running command may block: not inside
// MULTI/EXEC.
func (c *Client) mayBlock() bool { return !c.tx.exec }

// block parks the client on keys once the running handler returns; the
// handler writes no reply. A handler run again for a ready key that calls
// block keeps the client's place in the queues.
func (c *Client) block(keys [][]byte, timeout time.Duration, nullArray bool) {
	b := &c.blk
	if b.state == blockServing {
		b.again = true
		return
	}
	if !c.mayBlock() || b.state != blockNone {
		writeTimeoutReply(c.W, nullArray)
		return
	}
	b.state = blockPending
	b.timeout = timeout
	b.db = c.db
	b.keys = b.keys[:0]
	for _, k := range keys {
		if !slices.Contains(b.keys, string(k)) {
			b.keys = append(b.keys, string(k))
		}
	}
}

func writeTimeoutReply(w *resp.Writer, nullArray bool) {
	if nullArray {
		w.WriteNullArray()
	} else {
		w.WriteNull()
	}
}

// signalReady records that key in db may now serve blocked clients. When
// no client is blocked it costs one length check.
func (e *Engine) signalReady(db *DB, key string) {
	if len(e.blocking.waiting) == 0 {
		return
	}
	e.markReady(blockKey{db, key})
}

func (e *Engine) markReady(k blockKey) {
	r := &e.blocking
	if _, ok := r.waiting[k]; !ok {
		return
	}
	if _, dup := r.readySet[k]; dup {
		return
	}
	if r.readySet == nil {
		r.readySet = map[blockKey]struct{}{}
	}
	r.readySet[k] = struct{}{}
	r.ready = append(r.ready, k)
}

// signalReadyDB marks every key of db that clients wait on and that holds
// a value of another type than string, after db's contents were replaced
// (SWAPDB), as Redis's scanDatabaseForReadyKeys.
func (e *Engine) signalReadyDB(db *DB) {
	if len(e.blocking.waiting) == 0 {
		return
	}
	for k := range e.blocking.waiting {
		if k.db == db {
			if v := db.keys.Get([]byte(k.key)); v != nil && v.obj != nil {
				e.markReady(k)
			}
		}
	}
}

// afterExec parks a client whose command blocked, and serves the keys
// made ready by the command (not inside EXEC: after it, see EndExec).
func (e *Engine) afterExec(c *Client, spec *command.Spec, args [][]byte) {
	if c.blk.state == blockPending {
		e.park(c, spec, args)
	}
	if len(e.blocking.ready) > 0 && !c.tx.exec {
		e.serveReady()
	}
}

// park enters a client whose handler called block into the queues of its
// keys.
func (e *Engine) park(c *Client, spec *command.Spec, args [][]byte) {
	b := &c.blk
	b.state = blockParked
	b.spec = spec
	b.args = copyArgs(args)
	if b.w == nil {
		b.w = resp.NewWriter(nil)
	}
	b.w.Reset()
	b.w.SetProto(c.W.Proto())
	r := &e.blocking
	if r.waiting == nil {
		r.waiting = map[blockKey][]*Client{}
	}
	for _, k := range b.keys {
		bk := blockKey{b.db, k}
		r.waiting[bk] = append(r.waiting[bk], c)
	}
	r.count.Add(1)
}

// unpark removes a client from the queues of its keys; its reply is in
// blockState.w.
func (e *Engine) unpark(c *Client) {
	b := &c.blk
	r := &e.blocking
	for _, k := range b.keys {
		bk := blockKey{b.db, k}
		q := r.waiting[bk]
		if i := slices.Index(q, c); i >= 0 {
			q = slices.Delete(q, i, i+1)
		}
		if len(q) == 0 {
			delete(r.waiting, bk)
		} else {
			r.waiting[bk] = q
		}
	}
	b.state = blockDone
	b.args = nil
	b.spec = nil
	r.count.Add(-1)
}

// serveReady serves the ready keys, and the keys those services make
// ready (BLMOVE pushing to a key others wait on), until none is left.
func (e *Engine) serveReady() {
	r := &e.blocking
	if r.serving {
		return
	}
	r.serving = true
	defer func() { r.serving = false }()
	for len(r.ready) > 0 {
		ready := r.ready
		r.ready = nil
		clear(r.readySet)
		for _, k := range ready {
			e.serveKey(k)
		}
	}
}

// serveKey runs the commands of the clients blocked on k again, first
// blocked first, while the key holds a value. A client whose command
// blocks again keeps its place; clients that block meanwhile wait for the
// next signal.
func (e *Engine) serveKey(k blockKey) {
	q := e.blocking.waiting[k]
	if len(q) == 0 {
		return
	}
	for _, c := range slices.Clone(q) {
		if c.blk.state != blockParked {
			continue // served through another key meanwhile
		}
		v := k.db.keys.Get([]byte(k.key))
		if v == nil {
			return
		}
		if !typeServes(v, c.blk.spec) {
			continue // Redis 7.0 leaves a BLPOP blocked on a key that became a zset
		}
		e.rerun(c)
	}
}

// typeServes reports whether a value of v's type can serve the blocking
// command spec (a list for the list commands, a sorted set for the zset
// ones).
func typeServes(v *Value, spec *command.Spec) bool {
	switch spec.Group {
	case "list":
		return v.typeName() == "list"
	case "sorted-set":
		return v.typeName() == "zset"
	case "stream":
		return v.typeName() == "stream"
	}
	return v.obj != nil
}

// rerun runs a parked client's command again, its reply going to the
// client's block writer, and wakes the client unless it blocked again.
func (e *Engine) rerun(c *Client) {
	b := &c.blk
	b.state = blockServing
	b.again = false
	w := c.W
	c.W = b.w
	mark := b.w.Buffered()
	func() {
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("command panicked", "command", b.spec.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				b.again = false
				c.W.Truncate(mark)
				c.W.WriteError("ERR internal error while running '" + b.spec.Name + "'")
			}
		}()
		c.Raw = nil // the copy of the arguments is logged, not a frame
		e.logged(c, b.spec, e.handlers[b.spec.ID], b.args)
	}()
	c.W = w
	if b.again && b.w.Buffered() == mark {
		b.state = blockParked
		return
	}
	e.unpark(c)
	if b.hook != nil {
		b.hook()
	}
}

// SetUnblockHook sets the function called, under the engine lock and from
// any goroutine, when the client's blocked command is answered by someone
// else (served, CLIENT UNBLOCK). The server wakes the connection there.
func (c *Client) SetUnblockHook(f func()) { c.blk.hook = f }

// Blocking reports whether the last command blocked the client: it is
// waiting, or was answered while the server had not looked yet. The caller
// holds the lock.
func (c *Client) Blocking() bool { return c.blk.state != blockNone }

// Blocked reports whether the client waits in a blocking command. The
// caller holds the lock.
func (c *Client) Blocked() bool { return c.blk.state == blockParked }

// BlockTimeout reports the timeout the blocking command asked for; 0 is
// forever.
func (c *Client) BlockTimeout() time.Duration { return c.blk.timeout }

// Unblock ends the client's wait without serving it: with the timeout
// reply, the UNBLOCKED error or no reply. It reports whether the client
// was waiting. A client unblocked by another goroutine is woken through
// its hook. The caller holds the lock.
func (c *Client) Unblock(why UnblockReason) bool {
	b := &c.blk
	if b.state != blockParked {
		return false
	}
	switch why {
	case UnblockTimeout:
		b.w.WriteNullArray()
	case UnblockError:
		b.w.WriteError(unblockedReply)
	}
	c.e.unpark(c)
	if why != UnblockDrop && b.hook != nil {
		b.hook()
	}
	return true
}

// FinishBlock ends a blocking command that has been answered: it appends
// the reply to c.W and reports true. It reports false while the client
// still waits. (A handler that panicked after calling block was never
// parked: its reply is the error Exec wrote.) The caller holds the lock.
func (c *Client) FinishBlock() bool {
	b := &c.blk
	switch b.state {
	case blockParked, blockServing:
		return false
	case blockDone:
		c.W.WriteRaw(b.w.Bytes())
		b.w.Reset()
		if cap(b.w.Bytes()) > 4<<10 {
			b.w = nil // keep no large buffer for idle connections
		}
	}
	b.state = blockNone
	return true
}

// BlockedClients reports how many clients wait in blocking commands, for
// INFO's blocked_clients. It does not need the lock.
func (e *Engine) BlockedClients() int { return int(e.blocking.count.Load()) }

// copyArgs copies arguments into one allocation.
func copyArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		k := copy(buf, a)
		out[i] = buf[:k:k]
		buf = buf[k:]
	}
	return out
}
