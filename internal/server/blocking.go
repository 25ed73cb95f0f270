package server

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"redoubt/internal/engine"
	"redoubt/internal/resp"
)

// Blocking commands, the server's side (the engine keeps the registry and
// serves ready keys, see engine/blocking.go): the connection whose command
// blocked releases the engine lock, flushes its earlier replies and waits
// on its socket until the engine's unblock hook wakes it (served, CLIENT
// UNBLOCK), its timeout passes, or it is killed, shut down or the peer
// leaves. It keeps reading while it waits, to notice a peer that leaves;
// what arrives is buffered unparsed, at most maxBlockedInput bytes, and
// runs after the blocked command is answered, in order.

// maxBlockedInput is how many unread bytes a blocked connection buffers;
// beyond it the connection stops reading until it is unblocked (the peer
// then waits on TCP flow control).
const maxBlockedInput = 64 << 10

// blockWait is a connection's state while a command of it is blocked.
type blockWait struct {
	blocked atomic.Bool   // for CLIENT LIST's "b" flag
	sig     chan struct{} // unblocked, killed or shutting down (capacity 1)
}

// blockingCommands are the server's commands about blocked clients.
func blockingCommands() map[string]connHandler {
	return map[string]connHandler{"client|unblock": cmdClientUnblock}
}

// signal nudges a connection that waits without reading (its buffer for
// input is full); safe from any goroutine.
func (c *conn) signal() {
	select {
	case c.blk.sig <- struct{}{}:
	default:
	}
}

// unblocked is the engine's unblock hook: another goroutine answered the
// connection's blocked command, under the engine lock.
func (c *conn) unblocked() {
	c.signal()
	c.wake()
}

// waitBlocked waits until the command the connection just ran, which
// blocked, is answered, and appends the answer to the writer; it returns
// where the answer begins in the writer (mark when it was answered at
// once: the replies before it are flushed while it waits). It is called
// and returns with the engine lock held. A connection that is
// killed, shut down or whose peer leaves is marked to close.
func (c *conn) waitBlocked(mark int) int {
	if c.ec.FinishBlock() {
		return mark // served at once
	}
	c.blk.blocked.Store(true)
	defer c.blk.blocked.Store(false)
	var deadline time.Time
	if t := c.ec.BlockTimeout(); t > 0 {
		deadline = time.Now().Add(t)
	}
	c.unlock()
	c.lastActive.Store(time.Now().UnixNano())
	werr := c.flush() // the replies of the commands before this one
	mark = c.w.Buffered()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var rerr error
		if werr == nil && !c.killed.Load() && !c.stopping.Load() {
			_ = c.nc.SetReadDeadline(deadline)
			// A wake after this check interrupts the read: wake sets
			// woken before it moves the deadline.
			if !c.woken.Load() {
				rerr = c.rd.ReadMore(maxBlockedInput)
			}
			if rerr == resp.ErrBufferFull {
				rerr = nil
				var expire <-chan time.Time
				if !deadline.IsZero() {
					if timer == nil {
						timer = time.NewTimer(time.Until(deadline))
					}
					expire = timer.C
				}
				select {
				case <-c.blk.sig:
				case <-expire:
				case <-c.s.quit:
				}
			}
		}
		c.lock()
		if c.ec.FinishBlock() {
			c.aofPos = max(c.aofPos, c.s.feed.last) // served by another's command: wait for all logged so far
			break
		}
		if werr != nil || c.killed.Load() || c.stopping.Load() ||
			(rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded)) {
			c.ec.Unblock(engine.UnblockDrop)
			c.ec.FinishBlock()
			c.closeAfter = true
			return c.w.Buffered()
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			c.ec.Unblock(engine.UnblockTimeout)
			c.ec.FinishBlock()
			break
		}
		c.unlock()
		if c.woken.Swap(false) {
			c.onWake() // pub/sub messages arrive while blocked
			werr = c.flush()
			mark = c.w.Buffered()
		}
	}
	if !c.killed.Load() && !c.stopping.Load() {
		_ = c.nc.SetReadDeadline(c.deadline)
	}
	return mark
}

// closeBlocked drops a blocked command of a connection that closes.
func (c *conn) closeBlocked() {
	if c.ec.Blocking() {
		c.ec.Unblock(engine.UnblockDrop)
		c.ec.FinishBlock()
	}
}

// cmdClientUnblock is CLIENT UNBLOCK id [TIMEOUT|ERROR]: it answers a
// client blocked in a blocking command with its timeout reply or with
// Redis's UNBLOCKED error, and replies 1, or 0 when no such client is
// blocked.
func cmdClientUnblock(c *conn, args [][]byte) {
	why := engine.UnblockTimeout
	if len(args) == 4 {
		switch strings.ToLower(string(args[3])) {
		case "timeout":
		case "error":
			why = engine.UnblockError
		default:
			c.replyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	} else if len(args) != 3 {
		c.replyError("ERR wrong number of arguments for 'client|unblock' command")
		return
	}
	id, ok := resp.ParseInt(args[2])
	if !ok {
		c.replyError("ERR value is not an integer or out of range")
		return
	}
	target := c.s.connByID(id)
	c.lock()
	if target != nil && target.ec.Unblock(why) {
		c.w.WriteInt(1)
		return
	}
	c.w.WriteInt(0)
}

// stateFlags are the CLIENT LIST flags of the transaction and blocking
// state: "x" inside MULTI, "b" while blocked, in Redis's order.
func (c *conn) stateFlags() string {
	switch multi, blocked := c.tx.count.Load() >= 0, c.blk.blocked.Load(); {
	case multi && blocked:
		return "xb"
	case multi:
		return "x"
	case blocked:
		return "b"
	}
	return ""
}
