package server

import (
	"sync/atomic"

	"redoubt/internal/command"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis 7.0.
// Commands sent after MULTI are checked (table, arity, policy) and queued
// with a copy of their arguments; an error at that point makes EXEC fail
// with EXECABORT. EXEC runs the queue under one hold of the engine lock,
// so no other client's command runs in between, and clients blocked on
// keys the transaction made ready are served after it as a whole. The
// engine tracks the watched keys (engine/multi.go).
//
// One exception to atomicity: AUTH and HELLO (which may authenticate)
// release the lock while they check a password, since a password check
// is slow on purpose and may be throttled for seconds; the commands
// before and after them each run atomically.

// Limits of one connection's transaction state.
const (
	// maxTxBytes bounds the queue of a transaction: the bytes of the
	// queued arguments plus txCmdOverhead per command and txArgOverhead
	// per argument. A command that would pass it is refused with
	// txTooLargeReply and EXEC fails, so a client cannot grow the
	// server's memory without bound with a huge MULTI.
	maxTxBytes    = 128 << 20
	txCmdOverhead = 64 // a queued command's own memory
	txArgOverhead = 24 // a slice header per argument
	// maxWatchedKeys bounds the keys one connection watches.
	maxWatchedKeys = 1 << 20
)

const (
	txTooLargeReply    = "ERR Transaction too large: the queued commands exceed 128 MiB (EXEC will fail)"
	tooManyWatchReply  = "ERR too many watched keys (at most 1048576 per connection)"
	execAbortReply     = "EXECABORT Transaction discarded because of previous errors."
	notInTxReply       = "ERR Command not allowed inside a transaction"
	nestedMultiReply   = "ERR MULTI calls can not be nested"
	watchInMultiReply  = "ERR WATCH inside MULTI is not allowed"
	execNoMultiReply   = "ERR EXEC without MULTI"
	discardNoMultiRply = "ERR DISCARD without MULTI"
)

// txState is a connection's transaction: touched only by its goroutine,
// except count and mem, which CLIENT LIST reads.
type txState struct {
	multi    bool
	dirty    bool // an error while queueing: EXEC answers EXECABORT
	watching bool // the engine holds WATCHes of this connection
	queue    []queuedCmd
	bytes    int // the queue's cost, against limit
	limit    int // maxTxBytes (tests lower it)

	count atomic.Int32 // queued commands; -1 outside MULTI
	mem   atomic.Int64 // bytes, for CLIENT LIST multi-mem
}

// queuedCmd is a command queued by MULTI.
type queuedCmd struct {
	spec *command.Spec
	args [][]byte // a copy: the reader's buffer is reused
}

// txCommands are MULTI, EXEC, DISCARD, WATCH and UNWATCH.
func txCommands() map[string]connHandler {
	return map[string]connHandler{
		"multi":   cmdMulti,
		"exec":    cmdExec,
		"discard": cmdDiscard,
		"watch":   cmdWatch,
		"unwatch": cmdUnwatch,
	}
}

// txIntercept queues spec inside MULTI and reports whether it did. The
// commands that act on the transaction itself, QUIT and RESET run at once.
func (c *conn) txIntercept(spec *command.Spec, args [][]byte) bool {
	if !c.tx.multi {
		return false
	}
	switch spec.Name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return false
	}
	if spec.Has(command.FlagNoMulti) {
		c.replyError(notInTxReply)
		c.txFlag()
		return true
	}
	if !c.tx.dirty {
		// An aborted transaction queues nothing more (as Redis): the
		// replies stay QUEUED, the memory is not spent.
		cost := txCmdOverhead
		for _, a := range args {
			cost += len(a) + txArgOverhead
		}
		if c.tx.bytes+cost > c.tx.limit {
			c.replyError(txTooLargeReply)
			c.txFlag()
			return true
		}
		c.tx.queue = append(c.tx.queue, queuedCmd{spec: spec, args: copyArgs(args)})
		c.tx.bytes += cost
		c.tx.count.Store(int32(len(c.tx.queue)))
		c.tx.mem.Store(int64(c.tx.bytes))
	}
	c.w.WriteSimple("QUEUED")
	return true
}

// txFlag records an error while queueing: EXEC will fail with EXECABORT.
// The queue is dropped at once.
func (c *conn) txFlag() {
	if c.s.proxied() {
		if c.gw.multi {
			c.gw.dirty = true
		}
		return
	}
	if !c.tx.multi {
		return
	}
	c.tx.dirty = true
	c.tx.queue = nil
	c.tx.bytes = 0
	c.tx.mem.Store(0)
}

// abortTx ends the connection's transaction and drops its WATCHes,
// whatever the backend, without a reply of its own.
func (c *conn) abortTx() {
	if !c.s.proxied() {
		c.discardTx()
		return
	}
	g := &c.gw
	switch {
	case c.s.cl != nil:
		g.multi, g.dirty = false, false
		g.cl.txSlot, g.cl.txBuf, g.cl.txCount = -1, g.cl.txBuf[:0], 0
		if !g.watch {
			return
		}
		c.gwSend(g.pinned, c.gwFrame([][]byte{[]byte("UNWATCH")}), 1, true)
		g.cl.watchSlot = -1
	case g.multi:
		c.gwSend(g.pinned, c.gwFrame([][]byte{[]byte("DISCARD")}), 1, true)
	case g.watch:
		c.gwSend(g.pinned, c.gwFrame([][]byte{[]byte("UNWATCH")}), 1, true)
	default:
		return
	}
	c.gwSync()
	g.multi, g.dirty, g.watch = false, false, false
	c.gwMaybeRelease()
}

// discardTx ends the transaction and drops the WATCHes.
func (c *conn) discardTx() {
	c.tx.multi = false
	c.tx.dirty = false
	c.tx.queue = nil
	c.tx.bytes = 0
	c.tx.count.Store(-1)
	c.tx.mem.Store(0)
	c.unwatch()
}

// unwatch drops the connection's WATCHes, taking the engine lock if there
// are any.
func (c *conn) unwatch() {
	if c.tx.watching {
		c.lock()
		c.ec.Unwatch()
		c.tx.watching = false
	}
}

// resetTx ends the transaction and the WATCHes (RESET).
func (c *conn) resetTx() { c.discardTx() }

// closeTx drops the connection's transaction, WATCH and blocking state as
// it closes.
func (c *conn) closeTx() {
	c.tx.queue = nil
	c.lock()
	c.ec.Unwatch()
	c.tx.watching = false
	c.closeBlocked()
	c.unlock()
}

func cmdMulti(c *conn, args [][]byte) {
	if c.tx.multi {
		c.replyError(nestedMultiReply)
		return
	}
	c.tx.multi = true
	c.tx.count.Store(0)
	c.w.WriteOK()
}

func cmdDiscard(c *conn, args [][]byte) {
	if !c.tx.multi {
		c.replyError(discardNoMultiRply)
		return
	}
	c.discardTx()
	c.w.WriteOK()
}

func cmdWatch(c *conn, args [][]byte) {
	if c.tx.multi {
		c.replyError(watchInMultiReply)
		return
	}
	c.lock()
	if c.ec.WatchCount()+len(args)-1 > maxWatchedKeys {
		c.replyError(tooManyWatchReply)
		return
	}
	c.ec.Watch(args[1:])
	c.tx.watching = true
	c.w.WriteOK()
}

func cmdUnwatch(c *conn, args [][]byte) {
	c.unwatch()
	c.w.WriteOK()
}

// cmdExec runs the queued commands under one hold of the engine lock and
// answers an array of their replies; the null array when a watched key
// changed; EXECABORT after an error while queueing.
func cmdExec(c *conn, args [][]byte) {
	if !c.tx.multi {
		c.replyError(execNoMultiReply)
		return
	}
	c.lock()
	if c.tx.dirty {
		c.discardTx()
		c.replyError(execAbortReply)
		return
	}
	if c.tx.watching && c.ec.WatchTouched() {
		c.discardTx()
		c.w.WriteNullArray()
		return
	}
	// The WATCHes go first; the transaction stays visible (CLIENT
	// LIST "x", multi=n) until it ends, as in Redis.
	c.unwatch()
	c.ec.BeginExec()
	defer c.endExec()
	queue := c.tx.queue
	c.w.WriteArray(len(queue))
	for i := range queue {
		c.runQueued(queue[i].spec, queue[i].args)
	}
}

// endExec ends EXEC: the transaction is dropped and the engine serves the
// clients blocked on keys it made ready. It runs even if a command
// panicked past its own recovery.
func (c *conn) endExec() {
	c.discardTx()
	c.lock()
	c.ec.EndExec()
}

// runQueued runs one command of EXEC; the caller holds the engine lock.
// Policy is checked again: the account's rules may have changed since the
// command was queued (Redis checks ACLs again at EXEC too).
func (c *conn) runQueued(spec *command.Spec, args [][]byte) {
	if !c.permit(spec, args) {
		c.s.stats.rejectedCall(spec)
		return
	}
	c.counters.commandsProcessed.Add(1)
	h := c.s.handlers[spec.ID]
	start, mark := c.clock(spec), c.w.Buffered()
	defer c.measure(spec, args, start, mark)
	if h == nil {
		c.execEngine(spec, args)
		c.sampleKey(spec, args, true)
		return
	}
	if spec.Name == "auth" || spec.Name == "hello" {
		// Never hold the engine lock across a password check.
		c.unlock()
		c.runHandler(h, spec, args)
		c.lock()
		return
	}
	c.runHandler(h, spec, args)
	c.lock()
}

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
