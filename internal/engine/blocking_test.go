package engine

import (
	"testing"
	"time"

	"redoubt/internal/resp"
)

// blockEnv is an engine with several clients, run under the lock by the
// test itself, and a clock the test moves.
type blockEnv struct {
	*testEnv
	cs []*Client
}

func newBlockEnv(t *testing.T, n int) *blockEnv {
	env := &blockEnv{testEnv: newEnv(t)}
	for i := 0; i < n; i++ {
		env.cs = append(env.cs, env.e.NewClient(resp.NewWriter(nil)))
	}
	return env
}

// on runs a command line for client i and returns what it wrote.
func (env *blockEnv) on(i int, line string) string {
	env.t.Helper()
	env.e.Lock()
	defer env.e.Unlock()
	c := env.cs[i]
	c.W.Reset()
	return execArgs(env.t, env.e, c, fields(line))
}

// finish returns client i's answer to its blocking command, or "blocked".
func (env *blockEnv) finish(i int) string {
	env.e.Lock()
	defer env.e.Unlock()
	c := env.cs[i]
	c.W.Reset()
	if !c.FinishBlock() {
		return "blocked"
	}
	return string(c.W.Bytes())
}

func TestBlockFIFO(t *testing.T) {
	env := newBlockEnv(t, 4)
	woken := make([]int, 4)
	for i, c := range env.cs {
		c.SetUnblockHook(func() { woken[i]++ })
	}
	for i := 0; i < 3; i++ {
		if got := env.on(i, "BLPOP q other 0"); got != "" {
			t.Fatalf("client %d wrote %q while blocking", i, got)
		}
	}
	if n := env.e.BlockedClients(); n != 3 {
		t.Fatalf("BlockedClients %d", n)
	}
	env.on(3, "RPUSH q a b")
	for i, want := range []string{"*2\r\n$1\r\nq\r\n$1\r\na\r\n", "*2\r\n$1\r\nq\r\n$1\r\nb\r\n", "blocked"} {
		if got := env.finish(i); got != want {
			t.Errorf("client %d: %q, want %q", i, got, want)
		}
	}
	if woken[0] != 1 || woken[1] != 1 || woken[2] != 0 {
		t.Errorf("hooks: %v", woken)
	}
	if n := env.e.BlockedClients(); n != 1 {
		t.Fatalf("BlockedClients %d", n)
	}
	env.on(3, "RPUSH other c")
	if got := env.finish(2); got != "*2\r\n$5\r\nother\r\n$1\r\nc\r\n" {
		t.Errorf("client 2 on its second key: %q", got)
	}
	env.e.Lock()
	defer env.e.Unlock()
	if len(env.e.blocking.waiting) != 0 || env.e.BlockedClients() != 0 {
		t.Fatalf("registry not empty: %v", env.e.blocking.waiting)
	}
}

// TestBlockReblockKeepsPlace: a list whose time has passed is still in
// the dict when its key is served; the command run again finds nothing,
// blocks again and keeps its place.
func TestBlockReblockKeepsPlace(t *testing.T) {
	env := newBlockEnv(t, 3)
	env.on(0, "BLPOP k 0")
	env.on(1, "BLPOP k 0")
	env.e.Lock()
	c := env.cs[2]
	c.BeginExec()
	execArgs(t, env.e, c, fields("RPUSH k x"))
	execArgs(t, env.e, c, fields("PEXPIRE k 10"))
	env.now = env.now.Add(time.Second)
	c.EndExec()
	env.e.Unlock()
	if env.finish(0) != "blocked" || env.finish(1) != "blocked" {
		t.Fatal("served from an expired list")
	}
	env.on(2, "RPUSH k y")
	if got := env.finish(0); got != "*2\r\n$1\r\nk\r\n$1\r\ny\r\n" {
		t.Fatalf("first client lost its place: %q", got)
	}
	if env.finish(1) != "blocked" {
		t.Fatal("second client served")
	}
}

// TestBlockServedAfterExec: inside EXEC nothing blocks and nothing is
// served until the end.
func TestBlockServedAfterExec(t *testing.T) {
	env := newBlockEnv(t, 2)
	env.on(0, "BLPOP k 0")
	env.e.Lock()
	c := env.cs[1]
	c.BeginExec()
	if got := execArgs(t, env.e, c, fields("RPUSH k x")); got != ":1\r\n" {
		t.Fatal(got)
	}
	if !env.cs[0].Blocked() {
		t.Fatal("served inside EXEC")
	}
	if got := execArgs(t, env.e, c, fields("BLPOP nokey 0")); got != "*-1\r\n" {
		t.Fatalf("BLPOP inside EXEC: %q", got)
	}
	c.EndExec()
	env.e.Unlock()
	if got := env.finish(0); got != "*2\r\n$1\r\nk\r\n$1\r\nx\r\n" {
		t.Fatalf("after EXEC: %q", got)
	}
}

func TestBlockUnblock(t *testing.T) {
	env := newBlockEnv(t, 1)
	hooks := 0
	env.cs[0].SetUnblockHook(func() { hooks++ })
	for _, tc := range []struct {
		cmd  string
		why  UnblockReason
		want string
	}{
		{"BLPOP k 0", UnblockTimeout, "*-1\r\n"},
		{"BRPOPLPUSH k d 0", UnblockTimeout, "*-1\r\n"}, // Redis 7.0 answers a timeout so
		{"BLMOVE k d LEFT LEFT 0", UnblockError, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"},
		{"BLPOP k 0", UnblockDrop, ""},
	} {
		env.on(0, tc.cmd)
		env.e.Lock()
		if !env.cs[0].Unblock(tc.why) || env.cs[0].Unblock(tc.why) {
			t.Errorf("%s: Unblock", tc.cmd)
		}
		env.e.Unlock()
		if got := env.finish(0); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, got, tc.want)
		}
	}
	if hooks != 3 {
		t.Errorf("hooks called %d times, want 3 (not on drop)", hooks)
	}
	if n := env.e.BlockedClients(); n != 0 {
		t.Fatalf("BlockedClients %d", n)
	}
}

func TestBlockSwapDB(t *testing.T) {
	env := newBlockEnv(t, 2)
	env.on(0, "BLPOP k 0")
	env.on(1, "SELECT 1")
	env.on(1, "RPUSH k v")
	env.on(1, "SWAPDB 0 1")
	if got := env.finish(0); got != "*2\r\n$1\r\nk\r\n$1\r\nv\r\n" {
		t.Fatalf("after SWAPDB: %q", got)
	}
}

func TestParseBlockTimeout(t *testing.T) {
	env := newEnv(t)
	for _, tc := range []struct {
		arg  string
		want time.Duration
		err  string
	}{
		{"0", 0, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{"0.0009", time.Millisecond, ""}, // positive under 1 ms: at once, not forever
		{"-0.0009", 0, ""},               // tiny negative: truncated to 0, forever
		{".25", 250 * time.Millisecond, ""},
		{"-0", 0, ""},
		{"-1", 0, "-ERR timeout is negative\r\n"},
		{"1e300", 0, "-ERR timeout is negative\r\n"},
		{"inf", 0, "-ERR timeout is negative\r\n"},
		{"9223372036854775", maxBlockTimeout, ""},
		{"9223372036854775.807", maxBlockTimeout, ""},
		{"9223372036854775.808", 0, "-ERR timeout is negative\r\n"},
		{"1e12", maxBlockTimeout, ""},
		{"abc", 0, "-ERR timeout is not a float or out of range\r\n"},
		{"nan", 0, "-ERR timeout is not a float or out of range\r\n"},
	} {
		env.e.Lock()
		env.c.W.Reset()
		d, ok := parseBlockTimeout(env.c, []byte(tc.arg))
		got := string(env.c.W.Bytes())
		env.e.Unlock()
		if got != tc.err || ok != (tc.err == "") || (ok && d != tc.want) {
			t.Errorf("%s: %v %v %q, want %v %q", tc.arg, d, ok, got, tc.want, tc.err)
		}
	}
}

// BenchmarkExecNoBlocked is the cost of a write when nobody is blocked
// or watching: the hooks are one length check each.
func BenchmarkExecNoBlocked(b *testing.B) {
	e, c := lockedEngine(b)
	args := fields("RPUSH k v")
	pop := fields("LPOP k")
	spec, _ := e.table.Resolve(args, e.Supports)
	popSpec, _ := e.table.Resolve(pop, e.Supports)
	b.ReportAllocs()
	for b.Loop() {
		c.W.Reset()
		e.Exec(c, spec, args)
		e.Exec(c, popSpec, pop)
	}
}
