package acl

import (
	"net"
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
)

// reply is one decoded reply of the test client, copied out of the reader.
type reply struct {
	typ   byte
	str   string
	elems []reply
}

func (r reply) isErr() bool { return r.typ == resp.TypeError || r.typ == resp.TypeBlobError }

func copyValue(v resp.Value) reply {
	r := reply{typ: v.Type, str: string(v.Str)}
	for _, e := range v.Elems {
		r.elems = append(r.elems, copyValue(e))
	}
	return r
}

// client is a minimal pipelining RESP client for the oracle tests.
type client struct {
	t    testing.TB
	conn net.Conn
	rd   *resp.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, rd: resp.NewReader(conn, resp.DefaultLimits())}
}

// pipeline sends every command and returns the replies in order.
func (c *client) pipeline(cmds [][][]byte) []reply {
	c.t.Helper()
	out := make([]reply, 0, len(cmds))
	const chunk = 512
	for len(cmds) > 0 {
		n := min(chunk, len(cmds))
		var buf []byte
		for _, args := range cmds[:n] {
			buf = resp.AppendCommand(buf, args...)
		}
		_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.conn.Write(buf); err != nil {
			c.t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			v, err := c.rd.ReadValue()
			if err != nil {
				c.t.Fatal(err)
			}
			out = append(out, copyValue(v))
		}
		cmds = cmds[n:]
	}
	return out
}

func (c *client) do(args ...string) reply {
	c.t.Helper()
	return c.pipeline([][][]byte{bargs(args...)})[0]
}

func bargs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

func showArgs(args [][]byte) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	return strings.Join(parts, " ")
}
