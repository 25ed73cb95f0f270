package upstream

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"redoubt/internal/resp"
)

// UnavailableReply is the error a request gets when its backend
// connection is gone or the backend is down.
const UnavailableReply = "-ERR backend unavailable\r\n"

// request is one command sent on a connection, waiting for its replies.
type request struct {
	sink   *Sink
	seq    uint64 // its number in the sink
	frames int    // replies it expects (a SUBSCRIBE of n channels: n)
	skip   int    // leading replies thrown away (ASKING's +OK before the command's)
	drop   bool   // replies are read and thrown away
}

// Conn is one connection to the backend: shared by many clients (a pool
// connection) or pinned to one (dedicated). Requests are appended to its
// write buffer and to its queue under one lock, so replies, which the
// backend sends in order, are matched to requests in order. A writer
// goroutine writes what accumulates in one write; a reader goroutine reads
// the replies without decoding them and hands them to the clients' sinks.
type Conn struct {
	b         *Backend
	nc        net.Conn
	proto     atomic.Int32
	dedicated bool
	id        int64 // the backend's CLIENT ID of a dedicated connection

	mu      sync.Mutex
	wbuf    []byte
	queue   []request // sent, not yet picked up by the reader
	kicked  bool      // the writer goroutine has been told there is work
	writing bool      // a client's Flush is writing
	spare   []byte    // the other write buffer
	broken  error     // set once; the connection is then closed
	// readerDone: the reader has answered every request and ended; a
	// request sent now is answered at once.
	readerDone bool
	owner      *Sink // a dedicated connection's client: receives pushes
	pubsub     bool  // RESP2 subscribed mode: messages are pushes
	kick       chan struct{}
	closed     chan struct{}
	dropped    atomic.Bool // closed on purpose (Close): no health report
	gone       atomic.Bool // uncounted from the open dedicated connections
	dead       atomic.Bool // broken, readable without the lock
}

func newConn(b *Backend, nc net.Conn, proto int, dedicated bool) *Conn {
	c := &Conn{b: b, nc: nc, dedicated: dedicated,
		kick: make(chan struct{}, 1), closed: make(chan struct{})}
	c.proto.Store(int32(proto))
	go c.writer()
	go c.reader()
	return c
}

// Send queues one request of frames replies for sink; the bytes go out
// at the next Flush. A connection that is gone answers at once with
// UnavailableReply. It returns the request's number in sink.
func (c *Conn) Send(sink *Sink, cmd []byte, frames int, drop bool) uint64 {
	seq := sink.add()
	c.send(request{sink: sink, seq: seq, frames: frames, drop: drop}, cmd)
	return seq
}

// Resend sends again, here, a request of sink that was redirected
// elsewhere: its reply keeps its place. The first skip replies are not
// its own (ASKING's before the command).
func (c *Conn) Resend(sink *Sink, seq uint64, cmd []byte, frames, skip int) {
	c.send(request{sink: sink, seq: seq, frames: frames + skip, skip: skip}, cmd)
}

func (c *Conn) send(r request, cmd []byte) {
	c.mu.Lock()
	if c.readerDone {
		// Everything sent before was answered: answering at once keeps
		// the order.
		c.mu.Unlock()
		r.sink.reply(r.seq, []byte(UnavailableReply), true, true, r.drop)
		return
	}
	if c.broken != nil {
		// The reader answers it, after the earlier requests.
		c.queue = append(c.queue, r)
		c.mu.Unlock()
		return
	}
	c.wbuf = append(c.wbuf, cmd...)
	c.queue = append(c.queue, r)
	c.mu.Unlock()
}

// Flush writes what was sent. The first client to flush writes for
// everyone whose requests accumulated meanwhile (one write for many
// clients); while it writes, the others only append. After a few rounds
// it leaves the rest to the writer goroutine, so no client writes for the
// others for long.
func (c *Conn) Flush() {
	c.mu.Lock()
	if c.writing || c.kicked || len(c.wbuf) == 0 || c.broken != nil {
		c.mu.Unlock()
		return
	}
	c.writing = true
	for round := 0; len(c.wbuf) > 0; round++ {
		if round == maxFlushRounds {
			c.kicked = true
			c.kick <- struct{}{}
			break
		}
		buf := c.wbuf
		c.wbuf = c.spare[:0]
		c.mu.Unlock()
		_, err := c.nc.Write(buf)
		c.mu.Lock()
		if err != nil {
			c.writing = false
			c.mu.Unlock()
			c.fail(err)
			return
		}
		if cap(buf) <= 1<<20 {
			c.spare = buf[:0]
		}
	}
	c.writing = false
	c.mu.Unlock()
}

// maxFlushRounds is how many writes one client's Flush makes at most.
const maxFlushRounds = 2

// SetOwner makes sink receive the pushes of a dedicated connection;
// pubsub says that RESP2 messages (subscribed mode) are pushes too.
func (c *Conn) SetOwner(sink *Sink, pubsub bool) {
	c.mu.Lock()
	c.owner, c.pubsub = sink, pubsub
	c.mu.Unlock()
}

// ID is the backend's client id of a dedicated connection (0 if unknown).
func (c *Conn) ID() int64 { return c.id }

// Broken reports whether the connection is gone.
func (c *Conn) Broken() bool { return c.dead.Load() }

// Proto is the connection's protocol version (2 or 3).
func (c *Conn) Proto() int { return int(c.proto.Load()) }

// SetProto records that a dedicated connection was switched to another
// protocol version (HELLO), so it is given back to the right pool.
func (c *Conn) SetProto(proto int) { c.proto.Store(int32(proto)) }

// Close ends the connection; its pending requests get UnavailableReply.
func (c *Conn) Close() {
	c.dropped.Store(true)
	c.fail(errClosed)
}

var errClosed = errors.New("closed")

// fail breaks the connection once: it closes the socket, which ends the
// reader. The reader alone answers requests, in order: the replies it
// still has buffered go to their requests, then every request left gets
// UnavailableReply — so a failure never puts an error in the place of
// another request's reply.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.broken != nil {
		c.mu.Unlock()
		return
	}
	c.broken = err
	c.dead.Store(true)
	c.wbuf = nil
	owner := c.owner
	c.mu.Unlock()
	_ = c.nc.Close()
	close(c.closed)
	if owner != nil && owner.OnBroken != nil {
		owner.OnBroken()
	}
	if !c.dropped.Load() {
		c.b.connFailed(c, err)
	}
}

// writer writes what a client's Flush left behind.
func (c *Conn) writer() {
	for {
		select {
		case <-c.kick:
		case <-c.closed:
			return
		}
		c.mu.Lock()
		c.kicked = false
		c.mu.Unlock()
		c.Flush()
	}
}

// reader matches replies to requests until the connection fails. A reply
// larger than the limit is answered with an error to its own client only;
// a reply that is not RESP, or a reply no request waits for, breaks the
// connection (its requests get UnavailableReply).
func (c *Conn) reader() {
	lim := resp.DefaultLimits()
	lim.MaxArgs = 1 << 40 // counts cost nothing until the bytes arrive; MaxValue bounds them
	lim.MaxValue = c.b.maxReply
	rd := resp.NewReader(c.nc, lim)
	var inflight []request
	next, got := 0, 0 // the request being answered, and its frames so far
	tooLarge := []byte("-ERR reply from the backend is larger than max_reply_size\r\n")
	defer func() {
		// The connection is broken: answer what is left, the requests
		// picked up first, then the queue, until no request is left
		// and Send answers by itself.
		for {
			for _, r := range inflight[next:] {
				r.sink.reply(r.seq, []byte(UnavailableReply), true, true, r.drop)
			}
			c.mu.Lock()
			q := c.queue
			c.queue = nil
			if len(q) == 0 {
				c.readerDone = true
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			inflight, next = q, 0
		}
	}()
	for {
		raw, err := rd.ReadRaw()
		if err != nil && err != resp.ErrValueTooLarge {
			c.fail(err)
			return
		}
		if err == nil && len(raw) > 0 && raw[0] == '>' && !c.dedicated {
			// No request waits for a push on a shared connection (a
			// CLIENT TRACKING REDIRECT aimed at it, say): it is nobody's.
			c.b.strayPushes.Add(1)
			continue
		}
		if err == nil && c.isPush(raw) {
			c.mu.Lock()
			owner := c.owner
			c.mu.Unlock()
			if owner != nil {
				owner.push(raw)
				continue
			}
		}
		if next == len(inflight) {
			c.mu.Lock()
			inflight, c.queue = c.queue, inflight[:0]
			c.mu.Unlock()
			next = 0
			if len(inflight) == 0 {
				c.fail(errors.New("a reply no request waits for"))
				return
			}
		}
		r := inflight[next]
		if err == resp.ErrValueTooLarge {
			c.b.repliesTooLarge.Add(1)
			raw = tooLarge
		}
		got++
		if got <= r.skip {
			continue // ASKING's reply
		}
		own := got - r.skip
		// A refusal answers the whole command with one error, however
		// many replies it would have had (SUBSCRIBE of n channels).
		last := got >= r.frames || (own == 1 && len(raw) > 0 && (raw[0] == '-' || raw[0] == '!'))
		r.sink.reply(r.seq, raw, own == 1, last, r.drop)
		if last {
			inflight[next] = request{}
			next++
			got = 0
		}
	}
}

// isPush reports whether a frame is a push rather than a reply: a RESP3
// push that is not a subscription confirmation, or, in RESP2 subscribed
// mode, a message.
func (c *Conn) isPush(raw []byte) bool {
	if !c.dedicated || len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case '>':
		return !isConfirmation(raw)
	case '*':
		c.mu.Lock()
		ps := c.pubsub
		c.mu.Unlock()
		return ps && IsMessage(raw)
	}
	return false
}

// The first element of pub/sub frames, as RESP bulk strings.
var (
	confirmations = [][]byte{
		[]byte("$9\r\nsubscribe\r\n"), []byte("$11\r\nunsubscribe\r\n"),
		[]byte("$10\r\npsubscribe\r\n"), []byte("$12\r\npunsubscribe\r\n"),
		[]byte("$10\r\nssubscribe\r\n"), []byte("$12\r\nsunsubscribe\r\n"),
	}
	messages = [][]byte{
		[]byte("$7\r\nmessage\r\n"), []byte("$8\r\npmessage\r\n"), []byte("$8\r\nsmessage\r\n"),
	}
)

// firstElem returns the bytes after an aggregate's header.
func firstElem(raw []byte) []byte {
	i := bytes.IndexByte(raw, '\n')
	if i < 0 {
		return nil
	}
	return raw[i+1:]
}

func isConfirmation(raw []byte) bool { return hasAnyPrefix(firstElem(raw), confirmations) }

// IsMessage reports a pub/sub message frame (message, pmessage or
// smessage), whatever its aggregate type.
func IsMessage(raw []byte) bool { return hasAnyPrefix(firstElem(raw), messages) }

func hasAnyPrefix(b []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}
