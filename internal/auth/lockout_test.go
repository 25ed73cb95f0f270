package auth

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for a Lockout.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var (
	attacker = netip.MustParseAddr("203.0.113.7")
	user     = netip.MustParseAddr("198.51.100.20")
)

// nthAddr returns a distinct IPv4 address for each i.
func nthAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func failN(l *Lockout, addr netip.Addr, account string, n int) []Event {
	var events []Event
	for range n {
		events = append(events, l.Failure(addr, account)...)
	}
	return events
}

func TestLockoutDelayThreshold(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {4, 0},
		{5, 100 * time.Millisecond},
		{6, 200 * time.Millisecond},
		{7, 400 * time.Millisecond},
		{10, 3200 * time.Millisecond},
		{11, 6400 * time.Millisecond},
		{12, 10 * time.Second}, // capped
		{19, 10 * time.Second},
	} {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			c := newClock()
			l := NewLockout(LockoutOptions{}, c.now)
			if ev := failN(l, attacker, "alice", tc.failures); len(ev) != 0 {
				t.Fatalf("events before the lock: %v", ev)
			}
			d, locked := l.Before(attacker, "alice")
			if locked || d != tc.want {
				t.Fatalf("Before = %v, %v; want %v, false", d, locked, tc.want)
			}
			if d, locked := l.Before(user, "alice"); d != 0 || locked {
				t.Fatalf("another address is throttled: %v, %v", d, locked)
			}
		})
	}
}

// TestLockoutSequential follows one client that obeys every delay.
func TestLockoutSequential(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	want := []time.Duration{0, 0, 0, 0, 0, 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000, 10000}
	for i, w := range want {
		d, locked := l.Before(attacker, "alice")
		if locked || d != w*time.Millisecond {
			t.Fatalf("attempt %d: Before = %v, %v; want %v", i+1, d, locked, w*time.Millisecond)
		}
		c.advance(d)
		if ev := l.Failure(attacker, "alice"); len(ev) != 0 {
			t.Fatalf("attempt %d: events %v", i+1, ev)
		}
	}
	// 52.7 s have passed. The next waits 10 s more, which closes the
	// one-minute window: the back-off starts again, the lock count does not.
	d, _ := l.Before(attacker, "alice")
	c.advance(d)
	l.Failure(attacker, "alice") // 17th failure, first of a new window
	if d, locked := l.Before(attacker, "alice"); d != 0 || locked {
		t.Fatalf("after the window: Before = %v, %v", d, locked)
	}
	l.Failure(attacker, "alice")
	ev := l.Failure(attacker, "alice") // 19th
	if len(ev) != 0 {
		t.Fatalf("locked early: %v", ev)
	}
	ev = l.Failure(attacker, "alice") // 20th
	if len(ev) != 1 || ev[0].Kind != Locked || ev[0].Scope != ScopeAddress || ev[0].Failures != 20 ||
		ev[0].Addr != attacker || ev[0].Account != "alice" || !ev[0].Until.Equal(c.now().Add(15*time.Minute)) {
		t.Fatalf("20th failure events = %+v", ev)
	}
}

func TestLockoutLock(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	if ev := failN(l, attacker, "alice", 19); len(ev) != 0 {
		t.Fatalf("events after 19: %v", ev)
	}
	if _, locked := l.Before(attacker, "alice"); locked {
		t.Fatal("locked after 19 failures")
	}
	ev := l.Failure(attacker, "alice")
	if len(ev) != 1 || ev[0].Kind != Locked {
		t.Fatalf("events after 20: %v", ev)
	}
	until := ev[0].Until
	steps := []struct {
		name   string
		after  time.Duration // since the lock
		addr   netip.Addr
		acct   string
		locked bool
	}{
		{"locked for the account", 0, attacker, "alice", true},
		{"locked for every account", 0, attacker, "bob", true},
		{"unknown account too", 0, attacker, "", true},
		{"other address free", 0, user, "alice", false},
		{"still locked just before", 15*time.Minute - time.Nanosecond, attacker, "alice", true},
		{"free at the end", 15 * time.Minute, attacker, "alice", false},
	}
	start := c.now()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c.mu.Lock()
			c.t = start.Add(st.after)
			c.mu.Unlock()
			d, locked := l.Before(st.addr, st.acct)
			if locked != st.locked || d != 0 {
				t.Fatalf("Before = %v, %v; want locked=%v", d, locked, st.locked)
			}
		})
	}
	if s := l.Stats(); s.LockedAddresses != 0 {
		t.Fatalf("stats after expiry: %+v", s)
	}
	t.Run("unlock reported once, counters fresh", func(t *testing.T) {
		ev := l.Failure(attacker, "alice")
		if len(ev) != 1 || ev[0].Kind != Unlocked || ev[0].Scope != ScopeAddress || !ev[0].Until.Equal(until) {
			t.Fatalf("events = %+v", ev)
		}
		if ev := failN(l, attacker, "alice", 18); len(ev) != 0 {
			t.Fatalf("events = %+v", ev)
		}
		if ev := l.Failure(attacker, "alice"); len(ev) != 1 || ev[0].Kind != Locked {
			t.Fatalf("20th failure after unlock: %+v", ev)
		}
	})
}

func TestLockoutLockWindow(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	failN(l, attacker, "alice", 19)
	c.advance(15 * time.Minute) // the lock window has closed
	if ev := failN(l, attacker, "alice", 19); len(ev) != 0 {
		t.Fatalf("locked across windows: %v", ev)
	}
}

func TestLockoutParallel(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	failN(l, attacker, "alice", 5)
	// Seven connections ask at once: each gets the next slot, spaced by a
	// growing delay, until the next slot is more than MaxDelay away.
	want := []time.Duration{100, 300, 700, 1500, 3100, 6300}
	for i, w := range want {
		d, locked := l.Before(attacker, "alice")
		if locked || d != w*time.Millisecond {
			t.Fatalf("connection %d: Before = %v, %v; want %v", i+1, d, locked, w*time.Millisecond)
		}
	}
	if _, locked := l.Before(attacker, "alice"); !locked {
		t.Fatal("connection 7 not refused")
	}
	// A minute later the window and the forgotten reservations lapse.
	c.advance(time.Minute)
	if d, locked := l.Before(attacker, "alice"); d != 0 || locked {
		t.Fatalf("after the window: %v, %v", d, locked)
	}
}

func TestLockoutSuccessResets(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	failN(l, user, "alice", 4)
	l.Success(user, "alice")
	failN(l, user, "alice", 4)
	if d, locked := l.Before(user, "alice"); d != 0 || locked {
		t.Fatalf("after success and 4 failures: %v, %v", d, locked)
	}
	l.Failure(user, "alice")
	if d, _ := l.Before(user, "alice"); d != 100*time.Millisecond {
		t.Fatalf("after 5 failures: %v", d)
	}
	// The lock count is reset too: 19 more do not lock.
	l.Success(user, "alice")
	if ev := failN(l, user, "alice", 19); len(ev) != 0 {
		t.Fatalf("events %v", ev)
	}
}

func TestLockoutAccount(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	l.Success(user, "alice") // the real user has logged in before
	// Failures from a known address do not count towards the account lock
	// (they still count for the address).
	failN(l, user, "alice", 19)
	for i := range 99 {
		if ev := l.Failure(nthAddr(i), "alice"); len(ev) != 0 {
			t.Fatalf("failure %d: events %v", i+1, ev)
		}
	}
	ev := l.Failure(nthAddr(99), "alice")
	if len(ev) != 1 || ev[0].Kind != Locked || ev[0].Scope != ScopeAccount || ev[0].Account != "alice" ||
		ev[0].Failures != 100 || ev[0].Addr != nthAddr(99) {
		t.Fatalf("100th failure: %+v", ev)
	}
	for _, tc := range []struct {
		name   string
		addr   netip.Addr
		acct   string
		locked bool
	}{
		{"attacking address", nthAddr(3), "alice", true},
		{"fresh address", netip.MustParseAddr("192.0.2.1"), "alice", true},
		{"loopback is not exempt", netip.MustParseAddr("127.0.0.1"), "alice", true},
		{"known address keeps working", user, "alice", false},
		{"neighbouring IPv4 address is not known", netip.MustParseAddr("198.51.100.21"), "alice", true},
		{"other account", nthAddr(3), "bob", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, locked := l.Before(tc.addr, tc.acct); locked != tc.locked {
				t.Fatalf("locked = %v, want %v", locked, tc.locked)
			}
		})
	}
	c.advance(15 * time.Minute)
	if _, locked := l.Before(nthAddr(3), "alice"); locked {
		t.Fatal("account still locked after 15 minutes")
	}
	ev = l.Sweep()
	if len(ev) != 1 || ev[0].Kind != Unlocked || ev[0].Scope != ScopeAccount || ev[0].Account != "alice" {
		t.Fatalf("Sweep events = %+v", ev)
	}
	if ev := l.Sweep(); len(ev) != 0 {
		t.Fatalf("second Sweep events = %+v", ev)
	}
}

func TestLockoutAddressKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   string
		shared bool
	}{
		{"same /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"different /64", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"zone ignored", "fe80::1%eth0", "fe80::2%eth1", true},
		{"v4-mapped is v4", "::ffff:192.0.2.1", "192.0.2.1", true},
		{"v4 exact", "192.0.2.1", "192.0.2.2", false},
		{"loopback v6", "::1", "::2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := NewLockout(LockoutOptions{}, c.now)
			failN(l, netip.MustParseAddr(tc.a), "alice", 5)
			d, _ := l.Before(netip.MustParseAddr(tc.b), "alice")
			if (d > 0) != tc.shared {
				t.Fatalf("delay for %s after failures from %s = %v, want shared=%v", tc.b, tc.a, d, tc.shared)
			}
		})
	}
	t.Run("no address (unix socket) is one bucket", func(t *testing.T) {
		l := NewLockout(LockoutOptions{}, newClock().now)
		ev := failN(l, netip.Addr{}, "alice", 20)
		if len(ev) != 1 || ev[0].Addr.IsValid() {
			t.Fatalf("events %+v", ev)
		}
		if _, locked := l.Before(netip.Addr{}, "alice"); !locked {
			t.Fatal("not locked")
		}
	})
}

func TestLockoutBoundedAddresses(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{MaxAddresses: 100, LockAfter: 2}, c.now)
	var events []Event
	for i := range 1000 {
		events = append(events, failN(l, nthAddr(i), "", 2)...) // each address locks
	}
	if s := l.Stats(); s.Addresses != 100 || s.LockedAddresses != 100 {
		t.Fatalf("stats %+v", s)
	}
	var locked, unlocked int
	for _, e := range events {
		switch e.Kind {
		case Locked:
			locked++
		case Unlocked:
			unlocked++
		}
	}
	if locked != 1000 || unlocked != 900 {
		t.Fatalf("%d locked, %d evicted-unlocked events; want 1000, 900", locked, unlocked)
	}
	// The oldest were evicted, the newest kept.
	if _, l0 := l.Before(nthAddr(0), ""); l0 {
		t.Fatal("evicted address still locked")
	}
	if _, l999 := l.Before(nthAddr(999), ""); !l999 {
		t.Fatal("recent address not locked")
	}
}

func TestLockoutUnknownAccounts(t *testing.T) {
	configured := map[string]bool{"alice": true}
	for _, tc := range []struct {
		name         string
		exists       func(string) bool
		maxAccounts  int
		wantAccounts int
	}{
		{"with AccountExists", func(a string) bool { return configured[a] }, 0, 0},
		{"without: bounded by MaxAccounts", nil, 50, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := NewLockout(LockoutOptions{AccountExists: tc.exists, MaxAccounts: tc.maxAccounts}, c.now)
			for i := range 10000 {
				l.Failure(nthAddr(i%100), fmt.Sprint("ghost-", i))
			}
			s := l.Stats()
			if s.Accounts != tc.wantAccounts || s.Addresses != 100 {
				t.Fatalf("stats %+v, want %d accounts and 100 addresses", s, tc.wantAccounts)
			}
			// The failures counted per address: 100 each, so all are locked.
			if s.LockedAddresses != 100 {
				t.Fatalf("%d addresses locked, want 100", s.LockedAddresses)
			}
			if _, locked := l.Before(user, "ghost-1"); locked {
				t.Fatal("an unrelated address is locked for a made-up name")
			}
		})
	}
}

func TestLockoutKnownBounded(t *testing.T) {
	l := NewLockout(LockoutOptions{MaxKnownPerAccount: 10}, newClock().now)
	for i := range 100 {
		l.Success(nthAddr(i), "alice")
	}
	l.mu.Lock()
	n := len(l.accts["alice"].known)
	l.mu.Unlock()
	if n != 10 {
		t.Fatalf("%d known addresses, want 10", n)
	}
}

func TestLockoutSweep(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	failN(l, attacker, "alice", 20) // locked
	failN(l, user, "bob", 3)
	l.Success(nthAddr(1), "carol")
	c.advance(2 * time.Minute)
	if ev := l.Sweep(); len(ev) != 0 {
		t.Fatalf("early Sweep: %v", ev)
	}
	if s := l.Stats(); s.Addresses != 2 {
		t.Fatalf("stats after early sweep %+v", s)
	}
	c.advance(15 * time.Minute)
	ev := l.Sweep()
	if len(ev) != 1 || ev[0].Kind != Unlocked || ev[0].Addr != attacker {
		t.Fatalf("Sweep events %+v", ev)
	}
	ev = l.Sweep()
	// alice and bob hold nothing any more; carol remembers a known address.
	if s := l.Stats(); len(ev) != 0 || s.Addresses != 0 || s.Accounts != 1 {
		t.Fatalf("after sweeps: %+v, %v", s, ev)
	}
}

func TestLockoutSuccessAfterExpiredLock(t *testing.T) {
	c := newClock()
	l := NewLockout(LockoutOptions{}, c.now)
	failN(l, attacker, "alice", 20)
	c.advance(15 * time.Minute)
	l.Success(attacker, "alice")
	ev := l.Sweep()
	if len(ev) != 1 || ev[0].Kind != Unlocked {
		t.Fatalf("unlock event lost: %+v", ev)
	}
}

func TestLockoutConcurrent(t *testing.T) {
	l := NewLockout(LockoutOptions{MaxAddresses: 64, MaxAccounts: 8}, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				addr, acct := nthAddr(i%97), fmt.Sprint("acct", (g+i)%11)
				l.Before(addr, acct)
				if i%7 == 0 {
					l.Success(addr, acct)
				} else {
					l.Failure(addr, acct)
				}
				if i%500 == 0 {
					l.Sweep()
				}
			}
		})
	}
	wg.Wait()
	if s := l.Stats(); s.Addresses > 64 || s.Accounts > 8 {
		t.Fatalf("bounds exceeded: %+v", s)
	}
}

func TestEventStrings(t *testing.T) {
	got := strings.Join([]string{Locked.String(), Unlocked.String(), ScopeAddress.String(), ScopeAccount.String(),
		EventKind(9).String(), Scope(9).String()}, ",")
	if got != "locked,unlocked,address,account,EventKind(9),Scope(9)" {
		t.Fatal(got)
	}
}

func BenchmarkLockoutBefore(b *testing.B) {
	l := NewLockout(LockoutOptions{}, nil)
	failN(l, attacker, "alice", 3)
	b.ReportAllocs()
	for b.Loop() {
		l.Before(attacker, "alice")
	}
}
