package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/engine"
	"redoubt/internal/guard"
	"redoubt/internal/keystats"
	"redoubt/internal/monitor"
	"redoubt/internal/resp"
)

const (
	// maxBatch is how many pipelined commands run under one hold of the
	// engine lock before other connections get a turn.
	maxBatch = 64
	// flushThreshold is the reply size that is written out mid-batch.
	flushThreshold = 64 << 10
)

// connHandler runs a command the server answers itself.
type connHandler func(c *conn, args [][]byte)

// conn is one client connection. Only its own goroutine touches the
// fields without a lock; the ones CLIENT LIST reads from other goroutines
// are guarded by mu or atomic.
type conn struct {
	s  *Server
	nc net.Conn
	rd *resp.Reader
	w  *resp.Writer
	ec *engine.Client

	id      int64
	created time.Time
	laddr   string
	raddr   string
	peer    netip.Addr  // the peer's address (zero for unix sockets)
	class   guard.Class // loopback, unix, private …
	tls     *tls.Conn   // nil on plain listeners

	// Security state, touched only by the connection's goroutine.
	pol          *policy   // the policy acct was resolved against
	acct         *account  // nil until authenticated
	authDeadline time.Time // zero once authenticated
	stepUpUntil  time.Time
	addrReleased bool
	user         atomic.Pointer[string] // account name, for CLIENT LIST

	locked bool // holds the engine lock for the current batch
	batch  int

	mu   sync.Mutex // guards name
	name string

	lastCmd atomic.Pointer[command.Spec]
	// Per-connection counters: atomics, but only this connection's
	// goroutine writes them, so they never bounce between cores. INFO sums
	// them; a closing connection adds them to the server's totals.
	counters counters
	// keySampler picks the commands whose key is sampled (hotkeys.go).
	keySampler keystats.Sampler
	// clockAt is when the last measured command of the batch ended (the
	// next one's start); 0 at the start of a batch (stats.go).
	clockAt int64
	fastN   uint32 // @fast commands seen, for timing one in fastSample
	// sb gathers the statistics of the current batch (stats.go); nil
	// when monitoring is off.
	sb *statBatch

	lastActive atomic.Int64 // unix nanoseconds
	proto      atomic.Int32
	db         atomic.Int32 // selected database, published for CLIENT LIST
	rbs        atomic.Int64 // read buffer size, published for CLIENT LIST
	closeAfter bool         // QUIT, or a killed client: close after flushing
	killed     atomic.Bool
	stopping   atomic.Bool // graceful shutdown: the next read ends the connection
	closeOnce  sync.Once

	// Wake-ups from other goroutines (a pub/sub message, a blocked
	// command served): wake sets woken and interrupts the read with a
	// past deadline; a read that times out before deadline (the one the
	// connection set itself) is a wake-up, not a timeout.
	woken    atomic.Bool
	deadline time.Time // the read deadline this goroutine set; zero: none

	// Durability: the append-only file position this connection's
	// replies wait for (written under the engine lock), and the one
	// already committed.
	aofPos, committed uint64

	tx  txState   // MULTI/EXEC and WATCH (multi.go)
	blk blockWait // a blocked command (blocking.go)
	ps  psState   // pub/sub subscriptions (pubsub.go)
	gw  gwState   // a gateway instance's backend state (gateway.go)
}

func newConn(s *Server, nc, raw net.Conn, peer netip.Addr, class guard.Class) *conn {
	c := &conn{
		s:       s,
		nc:      nc,
		id:      s.nextID.Add(1),
		created: time.Now(),
		laddr:   addrString(raw.LocalAddr()),
		raddr:   addrString(raw.RemoteAddr()),
		peer:    peer,
		class:   class,
		pol:     s.pol.Load(),
	}
	c.tls, _ = nc.(*tls.Conn)
	lim := resp.DefaultLimits()
	if c.pol.deflt != nil {
		c.setAccount(c.pol.deflt)
	} else {
		lim = resp.PreAuthLimits()
		timeout := c.pol.sec.AuthTimeout
		if timeout <= 0 {
			timeout = DefaultAuthTimeout
		}
		c.authDeadline = c.created.Add(timeout)
	}
	c.rd = resp.NewReader(countingReader{nc, &c.counters.netInputBytes}, lim)
	c.rd.CheckInline = c.checkInline
	c.w = resp.NewWriter(countingWriter{nc, &c.counters.netOutputBytes})
	c.ec = s.eng.NewClient(c.w)
	c.ec.SetUnblockHook(c.unblocked)
	switch {
	case s.gw != nil:
		c.gwInit()
	case s.cl != nil:
		c.clInit()
	}
	c.blk.sig = make(chan struct{}, 1)
	c.tx.count.Store(-1)
	c.tx.limit = maxTxBytes
	c.proto.Store(2)
	c.rbs.Store(int64(c.rd.BufferCap()))
	c.lastActive.Store(c.created.UnixNano())
	c.rd.BeforeBlock = c.beforeBlock
	return c
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	if a.Network() == "unix" {
		return a.String() + ":0"
	}
	return a.String()
}

// serve runs the connection until the peer leaves, a protocol error, QUIT
// or shutdown.
func (c *conn) serve() {
	// Leave the registry before the socket closes, so a peer that sees
	// the close never finds the connection in CLIENT LIST.
	defer c.s.removeConn(c)
	if !c.start() {
		return
	}
	for {
		args, err := c.rd.ReadCommand()
		if err != nil && c.wakeup(err) {
			continue
		}
		if err != nil {
			// The deadline is the socket's, on the real clock.
			if c.acct == nil && !c.authDeadline.IsZero() && !time.Now().Before(c.authDeadline) {
				c.s.event(monitor.AuthTimeout, c.raddr, "", "")
			}
			if err == errInlineRefused {
				c.unlock()
				c.replyError(inlineRefusedReply)
				_ = c.flush()
				return
			}
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				c.gwSync()
				c.unlock()
				c.s.log.Debug("protocol error", "client", c.raddr, "err", pe.Msg)
				c.w.WriteError(pe.Reply())
				c.counters.errorReplies.Add(1)
				c.s.stats.failedWith([]byte(pe.Reply()))
			}
			c.unlock()
			_ = c.flush()
			return
		}
		c.exec(args)
		if c.closeAfter || c.killed.Load() {
			c.unlock()
			_ = c.flush()
			return
		}
		if c.w.Buffered() > flushThreshold {
			c.unlock()
			if c.flush() != nil {
				return
			}
		}
	}
}

// start runs the TLS handshake and sets the first read deadline: the
// authentication deadline of a connection that must AUTH.
func (c *conn) start() bool {
	deadline := c.authDeadline
	if c.tls != nil {
		hs := deadline
		if hs.IsZero() {
			hs = c.created.Add(DefaultAuthTimeout)
		}
		_ = c.nc.SetDeadline(hs)
		if err := c.tls.Handshake(); err != nil {
			c.s.log.Debug("TLS handshake failed", "client", c.raddr, "err", err)
			return false
		}
		_ = c.nc.SetDeadline(time.Time{})
	}
	if !deadline.IsZero() {
		c.setReadDeadline(deadline)
	}
	return true
}

// setReadDeadline sets the connection's own read deadline (authentication
// or idle timeout; zero for none).
func (c *conn) setReadDeadline(t time.Time) {
	c.deadline = t
	_ = c.nc.SetReadDeadline(t)
}

// wake interrupts the connection's read so that its goroutine runs
// onWake. Safe from any goroutine; cheap when called often.
func (c *conn) wake() {
	if c.woken.Swap(true) {
		return
	}
	_ = c.nc.SetReadDeadline(time.Now())
}

// wakeup reports whether a read error is a wake-up rather than a real
// timeout or failure; if so it runs onWake and restores the deadline, and
// the read may be retried (the reader keeps its state across timeouts).
func (c *conn) wakeup(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) || c.killed.Load() || c.stopping.Load() {
		return false
	}
	if !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		return false // the connection's own deadline passed
	}
	c.woken.Store(false)
	_ = c.nc.SetReadDeadline(c.deadline)
	c.onWake()
	// A subscriber that must go (its messages overflowed, its backend
	// connection broke) goes now, after what it was sent.
	return !c.closeAfter
}

// onWake does what other goroutines asked of this connection: deliver
// pub/sub messages. Replies are flushed before the next read.
func (c *conn) onWake() {
	if c.s.proxied() {
		c.gwPushes()
		return
	}
	c.deliverPush()
}

// beforeBlock runs when no complete command is buffered: the batch ends,
// the engine lock is released and the replies are written at once.
func (c *conn) beforeBlock() error {
	c.unlock()
	c.clockAt = 0
	c.flushStats()
	now := time.Now()
	c.lastActive.Store(now.UnixNano())
	c.rbs.Store(int64(c.rd.BufferCap()))
	if idle := c.pol.sec.IdleTimeout; idle > 0 && c.acct != nil {
		c.setReadDeadline(now.Add(idle))
	}
	if c.woken.Load() {
		c.woken.Store(false)
		c.onWake()
	}
	if err := c.flush(); err != nil {
		return err
	}
	if c.closeAfter {
		// Found while flushing (a proxied client's backend connection
		// broke with its state): the client has its errors, and goes
		// before it sends another command.
		return errClosing
	}
	return nil
}

// errClosing ends a connection that was marked to close.
var errClosing = errors.New("closing")

func (c *conn) lock() {
	if !c.locked {
		c.s.eng.Lock()
		c.locked = true
		c.batch = 0
		c.clockAt = 0 // the wait for the lock is no command's time
	}
}

func (c *conn) unlock() {
	if c.locked {
		c.s.eng.Unlock()
		c.locked = false
	}
}

// exec resolves and runs one command.
func (c *conn) exec(args [][]byte) {
	s := c.s
	if !c.rd.Inline() && !c.pol.sec.NoGuard {
		if kind, ok := guard.DetectCommandName(args[0]); ok {
			c.crossProtocol(kind.String())
			c.closeSilently()
			return
		}
	}
	spec, errReply := s.table.Resolve(args, s.available)
	if spec == nil {
		if r := s.arityRejected(args); r != nil {
			s.stats.rejectedCall(r)
		}
		c.replyError(errReply)
		c.txFlag()
		return
	}
	if !c.permit(spec, args) {
		s.stats.rejectedCall(spec)
		c.txFlag()
		return
	}
	if s.proxied() {
		c.sampleKey(spec, args, false)
		c.proxyExec(spec, args)
		c.called(spec) // after: INFO's own call is not in its reply, as in Redis
		return
	}
	if c.pubsubIntercept(spec, args) || c.txIntercept(spec, args) {
		return
	}
	c.counters.commandsProcessed.Add(1)
	c.lastCmd.Store(spec)
	if h := s.handlers[spec.ID]; h != nil {
		// The server's own commands take the engine lock only if they
		// need it (INFO does), so a pipeline of them never holds it.
		c.unlock()
		start := c.clock(spec)
		mark := c.w.Buffered()
		c.runHandler(h, spec, args)
		c.unlock()
		c.measure(spec, args, start, mark)
		return
	}
	c.lock()
	c.ec.Raw = c.rd.Frame() // logged as it arrived, not encoded again
	start := c.clock(spec)
	mark := c.w.Buffered()
	c.execEngine(spec, args)
	c.measure(spec, args, start, mark)
	c.sampleKey(spec, args, true)
	c.ec.Raw = nil
	if c.ec.Blocking() {
		c.countError(c.waitBlocked(c.w.Buffered()))
	}
	c.batch++
	if c.batch >= maxBatch {
		c.unlock()
	}
}

// execEngine runs a command on the engine; the caller holds the lock.
// While the append-only file cannot be written, write commands are
// refused, as Redis's MISCONF.
func (c *conn) execEngine(spec *command.Spec, args [][]byte) {
	if c.s.aofFailed.Load() && spec.Flags&command.FlagWrite != 0 {
		if msg := c.s.durabilityRefusal(); msg != "" {
			c.replyError(msg)
			return
		}
	}
	mark := c.w.Buffered()
	before := c.s.feed.last
	c.s.eng.Exec(c.ec, spec, args)
	c.notePos(before)
	c.countError(mark)
	if d := int32(c.ec.DB()); d != c.db.Load() {
		c.db.Store(d)
	}
}

// countError counts an error reply written after mark.
func (c *conn) countError(mark int) {
	if b := c.w.Bytes(); len(b) > mark && b[mark] == '-' {
		c.counters.errorReplies.Add(1)
		c.s.stats.failedWith(b[mark+1:])
	}
}

// failedAfter reports whether the reply written after mark is an error.
func (c *conn) failedAfter(mark int) bool {
	b := c.w.Bytes()
	return len(b) > mark && b[mark] == '-'
}

// runHandler runs a command the server answers itself. A panic is
// recovered as the engine does it: logged with the command name only,
// answered with an error, the partial reply dropped.
func (c *conn) runHandler(h connHandler, spec *command.Spec, args [][]byte) {
	mark := c.w.Buffered()
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("command panicked", "command", spec.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.w.Truncate(mark)
			c.replyError("ERR internal error while running '" + spec.Name + "'")
		}
	}()
	h(c, args)
}

// proxyExec runs a command of a gateway or cluster instance. A panic
// (a bug) costs the client its connection, whose state is then unknown,
// not the process its clients.
func (c *conn) proxyExec(spec *command.Spec, args [][]byte) {
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("command panicked; the client is disconnected", "command", spec.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.gwAbandon()
		}
	}()
	if c.s.cl != nil {
		c.clExec(spec, args)
		return
	}
	c.gwExec(spec, args)
}

// available reports whether the instance runs spec, for Resolve. A
// refused command counts as available, so it gets the refusal (after
// NOAUTH) rather than "unknown command".
func (s *Server) available(spec *command.Spec) bool {
	if s.proxied() {
		// The backend answers what it does not know; CLIENT REPLY would
		// leave requests without replies, and is not supported here
		// either.
		return spec.Name != "client|reply"
	}
	if s.handlers[spec.ID] != nil || s.pol.Load().disabled[spec.ID] {
		return true
	}
	for _, sub := range spec.Subcommands {
		if s.handlers[sub.ID] != nil {
			return true
		}
	}
	return s.eng.Supports(spec)
}

func (c *conn) replyError(msg string) {
	c.gwSync() // after the replies still to come from the backend
	c.counters.errorReplies.Add(1)
	c.s.stats.failedWith([]byte(msg))
	c.w.WriteError(msg)
}

// stopReading makes the connection's next read fail, so it finishes the
// command it runs, flushes and ends: the first step of a graceful shutdown.
// Writes to a peer that does not read give up at writeBy (zero: never).
func (c *conn) stopReading(writeBy time.Time) {
	c.stopping.Store(true)
	_ = c.nc.SetReadDeadline(time.Now())
	c.signal()
	_ = c.nc.SetWriteDeadline(writeBy)
}

// kill ends the connection from another goroutine (CLIENT KILL): its reads
// and writes fail at once, even if it is blocked writing to a peer that
// does not read, and replies not yet written are dropped, as in Redis.
func (c *conn) kill() {
	c.killed.Store(true)
	_ = c.nc.SetDeadline(time.Now())
	c.signal()
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.unlock()
		_ = c.nc.Close()
	})
}

// countingReader counts the bytes read for INFO's net input. A deadline
// error passes through as it is: it may be a wake-up (see wakeup).
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (cr countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n.Add(int64(n))
	return n, err
}

// countingWriter counts the bytes written for INFO's net output.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(int64(n))
	return n, err
}

// notePos records that the replies written so far wait for the
// append-only file up to where it is now, if it moved past before. The
// caller holds the engine lock.
func (c *conn) notePos(before uint64) {
	if last := c.s.feed.last; last != before {
		c.aofPos = last
	}
}

// flush writes the buffered replies, first making the changes they
// acknowledge as durable as appendfsync says (fsynced under always,
// written to the OS under everysec and no). If that fails, the replies
// are dropped and the connection closes: a client is never told a write
// is stored that may not be.
func (c *conn) flush() error {
	c.clockAt = 0 // writing to the socket is no command's time
	c.gwSync()
	if c.aofPos > c.committed {
		// Let the other connections that are ready run their batches
		// first: the write (and the fsync, under always) then serves
		// them all, as one pass of Redis's event loop does.
		runtime.Gosched()
		if err := c.s.store.aof.Commit(c.aofPos); err != nil {
			c.w.Reset()
			c.s.log.Error("append-only file not durable: closing the connection without its replies",
				"client", c.raddr, "err", err)
			c.closeAfter = true
			return err
		}
		c.committed = c.aofPos
	}
	return c.w.Flush()
}
