package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/glob"
	"redoubt/internal/resp"
)

// Output limits of a subscriber, Redis's client-output-buffer-limit for
// the pubsub class ("32mb 8mb 60"): a subscriber whose unwritten messages
// (its queue plus what its writer still holds) pass the hard limit, or stay
// above the soft limit for the soft period, is disconnected.
const (
	pubsubHardLimit  = 32 << 20
	pubsubSoftLimit  = 8 << 20
	pubsubSoftPeriod = 60 * time.Second

	// pubsubLogEvery is the shortest interval between two log lines about
	// disconnected subscribers; the ones in between are counted.
	pubsubLogEvery = 10 * time.Second
	// maxRetainedQueue is the largest queue buffer a subscriber keeps for
	// reuse after its messages are delivered.
	maxRetainedQueue = 64 << 10
)

// psKind is a subscription namespace.
type psKind uint8

const (
	psChannel psKind = iota // SUBSCRIBE, PUBLISH
	psPattern               // PSUBSCRIBE
	psShard                 // SSUBSCRIBE, SPUBLISH (Redis 7.0 shard channels)
	psKinds
)

// Reply words of each namespace, as Redis sends them.
var (
	psSubscribeWord   = [psKinds]string{"subscribe", "psubscribe", "ssubscribe"}
	psUnsubscribeWord = [psKinds]string{"unsubscribe", "punsubscribe", "sunsubscribe"}
)

// psTopic is a channel or pattern with at least one subscriber.
type psTopic struct {
	name []byte
	subs map[*subscriber]struct{}
}

// psRegistry is an instance's channels and patterns and who listens to
// them. It has its own lock: publishing never takes the engine lock, and
// the engine lock is never taken while mu is held. The zero value is ready.
type psRegistry struct {
	mu     sync.RWMutex
	topics [psKinds]map[string]*psTopic // guarded by mu

	// Limits; zero means the defaults above (tests lower them).
	hard, soft, softPeriod atomic.Int64

	logMu      sync.Mutex
	lastLog    time.Time // guarded by logMu
	suppressed int       // disconnections not logged since lastLog
}

// add registers s on name in namespace k.
func (r *psRegistry) add(k psKind, name []byte, s *subscriber) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.topics[k] == nil {
		r.topics[k] = map[string]*psTopic{}
	}
	t := r.topics[k][string(name)]
	if t == nil {
		t = &psTopic{name: append([]byte(nil), name...), subs: map[*subscriber]struct{}{}}
		r.topics[k][string(t.name)] = t
	}
	t.subs[s] = struct{}{}
}

// remove unregisters s from name; a topic left without subscribers goes.
func (r *psRegistry) remove(k psKind, name string, s *subscriber) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeLocked(k, name, s)
}

// removeLocked is remove with mu held for writing.
func (r *psRegistry) removeLocked(k psKind, name string, s *subscriber) {
	t := r.topics[k][name]
	if t == nil {
		return
	}
	delete(t.subs, s)
	if len(t.subs) == 0 {
		delete(r.topics[k], name)
	}
}

// count is how many channels (or patterns, or shard channels) have
// subscribers.
func (r *psRegistry) count(k psKind) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.topics[k])
}

// numsub is how many connections subscribe to name (patterns aside).
func (r *psRegistry) numsub(k psKind, name []byte) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t := r.topics[k][string(name)]; t != nil {
		return len(t.subs)
	}
	return 0
}

// names returns the channels of namespace k matching pattern (all of them
// when pattern is nil).
func (r *psRegistry) names(k psKind, pattern []byte) [][]byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out [][]byte
	for _, t := range r.topics[k] {
		if pattern == nil || glob.Match(pattern, t.name, false) {
			out = append(out, t.name)
		}
	}
	return out
}

// publish queues msg for every subscriber of channel and, for ordinary
// channels, for every subscriber of a matching pattern, and returns how
// many deliveries it queued (a connection subscribed to the channel and
// to two matching patterns counts three times, as in Redis). It never
// blocks on a subscriber: one over its limits is disconnected instead.
// Messages from one publisher reach each subscriber in publish order.
func (r *psRegistry) publish(k psKind, channel, msg []byte) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	if t := r.topics[k][string(channel)]; t != nil {
		f := psFrame{word: "message", channel: channel, msg: msg}
		if k == psShard {
			f.word = "smessage"
		}
		for s := range t.subs {
			if r.deliver(s, f.get(s.c.proto.Load())) {
				n++
			}
		}
	}
	if k != psChannel {
		return n // shard channels ignore patterns, as in Redis
	}
	for _, t := range r.topics[psPattern] {
		if !glob.Match(t.name, channel, false) {
			continue
		}
		f := psFrame{word: "pmessage", pattern: t.name, channel: channel, msg: msg}
		for s := range t.subs {
			if r.deliver(s, f.get(s.c.proto.Load())) {
				n++
			}
		}
	}
	return n
}

// psFrame is one message, encoded once per protocol on first use: the
// RESP2 array and the RESP3 push differ only in their first byte.
type psFrame struct {
	word                  string // message, pmessage or smessage
	pattern, channel, msg []byte // pattern only for pmessage
	two, three            []byte
}

// get returns the frame for a subscriber speaking proto.
func (f *psFrame) get(proto int32) []byte {
	if f.two == nil {
		n := int64(3)
		if f.pattern != nil {
			n = 4
		}
		b := resp.AppendHeader(nil, resp.TypeArray, n)
		b = resp.AppendBulkString(b, f.word)
		if f.pattern != nil {
			b = resp.AppendBulk(b, f.pattern)
		}
		b = resp.AppendBulk(b, f.channel)
		f.two = resp.AppendBulk(b, f.msg)
	}
	if proto < 3 {
		return f.two
	}
	if f.three == nil {
		f.three = append([]byte{resp.TypePush}, f.two[1:]...)
	}
	return f.three
}

// deliver appends frame to s's queue and wakes its connection when the
// queue was empty. A subscriber over its limits is dropped and its
// connection killed; deliver then reports false.
func (r *psRegistry) deliver(s *subscriber, frame []byte) bool {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return false
	}
	// Unwritten bytes: the queue, plus what the connection's writer still
	// holds of the messages it took (and the replies before them).
	pending := int64(len(s.queue)) + int64(len(frame))
	if held := s.outMark.Load() - s.c.counters.netOutputBytes.Load(); held > 0 {
		pending += held
	}
	over := ""
	switch {
	case pending > r.limit(&r.hard, pubsubHardLimit):
		over = "hard"
	case pending > r.limit(&r.soft, pubsubSoftLimit):
		now := time.Now()
		if s.softSince.IsZero() {
			s.softSince = now
		} else if now.Sub(s.softSince) >= time.Duration(r.limit(&r.softPeriod, int64(pubsubSoftPeriod))) {
			over = "soft"
		}
	default:
		s.softSince = time.Time{}
	}
	if over != "" {
		s.dead = true
		s.queue = nil
		s.mu.Unlock()
		s.c.kill()
		r.logDropped(s.c, over, pending)
		return false
	}
	wasEmpty := len(s.queue) == 0
	s.queue = append(s.queue, frame...)
	s.mu.Unlock()
	if wasEmpty {
		s.c.wake()
	}
	return true
}

func (r *psRegistry) limit(v *atomic.Int64, deflt int64) int64 {
	if n := v.Load(); n > 0 {
		return n
	}
	return deflt
}

// setLimits changes the output limits (tests); zero keeps a default.
func (r *psRegistry) setLimits(hard, soft int64, softPeriod time.Duration) {
	r.hard.Store(hard)
	r.soft.Store(soft)
	r.softPeriod.Store(int64(softPeriod))
}

// logDropped logs a disconnected subscriber at most once per
// pubsubLogEvery, with the count of those not logged. Never the messages.
func (r *psRegistry) logDropped(c *conn, limit string, pending int64) {
	r.logMu.Lock()
	now := time.Now()
	if !r.lastLog.IsZero() && now.Sub(r.lastLog) < pubsubLogEvery {
		r.suppressed++
		r.logMu.Unlock()
		return
	}
	r.lastLog = now
	more := r.suppressed
	r.suppressed = 0
	r.logMu.Unlock()
	c.s.log.LogAttrs(context.Background(), slog.LevelInfo, "pub/sub subscriber over its output limit, disconnected",
		slog.Int64("id", c.id), slog.String("client", c.raddr), slog.String("limit", limit),
		slog.Int64("pending_bytes", pending), slog.Int("also_disconnected", more))
}

// subscriber is a connection's pub/sub side: its subscriptions, owned by
// the connection's goroutine, and its queue of encoded messages, which
// publishers fill from any goroutine.
type subscriber struct {
	c *conn

	// subs maps each subscription to its order, for UNSUBSCRIBE without
	// arguments; touched only by the connection's goroutine.
	subs [psKinds]map[string]uint64
	seq  uint64

	// outMark is the connection's netOutputBytes once everything it had
	// buffered when it last took the queue is written; set by the
	// connection's goroutine, read by publishers for the limits.
	outMark atomic.Int64

	mu        sync.Mutex
	queue     []byte    // encoded messages not yet handed to the writer
	dead      bool      // over its limits or closed: nothing more is queued
	softSince time.Time // when the queue went over the soft limit
}

// take swaps the queue out for delivery.
func (s *subscriber) take() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// giveBack keeps a delivered queue's buffer for reuse when it is small and
// no message has arrived since take.
func (s *subscriber) giveBack(q []byte) {
	if cap(q) > maxRetainedQueue {
		return
	}
	s.mu.Lock()
	if s.queue == nil && !s.dead {
		s.queue = q[:0]
	}
	s.mu.Unlock()
}
