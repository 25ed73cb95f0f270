package server

import (
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"redoubt/internal/command"
	"redoubt/internal/resp"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// Adversarial review of the security-monitoring work (issue 10): INFO
// commandstats/errorstats against a real redis-server, SLOWLOG redaction,
// the gateway's merged INFO.

// rvStep is one command sent on one of several connections.
type rvStep struct {
	conn int
	raw  string   // sent as it is when set (no reply read if noReply)
	args []string // else sent as a command and its reply read
	// noReply: the server closes the connection after raw (protocol error);
	// read what comes until EOF.
	noReply bool
}

// rvRunStats runs steps on addr and returns INFO commandstats and
// errorstats, read on a fresh connection.
func rvRunStats(t *testing.T, addr string, steps []rvStep, infoAuth ...string) (cmd, errs map[string]map[string]string) {
	t.Helper()
	conns := map[int]*client{}
	get := func(i int) *client {
		if conns[i] == nil {
			conns[i] = dial(t, addr)
		}
		return conns[i]
	}
	for _, st := range steps {
		cl := get(st.conn)
		switch {
		case st.raw != "" && st.noReply:
			cl.send(st.raw)
			cl.closed() // reads the error reply, then waits for EOF
			cl.closed()
		case st.raw != "":
			cl.send(st.raw)
			cl.reply()
		default:
			cl.do(st.args...)
		}
	}
	info := dial(t, addr)
	if len(infoAuth) > 0 {
		if got := info.do(append([]string{"AUTH"}, infoAuth...)...); got != "+OK\r\n" {
			t.Fatalf("AUTH for INFO: %q", got)
		}
	}
	return infoFields(info.do("INFO", "commandstats")), infoFields(info.do("INFO", "errorstats"))
}

// rvBaseline reads INFO commandstats and errorstats before a sequence
// (testutil.StartRedis PINGs the server until it answers).
func rvBaseline(t *testing.T, addr string) (cmd, errs map[string]map[string]string) {
	t.Helper()
	return rvRunStats(t, addr, nil)
}

// rvSub subtracts a baseline from INFO fields (numbers only); fields
// that end up all zero are dropped, as INFO leaves them out.
func rvSub(now, base map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, f := range now {
		d := map[string]string{}
		nonzero := false
		for k, v := range f {
			n := atoiOr0(v) - atoiOr0(base[name][k])
			if _, err := strconv.Atoi(v); err != nil {
				d[k] = v
				continue
			}
			d[k] = itoa(n)
			if n != 0 && (k == "calls" || k == "rejected_calls" || k == "failed_calls" || k == "count") {
				nonzero = true
			}
		}
		if nonzero {
			out[name] = d
		}
	}
	return out
}

// rvOracle runs steps on a real redis-server and on Redoubt and
// compares the statistics the steps made.
func rvOracle(t *testing.T, redisAddr, addr string, steps []rvStep) (wantCmd, wantErr map[string]map[string]string) {
	t.Helper()
	bc, be := rvBaseline(t, redisAddr)
	wc, we := rvRunStats(t, redisAddr, steps)
	wantCmd, wantErr = rvSub(wc, bc), rvSub(we, be)
	// The baseline's own INFO calls are not compared.
	gotCmd, gotErr := rvRunStats(t, addr, steps)
	gotCmd = rvSub(gotCmd, nil)
	rvCompareStats(t, wantCmd, wantErr, gotCmd, gotErr)
	return wantCmd, wantErr
}

// rvCompareStats compares commandstats (calls, rejected_calls,
// failed_calls, every command but INFO) and errorstats.
func rvCompareStats(t *testing.T, wantCmd, wantErr, gotCmd, gotErr map[string]map[string]string) {
	t.Helper()
	names := map[string]bool{}
	for n := range wantCmd {
		names[n] = true
	}
	for n := range gotCmd {
		names[n] = true
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}) {
		if name == "cmdstat_info" {
			continue
		}
		w, g := wantCmd[name], gotCmd[name]
		for _, f := range []string{"calls", "rejected_calls", "failed_calls"} {
			if w[f] != g[f] {
				t.Errorf("%s %s: redis %q, redoubt %q", name, f, w[f], g[f])
			}
		}
	}
	for name, w := range wantErr {
		if g := gotErr[name]; g["count"] != w["count"] {
			t.Errorf("%s: redis %q, redoubt %q", name, w["count"], g["count"])
		}
	}
	for name := range gotErr {
		if wantErr[name] == nil {
			t.Errorf("%s: only Redoubt has it (%v)", name, gotErr[name])
		}
	}
}

// TestReviewCommandstatsSubscriberMode: in RESP2 subscriber mode Redis
// counts a refused command as a rejected call of that command, and PING
// as a call of PING. Redoubt's pubsubIntercept answers both without
// touching the statistics.
//
// Found failing at ca58a47, fixed in cd242f9: now a regression test.
func TestReviewCommandstatsSubscriberMode(t *testing.T) {
	r := testutil.StartRedis(t)
	s := startServer(t, Options{})
	steps := []rvStep{
		{conn: 1, args: []string{"SUBSCRIBE", "news"}},
		{conn: 1, args: []string{"GET", "k"}},      // refused: only (P|S)SUBSCRIBE … in this context
		{conn: 1, args: []string{"SET", "k", "v"}}, // refused too
		{conn: 1, args: []string{"PING"}},          // answered ["pong", ""]
		{conn: 1, args: []string{"PING", "x"}},
	}
	wantCmd, _ := rvOracle(t, r.Addr, s.Addrs()[0], steps)
	if wantCmd["cmdstat_get"]["rejected_calls"] != "1" {
		t.Errorf("oracle: redis-server did not reject GET in subscriber mode: %v", wantCmd)
	}
}

// TestReviewErrorstatsProtocolError: Redis answers a protocol error with
// "-ERR Protocol error: …", and counts it as an ERR error in errorstats
// (addReplyError); Redoubt counts it in total_error_replies only.
//
// Found failing at ca58a47, fixed in cd242f9: now a regression test.
func TestReviewErrorstatsProtocolError(t *testing.T) {
	r := testutil.StartRedis(t)
	s := startServer(t, Options{})
	steps := []rvStep{
		{conn: 1, args: []string{"SET", "k", "v"}},
		{conn: 2, raw: "*abc\r\n", noReply: true},
		{conn: 3, raw: "*1\r\n$x\r\n", noReply: true},
	}
	_, wantErr := rvOracle(t, r.Addr, s.Addrs()[0], steps)
	if wantErr["errorstat_ERR"]["count"] != "2" {
		t.Errorf("oracle: redis-server errorstats after two protocol errors: %v", wantErr)
	}
	// And errorstats must agree with total_error_replies of the same server.
	info := dial(t, s.Addrs()[0])
	total := infoFields(info.do("INFO", "stats"))["total_error_replies"][""]
	errs := infoFields(info.do("INFO", "errorstats"))
	sum := 0
	for _, f := range errs {
		sum += atoiOr0(f["count"])
	}
	if itoa(sum) != total {
		t.Errorf("errorstats add up to %d, total_error_replies is %s (%v)", sum, total, errs)
	}
}

func atoiOr0(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestReviewCommandstatsTransactionEdges: transaction commands used
// wrongly, checked call by call against redis-server (these hold up:
// regression test).
func TestReviewCommandstatsTransactionEdges(t *testing.T) {
	r := testutil.StartRedis(t)
	s := startServer(t, Options{})
	steps := []rvStep{
		{conn: 1, args: []string{"EXEC"}},
		{conn: 1, args: []string{"DISCARD"}},
		{conn: 1, args: []string{"MULTI"}},
		{conn: 1, args: []string{"MULTI"}},
		{conn: 1, args: []string{"WATCH", "x"}},
		{conn: 1, args: []string{"SET", "a", "1"}},
		{conn: 1, args: []string{"LPUSH", "a", "x"}}, // fails inside EXEC
		{conn: 1, args: []string{"EXEC"}},
		{conn: 1, args: []string{"MULTI"}},
		{conn: 1, args: []string{"NOSUCHCMD"}},
		{conn: 1, args: []string{"EXEC"}},
		{conn: 2, args: []string{"QUIT"}},
	}
	rvOracle(t, r.Addr, s.Addrs()[0], steps)
}

// TestReviewSlowlogHelloSetnameAuthLeaksPassword: HELLO's options are
// AUTH (two arguments) and SETNAME (one). A client named "auth" makes
// redactArgs take SETNAME's value for the AUTH option: it redacts the
// word AUTH and the user name, and leaves the password in the slow log,
// where any account allowed SLOWLOG GET reads it. Redis parses the options
// as HELLO does and redacts the two arguments after AUTH.
//
// Found failing at ca58a47, fixed in cd242f9: now a regression test.
func TestReviewSlowlogHelloSetnameAuthLeaksPassword(t *testing.T) {
	const secret = "hunter2-very-secret"
	r := testutil.StartRedis(t, "--slowlog-log-slower-than", "0")
	m := DefaultMonitoring()
	m.SlowlogSlowerThan = 0
	s := startServer(t, Options{Monitoring: &m})
	seq := [][]string{
		{"SLOWLOG", "RESET"},
		{"HELLO", "2", "SETNAME", "auth", "AUTH", "default", secret},
		{"HELLO", "2", "SETNAME", "AUTH", "AUTH", "default", secret},
	}
	run := func(addr string) []string {
		cl := dial(t, addr)
		for _, c := range seq {
			cl.do(c...)
		}
		return slowArgs(t, addr)
	}
	want, got := run(r.Addr), run(s.Addrs()[0])
	for _, e := range want {
		if strings.Contains(e, secret) {
			t.Fatalf("oracle: redis-server logged the password: %q", e)
		}
	}
	for _, e := range got {
		if strings.Contains(e, secret) {
			t.Errorf("the password reached Redoubt's slow log: %q", e)
		}
	}
	// Entries carry the client name, which differs after each HELLO;
	// compare the arguments.
	strip := func(es []string) []string {
		var out []string
		for _, e := range es {
			a, _, _ := strings.Cut(e, " name=")
			if strings.HasPrefix(a, "HELLO") {
				out = append(out, a)
			}
		}
		return out
	}
	if w, g := strip(want), strip(got); strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Errorf("HELLO entries differ:\nredis:   %q\nredoubt: %q", w, g)
	}
}

// TestReviewGatewayCommandstatsMergeDropsRefusals: a gateway's INFO
// commandstats adds the front door's refusals to the backend's figures
// (mergeInfoSection). additiveInfoField decides by the line's name, and
// any name holding "time", "_id", "port", "hz", "avg" … is "not
// additive", so for cmdstat_expiretime, cmdstat_pexpiretime,
// cmdstat_object|idletime, cmdstat_client|id … the refusals are silently
// dropped: refused EXPIRETIME calls never show, while refused GETs do.
// (TIME holds up: the gateway answers it itself.)
//
// Found failing at ca58a47, fixed in cd242f9: now a regression test.
func TestReviewGatewayCommandstatsMergeDropsRefusals(t *testing.T) {
	tab := command.New()
	r := testutil.StartRedis(t)
	opts, _ := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{
			testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all"),
			testAccount(t, tab, "limited", appPassword, "~*", "&*", "+@all", "-time", "-get", "-expiretime"),
		}
	})
	opts.Table = tab
	opts.Backend = Backend{Kind: BackendRedis, Target: upstream.Target{Network: "tcp", Addr: r.Addr}}
	s := startServer(t, opts)
	app := dial(t, s.Addrs()[0])
	if got := app.do("AUTH", "app", appPassword); got != "+OK\r\n" {
		t.Fatalf("AUTH app: %q", got)
	}
	lim := dial(t, s.Addrs()[0])
	if got := lim.do("AUTH", "limited", appPassword); got != "+OK\r\n" {
		t.Fatalf("AUTH limited: %q", got)
	}
	for _, c := range [][]string{{"TIME"}, {"GET", "k"}, {"EXPIRETIME", "k"}} {
		app.do(c...)
		if got := lim.do(c...); !strings.HasPrefix(got, "-NOPERM") {
			t.Fatalf("%v as limited: %q", c, got)
		}
	}
	cmd := infoFields(app.do("INFO", "commandstats"))
	for _, name := range []string{"cmdstat_get", "cmdstat_time", "cmdstat_expiretime"} {
		f := cmd[name]
		if f["calls"] != "1" || f["rejected_calls"] != "1" {
			t.Errorf("%s = %v, want calls=1 (the backend's) and rejected_calls=1 (the front door's)", name, f)
		}
	}
}

// TestReviewClusterCommandstatsUsecPerCall: a cluster instance sums the
// masters' commandstats, but keeps the first master's usec_per_call
// instead of computing usec/calls of the sums.
//
// Found failing at ca58a47, fixed in cd242f9: now a regression test.
func TestReviewClusterCommandstatsUsecPerCall(t *testing.T) {
	got := mergeInfoSection("commandstats", []string{
		"cmdstat_get:calls=1,usec=100,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r\n",
		"cmdstat_get:calls=99,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n",
	})
	f := infoFields(got)["cmdstat_get"]
	if f["calls"] != "100" || f["usec"] != "100" {
		t.Fatalf("sums: %q", got)
	}
	if f["usec_per_call"] != "1.00" {
		t.Errorf("usec_per_call = %s, want 1.00 (usec 100 / calls 100): %q", f["usec_per_call"], got)
	}
}

// TestReviewHotKeysGrantedByConnectionCategory: REDOUBT HOTKEYS and
// BIGKEYS show key names and are @admin @dangerous, but the REDOUBT
// container is tagged @connection, and a category rule on a container
// grants every subcommand (as in Redis's ACLChangeSelectorPerm). So an
// ordinary account with "+@read +@connection" — the usual rules of a
// read-only application that must AUTH, HELLO and CLIENT SETNAME — reads
// the names of every big and hot key of every tenant.
//
// Found failing at ca58a47, fixed in cd242f9: now a regression test.
func TestReviewHotKeysGrantedByConnectionCategory(t *testing.T) {
	tab := command.New()
	opts, _ := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{
			testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all"),
			testAccount(t, tab, "tenant", appPassword, "~tenant:*", "+@read", "+@connection"),
		}
	})
	opts.Table = tab
	opts.Monitoring = sampleAll()
	s := startServer(t, opts)
	app := dial(t, s.Addrs()[0])
	if got := app.do("AUTH", "app", appPassword); got != "+OK\r\n" {
		t.Fatalf("AUTH app: %q", got)
	}
	app.do("SET", "other:secret-customer-list", strings.Repeat("x", 2<<20))
	ten := dial(t, s.Addrs()[0])
	if got := ten.do("AUTH", "tenant", appPassword); got != "+OK\r\n" {
		t.Fatalf("AUTH tenant: %q", got)
	}
	if got := ten.do("GET", "other:secret-customer-list"); !strings.HasPrefix(got, "-NOPERM") {
		t.Fatalf("the tenant may read other keys: %.80q", got)
	}
	for _, sub := range []string{"HOTKEYS", "BIGKEYS"} {
		got := ten.do("REDOUBT", sub)
		if !strings.HasPrefix(got, "-NOPERM") {
			t.Errorf("REDOUBT %s for an account with +@read +@connection: %.200q, want NOPERM", sub, got)
		}
	}
}

// rvFakeSeed is a fake cluster node: CLUSTER SHARDS names one master,
// at host:port, serving every slot; PING is PONG, anything else +OK.
func rvFakeSeed(t *testing.T, host string, port int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	shards := "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*10\r\n" +
		"$2\r\nid\r\n$4\r\nabcd\r\n$4\r\nport\r\n:" + itoa(port) + "\r\n" +
		"$2\r\nip\r\n$" + itoa(len(host)) + "\r\n" + host + "\r\n" +
		"$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			go func() {
				rd := resp.NewReader(nc, resp.DefaultLimits())
				for {
					args, err := rd.ReadCommand()
					if err != nil {
						return
					}
					reply := "+OK\r\n"
					switch strings.ToUpper(string(args[0])) {
					case "CLUSTER":
						reply = shards
					case "PING":
						reply = "+PONG\r\n"
					}
					if _, err := io.WriteString(nc, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestReviewMetricsHostileClusterNodeName: a cluster instance exports
// redoubt_backend_node_up{node=<address>} with the address the cluster
// announced (CLUSTER SHARDS endpoint/ip), unchecked. A node (or anyone
// who can answer for a seed) announcing a host that is not valid UTF-8
// makes prometheus.MustNewConstMetric panic inside Collect. The registry
// recovers the panic (client_golang's safeCollect), so the process
// survives, but every scrape then fails for this instance with an error
// and loses every metric Collect would have sent after that line:
// redoubt_backend_up and the event file's metrics — the backend-down
// alert goes blind.
func TestReviewMetricsHostileClusterNodeName(t *testing.T) {
	seed := rvFakeSeed(t, "\xff\xfe.example", 7000)
	host, portStr, _ := net.SplitHostPort(seed)
	port, _ := strconv.Atoi(portStr)
	s := startServer(t, Options{Backend: Backend{Kind: BackendCluster,
		Seeds: []upstream.Target{{Network: "tcp", Addr: net.JoinHostPort(host, itoa(port))}}}})
	testutil.WaitFor(t, 5*time.Second, "the announced node in the cluster's stats", func() bool {
		for _, n := range s.cl.Stats().Nodes {
			if strings.Contains(n.Addr, "example") {
				return true
			}
		}
		return false
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Errorf("a scrape fails: %.300v", err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "redoubt_backend_up"
	}
	if !found {
		t.Errorf("redoubt_backend_up is missing from the scrape")
	}
}

// TestReviewCommandstatsAuthentication: before and after AUTH, checked
// against a redis-server with the same account (regression: holds up
// unless noted by the failures).
func TestReviewCommandstatsAuthentication(t *testing.T) {
	r := testutil.StartRedis(t)
	setup := dial(t, r.Addr)
	for _, c := range [][]string{
		{"ACL", "SETUSER", "app", "on", ">" + appPassword, "~*", "&*", "+@all"},
		{"ACL", "SETUSER", "reader", "on", ">" + appPassword, "~*", "+@read", "+@connection", "+@transaction"},
		{"CONFIG", "SET", "requirepass", "Some-Other-Pass-1"},
	} {
		if got := setup.do(c...); got != "+OK\r\n" {
			t.Fatalf("%v: %q", c, got)
		}
	}
	setup.do("AUTH", "Some-Other-Pass-1")
	setup.do("CONFIG", "RESETSTAT")
	tab := command.New()
	opts, _ := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{
			testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all"),
			testAccount(t, tab, "reader", appPassword, "~*", "+@read", "+@connection", "+@transaction"),
		}
	})
	opts.Table = tab
	s := startServer(t, opts)
	steps := []rvStep{
		{conn: 1, args: []string{"GET", "k"}},                 // NOAUTH: rejected
		{conn: 1, args: []string{"AUTH", "app", "wrong-one"}}, // WRONGPASS: failed
		{conn: 1, args: []string{"AUTH", "app", appPassword}},
		{conn: 1, args: []string{"SET", "k", "v"}},
		{conn: 2, args: []string{"AUTH", "reader", appPassword}},
		{conn: 2, args: []string{"GET", "k"}},
		{conn: 2, args: []string{"SET", "k", "w"}}, // NOPERM: rejected
		{conn: 2, args: []string{"MULTI"}},
		{conn: 2, args: []string{"SET", "k", "w"}}, // NOPERM while queueing
		{conn: 2, args: []string{"EXEC"}},          // EXECABORT
	}
	// The Redis side: read the stats as the admin (default) user.
	runRedis := func() (cmd, errs map[string]map[string]string) {
		conns := map[int]*client{}
		for _, st := range steps {
			if conns[st.conn] == nil {
				conns[st.conn] = dial(t, r.Addr)
			}
			conns[st.conn].do(st.args...)
		}
		setup.do("PING") // keeps setup's later INFO comparable
		return infoFields(setup.do("INFO", "commandstats")), infoFields(setup.do("INFO", "errorstats"))
	}
	wantCmd, wantErr := runRedis()
	delete(wantCmd, "cmdstat_ping")
	delete(wantCmd, "cmdstat_config|resetstat")
	gotCmd, gotErr := rvRunStats(t, s.Addrs()[0], steps, "app", appPassword)
	if a := gotCmd["cmdstat_auth"]; a != nil {
		// The INFO connection's own AUTH.
		a["calls"] = itoa(atoiOr0(a["calls"]) - 1)
	}
	rvCompareStats(t, wantCmd, wantErr, gotCmd, gotErr)
}

// TestReviewExecRefusedByACL: Redis answers an EXEC the account may not
// run with "-EXECABORT Transaction discarded because of: NOPERM …"
// (rejectCommand → execCommandAbort), so errorstats counts EXECABORT;
// Redoubt answers NOPERM and counts NOPERM. (Checked on redis-server 7.0.)
func TestReviewExecRefusedByACL(t *testing.T) {
	r := testutil.StartRedis(t)
	setup := dial(t, r.Addr)
	if got := setup.do("ACL", "SETUSER", "reader", "on", ">"+appPassword, "~*", "+@read", "+@connection"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	tab := command.New()
	opts, _ := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{
			testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all"),
			testAccount(t, tab, "reader", appPassword, "~*", "+@read", "+@connection"),
		}
	})
	opts.Table = tab
	s := startServer(t, opts)
	reply := func(addr string) string {
		c := dial(t, addr)
		if got := c.do("AUTH", "reader", appPassword); got != "+OK\r\n" {
			t.Fatalf("AUTH: %q", got)
		}
		return c.do("EXEC")
	}
	want, got := reply(r.Addr), reply(s.Addrs()[0])
	if !strings.HasPrefix(want, "-EXECABORT") {
		t.Fatalf("oracle: redis-server answered %q", want)
	}
	if got != want {
		t.Errorf("EXEC refused by the account's rules: redis %q, redoubt %q", want, got)
	}
}

// TestReviewClusterInfoLeaksBackendPassword: upstream.Do promises "the
// password is never part of an error", but wraps the backend's AUTH
// error text as it is, and a redis-server whose AUTH is renamed away
// echoes the arguments: "ERR unknown command 'AUTH', with args beginning
// with: '<password>'". A cluster instance shows the last topology error
// in INFO backend (cluster_topology_error), so any client allowed INFO
// reads the cluster password. (The scanner's evidence has the same leak:
// internal/scan TestReviewScanAuthErrorEchoLeaksPassword.)
func TestReviewClusterInfoLeaksBackendPassword(t *testing.T) {
	const pw = "Cluster-Secret-Password-42"
	r := testutil.StartRedis(t, "--rename-command", "AUTH", "")
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, DataDir: t.TempDir(), Backend: Backend{Kind: BackendCluster,
		Seeds: []upstream.Target{{Network: "tcp", Addr: r.Addr, Password: pw}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the start-up error holds the password: %v", err)
		}
		t.Skipf("the instance does not start without a topology: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	c := dial(t, s.Addrs()[0])
	info := c.do("INFO", "backend")
	if !strings.Contains(info, "cluster_topology_error") {
		t.Fatalf("no topology error in INFO backend: %q", info)
	}
	if strings.Contains(info, pw) {
		t.Errorf("INFO backend shows the cluster password: %q", info)
	}
}

// TestReviewErrorstatsBlockedReplyMisread: exec counts a blocked
// command's error with countError(mark), mark taken before waitBlocked;
// but waitBlocked flushes the replies before it, so mark points into the
// middle of the reply that comes when the command is served. A value
// that starts with '-' at that offset is counted as an error reply, and
// its first word becomes an error type: any client can put words of its
// choice (or of the data) into INFO errorstats and the
// redoubt_errors_total{type=…} metric, and inflate total_error_replies.
// (And a real error reply — UNBLOCKED — shorter than mark is missed.)
func TestReviewErrorstatsBlockedReplyMisread(t *testing.T) {
	s := startServer(t, Options{})
	cl := dial(t, s.Addrs()[0])
	// "+PONG\r\n" (7) + "$3\r\nabc\r\n" (9) = 16 bytes before BLPOP's reply;
	// BLPOP's reply "*2\r\n$1\r\nl\r\n$14\r\n" is 16 bytes before the value.
	const value = "-INJECTED by a"
	cl.send("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n")
	if got := cl.reply(); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}
	cl.reply()
	waitBlocked(t, s, 1)
	other := dial(t, s.Addrs()[0])
	other.do("LPUSH", "l", value)
	if got := cl.reply(); got != "*2\r\n$1\r\nl\r\n$14\r\n"+value+"\r\n" {
		t.Fatalf("BLPOP: %q", got)
	}
	info := dial(t, s.Addrs()[0])
	errs := info.do("INFO", "errorstats")
	total := infoFields(info.do("INFO", "stats"))["total_error_replies"][""]
	if strings.Contains(errs, "INJECTED") || total != "0" {
		t.Errorf("no command failed, yet total_error_replies=%s and errorstats: %q", total, errs)
	}
}

// TestReviewSlowlogSecretsElsewhere: REDOUBT STEPUP's code, AUTH inside
// MULTI/EXEC and HELLO with a lower-case auth never reach the slow log
// (regression: these hold up).
func TestReviewSlowlogSecretsElsewhere(t *testing.T) {
	m := DefaultMonitoring()
	m.SlowlogSlowerThan = 0
	s := startServer(t, Options{Monitoring: &m})
	cl := dial(t, s.Addrs()[0])
	secrets := []string{"913377", "Multi-Secret-1", "Lower-Secret-2", "Pipelined-Secret-3"}
	cl.do("REDOUBT", "STEPUP", secrets[0])
	cl.do("MULTI")
	cl.do("AUTH", "default", secrets[1])
	cl.do("EXEC")
	cl.do("hello", "2", "auth", "default", secrets[2])
	cl.do("AUTH", secrets[3])
	for _, e := range slowArgs(t, s.Addrs()[0]) {
		for _, sec := range secrets {
			if strings.Contains(e, sec) {
				t.Errorf("a secret reached the slow log: %q", e)
			}
		}
	}
}

// TestReviewGatewayCommandstatsDoubleCountsInfo: a gateway answers INFO
// itself (and counts it), and to do so sends INFO everything to the
// backend, which counts it too; mergeInfoSection adds the two, so every
// INFO a client runs shows as two calls (and Redoubt's own backend
// traffic — INFO, AUTH, HELLO of its pool — is reported as clients'
// commands). A backend used only through this gateway.
func TestReviewGatewayCommandstatsDoubleCountsInfo(t *testing.T) {
	s, _ := startGateway(t)
	c := dial(t, s.Addrs()[0])
	for range 3 {
		c.do("INFO", "server")
	}
	cmd := infoFields(c.do("INFO", "commandstats"))
	// Redis reports the INFO calls that finished before this one: 3.
	if got := cmd["cmdstat_info"]["calls"]; got != "3" {
		t.Errorf("after 3 INFO calls, cmdstat_info calls=%s, want 3", got)
	}
	// The client ran nothing else; Redoubt's own pool commands show.
	for name, f := range cmd {
		// testutil.StartRedis PINGs the redis-server itself until it
		// answers: that PING is the harness's, not Redoubt's.
		if name != "cmdstat_info" && name != "cmdstat_ping" {
			t.Errorf("%s %v: the client never ran it (Redoubt's own backend traffic)", name, f)
		}
	}
}

// TestReviewGatewayErrorRepliesMissBackendErrors: a gateway's errorstats
// include the backend's errors (WRONGTYPE, ERR not an integer), but
// total_error_replies and redoubt_error_replies_total — whose help says
// "those of a backend included" — count only the front door's own, so
// the two never agree (in Redis they are equal) and an alert on the
// metric misses every error the backend answers.
func TestReviewGatewayErrorRepliesMissBackendErrors(t *testing.T) {
	s, _ := startGateway(t)
	c := dial(t, s.Addrs()[0])
	c.do("SET", "a", "b")
	c.do("LPUSH", "a", "x") // WRONGTYPE, from the backend
	c.do("INCR", "a")       // ERR value is not an integer, from the backend
	c.do("GET")             // ERR wrong number of arguments, from Redoubt
	errs := infoFields(c.do("INFO", "errorstats"))
	sum := 0
	for _, f := range errs {
		sum += atoiOr0(f["count"])
	}
	total := infoFields(c.do("INFO", "stats"))["total_error_replies"][""]
	if itoa(sum) != total || total != "3" {
		t.Errorf("3 error replies: errorstats add up to %d (%v), total_error_replies=%s", sum, errs, total)
	}
	m := gather(t, s)
	if v := value(m["redoubt_error_replies_total"], nil); v != 3 {
		t.Errorf("redoubt_error_replies_total = %v, want 3", v)
	}
}

// TestReviewErrorTypesBounded: whatever error texts the server sees,
// errorstats keeps at most maxErrorTypes types and one more for the rest
// (regression: holds up; Redis instead resets and shows
// errorstat_ERRORSTATS_DISABLED, which no wire input of Redoubt's
// embedded engine reaches except through
// TestReviewErrorstatsBlockedReplyMisread).
func TestReviewErrorTypesBounded(t *testing.T) {
	st := newStats(command.New(), true)
	for i := range 5000 {
		st.failedWith([]byte("T" + itoa(i) + " attacker text"))
	}
	if n := len(st.errorCounts()); n > maxErrorTypes+1 {
		t.Errorf("%d error types kept", n)
	}
}

// TestReviewSlowlogHelloWithoutProtover: "HELLO AUTH user pass" (the
// protocol version forgotten, an easy slip) fails with "Protocol version
// is not an integer", and is still logged: redactArgs now starts at
// argument 2, taking argument 1 for the version, so the password is kept
// in the slow log. redis-server 7.0 logs it in clear too (its redaction
// runs only after the version parsed), but Redoubt's rule is that SLOWLOG
// never shows a secret: redact after any AUTH from argument 1 on.
func TestReviewSlowlogHelloWithoutProtover(t *testing.T) {
	const secret = "Forgot-Protover-Secret-7"
	m := DefaultMonitoring()
	m.SlowlogSlowerThan = 0
	s := startServer(t, Options{Monitoring: &m})
	cl := dial(t, s.Addrs()[0])
	if got := cl.do("HELLO", "AUTH", "default", secret); !strings.HasPrefix(got, "-ERR Protocol version") {
		t.Fatalf("HELLO AUTH …: %q", got)
	}
	for _, e := range slowArgs(t, s.Addrs()[0]) {
		if strings.Contains(e, secret) {
			t.Errorf("the password reached the slow log: %q", e)
		}
	}
}

// rvRecordingProxy forwards TCP connections to target and records what
// clients send.
func rvRecordingProxy(t *testing.T, target string) (addr string, sent func() string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf strings.Builder
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go func() { _, _ = io.Copy(in, out) }()
			go func() {
				b := make([]byte, 4096)
				for {
					n, err := in.Read(b)
					if n > 0 {
						mu.Lock()
						buf.Write(b[:n])
						mu.Unlock()
						if _, err := out.Write(b[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// TestReviewGatewaySubscriberForwardsAuth: in RESP2 subscriber mode a
// gateway sends every command it does not allow to the backend, so that
// the backend refuses it in Redis's words — AUTH and HELLO … AUTH too.
// A subscribed client's AUTH thus carries the Redoubt account's password
// to the backend (another host, another operator, its network), which
// never needed it. The refusal must be answered locally for commands
// that carry secrets (AUTH, HELLO, REDOUBT STEPUP).
func TestReviewGatewaySubscriberForwardsAuth(t *testing.T) {
	r := testutil.StartRedis(t)
	proxy, sent := rvRecordingProxy(t, r.Addr)
	tab := command.New()
	opts, _ := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all")}
	})
	opts.Table = tab
	opts.Backend = Backend{Kind: BackendRedis, Target: upstream.Target{Network: "tcp", Addr: proxy}}
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	if got := c.do("AUTH", "app", appPassword); got != "+OK\r\n" {
		t.Fatalf("AUTH: %q", got)
	}
	c.do("SUBSCRIBE", "news")
	got := c.do("AUTH", "app", appPassword)
	if !strings.HasPrefix(got, "-ERR") {
		t.Fatalf("AUTH in subscriber mode: %q", got)
	}
	if strings.Contains(sent(), appPassword) {
		t.Errorf("the client's Redoubt password was sent to the backend (reply %q)", got)
	}
}
