package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/rdb"
	"redoubt/internal/resp"
)

// recordFeed keeps what the engine fed, as a replayable log.
type recordFeed struct{ cmds [][]string }

func (f *recordFeed) RawCommand(frame []byte) {
	args, err := resp.NewReader(bytes.NewReader(frame), resp.DefaultLimits()).ReadCommand()
	if err != nil {
		panic(err)
	}
	f.Command(args)
}

func (f *recordFeed) Command(args [][]byte) {
	cmd := make([]string, len(args))
	for i, a := range args {
		cmd[i] = string(a)
	}
	f.cmds = append(f.cmds, cmd)
}

// dump renders every live key of every database, with its type, its
// contents in a canonical order and its expiry, for comparing engines.
func dump(e *Engine) []string {
	now := e.nowMs()
	var out []string
	for _, db := range e.dbs {
		db.keys.Range(func(k string, v *Value) bool {
			at := db.expireAt([]byte(k))
			if at >= 0 && at <= now {
				return true
			}
			out = append(out, render(db.id, k, exportValue(v), at))
			return true
		})
	}
	slices.Sort(out)
	return out
}

// render is one key as dump shows it.
func render(db int, key string, rv rdb.Value, at int64) string {
	var items []string
	typ := ""
	switch x := rv.(type) {
	case rdb.String:
		typ, items = "string", []string{string(x)}
	case rdb.List:
		typ = "list"
		for _, e := range x {
			items = append(items, string(e))
		}
	case rdb.Set:
		typ = "set"
		for _, e := range x {
			items = append(items, string(e))
		}
		slices.Sort(items)
	case rdb.ZSet:
		typ = "zset"
		for _, e := range x {
			items = append(items, fmt.Sprintf("%s=%v", e.Member, e.Score))
		}
	case rdb.Hash:
		typ = "hash"
		for _, f := range x {
			items = append(items, string(f.Name)+"="+string(f.Value))
		}
		slices.Sort(items)
	}
	return fmt.Sprintf("db%d %q %s ttl=%d %v", db, key, typ, at, items)
}

// propagationScript is a random mix of writes of every kind, including
// relative expiries, SPOP, blocking commands that find data, moves between
// databases and FLUSHDB.
func propagationScript(r *rand.Rand) []string {
	k := func() string { return "k" + strconv.Itoa(r.IntN(6)) }
	m := func() string { return "m" + strconv.Itoa(r.IntN(20)) }
	n := func() string { return strconv.Itoa(r.IntN(100)) }
	templates := []func() string{
		func() string { return "SET " + k() + " " + n() },
		func() string { return "SET " + k() + " v EX " + strconv.Itoa(1+r.IntN(5)) },
		func() string { return "SET " + k() + " v PX 1500 NX" },
		func() string { return "INCRBYFLOAT " + k() + " 1.5" },
		func() string { return "APPEND " + k() + " x" },
		func() string { return "EXPIRE " + k() + " " + strconv.Itoa(1+r.IntN(4)) },
		func() string { return "PEXPIRE " + k() + " 800 GT" },
		func() string { return "PERSIST " + k() },
		func() string { return "GETEX " + k() + " EX 2" },
		func() string { return "SETEX " + k() + " 3 v" },
		func() string { return "DEL " + k() },
		func() string { return "RENAME " + k() + " " + k() },
		func() string { return "COPY " + k() + " " + k() + " DB 1" },
		func() string { return "MOVE " + k() + " 2" },
		func() string { return "SELECT " + strconv.Itoa(r.IntN(3)) },
		func() string { return "LPUSH " + k() + " " + m() + " " + m() },
		func() string { return "RPOP " + k() },
		func() string { return "BLPOP " + k() + " " + k() + " 0" },
		func() string { return "BLMOVE " + k() + " " + k() + " LEFT RIGHT 0" },
		func() string { return "SADD " + k() + " " + m() + " " + m() + " " + n() },
		func() string { return "SPOP " + k() },
		func() string { return "SPOP " + k() + " 3" },
		func() string { return "SINTERSTORE " + k() + " " + k() + " " + k() },
		func() string { return "ZADD " + k() + " " + n() + " " + m() },
		func() string { return "ZINCRBY " + k() + " 2.5 " + m() },
		func() string { return "BZPOPMIN " + k() + " 0" },
		func() string { return "ZUNIONSTORE " + k() + " 2 " + k() + " " + k() },
		func() string { return "HSET " + k() + " " + m() + " " + n() },
		func() string { return "HINCRBYFLOAT " + k() + " f 0.25" },
		func() string { return "HDEL " + k() + " " + m() },
		func() string { return "SWAPDB 0 1" },
		func() string { return "FLUSHDB" },
		func() string { return "GET " + k() }, // may expire the key: a DEL is fed
		func() string { return "MULTI" },
	}
	var script []string
	for i := 0; i < 400; i++ {
		t := templates[r.IntN(len(templates))]()
		if t == "FLUSHDB" && r.IntN(4) != 0 {
			continue
		}
		script = append(script, t)
	}
	return script
}

// TestPropagationReplays runs random scripts on an engine that feeds its
// changes, with the clock moving (so keys expire lazily and actively) and
// transactions, then replays the log on a fresh engine at the same time:
// the data must be the same.
func TestPropagationReplays(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			env := newEnv(t)
			feed := &recordFeed{}
			env.e.Lock()
			env.e.SetFeed(feed)
			env.e.Unlock()
			inMulti := false
			for _, line := range propagationScript(r) {
				if line == "MULTI" {
					env.e.Lock()
					if inMulti {
						env.c.EndExec()
					} else {
						env.c.BeginExec()
					}
					env.e.Unlock()
					inMulti = !inMulti
					continue
				}
				env.run(strings.Fields(line)...)
				if r.IntN(10) == 0 {
					env.advance(time.Duration(r.IntN(1500)) * time.Millisecond)
				}
				if r.IntN(25) == 0 {
					env.e.Lock()
					env.e.activeExpireCycle(time.Second)
					env.e.Unlock()
				}
			}
			if inMulti {
				env.e.Lock()
				env.c.EndExec()
				env.e.Unlock()
			}
			// Replay at the same time on a fresh engine.
			e2 := New(Options{})
			defer e2.Close()
			e2.Lock()
			e2.now = env.e.now
			e2.refreshClock()
			c2 := e2.NewClient(resp.NewWriter(nil))
			c2.BeginExec() // a replayed command never blocks
			e2.SetLoading(true)
			for _, cmd := range feed.cmds {
				if cmd[0] == "MULTI" || cmd[0] == "EXEC" {
					continue
				}
				args := make([][]byte, len(cmd))
				for i, a := range cmd {
					args[i] = []byte(a)
				}
				c2.W.Reset()
				execArgs(t, e2, c2, args)
				if b := c2.W.Bytes(); len(b) > 0 && b[0] == '-' {
					t.Errorf("replayed %q: %s", cmd, b)
				}
			}
			e2.SetLoading(false)
			got := dump(e2)
			e2.Unlock()
			env.e.Lock()
			want := dump(env.e)
			env.e.Unlock()
			if !slices.Equal(got, want) {
				t.Fatalf("replayed data differs\n original: %v\n replayed: %v\n log: %q", want, got, feed.cmds)
			}
		})
	}
}

// TestPropagationForms checks the logged form of the commands that are
// not logged as sent.
func TestPropagationForms(t *testing.T) {
	env := newEnv(t)
	feed := &recordFeed{}
	env.e.Lock()
	env.e.SetFeed(feed)
	env.e.Unlock()
	now := env.now.UnixMilli()
	env.run("SET", "a", "1", "EX", "10")
	env.run("SET", "a", "1", "NX") // changes nothing: not logged
	env.run("SADD", "s", "x")
	env.run("SPOP", "s")
	env.run("SET", "t", "v", "PX", "100")
	env.advance(time.Second)
	env.run("GET", "t") // expired on access
	want := [][]string{
		{"SELECT", "0"},
		{"SET", "a", "1", "EX", "10"},
		{"PEXPIREAT", "a", strconv.FormatInt(now+10_000, 10)},
		{"SADD", "s", "x"},
		{"SREM", "s", "x"},
		{"SET", "t", "v", "PX", "100"},
		{"PEXPIREAT", "t", strconv.FormatInt(now+100, 10)},
		{"DEL", "t"},
	}
	if fmt.Sprint(feed.cmds) != fmt.Sprint(want) {
		t.Fatalf("fed %q\nwant %q", feed.cmds, want)
	}
}
