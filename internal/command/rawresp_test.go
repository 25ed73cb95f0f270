package command

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"testing"
	"time"

	"redoubt/internal/resp"
)

// node is one RESP reply read raw: its exact bytes and, for aggregates, its
// elements. The tests compare replies byte for byte, so they read the real
// server with this small reader instead of a client library.
type node struct {
	typ  byte
	head []byte // the first line, CRLF included
	raw  []byte // every byte of the reply
	kids []*node
	str  string // payload of scalars
}

const maxTestReply = 64 << 20

func readNode(r *bufio.Reader) (*node, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("bad line %q", line)
	}
	n := &node{typ: line[0], head: line}
	body := string(line[1 : len(line)-2])
	raw := append([]byte(nil), line...)
	switch n.typ {
	case '$', '!', '=':
		size, err := strconv.Atoi(body)
		if err != nil || size > maxTestReply {
			return nil, fmt.Errorf("bad length %q", line)
		}
		if size >= 0 {
			buf := make([]byte, size+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, err
			}
			n.str = string(buf[:size])
			raw = append(raw, buf...)
		}
	case '*', '%', '~', '>', '|':
		count, err := strconv.Atoi(body)
		if err != nil || count > maxTestReply {
			return nil, fmt.Errorf("bad count %q", line)
		}
		if n.typ == '%' || n.typ == '|' {
			count *= 2
		}
		for i := 0; i < count; i++ {
			k, err := readNode(r)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
			raw = append(raw, k.raw...)
		}
	default:
		n.str = body
	}
	n.raw = raw
	return n, nil
}

func parseReply(t testing.TB, b []byte) *node {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	n, err := readNode(r)
	if err != nil {
		t.Fatalf("parse our reply: %v\n%q", err, b)
	}
	if r.Buffered() != 0 {
		t.Fatalf("trailing bytes after our reply: %q", b)
	}
	return n
}

// rawConn is a connection to the real server that returns raw replies.
type rawConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string, proto int) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReaderSize(c, 1<<16)}
	if proto == 3 {
		if n := rc.do("HELLO", "3"); n.typ != '%' {
			t.Fatalf("HELLO 3: %q", n.raw)
		}
	}
	return rc
}

func (rc *rawConn) do(args ...string) *node {
	rc.t.Helper()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return rc.doBytes(b)
}

func (rc *rawConn) doBytes(args [][]byte) *node {
	rc.t.Helper()
	_ = rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.Write(resp.AppendCommand(nil, args...)); err != nil {
		rc.t.Fatal(err)
	}
	n, err := readNode(rc.r)
	if err != nil {
		rc.t.Fatalf("read reply to %q: %v", args, err)
	}
	return n
}

// ours runs args through Table.Command and parses the reply.
func ours(t testing.TB, tab *Table, proto int, args ...string) *node {
	t.Helper()
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return oursBytes(t, tab, proto, b)
}

func oursBytes(t testing.TB, tab *Table, proto int, args [][]byte) *node {
	t.Helper()
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	w.SetProto(proto)
	// Redis has none of Redoubt's own commands; compare without them.
	tab.Command(w, args, func(s *Spec) bool { return !s.Own() })
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return parseReply(t, out.Bytes())
}

// isInfoEntry recognises one COMMAND INFO entry: ten elements starting
// with the name and the arity.
func isInfoEntry(n *node) bool {
	return n.typ == '*' && len(n.kids) == 10 && n.kids[0].typ == '$' && n.kids[1].typ == ':'
}

// canon returns n's bytes with the parts whose order Redis takes from its
// hash tables (subcommands of a COMMAND INFO entry; with sortTop, the
// top-level elements) put in sorted order.
func canon(n *node, sortTop bool) []byte {
	if len(n.kids) == 0 {
		return n.raw
	}
	parts := make([][]byte, len(n.kids))
	for i, k := range n.kids {
		parts[i] = canon(k, false)
	}
	if isInfoEntry(n) {
		subs := n.kids[9]
		sp := make([][]byte, len(subs.kids))
		for i, k := range subs.kids {
			sp[i] = canon(k, false)
		}
		sortBytes(sp)
		parts[9] = append(append([]byte(nil), subs.head...), bytes.Join(sp, nil)...)
	}
	if sortTop {
		sortBytes(parts)
	}
	return append(append([]byte(nil), n.head...), bytes.Join(parts, nil)...)
}

func sortBytes(p [][]byte) {
	sort.Slice(p, func(i, j int) bool { return bytes.Compare(p[i], p[j]) < 0 })
}
