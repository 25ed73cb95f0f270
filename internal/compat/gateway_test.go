package compat

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/server"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// Gateway mode, differentially: the same sequences go directly to one
// redis-server (the oracle) and through Redoubt in front of a second,
// fresh redis-server started with the same configuration, and the raw
// replies must be equal, in RESP2 and RESP3. The existing sequences run
// unchanged with COMPAT_TARGET=gateway (TestGatewayDifferential; the whole
// package can be run that way too, where TestHashRandField is expected to
// fail, see below); the tests below add what only the
// gateway has: shared pipelined backend connections, connections pinned
// for SELECT, MULTI, WATCH, blocking, pub/sub and tracking, and their
// release. gatewayDifferences lists the commands whose replies differ on
// purpose, and TestGatewayIntendedDifferences checks that each differs
// exactly as listed.

// startGatewayRedoubt starts a fresh redis-server, configured as the
// oracle is (plus extra), and a Redoubt instance with the default
// security policy in front of it (backend kind redis); it returns
// Redoubt's address.
func startGatewayRedoubt(t testing.TB, extra ...string) string {
	t.Helper()
	r := testutil.StartRedis(t, extra...)
	s, err := server.New(server.Options{
		Name: "compat-gateway", Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir(),
		Backend: server.Backend{Kind: server.BackendRedis, Target: upstream.Target{Network: "tcp", Addr: r.Addr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Bounded even when a connection waits for a backend reply that
		// never comes: the backend is stopped then, which ends the wait.
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done <- s.Shutdown(ctx)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("the gateway's Shutdown (5 s deadline) still runs after 10 s: a connection waits for a backend reply that never comes")
			r.Stop()
			<-done
		}
	})
	return s.Addrs()[0]
}

// newGatewayPair is newPair with the gateway as the subject; extra
// configures both redis-servers alike.
func newGatewayPair(t *testing.T, extra ...string) *pair {
	t.Helper()
	r := testutil.StartRedis(t, extra...)
	addr := startGatewayRedoubt(t, extra...)
	return &pair{
		t:          t,
		oracle:     dialRaw(t, "redis-server", r.Addr),
		us:         dialRaw(t, "gateway", addr),
		oracleAddr: r.Addr,
		usAddr:     addr,
	}
}

// eachGatewayProtocol is eachProtocol with the gateway as the subject.
func eachGatewayProtocol(t *testing.T, body func(t *testing.T, p *pair, proto int)) {
	t.Helper()
	t.Setenv(subjectEnv, "gateway")
	eachProtocol(t, body)
}

// TestGatewayDifferential runs the package's differential tests with the
// gateway as the subject. Left out, and why:
//
//   - TestHashRandField: not differential (it asks Redoubt alone), and its
//     last check, that a listpack sample comes in listpack order, is a
//     property of the embedded engine that redis-server 7.0.15's
//     HRANDFIELD does not have (a sample of 2 of 5 fields comes back as
//     "f4 f1").
func TestGatewayDifferential(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	for _, tc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"Strings", TestStrings}, {"StringsWrongType", TestStringsWrongType},
		{"StringsLCSLimit", TestStringsLCSLimit}, {"StringsRandom", TestStringsRandom},
		{"Keys", TestKeys}, {"KeysPatterns", TestKeysPatterns}, {"KeysScanGuarantee", TestKeysScanGuarantee},
		{"KeysRandom", TestKeysRandom},
		{"Hash", TestHash}, {"HashConversion", TestHashConversion}, {"HashScanGuarantee", TestHashScanGuarantee},
		{"HashRandom", TestHashRandom},
		{"List", TestList}, {"ListLarge", TestListLarge}, {"ListRandom", TestListRandom},
		{"ListBlockingInMulti", TestListBlockingInMulti},
		{"Set", TestSet}, {"SetConversion", TestSetConversion}, {"SetPopRebuild", TestSetPopRebuild},
		{"SetScanGuarantee", TestSetScanGuarantee}, {"SetRandMember", TestSetRandMember}, {"SetRandom", TestSetRandom},
		{"ZSet", TestZSet}, {"ZSetConversion", TestZSetConversion}, {"ZSetScanGuarantee", TestZSetScanGuarantee},
		{"ZSetRandom", TestZSetRandom},
		{"TxCases", TestCompatTxCases}, {"TxWatchOthers", TestCompatTxWatchOthers},
		{"TxWatchExpiry", TestCompatTxWatchExpiry},
		{"BlockingServe", TestCompatBlockingServe}, {"BlockingFIFO", TestCompatBlockingFIFO},
		{"BlockingTimeout", TestCompatBlockingTimeout}, {"BlockingUnblock", TestCompatBlockingUnblock},
		{"PubSubSubscriberView", TestPubSubSubscriberView}, {"PubSubPipelined", TestPubSubPipelined},
		{"PubSubReset", TestPubSubReset}, {"PubSubLeavesWithConnection", TestPubSubLeavesWithConnection},
		{"GoRedis", TestGoRedisClient},
	} {
		t.Run(tc.name, tc.run)
	}
}

// diffKind says why a command's reply through the gateway is not
// redis-server's.
type diffKind int

const (
	// refused: the default policy refuses the command (command.FlagDangerous);
	// the reply is Redoubt's disabled error and the backend never sees it.
	refused diffKind = iota
	// own: Redoubt answers the command itself, about itself (its clients,
	// its clock, its command table, its accounts), never the backend's;
	// some coincide with redis-server's reply in the default setup.
	own
	// unsupported: the gateway does not run the command at all.
	unsupported
)

// gatewayDiff is one intended difference.
type gatewayDiff struct {
	kind diffKind
	args []string
	why  string
	// want checks Redoubt's reply (refused ones are checked against the
	// disabled error); it returns what is wrong, or "".
	want func(proto int, reply []byte) string
}

// refusal is Redoubt's reply to a refused command, as server.disabledError
// writes it: the table's name of the command, upper case, "|" as a space.
func refusal(name string) string {
	return "-ERR command '" + name + "' is disabled on this instance; change it in the admin console\r\n"
}

// gatewayDifferences are the commands whose replies through the gateway
// differ from redis-server's on purpose. The differential sequences leave
// them out.
func gatewayDifferences() []gatewayDiff {
	typ := func(types string) func(int, []byte) string {
		return func(_ int, r []byte) string {
			if len(r) == 0 || !strings.ContainsRune(types, rune(r[0])) {
				return fmt.Sprintf("want a reply of type %q", types)
			}
			return ""
		}
	}
	emptyMap := func(proto int, r []byte) string {
		if want := map[int]string{2: "*0\r\n", 3: "%0\r\n"}[proto]; string(r) != want {
			return fmt.Sprintf("want %q: the backend's file settings stay hidden", want)
		}
		return ""
	}
	noBackend := func(proto int, r []byte) string {
		if msg := typ("$=")(proto, r); msg != "" {
			return msg
		}
		if bytes.Contains(r, []byte("redoubt-")) {
			return "lists the backend connections (named redoubt-<instance>)"
		}
		return ""
	}
	refuse := func(why string, line ...string) []gatewayDiff {
		var ds []gatewayDiff
		for _, l := range line {
			ds = append(ds, gatewayDiff{kind: refused, args: cmd(l), why: why})
		}
		return ds
	}
	var ds []gatewayDiff
	ds = append(ds, refuse("points the backend's files elsewhere or changes its configuration",
		"CONFIG SET dir /tmp", "CONFIG SET maxmemory 1", "CONFIG REWRITE", "CONFIG RESETSTAT")...)
	ds = append(ds, refuse("writes files on the backend host",
		"SAVE", "BGSAVE", "BGREWRITEAOF", "ACL SAVE", "ACL LOAD")...)
	ds = append(ds, refuse("DEBUG reloads, crashes or sleeps the backend", "DEBUG SLEEP 0", "DEBUG OBJECT k")...)
	ds = append(ds, refuse("stops the backend", "SHUTDOWN NOSAVE")...)
	ds = append(ds, refuse("loads code into the backend",
		"MODULE LIST", "MODULE LOAD /tmp/x.so", "SCRIPT LOAD return", "SCRIPT FLUSH", "FUNCTION LIST",
		"FUNCTION FLUSH")...)
	ds = append(ds, refuse("a script could call any command the policy refuses",
		"EVAL return 0", "EVAL_RO return 0", "EVALSHA 0000000000000000000000000000000000000000 0",
		"EVALSHA_RO 0000000000000000000000000000000000000000 0", "FCALL f 0", "FCALL_RO f 0")...)
	ds = append(ds, refuse("hands the data to, or takes it from, another server",
		"REPLICAOF 127.0.0.1 1", "SLAVEOF 127.0.0.1 1", "SYNC", "PSYNC ? -1", "REPLCONF listening-port 1",
		"FAILOVER", "MIGRATE 127.0.0.1 1 k 0 1")...)
	ds = append(ds, refuse("shows every client's commands", "MONITOR")...)
	ds = append(ds, refuse("changes the backend's users", "ACL SETUSER u on", "ACL DELUSER u")...)
	ds = append(ds, refuse("debugging commands of HyperLogLog", "PFDEBUG GETREG k", "PFSELFTEST")...)
	ds = append(ds,
		gatewayDiff{own, cmd("HELLO"), "server, version, id and modules are Redoubt's", typ("%*")},
		gatewayDiff{own, cmd("CLIENT ID"), "Redoubt's client ids, not the backend connections'", typ(":")},
		gatewayDiff{own, cmd("CLIENT LIST"), "Redoubt's clients; the pooled backend connections stay hidden", noBackend},
		gatewayDiff{own, cmd("CLIENT INFO"), "Redoubt's view of the client", noBackend},
		gatewayDiff{own, cmd("INFO"), "Redoubt's sections and figures", typ("$=")},
		gatewayDiff{own, cmd("INFO server"), "Redoubt's sections and figures", typ("$=")},
		gatewayDiff{own, cmd("TIME"), "Redoubt's clock, read at another moment", typ("*")},
		gatewayDiff{own, cmd("COMMAND COUNT"), "Redoubt's command table", typ(":")},
		gatewayDiff{own, cmd("CONFIG GET dir"), "only harmless parameters are answered", emptyMap},
		gatewayDiff{own, cmd("CONFIG GET dbfilename"), "only harmless parameters are answered", emptyMap},
		gatewayDiff{own, cmd("CONFIG GET *"), "only harmless parameters are answered", func(proto int, r []byte) string {
			for _, secret := range []string{"dir", "dbfilename", "logfile", "requirepass", "masterauth", "aclfile"} {
				if bytes.Contains(r, []byte("\r\n"+secret+"\r\n")) {
					return "shows " + secret
				}
			}
			return ""
		}},
		gatewayDiff{own, cmd("ACL LIST"), "Redoubt's accounts (the same text as long as only the default user exists)", typ("*")},
		gatewayDiff{own, cmd("AUTH nopass"), "Redoubt's accounts, never the backend's (the same text while there is no password)", typ("-")},
		gatewayDiff{unsupported, cmd("CLIENT REPLY OFF"),
			"would leave requests on a pipelined backend connection without replies", typ("-")},
	)
	return ds
}

// TestGatewayIntendedDifferences checks that every listed difference is
// answered as listed, and that the refused ones differ from what
// redis-server answers (which is run only where that is harmless).
func TestGatewayIntendedDifferences(t *testing.T) {
	eachGatewayProtocol(t, func(t *testing.T, p *pair, proto int) {
		for _, d := range gatewayDifferences() {
			got := p.us.do(d.args...)
			switch {
			case d.kind == refused:
				name := strings.ToUpper(d.args[0])
				switch name {
				case "CONFIG", "ACL", "MODULE", "SCRIPT", "FUNCTION":
					name += " " + strings.ToUpper(d.args[1])
				}
				if string(got) != refusal(name) {
					t.Errorf("%s (%s): got %q, want %q", fmtCmd(d.args), d.why, got, refusal(name))
				}
			case d.want != nil:
				if msg := d.want(proto, got); msg != "" {
					t.Errorf("%s (%s): %s; got %q", fmtCmd(d.args), d.why, msg, got)
				}
			}
		}
		// The connection is still in step: its next reply is its own.
		p.check("ECHO", "in step")
	})
}

// TestGatewaySelect uses a non-default database: it pins a backend
// connection, which is given back (and must be in database 0 again) when
// the client selects its default database.
func TestGatewaySelect(t *testing.T) {
	eachGatewayProtocol(t, func(t *testing.T, p *pair, proto int) {
		o := p.conn2()
		p.checkAll([][]string{
			cmd("SELECT 0"), cmd("SET k in0"), cmd("SELECT 5"), cmd("GET k"), cmd("SET k in5"), cmd("GET k"),
			cmd("DBSIZE"), cmd("SELECT 5"), cmd("INCR n"),
		})
		o.checkAll([][]string{cmd("GET k"), cmd("DBSIZE"), cmd("SELECT 5"), cmd("GET k"), cmd("INCR n"), cmd("SELECT 0")})
		p.checkAll([][]string{
			// A transaction across databases.
			cmd("MULTI"), cmd("INCR n"), cmd("SELECT 6"), cmd("INCR n"), cmd("EXEC"), cmd("GET n"),
			cmd("SELECT 5"), cmd("GET n"),
			// MOVE, COPY, SWAPDB from a non-default database.
			cmd("MOVE k 0"), cmd("SET m v"), cmd("MOVE m 7"), cmd("COPY n n DB 0"), cmd("SELECT 7"), cmd("GET m"),
			cmd("SWAPDB 7 8"), cmd("GET m"), cmd("SELECT 8"), cmd("GET m"), cmd("FLUSHDB"), cmd("DBSIZE"),
			cmd("SELECT 0"), cmd("GET n"), cmd("GET k"), cmd("DBSIZE"),
		})
		// A blocked client in database 5 is served by a client in
		// database 5, not by one in database 0.
		a := p.conn2()
		if proto == 3 {
			a.helloBoth()
		}
		a.check("SELECT", "5")
		p.block(a, 1, "BLPOP", "q5", "0")
		p.check("RPUSH", "q5", "in0")
		p.waitBlockedBoth(p, 1)
		o.checkAll([][]string{cmd("SELECT 5"), cmd("RPUSH q5 in5")})
		a.expectBoth("BLPOP q5 0 in database 5")
		a.checkAll([][]string{cmd("LRANGE q5 0 -1"), cmd("SELECT 0"), cmd("LRANGE q5 0 -1")})
		// WATCH in database 5, invalidated by a client in database 5.
		a.checkAll([][]string{cmd("SELECT 5"), cmd("WATCH w")})
		o.check("SET", "w", "changed in 5")
		a.checkAll([][]string{cmd("MULTI"), cmd("GET w"), cmd("EXEC"), cmd("SELECT 0")})
		o.check("SELECT", "0")
		// Connections given back are in database 0: new clients that pin
		// one (WATCH, a blocking command, MULTI) see database 0.
		for i := range 4 {
			c := p.conn2()
			c.checkAll([][]string{cmd("WATCH k"), cmd("GET k"), cmd("MULTI"), cmd("GET n"), cmd("EXEC"),
				cmd("BLPOP nolist 0.01"), cmd("SELECT " + strconv.Itoa(i+1)), cmd("SET i " + strconv.Itoa(i)),
				cmd("SELECT 0"), cmd("DBSIZE")})
		}
		for i := range 5 {
			p.checkAll([][]string{cmd("SELECT " + strconv.Itoa(i)), cmd("DBSIZE"), cmd("GET i")})
		}
		p.check("SELECT", "0")
		// SELECT inside a transaction that does not run.
		p.checkAll([][]string{cmd("MULTI"), cmd("SELECT 9"), cmd("DISCARD"), cmd("SET where 0"), cmd("SELECT 9"),
			cmd("GET where"), cmd("SELECT 0"), cmd("GET where")})
	})
}

// TestGatewaySelectErrors compares SELECT's errors, which the gateway
// partly answers itself, outside and inside a transaction.
func TestGatewaySelectErrors(t *testing.T) {
	eachGatewayProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll([][]string{
			cmd("SELECT -1"), cmd("SELECT 16"), cmd("SELECT abc"), cmd("SELECT 1.5"), {"SELECT", ""},
			cmd("SELECT 2147483647"), cmd("SELECT 2147483648"), cmd("SELECT -2147483649"),
			cmd("SELECT 2147483649"), cmd("SELECT 99999999999"), cmd("SELECT 9223372036854775808"),
			cmd("SET k v"), cmd("GET k"),
		})
		p.checkAll([][]string{cmd("MULTI"), cmd("SELECT abc"), cmd("SELECT 99999999999"), cmd("GET k"),
			cmd("EXEC"), cmd("GET k")})
	})
}

// TestGatewayWatch runs WATCH on a pinned connection while other clients,
// on the shared connections, change (or do not change) the keys.
func TestGatewayWatch(t *testing.T) {
	eachGatewayProtocol(t, func(t *testing.T, p *pair, proto int) {
		o, o2 := p.conn2(), p.conn2()
		p.checkAll([][]string{cmd("SET k 1"), cmd("WATCH k"), cmd("GET k")})
		o.check("INCR", "k")
		p.checkAll([][]string{cmd("MULTI"), cmd("SET k mine"), cmd("EXEC"), cmd("GET k")})
		// Not invalidated: reads, other keys, another database.
		p.checkAll([][]string{cmd("WATCH k other")})
		o.checkAll([][]string{cmd("GET k"), cmd("SET unrelated 1"), cmd("SELECT 3"), cmd("SET k elsewhere"), cmd("SELECT 0")})
		o2.checkAll([][]string{cmd("EXISTS k other"), cmd("TTL k")})
		p.checkAll([][]string{cmd("MULTI"), cmd("INCR k"), cmd("SET other x"), cmd("EXEC")})
		// Invalidated by the second of two clients.
		p.check("WATCH", "k", "other")
		o.check("GET", "other")
		o2.check("DEL", "other")
		p.checkAll([][]string{cmd("MULTI"), cmd("SET k lost"), cmd("EXEC"), cmd("GET k")})
		// UNWATCH gives the connection back; the next WATCH starts afresh.
		p.checkAll([][]string{cmd("WATCH k"), cmd("UNWATCH")})
		o.check("SET", "k", "after unwatch")
		p.checkAll([][]string{cmd("MULTI"), cmd("GET k"), cmd("EXEC")})
		// A transaction of another client between WATCH and EXEC.
		p.check("WATCH", "k")
		o.checkAll([][]string{cmd("MULTI"), cmd("SET k fromtx"), cmd("EXEC")})
		p.checkAll([][]string{cmd("MULTI"), cmd("GET k"), cmd("EXEC")})
		// DISCARD drops the WATCH too.
		p.checkAll([][]string{cmd("WATCH k"), cmd("MULTI"), cmd("DISCARD")})
		o.check("SET", "k", "after discard")
		p.checkAll([][]string{cmd("MULTI"), cmd("GET k"), cmd("EXEC")})
	})
}

// TestGatewayBlocking blocks clients on pinned connections and serves
// them from others, with pipelined commands behind the blocked one.
func TestGatewayBlocking(t *testing.T) {
	eachGatewayProtocol(t, func(t *testing.T, p *pair, proto int) {
		a, b := p.conn2(), p.conn2()
		if proto == 3 {
			a.helloBoth()
			b.helloBoth()
		}
		p.block(a, 1, "BLPOP", "q", "0")
		p.block(b, 2, "BRPOP", "q", "0")
		p.check("RPUSH", "q", "first", "second")
		a.expectBoth("BLPOP q 0")
		b.expectBoth("BRPOP q 0")
		// A pipeline: a command before, the blocked one, commands after.
		a.sendBoth("SET", "before", "1")
		a.sendBoth("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
		a.sendBoth("GET", "before")
		a.sendBoth("LRANGE", "dst", "0", "-1")
		a.expectBoth("SET before")
		p.waitBlockedBoth(p, 1)
		p.check("RPUSH", "src", "moved")
		a.expectBoth("BLMOVE")
		a.expectBoth("GET before")
		a.expectBoth("LRANGE dst")
		// Served inside another client's transaction.
		p.block(a, 1, "BZPOPMIN", "z", "0")
		p.checkAll([][]string{cmd("MULTI"), cmd("ZADD z 1 one 2 two"), cmd("ZCARD z"), cmd("EXEC")})
		a.expectBoth("BZPOPMIN z 0 after EXEC")
		// A timeout, then the client is free again.
		a.check("BLPOP", "never", "0.01")
		a.check("PING")
		// WATCH, then a blocking command on the same pinned connection.
		a.check("WATCH", "q")
		p.block(b, 1, "BLPOP", "q", "0")
		p.check("LPUSH", "q", "x")
		b.expectBoth("BLPOP after a WATCH elsewhere")
		a.checkAll([][]string{cmd("BLPOP q 0.01"), cmd("MULTI"), cmd("LLEN q"), cmd("EXEC")})
	})
}

// TestGatewayPubSub subscribes on one connection and publishes from
// another, RESP3 pushes interleaved with ordinary replies.
func TestGatewayPubSub(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ps := newPSPair(t, proto)
			ps.subDo(2, "SUBSCRIBE", "news", "sport")
			ps.subDo(1, "PSUBSCRIBE", "n*")
			ps.publish(2, false, "PUBLISH", "news", "one")
			ps.publish(1, false, "PUBLISH", "sport", "two")
			ps.publish(1, false, "PUBLISH", "nothing", "three")
			ps.pubCheck("PUBLISH", "other", "four")
			ps.subDo(1, "PING")
			if proto == 3 {
				// A RESP3 subscriber runs every command.
				ps.subDo(1, "SET", "k", "v")
				ps.publish(2, false, "PUBLISH", "news", "between")
				ps.subDo(1, "GET", "k")
				ps.subDo(1, "HSET", "h", "f", "v")
				ps.subDo(1, "HGETALL", "h")
			}
			ps.subDo(1, "UNSUBSCRIBE", "sport")
			ps.subDo(1, "UNSUBSCRIBE")
			ps.publish(1, false, "PUBLISH", "news", "pattern only")
			ps.subDo(1, "PUNSUBSCRIBE")
			ps.pubCheck("PUBLISH", "news", "nobody")
			ps.subDo(1, "GET", "k")
			// The backend connection the subscriber gave back carries
			// nothing to the clients that get it next.
			var next [2]*rawConn
			for i, c := range ps.pub {
				next[i] = dialRaw(t, c.name+" next", c.nc.RemoteAddr().String())
			}
			for _, args := range [][]string{cmd("WATCH k"), cmd("PUBLISH news late"), cmd("GET k"),
				cmd("MULTI"), cmd("PUBLISH n1 late"), cmd("EXEC"), cmd("PING")} {
				want, got := next[0].do(args...), next[1].do(args...)
				if !bytes.Equal(want, got) {
					t.Errorf("next client %s\n redis-server: %q\n gateway:      %q", fmtCmd(args), want, got)
				}
			}
		})
	}
}

// tryRead reads one reply within d; it returns an error instead of
// failing when none comes.
func tryRead(c *rawConn, d time.Duration) ([]byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	raw, err := c.rd.ReadRaw()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(raw), nil
}

// blockedWithin polls CLIENT LIST on c until n clients are blocked, for
// at most d.
func blockedWithin(c *rawConn, n int, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(2 * time.Millisecond) {
		if blockedCount(c.do("CLIENT", "LIST")) == n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestGatewayPushesWhileBlocked blocks a RESP3 client that subscribes or
// tracks keys: Redis delivers its pushes while it is blocked.
func TestGatewayPushesWhileBlocked(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	p.helloBoth()
	o := p.conn2()
	p.checkAll([][]string{cmd("SUBSCRIBE ch"), cmd("CLIENT TRACKING ON"), cmd("GET k")})
	p.sendBoth("BLPOP", "q", "0")
	for _, c := range []*rawConn{o.oracle, o.us} {
		if !blockedWithin(c, 1, 10*time.Second) {
			t.Fatalf("%s: BLPOP did not block", c.name)
		}
	}
	for _, step := range []struct {
		what string
		args []string
	}{
		{"a message while blocked", cmd("PUBLISH ch m")},
		{"an invalidation while blocked", cmd("SET k changed")},
	} {
		o.check(step.args...)
		want, err := tryRead(p.oracle, 2*time.Second)
		if err != nil {
			t.Fatalf("redis-server: %s: %v", step.what, err)
		}
		if got, err := tryRead(p.us, 2*time.Second); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %q (%v), want %q", step.what, got, err, want)
		}
	}
}

// TestGatewayUnsubscribeUnpinned unsubscribes a client that has no
// subscription (so no pinned connection): under RESP3 the confirmation
// is a push frame, and it is the reply. Other clients' replies, on the
// same shared connections, stay theirs.
func TestGatewayUnsubscribeUnpinned(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			p := newPair(t)
			p.check("SET", "k", "v")
			others := []*pair{p.conn2(), p.conn2()}
			for _, o := range append(others, p) {
				if proto == 3 {
					o.helloBoth()
				}
			}
			for _, args := range [][]string{cmd("UNSUBSCRIBE"), cmd("PUNSUBSCRIBE"), cmd("SUNSUBSCRIBE"),
				cmd("UNSUBSCRIBE nope"), cmd("PING")} {
				p.sendBoth(args...)
				for _, o := range others {
					o.sendBoth("GET", "k")
				}
				for i, c := range append([]*pair{p}, others...) {
					want, err := tryRead(c.oracle, 2*time.Second)
					if err != nil {
						t.Fatalf("redis-server: %v", err)
					}
					got, err := tryRead(c.us, 2*time.Second)
					if err != nil || !bytes.Equal(want, got) {
						t.Fatalf("client %d after %s\n redis-server: %q\n gateway:      %q (%v)", i, fmtCmd(args), want, got, err)
					}
				}
			}
		})
	}
}

// TestGatewayTracking checks client-side caching with RESP3 invalidation
// pushes, the tracking connection pinned.
func TestGatewayTracking(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	p.helloBoth()
	o := p.conn2()
	p.checkAll([][]string{cmd("SET k v"), cmd("CLIENT TRACKING ON"), cmd("GET k"), cmd("CLIENT GETREDIR")})
	o.check("SET", "k", "changed")
	p.expectBoth("invalidation after another client's SET")
	p.checkAll([][]string{cmd("GET k"), cmd("MGET k k2")})
	o.check("DEL", "k")
	p.expectBoth("invalidation after another client's DEL")
	o.check("SET", "k2", "x")
	p.expectBoth("invalidation of the second key")
	p.check("FLUSHDB")
	p.expectBoth("invalidation of everything after the client's own FLUSHDB")
	p.checkAll([][]string{cmd("CLIENT TRACKING OFF"), cmd("GET k")})
	o.check("SET", "k", "untracked")
	p.check("PING")
	// Broadcasting mode with a prefix.
	p.check("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:")
	o.check("SET", "user:1", "ada")
	p.expectBoth("broadcast invalidation")
	o.check("SET", "other:1", "x")
	p.check("PING")
	p.check("CLIENT", "TRACKING", "OFF")
	p.check("PING")
}

// TestGatewayPushOrder checks where pushes caused by the client's own
// command go among its replies: Redis writes the invalidation of a key
// the client itself changed after that command's reply, and the message
// a client publishes to itself before the PUBLISH reply; a reply that
// comes later stays later. The commands are sent in one write.
func TestGatewayPushOrder(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	p.helloBoth()
	oneWrite := func(n int, cmds ...[]string) {
		t.Helper()
		var raw []byte
		for _, args := range cmds {
			bs := make([][]byte, len(args))
			for i, a := range args {
				bs[i] = []byte(a)
			}
			raw = resp.AppendCommand(raw, bs...)
		}
		var got [2][]string
		for i, c := range []*rawConn{p.oracle, p.us} {
			if _, err := c.nc.Write(raw); err != nil {
				t.Fatal(err)
			}
			for range n {
				got[i] = append(got[i], string(c.read()))
			}
		}
		if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
			t.Errorf("%q in one write\n redis-server: %q\n gateway:      %q", cmds, got[0], got[1])
		}
	}
	p.checkAll([][]string{cmd("CLIENT TRACKING ON"), cmd("GET mine")})
	oneWrite(3, cmd("SET mine 1"), cmd("PING"))
	p.checkAll([][]string{cmd("CLIENT TRACKING OFF"), cmd("SUBSCRIBE self")})
	oneWrite(3, cmd("PUBLISH self me"), cmd("PING"))
}

// gatewayQueueRefusal is the gateway's answer to a command it cannot
// queue in a transaction (an intended difference: see docs/gateway.md).
func gatewayQueueRefusal(name string) string {
	return "-ERR '" + name + "' cannot be queued in a transaction through Redoubt's gateway\r\n"
}

// doUs sends a command to the gateway only and checks its reply.
func doUs(t *testing.T, p *pair, want string, args ...string) {
	t.Helper()
	if got := string(p.us.do(args...)); got != want {
		t.Fatalf("gateway %q: got %q, want %q", args, got, want)
	}
}

// TestGatewayTrackingStateInMulti: CLIENT TRACKING inside a transaction
// is refused by the gateway (its effect at EXEC would be out of the
// gateway's sight) and the transaction is aborted; tracking stays on, so
// the client still gets its invalidations, and nobody else does.
func TestGatewayTrackingStateInMulti(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	p.helloBoth()
	p.checkAll([][]string{cmd("SET secret:k v"), cmd("CLIENT TRACKING ON"), cmd("GET secret:k")})
	doUs(t, p, "+OK\r\n", "MULTI")
	doUs(t, p, gatewayQueueRefusal("client|tracking"), "CLIENT", "TRACKING", "OFF")
	doUs(t, p, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
	// Another RESP3 client takes a dedicated connection (WATCH).
	b := p.conn2()
	b.helloBoth()
	b.check("WATCH", "x")
	o := p.conn2()
	o.us.do("SET", "secret:k", "changed")
	if got, err := tryRead(p.us, 2*time.Second); err != nil || !strings.Contains(string(got), "invalidate") {
		t.Errorf("tracking client after a refused CLIENT TRACKING OFF: got %q (%v), want its invalidation", got, err)
	}
	// b gets only its own replies.
	if got := string(b.us.do("PING")); got != "+PONG\r\n" {
		t.Errorf("the other client: %q", got)
	}
}

// TestGatewayMultiQueuesOwnCommands puts commands the gateway answers
// itself inside a transaction: the gateway cannot run them at EXEC, so it
// refuses them at queue time and EXEC aborts (redis-server would queue
// them; an intended difference).
func TestGatewayMultiQueuesOwnCommands(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	doUs(t, p, "+OK\r\n", "MULTI")
	doUs(t, p, "+QUEUED\r\n", "SET", "a", "1")
	doUs(t, p, gatewayQueueRefusal("client|getname"), "CLIENT", "GETNAME")
	doUs(t, p, gatewayQueueRefusal("acl|whoami"), "ACL", "WHOAMI")
	doUs(t, p, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
	doUs(t, p, "$-1\r\n", "GET", "a")
	doUs(t, p, "+PONG\r\n", "PING")
}

// TestGatewaySubscribeInMulti: SUBSCRIBE inside a transaction is refused
// by the gateway and the transaction aborted, so no backend connection
// is left subscribed behind the gateway's back: the client is not
// subscribed, and no other client ever gets the channel's messages.
func TestGatewaySubscribeInMulti(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			p := newPair(t)
			if proto == 3 {
				p.helloBoth()
			}
			doUs(t, p, "+OK\r\n", "MULTI")
			doUs(t, p, gatewayQueueRefusal("subscribe"), "SUBSCRIBE", "secret")
			doUs(t, p, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
			b := p.conn2()
			if proto == 3 {
				b.helloBoth()
			}
			b.check("SUBSCRIBE", "news")
			o := p.conn2()
			if got := string(o.us.do("PUBLISH", "secret", "the password")); got != ":0\r\n" {
				t.Errorf("PUBLISH secret: %q subscribers, want none", got)
			}
			o.check("PUBLISH", "news", "public")
			b.expectBoth("the next message of a client subscribed to news only")
			doUs(t, p, "+PONG\r\n", "PING")
		})
	}
}

// TestGatewayExecAbortedByBackend lets the backend abort a transaction
// (a command refused at queue time: OOM with maxmemory 1 on both
// servers). The transaction is over: EXEC again is "without MULTI", and
// the connection subscribes as any other.
func TestGatewayExecAbortedByBackend(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			p := newGatewayPair(t, "--maxmemory", "1")
			if proto == 3 {
				p.helloBoth()
			}
			p.checkAll([][]string{cmd("MULTI"), cmd("SET a 1"), cmd("EXEC"), cmd("NOSUCH"), cmd("EXEC"),
				cmd("MULTI"), cmd("PING"), cmd("EXEC")})
			p.checkAll([][]string{cmd("MULTI"), cmd("SET a 1"), cmd("EXEC"), cmd("SUBSCRIBE ch")})
			o := p.conn2()
			o.check("PUBLISH", "ch", "hello")
			want, err := tryRead(p.oracle, 2*time.Second)
			if err != nil {
				t.Fatalf("redis-server: no message: %v", err)
			}
			if got, err := tryRead(p.us, 2*time.Second); err != nil || !bytes.Equal(got, want) {
				t.Errorf("subscriber after a transaction the backend aborted: got %q (%v), want %q", got, err, want)
			}
		})
	}
}

// TestGatewayProtocolSwitch changes the protocol with HELLO while the
// client holds a pinned backend connection (WATCH, MULTI, SELECT, a
// subscription): the replies that follow are in the new protocol, for
// this client and for the clients that get its backend connection next.
func TestGatewayProtocolSwitch(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	hello := func(t *testing.T, p *pair, v string) {
		t.Helper()
		for _, c := range []*rawConn{p.oracle, p.us} {
			if reply := c.do("HELLO", v); !bytes.HasPrefix(reply, []byte(map[string]string{"2": "*", "3": "%"}[v])) {
				t.Fatalf("%s: HELLO %s: %q", c.name, v, reply)
			}
		}
	}
	t.Run("pinned", func(t *testing.T) {
		p := newPair(t)
		o := p.conn2()
		p.checkAll([][]string{cmd("HSET h f v g w"), cmd("WATCH h"), cmd("HGETALL h")})
		hello(t, p, "3")
		p.checkAll([][]string{cmd("HGETALL h"), cmd("ZADD z 1.5 m"), cmd("ZSCORE z m"), cmd("MULTI"), cmd("HGETALL h"),
			cmd("ZSCORE z m"), cmd("EXEC")})
		p.checkAll([][]string{cmd("SELECT 4"), cmd("HSET h4 a b"), cmd("HGETALL h4")})
		hello(t, p, "2")
		p.checkAll([][]string{cmd("HGETALL h4"), cmd("ZSCORE z m"), cmd("SUBSCRIBE c")})
		o.check("PUBLISH", "c", "resp2")
		p.expectBoth("RESP2 message")
		p.checkAll([][]string{cmd("UNSUBSCRIBE c"), cmd("HGETALL h4")})
	})
	t.Run("given back", func(t *testing.T) {
		p := newPair(t)
		p.check("HSET", "h", "f", "v", "g", "w")
		// a switches to RESP3 on a pinned connection, then gives it back.
		a := p.conn2()
		a.check("WATCH", "k")
		hello(t, a, "3")
		a.check("UNWATCH")
		// b switches to RESP2 on a pinned connection, then gives it back.
		b := p.conn2()
		hello(t, b, "3")
		b.check("SELECT", "4")
		hello(t, b, "2")
		b.check("SELECT", "0")
		// Clients that never switched take dedicated connections.
		for _, proto := range []int{2, 3} {
			c := p.conn2()
			if proto == 3 {
				c.helloBoth()
			}
			c.checkAll([][]string{cmd("WATCH h"), cmd("HGETALL h"), cmd("MULTI"), cmd("HGETALL h"), cmd("EXEC")})
		}
	})
}

// TestGatewayPipeline sends one write of commands that move the client
// between the shared connections and a pinned one (SELECT, MULTI, WATCH,
// a blocking command, a subscription), and a long pipeline past the
// gateway's bound on requests in flight; the replies must be the same
// bytes in the same order.
func TestGatewayPipeline(t *testing.T) {
	eachGatewayProtocol(t, func(t *testing.T, p *pair, proto int) {
		lines := [][]string{
			cmd("SET a 1"), cmd("GET a"), cmd("SELECT 2"), cmd("SET a 2"), cmd("GET a"), cmd("MULTI"), cmd("INCR a"),
			cmd("GET a"), cmd("EXEC"), cmd("SELECT 0"), cmd("GET a"), cmd("WATCH a"), cmd("GET a"), cmd("UNWATCH"),
			cmd("BLPOP nolist 0.01"), cmd("RPUSH l x"), cmd("BLPOP l 0"), cmd("MULTI"), cmd("NOSUCH"), cmd("EXEC"),
			cmd("SUBSCRIBE c"), cmd("PING"), cmd("UNSUBSCRIBE c"), cmd("GET a"), cmd("CONFIG SET dir /tmp"),
			cmd("ECHO end"),
		}
		for i := range 600 {
			lines = append(lines, cmd("INCR n"), cmd("APPEND s "+strconv.Itoa(i)))
			if i%150 == 0 {
				lines = append(lines, cmd("SELECT 1"), cmd("INCR n"), cmd("SELECT 0"))
			}
		}
		lines = append(lines, cmd("GET n"), cmd("STRLEN s"))
		var raw []byte
		for _, args := range lines {
			bs := make([][]byte, len(args))
			for i, a := range args {
				bs[i] = []byte(a)
			}
			raw = resp.AppendCommand(raw, bs...)
		}
		var got [2][][]byte
		for i, c := range []*rawConn{p.oracle, p.us} {
			_ = c.nc.SetDeadline(time.Now().Add(20 * time.Second))
			go func() { _, _ = c.nc.Write(raw) }()
			for range lines {
				got[i] = append(got[i], c.read())
			}
		}
		for i, args := range lines {
			if args[0] == "CONFIG" {
				if string(got[1][i]) != refusal("CONFIG SET") {
					t.Errorf("%s: %q", fmtCmd(args), got[1][i])
				}
				continue
			}
			if !bytes.Equal(got[0][i], got[1][i]) {
				t.Errorf("pipeline command %d, %s\n redis-server: %q\n gateway:      %q", i, fmtCmd(args), got[0][i], got[1][i])
				break
			}
		}
	})
}

// TestGatewayInline sends inline commands (allowed from loopback), which
// the gateway forwards encoded as RESP.
func TestGatewayInline(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	in := "SET a hello\r\nGET a\r\nSET \"with space\" \"v a l\"\r\nGET \"with space\"\r\nSELECT 3\r\n" +
		"SET a three\r\nMULTI\r\nINCR n\r\nGET a\r\nEXEC\r\nSELECT 0\r\nGET a\r\nPING\r\nECHO 'x y'\r\n" +
		"RPUSH l v\r\nBLPOP l 0\r\n"
	const n = 16
	var got [2][]byte
	for i, c := range []*rawConn{p.oracle, p.us} {
		_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.nc.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		for range n {
			got[i] = append(got[i], c.read()...)
		}
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Errorf("inline commands\n redis-server: %q\n gateway:      %q", got[0], got[1])
	}
}

// TestGatewayConcurrentClients runs many clients at once, each on its own
// keys, so that their requests are pipelined together on the shared
// backend connections and interleaved with pinned ones; each client's
// replies must be what the same client gets from redis-server.
func TestGatewayConcurrentClients(t *testing.T) {
	oracle := testutil.StartRedis(t).Addr
	gw := startGatewayRedoubt(t)
	s := seed(t)
	steps := 300
	if testing.Short() {
		steps = 100
	}
	var wg sync.WaitGroup
	for i := range 16 {
		conns := [2]*rawConn{dialRaw(t, "redis-server", oracle), dialRaw(t, "gateway", gw)}
		wg.Go(func() {
			// No t.Fatal here: this is not the test's goroutine.
			if i%2 == 1 {
				for _, c := range conns {
					if _, err := doErr(c, "HELLO", "3"); err != nil {
						t.Errorf("client %d: %v", i, err)
						return
					}
				}
			}
			r := rand.New(rand.NewPCG(s, uint64(i)))
			for step := range steps {
				for _, args := range clientStep(r, "c"+strconv.Itoa(i)+":") {
					want, err := doErr(conns[0], args...)
					if err != nil {
						t.Errorf("client %d: %v", i, err)
						return
					}
					got, err := doErr(conns[1], args...)
					if err != nil || !bytes.Equal(want, got) {
						t.Errorf("client %d step %d %s\n redis-server: %q\n gateway:      %q (%v)", i, step, fmtCmd(args), want, got, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// doErr is rawConn.do for goroutines other than the test's: it returns
// the error instead of failing.
func doErr(c *rawConn, args ...string) ([]byte, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(resp.AppendCommand(nil, bs...)); err != nil {
		return nil, fmt.Errorf("%s: write %s: %w", c.name, fmtCmd(args), err)
	}
	raw, err := c.rd.ReadRaw()
	if err != nil {
		return nil, fmt.Errorf("%s: read the reply to %s: %w", c.name, fmtCmd(args), err)
	}
	return bytes.Clone(raw), nil
}

// clientStep returns a few commands of one client on keys under prefix,
// sometimes a transaction, a WATCH, a SELECT or a blocking command.
func clientStep(r *rand.Rand, prefix string) [][]string {
	k := func() string { return prefix + "k" + strconv.Itoa(r.IntN(4)) }
	v := strconv.Itoa(r.IntN(1000))
	switch r.IntN(16) {
	case 0:
		return [][]string{{"MULTI"}, {"INCR", prefix + "n"}, {"RPUSH", prefix + "l", v}, {"LLEN", prefix + "l"}, {"EXEC"}}
	case 1:
		kk := k()
		return [][]string{{"WATCH", kk}, {"GET", kk}, {"MULTI"}, {"SET", kk, v}, {"EXEC"}}
	case 2:
		db := strconv.Itoa(1 + r.IntN(3))
		return [][]string{{"SELECT", db}, {"SET", prefix + "db", db}, {"GET", prefix + "db"}, {"SELECT", "0"}}
	case 3:
		return [][]string{{"RPUSH", prefix + "q", v, v + "+"}, {"BLPOP", prefix + "q", "0"}, {"BRPOP", prefix + "q", prefix + "l", "0"}}
	case 4:
		return [][]string{{"HSET", prefix + "h", "f" + v, v}, {"HGET", prefix + "h", "f" + v}, {"HLEN", prefix + "h"}}
	case 5:
		return [][]string{{"ZADD", prefix + "z", v, "m" + v}, {"ZRANGE", prefix + "z", "0", "2", "WITHSCORES"}}
	case 6:
		return [][]string{{"SADD", prefix + "s", v}, {"SISMEMBER", prefix + "s", v}, {"SCARD", prefix + "s"}}
	case 7:
		return [][]string{{"MGET", k(), k(), k()}}
	case 8:
		return [][]string{{"DEL", k()}, {"EXISTS", k(), k()}}
	case 9:
		return [][]string{{"APPEND", k(), v}, {"STRLEN", k()}}
	case 10:
		return [][]string{{"INCRBY", prefix + "n", v}, {"GET", prefix + "n"}}
	case 11:
		return [][]string{{"ECHO", strings.Repeat(v, r.IntN(2000))}}
	default:
		return [][]string{{"SET", k(), v}, {"GET", k()}}
	}
}

// TestGatewayDirectRedisIsTheOracle makes sure the gateway tests compare
// with a real redis-server: the oracle's INFO names redis_version and no
// Redoubt, while the subject does not point at the oracle.
func TestGatewayDirectRedisIsTheOracle(t *testing.T) {
	t.Setenv(subjectEnv, "gateway")
	p := newPair(t)
	if p.oracleAddr == p.usAddr {
		t.Fatal("the oracle and the gateway are the same server")
	}
	if info := p.oracle.do("INFO", "server"); !bytes.Contains(info, []byte("redis_version:")) {
		t.Fatalf("oracle INFO: %q", info)
	}
	// A key written through the gateway is not in the oracle.
	p.us.do("SET", "only-behind-the-gateway", "1")
	if got := string(p.oracle.do("EXISTS", "only-behind-the-gateway")); got != ":0\r\n" {
		t.Fatalf("the oracle sees the gateway's key: %s", got)
	}
}
