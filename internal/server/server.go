// Package server runs instances: it listens, admits connections, reads
// commands with the bounded RESP reader, resolves them against the command
// table, runs them on the instance's backend and writes the replies, one
// flush per batch of pipelined commands.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/acl"
	"redoubt/internal/auth"
	"redoubt/internal/cluster"
	"redoubt/internal/command"
	"redoubt/internal/datadir"
	"redoubt/internal/engine"
	"redoubt/internal/eventlog"
	"redoubt/internal/guard"
	"redoubt/internal/keystats"
	"redoubt/internal/monitor"
	"redoubt/internal/slowlog"
	"redoubt/internal/upstream"
)

// Version is Redoubt's version.
const Version = "0.1.0"

// CompatVersion is the Redis version whose behaviour Redoubt reproduces;
// clients read it from HELLO and INFO to choose features.
const CompatVersion = "7.0.15"

// Options configure one instance.
type Options struct {
	Name      string   // instance name, "default" for the default one
	Listen    []string // "host:port" or "unix:/path"
	DataDir   string
	Databases int
	Memory    engine.MemoryOptions // maxmemory and its policy
	// Persistence is the append-only file in DataDir; the zero value is
	// off (DefaultPersistence is what a configured instance gets).
	Persistence Persistence
	// Backend is what serves the data; the zero value is the embedded
	// engine. Memory and Persistence apply to the embedded engine and are
	// passed on to a managed redis-server.
	Backend Backend
	Logger  *slog.Logger
	Table   *command.Table // shared, read-only

	// Security is the front door; nil means DefaultSecurity.
	Security *Security
	// Events receives security events; nil: a Recorder on Logger.
	Events monitor.Sink
	// Verifier checks passwords; instances may share one (its argon2id
	// worker pool bounds the CPU spent on passwords). nil: a new one.
	Verifier *auth.Verifier
	// Monitoring is what the instance measures; nil: DefaultMonitoring.
	Monitoring *Monitoring
	// EventFiles is the rotation and retention of the event file in
	// DataDir/events (eventfile.go).
	EventFiles EventFiles
	// Now is the clock of bans and lockouts; nil: time.Now.
	Now func() time.Time

	// peerOf replaces the classification of a connection's peer; tests
	// set it to act as a peer from outside without a second network.
	peerOf func(net.Conn) (netip.Addr, guard.Class)
}

// Server is one running instance: its listeners, connections and backend.
type Server struct {
	opts   Options
	log    *slog.Logger
	table  *command.Table
	eng    *engine.Engine
	start  time.Time
	nextID atomic.Int64

	// handlers are the commands the server answers itself (HELLO,
	// CLIENT, INFO …), indexed by spec ID like the engine's.
	handlers []connHandler

	pol      atomic.Pointer[policy] // swapped whole on reload
	bans     *guard.Bans
	perAddr  *guard.AddrCounter
	lockout  *auth.Lockout
	verifier *auth.Verifier
	events   monitor.Sink
	aclLog   *acl.Log
	now      func() time.Time
	// peerOf classifies a connection's peer; tests replace it to act as
	// a peer from outside without a network namespace.
	peerOf  func(net.Conn) (netip.Addr, guard.Class)
	quit    chan struct{} // closed by Shutdown: ends AUTH delays
	stepUps *stepUpGuard
	pubsub  psRegistry // channels, patterns and their subscribers (pubsub_registry.go)
	stats   *stats     // per-command figures, errors, latency (stats.go)
	rates   rates      // instantaneous ops/s and kbps (rates.go)
	slow    *slowlog.Log
	keys    *keystats.Stats // hot and big keys (hotkeys.go); nil when monitoring is off
	evlog   *eventlog.Log   // the event file (eventfile.go); nil without a data directory
	evdir   *datadir.Dir    // its directory, <data>/events

	metrics *metricDescs // Prometheus descriptions (metrics.go)

	countsMu sync.Mutex
	counts   map[monitor.Type]int64 // events of this instance, for INFO

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup

	connectionsReceived   atomic.Int64
	peakMemory            atomic.Uint64     // highest used_memory INFO reported
	store                 *store            // data directory and append-only file (persist.go)
	gw                    *upstream.Backend // the backend of a gateway instance; nil: embedded
	cl                    *cluster.Cluster  // the backend of a cluster instance
	managed               managedServer     // the redis-server of a managed instance
	feed                  aofFeed           // the engine's changes to the file; under the engine lock
	aofFailed             atomic.Bool       // the file is in the failed state: writes are refused
	rejectedConnections   atomic.Int64
	crossProtocolAttempts atomic.Int64
	authFailures          atomic.Int64
	commandsRefused       atomic.Int64
	closed                counters // of the connections that have ended
}

// counters are the per-connection figures INFO adds up.
type counters struct {
	commandsProcessed atomic.Int64
	errorReplies      atomic.Int64
	netInputBytes     atomic.Int64
	netOutputBytes    atomic.Int64
}

func (k *counters) add(o *counters) {
	k.commandsProcessed.Add(o.commandsProcessed.Load())
	k.errorReplies.Add(o.errorReplies.Load())
	k.netInputBytes.Add(o.netInputBytes.Load())
	k.netOutputBytes.Add(o.netOutputBytes.Load())
}

// totals adds up the counters of every connection, open or closed.
func (s *Server) totals() *counters {
	var t counters
	s.mu.Lock()
	t.add(&s.closed)
	for c := range s.conns {
		t.add(&c.counters)
	}
	s.mu.Unlock()
	return &t
}

// New prepares an instance; Start opens its listeners. It fails when the
// security options do not fit the command table.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Table == nil {
		opts.Table = command.New()
	}
	if opts.Name == "" {
		opts.Name = "default"
	}
	if opts.Security == nil {
		sec := DefaultSecurity()
		opts.Security = &sec
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Monitoring == nil {
		m := DefaultMonitoring()
		opts.Monitoring = &m
	}
	log := opts.Logger.With("instance", opts.Name)
	if opts.Events == nil {
		opts.Events = monitor.NewRecorder(log, opts.Now)
	}
	if opts.Verifier == nil {
		opts.Verifier = auth.NewVerifier(0, 0)
	}
	pol, err := compilePolicy(*opts.Security, opts.Table)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", opts.Name, err)
	}
	s := &Server{
		opts:     opts,
		log:      log,
		table:    opts.Table,
		start:    time.Now(),
		conns:    map[*conn]struct{}{},
		bans:     guard.NewBans(opts.Security.Bans, opts.Now),
		perAddr:  guard.NewAddrCounter(opts.Security.PerAddress),
		verifier: opts.Verifier,
		events:   opts.Events,
		aclLog:   acl.NewLog(0, opts.Now),
		now:      opts.Now,
		peerOf:   opts.peerOf,
		quit:     make(chan struct{}),
		stepUps:  newStepUpGuard(),
		counts:   map[monitor.Type]int64{},
		stats:    newStats(opts.Table, !opts.Monitoring.Off),
		slow:     slowlog.New(opts.Monitoring.SlowlogMaxLen, opts.Monitoring.SlowlogSlowerThan),
		keys:     newKeyStats(opts.Monitoring),
		metrics:  newMetricDescs(opts.Name),
	}
	if s.peerOf == nil {
		s.peerOf = func(nc net.Conn) (netip.Addr, guard.Class) { return guard.Peer(nc.RemoteAddr()) }
	}
	s.pol.Store(pol)
	lo := opts.Security.Lockout
	lo.AccountExists = func(name string) bool { return s.pol.Load().accounts[name] != nil }
	s.lockout = auth.NewLockout(lo, opts.Now)
	s.eng = engine.New(engine.Options{Databases: opts.Databases, Logger: log, Table: opts.Table, Memory: opts.Memory})
	s.handlers = make([]connHandler, s.table.Len())
	handlers := s.connCommands()
	storeOpts := opts
	if opts.Backend.Kind != "" && opts.Backend.Kind != BackendEmbedded {
		handlers = s.gatewayCommands()
		storeOpts.Persistence.Enabled = false // the backend keeps the data
	}
	for name, h := range handlers {
		spec := s.lookupName(name)
		if spec == nil {
			panic(fmt.Sprintf("server: handler for %q has no entry in the command table", name))
		}
		s.handlers[spec.ID] = h
	}
	if err := s.openStore(storeOpts); err != nil {
		s.eng.Close()
		return nil, fmt.Errorf("instance %s: %w", opts.Name, err)
	}
	s.openEventFile(opts)
	if err := s.openBackend(opts); err != nil {
		s.eng.Close()
		s.closeEventFile(context.Background())
		_ = s.closeStore()
		return nil, fmt.Errorf("instance %s: %w", opts.Name, err)
	}
	return s, nil
}

// lookupName finds a spec by its full name ("client|list").
func (s *Server) lookupName(name string) *command.Spec {
	parent, sub, isSub := strings.Cut(name, "|")
	spec := s.table.Lookup([]byte(parent))
	if spec != nil && isSub {
		spec = s.table.LookupSub(spec, []byte(sub))
	}
	return spec
}

// Name reports the instance name.
func (s *Server) Name() string { return s.opts.Name }

// Start opens every listener and starts accepting. On error no listener is
// left open.
func (s *Server) Start() error {
	type lis struct {
		l   net.Listener
		tls bool
	}
	var all []lis
	open := func(addrs []string, tls bool) error {
		for _, addr := range addrs {
			l, err := listen(addr)
			if err != nil {
				for _, o := range all {
					o.l.Close()
				}
				return fmt.Errorf("instance %s: listen %s: %w", s.opts.Name, addr, err)
			}
			all = append(all, lis{l, tls})
		}
		return nil
	}
	sec := s.opts.Security
	if err := open(s.opts.Listen, false); err != nil {
		return err
	}
	if len(sec.TLSListen) > 0 && sec.TLS == nil {
		return fmt.Errorf("instance %s: TLS listeners without a certificate", s.opts.Name)
	}
	if err := open(sec.TLSListen, true); err != nil {
		return err
	}
	s.mu.Lock()
	for _, o := range all {
		s.listeners = append(s.listeners, o.l)
	}
	s.mu.Unlock()
	for _, o := range all {
		s.log.Info("listening", "addr", o.l.Addr().String(), "tls", o.tls)
		s.wg.Add(1)
		go s.acceptLoop(o.l, o.tls)
	}
	s.wg.Add(1)
	go s.janitor()
	return nil
}

// sweepInterval is how often ended locks are looked for, so that their
// unlock events are recorded even when no one tries again.
const sweepInterval = 10 * time.Second

// janitor records the locks that ended until the instance shuts down.
func (s *Server) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	rw := time.NewTicker(time.Second)
	defer rw.Stop()
	rt := time.NewTicker(sampleInterval)
	defer rt.Stop()
	for {
		select {
		case <-rt.C:
			s.sampleRates()
		case <-t.C:
			s.lockEvents(s.lockout.Sweep())
		case <-rw.C:
			s.maybeRewrite()
		case <-s.quit:
			return
		}
	}
}

func listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path) // a stale socket from an earlier run
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(path, 0o700); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	}
	return net.Listen("tcp", addr)
}

// Addrs reports the addresses the instance listens on (with the real port
// when ":0" was asked for).
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.listeners {
		out = append(out, l.Addr().String())
	}
	return out
}

func (s *Server) acceptLoop(l net.Listener, useTLS bool) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does instead of spinning.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.connectionsReceived.Add(1)
		peer, class, ok := s.admit(nc)
		if !ok {
			continue
		}
		raw := nc
		if useTLS {
			nc = tls.Server(nc, s.opts.Security.TLS.TLS())
		}
		c := newConn(s, nc, raw, peer, class)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.releaseAddr()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// removeConn unregisters a connection that has ended, then closes it.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	c.flushStats()
	s.closed.add(&c.counters)
	s.mu.Unlock()
	c.releaseAddr()
	c.closeTx()
	c.closePubsub()
	c.gwClose()
	c.close()
	s.wg.Done()
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		l.Close()
	}
}

// Shutdown stops accepting, lets every connection finish the command it
// is running and flush its replies, and closes them. Connections still
// open when ctx ends are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		close(s.quit)
	}
	s.closing = true
	for _, l := range s.listeners {
		l.Close()
	}
	writeBy, _ := ctx.Deadline()
	for c := range s.conns {
		c.stopReading(writeBy)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		if s.gw != nil {
			// Connections waiting for a backend that does not answer
			// get their errors now.
			s.gw.Close()
		}
		if s.cl != nil {
			s.cl.Close()
		}
		<-done
		err = ctx.Err()
	}
	s.eng.Close()
	s.closeBackend(ctx)
	s.closeEventFile(ctx)
	if serr := s.closeStore(); serr != nil {
		s.log.Error("closing the data directory", "instance", s.opts.Name, "err", serr)
		if err == nil {
			err = serr
		}
	}
	return err
}

// connByID finds a connection by its client id; nil if there is none.
func (s *Server) connByID(id int64) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.id == id {
			return c
		}
	}
	return nil
}

// clientCount reports the connected clients.
func (s *Server) clientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// SetMemory changes the instance's memory limit and policy while it runs
// (SIGHUP, console).
func (s *Server) SetMemory(o engine.MemoryOptions) {
	s.eng.Lock()
	s.eng.SetMemory(o)
	s.eng.Unlock()
}
