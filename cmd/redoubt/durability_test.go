package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// durInstance is the real binary serving one instance on a data
// directory; it can be started, killed and started again on the same
// directory and address.
type durInstance struct {
	t    *testing.T
	bin  string
	cfg  string
	addr string
	data string
	wd   string   // working directory of the process
	env  []string // added to the process's environment

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error // exit status, once done is closed
}

// newDurInstance writes a one-instance configuration (extra appended to
// the instance) with its data directory at data; it does not start it.
func newDurInstance(t *testing.T, bin, data, extra string) *durInstance {
	t.Helper()
	dir := t.TempDir()
	in := &durInstance{
		t:    t,
		bin:  bin,
		cfg:  filepath.Join(dir, "redoubt.yaml"),
		addr: net.JoinHostPort("127.0.0.1", itoa(testutil.FreePort(t))),
		data: data,
		wd:   t.TempDir(),
	}
	body := "instances:\n  - name: default\n    listen: " + in.addr + "\n    data: " + data + "\n" + extra
	if err := os.WriteFile(in.cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if in.running() {
			_ = in.cmd.Process.Kill()
			<-in.done
		}
		if t.Failed() && in.logs != nil {
			l := in.logs.String()
			t.Logf("log of the last redoubt run (last 6000 bytes):\n%s", l[max(0, len(l)-6000):])
		}
	})
	return in
}

func (in *durInstance) running() bool {
	if in.done == nil {
		return false
	}
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// launch starts the process without waiting for it.
func (in *durInstance) launch() {
	in.t.Helper()
	if in.running() {
		in.t.Fatal("launch: already running")
	}
	cmd := exec.Command(in.bin, "--admin-listen", "127.0.0.1:0", "--config", in.cfg)
	cmd.Dir = in.wd
	cmd.Env = append(os.Environ(), in.env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	done := make(chan struct{})
	in.cmd, in.logs, in.done = cmd, logs, done
	go func() {
		err := cmd.Wait()
		in.err = err
		close(done)
	}()
}

// start launches the process and polls until it answers PING; it fails
// the test if the process exits first.
func (in *durInstance) start() {
	in.t.Helper()
	in.launch()
	deadline := time.Now().Add(60 * time.Second)
	for testutil.Ping(in.addr) != nil {
		select {
		case <-in.done:
			in.t.Fatalf("redoubt exited at start-up (%v):\n%s", in.err, in.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("redoubt did not answer PING within 60 s:\n%s", in.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refused launches the process, expects it to exit with a failure
// status without ever serving, and returns its log.
func (in *durInstance) refused() string {
	in.t.Helper()
	in.launch()
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		in.t.Fatalf("redoubt still runs 20 s after start; it should have refused:\n%s", in.logs.String())
	}
	if in.err == nil {
		in.t.Fatalf("redoubt exited with status 0; it should have refused:\n%s", in.logs.String())
	}
	return in.logs.String()
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (in *durInstance) kill() {
	in.t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		in.t.Fatal(err)
	}
	<-in.done
}

// stop ends the process with SIGTERM and expects exit status 0.
func (in *durInstance) stop() {
	in.t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		in.t.Fatal(err)
	}
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		in.t.Fatal("redoubt still runs 20 s after SIGTERM")
	}
	if in.err != nil {
		in.t.Fatalf("exit after SIGTERM: %v\n%s", in.err, in.logs.String())
	}
}

// client returns a go-redis client of database db that never retries a
// command (a retried INCR would count twice).
func (in *durInstance) client(db int) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr: in.addr, DB: db, Protocol: 2, MaxRetries: -1, PoolSize: 4,
		DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
	})
	in.t.Cleanup(func() { c.Close() })
	return c
}

// info returns the fields of an INFO section.
func durInfo(t *testing.T, c *redis.Client, section string) map[string]string {
	t.Helper()
	text, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// keyState is one key as read over the network, in a canonical form.
type keyState struct {
	typ  string
	val  string
	pttl time.Duration // < 0: no expiry
}

// dumpAll reads every key of c's database: type, canonical value, TTL.
func dumpAll(t *testing.T, c *redis.Client) map[string]keyState {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	var keys []string
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		if k := iter.Val(); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	out := make(map[string]keyState, len(keys))
	for i := 0; i < len(keys); i += 500 {
		chunk := keys[i:min(i+500, len(keys))]
		types := make([]*redis.StatusCmd, len(chunk))
		p := c.Pipeline()
		for j, k := range chunk {
			types[j] = p.Type(ctx, k)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatalf("TYPE: %v", err)
		}
		vals := make([]func() string, len(chunk))
		ttls := make([]*redis.DurationCmd, len(chunk))
		p = c.Pipeline()
		for j, k := range chunk {
			switch types[j].Val() {
			case "string":
				cmd := p.Get(ctx, k)
				vals[j] = func() string { return cmd.Val() }
			case "list":
				cmd := p.LRange(ctx, k, 0, -1)
				vals[j] = func() string { return strings.Join(cmd.Val(), "\x00") }
			case "set":
				cmd := p.SMembers(ctx, k)
				vals[j] = func() string { v := cmd.Val(); slices.Sort(v); return strings.Join(v, "\x00") }
			case "zset":
				cmd := p.ZRangeWithScores(ctx, k, 0, -1)
				vals[j] = func() string {
					var b strings.Builder
					for _, z := range cmd.Val() {
						fmt.Fprintf(&b, "%v=%v\x00", z.Member, z.Score)
					}
					return b.String()
				}
			case "hash":
				cmd := p.HGetAll(ctx, k)
				vals[j] = func() string {
					var fs []string
					for f, v := range cmd.Val() {
						fs = append(fs, f+"="+v)
					}
					slices.Sort(fs)
					return strings.Join(fs, "\x00")
				}
			case "none":
				continue // expired between SCAN and TYPE
			default:
				t.Fatalf("key %q has unexpected type %q", k, types[j].Val())
			}
			ttls[j] = p.PTTL(ctx, k)
		}
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("reading values: %v", err)
		}
		for j, k := range chunk {
			if vals[j] == nil {
				continue
			}
			ks := keyState{typ: types[j].Val(), val: vals[j](), pttl: ttls[j].Val()}
			if ks.pttl == -2 {
				continue // expired between TYPE and PTTL
			}
			out[k] = ks
		}
	}
	return out
}

// compareDatasets reports the differences between want and got: every
// key with the same type and value, and TTLs where got's is within
// [want-lost, want] (lost: the time between the two readings plus slack).
func compareDatasets(t *testing.T, what string, want, got map[string]keyState, lost time.Duration) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%q missing (was %s)", k, w.typ))
		case g.typ != w.typ || g.val != w.val:
			diffs = append(diffs, fmt.Sprintf("%q: %s %.100q, want %s %.100q", k, g.typ, g.val, w.typ, w.val))
		case (w.pttl < 0) != (g.pttl < 0):
			diffs = append(diffs, fmt.Sprintf("%q: TTL %v, want %v", k, g.pttl, w.pttl))
		case w.pttl >= 0 && (g.pttl > w.pttl+50*time.Millisecond || g.pttl < w.pttl-lost):
			diffs = append(diffs, fmt.Sprintf("%q: TTL %v, want %v (-%v)", k, g.pttl, w.pttl, lost))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: unexpected key", k))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		t.Errorf("%s: %d of %d keys differ, for example:\n  %s", what, len(diffs), len(want),
			strings.Join(diffs[:min(10, len(diffs))], "\n  "))
	}
}

// crashWorker runs one client's share of the crash test's write load and
// records what it sent and what the server acknowledged. It stops at the
// first error, so at most one command (or transaction) is in flight when
// the server dies: it may or may not have been applied.
type crashWorker struct {
	p   string // key prefix: round and worker
	db  int
	rng *rand.Rand
	c   *redis.Client

	incrSent, incrAck int64 // INCR p+cnt
	pushSent, pushAck int64 // RPUSH p+list 0, 1, 2 …
	setSent, setAck   int   // SET p+k:N vN
	txSent, txAck     int   // MULTI INCR p+mc, RPUSH p+ml N, SET p+mk:N EXEC
	member            int   // next set member
	addSent, added    map[string]bool
	popped            map[string]bool // members SPOP acknowledged
	ttlSent, ttlAck   int             // SET p+ttl:N v EX 1000
	goneSent, goneAck int             // SET p+gone:N v, then PEXPIRE 1 (acknowledged: gone for good)
	inflight          string
	err               error
}

func (w *crashWorker) acked() int {
	return int(w.incrAck+w.pushAck) + w.setAck + w.txAck + len(w.added) + len(w.popped) + w.ttlAck + w.goneAck
}

// run sends commands until one fails (the server was killed) or 60 s
// pass; acks counts every acknowledged write of every worker.
func (w *crashWorker) run(acks *atomic.Int64) {
	ctx := context.Background()
	w.addSent, w.added, w.popped = map[string]bool{}, map[string]bool{}, map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		before := w.acked()
		switch n := w.rng.IntN(100); {
		case n < 20:
			w.inflight = "incr"
			w.incrSent++
			var v int64
			if v, err = w.c.Incr(ctx, w.p+"cnt").Result(); err == nil {
				if v != w.incrSent {
					err = fmt.Errorf("INCR replied %d, sent %d", v, w.incrSent)
				}
				w.incrAck = v
			}
		case n < 40:
			w.inflight = "rpush"
			w.pushSent++
			var v int64
			if v, err = w.c.RPush(ctx, w.p+"list", w.pushSent-1).Result(); err == nil {
				w.pushAck = v
			}
		case n < 60:
			w.inflight = "set"
			w.setSent++
			i := strconv.Itoa(w.setSent - 1)
			if err = w.c.Set(ctx, w.p+"k:"+i, "v"+i, 0).Err(); err == nil {
				w.setAck = w.setSent
			}
		case n < 70:
			w.inflight = "multi"
			w.txSent++
			i := strconv.Itoa(w.txSent - 1)
			_, err = w.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, w.p+"mc")
				p.RPush(ctx, w.p+"ml", i)
				p.Set(ctx, w.p+"mk:"+i, "v"+i, 0)
				return nil
			})
			if err == nil {
				w.txAck = w.txSent
			}
		case n < 80:
			w.inflight = "sadd"
			a, b := "m"+strconv.Itoa(w.member), "m"+strconv.Itoa(w.member+1)
			w.member += 2
			w.addSent[a], w.addSent[b] = true, true
			if err = w.c.SAdd(ctx, w.p+"set", a, b).Err(); err == nil {
				w.added[a], w.added[b] = true, true
			}
		case n < 88:
			w.inflight = "spop"
			var m string
			if m, err = w.c.SPop(ctx, w.p+"set").Result(); err == nil {
				if !w.added[m] || w.popped[m] {
					err = fmt.Errorf("SPOP returned %q, which was never added or was popped before", m)
				}
				w.popped[m] = true
			} else if errors.Is(err, redis.Nil) {
				err = nil
			}
		case n < 94:
			w.inflight = "set ex"
			w.ttlSent++
			if err = w.c.Set(ctx, w.p+"ttl:"+strconv.Itoa(w.ttlSent-1), "t", 1000*time.Second).Err(); err == nil {
				w.ttlAck = w.ttlSent
			}
		default:
			w.inflight = "set+pexpire"
			w.goneSent++
			k := w.p + "gone:" + strconv.Itoa(w.goneSent-1)
			if err = w.c.Set(ctx, k, "g", 0).Err(); err == nil {
				var ok bool
				if ok, err = w.c.PExpire(ctx, k, time.Millisecond).Result(); err == nil {
					if !ok {
						err = fmt.Errorf("PEXPIRE %s found no key", k)
					}
					w.goneAck = w.goneSent
				}
			}
		}
		if err != nil {
			w.err = err
			return
		}
		w.inflight = ""
		acks.Add(int64(w.acked() - before))
	}
	w.err = errors.New("the load ran 60 s without the server being killed")
}

// check verifies, on the data read back after the restart, that every
// acknowledged write is there and nothing that was never sent.
func (w *crashWorker) check(t *testing.T, data map[string]keyState) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (in flight: %q): %s", w.p, w.inflight, fmt.Sprintf(format, args...))
	}
	intOf := func(key string) int64 {
		ks, ok := data[key]
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(ks.val, 10, 64)
		if err != nil || ks.typ != "string" {
			fail("%s is %s %q, not a counter", key, ks.typ, ks.val)
		}
		return n
	}
	listOf := func(key string) []string {
		ks, ok := data[key]
		if !ok || ks.val == "" {
			return nil
		}
		return strings.Split(ks.val, "\x00")
	}
	isSeq := func(l []string) bool {
		for i, v := range l {
			if v != strconv.Itoa(i) {
				return false
			}
		}
		return true
	}
	if v := intOf(w.p + "cnt"); v < w.incrAck || v > w.incrSent {
		fail("counter %d, acknowledged %d, sent %d", v, w.incrAck, w.incrSent)
	}
	if l := listOf(w.p + "list"); !isSeq(l) || int64(len(l)) < w.pushAck || int64(len(l)) > w.pushSent {
		fail("list %.80q: want 0, 1, 2 … in order without duplicates, at least %d and at most %d long", l, w.pushAck, w.pushSent)
	}
	// A transaction is all or nothing: its three effects agree.
	mc, ml := intOf(w.p+"mc"), listOf(w.p+"ml")
	if mc < int64(w.txAck) || mc > int64(w.txSent) || int64(len(ml)) != mc || !isSeq(ml) {
		fail("transactions: counter %d, list %.80q; acknowledged %d, sent %d", mc, ml, w.txAck, w.txSent)
	}
	var setKeys, txKeys, ttlKeys, goneKeys int
	members := map[string]bool{}
	for k, ks := range data {
		rest, ok := strings.CutPrefix(k, w.p)
		if !ok {
			continue
		}
		kind, num, _ := strings.Cut(rest, ":")
		n, _ := strconv.Atoi(num)
		switch kind {
		case "cnt", "list", "mc", "ml":
		case "k":
			setKeys++
			if n >= w.setSent || ks.val != "v"+num {
				fail("%s = %q, but %d SETs were sent", k, ks.val, w.setSent)
			}
		case "mk":
			txKeys++
			if int64(n) >= mc || ks.val != "v"+num {
				fail("%s = %q outside the %d transactions applied", k, ks.val, mc)
			}
		case "ttl":
			ttlKeys++
			if n >= w.ttlSent || ks.pttl <= 0 || ks.pttl > 1000*time.Second {
				fail("%s has TTL %v (sent %d with EX 1000)", k, ks.pttl, w.ttlSent)
			}
		case "gone":
			goneKeys++
			if n != w.goneSent-1 || w.goneAck == w.goneSent {
				fail("%s is back although its PEXPIRE 1 was acknowledged (or it was never sent)", k)
			}
		case "set":
			for _, m := range strings.Split(ks.val, "\x00") {
				members[m] = true
			}
		default:
			fail("unexpected key %s", k)
		}
	}
	if setKeys < w.setAck || txKeys != int(mc) || ttlKeys < w.ttlAck {
		fail("%d of %d acknowledged SETs, %d of %d transaction keys, %d of %d acknowledged SET EX",
			setKeys, w.setAck, txKeys, mc, ttlKeys, w.ttlAck)
	}
	lost := 0
	for m := range members {
		if w.popped[m] || !w.addSent[m] {
			fail("set member %s is there, but it was popped or never added", m)
		}
	}
	for m := range w.added {
		if !w.popped[m] && !members[m] {
			lost++
		}
	}
	if allowed := map[bool]int{true: 1, false: 0}[w.inflight == "spop"]; lost > allowed {
		fail("%d acknowledged set members are missing", lost)
	}
}

// TestCrashKillUnderLoad is the crash test of appendfsync always: several
// clients, in two databases, write (INCR, RPUSH, SET, MULTI/EXEC,
// SADD/SPOP, SET EX, PEXPIRE) and record every acknowledged write, while
// every other round BGREWRITEAOF runs again and again; the process is
// killed with SIGKILL at a random point (after a random number of
// acknowledged writes) and restarted on the same data directory; every
// acknowledged write must be there, in its database, and nothing that
// was never sent. Each round continues on the files the previous crashes
// left, and the whole dataset of the earlier rounds must survive every
// later crash unchanged.
func TestCrashKillUnderLoad(t *testing.T) {
	const (
		rounds  = 16
		workers = 4
	)
	dbs := []int{0, 2}
	bin := buildBinary(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	in := newDurInstance(t, bin, filepath.Join(t.TempDir(), "d"),
		"    appendfsync: always\n    enabled_commands: [bgrewriteaof]\n")
	in.start()
	var (
		settled      map[int]map[string]keyState // the dataset after the last restart
		settledAt    time.Time
		checked      int
		tornRestarts int
		rewrites     int
	)
	for round := range rounds {
		ws := make([]*crashWorker, workers)
		var acks atomic.Int64
		var wg sync.WaitGroup
		for i := range ws {
			ws[i] = &crashWorker{
				p:   fmt.Sprintf("r%d:w%d:", round, i),
				db:  dbs[i%len(dbs)],
				rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i))),
			}
			ws[i].c = in.client(ws[i].db)
			wg.Go(func() { ws[i].run(&acks) })
		}
		if round%2 == 1 {
			admin := in.client(0)
			wg.Go(func() {
				for {
					err := admin.Do(context.Background(), "BGREWRITEAOF").Err()
					if err != nil && !strings.Contains(err.Error(), "already in progress") {
						return // killed
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
		// The kill point: after a random number of acknowledged writes.
		target := int64(10 + rng.IntN(1500))
		deadline := time.Now().Add(20 * time.Second)
		for acks.Load() < target && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		in.kill()
		wg.Wait()
		rewrites += strings.Count(in.logs.String(), "append-only file rewritten")
		for _, w := range ws {
			var ne net.Error
			if w.err == nil || !(errors.As(w.err, &ne) || errors.Is(w.err, syscall.ECONNRESET) ||
				strings.Contains(w.err.Error(), "EOF") || strings.Contains(w.err.Error(), "connection reset") ||
				strings.Contains(w.err.Error(), "connection refused")) {
				t.Fatalf("round %d worker %s stopped on %v, not on the kill", round, w.p, w.err)
			}
		}
		in.start()
		if strings.Contains(in.logs.String(), "aof: truncated a torn write") {
			tornRestarts++
		}
		data := map[int]map[string]keyState{}
		for _, db := range dbs {
			data[db] = dumpAll(t, in.client(db))
		}
		n := 0
		for _, w := range ws {
			w.check(t, data[w.db])
			for db, keys := range data {
				for k := range keys {
					if db != w.db && strings.HasPrefix(k, w.p) {
						t.Errorf("%s is in database %d, written in %d", k, db, w.db)
					}
				}
			}
			n += w.acked()
		}
		if n < int(target) {
			t.Fatalf("round %d: only %d writes acknowledged before the kill (target %d)", round, n, target)
		}
		checked += n
		for _, db := range dbs {
			if settled == nil {
				break
			}
			cur := map[string]keyState{}
			for k, ks := range data[db] {
				if !strings.HasPrefix(k, fmt.Sprintf("r%d:", round)) {
					cur[k] = ks
				}
			}
			compareDatasets(t, fmt.Sprintf("round %d: the data of earlier rounds in db %d", round, db), settled[db], cur,
				time.Since(settledAt)+5*time.Second)
		}
		if t.Failed() {
			t.Fatalf("round %d (killed after %d acknowledged writes) lost data", round, acks.Load())
		}
		settled, settledAt = data, time.Now()
	}
	// A clean stop and start changes nothing either.
	in.stop()
	in.start()
	keys := 0
	for _, db := range dbs {
		compareDatasets(t, fmt.Sprintf("after a clean restart, db %d", db), settled[db], dumpAll(t, in.client(db)),
			time.Since(settledAt)+5*time.Second)
		keys += len(settled[db])
	}
	in.stop()
	t.Logf("%d rounds of SIGKILL under load: %d acknowledged writes checked, %d rewrites completed, "+
		"%d restarts truncated a torn tail, %d keys at the end", rounds, checked, rewrites, tornRestarts, keys)
}
