package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxReplyLine bounds a reply line read from the server.
const maxReplyLine = 64 << 10

// client is one RESP connection with a reusable command buffer.
type client struct {
	nc  net.Conn
	br  *bufio.Reader
	out []byte
}

// dial connects to addr, from src when it is valid. Connections are closed
// with a reset (SO_LINGER 0) so that thousands of short ones leave no
// TIME_WAIT sockets behind.
func dial(addr string, src netip.Addr, timeout time.Duration) (*client, error) {
	d := net.Dialer{Timeout: timeout}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return &client{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

func (c *client) close() { c.nc.Close() }

// do sends one command and reads its reply.
func (c *client) do(args ...string) (reply, error) {
	c.out = c.out[:0]
	c.out = append(c.out, '*')
	c.out = strconv.AppendInt(c.out, int64(len(args)), 10)
	c.out = append(c.out, "\r\n"...)
	for _, a := range args {
		c.out = append(c.out, '$')
		c.out = strconv.AppendInt(c.out, int64(len(a)), 10)
		c.out = append(c.out, "\r\n"...)
		c.out = append(c.out, a...)
		c.out = append(c.out, "\r\n"...)
	}
	if _, err := c.nc.Write(c.out); err != nil {
		return reply{}, err
	}
	return c.read()
}

// reply is a simple reply: its type byte and the rest of its first line
// (a bulk string's payload is read and dropped).
type reply struct {
	kind byte
	line string
}

func (r reply) String() string { return string(r.kind) + r.line }

func (c *client) read() (reply, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return reply{}, err
	}
	if len(line) < 3 || len(line) > maxReplyLine || line[len(line)-2] != '\r' {
		return reply{}, fmt.Errorf("bad reply line %q", line)
	}
	r := reply{kind: line[0], line: string(line[1 : len(line)-2])}
	if r.kind == '$' {
		n, err := strconv.Atoi(r.line)
		if err != nil || n > maxReplyLine {
			return reply{}, fmt.Errorf("bad bulk length %q", r.line)
		}
		if n >= 0 {
			if _, err := c.br.Discard(n + 2); err != nil {
				return reply{}, err
			}
		}
	}
	return r, nil
}

// auth sends AUTH [user] pass; an empty user sends the one-argument form.
func (c *client) auth(user, pass string) (reply, error) {
	if user == "" {
		return c.do("AUTH", pass)
	}
	return c.do("AUTH", user, pass)
}

// errNotOK is returned when AUTH does not answer +OK.
var errNotOK = errors.New("AUTH refused")

// login dials and authenticates; a nil error means +OK.
func login(addr string, src netip.Addr, user, pass string) (*client, error) {
	c, err := dial(addr, src, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if pass != "" {
		r, err := c.auth(user, pass)
		if err == nil && (r.kind != '+' || r.line != "OK") {
			err = fmt.Errorf("%w: %s", errNotOK, r)
		}
		if err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// raiseNoFile raises this process's open-file limit to at least want
// (raising the hard limit too when allowed, as root).
func raiseNoFile(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}); err == nil {
			return nil
		}
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		return fmt.Errorf("open-file limit is %d, need %d", lim.Max, want)
	}
	lim.Cur = want
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// rssKiB returns a process's resident set size (VmRSS) in KiB.
func rssKiB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime returns the user+system CPU time a process has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// srcRange returns the loopback addresses 127.0.0.from … 127.0.0.to.
func srcRange(from, to int) ([]netip.Addr, error) {
	if from < 1 || to > 254 || from > to {
		return nil, fmt.Errorf("source range 127.0.0.%d-%d: want 1 ≤ from ≤ to ≤ 254", from, to)
	}
	var out []netip.Addr
	for i := from; i <= to; i++ {
		out = append(out, netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}))
	}
	return out, nil
}

// checkLoopback refuses any target that is not a loopback address: this
// tool is for servers on this machine only.
func checkLoopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: want IP:PORT (%v)", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses are allowed", addr)
	}
	return nil
}
