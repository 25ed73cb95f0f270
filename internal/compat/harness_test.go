// Package compat holds the differential tests: the same commands go to a
// real redis-server (the oracle) and to a Redoubt instance, over real TCP,
// and the raw reply bytes must be equal.
package compat

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/server"
	"redoubt/internal/testutil"
)

// rawConn is a plain RESP connection that returns raw reply bytes.
type rawConn struct {
	t    testing.TB
	nc   net.Conn
	rd   *resp.Reader
	name string
}

func dialRaw(t testing.TB, name, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, rd: resp.NewReader(nc, resp.DefaultLimits()), name: name}
}

// do sends one command and returns the raw bytes of its reply.
func (c *rawConn) do(args ...string) []byte {
	c.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return c.doBytes(bs)
}

func (c *rawConn) doBytes(args [][]byte) []byte {
	c.t.Helper()
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(resp.AppendCommand(nil, args...)); err != nil {
		c.t.Fatalf("%s: write %q: %v", c.name, args, err)
	}
	return c.read()
}

// read returns the next raw reply.
func (c *rawConn) read() []byte {
	c.t.Helper()
	raw, err := c.rd.ReadRaw()
	if err != nil {
		c.t.Fatalf("%s: read reply: %v", c.name, err)
	}
	return bytes.Clone(raw)
}

// pair is an oracle connection and a subject connection.
type pair struct {
	t      testing.TB
	oracle *rawConn
	us     *rawConn
	// addrs of the two servers, to open more connections.
	oracleAddr, usAddr string
}

// startRedoubt starts an in-process instance on a free loopback port.
func startRedoubt(t testing.TB) string {
	t.Helper()
	s := server.New(server.Options{Name: "compat", Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir()})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s.Addrs()[0]
}

// newPair starts a real redis-server and a Redoubt instance and connects
// to both.
func newPair(t testing.TB) *pair {
	t.Helper()
	r := testutil.StartRedis(t)
	addr := startRedoubt(t)
	return &pair{
		t:          t,
		oracle:     dialRaw(t, "redis-server", r.Addr),
		us:         dialRaw(t, "redoubt", addr),
		oracleAddr: r.Addr,
		usAddr:     addr,
	}
}

// check sends a command to both and fails when the replies differ.
func (p *pair) check(args ...string) {
	p.t.Helper()
	want, got := p.oracle.do(args...), p.us.do(args...)
	if !bytes.Equal(want, got) {
		p.t.Errorf("%s\n redis-server: %q\n redoubt:      %q", fmtCmd(args), want, got)
	}
}

// checkUnordered is check for replies whose element order is unspecified
// (SMEMBERS, HGETALL of a hashtable, KEYS): the top-level elements are
// compared as sorted lists (pairs kept together when pairs is true).
func (p *pair) checkUnordered(pairs bool, args ...string) {
	p.t.Helper()
	want, got := p.oracle.do(args...), p.us.do(args...)
	if !bytes.Equal(sortReply(want, pairs), sortReply(got, pairs)) {
		p.t.Errorf("%s (unordered)\n redis-server: %q\n redoubt:      %q", fmtCmd(args), want, got)
	}
}

// sortReply sorts the elements of an aggregate reply.
func sortReply(raw []byte, pairs bool) []byte {
	rd := resp.NewReader(bytes.NewReader(raw), resp.DefaultLimits())
	v, err := rd.ReadValue()
	if err != nil || len(v.Elems) == 0 {
		return raw
	}
	var items []string
	step := 1
	if pairs {
		step = 2
	}
	w := resp.NewWriter(nil)
	for i := 0; i+step <= len(v.Elems); i += step {
		w.Reset()
		for j := 0; j < step; j++ {
			w.WriteValue(v.Elems[i+j])
		}
		items = append(items, string(w.Bytes()))
	}
	slices.Sort(items)
	return []byte(fmt.Sprintf("%c%d:%s", v.Type, len(v.Elems), strings.Join(items, "")))
}

func fmtCmd(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// seed returns the seed of a randomized test: COMPAT_SEED if set, else a
// fresh one that is logged so a failure can be replayed.
func seed(t testing.TB) uint64 {
	t.Helper()
	var s uint64
	if v := os.Getenv("COMPAT_SEED"); v != "" {
		fmt.Sscan(v, &s)
	} else {
		s = rand.Uint64()
	}
	t.Logf("seed %d (replay with COMPAT_SEED=%d)", s, s)
	return s
}
