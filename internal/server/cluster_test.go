package server

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/command"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// The cluster gateway against a real Redis Cluster: the oracle is a
// cluster-aware go-redis client talking to the nodes directly.

// startClusterGateway starts Redoubt in front of cl.
func startClusterGateway(t *testing.T, cl *testutil.Cluster, change func(*Options)) *Server {
	t.Helper()
	var seeds []upstream.Target
	for _, a := range cl.Seeds()[:2] {
		seeds = append(seeds, upstream.Target{Network: "tcp", Addr: a, Password: cl.Password})
	}
	opts := Options{Backend: Backend{Kind: BackendCluster, Seeds: seeds}}
	if change != nil {
		change(&opts)
	}
	return startServer(t, opts)
}

// gwClient is a go-redis client of Redoubt, without cluster support.
func gwClient(t *testing.T, s *Server, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: proto, MaxRetries: -1, PoolSize: 4})
	t.Cleanup(func() { c.Close() })
	return c
}

// result renders a go-redis reply and its error for comparison.
func result(v any, err error) string {
	if err != nil && err != redis.Nil {
		return "ERR " + err.Error()
	}
	return fmt.Sprintf("%v", v)
}

func TestClusterCommands(t *testing.T) {
	cl := testutil.StartCluster(t, 3, 0)
	s := startClusterGateway(t, cl, nil)
	oracle := cl.Client(t)
	ctx := context.Background()

	t.Run("same replies as the cluster", func(t *testing.T) {
		// Each command runs through Redoubt on keys "r:…" and on the
		// cluster on keys "o:…": other slots, the same replies.
		for _, proto := range []int{2, 3} {
			rc := gwClient(t, s, proto)
			oracle := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Seeds(), Password: cl.Password, Protocol: proto})
			defer oracle.Close()
			script := [][]string{
				{"SET", "K1", "v"}, {"GET", "K1"}, {"APPEND", "K1", "w"}, {"STRLEN", "K1"}, {"GETRANGE", "K1", "0", "0"},
				{"INCR", "K2"}, {"INCRBY", "K2", "41"}, {"GET", "K2"}, {"TYPE", "K2"},
				{"HSET", "K3", "f", "1", "g", "2"}, {"HGET", "K3", "g"}, {"HLEN", "K3"}, {"HINCRBY", "K3", "f", "5"},
				{"RPUSH", "K4", "a", "b", "c"}, {"LRANGE", "K4", "0", "-1"}, {"LPOP", "K4"}, {"LLEN", "K4"},
				{"SADD", "K5", "x", "y"}, {"SCARD", "K5"}, {"SISMEMBER", "K5", "y"},
				{"ZADD", "K6", "1", "a", "2", "b"}, {"ZRANGE", "K6", "0", "-1", "WITHSCORES"}, {"ZSCORE", "K6", "b"},
				{"EXPIRE", "K1", "100"}, {"TTL", "K1"}, {"PERSIST", "K1"}, {"TTL", "K1"},
				{"GET", "K404"}, {"INCR", "K3"}, {"LPUSH", "K1", "x"}, {"EXISTS", "K1"}, {"DEL", "K1"}, {"EXISTS", "K1"},
				{"ECHO", "hi"}, {"PING"},
			}
			for _, cmd := range script {
				var rArgs, oArgs []any
				for _, a := range cmd {
					if strings.HasPrefix(a, "K") {
						rArgs = append(rArgs, fmt.Sprintf("r%d:%s", proto, a))
						oArgs = append(oArgs, fmt.Sprintf("o%d:%s", proto, a))
						continue
					}
					rArgs = append(rArgs, a)
					oArgs = append(oArgs, a)
				}
				got := result(rc.Do(ctx, rArgs...).Result())
				want := result(oracle.Do(ctx, oArgs...).Result())
				if got != want {
					t.Errorf("RESP%d %v: %s through Redoubt, %s from the cluster", proto, cmd, got, want)
				}
			}
		}
	})

	t.Run("routed by slot", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		for i := range 300 {
			k := fmt.Sprintf("route:%d", i)
			if err := rc.Set(ctx, k, i, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		// Each key is on the node that owns its slot: the node itself
		// answers for it, without redirecting.
		for i := range 300 {
			k := fmt.Sprintf("route:%d", i)
			owner := cl.MasterOf(t, testutil.Slot(k))
			if got := cl.Do(t, owner.Addr, "GET", k); got != fmt.Sprint(i) {
				t.Fatalf("%s on its node %s: %q", k, owner.Addr, got)
			}
		}
		// Hash tags put keys together.
		if got := result(rc.Do(ctx, "RENAME", "{tag}a", "{tag}b").Result()); !strings.Contains(got, "no such key") {
			t.Fatalf("RENAME with a shared tag: %s", got)
		}
	})

	t.Run("multi-key commands split", func(t *testing.T) {
		rc := gwClient(t, s, 3)
		var args []any
		var keys []string
		for i := range 40 {
			k := fmt.Sprintf("split:%d", i)
			keys = append(keys, k)
			args = append(args, k, fmt.Sprintf("v%d", i))
		}
		if got := result(rc.MSet(ctx, args...).Result()); got != "OK" {
			t.Fatalf("MSET: %s", got)
		}
		// Missing keys interleaved, and a key twice.
		ask := []string{"split:3", "nope:1", "split:39", "split:0", "nope:2", "split:3"}
		got := result(rc.MGet(ctx, ask...).Result())
		var want []any
		for _, k := range ask {
			v, err := oracle.Get(ctx, k).Result()
			if err == redis.Nil {
				want = append(want, nil)
				continue
			}
			want = append(want, v)
		}
		if got != fmt.Sprint(want) {
			t.Fatalf("MGET %v: %s, want %v", ask, got, want)
		}
		if n := rc.Exists(ctx, "split:1", "split:2", "nope", "split:1").Val(); n != 3 {
			t.Fatalf("EXISTS: %d", n)
		}
		if n := rc.Touch(ctx, keys[:10]...).Val(); n != 10 {
			t.Fatalf("TOUCH: %d", n)
		}
		if n := rc.Del(ctx, keys[:20]...).Val(); n != 20 {
			t.Fatalf("DEL: %d", n)
		}
		if n := rc.Unlink(ctx, slices.Concat(keys[15:25], []string{"nope"})...).Val(); n != 5 {
			t.Fatalf("UNLINK: %d", n)
		}
		for i, k := range keys {
			n := oracle.Exists(ctx, k).Val()
			if (i < 25) != (n == 0) {
				t.Fatalf("%s exists %d after DEL/UNLINK", k, n)
			}
		}
	})

	t.Run("split commands in a pipeline", func(t *testing.T) {
		// Their replies are merged at the end of the pipeline's round
		// trip; each keeps its place among the others.
		c := dial(t, s.Addrs()[0])
		var pipe []byte
		var want []string
		for i := range 20 {
			a, b2, d := fmt.Sprintf("pp:%d:a", i), fmt.Sprintf("pp:%d:b", i), fmt.Sprintf("pp:%d:c", i)
			pipe = append(pipe, respCmd("MSET", a, "1", b2, "2", d, "3")...)
			pipe = append(pipe, respCmd("INCR", a)...)
			pipe = append(pipe, respCmd("MGET", d, "pp:none", a, b2)...)
			pipe = append(pipe, respCmd("DEL", a, "pp:none", d)...)
			pipe = append(pipe, respCmd("EXISTS", a, b2, d, b2)...)
			pipe = append(pipe, respCmd("GET", b2)...)
			want = append(want, "+OK\r\n", ":2\r\n", "*4\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n$1\r\n2\r\n", ":2\r\n", ":2\r\n", "$1\r\n2\r\n")
		}
		c.send(string(pipe))
		for i, w := range want {
			if got := c.reply(); got != w {
				t.Fatalf("reply %d: %q, want %q", i, got, w)
			}
		}
	})

	t.Run("commands across slots that cannot be split", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		oracle.Set(ctx, "xs:a", "1", 0)
		oracle.SAdd(ctx, "xs:s1", "m")
		for _, cmd := range [][]any{
			{"RENAME", "xs:a", "xs:b"}, {"SMOVE", "xs:s1", "xs:s2", "m"}, {"SUNIONSTORE", "xs:d", "xs:s1", "xs:s2"},
			{"MSETNX", "xs:n1", "1", "xs:n2", "2"}, {"LMOVE", "xs:l1", "xs:l2", "LEFT", "LEFT"}, {"BLPOP", "xs:q1", "xs:q2", "1"},
		} {
			if got := result(rc.Do(ctx, cmd...).Result()); !strings.Contains(got, "CROSSSLOT") {
				t.Errorf("%v: %s, want CROSSSLOT", cmd, got)
			}
		}
		if oracle.Get(ctx, "xs:a").Val() != "1" || oracle.Exists(ctx, "xs:b", "xs:d", "xs:n1", "xs:n2", "xs:s2").Val() != 0 {
			t.Fatal("a refused command changed data")
		}
	})

	t.Run("keyspace commands on every master", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		var want []string
		var mu sync.Mutex
		err := oracle.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			keys, err := n.Keys(ctx, "*").Result()
			mu.Lock()
			want = append(want, keys...)
			mu.Unlock()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if n := rc.DBSize(ctx).Val(); n != int64(len(want)) {
			t.Fatalf("DBSIZE %d, the masters hold %d keys", n, len(want))
		}
		keys := rc.Keys(ctx, "*").Val()
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("KEYS: %d keys, the masters hold %d", len(keys), len(want))
		}
		var scanned []string
		var cursor uint64
		for i := 0; ; i++ {
			page, next, err := rc.Scan(ctx, cursor, "", 7).Result()
			if err != nil || i > 10000 {
				t.Fatalf("SCAN: %v after %d pages", err, i)
			}
			scanned = append(scanned, page...)
			if cursor = next; cursor == 0 {
				break
			}
		}
		slices.Sort(scanned)
		if !slices.Equal(slices.Compact(scanned), want) {
			t.Fatalf("SCAN found %d keys, the masters hold %d", len(slices.Compact(scanned)), len(want))
		}
		matched, _ := scanAll(ctx, rc, "route:1*")
		if len(matched) != 111 { // route:1, route:10–19, route:100–199
			t.Fatalf("SCAN MATCH route:1*: %d keys", len(matched))
		}
		if k := rc.RandomKey(ctx).Val(); !slices.Contains(want, k) {
			t.Fatalf("RANDOMKEY %q is not a key", k)
		}
		for _, bad := range []string{"x", "-1", "18446744073709551616"} {
			if got := result(rc.Do(ctx, "SCAN", bad).Result()); got != "ERR ERR invalid cursor" {
				t.Errorf("SCAN %s: %s", bad, got)
			}
		}
	})

	t.Run("transactions in one slot", func(t *testing.T) {
		c := dial(t, s.Addrs()[0])
		steps := []struct {
			args []string
			want string
		}{
			{[]string{"MULTI"}, "+OK\r\n"},
			{[]string{"SET", "{tx}a", "1"}, "+QUEUED\r\n"},
			{[]string{"INCR", "{tx}a"}, "+QUEUED\r\n"},
			{[]string{"GET", "{tx}a"}, "+QUEUED\r\n"},
			{[]string{"PING"}, "+QUEUED\r\n"},
			{[]string{"EXEC"}, "*4\r\n+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n"},
			{[]string{"MULTI"}, "+OK\r\n"},
			{[]string{"SET", "tx:x", "1"}, "+QUEUED\r\n"},
			{[]string{"SET", "tx:y", "1"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
			{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
			{[]string{"EXISTS", "tx:x"}, ":0\r\n"},
			{[]string{"MULTI"}, "+OK\r\n"},
			{[]string{"MULTI"}, "-ERR MULTI calls can not be nested\r\n"},
			{[]string{"KEYS", "*"}, "-ERR 'KEYS' cannot be queued in a transaction through Redoubt's cluster gateway\r\n"},
			{[]string{"DISCARD"}, "+OK\r\n"},
			{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
			{[]string{"WATCH", "{w}k"}, "+OK\r\n"},
			{[]string{"WATCH", "other"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
			{[]string{"MULTI"}, "+OK\r\n"},
			{[]string{"SET", "{w}k", "mine"}, "+QUEUED\r\n"},
			{[]string{"EXEC"}, "*1\r\n+OK\r\n"},
		}
		for _, st := range steps {
			if got := c.do(st.args...); got != st.want {
				t.Fatalf("%v: %q, want %q", st.args, got, st.want)
			}
		}
		// A watched key changed by someone else: EXEC answers null.
		if got := c.do("WATCH", "{w}k"); got != "+OK\r\n" {
			t.Fatal(got)
		}
		oracle.Set(ctx, "{w}k", "theirs", 0)
		c.do("MULTI")
		c.do("SET", "{w}k", "mine")
		if got := c.do("EXEC"); got != "*-1\r\n" {
			t.Fatalf("EXEC after the watched key changed: %q", got)
		}
		if v := oracle.Get(ctx, "{w}k").Val(); v != "theirs" {
			t.Fatalf("{w}k = %q", v)
		}
	})

	t.Run("pub/sub", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		sub := rc.Subscribe(ctx, "news")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		pub := gwClient(t, s, 3)
		// Through Redoubt, and straight to every node: a cluster
		// delivers every message to every node's subscribers.
		if err := pub.Publish(ctx, "news", "through redoubt").Err(); err != nil {
			t.Fatal(err)
		}
		for _, n := range cl.Masters(t) {
			cl.Do(t, n.Addr, "PUBLISH", "news", "from "+n.Addr)
		}
		for i := 0; i < 1+len(cl.Masters(t)); i++ {
			m, err := sub.ReceiveMessage(ctx)
			if err != nil || m.Channel != "news" {
				t.Fatalf("message %d: %v %v", i, m, err)
			}
		}
		// Shard channels: on their slot's node.
		c := dial(t, s.Addrs()[0])
		if got := c.do("SSUBSCRIBE", "{sh}a", "{sh}b"); !strings.Contains(got, "ssubscribe") {
			t.Fatalf("SSUBSCRIBE: %q", got)
		}
		c.reply()
		if got := c.do("SSUBSCRIBE", "sh:x", "sh:y"); !strings.Contains(got, "CROSSSLOT") {
			t.Fatalf("SSUBSCRIBE across slots: %q", got)
		}
		if n := pub.Do(ctx, "SPUBLISH", "{sh}b", "hello").Val(); n != int64(1) {
			t.Fatalf("SPUBLISH reached %v subscribers", n)
		}
		if got := c.reply(); !strings.Contains(got, "smessage") || !strings.Contains(got, "hello") {
			t.Fatalf("shard message: %q", got)
		}
	})

	t.Run("blocking commands", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		other := gwClient(t, s, 2)
		for _, key := range []string{"bq:1", "bq:2", "bq:3"} {
			done := make(chan string, 1)
			go func() { done <- result(rc.BLPop(ctx, 10*time.Second, key).Result()) }()
			testutil.WaitFor(t, 5*time.Second, "a blocked client", func() bool { return s.gwBlockedClients() == 1 })
			other.RPush(ctx, key, "item")
			if got := <-done; got != "["+key+" item]" {
				t.Fatalf("BLPOP %s: %s", key, got)
			}
		}
	})

	t.Run("one logical server", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		for _, cmd := range [][]any{{"CLUSTER", "INFO"}, {"CLUSTER", "SLOTS"}, {"READONLY"}, {"ASKING"}, {"SELECT", "1"}} {
			if got := result(rc.Do(ctx, cmd...).Result()); !strings.HasPrefix(got, "ERR ") {
				t.Errorf("%v: %s", cmd, got)
			}
		}
		info := rc.Info(ctx, "everything").Val()
		if strings.Contains(info, "cluster_enabled:1") || !strings.Contains(info, "backend:cluster") ||
			!strings.Contains(info, "cluster_slots_served:16384") {
			t.Fatalf("INFO:\n%s", info)
		}
		total := rc.DBSize(ctx).Val()
		if !strings.Contains(info, fmt.Sprintf("db0:keys=%d,", total)) {
			t.Fatalf("INFO keyspace does not add the masters' keys up to %d:\n%s", total, info)
		}
	})

	// The subtest deferred below empties the cluster: it runs last.
	defer t.Run("FLUSHDB empties every master", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		if got := result(rc.Do(ctx, "FLUSHDB").Result()); got != "OK" {
			t.Fatalf("FLUSHDB: %s", got)
		}
		for _, n := range cl.Masters(t) {
			if got := cl.Do(t, n.Addr, "DBSIZE"); got != "0" {
				t.Errorf("%s holds %s keys after FLUSHDB", n.Addr, got)
			}
		}
	})

	t.Run("the nodes' password stays inside", func(t *testing.T) {
		rc := gwClient(t, s, 2)
		var seen []string
		for _, cmd := range [][]any{{"INFO", "everything"}, {"CONFIG", "GET", "*"}, {"CONFIG", "GET", "masterauth"},
			{"CLIENT", "LIST"}, {"ACL", "LIST"}, {"CLUSTER", "NODES"}, {"DEBUG", "JMAP"}} {
			seen = append(seen, result(rc.Do(ctx, cmd...).Result()))
		}
		seen = append(seen, result(rc.Do(ctx, "AUTH", cl.Password).Result()))
		for _, out := range seen {
			if strings.Contains(out, cl.Password) {
				t.Fatalf("the nodes' password reached a client: %s", out)
			}
		}
		if !strings.HasPrefix(seen[len(seen)-1], "ERR") {
			t.Fatalf("AUTH with the nodes' password: %s", seen[len(seen)-1])
		}
	})
}

// scanAll iterates a SCAN with MATCH to the end.
func scanAll(ctx context.Context, rc *redis.Client, match string) ([]string, error) {
	var all []string
	var cursor uint64
	for {
		page, next, err := rc.Scan(ctx, cursor, match, 50).Result()
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		if cursor = next; cursor == 0 {
			return all, nil
		}
	}
}

// TestClusterAccounts: a read-only account writes to no node, whatever
// path the command takes (one slot, split, a transaction).
func TestClusterAccounts(t *testing.T) {
	cl := testutil.StartCluster(t, 3, 0)
	tab := command.New()
	s := startClusterGateway(t, cl, func(o *Options) {
		opts, _ := secureOpts(func(sec *Security) {
			sec.Disabled = []string{"flushall"}
			sec.Accounts = []Account{
				testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all"),
				testAccount(t, tab, "reader", appPassword, "role:read-only"),
			}
		})
		o.Security, o.Events, o.Table = opts.Security, opts.Events, tab
	})
	ctx := context.Background()
	oracle := cl.Client(t)
	oracle.Set(ctx, "acct:a", "1", 0)
	noAuth := gwClient(t, s, 2)
	if got := result(noAuth.Get(ctx, "acct:a").Result()); !strings.Contains(got, "NOAUTH") {
		t.Fatalf("without AUTH: %s", got)
	}
	reader := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Username: "reader", Password: appPassword, MaxRetries: -1})
	defer reader.Close()
	if got := reader.Get(ctx, "acct:a").Val(); got != "1" {
		t.Fatalf("reader GET: %q", got)
	}
	for _, cmd := range [][]any{{"SET", "acct:a", "2"}, {"MSET", "acct:a", "2", "acct:b", "2"}, {"DEL", "acct:a", "acct:zz"},
		{"INCR", "acct:n"}, {"FLUSHDB"}} {
		if got := result(reader.Do(ctx, cmd...).Result()); !strings.Contains(got, "NOPERM") {
			t.Errorf("reader %v: %s", cmd, got)
		}
	}
	pipe := reader.TxPipeline()
	pipe.Set(ctx, "{acct}t", "1", 0)
	if _, err := pipe.Exec(ctx); err == nil || !strings.Contains(err.Error(), "NOPERM") && !strings.Contains(err.Error(), "EXECABORT") {
		t.Errorf("reader's transaction: %v", err)
	}
	if oracle.Get(ctx, "acct:a").Val() != "1" || oracle.Exists(ctx, "acct:b", "acct:n", "{acct}t").Val() != 0 {
		t.Fatal("the read-only account changed data")
	}
	app := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Username: "app", Password: appPassword, MaxRetries: -1})
	defer app.Close()
	if got := result(app.Do(ctx, "FLUSHALL").Result()); !strings.Contains(got, "disabled") {
		t.Fatalf("FLUSHALL, disabled on the instance: %s", got)
	}
	if err := app.MSet(ctx, "acct:a", "2", "acct:b", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if oracle.Get(ctx, "acct:b").Val() != "2" {
		t.Fatal("the app account's write did not land")
	}
}

// TestClusterReshardUnderLoad moves slots between masters while clients
// pipeline writes to them: every write lands once, in each client's
// order, and no client sees a redirection.
func TestClusterReshardUnderLoad(t *testing.T) {
	cl := testutil.StartCluster(t, 3, 0)
	s := startClusterGateway(t, cl, nil)
	ctx := context.Background()
	oracle := cl.Client(t)
	masters := cl.Masters(t)
	from, to := masters[0], masters[1]
	wait := cl.ReshardAsync(t, from, to, 1500)
	reshardDone := make(chan error, 1)
	go func() { reshardDone <- wait() }()

	const writers, keys = 6, 40
	counts := make([][]int, writers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	stop := make(chan struct{})
	for w := range writers {
		counts[w] = make([]int, keys)
		wg.Go(func() {
			c := gwClient(t, s, 2+w%2)
			list := fmt.Sprintf("seq:%d", w)
			for round := 0; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				pipe := c.Pipeline()
				var incrs []*redis.IntCmd
				var ks []int
				for i := range 16 {
					k := (round*16 + i*7 + w) % keys
					ks = append(ks, k)
					incrs = append(incrs, pipe.Incr(ctx, fmt.Sprintf("ctr:%d:%d", w, k)))
				}
				push := pipe.RPush(ctx, list, round)
				get := pipe.LIndex(ctx, list, -1)
				if _, err := pipe.Exec(ctx); err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("writer %d round %d: %v", w, round, err))
					mu.Unlock()
					return
				}
				for i, cmd := range incrs {
					counts[w][ks[i]]++
					if cmd.Val() != int64(counts[w][ks[i]]) {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("writer %d: INCR ctr:%d:%d = %d, want %d", w, w, ks[i], cmd.Val(), counts[w][ks[i]]))
						mu.Unlock()
						return
					}
				}
				// Read-your-writes inside one pipeline.
				if push.Val() != int64(round+1) || get.Val() != fmt.Sprint(round) {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("writer %d round %d: RPUSH %d, LINDEX %q", w, round, push.Val(), get.Val()))
					mu.Unlock()
					return
				}
			}
		})
	}
	select {
	case err := <-reshardDone:
		if err != nil {
			t.Fatalf("reshard: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the reshard did not end")
	}
	close(stop)
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	// Every write landed once.
	total := 0
	for w := range writers {
		for k, n := range counts[w] {
			total += n
			got, _ := oracle.Get(ctx, fmt.Sprintf("ctr:%d:%d", w, k)).Int()
			if got != n {
				t.Errorf("ctr:%d:%d = %d on the cluster, %d INCRs answered", w, k, got, n)
			}
		}
	}
	if total == 0 {
		t.Fatal("no write ran during the reshard")
	}
	t.Logf("%d INCRs during the move of 1500 slots", total)

	// A slot map change is picked up within a second of the first MOVED.
	before := cl.SlotMasters(t)
	moved := cl.Masters(t)
	cl.Reshard(t, moved[1], moved[2], 50)
	after := cl.SlotMasters(t)
	var changed []int
	for slot := range after {
		if after[slot] != before[slot] {
			changed = append(changed, slot)
		}
	}
	if len(changed) != 50 {
		t.Fatalf("%d slots moved, want 50", len(changed))
	}
	// The first MOVED: a write to a moved slot Redoubt still routes to
	// its old master (a periodic read of the slot map during the move
	// may have caught some slots already).
	stale := -1
	for _, slot := range changed {
		if s.cl.Route(slot).Addr != after[slot].Addr {
			stale = slot
			break
		}
	}
	if stale < 0 {
		t.Log("Redoubt had read the whole move before any MOVED")
		return
	}
	if err := gwClient(t, s, 2).Set(ctx, keyInSlot(stale), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	first := time.Now()
	testutil.WaitFor(t, time.Second, "every moved slot routed to its new master", func() bool {
		for _, slot := range changed {
			if s.cl.Route(slot).Addr != after[slot].Addr {
				return false
			}
		}
		return true
	})
	t.Logf("the new slot map was in use %v after the first MOVED", time.Since(first).Round(time.Millisecond))
}

// keyInSlot finds a key of the slot.
func keyInSlot(slot int) string {
	for i := 0; ; i++ {
		if k := fmt.Sprintf("slotkey:%d", i); testutil.Slot(k) == slot {
			return k
		}
	}
}

// TestClusterFailover kills a master: the other masters' slots are
// served throughout, the killed one's are served again once its replica
// takes over, without restarting Redoubt.
func TestClusterFailover(t *testing.T) {
	// A cluster that serves the slots it still has while a master is
	// down (by default every node refuses every key then: CLUSTERDOWN).
	cl := testutil.StartCluster(t, 3, 1, "--cluster-require-full-coverage", "no")
	var rec *monitor.Recorder
	s := startClusterGateway(t, cl, func(o *Options) {
		opts, r := secureOpts(nil)
		o.Security, o.Events, rec = opts.Security, opts.Events, r
	})
	ctx := context.Background()
	rc := gwClient(t, s, 2)
	for i := range 200 {
		if err := rc.Set(ctx, fmt.Sprintf("fo:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cl.WaitSynced(t, 10*time.Second)
	victim := cl.Masters(t)[0]
	var victimKey, otherKey string
	for i := 0; victimKey == "" || otherKey == ""; i++ {
		k := fmt.Sprintf("fo:%d", i)
		if cl.MasterOf(t, testutil.Slot(k)).Addr == victim.Addr {
			victimKey = k
		} else {
			otherKey = k
		}
	}
	// Load on the other masters' slots, all along.
	var others []string
	for i := range 50 {
		if k := fmt.Sprintf("fo:%d", i); cl.MasterOf(t, testutil.Slot(k)).Addr != victim.Addr {
			others = append(others, k)
		}
	}
	stop := make(chan struct{})
	var failures, served int
	var firstErr error
	var loadDone sync.WaitGroup
	loadDone.Go(func() {
		c := gwClient(t, s, 2)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, k := range others {
				if err := c.Get(ctx, k).Err(); err != nil {
					if failures == 0 {
						firstErr = err
					}
					failures++
				} else {
					served++
				}
			}
		}
	})
	victim.Kill()
	killed := time.Now()
	// A split MSET that reaches the dead master reports the error (no
	// replica takes over before the node timeout, 1 s). Its part on a
	// live master ran if the dead one's connection was not known broken
	// yet when the parts went out: split commands are not atomic across
	// slots.
	if got := result(rc.MSet(ctx, victimKey, "new", otherKey, "new").Result()); !strings.Contains(got, "backend unavailable") {
		t.Errorf("MSET across the dead master answered %s", got)
	}
	if got := rc.Get(ctx, otherKey).Val(); got != "new" && got != strings.TrimPrefix(otherKey, "fo:") {
		t.Errorf("the MSET's part on a live master: %s = %q", otherKey, got)
	}
	var back time.Duration
	for {
		err := rc.Set(ctx, victimKey, "after", 0).Err()
		if err == nil {
			back = time.Since(killed)
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("the killed master's slots are not served 10 s later: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	loadDone.Wait()
	t.Logf("served again %v after the kill; %d reads on the other masters meanwhile", back.Round(time.Millisecond), served)
	if failures > 0 {
		t.Errorf("%d reads of the other masters' keys failed while one master was down; the first: %v", failures, firstErr)
	}
	if served == 0 {
		t.Error("no read of the other masters' keys ran during the outage")
	}
	var down bool
	for _, ev := range rec.Recent() {
		down = down || ev.Type == monitor.BackendDown && strings.Contains(ev.Addr+ev.Detail, victim.Addr)
	}
	if !down {
		t.Errorf("no backend_down event names %s: %v", victim.Addr, rec.Recent())
	}
	for i := range 200 {
		k := fmt.Sprintf("fo:%d", i)
		if k == victimKey || k == otherKey {
			continue
		}
		if got := rc.Get(ctx, k).Val(); got != fmt.Sprint(i) {
			t.Fatalf("%s = %q after the failover", k, got)
		}
	}
}

// TestClusterRedirectsFromScripts: a script's error text may look like a
// redirection. Redoubt never follows it: the nodes' password is never
// sent to an address a reply names, and a script is never run twice.
func TestClusterRedirectsFromScripts(t *testing.T) {
	cl := testutil.StartCluster(t, 3, 0)
	s := startClusterGateway(t, cl, func(o *Options) {
		opts, _ := secureOpts(func(sec *Security) { sec.Enabled = []string{"eval"} })
		o.Security, o.Events = opts.Security, opts.Events
	})
	// The attack's target: a listener that records who connects.
	trap, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	dialled := make(chan string, 1)
	go func() {
		nc, err := trap.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 512)
		n, _ := nc.Read(buf)
		dialled <- string(buf[:n])
		nc.Close()
	}()
	ctx := context.Background()
	rc := gwClient(t, s, 2)
	for _, kind := range []string{"MOVED 100 ", "ASK 100 "} {
		script := fmt.Sprintf("return redis.error_reply('%s%s')", kind, trap.Addr())
		if got := result(rc.Eval(ctx, script, nil).Result()); !strings.Contains(got, strings.TrimSpace(kind)) {
			t.Fatalf("%s: %s", kind, got)
		}
	}
	// A redirection to an address that is not a node is not followed
	// either (it would be looked up in a fresh topology read first).
	if n := s.cl.Node(trap.Addr().String()); n != nil {
		t.Fatalf("%s became a node of the cluster", trap.Addr())
	}
	select {
	case got := <-dialled:
		t.Fatalf("Redoubt connected to the address a script named, and sent %q", got)
	default:
	}
	// A script that wrote, then answered TRYAGAIN, ran once.
	got := result(rc.Eval(ctx, "redis.call('incr', KEYS[1]); return redis.error_reply('TRYAGAIN no')", []string{"sc:n"}).Result())
	if !strings.Contains(got, "TRYAGAIN") {
		t.Fatalf("TRYAGAIN script: %s", got)
	}
	if n := cl.Client(t).Get(ctx, "sc:n").Val(); n != "1" {
		t.Fatalf("the script ran %s times", n)
	}
}

// TestMergeInfoSection: counts and sizes add up across masters; times,
// ratios, settings and sentinels do not.
func TestMergeInfoSection(t *testing.T) {
	a := "used_memory:1000\r\nused_memory_human:1000B\r\nmem_fragmentation_ratio:1.50\r\nmaxmemory_policy:noeviction\r\nrdb_last_save_time:1700000000\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_changes_since_last_save:3\r\nused_cpu_sys:1.500000\r\n"
	b := "used_memory:2048\r\nused_memory_human:2.00K\r\nmem_fragmentation_ratio:2.00\r\nmaxmemory_policy:noeviction\r\nrdb_last_save_time:1700000005\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_changes_since_last_save:4\r\nused_cpu_sys:0.250000\r\n"
	want := "used_memory:3048\r\nused_memory_human:2.98K\r\nmem_fragmentation_ratio:1.50\r\nmaxmemory_policy:noeviction\r\nrdb_last_save_time:1700000000\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_changes_since_last_save:7\r\nused_cpu_sys:1.750000\r\n"
	if got := mergeInfoSection("memory", []string{a, b}); got != want {
		t.Errorf("memory:\n%q\nwant\n%q", got, want)
	}
	ks := mergeInfoSection("keyspace", []string{"db0:keys=3,expires=1,avg_ttl=100\r\n", "db0:keys=4,expires=0,avg_ttl=7\r\n"})
	if ks != "db0:keys=7,expires=1,avg_ttl=100\r\n" {
		t.Errorf("keyspace: %q", ks)
	}
	cs := mergeInfoSection("commandstats", []string{"cmdstat_get:calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n",
		"cmdstat_get:calls=3,usec=30,usec_per_call=10.00,rejected_calls=1,failed_calls=0\r\n"})
	if cs != "cmdstat_get:calls=5,usec=40,usec_per_call=8.00,rejected_calls=1,failed_calls=0\r\n" { // 40 µs / 5 calls
		t.Errorf("commandstats: %q", cs)
	}
	rp := mergeInfoSection("replication", []string{"role:master\r\nconnected_slaves:1\r\nslave0:ip=x\r\nmaster_replid:abc\r\n", "role:master\r\nconnected_slaves:1\r\nslave0:ip=y\r\n"})
	if rp != "role:master\r\nconnected_slaves:2\r\n" {
		t.Errorf("replication: %q", rp)
	}
}

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		reply, kind, addr string
		slot              int
	}{
		{"-MOVED 3999 127.0.0.1:6381\r\n", "MOVED", "127.0.0.1:6381", 3999},
		{"-ASK 0 [::1]:7000\r\n", "ASK", "[::1]:7000", 0},
		{"-TRYAGAIN Multiple keys request during rehashing of slot\r\n", "TRYAGAIN", "", -1},
		{"-MOVED 16384 h:1\r\n", "", "", -1},
		{"-MOVED -1 h:1\r\n", "", "", -1},
		{"-MOVED 12 h:1 extra\r\n", "", "", -1},
		{"-MOVED x h:1\r\n", "", "", -1},
		{"-\r\n", "", "", -1},
	}
	for _, tt := range tests {
		kind, slot, addr := parseRedirect([]byte(tt.reply))
		if kind != tt.kind || slot != tt.slot || addr != tt.addr {
			t.Errorf("parseRedirect(%q) = %q %d %q", tt.reply, kind, slot, addr)
		}
	}
}

func FuzzParseRedirect(f *testing.F) {
	f.Add([]byte("-MOVED 3999 127.0.0.1:6381\r\n"))
	f.Add([]byte("-ASK 1 h:2\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, slot, _ := parseRedirect(b)
		if (kind == "MOVED" || kind == "ASK") && (slot < 0 || slot >= 16384) {
			t.Fatalf("%q: slot %d", b, slot)
		}
	})
}
