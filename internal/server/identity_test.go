package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt/internal/acl"
	"redoubt/internal/auth"
	"redoubt/internal/command"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
	"redoubt/internal/totp"
)

// cheapParams keep argon2id fast in tests; the cost does not change what
// is tested.
var cheapParams = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testAccount compiles an account with one password and the given rules.
func testAccount(t *testing.T, tab *command.Table, name, password string, rules ...string) Account {
	t.Helper()
	tokens := []string{"on"}
	var hashes []*auth.Hash
	if password != "" {
		h, err := auth.HashPassword([]byte(password), cheapParams)
		if err != nil {
			t.Fatal(err)
		}
		ph, err := auth.ParseHash(h)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, ph)
		tokens = append(tokens, "#"+h)
	}
	u, err := acl.Compile(name, append(tokens, rules...), tab)
	if err != nil {
		t.Fatal(err)
	}
	return Account{User: u, Hashes: hashes}
}

const appPassword = "Correct-Horse-9"

// withAccounts starts a server whose only account is "app" (and a
// read-only "reader"), so every connection must AUTH.
func withAccounts(t *testing.T, change func(*Security, *command.Table), clock ...func() time.Time) (*Server, *monitor.Recorder) {
	t.Helper()
	tab := command.New()
	opts, rec := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{
			testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all"),
			testAccount(t, tab, "reader", appPassword, "role:read-only"),
		}
		if change != nil {
			change(sec, tab)
		}
	})
	opts.Table = tab
	if len(clock) > 0 {
		opts.Now = clock[0]
	}
	return startServer(t, opts), rec
}

func TestAuth(t *testing.T) {
	s, rec := withAccounts(t, nil)
	c := dial(t, s.Addrs()[0])
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"GET", "k"}, "-NOAUTH Authentication required.\r\n"},
		{[]string{"CONFIG", "SET", "dir", "/tmp"}, "-NOAUTH Authentication required.\r\n"},
		{[]string{"AUTH", "app", "wrong"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"AUTH", "nobody", appPassword}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"AUTH", appPassword}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"}, // no default account
		{[]string{"AUTH", "a", "b", "c"}, "-ERR syntax error\r\n"},
		{[]string{"AUTH", "app", ""}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"AUTH", "app", "\x00\xff\r\n"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"AUTH", "app", appPassword}, "+OK\r\n"},
		{[]string{"ACL", "WHOAMI"}, "$3\r\napp\r\n"},
		{[]string{"SET", "k", "v"}, "+OK\r\n"},
		{[]string{"AUTH", "reader", appPassword}, "+OK\r\n"},
		{[]string{"GET", "k"}, "$1\r\nv\r\n"},
		{[]string{"SET", "k", "w"}, "-NOPERM this user has no permissions to run the 'set' command\r\n"},
	}
	for _, st := range steps {
		if got := c.do(st.args...); got != st.want {
			t.Fatalf("%q: got %q, want %q", st.args, got, st.want)
		}
	}
	if n := rec.Count(monitor.AuthFailed); n != 5 {
		t.Fatalf("%d auth_failed events, want 5", n)
	}
	// HELLO 3 AUTH switches protocol and authenticates in one command.
	c2 := dial(t, s.Addrs()[0])
	if got := c2.do("HELLO", "3", "AUTH", "app", "nope"); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Fatalf("HELLO with a wrong password: %q", got)
	}
	if got := c2.do("HELLO", "3", "AUTH", "app", appPassword); !strings.HasPrefix(got, "%7\r\n") {
		t.Fatalf("HELLO 3 AUTH: %q", got)
	}
	if got := c2.do("GET", "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("after HELLO AUTH: %q", got)
	}
	// No event, log line or reply carries a password.
	for _, ev := range rec.Recent() {
		if strings.Contains(ev.Detail+ev.Account+ev.Addr, appPassword) || strings.Contains(ev.Detail, "wrong") {
			t.Fatalf("event carries a secret: %+v", ev)
		}
	}
}

func TestPreAuthLimits(t *testing.T) {
	s, _ := withAccounts(t, nil)
	c := dial(t, s.Addrs()[0])
	// An unauthenticated peer announcing a big bulk gets one error and
	// the door; nothing of that size is allocated.
	c.send("*2\r\n$4\r\nAUTH\r\n$1000000\r\n")
	if got := c.reply(); got != "-ERR Protocol error: unauthenticated bulk length\r\n" || !c.closed() {
		t.Fatalf("big pre-auth bulk: %q", got)
	}
	c = dial(t, s.Addrs()[0])
	c.send("*100\r\n")
	if got := c.reply(); got != "-ERR Protocol error: unauthenticated multibulk length\r\n" {
		t.Fatalf("many pre-auth args: %q", got)
	}
	// After AUTH the normal limits apply.
	c = dial(t, s.Addrs()[0])
	c.do("AUTH", "app", appPassword)
	big := strings.Repeat("x", 100_000)
	if got := c.do("SET", "big", big); got != "+OK\r\n" {
		t.Fatalf("authenticated big SET: %q", got)
	}
}

// TestAuthTimeout: a connection that does not authenticate in time is
// closed, even if it trickles bytes (slowloris), and an authenticated one
// is not.
func TestAuthTimeout(t *testing.T) {
	s, rec := withAccounts(t, func(sec *Security, _ *command.Table) { sec.AuthTimeout = 300 * time.Millisecond })
	ok := dial(t, s.Addrs()[0])
	ok.do("AUTH", "app", appPassword)
	slow := dial(t, s.Addrs()[0])
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range []byte("*2\r\n$4\r\nAUTH\r\n$3\r\nabc") {
			if _, err := slow.nc.Write([]byte{b}); err != nil {
				return
			}
			select {
			case <-time.After(20 * time.Millisecond): // the attacker's pace, not a wait for the server
			case <-t.Context().Done():
				return
			}
		}
	}()
	if !slow.closed() {
		t.Fatal("slow unauthenticated connection still open")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, auth timeout is 300ms", d)
	}
	<-done
	testutil.WaitFor(t, 5*time.Second, "auth_timeout event", func() bool { return rec.Count(monitor.AuthTimeout) == 1 })
	if got := ok.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("authenticated connection: %q", got)
	}
}

// TestRootExploit: the classic attack on an exposed Redis (write an SSH
// key with CONFIG SET dir/dbfilename and SAVE) works on redis-server and
// is refused at every step by Redoubt.
func TestRootExploit(t *testing.T) {
	target := t.TempDir()
	steps := [][]string{
		{"SET", "x", "\n\nssh-ed25519 AAAA attacker\n\n"},
		{"CONFIG", "SET", "dir", target},
		{"CONFIG", "SET", "dbfilename", "authorized_keys"},
		{"SAVE"},
	}
	// Redis 7 protects dir and dbfilename by default; before 7 (and with
	// this switch) the attack works.
	r := testutil.StartRedis(t, "--enable-protected-configs", "yes")
	rc := dial(t, r.Addr)
	for _, st := range steps {
		rc.do(st...)
	}
	if _, err := os.Stat(filepath.Join(target, "authorized_keys")); err != nil {
		t.Fatalf("the exploit did not work on redis-server (%v); the test proves nothing", err)
	}

	target = t.TempDir()
	steps[1][3] = target
	opts, rec := secureOpts(nil)
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	want := []string{
		"+OK\r\n",
		"-ERR command 'CONFIG SET' is disabled on this instance; change it in the admin console\r\n",
		"-ERR command 'CONFIG SET' is disabled on this instance; change it in the admin console\r\n",
		"-ERR command 'SAVE' is disabled on this instance; change it in the admin console\r\n",
	}
	for i, st := range steps {
		if got := c.do(st...); got != want[i] {
			t.Fatalf("%q: got %q, want %q", st, got, want[i])
		}
	}
	if _, err := os.Stat(filepath.Join(target, "authorized_keys")); err == nil {
		t.Fatal("authorized_keys written")
	}
	if n := rec.Count(monitor.CommandRefused); n != 3 {
		t.Fatalf("%d command_refused events, want 3", n)
	}
	for _, cmd := range [][]string{{"DEBUG", "SLEEP", "0"}, {"MODULE", "LIST"}, {"SHUTDOWN"}, {"MONITOR"}, {"EVAL", "return 1", "0"}, {"SCRIPT", "FLUSH"}, {"ACL", "SETUSER", "x"}, {"REPLICAOF", "1.2.3.4", "6379"}, {"BGSAVE"}, {"FLUSHALL"}} {
		got := c.do(cmd...)
		disabled := strings.Contains(got, "is disabled on this instance")
		if cmd[0] == "FLUSHALL" {
			// Not dangerous by default (operators can disable it).
			if got != "+OK\r\n" {
				t.Errorf("FLUSHALL: %q", got)
			}
		} else if !disabled {
			t.Errorf("%q: %q, want refused", cmd, got)
		}
	}
}

// TestConfigGet answers the harmless parameters as Redis does and never
// a path or a secret.
func TestConfigGet(t *testing.T) {
	r := testutil.StartRedis(t)
	rc := dial(t, r.Addr)
	opts, _ := secureOpts(nil)
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	for _, args := range [][]string{
		{"CONFIG", "GET", "databases"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "GET", "appendfsync"},
		{"CONFIG", "GET", "cluster-enabled"},
		{"CONFIG", "GET", "nosuchparam"},
	} {
		if got, want := c.do(args...), rc.do(args...); got != want {
			t.Errorf("%q: got %q, redis-server %q", args, got, want)
		}
	}
	for _, secret := range []string{"dir", "dbfilename", "requirepass", "masterauth", "logfile", "*"} {
		got := c.do("CONFIG", "GET", secret)
		for _, bad := range []string{"dir", "dbfilename", "requirepass", "masterauth", "logfile", "/"} {
			if strings.Contains(got, "$"+itoa(len(bad))+"\r\n"+bad+"\r\n") || strings.Contains(got, "/") {
				t.Errorf("CONFIG GET %s reveals %q: %q", secret, bad, got)
			}
		}
	}
}

func TestOperatorDisabledCommands(t *testing.T) {
	opts, _ := secureOpts(func(sec *Security) {
		sec.Disabled = []string{"flushall", "keys"}
		sec.Enabled = []string{"monitor"}
	})
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	if got := c.do("FLUSHALL"); got != "-ERR command 'FLUSHALL' is disabled on this instance; change it in the admin console\r\n" {
		t.Fatalf("FLUSHALL: %q", got)
	}
	if got := c.do("KEYS", "*"); !strings.Contains(got, "'KEYS' is disabled") {
		t.Fatalf("KEYS: %q", got)
	}
	// Some commands can never be enabled.
	sec := DefaultSecurity()
	sec.Enabled = []string{"config|set"}
	if _, err := New(Options{Security: &sec}); err == nil || !strings.Contains(err.Error(), "can never be enabled") {
		t.Fatalf("enabling CONFIG SET: %v", err)
	}
}

func TestACLDenialsAndLog(t *testing.T) {
	s, rec := withAccounts(t, func(sec *Security, tab *command.Table) {
		sec.Accounts = append(sec.Accounts, testAccount(t, tab, "tenant", appPassword, "~app:*", "%R~shared:*", "-@all", "+@read", "+@write", "+@connection", "-@dangerous"))
	})
	c := dial(t, s.Addrs()[0])
	c.do("AUTH", "tenant", appPassword)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"SET", "app:1", "v"}, "+OK\r\n"},
		{[]string{"SET", "other", "v"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"},
		{[]string{"GET", "shared:x"}, "$-1\r\n"},
		{[]string{"SET", "shared:x", "v"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"},
		{[]string{"FLUSHALL"}, "-NOPERM this user has no permissions to run the 'flushall' command\r\n"},
	}
	for _, st := range steps {
		if got := c.do(st.args...); got != st.want {
			t.Fatalf("%q: got %q, want %q", st.args, got, st.want)
		}
	}
	if n := rec.Count(monitor.CommandRefused); n != 3 {
		t.Fatalf("%d command_refused events, want 3", n)
	}
	log := c.do("ACL", "LOG")
	if !strings.HasPrefix(log, "*3\r\n") || !strings.Contains(log, "flushall") || !strings.Contains(log, "shared:x") {
		t.Fatalf("ACL LOG: %q", log)
	}
	// Another account does not see tenant's denials.
	o := dial(t, s.Addrs()[0])
	o.do("AUTH", "app", appPassword)
	if got := o.do("ACL", "LOG"); got != "*0\r\n" {
		t.Fatalf("app sees ACL LOG %q", got)
	}
	list := o.do("ACL", "LIST")
	if strings.Contains(list, "argon2") || strings.Contains(list, "#") {
		t.Fatalf("ACL LIST shows secrets: %q", list)
	}
}

func TestStepUp(t *testing.T) {
	secret := totp.NewSecret()
	clock := newFakeClock(1_700_000_000)
	tab := command.New()
	opts, rec := secureOpts(func(sec *Security) {
		a := testAccount(t, tab, "default", "", "nopass", "~*", "&*", "+@all")
		a.StepUp = []string{"flushall"}
		a.TOTP = secret
		sec.Accounts = []Account{a}
	})
	opts.Table = tab
	opts.Now = clock.Now
	s := startServer(t, opts)
	c := dial(t, s.Addrs()[0])
	if got := c.do("FLUSHALL"); got != "-"+stepUpReply+"\r\n" {
		t.Fatalf("FLUSHALL without step-up: %q", got)
	}
	if got := c.do("REDOUBT", "STEPUP", "000000"); !strings.HasPrefix(got, "-ERR invalid") {
		t.Fatalf("wrong code: %q", got)
	}
	code, err := totp.Generate(secret, clock.Now(), totp.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.do("REDOUBT", "STEPUP", code); got != "+OK\r\n" {
		t.Fatalf("STEPUP: %q", got)
	}
	if got := c.do("FLUSHALL"); got != "+OK\r\n" {
		t.Fatalf("FLUSHALL after step-up: %q", got)
	}
	// A code is accepted once, on any connection.
	c2 := dial(t, s.Addrs()[0])
	if got := c2.do("REDOUBT", "STEPUP", code); !strings.HasPrefix(got, "-ERR invalid or reused") {
		t.Fatalf("replayed code: %q", got)
	}
	// The step-up expires.
	clock.Add(StepUpValidity + time.Second)
	if got := c.do("FLUSHALL"); got != "-"+stepUpReply+"\r\n" {
		t.Fatalf("FLUSHALL after expiry: %q", got)
	}
	if rec.Count(monitor.StepUp) != 1 || rec.Count(monitor.StepUpFailed) != 2 {
		t.Fatalf("step-up events: %d ok, %d failed", rec.Count(monitor.StepUp), rec.Count(monitor.StepUpFailed))
	}
}

// TestLockout: after 20 failures from one address it is locked, and even
// the right password is refused with the same error; the lock ends.
func TestLockout(t *testing.T) {
	clock := newFakeClock(1_000_000)
	s, rec := withAccounts(t, func(sec *Security, _ *command.Table) {
		sec.Lockout = auth.DefaultLockoutOptions()
		sec.Lockout.BaseDelay = time.Millisecond
		sec.Lockout.MaxDelay = 2 * time.Millisecond
	}, clock.Now)
	c := dial(t, s.Addrs()[0])
	// 21 attempts: the 7th comes while the clock stands still and finds
	// its slot taken by the 6th's delay, so it is refused unverified and
	// does not count; the 21st is the 20th failure.
	for i := 0; i < 21; i++ {
		if got := c.do("AUTH", "app", "guess"); !strings.HasPrefix(got, "-WRONGPASS") {
			t.Fatalf("failure %d: %q", i, got)
		}
		// The clock stands still for the first attempts, so the 7th
		// waits for its slot (throttled); then it runs on, so the
		// delays do not pile up into a refusal.
		if i >= 6 {
			clock.Add(time.Second)
		}
	}
	if got := c.do("AUTH", "app", appPassword); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Fatalf("right password during a lock: %q", got)
	}
	if rec.Count(monitor.AuthLocked) < 1 || rec.Count(monitor.AuthThrottled) < 1 {
		t.Fatalf("events: %d locked, %d throttled", rec.Count(monitor.AuthLocked), rec.Count(monitor.AuthThrottled))
	}
	clock.Add(16 * time.Minute)
	if got := c.do("AUTH", "app", appPassword); got != "+OK\r\n" {
		t.Fatalf("after the lock: %q", got)
	}
}

// TestResetAuth: RESET goes back to the account a new connection gets.
func TestResetAuth(t *testing.T) {
	s, _ := withAccounts(t, nil)
	c := dial(t, s.Addrs()[0])
	c.do("AUTH", "app", appPassword)
	if got := c.do("RESET"); got != "+RESET\r\n" {
		t.Fatal(got)
	}
	if got := c.do("GET", "k"); got != "-NOAUTH Authentication required.\r\n" {
		t.Fatalf("after RESET: %q", got)
	}
	// With a password-less default account, RESET lands there.
	opts, _ := secureOpts(nil)
	s2 := startServer(t, opts)
	c2 := dial(t, s2.Addrs()[0])
	c2.do("RESET")
	if got := c2.do("ACL", "WHOAMI"); got != "$7\r\ndefault\r\n" {
		t.Fatalf("WHOAMI after RESET: %q", got)
	}
}

// TestUnlockEventWithoutRetry: the end of a lock is recorded even when the
// address never tries again.
func TestUnlockEventWithoutRetry(t *testing.T) {
	clock := newFakeClock(2_000_000)
	s, rec := withAccounts(t, func(sec *Security, _ *command.Table) {
		sec.Lockout = auth.DefaultLockoutOptions()
		sec.Lockout.DelayAfter = 100 // no throttling delays in this test
		sec.Lockout.LockAfter = 3
	}, clock.Now)
	c := dial(t, s.Addrs()[0])
	for i := 0; i < 3; i++ {
		c.do("AUTH", "app", "guess")
	}
	if rec.Count(monitor.AuthLocked) != 1 {
		t.Fatal("no lock")
	}
	clock.Add(16 * time.Minute)
	s.lockEvents(s.lockout.Sweep()) // what the janitor does every sweepInterval
	if rec.Count(monitor.AuthUnlocked) != 1 {
		t.Fatalf("%d unlock events", rec.Count(monitor.AuthUnlocked))
	}
}
