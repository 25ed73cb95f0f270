package server

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"sync/atomic"

	"redoubt/internal/command"
)

// pubsubCommands are the publish/subscribe commands, Redis 7.0's: ordinary
// channels, patterns and shard channels (on one node, a namespace of their
// own) and the PUBSUB introspection.
func pubsubCommands() map[string]connHandler {
	return map[string]connHandler{
		"subscribe":            func(c *conn, args [][]byte) { c.subscribe(psChannel, args[1:]) },
		"psubscribe":           func(c *conn, args [][]byte) { c.subscribe(psPattern, args[1:]) },
		"ssubscribe":           func(c *conn, args [][]byte) { c.subscribe(psShard, args[1:]) },
		"unsubscribe":          func(c *conn, args [][]byte) { c.unsubscribe(psChannel, args[1:]) },
		"punsubscribe":         func(c *conn, args [][]byte) { c.unsubscribe(psPattern, args[1:]) },
		"sunsubscribe":         func(c *conn, args [][]byte) { c.unsubscribe(psShard, args[1:]) },
		"publish":              func(c *conn, args [][]byte) { c.publish(psChannel, args) },
		"spublish":             func(c *conn, args [][]byte) { c.publish(psShard, args) },
		"pubsub|channels":      func(c *conn, args [][]byte) { c.pubsubChannels(psChannel, args) },
		"pubsub|shardchannels": func(c *conn, args [][]byte) { c.pubsubChannels(psShard, args) },
		"pubsub|numsub":        func(c *conn, args [][]byte) { c.pubsubNumsub(psChannel, args) },
		"pubsub|shardnumsub":   func(c *conn, args [][]byte) { c.pubsubNumsub(psShard, args) },
		"pubsub|numpat":        func(c *conn, args [][]byte) { c.w.WriteInt(int64(c.s.pubsub.count(psPattern))) },
		"pubsub|help":          cmdPubsubHelp,
	}
}

// psState is a connection's pub/sub state. sub is created at the first
// subscription and touched only by the connection's goroutine; the counts
// are published for CLIENT LIST.
type psState struct {
	sub *subscriber
	n   [psKinds]atomic.Int32
}

// total is how many channels, patterns and shard channels the connection
// subscribes to; more than zero is Redis's CLIENT_PUBSUB flag.
func (p *psState) total() int {
	return int(p.n[psChannel].Load() + p.n[psPattern].Load() + p.n[psShard].Load())
}

// replyCount is the count a (un)subscribe reply carries: channels and
// patterns together, shard channels on their own (as Redis 7.0).
func (p *psState) replyCount(k psKind) int64 {
	if k == psShard {
		return int64(p.n[psShard].Load())
	}
	return int64(p.n[psChannel].Load() + p.n[psPattern].Load())
}

// subscriberModeError is Redis's refusal of a command in RESP2
// subscriber mode; the command's full name goes between the quotes.
const (
	subscriberModeBefore = "ERR Can't execute '"
	subscriberModeAfter  = "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
)

// pubsubIntercept runs before every command that passed the policy. It
// first hands messages already queued to the writer, so they go out
// before this command's reply (Redis writes a message to the client's
// buffer at publish time). Then, in RESP2 subscriber mode, it refuses the
// commands Redis refuses and answers PING as ["pong", arg]; it reports
// whether it answered.
func (c *conn) pubsubIntercept(spec *command.Spec, args [][]byte) bool {
	if c.ps.sub == nil {
		return false
	}
	c.deliverPush()
	if c.ps.total() == 0 || c.proto.Load() != 2 {
		return false
	}
	switch spec.Name {
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "quit", "reset":
		return false
	case "ping":
		if len(args) > 2 {
			return false // the arity error, from the usual PING
		}
		c.counters.commandsProcessed.Add(1)
		c.called(spec)
		c.lastCmd.Store(spec)
		c.w.WriteArray(2)
		c.w.WriteBulkString("pong")
		if len(args) == 2 {
			c.w.WriteBulk(args[1])
		} else {
			c.w.WriteBulkString("")
		}
		return true
	}
	c.s.stats.rejectedCall(spec)
	c.replyError(subscriberModeBefore + spec.Name + subscriberModeAfter)
	return true
}

// subscribe adds the connection to each name, answering one reply per
// name. The registration comes before the reply, and messages are only
// handed to the writer by this goroutine, so no message can overtake the
// reply.
func (c *conn) subscribe(k psKind, names [][]byte) {
	s := c.ps.sub
	if s == nil {
		s = &subscriber{c: c}
		c.ps.sub = s
	}
	if s.subs[k] == nil {
		s.subs[k] = map[string]uint64{}
	}
	for _, name := range names {
		if _, ok := s.subs[k][string(name)]; !ok {
			s.seq++
			s.subs[k][string(name)] = s.seq
			c.s.pubsub.add(k, name, s)
			c.ps.n[k].Add(1)
		}
		c.w.WritePush(3)
		c.w.WriteBulkString(psSubscribeWord[k])
		c.w.WriteBulk(name)
		c.w.WriteInt(c.ps.replyCount(k))
	}
}

// unsubscribe removes the connection from each name, or from all its
// subscriptions of the namespace in the order it made them. Like Redis it
// answers a name it did not subscribe to, and answers a null name when
// there was nothing to leave.
func (c *conn) unsubscribe(k psKind, names [][]byte) {
	s := c.ps.sub
	if len(names) == 0 {
		if s == nil || len(s.subs[k]) == 0 {
			c.w.WritePush(3)
			c.w.WriteBulkString(psUnsubscribeWord[k])
			c.w.WriteNull()
			c.w.WriteInt(c.ps.replyCount(k))
			return
		}
		all := slices.SortedFunc(maps.Keys(s.subs[k]), func(a, b string) int {
			return cmp.Compare(s.subs[k][a], s.subs[k][b])
		})
		for _, name := range all {
			c.unsubscribeOne(k, []byte(name))
		}
		return
	}
	for _, name := range names {
		c.unsubscribeOne(k, name)
	}
}

func (c *conn) unsubscribeOne(k psKind, name []byte) {
	if s := c.ps.sub; s != nil {
		if _, ok := s.subs[k][string(name)]; ok {
			delete(s.subs[k], string(name))
			c.s.pubsub.remove(k, string(name), s)
			c.ps.n[k].Add(-1)
		}
	}
	c.w.WritePush(3)
	c.w.WriteBulkString(psUnsubscribeWord[k])
	c.w.WriteBulk(name)
	c.w.WriteInt(c.ps.replyCount(k))
}

// publish is PUBLISH and SPUBLISH. A connection that receives its own
// message gets it before the reply, as from Redis.
func (c *conn) publish(k psKind, args [][]byte) {
	n := c.s.pubsub.publish(k, args[1], args[2])
	c.deliverPush()
	c.w.WriteInt(int64(n))
}

// pubsubChannels is PUBSUB CHANNELS and SHARDCHANNELS.
func (c *conn) pubsubChannels(k psKind, args [][]byte) {
	if len(args) > 3 {
		c.pubsubSyntaxError(args)
		return
	}
	var pattern []byte
	if len(args) == 3 {
		pattern = args[2]
	}
	names := c.s.pubsub.names(k, pattern)
	c.w.WriteArray(len(names))
	for _, n := range names {
		c.w.WriteBulk(n)
	}
}

// pubsubNumsub is PUBSUB NUMSUB and SHARDNUMSUB: a flat array of channel,
// count pairs (an array, not a map, under RESP3 too, as Redis 7.0).
func (c *conn) pubsubNumsub(k psKind, args [][]byte) {
	c.w.WriteArray(2 * (len(args) - 2))
	for _, name := range args[2:] {
		c.w.WriteBulk(name)
		c.w.WriteInt(int64(c.s.pubsub.numsub(k, name)))
	}
}

// pubsubSyntaxError is Redis's addReplySubcommandSyntaxError.
func (c *conn) pubsubSyntaxError(args [][]byte) {
	sub := args[1]
	if i := bytes.IndexByte(sub, 0); i >= 0 {
		sub = sub[:i]
	}
	if len(sub) > 128 {
		sub = sub[:128]
	}
	c.replyError("ERR unknown subcommand or wrong number of arguments for '" + string(sub) + "'. Try PUBSUB HELP.")
}

func cmdPubsubHelp(c *conn, args [][]byte) {
	c.writeLines([]string{
		"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
		"HELP",
		"    Prints this help.",
	})
}

// deliverPush hands the queued messages to the connection's writer. It
// runs on the connection's goroutine (after wake, before each command and
// before blocking on a read); the replies are flushed before the next
// read.
func (c *conn) deliverPush() {
	s := c.ps.sub
	if s == nil {
		return
	}
	q := s.take()
	if len(q) == 0 {
		return
	}
	c.w.WriteRaw(q)
	s.outMark.Store(c.counters.netOutputBytes.Load() + int64(c.w.Buffered()))
	s.giveBack(q)
}

// resetPubsub drops every subscription without replies (RESET). Messages
// already queued go out first: Redis had written them to the client's
// buffer before the RESET.
func (c *conn) resetPubsub() {
	c.deliverPush()
	c.dropSubscriptions()
}

// closePubsub drops every subscription as the connection closes, and its
// queue with them.
func (c *conn) closePubsub() {
	s := c.dropSubscriptions()
	if s == nil {
		return
	}
	s.mu.Lock()
	s.dead = true
	s.queue = nil
	s.mu.Unlock()
}

// dropSubscriptions leaves every channel, pattern and shard channel under
// one hold of the registry lock.
func (c *conn) dropSubscriptions() *subscriber {
	s := c.ps.sub
	if s == nil {
		return nil
	}
	r := &c.s.pubsub
	r.mu.Lock()
	for k := range psKinds {
		for name := range s.subs[k] {
			r.removeLocked(k, name, s)
		}
		s.subs[k] = nil
		c.ps.n[k].Store(0)
	}
	r.mu.Unlock()
	return s
}

// pubsubCounts reports a connection's subscriptions for CLIENT LIST
// (sub=, psub=, ssub=); safe from any goroutine.
func (c *conn) pubsubCounts() (channels, patterns, shard int64) {
	return int64(c.ps.n[psChannel].Load()), int64(c.ps.n[psPattern].Load()), int64(c.ps.n[psShard].Load())
}

// pubsubChannelCount is INFO's pubsub_channels: channels with at least
// one subscriber.
func (s *Server) pubsubChannelCount() int { return s.pubsub.count(psChannel) }

// pubsubPatternCount is INFO's pubsub_patterns: distinct patterns with at
// least one subscriber.
func (s *Server) pubsubPatternCount() int { return s.pubsub.count(psPattern) }

// pubsubShardChannelCount is INFO's pubsubshard_channels.
func (s *Server) pubsubShardChannelCount() int { return s.pubsub.count(psShard) }
