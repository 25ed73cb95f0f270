package managed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Restart back-off.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	resetAfter = 30 * time.Second // a server that ran this long restarts at minBackoff
)

// nextBackoff doubles d up to maxBackoff.
func nextBackoff(d time.Duration) time.Duration { return min(2*d, maxBackoff) }

// run is one server process.
type run struct {
	pid     int
	started time.Time
	out     *output
	exited  chan struct{} // closed once the process is reaped
	err     error         // its exit status; set before exited is closed
}

// supervise starts the server, reports the first start on first, and
// restarts the server whenever it dies until Stop. Every child is forked
// from this goroutine's thread, which stays locked so that Pdeathsig (tied
// to the forking thread) fires only when Redoubt dies.
func (p *Process) supervise(first chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(p.done)
	rn, err := p.launch(false)
	if err == nil {
		if err = p.waitReady(rn, p.opts.StartTimeout); err != nil {
			p.kill()
			<-rn.exited
		}
	}
	first <- err
	if err != nil {
		return
	}
	up, delay := true, minBackoff // up: what OnState last said
	for {
		if !p.wait(rn) {
			return
		}
		ran := time.Since(rn.started)
		if ran >= resetAfter {
			delay = minBackoff
		}
		p.log.Warn("managed redis-server exited", "pid", rn.pid, "status", exitStatus(rn.err),
			"ran", ran.Round(time.Millisecond), "restart_in", delay)
		if up {
			up = false
			p.state(false, fmt.Errorf("redis-server (pid %d) exited: %s", rn.pid, exitStatus(rn.err)))
		}
		if rn = p.restart(&delay); rn == nil {
			return
		}
		// No time limit: a restart may load a big data set. A server
		// that exits first is restarted again by the next round.
		if p.waitReady(rn, 0) == nil {
			up = true
			p.log.Info("managed redis-server is back", "pid", rn.pid, "restarts", p.Restarts())
			p.state(true, nil)
		}
	}
}

// restart waits out the back-off and starts the server again, as many
// times as it takes; nil: Stop was called.
func (p *Process) restart(delay *time.Duration) *run {
	for {
		if !p.pause(*delay) {
			return nil
		}
		*delay = nextBackoff(*delay)
		rn, err := p.launch(true)
		switch {
		case err == nil:
			return rn
		case errors.Is(err, errStopping):
			return nil
		}
		p.log.Warn("managed redis-server did not start", "err", err, "retry_in", *delay)
	}
}

// launch starts one server process (restart counts it as a restart).
func (p *Process) launch(restart bool) (*run, error) {
	if err := removeStaleSocket(p.opts.Dir); err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("managed: %w", err)
	}
	cmd := exec.Command(p.opts.Binary, "-") // "-": the configuration is on stdin
	cmd.Dir = p.opts.Dir
	cmd.Env = childEnv()
	cmd.Stdin = strings.NewReader(p.conf)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()

	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		r.Close()
		w.Close()
		return nil, errStopping
	}
	err = cmd.Start()
	if err == nil {
		p.cur = cmd.Process
		p.pid.Store(int64(cmd.Process.Pid))
	}
	p.mu.Unlock()
	w.Close() // the child holds its copy
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("managed: start %s: %w", p.opts.Binary, err)
	}
	if restart {
		p.restarts.Add(1)
	}
	rn := &run{
		pid:     cmd.Process.Pid,
		started: time.Now(),
		out:     newOutput(p.log, cmd.Process.Pid, p.password),
		exited:  make(chan struct{}),
	}
	go rn.out.run(r)
	go func() {
		// Stdout and Stderr are files, so Wait does not wait for the
		// output to end (a child the server forked may hold it).
		err := cmd.Wait()
		p.mu.Lock()
		p.cur = nil
		p.pid.Store(0)
		p.mu.Unlock()
		rn.err = err
		close(rn.exited)
	}()
	return rn, nil
}

// waitReady polls the socket until the server answers, exits, Stop is
// called, or timeout passes (0: no limit).
func (p *Process) waitReady(rn *run, timeout time.Duration) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		last := probe(p.addr, p.password, probeTimeout)
		if last == nil {
			return nil
		}
		select {
		case <-rn.exited:
			return fmt.Errorf("managed: redis-server (pid %d) exited before answering: %s; its output:\n%s",
				rn.pid, exitStatus(rn.err), rn.out.last(tailWait))
		case <-p.stopping:
			return errStopping
		case <-deadline:
			return fmt.Errorf("managed: redis-server (pid %d) did not answer within %v: %v; its output:\n%s",
				rn.pid, timeout, last, rn.out.last(0))
		case <-tick.C:
		}
	}
}

// wait waits for the process to exit and reports whether the supervisor
// goes on (false: Stop was called).
func (p *Process) wait(rn *run) bool {
	select {
	case <-rn.exited:
	case <-p.stopping:
		<-rn.exited // Stop signals it
		return false
	}
	select {
	case <-p.stopping:
		return false
	default:
		return true
	}
}

// pause waits d before a restart; false: Stop was called meanwhile.
func (p *Process) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stopping:
		return false
	}
}

func (p *Process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		_ = p.cur.Kill()
	}
}

func (p *Process) state(up bool, err error) {
	if p.opts.OnState != nil {
		p.opts.OnState(up, err)
	}
}

// exitStatus describes how a process ended ("exit status 1", "signal:
// killed").
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
