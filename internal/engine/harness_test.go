package engine

import (
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
)

// testEnv is an engine with one client and a clock the test moves.
type testEnv struct {
	t   *testing.T
	e   *Engine
	c   *Client
	now time.Time
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	e := New(Options{})
	t.Cleanup(e.Close)
	env := &testEnv{t: t, e: e, c: e.NewClient(resp.NewWriter(nil)), now: time.UnixMilli(1_700_000_000_000)}
	e.Lock()
	e.now = func() time.Time { return env.now } // read under the lock only
	e.refreshClock()
	e.Unlock()
	return env
}

// run runs one command and returns its raw reply.
func (env *testEnv) run(args ...string) string {
	env.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	env.e.Lock()
	defer env.e.Unlock()
	env.c.W.Reset()
	return execArgs(env.t, env.e, env.c, bs)
}

// want runs a command line (split on spaces) and checks its reply.
func (env *testEnv) want(line, reply string) {
	env.t.Helper()
	if got := env.run(strings.Fields(line)...); got != reply {
		env.t.Errorf("%s: got %q, want %q", line, got, reply)
	}
}

// advance moves the engine clock.
func (env *testEnv) advance(d time.Duration) {
	env.e.Lock()
	env.now = env.now.Add(d)
	env.e.refreshClock()
	env.e.Unlock()
}

// value returns the stored value of key without expiring it, or nil.
func (env *testEnv) value(key string) *Value {
	env.e.Lock()
	defer env.e.Unlock()
	return env.c.db.keys.Get([]byte(key))
}

// stored reports whether key is in the client's database, expired or not.
func (env *testEnv) stored(key string) bool { return env.value(key) != nil }

// ttl returns the stored expiry of key in ms from now, or -1.
func (env *testEnv) ttl(key string) int64 {
	env.e.Lock()
	defer env.e.Unlock()
	at := env.c.db.expireAt([]byte(key))
	if at < 0 {
		return -1
	}
	return at - env.now.UnixMilli()
}

// scan decodes a SCAN-style reply into its cursor and elements.
func (env *testEnv) scan(args ...string) (string, []string) {
	env.t.Helper()
	raw := env.run(args...)
	v, err := resp.NewReader(strings.NewReader(raw), resp.DefaultLimits()).ReadValue()
	if err != nil || len(v.Elems) != 2 {
		env.t.Fatalf("%q: reply %q", args, raw)
	}
	var elems []string
	for _, e := range v.Elems[1].Elems {
		elems = append(elems, string(e.Str))
	}
	return string(v.Elems[0].Str), elems
}

// fields splits a command line on spaces into arguments.
func fields(line string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	return args
}

// execArgs resolves args in the engine's command table, runs them on c and
// returns the reply they added to c's buffer. The caller holds the lock.
func execArgs(t testing.TB, e *Engine, c *Client, args [][]byte) string {
	t.Helper()
	spec, errReply := e.table.Resolve(args, e.Supports)
	if spec == nil {
		t.Fatalf("%q: %s", args, errReply)
	}
	mark := c.W.Buffered()
	e.Exec(c, spec, args)
	return string(c.W.Bytes()[mark:])
}

// lockedEngine returns a new engine and a client on it, for tests and
// benchmarks that call handlers directly: the engine stays locked until
// tb ends.
func lockedEngine(tb testing.TB) (*Engine, *Client) {
	e := New(Options{})
	tb.Cleanup(e.Close)
	c := e.NewClient(resp.NewWriter(nil))
	e.Lock()
	tb.Cleanup(e.Unlock) // before Close: cleanups run last first
	return e, c
}
