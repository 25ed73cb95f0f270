package upstream

import "sync"

// A Sink collects the replies to one client's requests, in the order the
// requests were sent, and the pushes (pub/sub messages, invalidations) its
// dedicated connection receives. The backend connections' readers fill
// it; the client's goroutine empties it. Requests of one client go to one
// connection at a time (the client waits for every pending reply before it
// moves to another), so their replies arrive in order.
type Sink struct {
	mu      sync.Mutex
	buf     []byte // replies and pushes in the order they arrived, complete frames only
	pending int    // requests not yet answered
	waiting bool   // the client waits on done
	done    chan struct{}

	pushBytes int  // bytes of pushes in buf
	overflow  bool // pushes passed MaxPushBytes: the client must go
	// Wake, if set, is called (from a reader goroutine) when pushes
	// arrive or when a reply completes while AsyncWait is set.
	Wake func()
	// AsyncWait makes a completed wait call Wake instead of signalling
	// done: a client that waits while it reads its own socket (a blocked
	// command) is woken that way.
	AsyncWait bool
}

// MaxPushBytes bounds the pushes waiting for one client, as Redis's
// client-output-buffer-limit for pub/sub clients (32 MiB hard).
const MaxPushBytes = 32 << 20

// NewSink returns an empty sink.
func NewSink() *Sink { return &Sink{done: make(chan struct{}, 1)} }

// Pending reports how many requests wait for their replies.
func (s *Sink) Pending() int {
	s.mu.Lock()
	n := s.pending
	s.mu.Unlock()
	return n
}

// add counts one more request.
func (s *Sink) add() {
	s.mu.Lock()
	s.pending++
	s.mu.Unlock()
}

// reply appends one frame of the oldest pending request; last completes
// the request.
func (s *Sink) reply(frame []byte, last, drop bool) {
	s.mu.Lock()
	if !drop {
		s.buf = append(s.buf, frame...)
	}
	if last {
		s.pending--
		s.signalLocked()
	}
	s.mu.Unlock()
}

// signalLocked tells a waiting client that every reply is in.
func (s *Sink) signalLocked() {
	if s.pending != 0 || !s.waiting {
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
	if s.pushBytes+len(frame) > MaxPushBytes {
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
	if wake != nil {
		wake()
	}
}

// Wait blocks until every pending request is answered and appends the
// replies to dst.
func (s *Sink) Wait(dst []byte) []byte {
	s.mu.Lock()
	for s.pending > 0 {
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

// WaitSome is Wait that also returns, with done false, once PushFlush
// bytes of pushes arrived: the client writes them and waits again.
func (s *Sink) WaitSome(dst []byte) (_ []byte, done bool) {
	s.mu.Lock()
	for s.pending > 0 && s.pushBytes < PushFlush {
		s.waiting = true
		s.mu.Unlock()
		<-s.done
		s.mu.Lock()
	}
	done = s.pending == 0
	s.waiting = false
	dst = s.takeLocked(dst)
	s.mu.Unlock()
	return dst, done
}

// Ready reports whether every pending request is answered; a client that
// waits with AsyncWait polls it when woken. It arms the wake-up when not.
func (s *Sink) Ready() bool {
	s.mu.Lock()
	ready := s.pending == 0
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
