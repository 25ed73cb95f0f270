package slowlog

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// TestSameAsRedis sends the same commands to a theirs redis-server with
// slowlog-log-slower-than 0 and to a Log, and compares the arguments, address
// and name each one keeps. It fails whenever our truncation differs.
func TestSameAsRedis(t *testing.T) {
	r := testutil.StartRedis(t, "--slowlog-log-slower-than", "0", "--slowlog-max-len", "16")
	c := dialRESP(t, r.Addr)
	c.do(t, "CLIENT", "SETNAME", "slowlog-test")

	long := strings.Repeat("x", 300)
	with := func(args []string, i int, s string) []string {
		args = slices.Clone(args)
		args[i] = s
		return args
	}
	tests := []struct {
		name string
		args []string
	}{
		{"short", []string{"RPUSH", "k", "a", "b"}},
		{"empty value", []string{"RPUSH", "k", ""}},
		{"binary value", []string{"RPUSH", "k", "\x00\xff\r\n$3"}},
		{"128 bytes", []string{"RPUSH", "k", strings.Repeat("a", 128)}},
		{"129 bytes", []string{"RPUSH", "k", strings.Repeat("a", 129)}},
		{"300 bytes", []string{"RPUSH", "k", long}},
		{"300-byte key", []string{"RPUSH", long, "v"}},
		{"32 arguments", numbered(32)},
		{"33 arguments", numbered(33)},
		{"40 arguments with a 300-byte one", with(numbered(40), 2, long)},
		{"40 arguments, the 32nd long", with(numbered(40), 31, long)},
		{"32 arguments, the 32nd long", with(numbered(32), 31, long)},
		{"1000 arguments", numbered(1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.do(t, "DEL", "k")
			c.do(t, "SLOWLOG", "RESET")
			before := time.Now().Unix()
			c.do(t, tt.args...)
			// SLOWLOG GET 1 returns the command just sent: the GET itself
			// is logged only after it replies.
			reply, ok := c.do(t, "SLOWLOG", "GET", "1").([]any)
			if !ok || len(reply) != 1 {
				t.Fatalf("SLOWLOG GET 1: %#v", reply)
			}
			theirs := parseEntry(t, reply[0])

			l := New(DefaultMaxLen, 0)
			l.Add(0, argv(tt.args...), c.local, "slowlog-test", time.Now())
			ours := l.Get(1)[0]
			if !slices.Equal(ours.Args, theirs.Args) {
				t.Errorf("args differ\n ours %q\nredis %q", ours.Args, theirs.Args)
			}
			if ours.Addr != theirs.Addr || ours.Name != theirs.Name {
				t.Errorf("client: ours %q %q, redis %q %q", ours.Addr, ours.Name, theirs.Addr, theirs.Name)
			}
			if ts := theirs.Time.Unix(); ts < before-1 || ts > time.Now().Unix()+1 {
				t.Errorf("redis time %d not around %d", ts, before)
			}
		})
	}
}

// parseEntry reads one entry of a SLOWLOG GET reply: id, time, duration,
// arguments, address, name.
func parseEntry(t *testing.T, v any) Entry {
	t.Helper()
	f, ok := v.([]any)
	if !ok || len(f) != 6 {
		t.Fatalf("entry %#v", v)
	}
	id, _ := f[0].(int64)
	ts, _ := f[1].(int64)
	us, _ := f[2].(int64)
	e := Entry{ID: id, Time: time.Unix(ts, 0), Duration: time.Duration(us) * time.Microsecond}
	for _, a := range f[3].([]any) {
		e.Args = append(e.Args, a.(string))
	}
	e.Addr, _ = f[4].(string)
	e.Name, _ = f[5].(string)
	return e
}

// respConn is a minimal RESP2 client: commands as arrays of bulk strings,
// replies as string, int64, []any, or an error value.
type respConn struct {
	c     net.Conn
	r     *bufio.Reader
	local string
}

func dialRESP(t *testing.T, addr string) *respConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &respConn{c: c, r: bufio.NewReader(c), local: c.LocalAddr().String()}
}

func (c *respConn) do(t *testing.T, args ...string) any {
	t.Helper()
	_ = c.c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	v, err := c.read()
	if err != nil {
		t.Fatalf("%.40q: %v", args, err)
	}
	if e, ok := v.(error); ok {
		t.Fatalf("%.40q: %v", args, e)
	}
	return v
}

func (c *respConn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("bad line %q", line)
	}
	kind, rest := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return fmt.Errorf("%s", rest), nil
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, max(n, 0))
		for i := 0; i < n; i++ {
			v, err := c.read()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}
