package upstream

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// A Sink collects the replies to one client's requests, in the order the
// requests were sent, and the pushes (pub/sub messages, invalidations) its
// dedicated connections receive. The backend connections' readers fill
// it; the client's goroutine empties it.
//
// Every request gets a sequence number when it is sent. A reply to the
// oldest unanswered request goes straight to the output; a reply that
// arrives before an older request's (the requests went to different
// connections, as a cluster client's do) is parked until its turn, so the
// client always sees its replies in the order it sent its requests.
type Sink struct {
	mu      sync.Mutex
	buf     []byte            // output in order: replies and pushes, complete frames only
	next    uint64            // the sequence number the next request gets
	head    uint64            // the oldest request whose reply is not yet in buf
	parked  map[uint64]*early // replies that arrived before their turn
	waiting bool              // the client waits on done
	done    chan struct{}

	// Redirects makes the sink hold back a reply that is a cluster
	// redirection (MOVED, ASK, TRYAGAIN) instead of delivering it: the
	// client resends the request elsewhere (Resend) and the sink keeps
	// its place.
	Redirects  bool
	redirected []Redirect

	pushBytes int          // bytes of pushes in buf
	errors    atomic.Int64 // error replies delivered since TakeErrors
	overflow  bool         // pushes passed MaxPushBytes: the client must go
	// Wake, if set, is called (from a reader goroutine) when pushes
	// arrive or when a reply completes while AsyncWait is set.
	Wake func()
	// AsyncWait makes a completed wait call Wake instead of signalling
	// done: a client that waits while it reads its own socket (a blocked
	// command) is woken that way.
	AsyncWait bool
	// OnOverflow, if set, is called once (from a reader goroutine) when
	// pushes pass MaxPushBytes: the client must go, even if its goroutine
	// is stuck writing to a peer that does not read.
	OnOverflow func()
	// OnBroken, if set, is called (from the connection's goroutine) when
	// a dedicated connection this sink owns breaks: the client's state
	// there is gone.
	OnBroken func()
}

// early is a reply parked until the requests before it are answered.
type early struct {
	data []byte
	done bool
}

// A Redirect is a request the cluster sent elsewhere: Reply is the error
// (MOVED, ASK or TRYAGAIN) as received.
type Redirect struct {
	Seq   uint64
	Reply []byte
}

// MaxPushBytes bounds the pushes waiting for one client, as Redis's
// client-output-buffer-limit for pub/sub clients (32 MiB hard).
const MaxPushBytes = 32 << 20

// NewSink returns an empty sink.
func NewSink() *Sink { return &Sink{done: make(chan struct{}, 1)} }

// Pending reports how many requests wait for their replies.
// TakeErrors returns how many error replies the backend sent since the
// last call (INFO's total_error_replies counts them), and resets it.
func (s *Sink) TakeErrors() int64 {
	if s.errors.Load() == 0 {
		return 0
	}
	return s.errors.Swap(0)
}

func (s *Sink) Pending() int {
	s.mu.Lock()
	n := int(s.next - s.head)
	s.mu.Unlock()
	return n
}

// add numbers one more request.
func (s *Sink) add() uint64 {
	s.mu.Lock()
	seq := s.next
	s.next++
	s.mu.Unlock()
	return seq
}

// IsRedirect reports a cluster redirection error (MOVED, ASK, TRYAGAIN).
func IsRedirect(frame []byte) bool {
	return bytes.HasPrefix(frame, []byte("-MOVED ")) || bytes.HasPrefix(frame, []byte("-ASK ")) ||
		bytes.HasPrefix(frame, []byte("-TRYAGAIN"))
}

// reply takes one frame of request seq; first and last say where it is
// in the request's replies.
func (s *Sink) reply(seq uint64, frame []byte, first, last, drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Redirects && first && last && IsRedirect(frame) {
		s.redirected = append(s.redirected, Redirect{Seq: seq, Reply: bytes.Clone(frame)})
		s.signalLocked()
		return
	}
	if !drop && len(frame) > 0 && (frame[0] == '-' || frame[0] == '!') {
		s.errors.Add(1)
	}
	if seq != s.head {
		e := s.parked[seq]
		if e == nil {
			if s.parked == nil {
				s.parked = map[uint64]*early{}
			}
			e = &early{}
			s.parked[seq] = e
		}
		if !drop {
			e.data = append(e.data, frame...)
		}
		e.done = last
		return
	}
	if !drop {
		s.buf = append(s.buf, frame...)
	}
	if !last {
		return
	}
	s.head++
	for len(s.parked) > 0 {
		e := s.parked[s.head]
		if e == nil {
			break
		}
		delete(s.parked, s.head)
		s.buf = append(s.buf, e.data...)
		if !e.done {
			break // its other frames come straight here
		}
		s.head++
	}
	s.signalLocked()
}

// Answer gives request seq its reply without sending it anywhere: a
// redirection the client does not follow (the reply is delivered as it is).
func (s *Sink) Answer(seq uint64, reply []byte) {
	s.reply(seq, reply, false, true, false)
}

// signalLocked tells a waiting client that every reply is in, or that a
// redirection needs it.
func (s *Sink) signalLocked() {
	if (s.head != s.next && len(s.redirected) == 0) || !s.waiting {
		return
	}
	if s.AsyncWait {
		if s.Wake != nil {
			s.Wake()
		}
		return
	}
	s.waiting = false
	select {
	case s.done <- struct{}{}:
	default:
	}
}

// push appends an unsolicited frame, in its place among the replies, and
// wakes the client.
func (s *Sink) push(frame []byte) {
	s.mu.Lock()
	var overflowed func()
	if s.pushBytes+len(frame) > MaxPushBytes {
		if !s.overflow {
			overflowed = s.OnOverflow
		}
		s.overflow = true
	} else {
		s.buf = append(s.buf, frame...)
		s.pushBytes += len(frame)
	}
	if s.waiting && !s.AsyncWait && s.pushBytes >= PushFlush {
		// A client waiting for a reply writes out what piled up.
		s.waiting = false
		select {
		case s.done <- struct{}{}:
		default:
		}
	}
	wake := s.Wake
	s.mu.Unlock()
	if overflowed != nil {
		overflowed()
	}
	if wake != nil {
		wake()
	}
}

// Wait blocks until every pending request is answered and appends the
// replies to dst. (A sink with Redirects is waited on with WaitSome.)
func (s *Sink) Wait(dst []byte) []byte {
	s.mu.Lock()
	for s.head != s.next {
		s.waiting = true
		s.mu.Unlock()
		<-s.done
		s.mu.Lock()
	}
	s.waiting = false
	dst = s.takeLocked(dst)
	s.mu.Unlock()
	return dst
}

// takeLocked moves everything received to dst.
func (s *Sink) takeLocked(dst []byte) []byte {
	dst = append(dst, s.buf...)
	s.buf = s.buf[:0]
	s.pushBytes = 0
	if cap(s.buf) > 1<<20 {
		s.buf = nil
	}
	return dst
}

// PushFlush is how many bytes of pushes make WaitSome return before the
// replies are in, so the client writes them out instead of piling them up.
const PushFlush = 1 << 20

// Status is what WaitSome returns on.
type Status int

// The reasons WaitSome returns.
const (
	Done       Status = iota // every request is answered
	PushesDue                // pushes piled up: write them out and wait again
	Redirected               // requests to resend: TakeRedirects
)

// WaitSome is Wait that also returns once PushFlush bytes of pushes
// arrived (the client writes them and waits again) or a request was
// redirected (the client resends it and waits again).
func (s *Sink) WaitSome(dst []byte) ([]byte, Status) {
	s.mu.Lock()
	for s.head != s.next && s.pushBytes < PushFlush && len(s.redirected) == 0 {
		s.waiting = true
		s.mu.Unlock()
		<-s.done
		s.mu.Lock()
	}
	st := Done
	switch {
	case len(s.redirected) > 0:
		st = Redirected
	case s.head != s.next:
		st = PushesDue
	}
	s.waiting = false
	dst = s.takeLocked(dst)
	s.mu.Unlock()
	return dst, st
}

// Redirected reports whether redirected requests wait to be sent again.
func (s *Sink) Redirected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.redirected) > 0
}

// TakeRedirects returns the redirected requests, oldest first, and
// forgets them.
func (s *Sink) TakeRedirects() []Redirect {
	s.mu.Lock()
	r := s.redirected
	s.redirected = nil
	s.mu.Unlock()
	return r
}

// Ready reports whether every pending request is answered; a client that
// waits with AsyncWait polls it when woken. It arms the wake-up when not.
func (s *Sink) Ready() bool {
	s.mu.Lock()
	ready := s.head == s.next || len(s.redirected) > 0
	s.waiting = !ready
	s.mu.Unlock()
	return ready
}

// Available appends what was received so far — the pushes and the
// replies that arrived, in order, a prefix of what the client is owed —
// to dst without waiting; overflow reports that pushes were lost because
// the client did not keep up.
func (s *Sink) Available(dst []byte) (_ []byte, overflow bool) {
	s.mu.Lock()
	dst = s.takeLocked(dst)
	overflow = s.overflow
	s.mu.Unlock()
	return dst, overflow
}
