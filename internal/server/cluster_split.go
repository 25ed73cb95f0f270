package server

import (
	"bytes"
	"math/rand/v2"
	"strconv"

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
		c.replyError("ERR '" + spec.Name + "' cannot be queued in a transaction through Redoubt's cluster gateway")
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
	case "dbsize", "keys", "flushall", "flushdb", "randomkey", "scan":
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
			c.clEndTx()
			if node == nil {
				c.replyError(clusterDownReply)
			} else if g.watch {
				c.w.WriteNullArray()
			} else {
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
		mark := c.w.Buffered()
		c.gwSend(up, frame, frames, false)
		c.gwSync()
		pushes, replies := clFrames(c.w.Bytes()[mark:], c.proto.Load() == 2 && g.subscribed())
		if len(replies) != frames {
			// The connection broke: its error is the answer.
			c.w.Truncate(mark)
			c.w.WriteRaw(pushes)
			c.w.WriteRaw(replies[len(replies)-1])
			c.clEndTx()
			return
		}
		exec := replies[len(replies)-1]
		var redirect []byte
		for _, r := range replies[:len(replies)-1] {
			if bytes.HasPrefix(r, []byte("-MOVED ")) || bytes.HasPrefix(r, []byte("-ASK ")) || bytes.HasPrefix(r, []byte("-TRYAGAIN")) {
				redirect = r
				break
			}
		}
		out := bytes.Clone(exec)
		c.w.Truncate(mark)
		c.w.WriteRaw(pushes)
		if redirect == nil || exec[0] != '-' || attempt >= maxRedirects {
			c.w.WriteRaw(out)
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
		}
	}
}

// clFrames splits replies into complete frames, setting aside pushes
// (RESP3 pushes, and RESP2 messages when subscribed) — which go out
// before the merged reply.
func clFrames(b []byte, subscribed bool) (pushes []byte, frames [][]byte) {
	rd := resp.NewReader(bytes.NewReader(b), resp.DefaultLimits())
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
// command per slot, sent together, and one reply merged in the order of
// the keys.
func (c *conn) clSplit(spec *command.Spec, args [][]byte) {
	step := 1
	if spec.Name == "mset" {
		step = 2
		if (len(args)-1)%2 != 0 {
			c.gwSync()
			c.replyError("ERR wrong number of arguments for 'mset' command")
			return
		}
	}
	// Group the keys by slot, in order of first appearance.
	type part struct {
		slot int
		args [][]byte
		keys []int // positions of its keys in the client's command
	}
	var parts []*part
	bySlot := map[int]*part{}
	for i, k := 1, 0; i < len(args); i, k = i+step, k+1 {
		slot := cluster.Slot(args[i])
		p := bySlot[slot]
		if p == nil {
			p = &part{slot: slot, args: [][]byte{args[0]}}
			bySlot[slot] = p
			parts = append(parts, p)
		}
		p.args = append(p.args, args[i:i+step]...)
		p.keys = append(p.keys, k)
	}
	c.gwSync()
	mark := c.w.Buffered()
	for _, p := range parts {
		node := c.s.cl.Route(p.slot)
		var up *upstream.Conn
		if node != nil {
			up = c.clConn(node)
		}
		if up == nil {
			c.gwSync()
			c.w.Truncate(mark)
			if node == nil {
				c.replyError(clusterDownReply)
			} else {
				c.replyError("ERR backend unavailable")
			}
			return
		}
		c.clSend(node, up, resp.AppendCommand(nil, p.args...), 1)
	}
	c.gwSync()
	pushes, replies := clFrames(c.w.Bytes()[mark:], c.proto.Load() == 2 && c.gw.subscribed())
	c.w.Truncate(mark)
	c.w.WriteRaw(pushes)
	if len(replies) != len(parts) {
		c.replyError("ERR backend unavailable")
		return
	}
	for _, r := range replies {
		if r[0] == '-' || r[0] == '!' {
			c.w.WriteRaw(r) // the first error; the other parts ran
			return
		}
	}
	switch spec.Name {
	case "mset":
		c.w.WriteOK()
	case "mget":
		vals := make([][]byte, (len(args)-1)/step)
		for i, r := range replies {
			elems, ok := clElems(r)
			if !ok || len(elems) != len(parts[i].keys) {
				c.replyError("ERR unexpected reply from the cluster")
				return
			}
			for j, k := range parts[i].keys {
				vals[k] = elems[j]
			}
		}
		c.w.WriteArray(len(vals))
		for _, v := range vals {
			c.w.WriteRaw(v)
		}
	default: // counts: del, unlink, exists, touch
		var n int64
		for _, r := range replies {
			v, ok := clInt(r)
			if !ok {
				c.replyError("ERR unexpected reply from the cluster")
				return
			}
			n += v
		}
		c.w.WriteInt(n)
	}
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
	rd := resp.NewReader(bytes.NewReader(r[i+1:]), resp.DefaultLimits())
	elems := make([][]byte, 0, n)
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
// master chosen at random that has one.
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
	mark := c.w.Buffered()
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
	pushes, replies := clFrames(c.w.Bytes()[mark:], c.proto.Load() == 2 && c.gw.subscribed())
	c.w.Truncate(mark)
	c.w.WriteRaw(pushes)
	if len(replies) != len(ms) {
		c.replyError("ERR backend unavailable")
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
	default: // flushall, flushdb
		c.w.WriteOK()
	}
}

// Cursor of a cluster SCAN: the node's own cursor times 16384, plus the
// lowest slot of the node being scanned (which names the node as long as
// it owns that slot). The masters are scanned one after another, in the
// order of their lowest slots.
const scanNodeShift = 14

// clScan is SCAN across the masters.
func (c *conn) clScan(args [][]byte) {
	c.gwSync()
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		c.replyError("ERR invalid cursor")
		return
	}
	ms := c.s.cl.Masters()
	if len(ms) == 0 {
		c.replyError(clusterDownReply)
		return
	}
	first := int(cursor & (cluster.Slots - 1))
	nodeCursor := cursor >> scanNodeShift
	node := ms[0]
	if cursor != 0 {
		node = c.s.cl.Route(first)
		if node == nil {
			c.replyError(clusterDownReply)
			return
		}
	} else {
		first = node.First()
	}
	up := c.clConn(node)
	if up == nil {
		c.replyError("ERR backend unavailable")
		return
	}
	fwd := append([][]byte{args[0], []byte(strconv.FormatUint(nodeCursor, 10))}, args[2:]...)
	mark := c.w.Buffered()
	c.clSend(node, up, resp.AppendCommand(nil, fwd...), 1)
	c.gwSync()
	pushes, replies := clFrames(c.w.Bytes()[mark:], c.proto.Load() == 2 && c.gw.subscribed())
	c.w.Truncate(mark)
	c.w.WriteRaw(pushes)
	if len(replies) != 1 {
		c.replyError("ERR backend unavailable")
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
		out = next<<scanNodeShift | uint64(first)
	} else {
		// This master is done: the next one starts at cursor 0 of its own.
		for _, n := range ms {
			if n.First() > first {
				out = uint64(n.First())
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
