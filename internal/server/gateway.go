package server

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/resp"
	"redoubt/internal/upstream"
)

// Gateway mode: the instance's data lives in a real redis-server. After
// the front door (gate, guard, authentication, policy) a command is
// forwarded as the bytes it arrived as, without decoding its values.
//
// Commands without connection state go to one of a few shared backend
// connections, pipelined with every other client's; the replies come back
// in order and each is handed to its own client's sink. A command that
// creates connection state (MULTI, WATCH, SUBSCRIBE…, a blocking command,
// SELECT of another database, CLIENT TRACKING) pins a dedicated backend
// connection to the client for as long as the state lasts.
//
// A client's requests are in flight on one backend connection at a time:
// before it moves to another one (or writes a reply of its own) it waits
// for every reply still pending, so replies are never reordered.

// gwState is a connection's gateway state, touched only by its goroutine
// (blockedID is read by CLIENT UNBLOCK from others).
type gwState struct {
	sink        *upstream.Sink
	conn        *upstream.Conn // where the pending requests went
	outstanding int            // requests sent since the last sync
	sentAt      int64          // when the first of them was sent, Server.nanotime (round-trip histogram)
	shared      *upstream.Conn // cached shared connection
	pinned      *upstream.Conn // dedicated connection, while there is state
	pinFrom     *upstream.Backend
	scratch     []byte
	// conns are the connections the pending requests went to, when they
	// may be several (a cluster's nodes); conn is the last of them.
	conns []*upstream.Conn
	cl    clState // a cluster instance's routing state (cluster.go)

	multi    bool
	dirty    bool // a command was refused here inside MULTI: EXEC aborts
	watch    bool
	db       int // selected database; -1: not known (SELECT inside MULTI)
	tracking bool
	subs     [3]map[string]struct{} // channels, patterns, shard channels
	lost     bool                   // the pinned connection broke: state is gone

	blockedID atomic.Int64 // backend client id while blocked; 0: not blocked
	// tainted: another client pointed something at the pinned connection
	// (a CLIENT TRACKING REDIRECT, a CLIENT UNBLOCK): it is closed, never
	// reused, when this client is done with it.
	tainted  atomic.Bool
	pinnedID atomic.Int64 // backend client id of the pinned connection; 0: none
	// pinBackend is where the pinned connection came from (for CLIENT
	// UNBLOCK from other clients).
	pinBackend atomic.Pointer[upstream.Backend]
	rewritten  bool // the arguments were changed: forward them, not the frame
	// keep: the caller holds a mark in the output, so waiting must not
	// write out what arrived (pushes then pile up until the replies).
	keep bool
}

// gwMaxOutstanding is how many requests a pipelining client has in flight
// before it waits for their replies; it bounds the replies buffered for
// one client.
const gwMaxOutstanding = 256

// gwInit prepares a connection of a gateway instance.
func (c *conn) gwInit() {
	c.gwNewSink()
	c.gw.db = c.s.opts.Backend.Target.DB
}

// gwNewSink gives the connection a new sink for its replies and pushes.
func (c *conn) gwNewSink() {
	sink := upstream.NewSink()
	sink.Wake = c.unblocked
	sink.Redirects = c.s.cl != nil
	sink.OnOverflow = func() {
		// As Redis does with a pub/sub client past its output buffer
		// limit: it is closed, whatever it is doing (a write to a peer
		// that does not read would otherwise wait for ever).
		c.s.log.Warn("client closed: it does not read its pub/sub messages fast enough", "client", c.raddr)
		c.kill()
	}
	sink.OnBroken = func() {
		// The client's state on the backend is gone: it gets its errors
		// and goes. Waking it lets an idle client (a subscriber) find
		// out; the write deadline ends a write to a peer that does not
		// read, which would otherwise wait for ever.
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.wake()
	}
	c.gw.sink = sink
}

// gwSync waits for every pending reply and appends them to the output,
// after which the connection may write replies of its own.
func (c *conn) gwSync() {
	g := &c.gw
	if g.outstanding == 0 {
		if g.pinned != nil {
			c.gwPushes() // the pushes that arrived go before what follows
		}
		return
	}
	// Let the other clients that are ready add their requests first: one
	// write to the backend then carries them all, as one pass of an
	// event loop would.
	runtime.Gosched()
	mark := c.w.Buffered()
	g.conn.Flush()
	for _, up := range g.conns {
		if up != g.conn {
			up.Flush()
		}
	}
	for {
		var st upstream.Status
		c.w.Extend(func(b []byte) []byte {
			b, st = g.sink.WaitSome(b)
			return b
		})
		if st == upstream.Done {
			break
		}
		if st == upstream.Redirected {
			c.clRedirects()
			continue
		}
		// Pushes piled up while the replies are awaited: they go out
		// now, so a subscriber that reads is never cut off for them.
		if len(g.cl.merges) > 0 || g.keep {
			continue
		}
		if c.w.Flush() != nil {
			c.w.Reset()
			c.closeAfter = true
		}
	}
	if len(g.cl.merges) > 0 {
		c.clMergeReplies(mark)
		g.cl.merges = g.cl.merges[:0]
	}
	c.counters.errorReplies.Add(g.sink.TakeErrors())
	if g.sentAt != 0 {
		c.s.stats.roundTrip(time.Duration(c.s.nanotime() - g.sentAt))
		g.sentAt = 0
	}
	g.outstanding = 0
	g.conns = g.conns[:0]
	g.cl.sent = g.cl.sent[:0]
	g.cl.arena = g.cl.arena[:0]
	g.cl.multiFrame = false
	if g.pinned != nil && g.pinned.Broken() {
		// The state it held (MULTI, subscriptions, WATCH) is gone with
		// it: the client must start again, as after a server restart.
		g.lost = true
		c.closeAfter = true
	}
}

// gwMark returns the output's length, from which the replies to the
// requests sent next will be read; until gwUnmark nothing is written out.
func (c *conn) gwMark() int {
	c.gw.keep = true
	return c.w.Buffered()
}

// gwUnmark lets waiting write pushes out again.
func (c *conn) gwUnmark() { c.gw.keep = false }

// gwPushes appends the pushes received on the pinned connection.
func (c *conn) gwPushes() {
	if c.gw.sink == nil {
		return
	}
	var overflow bool
	c.w.Extend(func(b []byte) []byte {
		b, overflow = c.gw.sink.Available(b)
		return b
	})
	if overflow {
		c.closeAfter = true // (logged, and the client killed, by the sink's OnOverflow)
	}
	if g := &c.gw; g.pinned != nil && g.pinned.Broken() {
		// Not stuck writing after all (see OnBroken): its writes need no
		// deadline. A subscriber's subscriptions went with the
		// connection: it must subscribe again, as after a server
		// restart; any other client gets its errors first.
		_ = c.nc.SetWriteDeadline(time.Time{})
		if g.outstanding == 0 && g.subscribed() {
			g.lost = true
			c.closeAfter = true
		}
	}
}

// gwSend sends a command frame on up, expecting frames replies; drop
// throws the replies away (a command Redoubt sends for itself).
func (c *conn) gwSend(up *upstream.Conn, frame []byte, frames int, drop bool) {
	if c.s.cl != nil && !drop {
		c.clSend(nil, up, frame, frames)
		return
	}
	g := &c.gw
	if up != g.conn && g.outstanding > 0 && c.s.cl == nil {
		c.gwSync()
	}
	g.conn = up
	up.Send(g.sink, frame, frames, drop)
	if n := len(g.conns); n == 0 || g.conns[n-1] != up {
		g.conns = append(g.conns, up)
	}
	c.noteSent()
	g.outstanding++
	if g.outstanding >= gwMaxOutstanding {
		c.gwSync()
	}
}

// gwFrame returns the client's command as it arrived (an inline command
// is encoded as RESP).
func (c *conn) gwFrame(args [][]byte) []byte {
	if f := c.rd.Frame(); f != nil && !c.gw.rewritten {
		return f
	}
	c.gw.rewritten = false
	c.gw.scratch = resp.AppendCommand(c.gw.scratch[:0], args...)
	return c.gw.scratch
}

// gwShared returns the shared connection for this client's protocol.
func (c *conn) gwShared() *upstream.Conn {
	g := &c.gw
	proto := int(c.proto.Load())
	if up := g.shared; up != nil && !up.Broken() && up.Proto() == proto {
		return up
	}
	up, err := c.s.gw.Shared(proto, uint64(c.id))
	if err != nil {
		g.shared = nil
		return nil
	}
	g.shared = up
	return up
}

// gwPin returns the client's dedicated connection, opening one.
func (c *conn) gwPin() *upstream.Conn { return c.gwPinOn(c.s.gw) }

// gwPinOn returns the client's dedicated connection, opening one to be.
func (c *conn) gwPinOn(be *upstream.Backend) *upstream.Conn {
	g := &c.gw
	if g.pinned != nil {
		return g.pinned
	}
	c.gwSync()
	up, err := be.Dedicated(int(c.proto.Load()))
	if err != nil {
		return nil
	}
	up.SetOwner(g.sink, false)
	g.pinned = up
	g.pinFrom = be
	g.pinnedID.Store(up.ID())
	g.pinBackend.Store(be)
	return up
}

// gwUnpin gives the pinned connection back to its backend; clean says it
// holds no state and may serve another client.
func (c *conn) gwUnpin(clean bool) {
	g := &c.gw
	if g.pinned == nil {
		return
	}
	g.pinFrom.Release(g.pinned, clean)
	if g.conn == g.pinned {
		g.conn = nil
	}
	g.pinned, g.pinFrom = nil, nil
	g.pinnedID.Store(0)
	g.pinBackend.Store(nil)
}

// gwClean reports whether the pinned connection holds no state.
func (g *gwState) clean(defaultDB int) bool {
	return !g.multi && !g.watch && !g.tracking && g.db == defaultDB &&
		len(g.subs[0]) == 0 && len(g.subs[1]) == 0 && len(g.subs[2]) == 0
}

// gwMaybeRelease gives the pinned connection back once no state is left.
func (c *conn) gwMaybeRelease() {
	g := &c.gw
	if g.pinned == nil || !g.clean(c.s.opts.Backend.Target.DB) {
		return
	}
	g.blockedID.Store(0)
	c.gwSync()
	c.gwUnpin(!g.lost && !g.tainted.Swap(false))
}

// gwExec runs a command of a gateway instance after the front door
// admitted it.
func (c *conn) gwExec(spec *command.Spec, args [][]byte) {
	s := c.s
	g := &c.gw
	c.counters.commandsProcessed.Add(1)
	c.lastCmd.Store(spec)
	kind, sub, isPubsub := pubsubKind(spec.Name)
	if gwUnsupported(spec.Name) {
		// Each would leave a shared or reused backend connection in a
		// state other clients inherit.
		c.replyError("ERR '" + spec.Name + "' is not supported through Redoubt's gateway")
		if g.multi {
			g.dirty = true
		}
		return
	}
	if c.proto.Load() == 2 && g.subscribed() && !isPubsub && !subscriberModeAllowed(spec.Name) {
		if s.handlers[spec.ID] != nil {
			// Redoubt's own commands never reach the backend: AUTH and
			// HELLO carry the client's password, REDOUBT STEPUP its code.
			// Refused with Redis's words, after the replies before it.
			s.stats.rejectedCall(spec)
			c.replyError(subscriberModeBefore + spec.Name + subscriberModeAfter)
			return
		}
		// RESP2 subscriber mode: the backend refuses it, with Redis's
		// words, after the messages that came before it.
		c.gwSend(g.pinned, c.gwFrame(args), 1, false)
		return
	}
	if g.multi && !gwQueueable(spec, s.handlers[spec.ID] != nil) {
		// Redoubt cannot run these at EXEC, on the backend's schedule:
		// the transaction is refused as a whole, as for a queue-time error.
		c.replyError("ERR '" + spec.Name + "' cannot be queued in a transaction through Redoubt's gateway")
		g.dirty = true
		return
	}
	if h := s.handlers[spec.ID]; h != nil {
		c.gwSync()
		c.runHandler(h, spec, args)
		return
	}
	switch name := spec.Name; {
	case name == "select":
		c.gwSelect(args)
		return
	case name == "exec" && g.multi && g.dirty:
		c.gwSend(g.pinned, resp.AppendCommand(nil, []byte("DISCARD")), 1, true)
		c.gwSync()
		g.multi, g.dirty, g.watch = false, false, false
		c.replyError("EXECABORT Transaction discarded because of previous errors.")
		c.gwMaybeRelease()
		return
	case (spec.Has(command.FlagBlocking) || name == "wait" || name == "waitaof") && !g.multi:
		// WAIT blocks its connection too: never a shared one.
		c.gwBlocking(spec, args)
		return
	case isPubsub && !sub && g.pinned == nil:
		c.gwUnsubscribeNone(kind, args)
		return
	}
	var up *upstream.Conn
	if g.pinned != nil || spec.Has(command.FlagConnState) {
		up = c.gwPin()
	} else {
		up = c.gwShared()
	}
	if up == nil {
		c.replyError("ERR backend unavailable")
		return
	}
	if spec.Name == "client|tracking" && !c.gwTrackingRedirect(args) {
		return
	}
	if isPubsub {
		c.gwPubsub(up, kind, sub, args)
		return
	}
	switch spec.Name {
	case "multi", "watch", "exec", "discard", "unwatch", "client|tracking":
	default:
		c.gwSend(up, c.gwFrame(args), 1, false)
		return
	}
	// State changes only if the backend said yes: its reply is the first
	// after the replies to what the client sent before.
	c.gwSync()
	mark := c.gwMark()
	defer c.gwUnmark()
	c.gwSend(up, c.gwFrame(args), 1, false)
	c.gwSync()
	ok := replyKind(c.w.Bytes()[mark:]) != '-'
	switch spec.Name {
	case "multi":
		g.multi = g.multi || ok
	case "watch":
		g.watch = g.watch || ok
	case "exec", "discard":
		// Whatever the answer (EXECABORT included), the transaction and
		// the watched keys are over.
		g.multi, g.watch, g.dirty = false, false, false
	case "unwatch":
		if ok {
			g.watch = false
		}
	case "client|tracking":
		if ok && len(args) > 2 {
			g.tracking = strings.EqualFold(string(args[2]), "on")
		}
	}
	c.gwMaybeRelease()
}

// gwUnsupported reports the commands a gateway refuses: MONITOR turns its
// connection into a feed, CLIENT NO-EVICT leaves a flag on it.
func gwUnsupported(name string) bool {
	switch name {
	case "monitor", "client|no-evict":
		return true
	}
	return false
}

// subscribed reports whether the client has subscriptions.
func (g *gwState) subscribed() bool {
	return len(g.subs[0]) > 0 || len(g.subs[1]) > 0 || len(g.subs[2]) > 0
}

// subscriberModeAllowed reports the commands a RESP2 subscriber may run.
func subscriberModeAllowed(name string) bool {
	switch name {
	case "ping", "quit", "reset":
		return true
	}
	return false
}

// gwQueueable reports whether a command may be queued inside MULTI
// through the gateway. The commands Redoubt answers itself would run at
// once rather than at EXEC, and the ones that change the connection's
// subscriptions or tracking would change it at EXEC out of Redoubt's
// sight; both are refused there (QUIT and RESET run at once in Redis too,
// and EXEC, DISCARD, MULTI and WATCH are the transaction's own).
func gwQueueable(spec *command.Spec, local bool) bool {
	switch spec.Name {
	case "quit", "reset", "exec", "discard", "multi", "watch":
		return true
	case "client|tracking":
		return false
	}
	if _, _, ps := pubsubKind(spec.Name); ps {
		return false
	}
	return !local
}

// gwUnsubscribeNone answers an unsubscribe from a client with no
// subscriptions as Redis does (one confirmation per name, or one with a
// null name), without a backend connection.
func (c *conn) gwUnsubscribeNone(kind int, args [][]byte) {
	c.gwSync()
	word := [3]string{"unsubscribe", "punsubscribe", "sunsubscribe"}[kind]
	if len(args) == 1 {
		c.w.WritePush(3)
		c.w.WriteBulkString(word)
		c.w.WriteNull()
		c.w.WriteInt(0)
		return
	}
	for _, name := range args[1:] {
		c.w.WritePush(3)
		c.w.WriteBulkString(word)
		c.w.WriteBulk(name)
		c.w.WriteInt(0)
	}
}

// gwSelect is SELECT: the client's default database needs no state on
// the backend; any other pins a connection, and the backend answers.
func (c *conn) gwSelect(args [][]byte) {
	g := &c.gw
	n, ok := resp.ParseInt(args[1])
	def := c.s.opts.Backend.Target.DB
	if ok && g.pinned == nil && n == int64(def) && !g.multi {
		c.gwSync()
		c.w.WriteOK()
		return
	}
	up := c.gwPin()
	if up == nil {
		c.replyError("ERR backend unavailable")
		return
	}
	if g.multi {
		// It takes effect at EXEC, if the transaction runs: the database
		// is not known from now on, and the connection is never reused.
		c.gwSend(up, c.gwFrame(args), 1, false)
		g.db = -1
		return
	}
	c.gwSync()
	mark := c.gwMark()
	defer c.gwUnmark()
	c.gwSend(up, c.gwFrame(args), 1, false)
	c.gwSync()
	if ok && replyKind(c.w.Bytes()[mark:]) == '+' {
		g.db = int(n)
		c.db.Store(int32(n))
	}
	c.gwMaybeRelease()
}

// pubsubKind classifies the subscription commands: kind 0 channels, 1
// patterns, 2 shard channels; sub is true for the subscribing ones.
func pubsubKind(name string) (kind int, sub, ok bool) {
	switch name {
	case "subscribe":
		return 0, true, true
	case "unsubscribe":
		return 0, false, true
	case "psubscribe":
		return 1, true, true
	case "punsubscribe":
		return 1, false, true
	case "ssubscribe":
		return 2, true, true
	case "sunsubscribe":
		return 2, false, true
	}
	return 0, false, false
}

// gwPubsub runs a (un)subscribe command on the pinned connection. The
// client's subscriptions are kept as the backend will have them, to know
// how many confirmations the command gets (one per name, or one per
// subscription — at least one — to unsubscribe from all) and when the
// connection leaves subscribed mode. Messages keep arriving until the
// backend has read the command, so RESP2 subscribed mode (where messages
// are told from replies by their form) ends only once every confirmation
// is in; a refusal (an ACL on channels at the backend: one error for the
// whole command) undoes what was recorded.
func (c *conn) gwPubsub(up *upstream.Conn, kind int, sub bool, args [][]byte) {
	g := &c.gw
	set := g.subs[kind]
	if set == nil {
		set = map[string]struct{}{}
		g.subs[kind] = set
	}
	before := maps.Clone(set)
	names := args[1:]
	frames := len(names)
	switch {
	case !sub && len(names) == 0:
		frames = max(len(set), 1)
		clear(set)
	case sub:
		for _, name := range names {
			set[string(name)] = struct{}{}
		}
	default:
		for _, name := range names {
			delete(set, string(name))
		}
	}
	resp2 := c.proto.Load() == 2
	c.gwSync() // the replies before go before the mark
	up.SetOwner(g.sink, resp2 && (len(before) > 0 || g.subscribed()))
	mark := c.gwMark()
	defer c.gwUnmark()
	c.gwSend(up, c.gwFrame(args), frames, false)
	c.gwSync()
	if replyKind(c.w.Bytes()[mark:]) == '-' {
		g.subs[kind] = before
	}
	up.SetOwner(g.sink, resp2 && g.subscribed())
	c.gwMaybeRelease()
}

// gwBlocking runs a blocking command on a dedicated connection and waits
// for its reply while it keeps reading the client's socket, as a blocked
// client of the embedded engine does: a client that leaves, is killed or
// shut down ends the wait, and its backend connection is closed (which
// ends the command on the backend).
func (c *conn) gwBlocking(spec *command.Spec, args [][]byte) {
	g := &c.gw
	up := c.gwPin()
	if up == nil {
		c.replyError("ERR backend unavailable")
		return
	}
	c.gwSync()
	if c.flush() != nil {
		return
	}
	g.cl.own = true // (cluster) sent again elsewhere, it stays dedicated
	c.gwSend(up, c.gwFrame(args), 1, false)
	g.cl.own = false
	// Blocked before the backend can be: a CLIENT UNBLOCK that sees the
	// backend blocked finds the client too.
	g.blockedID.Store(up.ID()) // before blocked: whoever sees the client blocked finds its backend id
	c.blk.blocked.Store(true)
	g.sink.AsyncWait = true
	up.Flush()
	defer func() {
		g.sink.AsyncWait = false
		g.blockedID.Store(0)
		c.blk.blocked.Store(false)
		if !c.killed.Load() && !c.stopping.Load() {
			_ = c.nc.SetReadDeadline(c.deadline)
		}
	}()
	for {
		if g.sink.Ready() {
			if !g.sink.Redirected() {
				break
			}
			// The cluster sent it to another node: it waits there, and
			// the client's socket is still watched meanwhile.
			c.clRedirects()
			continue
		}
		if c.killed.Load() || c.stopping.Load() {
			c.gwAbandon()
			return
		}
		_ = c.nc.SetReadDeadline(time.Time{}) // a blocked client does not idle out
		var rerr error
		if !c.woken.Load() {
			rerr = c.rd.ReadMore(maxBlockedInput)
		}
		if rerr == resp.ErrBufferFull {
			select {
			case <-c.blk.sig:
			case <-c.s.quit:
			}
			continue
		}
		if rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) {
			c.gwAbandon() // the peer left
			return
		}
		if c.woken.Swap(false) {
			// Pushes (RESP3 messages, invalidations) reach a blocked
			// client as they arrive.
			c.gwPushes()
			if c.w.Flush() != nil {
				c.gwAbandon()
				return
			}
		}
	}
	g.sink.AsyncWait = false
	g.sentAt = 0 // the time it waited blocked is not a round trip
	c.gwSync()
	c.gwMaybeRelease()
}

// noteSent records when the first request since the last sync went out.
func (c *conn) noteSent() {
	if c.gw.outstanding == 0 && c.s.stats.on {
		c.gw.sentAt = c.s.nanotime()
	}
}

// gwAbandon drops the pinned connection of a client that goes away in
// the middle of a command.
func (c *conn) gwAbandon() {
	g := &c.gw
	c.gwUnpin(false)
	g.conn = nil
	g.conns = g.conns[:0]
	g.outstanding = 0
	c.gwNewSink() // late replies go to the old one
	c.closeAfter = true
}

// gwReset is RESET's part: the pinned connection and its state go.
func (c *conn) gwReset() {
	g := &c.gw
	if p := g.pinned; p != nil && !p.Broken() && (g.subscribed() || g.multi || g.watch || g.tracking) {
		// The backend drops the state before RESET is answered, so a
		// client told +RESET is subscribed nowhere any more (closing the
		// connection would let the backend notice later).
		c.gwSend(p, resp.AppendCommand(nil, []byte("RESET")), 1, true)
	}
	c.gwSync()
	c.gwUnpin(false)
	g.conn = nil
	g.multi, g.dirty, g.watch, g.tracking, g.lost = false, false, false, false, false
	g.cl.reset()
	g.db = c.s.opts.Backend.Target.DB
	g.subs = [3]map[string]struct{}{}
}

// gwClose releases what a closing connection holds.
func (c *conn) gwClose() { c.gwUnpin(false) }

// gwProto follows a protocol change (HELLO) on the pinned connection.
func (c *conn) gwProto(proto int) {
	g := &c.gw
	if g.pinned == nil || g.pinned.Proto() == proto {
		return
	}
	// The pinned connection keeps its state; it speaks the new protocol
	// from now on. Its HELLO reply is not the client's.
	// In RESP2 the messages that follow are told from replies by their
	// form: subscribed mode starts with the switch.
	g.pinned.SetOwner(g.sink, proto == 2 && g.subscribed())
	c.gwSend(g.pinned, resp.AppendCommand(nil, []byte("HELLO"), []byte(strconv.Itoa(proto))), 1, true)
	c.gwSync()
	g.pinned.SetProto(proto)
}

// gwClientUnblock is CLIENT UNBLOCK for a gateway instance: the client
// is blocked on its backend connection, whose own id the backend knows.
func gwClientUnblock(c *conn, args [][]byte) {
	if len(args) != 3 && len(args) != 4 {
		c.replyError("ERR wrong number of arguments for 'client|unblock' command")
		return
	}
	if len(args) == 4 {
		switch strings.ToLower(string(args[3])) {
		case "timeout", "error":
		default:
			c.replyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := resp.ParseInt(args[2])
	if !ok {
		c.replyError("ERR value is not an integer or out of range")
		return
	}
	var backendID int64
	var be *upstream.Backend
	if o := c.s.connByID(id); o != nil {
		o.gw.tainted.Store(true) // before the id is read: see gwMaybeRelease
		backendID = o.gw.blockedID.Load()
		be = o.gw.pinBackend.Load() // the cluster node it is blocked on
	}
	var up *upstream.Conn
	if backendID != 0 && be != nil {
		up, _ = be.Shared(int(c.proto.Load()), uint64(c.id))
	}
	if up == nil {
		c.gwSync()
		c.w.WriteInt(0)
		return
	}
	fwd := [][]byte{[]byte("CLIENT"), []byte("UNBLOCK"), []byte(strconv.FormatInt(backendID, 10))}
	if len(args) == 4 {
		fwd = append(fwd, args[3])
	}
	frame := resp.AppendCommand(nil, fwd...)
	// The client counts as blocked as soon as its command is on its way,
	// and UNBLOCK goes over another connection: the backend may answer 0
	// before it has run the blocked command. While the client is still
	// blocked there, ask again for a moment.
	c.gwSync()
	mark := c.gwMark()
	defer c.gwUnmark()
	for try := 0; ; try++ {
		c.gwSend(up, frame, 1, false)
		c.gwSync()
		if string(c.w.Bytes()[mark:]) != ":0\r\n" || try == unblockRetries || c.s.connByID(id) == nil ||
			c.s.connByID(id).gw.blockedID.Load() != backendID {
			return
		}
		c.w.Truncate(mark)
		time.Sleep(unblockRetryGap)
	}
}

// CLIENT UNBLOCK asks the backend again this many times, this far apart,
// for a client whose blocked command has not reached it yet.
const (
	unblockRetries  = 20
	unblockRetryGap = 5 * time.Millisecond
)

// gwTrackingRedirect translates CLIENT TRACKING … REDIRECT <id>: the id
// is one of Redoubt's clients, and the backend knows only its own
// connections, so it becomes the id of that client's dedicated backend
// connection (the one subscribed to __redis__:invalidate). A client with
// none, or an id of no client, gets Redis's error: an id must never
// reach the backend as it is, where it could name a connection shared by
// other clients.
func (c *conn) gwTrackingRedirect(args [][]byte) bool {
	for i := 3; i < len(args); i++ {
		if !strings.EqualFold(string(args[i]), "redirect") {
			continue
		}
		if i+1 >= len(args) {
			return true // the backend answers the syntax error
		}
		id, ok := resp.ParseInt(args[i+1])
		if !ok {
			c.replyError("ERR value is not an integer or out of range")
			return false
		}
		var backendID int64
		if o := c.s.connByID(id); o != nil && o != c {
			o.gw.tainted.Store(true) // before the id is read: see gwMaybeRelease
			backendID = o.gw.pinnedID.Load()
		}
		if backendID == 0 {
			c.replyError("ERR The client ID you want redirect to does not exist")
			return false
		}
		args[i+1] = []byte(strconv.FormatInt(backendID, 10))
		c.gw.rewritten = true
		i++
	}
	return true
}

// replyKind returns the type byte of the first reply in b that is not a
// push — a RESP3 push, or a RESP2 pub/sub message (pushes may arrive
// between replies) — or 0.
func replyKind(b []byte) byte {
	rd := resp.NewReader(bytes.NewReader(b), resp.DefaultLimits())
	for {
		raw, err := rd.ReadRaw()
		if err != nil || len(raw) == 0 {
			return 0
		}
		if raw[0] != '>' && !(raw[0] == '*' && upstream.IsMessage(raw)) {
			return raw[0]
		}
	}
}
