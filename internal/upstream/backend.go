package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/resp"
)

// Options configure a Backend.
type Options struct {
	Target Target
	// Pool is how many shared connections serve each protocol version;
	// 0: 2.
	Pool int
	// MaxReply bounds one reply; 0: 512 MiB.
	MaxReply int64
	// Name labels the backend's connections (CLIENT SETNAME), so an
	// operator of the backend sees whose they are.
	Name   string
	Logger *slog.Logger
	// OnHealth is called when the backend goes down (err says why) or
	// comes back (err nil).
	OnHealth func(up bool, err error)
}

// ErrUnavailable is returned while the backend is down.
var ErrUnavailable = errors.New("backend unavailable")

// Backend is one instance's backend: a pool of shared connections per
// protocol version, dedicated connections on demand, and the health of
// the whole.
type Backend struct {
	opts     Options
	log      *slog.Logger
	maxReply int64

	mu     sync.Mutex
	shared [2][]*Conn // by protocol (RESP2, RESP3); nil slots are being dialled
	idle   [2][]*Conn // dedicated connections with no state, ready for reuse
	closed bool
	down   error // non-nil while the backend is down
	redial chan struct{}
	quit   chan struct{}
	wg     sync.WaitGroup

	up              atomic.Bool
	dials           atomic.Int64
	failures        atomic.Int64
	dedicated       atomic.Int64 // open dedicated connections
	repliesTooLarge atomic.Int64
	strayPushes     atomic.Int64 // pushes dropped on shared connections
	version         atomic.Pointer[string]
}

// maxIdle bounds the dedicated connections kept for reuse.
const maxIdle = 16

// New prepares a backend and connects its first shared connection; it
// does not fail when the backend is down (clients get errors until it is
// up), but reports the first error.
func New(opts Options) (*Backend, error) {
	if opts.Pool <= 0 {
		opts.Pool = 2
	}
	if opts.MaxReply <= 0 {
		opts.MaxReply = 512 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		opts:     opts,
		log:      opts.Logger.With("backend", opts.Target.String()),
		maxReply: opts.MaxReply,
		redial:   make(chan struct{}, 1),
		quit:     make(chan struct{}),
	}
	for p := range b.shared {
		b.shared[p] = make([]*Conn, opts.Pool)
	}
	err := b.fill(2)
	if err != nil {
		b.down = err
	} else {
		b.up.Store(true)
	}
	b.wg.Add(1)
	go b.redialer()
	return b, err
}

// Up reports whether the backend answers.
func (b *Backend) Up() bool { return b.up.Load() }

// Target describes the backend (without its password).
func (b *Backend) Target() string { return b.opts.Target.String() }

// Shared returns a shared connection of the protocol for a client; key
// spreads clients over the pool. It fails fast while the backend is down.
func (b *Backend) Shared(proto int, key uint64) (*Conn, error) {
	p := protoIndex(proto)
	for attempt := 0; ; attempt++ {
		b.mu.Lock()
		if b.closed || b.down != nil {
			b.mu.Unlock()
			return nil, ErrUnavailable
		}
		pool := b.shared[p]
		n := len(pool)
		for i := range n {
			if c := pool[(int(key%uint64(n))+i)%n]; c != nil && !c.Broken() {
				b.mu.Unlock()
				return c, nil
			}
		}
		fresh := !b.used(p)
		b.mu.Unlock()
		if !fresh || attempt > 0 {
			b.kickRedial()
			return nil, ErrUnavailable
		}
		if err := b.ensure(proto); err != nil {
			return nil, ErrUnavailable
		}
	}
}

// Dedicated returns a connection for one client alone: an idle one, or a
// new one. It fails fast while the backend is down.
func (b *Backend) Dedicated(proto int) (*Conn, error) {
	p := protoIndex(proto)
	b.mu.Lock()
	if b.closed || b.down != nil {
		b.mu.Unlock()
		return nil, ErrUnavailable
	}
	for len(b.idle[p]) > 0 {
		c := b.idle[p][len(b.idle[p])-1]
		b.idle[p] = b.idle[p][:len(b.idle[p])-1]
		if !c.Broken() {
			b.mu.Unlock()
			return c, nil
		}
	}
	b.mu.Unlock()
	c, err := b.dial(proto, true)
	if err != nil {
		return nil, ErrUnavailable
	}
	b.dedicated.Add(1)
	return c, nil
}

// Release gives a dedicated connection back. A clean one (no connection
// state left on it) is kept for reuse; any other is closed.
func (b *Backend) Release(c *Conn, clean bool) {
	c.SetOwner(nil, false)
	if clean && !c.Broken() {
		p := protoIndex(c.Proto())
		b.mu.Lock()
		if !b.closed && len(b.idle[p]) < maxIdle {
			b.idle[p] = append(b.idle[p], c)
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
	b.forget(c)
	c.Close()
}

// forget uncounts a dedicated connection that ends, once.
func (b *Backend) forget(c *Conn) {
	if c.dedicated && c.gone.CompareAndSwap(false, true) {
		b.dedicated.Add(-1)
	}
}

// Close closes every connection; pending requests get UnavailableReply.
func (b *Backend) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	var all []*Conn
	for p := range b.shared {
		for _, c := range b.shared[p] {
			if c != nil {
				all = append(all, c)
			}
		}
		all = append(all, b.idle[p]...)
		b.idle[p] = nil
	}
	close(b.quit)
	b.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
	b.wg.Wait()
}

func protoIndex(proto int) int {
	if proto == 3 {
		return 1
	}
	return 0
}

// connFailed is told by a connection that broke.
func (b *Backend) connFailed(c *Conn, err error) {
	b.failures.Add(1)
	b.forget(c)
	b.log.Warn("backend connection lost", "err", err)
	b.kickRedial()
}

func (b *Backend) kickRedial() {
	select {
	case b.redial <- struct{}{}:
	default:
	}
}

// Backoff bounds the wait between attempts to reach a backend that is down.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// redialer replaces broken shared connections. When none of them can be
// re-established the backend is down: new requests fail fast, and it is
// tried again with back-off until it answers.
func (b *Backend) redialer() {
	defer b.wg.Done()
	backoff := minBackoff
	var timer <-chan time.Time
	for {
		select {
		case <-b.quit:
			return
		case <-b.redial:
		case <-timer:
		}
		timer = nil
		err := b.fill(0)
		b.mu.Lock()
		wasDown := b.down
		if b.anyShared() {
			b.down = nil
		} else if err != nil {
			b.down = err
		}
		nowDown := b.down
		b.mu.Unlock()
		switch {
		case nowDown != nil && wasDown == nil:
			b.up.Store(false)
			b.log.Error("backend down", "err", nowDown)
			b.health(false, nowDown)
		case nowDown == nil && wasDown != nil:
			b.up.Store(true)
			b.log.Info("backend up")
			b.health(true, nil)
		}
		if err != nil {
			timer = time.After(backoff)
			backoff = min(2*backoff, maxBackoff)
		} else {
			backoff = minBackoff
		}
	}
}

func (b *Backend) health(up bool, err error) {
	if b.opts.OnHealth != nil {
		b.opts.OnHealth(up, err)
	}
}

// anyShared reports whether some shared connection works; b.mu is held.
func (b *Backend) anyShared() bool {
	for p := range b.shared {
		for _, c := range b.shared[p] {
			if c != nil && !c.Broken() {
				return true
			}
		}
	}
	return false
}

// fill dials every missing or broken shared connection (of RESP2 only,
// or both protocols when protos is 0 and RESP3 ones were used). It
// returns the last error.
func (b *Backend) fill(protos int) error {
	var last error
	for p := range b.shared {
		proto := 2 + p
		if protos != 0 && protos != proto {
			continue
		}
		for i := 0; i < b.opts.Pool; i++ {
			b.mu.Lock()
			c := b.shared[p][i]
			need := (c == nil && (p == 0 || b.used(p))) || (c != nil && c.Broken())
			closed := b.closed
			b.mu.Unlock()
			if closed {
				return errors.New("closed")
			}
			if !need {
				continue
			}
			nc, err := b.dial(proto, false)
			if err != nil {
				last = err
				break // the others would fail the same way
			}
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				nc.Close()
				return errors.New("closed")
			}
			b.shared[p][i] = nc
			b.mu.Unlock()
		}
	}
	return last
}

// used reports whether the pool of protocol index p was ever asked for;
// RESP3 connections are dialled on first use. b.mu is held.
func (b *Backend) used(p int) bool {
	for _, c := range b.shared[p] {
		if c != nil {
			return true
		}
	}
	return p == 0
}

// ensure dials the shared connections of a protocol that has none
// yet (RESP3, the first time a client asks for it).
func (b *Backend) ensure(proto int) error {
	p := protoIndex(proto)
	b.mu.Lock()
	need := b.shared[p][0] == nil
	b.mu.Unlock()
	if !need {
		return nil
	}
	c, err := b.dial(proto, false)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.shared[p][0] != nil {
		c.Close()
		return nil
	}
	b.shared[p][0] = c
	if len(b.shared[p]) > 1 {
		b.kickRedial()
	}
	return nil
}

// dial connects, logs in, selects the database and the protocol, names
// the connection, and for a dedicated one asks its CLIENT ID.
func (b *Backend) dial(proto int, dedicated bool) (*Conn, error) {
	t := b.opts.Target
	timeout := t.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	nc, err := dialTarget(ctx, t)
	if err != nil {
		return nil, err
	}
	b.dials.Add(1)
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	id, err := b.handshake(nc, proto, dedicated)
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	c := newConn(b, nc, proto, dedicated)
	c.id = id
	return c, nil
}

// handshake runs the commands that prepare a new connection and checks
// their replies. The password is never part of an error.
func (b *Backend) handshake(nc net.Conn, proto int, dedicated bool) (int64, error) {
	t := b.opts.Target
	type step struct {
		name string
		cmd  [][]byte
	}
	var steps []step
	if t.Password != "" {
		if t.Username != "" {
			steps = append(steps, step{"AUTH", [][]byte{[]byte("AUTH"), []byte(t.Username), []byte(t.Password)}})
		} else {
			steps = append(steps, step{"AUTH", [][]byte{[]byte("AUTH"), []byte(t.Password)}})
		}
	}
	if proto == 3 {
		steps = append(steps, step{"HELLO", [][]byte{[]byte("HELLO"), []byte("3")}})
	}
	if t.DB != 0 {
		steps = append(steps, step{"SELECT", [][]byte{[]byte("SELECT"), []byte(strconv.Itoa(t.DB))}})
	}
	if b.opts.Name != "" {
		steps = append(steps, step{"CLIENT SETNAME", [][]byte{[]byte("CLIENT"), []byte("SETNAME"), []byte(b.opts.Name)}})
	}
	steps = append(steps, step{"INFO", [][]byte{[]byte("INFO"), []byte("server")}})
	if dedicated {
		steps = append(steps, step{"CLIENT ID", [][]byte{[]byte("CLIENT"), []byte("ID")}})
	}
	var out []byte
	for _, s := range steps {
		out = resp.AppendCommand(out, s.cmd...)
	}
	if _, err := nc.Write(out); err != nil {
		return 0, err
	}
	rd := resp.NewReader(bufio.NewReader(nc), resp.DefaultLimits())
	var id int64
	for _, s := range steps {
		v, err := rd.ReadValue()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", s.name, err)
		}
		if v.Type == resp.TypeError || v.Type == resp.TypeBlobError {
			return 0, fmt.Errorf("%s: %s", s.name, t.redactAuthError(v.Str))
		}
		switch s.name {
		case "INFO":
			b.noteVersion(v.Str)
		case "CLIENT ID":
			id = v.Int
		}
	}
	return id, nil
}

// noteVersion keeps the backend's redis_version from INFO server.
func (b *Backend) noteVersion(info []byte) {
	const key = "redis_version:"
	for _, line := range splitLines(info) {
		if len(line) > len(key) && string(line[:len(key)]) == key {
			v := string(line[len(key):])
			b.version.Store(&v)
			return
		}
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		line := b[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		out = append(out, line)
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}

// Stats are the backend's figures for INFO.
type Stats struct {
	Up              bool
	Version         string
	Shared          int // open shared connections
	Dedicated       int64
	Dials           int64
	Failures        int64
	RepliesTooLarge int64
	StrayPushes     int64
}

// Stats reports the backend's figures.
func (b *Backend) Stats() Stats {
	st := Stats{
		Up:              b.up.Load(),
		Dedicated:       b.dedicated.Load(),
		Dials:           b.dials.Load(),
		Failures:        b.failures.Load(),
		RepliesTooLarge: b.repliesTooLarge.Load(),
		StrayPushes:     b.strayPushes.Load(),
	}
	if v := b.version.Load(); v != nil {
		st.Version = *v
	}
	b.mu.Lock()
	for p := range b.shared {
		for _, c := range b.shared[p] {
			if c != nil && !c.Broken() {
				st.Shared++
			}
		}
	}
	b.mu.Unlock()
	return st
}
