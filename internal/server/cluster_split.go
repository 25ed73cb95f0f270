package server

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"redoubt/internal/cluster"
	"redoubt/internal/command"
	"redoubt/internal/resp"
	"redoubt/internal/upstream"
)

// The cluster gateway's commands that span slots: transactions (queued
// here, sent to one node at EXEC), multi-key commands split per slot,
// and the keyspace commands every master answers.

// clQueue handles a command inside MULTI: the transaction's commands are
// queued here, all in one slot, and sent together at EXEC.
func (c *conn) clQueue(spec *command.Spec, args [][]byte) {
	g := &c.gw
	st := &g.cl
	c.gwSync()
	switch spec.Name {
	case "multi":
		c.replyError(nestedMultiReply)
		return
	case "watch":
		c.replyError(watchInMultiReply)
		return
	case "exec":
		c.clExecTx()
		return
	case "discard":
		c.clEndTx()
		c.w.WriteOK()
		return
	case "quit", "reset":
		c.runHandler(c.s.handlers[spec.ID], spec, args)
		return
	}
	if spec.Has(command.FlagNoMulti) {
		c.replyError(notInTxReply)
		g.dirty = true
		return
	}
	if !gwQueueable(spec, c.s.handlers[spec.ID] != nil) || clFanoutCommand(spec.Name) {
		c.replyError("ERR '" + strings.ToUpper(strings.ReplaceAll(spec.Name, "|", " ")) + "' cannot be queued in a transaction through Redoubt's cluster gateway")
		g.dirty = true
		return
	}
	slot, cross := c.clSlot(spec, args)
	if slot >= 0 && st.txSlot < 0 {
		st.txSlot = slot
	}
	if cross || (slot >= 0 && slot != st.txSlot) || (slot >= 0 && st.watchSlot >= 0 && slot != st.watchSlot) {
		c.replyError(crossSlotReply)
		g.dirty = true
		return
	}
	if !g.dirty {
		frame := c.gwFrame(args)
		if len(st.txBuf)+len(frame) > c.tx.limit {
			c.replyError(txTooLargeReply)
			g.dirty = true
			return
		}
		st.txBuf = append(st.txBuf, frame...)
		st.txCount++
	}
	c.w.WriteSimple("QUEUED")
}

// clFanoutCommand reports the commands every master answers.
func clFanoutCommand(name string) bool {
	switch name {
	case "dbsize", "keys", "flushall", "flushdb", "randomkey", "scan",
		"script|load", "script|exists", "script|flush":
		return true
	}
	return false
}

// clEndTx ends the transaction and the WATCHes.
func (c *conn) clEndTx() {
	g := &c.gw
	if g.watch && g.pinned != nil {
		c.gwSend(g.pinned, resp.AppendCommand(nil, []byte("UNWATCH")), 1, true)
		c.gwSync()
	}
	g.multi, g.dirty, g.watch = false, false, false
	g.cl.txSlot, g.cl.txBuf, g.cl.txCount, g.cl.watchSlot = -1, g.cl.txBuf[:0], 0, -1
	g.cl.watchAsking = false
	if cap(g.cl.txBuf) > 1<<20 {
		g.cl.txBuf = nil
	}
	c.gwMaybeRelease()
}

// clExecTx is EXEC: MULTI, the queued commands and EXEC go to the
// transaction's node in one write — on the WATCHing connection if there
// is one — and the client gets EXEC's reply. A transaction the node
// refused because its slot moved (MOVED or ASK while queueing, then
// EXECABORT) ran nothing, and is sent again where the slot is now
// (after ASKING for a slot being imported); with WATCH the watched keys'
// node is gone, and EXEC answers as for a changed key.
func (c *conn) clExecTx() {
	g := &c.gw
	st := &g.cl
	if g.dirty {
		c.clEndTx()
		c.replyError(execAbortReply)
		return
	}
	slot := st.txSlot
	if slot < 0 {
		slot = st.watchSlot
	}
	node := c.clNode(slot)
	asking := false
	if g.watch && g.pinned != nil {
		// Where the WATCH is: the transaction must run there.
		node, asking = c.clPinnedNode(), g.cl.watchAsking
	}
	for attempt := 0; ; attempt++ {
		var up *upstream.Conn
		switch {
		case node == nil:
		case g.watch:
			if g.pinned != nil && g.pinFrom == node.Backend {
				up = g.pinned
			}
		default:
			up = c.clShared(node)
		}
		if up == nil {
			watching := g.watch
			c.clEndTx()
			switch {
			case node == nil:
				c.replyError(clusterDownReply)
			case watching:
				// The watched keys' slot is elsewhere now: as for a
				// changed key, the transaction does not run.
				c.w.WriteNullArray()
			default:
				c.replyError("ERR backend unavailable")
			}
			return
		}
		var frame []byte
		frames := st.txCount + 2
		if asking {
			frame = resp.AppendCommand(frame, []byte("ASKING"))
			frames++
		}
		frame = resp.AppendCommand(frame, []byte("MULTI"))
		frame = append(frame, st.txBuf...)
		frame = resp.AppendCommand(frame, []byte("EXEC"))
		mark := c.gwMark()
		defer c.gwUnmark()
		c.gwSend(up, frame, frames, false)
		c.gwSync()
		replies, ok := c.clTake(mark, frames)
		if !ok { // the connection broke
			c.clEndTx()
			return
		}
		exec := replies[len(replies)-1]
		var redirect []byte
		for _, r := range replies[:len(replies)-1] {
			if upstream.IsRedirect(r) {
				redirect = r
				break
			}
		}
		if redirect == nil || exec[0] != '-' || attempt >= maxRedirects {
			c.w.WriteRaw(exec)
			c.clEndTx()
			return
		}
		if g.watch {
			// The watched keys' node no longer serves them.
			c.w.WriteNullArray()
			c.clEndTx()
			return
		}
		kind, rslot, addr := parseRedirect(redirect)
		asking = kind == "ASK"
		switch kind {
		case "MOVED":
			node = c.s.cl.Moved(rslot, addr)
		case "ASK":
			node = c.s.cl.Node(addr)
		case "TRYAGAIN":
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
		}
	}
}

// clTake takes the replies received since mark out of the output (the
// pushes among them stay, in their order) and returns them if there are
// want of them; otherwise — a connection broke — the client gets ERR
// backend unavailable instead.
func (c *conn) clTake(mark, want int) ([][]byte, bool) {
	pushes, replies := clFrames(c.w.Bytes()[mark:], c.proto.Load() == 2 && c.gw.subscribed())
	c.w.Truncate(mark)
	c.w.WriteRaw(pushes)
	if len(replies) != want {
		c.replyError("ERR backend unavailable")
		return nil, false
	}
	return replies, true
}

// clFrames splits replies into complete frames, setting aside pushes
// (RESP3 pushes, and RESP2 messages when subscribed) — which go out
// before the merged reply.
func clFrames(b []byte, subscribed bool) (pushes []byte, frames [][]byte) {
	rd := resp.NewReader(bytes.NewReader(b), replyLimits())
	for {
		raw, err := rd.ReadRaw()
		if err != nil || len(raw) == 0 {
			return pushes, frames
		}
		if raw[0] == '>' || (subscribed && raw[0] == '*' && upstream.IsMessage(raw)) {
			pushes = append(pushes, raw...)
			continue
		}
		frames = append(frames, bytes.Clone(raw))
	}
}

// clSplittable reports the multi-key commands split per slot when their
// keys are in several: each key (pair) stands alone, so parts may run on
// different nodes. They are not atomic across slots (as in every
// cluster proxy).
func clSplittable(name string) bool {
	switch name {
	case "mget", "mset", "del", "unlink", "exists", "touch":
		return true
	}
	return false
}

// clSplit runs a multi-key command whose keys are in several slots: one
// command per key, sent together. Its reply is merged from theirs, in the
// order of the keys, once they are in: at the client's next sync, so that
// a pipeline of split commands costs one round trip, not one each.
//
// One key per part, not one slot: a part of several keys would get
// TRYAGAIN while its slot moves, and, sent again later, be overtaken by
// the client's next commands on those keys.
func (c *conn) clSplit(spec *command.Spec, args [][]byte) {
	g := &c.gw
	st := &g.cl
	step := 1
	if spec.Name == "mset" {
		step = 2
		if (len(args)-1)%2 != 0 {
			c.gwSync()
			c.replyError("ERR wrong number of arguments for 'mset' command")
			return
		}
	}
	type part struct {
		node *cluster.Node
		args [][]byte
	}
	var parts []*part
	m := clMerge{name: spec.Name}
	for i := 1; i < len(args); i += step {
		node := c.s.cl.Route(cluster.Slot(args[i]))
		if node == nil {
			c.gwSync()
			c.replyError(clusterDownReply)
			return
		}
		parts = append(parts, &part{node: node, args: append([][]byte{args[0]}, args[i:i+step]...)})
		m.keys = append(m.keys, []int{m.nkeys})
		m.nkeys++
	}
	ups := make([]*upstream.Conn, len(parts))
	for i, p := range parts {
		if ups[i] = c.clConn(p.node); ups[i] == nil {
			c.gwSync()
			c.replyError("ERR backend unavailable")
			return
		}
	}
	// The parts go out together, within one sync; a client in subscribed
	// mode, or with requests of several replies in flight, merges at
	// once instead (its replies are not one per request).
	deferred := !g.subscribed() && !st.multiFrame && len(parts) < gwMaxOutstanding
	if g.outstanding > 0 && (!deferred || st.epoch != c.s.cl.Epoch() || g.outstanding+len(parts) >= gwMaxOutstanding) {
		c.gwSync()
	}
	m.first = g.outstanding
	mark := c.gwMark()
	defer c.gwUnmark()
	if deferred {
		st.merges = append(st.merges, m)
	}
	st.splitting = deferred
	for i, p := range parts {
		c.clSend(p.node, ups[i], resp.AppendCommand(nil, p.args...), 1)
	}
	st.splitting = false
	if deferred {
		return
	}
	c.gwSync()
	if replies, ok := c.clTake(mark, len(parts)); ok {
		c.w.Extend(func(b []byte) []byte { return m.merge(b, replies) })
	}
}

// clMerge is a split command whose parts are in flight.
type clMerge struct {
	name  string
	first int     // its first part's place among the requests since the last sync
	keys  [][]int // the positions of each part's keys in the client's command
	nkeys int
}

// merge appends the split command's reply, made from its parts': the
// first error, else MSET's OK, MGET's values in the order of the keys, or
// the sum of the counts.
func (m *clMerge) merge(b []byte, replies [][]byte) []byte {
	for _, r := range replies {
		if r[0] == '-' || r[0] == '!' {
			return append(b, r...) // the first error; the other parts ran
		}
	}
	switch m.name {
	case "mset":
		return append(b, "+OK\r\n"...)
	case "mget":
		vals := make([][]byte, m.nkeys)
		for i, r := range replies {
			elems, ok := clElems(r)
			if !ok || len(elems) != len(m.keys[i]) {
				return resp.AppendError(b, "ERR unexpected reply from the cluster")
			}
			for j, k := range m.keys[i] {
				vals[k] = elems[j]
			}
		}
		b = resp.AppendHeader(b, resp.TypeArray, int64(len(vals)))
		for _, v := range vals {
			b = append(b, v...)
		}
		return b
	}
	var n int64 // del, unlink, exists, touch
	for _, r := range replies {
		v, ok := clInt(r)
		if !ok {
			return resp.AppendError(b, "ERR unexpected reply from the cluster")
		}
		n += v
	}
	return resp.AppendInt(b, n)
}

// clMergeReplies replaces, in the replies received since mark (one per
// request), the parts of each split command by its merged reply.
func (c *conn) clMergeReplies(mark int) {
	st := &c.gw.cl
	tail := bytes.Clone(c.w.Bytes()[mark:])
	c.w.Truncate(mark)
	rd := resp.NewReader(bytes.NewReader(tail), replyLimits())
	merges := st.merges
	var group [][]byte
	c.w.Extend(func(b []byte) []byte {
		for i := 0; ; {
			raw, err := rd.ReadRaw()
			if err != nil || len(raw) == 0 {
				return b
			}
			if raw[0] == '>' {
				b = append(b, raw...)
				continue
			}
			switch {
			case len(merges) == 0 || i < merges[0].first:
				b = append(b, raw...)
			default:
				group = append(group, bytes.Clone(raw)) // raw lasts until the next read
				if len(group) == len(merges[0].keys) {
					b = merges[0].merge(b, group)
					group, merges = group[:0], merges[1:]
				}
			}
			i++
		}
	})
}

// replyLimits bound the replies Redoubt parses from its own output: they
// were checked as they arrived, so only nesting needs a bound.
func replyLimits() resp.Limits {
	lim := resp.DefaultLimits()
	lim.MaxArgs = 1 << 40
	lim.MaxBulk = 1 << 40
	return lim
}

// clElems returns the raw elements of an array reply.
func clElems(r []byte) ([][]byte, bool) {
	if len(r) == 0 || (r[0] != '*' && r[0] != '~') {
		return nil, false
	}
	i := bytes.IndexByte(r, '\n')
	n, err := strconv.Atoi(string(bytes.TrimRight(r[1:i], "\r")))
	if err != nil || n < 0 {
		return nil, false
	}
	rd := resp.NewReader(bytes.NewReader(r[i+1:]), replyLimits())
	elems := make([][]byte, 0, min(n, 1<<16))
	for range n {
		raw, err := rd.ReadRaw()
		if err != nil {
			return nil, false
		}
		elems = append(elems, bytes.Clone(raw))
	}
	return elems, true
}

// clInt reads an integer reply.
func clInt(r []byte) (int64, bool) {
	if len(r) < 4 || r[0] != ':' {
		return 0, false
	}
	return resp.ParseInt(bytes.TrimRight(r[1:], "\r\n"))
}

// clFanout runs a command about the whole keyspace on every master and
// merges the replies: DBSIZE sums, KEYS concatenates, FLUSHALL and
// FLUSHDB answer OK if every master did, RANDOMKEY answers a key of a
// master chosen at random that has one. SCRIPT LOAD, EXISTS and FLUSH
// (when an instance allows scripts) reach every master too, so EVALSHA
// finds its script on whichever node its keys are.
func (c *conn) clFanout(name string, args [][]byte) {
	c.gwSync()
	ms := c.s.cl.Masters()
	if len(ms) == 0 {
		c.replyError(clusterDownReply)
		return
	}
	if name == "randomkey" {
		ms = append([]*cluster.Node(nil), ms...)
		rand.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	}
	mark := c.gwMark()
	defer c.gwUnmark()
	frame := c.gwFrame(args)
	for _, n := range ms {
		up := c.clConn(n)
		if up == nil {
			c.gwSync()
			c.w.Truncate(mark)
			c.replyError("ERR backend unavailable")
			return
		}
		c.clSend(n, up, frame, 1)
	}
	c.gwSync()
	replies, ok := c.clTake(mark, len(ms))
	if !ok {
		return
	}
	for _, r := range replies {
		if r[0] == '-' || r[0] == '!' {
			c.w.WriteRaw(r)
			return
		}
	}
	switch name {
	case "dbsize":
		var n int64
		for _, r := range replies {
			v, _ := clInt(r)
			n += v
		}
		c.w.WriteInt(n)
	case "keys":
		var all [][]byte
		for _, r := range replies {
			elems, ok := clElems(r)
			if !ok {
				c.replyError("ERR unexpected reply from the cluster")
				return
			}
			all = append(all, elems...)
		}
		c.w.WriteArray(len(all))
		for _, k := range all {
			c.w.WriteRaw(k)
		}
	case "randomkey":
		for _, r := range replies {
			if r[0] == '$' && !bytes.HasPrefix(r, []byte("$-1")) {
				c.w.WriteRaw(r)
				return
			}
		}
		c.w.WriteRaw(replies[0]) // the null of an empty keyspace
	case "script|load":
		c.w.WriteRaw(replies[0]) // the same SHA1 from each
	case "script|exists":
		// A script exists if every master has it.
		all, ok := clElems(replies[0])
		for _, r := range replies[1:] {
			more, ok2 := clElems(r)
			if !ok || !ok2 || len(more) != len(all) {
				c.replyError("ERR unexpected reply from the cluster")
				return
			}
			for i := range all {
				if string(more[i]) == ":0\r\n" {
					all[i] = more[i]
				}
			}
		}
		c.w.WriteArray(len(all))
		for _, e := range all {
			c.w.WriteRaw(e)
		}
	default: // flushall, flushdb, script|flush
		c.w.WriteOK()
	}
}

// Cursor of a cluster SCAN: the node's own cursor shifted left by 16
// bits, plus the number of the node being scanned (Redoubt numbers the
// nodes it meets and never reuses a number, so a cursor names its node
// whatever slots move meanwhile). The masters are scanned one after
// another, in the order of their numbers.
const scanNodeShift = 16

// clScan is SCAN across the masters.
func (c *conn) clScan(args [][]byte) {
	c.gwSync()
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		c.replyError("ERR invalid cursor")
		return
	}
	ms := slices.SortedFunc(slices.Values(c.s.cl.Masters()), func(a, b *cluster.Node) int { return a.Num() - b.Num() })
	if len(ms) == 0 {
		c.replyError(clusterDownReply)
		return
	}
	num := int(cursor & (1<<scanNodeShift - 1))
	nodeCursor := cursor >> scanNodeShift
	node := ms[0]
	if cursor != 0 {
		if node = c.s.cl.ByNum(num); node == nil {
			c.replyError("ERR invalid cursor")
			return
		}
	}
	up := c.clShared(node)
	if up == nil {
		c.replyError("ERR backend unavailable")
		return
	}
	fwd := append([][]byte{args[0], []byte(strconv.FormatUint(nodeCursor, 10))}, args[2:]...)
	mark := c.gwMark()
	defer c.gwUnmark()
	c.clSend(node, up, resp.AppendCommand(nil, fwd...), 1)
	c.gwSync()
	replies, ok := c.clTake(mark, 1)
	if !ok {
		return
	}
	r := replies[0]
	elems, ok := clElems(r)
	if !ok || len(elems) != 2 {
		c.w.WriteRaw(r) // an error
		return
	}
	next, ok := clBulkUint(elems[0])
	if !ok || next >= 1<<(64-scanNodeShift) {
		c.replyError("ERR the cluster's scan cursor is out of range")
		return
	}
	var out uint64
	if next != 0 {
		out = next<<scanNodeShift | uint64(node.Num())
	} else {
		// This master is done: the next one starts at cursor 0 of its own.
		for _, n := range ms {
			if n.Num() > node.Num() {
				out = uint64(n.Num())
				break
			}
		}
	}
	c.w.WriteArray(2)
	c.w.WriteBulkString(strconv.FormatUint(out, 10))
	c.w.WriteRaw(elems[1])
}

// clBulkUint reads a bulk string holding an unsigned integer.
func clBulkUint(r []byte) (uint64, bool) {
	if len(r) == 0 || r[0] != '$' {
		return 0, false
	}
	i := bytes.IndexByte(r, '\n')
	if i < 0 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(bytes.TrimRight(r[i+1:], "\r\n")), 10, 64)
	return v, err == nil
}
