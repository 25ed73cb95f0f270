package guard

import (
	"container/list"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of the ban tables.
const (
	// MaxTrackedAddrs is the most addresses whose cross-protocol
	// attempts are tracked at once; past it the least recently seen
	// address is forgotten.
	MaxTrackedAddrs = 65536
	// MaxBans is the most bans in force at once; past it the oldest ban
	// is lifted early.
	MaxBans = 65536
	// MaxBanAttempts is the largest BanOptions.Attempts; a larger value
	// is used as this one. Each tracked address keeps the times of its
	// last Attempts attempts, so the limit bounds memory.
	MaxBanAttempts = 100
	// IPv6BanBits is the prefix length IPv6 peers are tracked, banned and
	// counted by: one host, or one home or office network, usually holds
	// a whole /64 and can pick any address in it, so counting single
	// IPv6 addresses would let it evade any ban and any limit.
	IPv6BanBits = 64
)

// BanOptions say when repeated cross-protocol attempts from one address
// put it on the ban list. The zero BanOptions turn banning off: a field
// that is zero or negative disables it.
type BanOptions struct {
	Attempts int           // attempts within Window that cause a ban
	Window   time.Duration // how far back attempts count
	Duration time.Duration // how long a ban lasts
}

// DefaultBanOptions returns 3 attempts within 10 minutes, which ban the
// address for 15 minutes.
func DefaultBanOptions() BanOptions {
	return BanOptions{Attempts: 3, Window: 10 * time.Minute, Duration: 15 * time.Minute}
}

// Enabled reports whether o bans at all.
func (o BanOptions) Enabled() bool {
	return o.Attempts > 0 && o.Window > 0 && o.Duration > 0
}

// Validate reports a negative field or an Attempts above MaxBanAttempts,
// for a configuration loader. Zero fields are valid: they turn banning
// off.
func (o BanOptions) Validate() error {
	switch {
	case o.Attempts < 0 || o.Window < 0 || o.Duration < 0:
		return fmt.Errorf("ban options: attempts, window and duration must not be negative")
	case o.Attempts > MaxBanAttempts:
		return fmt.Errorf("ban options: attempts %d is more than the maximum %d", o.Attempts, MaxBanAttempts)
	}
	return nil
}

// Ban is one entry of the ban list.
type Ban struct {
	Addr     netip.Prefix // the banned address: an IPv4 /32 or an IPv6 /64
	Since    time.Time    // when the ban began
	Until    time.Time    // when it ends
	Attempts int          // attempts that caused it, and any made since
}

// Bans tracks cross-protocol attempts per address and bans addresses that
// repeat them. It is safe for concurrent use. Loopback and unix peers are
// never banned: a victim's browser shares loopback with the local
// applications, so banning it would let any web page deny them service.
// IPv4 peers are tracked by address, IPv6 peers by /64 (IPv6BanBits).
type Bans struct {
	now    func() time.Time
	active atomic.Int64 // len(bans): Banned's fast path

	mu      sync.Mutex // guards the fields below
	opts    BanOptions
	records map[netip.Addr]*list.Element // of *record
	lru     list.List                    // *record, least recently seen first
	bans    map[netip.Addr]*list.Element // of *ban
	order   list.List                    // *ban, oldest first
}

// record is the recent attempts of one tracked address.
type record struct {
	key   netip.Addr
	times []time.Time // the last attempts within the window, oldest first
}

// ban is one ban in force.
type ban struct {
	key          netip.Addr
	since, until time.Time
	attempts     int
}

// NewBans returns an empty ban list with opts. now is its clock; nil
// means time.Now.
func NewBans(opts BanOptions, now func() time.Time) *Bans {
	if now == nil {
		now = time.Now
	}
	return &Bans{
		now:     now,
		opts:    opts,
		records: make(map[netip.Addr]*list.Element),
		bans:    make(map[netip.Addr]*list.Element),
	}
}

// peerKey returns the key an address is tracked by: the unmapped IPv4
// address, or the first address of an IPv6 /64, without zone.
func peerKey(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(IPv6BanBits)
		return p.Addr()
	}
	return a
}

// Attempt records one cross-protocol attempt from a peer of class c at a.
// It returns true when this attempt causes a ban: the address reached
// Attempts attempts within Window and is now banned for Duration. It
// returns true once per ban. Local classes (Loopback, Unix) and loopback
// addresses are never tracked or banned, whatever c says.
func (b *Bans) Attempt(a netip.Addr, c Class) (bannedNow bool) {
	if c.Local() || !a.IsValid() || ClassifyAddr(a) == Loopback {
		return false
	}
	key := peerKey(a)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now() // under the lock, so that times are in order
	if e := b.bans[key]; e != nil {
		bn := e.Value.(*ban)
		if now.Before(bn.until) {
			bn.attempts++
			return false
		}
		b.unbanLocked(key)
	}
	opts := b.opts
	if !opts.Enabled() {
		return false
	}
	attempts := min(opts.Attempts, MaxBanAttempts)
	e := b.records[key]
	if e != nil {
		b.lru.MoveToBack(e)
	} else {
		if b.lru.Len() >= MaxTrackedAddrs {
			old := b.lru.Remove(b.lru.Front()).(*record)
			delete(b.records, old.key)
		}
		e = b.lru.PushBack(&record{key: key})
		b.records[key] = e
	}
	r := e.Value.(*record)
	// Forget attempts that left the window, and any beyond the last
	// Attempts (after SetOptions lowered it).
	cut := 0
	for cut < len(r.times) && now.Sub(r.times[cut]) >= opts.Window {
		cut++
	}
	cut = max(cut, len(r.times)+1-attempts)
	r.times = append(r.times[:0], r.times[cut:]...)
	r.times = append(r.times, now)
	if len(r.times) < attempts {
		return false
	}
	b.lru.Remove(e)
	delete(b.records, key)
	if len(b.bans) >= MaxBans {
		old := b.order.Front().Value.(*ban)
		b.unbanLocked(old.key)
	}
	b.bans[key] = b.order.PushBack(&ban{key: key, since: now, until: now.Add(opts.Duration), attempts: len(r.times)})
	b.active.Store(int64(len(b.bans)))
	return true
}

// Banned reports whether a is banned now. When nothing is banned it only
// loads an atomic counter; otherwise it takes a lock, and it lifts the
// address's ban when the ban has ended.
func (b *Bans) Banned(a netip.Addr) bool {
	if b.active.Load() == 0 || !a.IsValid() {
		return false
	}
	key := peerKey(a)
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.bans[key]
	if e == nil {
		return false
	}
	if b.now().Before(e.Value.(*ban).until) {
		return true
	}
	b.unbanLocked(key)
	return false
}

// Unban lifts the ban of a (of its /64 for IPv6) and forgets its recent
// attempts. It reports whether a was banned.
func (b *Bans) Unban(a netip.Addr) bool {
	key := peerKey(a)
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.records[key]; e != nil {
		b.lru.Remove(e)
		delete(b.records, key)
	}
	if b.bans[key] == nil {
		return false
	}
	b.unbanLocked(key)
	return true
}

// unbanLocked removes the ban of key, which must exist. b.mu is held.
func (b *Bans) unbanLocked(key netip.Addr) {
	b.order.Remove(b.bans[key])
	delete(b.bans, key)
	b.active.Store(int64(len(b.bans)))
}

// List returns the bans in force, sorted by address (IPv4 first), and
// lifts those that have ended.
func (b *Bans) List() []Ban {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	out := make([]Ban, 0, len(b.bans))
	for e := b.order.Front(); e != nil; {
		bn := e.Value.(*ban)
		e = e.Next()
		if !now.Before(bn.until) {
			b.unbanLocked(bn.key)
			continue
		}
		bits := 32
		if bn.key.Is6() {
			bits = IPv6BanBits
		}
		out = append(out, Ban{Addr: netip.PrefixFrom(bn.key, bits), Since: bn.since, Until: bn.until, Attempts: bn.attempts})
	}
	slices.SortFunc(out, func(x, y Ban) int { return x.Addr.Addr().Compare(y.Addr.Addr()) })
	return out
}

// Options returns the options in force.
func (b *Bans) Options() BanOptions {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opts
}

// SetOptions replaces the options, for a reload. Bans in force keep
// their end, except that options that turn banning off lift them all.
// Recent attempts still count under the new Window and Attempts.
func (b *Bans) SetOptions(opts BanOptions) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opts = opts
	if !opts.Enabled() {
		clear(b.bans)
		b.order.Init()
		clear(b.records)
		b.lru.Init()
		b.active.Store(0)
	}
}
