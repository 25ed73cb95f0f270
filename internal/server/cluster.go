package server

import (
	"strconv"
	"strings"
	"time"

	"redoubt/internal/cluster"
	"redoubt/internal/command"
	"redoubt/internal/resp"
	"redoubt/internal/upstream"
)

// Cluster mode: the instance's data lives in a real Redis Cluster, and
// clients see one server. After the front door a command goes, as the
// bytes it arrived as, to the master that serves its keys' hash slot; a
// client's pipeline may be spread over several nodes, and the replies
// come back in the order of the requests (the sink parks a reply that
// arrives before an older one's). A MOVED or ASK reply is not the
// client's: the request is sent again where the cluster says, and the
// slot map is read again. Multi-key commands whose keys are in several
// slots are split and their replies merged (cluster_split.go); commands
// about the whole keyspace go to every master.
//
// Connection state stays on one node: a transaction is queued here and
// sent at EXEC, with its WATCHes, to its slot's node; subscriptions and
// blocking commands pin a dedicated connection to one node, as in
// gateway mode.

// clState is a connection's cluster routing state, touched only by its
// goroutine.
type clState struct {
	sent    []clSent      // requests in flight, to send again on a redirection
	arena   []byte        // their bytes
	epoch   uint64        // the slot map's epoch when the first of them went out
	shared  []clSharedUp  // the shared connection used on each node
	pinNode *cluster.Node // the node of the pinned connection

	merges     []clMerge // split commands whose parts are in flight
	multiFrame bool      // a request of several replies is in flight
	splitting  bool      // a split command's parts are being sent: no sync among them
	stay       bool      // the request being sent is not to be redirected
	own        bool      // the request being sent needs the pinned connection

	txSlot    int    // the transaction's slot; -1: no key yet
	txBuf     []byte // the queued commands
	txCount   int
	watchSlot int // the WATCHed keys' slot; -1: none
	// watchAsking: the WATCH went, after ASK, to the node importing its
	// slot; the transaction goes there too, after ASKING.
	watchAsking bool
}

// clSent is one request in flight.
type clSent struct {
	seq      uint64
	off, end int // its bytes in arena
	frames   int
	node     *cluster.Node
	pinned   bool // sent on the pinned connection
	attempts int
	// stay: a redirection is the client's to see, not followed (a
	// script's: it may have run, and its error text is its own).
	stay bool
	// own: it makes connection state (WATCH, a blocking command), so
	// it is sent again on a dedicated connection; any other request
	// sent on the pinned connection is sent again on a shared one.
	own bool
}

type clSharedUp struct {
	node *cluster.Node
	up   *upstream.Conn
}

func (st *clState) reset() {
	st.txSlot, st.txBuf, st.txCount, st.watchSlot = -1, st.txBuf[:0], 0, -1
}

// Replies of the cluster gateway.
const (
	crossSlotReply   = "CROSSSLOT Keys in request don't hash to the same slot"
	clusterDownReply = "CLUSTERDOWN Hash slot not served"
	selectReply      = "ERR SELECT is not allowed in cluster mode"
	// maxRedirects bounds how often one request is sent elsewhere.
	maxRedirects = 5
)

// clUnsupported returns the refusal of a command a cluster gateway does
// not run, or "": the cluster's own commands (clients see one server),
// and the ones whose state or meaning would span nodes.
func clUnsupported(name string) string {
	shown := strings.ToUpper(strings.ReplaceAll(name, "|", " "))
	switch name {
	case "monitor", "client|no-evict":
		return "ERR '" + shown + "' is not supported through Redoubt's gateway"
	case "asking", "readonly", "readwrite":
		return "ERR '" + shown + "' is not supported: Redoubt presents the cluster as one server"
	case "client|tracking", "wait", "waitaof", "swapdb", "move":
		return "ERR '" + shown + "' is not supported through Redoubt's cluster gateway"
	}
	if strings.HasPrefix(name, "cluster|") || name == "cluster" {
		return "ERR '" + shown + "' is not supported: Redoubt presents the cluster as one server"
	}
	return ""
}

// clInit prepares a connection of a cluster instance.
func (c *conn) clInit() {
	c.gwInit()
	c.gw.db = 0
	c.gw.cl.reset()
}

// clExec runs a command of a cluster instance after the front door
// admitted it.
func (c *conn) clExec(spec *command.Spec, args [][]byte) {
	s := c.s
	g := &c.gw
	c.counters.commandsProcessed.Add(1)
	c.lastCmd.Store(spec)
	kind, sub, isPubsub := pubsubKind(spec.Name)
	if reason := clUnsupported(spec.Name); reason != "" {
		c.gwSync()
		c.replyError(reason)
		if g.multi {
			g.dirty = true
		}
		return
	}
	if c.proto.Load() == 2 && g.subscribed() && !isPubsub && !subscriberModeAllowed(spec.Name) {
		// RESP2 subscriber mode, refused with Redis's words (a node
		// would answer MOVED for a key of another node's).
		c.gwSync()
		c.replyError("ERR Can't execute '" + spec.Name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if g.multi {
		c.clQueue(spec, args)
		return
	}
	if h := s.handlers[spec.ID]; h != nil {
		c.gwSync()
		c.runHandler(h, spec, args)
		return
	}
	switch spec.Name {
	case "select":
		c.gwSync()
		if n, ok := resp.ParseInt(args[1]); ok && n == 0 {
			c.w.WriteOK()
		} else {
			c.replyError(selectReply)
		}
		return
	case "multi":
		c.gwSync()
		g.multi, g.dirty = true, false
		g.cl.txSlot, g.cl.txBuf, g.cl.txCount = -1, g.cl.txBuf[:0], 0
		c.w.WriteOK()
		return
	case "exec":
		c.gwSync()
		c.replyError(execNoMultiReply)
		return
	case "discard":
		c.gwSync()
		c.replyError(discardNoMultiRply)
		return
	case "watch":
		c.clWatch(spec, args)
		return
	case "unwatch":
		c.clUnwatch()
		return
	case "scan":
		c.clScan(args)
		return
	}
	if clFanoutCommand(spec.Name) {
		c.clFanout(spec.Name, args)
		return
	}
	if isPubsub {
		c.clPubsub(kind, sub, args)
		return
	}
	slot, cross := c.clSlot(spec, args)
	if cross {
		if clSplittable(spec.Name) {
			c.clSplit(spec, args)
			return
		}
		c.gwSync()
		c.replyError(crossSlotReply)
		return
	}
	node := c.clNode(slot)
	if clPubsubCommand(spec.Name) {
		node = c.clPubsubNode()
	}
	if node == nil {
		c.gwSync()
		c.replyError(clusterDownReply)
		return
	}
	if spec.Has(command.FlagBlocking) {
		c.clBlocking(node, spec, args)
		return
	}
	up := c.clConn(node)
	if up == nil {
		c.gwSync()
		c.replyError("ERR backend unavailable")
		return
	}
	// A script's MOVED, ASK or TRYAGAIN may be its own error text, after
	// it ran: it is not followed (running the script again), only
	// passed on.
	switch spec.Name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		g.cl.stay = true
	}
	c.clSend(node, up, c.gwFrame(args), 1)
	g.cl.stay = false
}

// clSlot returns the slot of the command's keys (shard channels for the
// sharded pub/sub commands); -1 for a command without keys; cross when
// the keys are in more than one slot.
func (c *conn) clSlot(spec *command.Spec, args [][]byte) (slot int, cross bool) {
	slot = -1
	var idx []int
	switch spec.Name {
	case "spublish":
		idx = []int{1}
	case "ssubscribe", "sunsubscribe":
		for i := 1; i < len(args); i++ {
			idx = append(idx, i)
		}
	default:
		if !spec.HasKeys() {
			return -1, false
		}
		var err error
		idx, err = spec.Keys(args)
		if err != nil {
			return -1, false // the node answers the error
		}
	}
	for _, i := range idx {
		k := cluster.Slot(args[i])
		if slot >= 0 && k != slot {
			return slot, true
		}
		slot = k
	}
	return slot, false
}

// clNode returns the master serving slot. A command without keys (slot
// -1) goes to the node of the client's pinned connection if it has one
// (a subscriber's PING belongs there), else to a master chosen by the
// client's id, so clients spread.
func (c *conn) clNode(slot int) *cluster.Node {
	if slot >= 0 {
		return c.s.cl.Route(slot)
	}
	if c.gw.pinned != nil {
		if n := c.clPinnedNode(); n != nil {
			return n
		}
	}
	ms := c.s.cl.Masters()
	if len(ms) == 0 {
		return nil
	}
	return ms[int(uint64(c.id)%uint64(len(ms)))]
}

// clPubsubNode is where Redoubt's clients subscribe to channels and
// patterns, and publish: one master for all (the one with the lowest
// slots), so that PUBLISH counts every subscriber and PUBSUB CHANNELS
// and NUMSUB see them all, as on one server. Messages published on the
// other nodes reach it through the cluster.
func (c *conn) clPubsubNode() *cluster.Node {
	ms := c.s.cl.Masters()
	if len(ms) == 0 {
		return nil
	}
	return ms[0]
}

// clPubsubCommand reports the commands about channels and patterns that
// go to the pub/sub node.
func clPubsubCommand(name string) bool {
	switch name {
	case "publish", "pubsub|channels", "pubsub|numsub", "pubsub|numpat":
		return true
	}
	return false
}

// clConn returns the connection a request to node goes on: the pinned
// one if it is the node's, else the client's shared one there.
func (c *conn) clConn(node *cluster.Node) *upstream.Conn {
	g := &c.gw
	if g.pinned != nil && g.pinFrom == node.Backend {
		return g.pinned
	}
	return c.clShared(node)
}

// clShared returns the client's shared connection to node.
func (c *conn) clShared(node *cluster.Node) *upstream.Conn {
	st := &c.gw.cl
	proto := int(c.proto.Load())
	for i, e := range st.shared {
		if e.node != node {
			continue
		}
		if !e.up.Broken() && e.up.Proto() == proto {
			return e.up
		}
		st.shared = append(st.shared[:i], st.shared[i+1:]...)
		break
	}
	up, err := node.Backend.Shared(proto, uint64(c.id))
	if err != nil {
		return nil
	}
	if len(st.shared) >= 64 {
		st.shared = st.shared[:0] // nodes come and go: forget the old ones
	}
	st.shared = append(st.shared, clSharedUp{node, up})
	return up
}

// clSend sends a request of frames replies to node on up, keeping its
// bytes until its reply is in, to send it again if the cluster redirects
// it. Requests routed with an older slot map are answered first, so a
// client's requests to one key never overtake each other when a slot
// moves.
func (c *conn) clSend(node *cluster.Node, up *upstream.Conn, frame []byte, frames int) {
	g := &c.gw
	st := &g.cl
	epoch := c.s.cl.Epoch()
	if g.outstanding > 0 && st.epoch != epoch && !st.splitting {
		c.gwSync()
	}
	if g.outstanding == 0 {
		st.epoch = epoch
	}
	if frames != 1 {
		st.multiFrame = true
	}
	off := len(st.arena)
	st.arena = append(st.arena, frame...)
	seq := up.Send(g.sink, frame, frames, false)
	st.sent = append(st.sent, clSent{seq: seq, off: off, end: len(st.arena), frames: frames,
		node: node, pinned: up == g.pinned, stay: st.stay, own: st.own && up == g.pinned})
	g.conn = up
	if n := len(g.conns); n == 0 || g.conns[n-1] != up {
		g.conns = append(g.conns, up)
	}
	c.noteSent()
	g.outstanding++
	if g.outstanding >= gwMaxOutstanding {
		c.gwSync()
	}
}

// clRedirects sends the redirected requests where the cluster said:
// MOVED updates the slot map, ASK sends the request once with ASKING,
// TRYAGAIN (a multi-key command during a slot's move) waits a moment. A
// request redirected too often, or that cannot be sent, gets the error.
func (c *conn) clRedirects() {
	g := &c.gw
	if c.s.cl == nil {
		for _, r := range g.sink.TakeRedirects() {
			g.sink.Answer(r.Seq, r.Reply)
		}
		return
	}
	var flush []*upstream.Conn
	for _, r := range g.sink.TakeRedirects() {
		i := c.clFind(r.Seq)
		if i < 0 {
			g.sink.Answer(r.Seq, r.Reply)
			continue
		}
		sent := &g.cl.sent[i]
		sent.attempts++
		kind, slot, addr := parseRedirect(r.Reply)
		if sent.stay {
			c.s.cl.Refresh()
			g.sink.Answer(r.Seq, r.Reply)
			continue
		}
		var node *cluster.Node
		switch kind {
		case "MOVED":
			node = c.s.cl.Moved(slot, addr)
		case "ASK":
			node = c.s.cl.Node(addr)
		case "TRYAGAIN":
			// The keys are being moved between nodes: a moment later
			// they are all on one of them. But a request sent after
			// it to the same node has run already: sent again, it
			// would run after that one, so the client gets TRYAGAIN
			// (as from Redis Cluster) and keeps its order.
			if c.clOvertaken(i) {
				break
			}
			time.Sleep(time.Duration(sent.attempts) * 10 * time.Millisecond)
			node = sent.node
			if node == nil && sent.pinned && g.pinned != nil {
				node = c.clPinnedNode()
			}
		}
		var up *upstream.Conn
		if node != nil && sent.attempts <= maxRedirects {
			up = c.clRedirectConn(sent, node)
		}
		if up == nil {
			g.sink.Answer(r.Seq, r.Reply)
			continue
		}
		frame := g.cl.arena[sent.off:sent.end]
		skip := 0
		if kind == "ASK" {
			frame = append(resp.AppendCommand(nil, []byte("ASKING")), frame...)
			skip = 1
		}
		sent.node = node
		up.Resend(g.sink, r.Seq, frame, sent.frames, skip)
		flush = append(flush, up)
	}
	for _, up := range flush {
		up.Flush()
	}
}

// clRedirectConn returns the connection a redirected request goes on to
// node: the client's shared one there, or, for a request that needed the
// pinned connection (a blocking command), a new pinned one — if the old
// one holds nothing else.
func (c *conn) clRedirectConn(sent *clSent, node *cluster.Node) *upstream.Conn {
	g := &c.gw
	if !sent.own {
		return c.clShared(node)
	}
	if g.pinned != nil && g.pinFrom == node.Backend {
		return g.pinned
	}
	if g.pinned != nil && (!g.clean(0) || g.outstanding > 1) {
		return nil
	}
	c.gwUnpin(!g.tainted.Swap(false))
	up, err := node.Backend.Dedicated(int(c.proto.Load()))
	if err != nil {
		return nil
	}
	up.SetOwner(g.sink, false)
	g.pinned, g.pinFrom, g.cl.pinNode = up, node.Backend, node
	g.pinnedID.Store(up.ID())
	g.pinBackend.Store(node.Backend)
	if g.blockedID.Load() != 0 {
		g.blockedID.Store(up.ID())
	}
	g.conns = append(g.conns, up)
	return up
}

// clPin returns the client's dedicated connection, opening one to node.
func (c *conn) clPin(node *cluster.Node) *upstream.Conn {
	if c.gw.pinned == nil {
		c.gw.cl.pinNode = node
	}
	return c.gwPinOn(node.Backend)
}

// clPinnedNode returns the node of the pinned connection, or nil.
func (c *conn) clPinnedNode() *cluster.Node {
	// Every pinning in cluster mode goes through clPin or a redirection,
	// which record the node.
	if n := c.gw.cl.pinNode; n != nil && n.Backend == c.gw.pinFrom {
		return n
	}
	return nil
}

// clOvertaken reports whether a request sent after the i-th one went to
// the same connection.
func (c *conn) clOvertaken(i int) bool {
	sent := c.gw.cl.sent
	for _, later := range sent[i+1:] {
		if later.node == sent[i].node && later.pinned == sent[i].pinned {
			return true
		}
	}
	return false
}

// clFind returns the index of the request in flight numbered seq, or -1.
func (c *conn) clFind(seq uint64) int {
	sent := c.gw.cl.sent
	for i := range sent {
		if sent[i].seq == seq {
			return i
		}
	}
	return -1
}

// parseRedirect reads "-MOVED 3999 127.0.0.1:6381", "-ASK …" or
// "-TRYAGAIN …".
func parseRedirect(reply []byte) (kind string, slot int, addr string) {
	f := strings.Fields(strings.TrimPrefix(string(reply), "-"))
	if len(f) == 0 {
		return "", -1, ""
	}
	kind = f[0]
	if kind == "TRYAGAIN" {
		return kind, -1, ""
	}
	if len(f) != 3 {
		return "", -1, ""
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 || n >= cluster.Slots {
		return "", -1, ""
	}
	return kind, n, f[2]
}

// clBlocking runs a blocking command on a connection pinned to its
// node, as gwBlocking does in gateway mode.
func (c *conn) clBlocking(node *cluster.Node, spec *command.Spec, args [][]byte) {
	g := &c.gw
	if g.pinned != nil && g.pinFrom != node.Backend {
		if !g.clean(0) {
			c.gwSync()
			c.replyError("ERR the keys are on another node than this connection's subscriptions or WATCH")
			return
		}
		c.gwSync()
		c.gwUnpin(!g.tainted.Swap(false))
	}
	if c.clPin(node) == nil {
		c.gwSync()
		c.replyError("ERR backend unavailable")
		return
	}
	c.gwBlocking(spec, args)
}

// clWatch is WATCH: the keys' node gets a connection pinned to the
// client, on which the transaction will run.
func (c *conn) clWatch(spec *command.Spec, args [][]byte) {
	g := &c.gw
	slot, cross := c.clSlot(spec, args)
	if cross || (g.cl.watchSlot >= 0 && slot != g.cl.watchSlot) {
		c.gwSync()
		c.replyError(crossSlotReply)
		return
	}
	node := c.clNode(slot)
	if node == nil {
		c.gwSync()
		c.replyError(clusterDownReply)
		return
	}
	if g.pinned != nil && g.pinFrom != node.Backend {
		c.gwSync()
		c.replyError("ERR the keys are on another node than this connection's subscriptions")
		return
	}
	up := c.clPin(node)
	if up == nil {
		c.gwSync()
		c.replyError("ERR backend unavailable")
		return
	}
	c.gwSync() // the replies before go before the mark
	mark := c.gwMark()
	defer c.gwUnmark()
	g.cl.own = true
	c.clSend(node, up, c.gwFrame(args), 1)
	g.cl.own = false
	c.gwSync()
	if replyKind(c.w.Bytes()[mark:]) == '+' {
		g.watch = true
		g.cl.watchSlot = slot
		// A redirected WATCH went to another node, and is pinned there;
		// after ASK (the slot map still names the first node) the
		// transaction will need ASKING too.
		if g.pinFrom != node.Backend && c.s.cl.Route(slot) == node {
			g.cl.watchAsking = true
		}
	}
	c.gwMaybeRelease()
}

// clUnwatch is UNWATCH.
func (c *conn) clUnwatch() {
	g := &c.gw
	if !g.watch {
		c.gwSync()
		c.w.WriteOK()
		return
	}
	c.gwSend(g.pinned, c.gwFrame([][]byte{[]byte("UNWATCH")}), 1, false)
	c.gwSync()
	g.watch = false
	g.cl.watchSlot = -1
	c.gwMaybeRelease()
}

// clPubsub runs a (un)subscribe command on the pinned connection:
// channels and patterns on any master (a cluster delivers every message
// to every node), shard channels on their slot's master.
func (c *conn) clPubsub(kind int, sub bool, args [][]byte) {
	g := &c.gw
	if !sub && g.pinned == nil {
		c.gwUnsubscribeNone(kind, args)
		return
	}
	var node *cluster.Node
	if kind == 2 && len(args) > 1 {
		slot := cluster.Slot(args[1])
		for _, ch := range args[2:] {
			if cluster.Slot(ch) != slot {
				c.gwSync()
				c.replyError(crossSlotReply)
				return
			}
		}
		node = c.s.cl.Route(slot)
	} else if g.pinned == nil {
		node = c.clPubsubNode()
	}
	if node == nil && g.pinned == nil {
		c.gwSync()
		c.replyError(clusterDownReply)
		return
	}
	if node != nil && g.pinned != nil && g.pinFrom != node.Backend {
		c.gwSync()
		c.replyError("ERR the shard channels are on another node than this connection's subscriptions")
		return
	}
	up := g.pinned
	if up == nil {
		up = c.clPin(node)
	}
	if up == nil {
		c.gwSync()
		c.replyError("ERR backend unavailable")
		return
	}
	c.gwPubsub(up, kind, sub, args)
}
