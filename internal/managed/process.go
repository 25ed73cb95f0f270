package managed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"redoubt/internal/upstream"
)

// passwordBytes is the entropy of the generated password (hex-encoded).
const passwordBytes = 32

// errStopping ends a wait because Stop was called.
var errStopping = errors.New("managed: stopping")

// Process is a running managed redis-server and its supervisor. Its
// methods are safe for concurrent use.
type Process struct {
	opts     Options // normalized
	log      *slog.Logger
	version  version
	password string
	conf     string // the configuration, with the password: never logged
	addr     string // the socket path Redoubt dials
	dirFD    int    // the directory when addr goes through /proc/self/fd; else -1

	pid      atomic.Int64
	restarts atomic.Int64

	stopping chan struct{} // closed by Stop
	done     chan struct{} // closed when the supervisor has ended

	mu       sync.Mutex
	stopped  bool        // stopping is closed
	cur      *os.Process // the running child; nil between runs
	finished bool        // Stop has cleaned up
	stopErr  error
}

// Start starts redis-server in opts.Dir and returns once it answers AUTH
// and PING on its socket, or fails with the server's last lines of output
// when it exits first or does not answer within opts.StartTimeout. From
// then on a supervisor restarts the server whenever it dies, until Stop.
func Start(opts Options) (*Process, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	v, err := probeVersion(o.Binary, o.StartTimeout)
	if err != nil {
		return nil, err
	}
	if err := removeStaleSocket(o.Dir); err != nil {
		return nil, err
	}
	addr, fd, err := socketAddr(o.Dir)
	if err != nil {
		return nil, err
	}
	var pw [passwordBytes]byte
	_, _ = rand.Read(pw[:]) // never fails (crypto/rand documents it)
	p := &Process{
		opts:     o,
		log:      o.Logger,
		version:  v,
		password: hex.EncodeToString(pw[:]),
		addr:     addr,
		dirFD:    fd,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	p.conf = config(o, v, p.password)
	first := make(chan error, 1)
	go p.supervise(first)
	if err := <-first; err != nil {
		<-p.done
		_ = removeStaleSocket(o.Dir) // a server killed after it bound
		p.closeDir()
		return nil, err
	}
	p.log.Info("managed redis-server ready", "pid", p.Pid(), "version", v.String(), "socket", addr)
	return p, nil
}

// Target is how to reach the server: its socket and its password. When
// the path through the directory is too long for a socket, Addr is
// /proc/self/fd/N/redis.sock, valid in this process until Stop.
func (p *Process) Target() upstream.Target {
	return upstream.Target{Network: "unix", Addr: p.addr, Password: p.password}
}

// Pid is the server's process id, 0 while it is not running.
func (p *Process) Pid() int { return int(p.pid.Load()) }

// Restarts counts the times the supervisor started the server again.
func (p *Process) Restarts() int64 { return p.restarts.Load() }

// Version is the release of redis-server, such as "7.0.15".
func (p *Process) Version() string { return p.version.String() }

// Stop ends the supervisor and the server: SIGTERM, then SIGKILL when ctx
// ends first (Stop then says so in its error). It removes the socket and
// releases the directory. Calling it again returns the first result.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.stopping)
		if p.cur != nil {
			_ = p.cur.Signal(syscall.SIGTERM)
		}
	}
	p.mu.Unlock()
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		p.mu.Lock()
		if p.cur != nil && p.cur.Kill() == nil {
			err = fmt.Errorf("managed: redis-server did not stop in time and was killed: %w", ctx.Err())
		}
		p.mu.Unlock()
		<-p.done // the kill cannot be refused
	}
	return p.finish(err)
}

// finish cleans up after the supervisor has ended, once.
func (p *Process) finish(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return p.stopErr
	}
	p.finished = true
	p.stopErr = err
	// A server killed with SIGKILL leaves its socket behind.
	if rmErr := removeStaleSocket(p.opts.Dir); rmErr != nil {
		p.log.Warn("managed redis-server socket left behind", "err", rmErr)
	}
	p.closeDir()
	if err == nil {
		p.log.Info("managed redis-server stopped")
	}
	return err
}

func (p *Process) closeDir() {
	if p.dirFD >= 0 {
		_ = closeFD(p.dirFD)
		p.dirFD = -1
	}
}
