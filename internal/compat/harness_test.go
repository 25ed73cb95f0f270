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
	"strconv"
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
	s, err := server.New(server.Options{Name: "compat", Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
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

// subjectEnv chooses the Redoubt instance the differential tests compare
// with redis-server: unset or "embedded", the embedded engine; "gateway",
// Redoubt in front of a second, fresh redis-server (gateway_test.go).
const subjectEnv = "COMPAT_TARGET"

// startSubject starts the Redoubt instance subjectEnv chooses and
// returns its address.
func startSubject(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv(subjectEnv); v {
	case "", "embedded":
		return startRedoubt(t)
	case "gateway":
		return startGatewayRedoubt(t)
	default:
		t.Fatalf("%s=%q: want embedded or gateway", subjectEnv, v)
		return ""
	}
}

// newPair starts a real redis-server and a Redoubt instance and connects
// to both.
func newPair(t testing.TB) *pair {
	t.Helper()
	r := testutil.StartRedis(t)
	addr := startSubject(t)
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

// cmd splits a command line on spaces; arguments with spaces or binary
// bytes are written as []string literals instead.
func cmd(line string) []string { return strings.Fields(line) }

// helloBoth switches both connections to protocol 3. The HELLO replies
// differ (server name, version, id) and are not compared.
func (p *pair) helloBoth() {
	p.t.Helper()
	for _, c := range []*rawConn{p.oracle, p.us} {
		if reply := c.do("HELLO", "3"); reply[0] != '%' {
			p.t.Fatalf("%s: HELLO 3: %q", c.name, reply)
		}
	}
}

// eachProtocol runs body in a subtest for RESP2 and one for RESP3, each on
// a fresh pair switched to that protocol.
func eachProtocol(t *testing.T, body func(t *testing.T, p *pair, proto int)) {
	t.Helper()
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			p := newPair(t)
			if proto == 3 {
				p.helloBoth()
			}
			body(t, p, proto)
		})
	}
}

// checkAll checks hand-written cases in order.
func (p *pair) checkAll(cases [][]string) {
	p.t.Helper()
	for _, c := range cases {
		p.check(c...)
	}
}

// randomSequence sends a seeded random sequence of n commands (nShort with
// -short) to a fresh pair under RESP2 and RESP3, up to the first failure.
// start prepares the pair and returns the function that sends one command;
// finish, when not nil, runs the final checks.
func randomSequence(t *testing.T, n, nShort int, start func(p *pair, seed uint64, proto int) (step func()), finish func(p *pair)) {
	t.Helper()
	if testing.Short() {
		n = nShort
	}
	s := seed(t)
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		step := start(p, s, proto)
		for i := 0; i < n && !t.Failed(); i++ {
			step()
		}
		if finish != nil {
			finish(p)
		}
	})
}

// decodeReply decodes one raw reply.
func decodeReply(t testing.TB, raw []byte) resp.Value {
	t.Helper()
	v, err := resp.NewReader(bytes.NewReader(raw), resp.DefaultLimits()).ReadValue()
	if err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return v
}

// scanReply splits a SCAN-style reply into its cursor and elements; ok is
// false for any other reply (an error).
func scanReply(t testing.TB, raw []byte) (cursor string, elems []string, ok bool) {
	t.Helper()
	v := decodeReply(t, raw)
	if v.Type != resp.TypeArray || len(v.Elems) != 2 {
		return "", nil, false
	}
	for _, e := range v.Elems[1].Elems {
		elems = append(elems, string(e.Str))
	}
	return string(v.Elems[0].Str), elems, true
}

// checkScanSmall compares a SCAN or HSCAN that is expected to finish in one
// call (cursor 0 on both servers) as a set of elements (field-value pairs
// for pairs-style replies are compared as the sorted list of elements,
// which is enough since fields are unique). Errors must be identical.
func (p *pair) checkScanSmall(args ...string) {
	p.t.Helper()
	want, got := p.oracle.do(args...), p.us.do(args...)
	wc, we, wok := scanReply(p.t, want)
	gc, ge, gok := scanReply(p.t, got)
	if !wok || !gok {
		if !bytes.Equal(want, got) {
			p.t.Errorf("%s\n redis-server: %q\n redoubt:      %q", fmtCmd(args), want, got)
		}
		return
	}
	if wc != "0" || gc != "0" {
		p.t.Errorf("%s: not finished in one call: redis-server cursor %s, redoubt cursor %s", fmtCmd(args), wc, gc)
		return
	}
	slices.Sort(we)
	slices.Sort(ge)
	if !slices.Equal(we, ge) {
		p.t.Errorf("%s (as a set)\n redis-server: %q\n redoubt:      %q", fmtCmd(args), we, ge)
	}
}

// scanAll runs a whole SCAN-style iteration on c: args holds the command
// with "0" at the cursor index ci. Between calls it runs between(i), which
// may change the collection. It returns how often each element (or field,
// with step 2) came back.
func scanAll(t testing.TB, c *rawConn, args []string, ci, step int, between func(call int)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	args = slices.Clone(args)
	args[ci] = "0"
	for call := 0; ; call++ {
		cursor, elems, ok := scanReply(t, c.do(args...))
		if !ok {
			t.Fatalf("%s: %s did not answer a scan", c.name, fmtCmd(args))
		}
		for i := 0; i < len(elems); i += step {
			seen[elems[i]]++
		}
		if cursor == "0" {
			return seen
		}
		if call > 1_000_000 {
			t.Fatalf("%s: %s never finished", c.name, fmtCmd(args))
		}
		args[ci] = cursor
		if between != nil {
			between(call)
		}
	}
}

// sameKeys reports whether two multisets have the same elements.
func sameKeys(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if b[k] == 0 {
			return false
		}
	}
	return true
}

// checkHash compares a reply whose order follows the hash's layout: exact
// for a listpack, as a set for a hashtable (asked of the oracle first).
func (p *pair) checkHash(key string, pairs bool, args ...string) {
	p.t.Helper()
	if string(p.oracle.do("OBJECT", "ENCODING", key)) == "$9\r\nhashtable\r\n" {
		p.checkUnordered(pairs, args...)
		return
	}
	p.check(args...)
}
