package guard

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// AddrCounter counts the open connections of each address and refuses one
// more past a maximum. IPv4 addresses are counted one by one and IPv6
// addresses by /64 (IPv6BanBits), for the reason the ban list tracks them
// so: a host that owns a /64 could otherwise open the maximum from each of
// its addresses. It is safe for concurrent use.
type AddrCounter struct {
	max atomic.Int64

	mu sync.Mutex // guards n
	n  map[netip.Addr]int
}

// NewAddrCounter returns a counter that admits at most max connections
// per address; max 0 (or less) admits any number.
func NewAddrCounter(max int) *AddrCounter {
	c := &AddrCounter{n: make(map[netip.Addr]int)}
	c.SetMax(max)
	return c
}

// SetMax changes the maximum, for a reload. Connections already open are
// kept even when they exceed the new maximum; no new one is admitted until
// the address is below it.
func (c *AddrCounter) SetMax(max int) {
	c.max.Store(int64(max))
}

// Max returns the maximum in force; 0 means unlimited.
func (c *AddrCounter) Max() int {
	return int(max(c.max.Load(), 0))
}

// Acquire counts one more connection from a and reports true, or reports
// false, counting nothing, when a already holds the maximum. Connections
// are counted even without a maximum, so that one set at reload applies to
// those already open.
func (c *AddrCounter) Acquire(a netip.Addr) bool {
	key := peerKey(a)
	limit := c.max.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n[key]
	if limit > 0 && int64(n) >= limit {
		return false
	}
	c.n[key] = n + 1
	return true
}

// Release counts one connection from a less; it must follow a successful
// Acquire of the same address. The address is forgotten at zero; a
// Release without an Acquire is ignored.
func (c *AddrCounter) Release(a netip.Addr) {
	key := peerKey(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch n := c.n[key]; {
	case n > 1:
		c.n[key] = n - 1
	case n == 1:
		delete(c.n, key)
	}
}

// Count returns the connections counted for a (for its /64 for IPv6).
func (c *AddrCounter) Count(a netip.Addr) int {
	key := peerKey(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// Len returns how many addresses hold connections.
func (c *AddrCounter) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}
