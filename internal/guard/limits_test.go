package guard

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

func TestAddrCounter(t *testing.T) {
	type step struct {
		op   string // "acquire", "release" or "max"
		addr string
		n    int  // for "max"
		want bool // for "acquire"
	}
	a, b := "192.0.2.1", "192.0.2.2"
	tests := []struct {
		name  string
		max   int
		steps []step
		count map[string]int // counts at the end
	}{
		{"limit", 2, []step{
			{"acquire", a, 0, true}, {"acquire", a, 0, true}, {"acquire", a, 0, false},
			{"acquire", b, 0, true}, {"release", a, 0, false}, {"acquire", a, 0, true}, {"acquire", a, 0, false},
		}, map[string]int{a: 2, b: 1}},
		{"unlimited", 0, []step{
			{"acquire", a, 0, true}, {"acquire", a, 0, true}, {"acquire", a, 0, true}, {"acquire", a, 0, true},
		}, map[string]int{a: 4}},
		{"negative is unlimited", -5, []step{
			{"acquire", a, 0, true}, {"acquire", a, 0, true},
		}, map[string]int{a: 2}},
		{"entries deleted at zero", 1, []step{
			{"acquire", a, 0, true}, {"release", a, 0, false}, {"release", a, 0, false}, {"acquire", a, 0, true}, {"acquire", a, 0, false},
		}, map[string]int{a: 1}},
		{"release without acquire is ignored", 1, []step{
			{"release", a, 0, false}, {"acquire", a, 0, true}, {"acquire", a, 0, false},
		}, map[string]int{a: 1}},
		{"mapped IPv4 is the IPv4 address", 1, []step{
			{"acquire", "::ffff:" + a, 0, true}, {"acquire", a, 0, false}, {"release", a, 0, false}, {"acquire", a, 0, true},
		}, map[string]int{a: 1}},
		{"IPv6 counted by /64", 2, []step{
			{"acquire", "2001:db8::1", 0, true}, {"acquire", "2001:db8::ffff:2", 0, true}, {"acquire", "2001:db8::3%eth0", 0, false},
			{"acquire", "2001:db8:0:1::1", 0, true},
		}, map[string]int{"2001:db8::42": 2, "2001:db8:0:1::": 1}},
		{"lower max keeps open connections", 3, []step{
			{"acquire", a, 0, true}, {"acquire", a, 0, true}, {"acquire", a, 0, true},
			{"max", "", 1, false}, {"acquire", a, 0, false}, {"release", a, 0, false}, {"acquire", a, 0, false},
			{"release", a, 0, false}, {"release", a, 0, false}, {"acquire", a, 0, true},
		}, map[string]int{a: 1}},
		{"raise max", 1, []step{
			{"acquire", a, 0, true}, {"acquire", a, 0, false}, {"max", "", 0, false}, {"acquire", a, 0, true},
		}, map[string]int{a: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewAddrCounter(tt.max)
			for i, s := range tt.steps {
				switch s.op {
				case "acquire":
					if got := c.Acquire(netip.MustParseAddr(s.addr)); got != s.want {
						t.Fatalf("step %d: Acquire(%s) = %v, want %v", i, s.addr, got, s.want)
					}
				case "release":
					c.Release(netip.MustParseAddr(s.addr))
				case "max":
					c.SetMax(s.n)
					if got := c.Max(); got != s.n {
						t.Fatalf("step %d: Max() = %d, want %d", i, got, s.n)
					}
				}
			}
			for addr, n := range tt.count {
				if got := c.Count(netip.MustParseAddr(addr)); got != n {
					t.Errorf("Count(%s) = %d, want %d", addr, got, n)
				}
			}
			if got := c.Len(); got != len(tt.count) {
				t.Errorf("Len() = %d, want %d", got, len(tt.count))
			}
		})
	}
	if got := NewAddrCounter(-1).Max(); got != 0 {
		t.Errorf("Max() of a negative maximum = %d, want 0", got)
	}
}

// TestAddrCounterConcurrent hammers a few addresses from many goroutines
// and checks that no address ever holds more than the maximum and that
// the table is empty at the end.
func TestAddrCounterConcurrent(t *testing.T) {
	const max, workers, rounds, addrs = 3, 16, 2000, 4
	c := NewAddrCounter(max)
	var held [addrs]atomic.Int32
	var refused atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				k := (w + i) % addrs
				a := netip.AddrFrom4([4]byte{192, 0, 2, byte(k)})
				if !c.Acquire(a) {
					refused.Add(1)
					continue
				}
				if n := held[k].Add(1); n > max {
					t.Errorf("%s holds %d connections, max %d", a, n, max)
				}
				held[k].Add(-1)
				c.Release(a)
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n != 0 {
		t.Errorf("Len() = %d after every Release, want 0", n)
	}
	t.Logf("%d of %d acquisitions refused", refused.Load(), workers*rounds)
}

func BenchmarkAddrCounter(b *testing.B) {
	c := NewAddrCounter(1000)
	a := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		c.Acquire(a)
		c.Release(a)
	}
}
