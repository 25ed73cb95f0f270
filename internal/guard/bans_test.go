package guard

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand. It is safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestBanOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    BanOptions
		enabled bool
		valid   bool
	}{
		{"default", DefaultBanOptions(), true, true},
		{"zero", BanOptions{}, false, true},
		{"no attempts", BanOptions{Window: time.Minute, Duration: time.Minute}, false, true},
		{"no window", BanOptions{Attempts: 3, Duration: time.Minute}, false, true},
		{"no duration", BanOptions{Attempts: 3, Window: time.Minute}, false, true},
		{"negative attempts", BanOptions{Attempts: -1, Window: time.Minute, Duration: time.Minute}, false, false},
		{"negative window", BanOptions{Attempts: 1, Window: -time.Minute, Duration: time.Minute}, false, false},
		{"negative duration", BanOptions{Attempts: 1, Window: time.Minute, Duration: -1}, false, false},
		{"max attempts", BanOptions{Attempts: MaxBanAttempts, Window: time.Minute, Duration: time.Minute}, true, true},
		{"too many attempts", BanOptions{Attempts: MaxBanAttempts + 1, Window: time.Minute, Duration: time.Minute}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.opts.Enabled(); got != tt.enabled {
				t.Errorf("Enabled() = %v, want %v", got, tt.enabled)
			}
			if err := tt.opts.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
	d := DefaultBanOptions()
	if d.Attempts != 3 || d.Window != 10*time.Minute || d.Duration != 15*time.Minute {
		t.Errorf("DefaultBanOptions() = %+v", d)
	}
}

// TestBansWindow feeds attempts from one address at given offsets from
// the start and checks which attempt causes the ban.
func TestBansWindow(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name    string
		opts    BanOptions
		at      []time.Duration // when each attempt happens
		banAt   int             // index of the attempt that bans; -1: none
		classes []Class         // class of each attempt; nil: Public
	}{
		{"three quick attempts", DefaultBanOptions(), []time.Duration{0, 0, 0}, 2, nil},
		{"three within the window", DefaultBanOptions(), []time.Duration{0, 5 * m, 9*m + 59*time.Second}, 2, nil},
		{"the first left the window", DefaultBanOptions(), []time.Duration{0, 5 * m, 10 * m}, -1, nil},
		{"sliding window", DefaultBanOptions(), []time.Duration{0, 6 * m, 11 * m, 12 * m}, 3, nil},
		{"spread out", DefaultBanOptions(), []time.Duration{0, 9 * m, 18 * m, 27 * m, 36 * m}, -1, nil},
		{"one attempt bans", BanOptions{Attempts: 1, Window: m, Duration: m}, []time.Duration{0}, 0, nil},
		{"off", BanOptions{}, []time.Duration{0, 0, 0, 0}, -1, nil},
		{"attempts above the maximum are clamped", BanOptions{Attempts: 1000, Window: time.Hour, Duration: m},
			make([]time.Duration, MaxBanAttempts), MaxBanAttempts - 1, nil},
		{"loopback never", DefaultBanOptions(), []time.Duration{0, 0, 0, 0}, -1, []Class{Loopback, Loopback, Loopback, Loopback}},
		{"unix never", DefaultBanOptions(), []time.Duration{0, 0, 0, 0}, -1, []Class{Unix, Unix, Unix, Unix}},
		{"local attempts do not count", DefaultBanOptions(), []time.Duration{0, 0, 0, 0}, 3, []Class{Public, Loopback, Public, Private}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.Now()
			b := NewBans(tt.opts, clk.Now)
			a := netip.MustParseAddr("203.0.113.9")
			for i, off := range tt.at {
				clk.Set(start.Add(off))
				c := Public
				if tt.classes != nil {
					c = tt.classes[i]
				}
				if got := b.Attempt(a, c); got != (i == tt.banAt) {
					t.Fatalf("attempt %d at %v: Attempt = %v", i, off, got)
				}
				if got := b.Banned(a); got != (tt.banAt >= 0 && i >= tt.banAt) {
					t.Fatalf("after attempt %d: Banned = %v", i, got)
				}
			}
		})
	}
}

func TestBansLifecycle(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(DefaultBanOptions(), clk.Now)
	a := netip.MustParseAddr("198.51.100.7")
	other := netip.MustParseAddr("198.51.100.8")
	start := clk.Now()
	for i := range 3 {
		if got := b.Attempt(a, Public); got != (i == 2) {
			t.Fatalf("attempt %d = %v", i, got)
		}
	}
	// More attempts while banned (from a connection admitted before) are
	// counted but do not ban again or extend the ban.
	clk.Advance(time.Minute)
	if b.Attempt(a, Public) {
		t.Fatal("a second ban reported")
	}
	if !b.Banned(a) || !b.Banned(netip.MustParseAddr("::ffff:198.51.100.7")) || b.Banned(other) {
		t.Fatal("wrong Banned answers")
	}
	want := []Ban{{Addr: netip.MustParsePrefix("198.51.100.7/32"), Since: start, Until: start.Add(15 * time.Minute), Attempts: 4}}
	if got := b.List(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("List() = %v, want %v", got, want)
	}
	clk.Set(start.Add(15*time.Minute - time.Nanosecond))
	if !b.Banned(a) {
		t.Fatal("ban ended early")
	}
	clk.Set(start.Add(15 * time.Minute))
	if b.Banned(a) {
		t.Fatal("ban did not end")
	}
	if b.active.Load() != 0 || len(b.List()) != 0 {
		t.Fatal("an ended ban is still listed")
	}
	// After the ban, the count starts again from zero.
	if b.Attempt(a, Public) || b.Attempt(a, Public) || !b.Attempt(a, Public) {
		t.Fatal("the count did not restart after the ban")
	}
}

func TestBansEndedBanThenAttempt(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(BanOptions{Attempts: 1, Window: time.Minute, Duration: time.Minute}, clk.Now)
	a := netip.MustParseAddr("192.0.2.1")
	if !b.Attempt(a, Public) {
		t.Fatal("no ban")
	}
	clk.Advance(time.Minute)
	// The ban has ended but nobody asked Banned: Attempt lifts it and
	// bans again.
	if !b.Attempt(a, Public) {
		t.Fatal("no second ban after the first ended")
	}
	if got := b.List(); len(got) != 1 || got[0].Since != clk.Now() {
		t.Fatalf("List() = %v", got)
	}
}

func TestBansIPv6Prefix(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(DefaultBanOptions(), clk.Now)
	attempts := []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:1:2:3:4%eth0"}
	for i, s := range attempts {
		if got := b.Attempt(netip.MustParseAddr(s), Public); got != (i == 2) {
			t.Fatalf("attempt %d from %s = %v", i, s, got)
		}
	}
	tests := []struct {
		addr   string
		banned bool
	}{
		{"2001:db8:1:2::1", true},
		{"2001:db8:1:2:dead:beef:0:1", true},
		{"2001:db8:1:3::1", false},
		{"2001:db8:1:1:ffff:ffff:ffff:ffff", false},
		{"10.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := b.Banned(netip.MustParseAddr(tt.addr)); got != tt.banned {
				t.Errorf("Banned(%s) = %v, want %v", tt.addr, got, tt.banned)
			}
		})
	}
	list := b.List()
	if len(list) != 1 || list[0].Addr != netip.MustParsePrefix("2001:db8:1:2::/64") {
		t.Fatalf("List() = %v", list)
	}
	if !b.Unban(netip.MustParseAddr("2001:db8:1:2::abcd")) {
		t.Fatal("Unban of an address in the /64 = false")
	}
	if b.Banned(netip.MustParseAddr("2001:db8:1:2::1")) {
		t.Fatal("still banned after Unban")
	}
}

func TestBansLoopbackAddressNeverBanned(t *testing.T) {
	b := NewBans(BanOptions{Attempts: 1, Window: time.Hour, Duration: time.Hour}, newFakeClock().Now)
	// Even when the caller gets the class wrong.
	for _, s := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.9"} {
		if b.Attempt(netip.MustParseAddr(s), Public) {
			t.Errorf("%s banned", s)
		}
	}
	if b.Attempt(netip.Addr{}, Public) || b.Banned(netip.Addr{}) {
		t.Error("the zero address was banned")
	}
	if len(b.records) != 0 || len(b.bans) != 0 {
		t.Errorf("local attempts were tracked: %d records, %d bans", len(b.records), len(b.bans))
	}
}

func TestBansUnban(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(DefaultBanOptions(), clk.Now)
	a := netip.MustParseAddr("192.0.2.10")
	if b.Unban(a) {
		t.Fatal("Unban of an address never banned = true")
	}
	b.Attempt(a, Public)
	b.Attempt(a, Public)
	if b.Unban(a) {
		t.Fatal("Unban of an address with attempts but no ban = true")
	}
	// Unban forgot the two attempts too.
	if b.Attempt(a, Public) || b.Attempt(a, Public) {
		t.Fatal("attempts survived Unban")
	}
	if !b.Attempt(a, Public) {
		t.Fatal("no ban")
	}
	if !b.Unban(a) || b.Banned(a) || len(b.List()) != 0 {
		t.Fatal("Unban did not lift the ban")
	}
}

func TestBansSetOptions(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(DefaultBanOptions(), clk.Now)
	a := netip.MustParseAddr("192.0.2.20")
	c := netip.MustParseAddr("192.0.2.21")
	for range 3 {
		b.Attempt(a, Public)
	}
	b.Attempt(c, Public)
	b.Attempt(c, Public)

	t.Run("lower attempts", func(t *testing.T) {
		b.SetOptions(BanOptions{Attempts: 2, Window: time.Hour, Duration: time.Hour})
		if got := b.Options(); got.Attempts != 2 {
			t.Fatalf("Options() = %+v", got)
		}
		// c already has two attempts; its next one is over the new limit.
		if !b.Attempt(c, Public) {
			t.Fatal("c not banned under the new options")
		}
		list := b.List()
		if len(list) != 2 || list[0].Until != list[0].Since.Add(15*time.Minute) || list[1].Until != list[1].Since.Add(time.Hour) {
			t.Fatalf("List() = %v: the old ban should keep its end, the new one get the new duration", list)
		}
	})
	t.Run("off lifts every ban", func(t *testing.T) {
		b.SetOptions(BanOptions{})
		if b.Banned(a) || b.Banned(c) || len(b.List()) != 0 || b.active.Load() != 0 {
			t.Fatal("bans survived turning banning off")
		}
		for range 5 {
			if b.Attempt(a, Public) {
				t.Fatal("banned while off")
			}
		}
	})
}

func TestBansListSorted(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(BanOptions{Attempts: 1, Window: time.Minute, Duration: time.Hour}, clk.Now)
	for _, s := range []string{"2001:db8::1", "10.0.0.2", "192.0.2.1", "10.0.0.1", "2001:db7::1"} {
		clk.Advance(time.Second)
		b.Attempt(netip.MustParseAddr(s), Public)
	}
	var got []string
	for _, bn := range b.List() {
		got = append(got, bn.Addr.String())
	}
	want := "[10.0.0.1/32 10.0.0.2/32 192.0.2.1/32 2001:db7::/64 2001:db8::/64]"
	if fmt.Sprint(got) != want {
		t.Errorf("List() = %v, want %v", got, want)
	}
	// The first two bans end; List lifts them without Banned's help.
	clk.Advance(time.Hour - 3*time.Second)
	got = got[:0]
	for _, bn := range b.List() {
		got = append(got, bn.Addr.String())
	}
	want = "[10.0.0.1/32 192.0.2.1/32 2001:db7::/64]"
	if fmt.Sprint(got) != want || b.active.Load() != 3 {
		t.Errorf("List() = %v, want %v", got, want)
	}
}

// TestBansBoundedRecords floods the attempt table with more addresses
// than it holds: it stays at MaxTrackedAddrs, and the least recently seen
// addresses are the ones forgotten.
func TestBansBoundedRecords(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(BanOptions{Attempts: 3, Window: time.Hour, Duration: time.Hour}, clk.Now)
	old := netip.MustParseAddr("192.0.2.1")
	kept := netip.MustParseAddr("192.0.2.2")
	next := 0
	flood := func(n int) {
		for range n {
			// Each attempt comes from its own /64.
			var a [16]byte
			a[0], a[1], a[2], a[3], a[4] = 0x20, 0x01, byte(next>>16), byte(next>>8), byte(next)
			next++
			if b.Attempt(netip.AddrFrom16(a), Public) {
				t.Fatal("a single attempt banned")
			}
		}
	}
	b.Attempt(old, Public)
	b.Attempt(kept, Public)
	flood(MaxTrackedAddrs / 2)
	b.Attempt(kept, Public) // seen again: now the most recent
	// Two more than room: old and the first flooded address go.
	flood(MaxTrackedAddrs - MaxTrackedAddrs/2)
	if n := len(b.records); n != MaxTrackedAddrs || b.lru.Len() != MaxTrackedAddrs {
		t.Fatalf("%d records (%d in the list), want %d", n, b.lru.Len(), MaxTrackedAddrs)
	}
	if !b.Attempt(kept, Public) {
		t.Fatal("kept's earlier attempts were forgotten")
	}
	if b.Attempt(old, Public) || b.Attempt(old, Public) {
		t.Fatal("old's first attempt was remembered after the flood")
	}
	flood(MaxTrackedAddrs)
	if n := len(b.records); n != MaxTrackedAddrs {
		t.Fatalf("%d records after a long flood, want %d", n, MaxTrackedAddrs)
	}
}

// TestBansBoundedBans makes more bans than the table holds: the oldest
// are lifted early.
func TestBansBoundedBans(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(BanOptions{Attempts: 1, Window: time.Hour, Duration: time.Hour}, clk.Now)
	addr := func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	const extra = 10
	for i := range MaxBans + extra {
		if !b.Attempt(addr(i), Public) {
			t.Fatalf("attempt %d did not ban", i)
		}
	}
	if len(b.bans) != MaxBans || b.order.Len() != MaxBans || b.active.Load() != MaxBans {
		t.Fatalf("%d bans, want %d", len(b.bans), MaxBans)
	}
	for i := range extra {
		if b.Banned(addr(i)) {
			t.Fatalf("ban %d not lifted", i)
		}
	}
	if !b.Banned(addr(extra)) || !b.Banned(addr(MaxBans+extra-1)) {
		t.Fatal("a recent ban was lifted")
	}
}

func TestBansConcurrent(t *testing.T) {
	clk := newFakeClock()
	b := NewBans(BanOptions{Attempts: 3, Window: time.Minute, Duration: time.Minute}, clk.Now)
	const workers, rounds = 8, 500
	var wg sync.WaitGroup
	var mu sync.Mutex
	bans := map[netip.Addr]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				a := netip.AddrFrom4([4]byte{10, 0, byte(i % 16), 1})
				if b.Attempt(a, Public) {
					mu.Lock()
					bans[a]++
					mu.Unlock()
				}
				b.Banned(a)
				if i%50 == 0 {
					b.List()
				}
				if w == 0 && i%100 == 0 {
					clk.Advance(time.Second)
					b.SetOptions(BanOptions{Attempts: 3, Window: time.Minute, Duration: time.Minute})
				}
			}
		}()
	}
	wg.Wait()
	// Each of the 16 addresses made far more than 3 attempts within a
	// minute and was banned exactly once.
	if len(bans) != 16 {
		t.Fatalf("%d addresses banned, want 16", len(bans))
	}
	for a, n := range bans {
		if n != 1 {
			t.Errorf("%s banned %d times", a, n)
		}
	}
}

func TestBannedFastPathDoesNotAllocate(t *testing.T) {
	b := NewBans(DefaultBanOptions(), nil)
	a := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { b.Banned(a) }); n != 0 {
		t.Errorf("Banned with no bans allocates %v times", n)
	}
	b.SetOptions(BanOptions{Attempts: 1, Window: time.Hour, Duration: time.Hour})
	b.Attempt(netip.MustParseAddr("192.0.2.1"), Public)
	if n := testing.AllocsPerRun(100, func() { b.Banned(a) }); n != 0 {
		t.Errorf("Banned with bans allocates %v times", n)
	}
}

func BenchmarkBanned(b *testing.B) {
	for _, nbans := range []int{0, 1000} {
		b.Run(fmt.Sprint(nbans, "bans"), func(b *testing.B) {
			bans := NewBans(BanOptions{Attempts: 1, Window: time.Hour, Duration: time.Hour}, nil)
			for i := range nbans {
				bans.Attempt(netip.AddrFrom4([4]byte{11, 0, byte(i >> 8), byte(i)}), Public)
			}
			a := netip.MustParseAddr("10.1.2.3")
			b.ReportAllocs()
			for b.Loop() {
				bans.Banned(a)
			}
		})
	}
}
