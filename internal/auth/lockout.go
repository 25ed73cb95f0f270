package auth

import (
	"container/list"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// LockoutOptions tunes a Lockout. A zero field takes the default shown.
type LockoutOptions struct {
	// Window is the failure window for back-off (1 minute).
	Window time.Duration
	// DelayAfter is how many failures from an address within Window
	// start the back-off (5).
	DelayAfter int
	// BaseDelay is the delay once DelayAfter failures are reached; it
	// doubles with every further failure (100 ms).
	BaseDelay time.Duration
	// MaxDelay caps the delay (10 s). An attempt that would have to wait
	// longer because parallel attempts from the same address have already
	// reserved the slots before it is refused instead.
	MaxDelay time.Duration
	// LockAfter is how many failures from an address within LockWindow
	// lock it (20).
	LockAfter int
	// LockWindow is the window in which LockAfter and AccountLockAfter
	// failures are counted (15 minutes).
	LockWindow time.Duration
	// LockDuration is how long an address or account lock lasts (15
	// minutes).
	LockDuration time.Duration
	// AccountLockAfter is how many failures for one account, from
	// addresses that have never logged in as it, within LockWindow lock
	// the account for such addresses (100).
	AccountLockAfter int
	// MaxAddresses bounds the addresses tracked; the least recently
	// failed is forgotten first (65,536).
	MaxAddresses int
	// MaxAccounts bounds the accounts tracked, the least recently
	// failed forgotten first (4,096). With AccountExists set only real
	// accounts are tracked and this is a safety net.
	MaxAccounts int
	// MaxKnownPerAccount bounds the addresses remembered as having
	// logged in to one account; the least recent is forgotten (1,024).
	MaxKnownPerAccount int
	// AccountExists reports whether an account name is configured.
	// Failures for other names count against the address only, so
	// made-up names cannot fill the account table (or evict a real
	// account's lock from it). Nil treats every non-empty name as an
	// account. It is called without the Lockout's lock held.
	AccountExists func(account string) bool
}

// DefaultLockoutOptions returns the defaults documented on LockoutOptions.
func DefaultLockoutOptions() LockoutOptions {
	return LockoutOptions{
		Window:             time.Minute,
		DelayAfter:         5,
		BaseDelay:          100 * time.Millisecond,
		MaxDelay:           10 * time.Second,
		LockAfter:          20,
		LockWindow:         15 * time.Minute,
		LockDuration:       15 * time.Minute,
		AccountLockAfter:   100,
		MaxAddresses:       65536,
		MaxAccounts:        4096,
		MaxKnownPerAccount: 1024,
	}
}

func (o LockoutOptions) withDefaults() LockoutOptions {
	d := DefaultLockoutOptions()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur(&o.Window, d.Window)
	setInt(&o.DelayAfter, d.DelayAfter)
	setDur(&o.BaseDelay, d.BaseDelay)
	setDur(&o.MaxDelay, d.MaxDelay)
	setInt(&o.LockAfter, d.LockAfter)
	setDur(&o.LockWindow, d.LockWindow)
	setDur(&o.LockDuration, d.LockDuration)
	setInt(&o.AccountLockAfter, d.AccountLockAfter)
	setInt(&o.MaxAddresses, d.MaxAddresses)
	setInt(&o.MaxAccounts, d.MaxAccounts)
	setInt(&o.MaxKnownPerAccount, d.MaxKnownPerAccount)
	return o
}

// EventKind says whether a lock started or ended.
type EventKind uint8

// Event kinds.
const (
	Locked EventKind = iota + 1
	Unlocked
)

// String returns "locked" or "unlocked".
func (k EventKind) String() string {
	switch k {
	case Locked:
		return "locked"
	case Unlocked:
		return "unlocked"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Scope says what a lock applies to.
type Scope uint8

// Lock scopes.
const (
	// ScopeAddress: every attempt from the address is refused.
	ScopeAddress Scope = iota + 1
	// ScopeAccount: attempts for the account are refused from every
	// address that has not logged in as it since start-up.
	ScopeAccount
)

// String returns "address" or "account".
func (s Scope) String() string {
	switch s {
	case ScopeAddress:
		return "address"
	case ScopeAccount:
		return "account"
	}
	return fmt.Sprintf("Scope(%d)", uint8(s))
}

// Event is a lock starting or ending, for the caller to log and record.
type Event struct {
	Kind  EventKind
	Scope Scope
	// Addr is the address locked, or whose failure locked the account
	// (zero for an account unlock). IPv6 addresses are reported as the
	// first address of their /64; the zero Addr stands for peers without
	// an IP address (unix sockets).
	Addr netip.Addr
	// Account is the account of the failure that caused a lock, or the
	// account unlocked.
	Account string
	// At is when the event was noticed.
	At time.Time
	// Until is when the lock ends (Locked) or ended (Unlocked).
	Until time.Time
	// Failures is the number of failures counted when a lock started.
	Failures int
}

// maxPending bounds unlock events waiting for the next Failure or Sweep.
const maxPending = 1024

// Lockout throttles password guessing. Per address (IPv6 per /64):
// after DelayAfter failures within Window, each attempt waits an
// exponential delay; after LockAfter failures within LockWindow the
// address is locked for LockDuration, during which even the right
// password is refused. Per account: after AccountLockAfter failures from
// addresses that have not logged in as it since start-up, the account is
// locked for such addresses only, so that one attacker cannot lock the
// real users out. Loopback and private addresses are treated like any
// other.
//
// Windows are fixed: each starts with the first failure counted in it.
// Memory is bounded by MaxAddresses, MaxAccounts and MaxKnownPerAccount.
// A Lockout is safe for concurrent use.
type Lockout struct {
	opts LockoutOptions
	now  func() time.Time

	mu      sync.Mutex
	addrs   map[netip.Addr]*addrRec
	addrLRU list.List // of *addrRec, most recent at the front
	accts   map[string]*acctRec
	acctLRU list.List // of *acctRec, most recent at the front
	pending []Event
}

type addrRec struct {
	key         netip.Addr
	elem        *list.Element
	winStart    time.Time // back-off window
	fails       int
	lockStart   time.Time // lock window
	lockFails   int
	lockedUntil time.Time // zero: not locked (or unlock reported)
	nextSlot    time.Time // earliest time of the next throttled attempt
	inflight    int       // throttled attempts reserved but not reported
}

type acctRec struct {
	name        string
	elem        *list.Element
	winStart    time.Time
	fails       int
	lockedUntil time.Time
	known       map[netip.Addr]time.Time // addresses that logged in → when last
}

// NewLockout returns a Lockout; now is its clock (nil means time.Now).
func NewLockout(opts LockoutOptions, now func() time.Time) *Lockout {
	if now == nil {
		now = time.Now
	}
	return &Lockout{
		opts:  opts.withDefaults(),
		now:   now,
		addrs: make(map[netip.Addr]*addrRec),
		accts: make(map[string]*acctRec),
	}
}

// addrKey is the bucket addr is counted in: the IPv4 address (also when
// written IPv4-mapped), or the IPv6 /64, without zone.
func addrKey(addr netip.Addr) netip.Addr {
	if !addr.IsValid() {
		return netip.Addr{}
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	return addr
}

// delay returns the back-off after n failures in the window.
func (l *Lockout) delay(n int) time.Duration {
	k := n - l.opts.DelayAfter
	if k < 0 {
		return 0
	}
	if k >= 40 {
		return l.opts.MaxDelay
	}
	return min(l.opts.BaseDelay<<k, l.opts.MaxDelay)
}

// Before is called before a password is verified. If locked, the
// attempt must be refused without verifying (with the same WRONGPASS a
// wrong password gets), and neither Failure nor Success be called;
// otherwise the caller waits delay first (cancellably) and then reports
// the outcome with Failure or Success. Throttled attempts from one
// address are spaced out: parallel connections get successive slots, and
// an attempt whose slot is more than MaxDelay away is refused as locked.
func (l *Lockout) Before(addr netip.Addr, account string) (delay time.Duration, locked bool) {
	now, key := l.now(), addrKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.accts[account]; a != nil && a.lockedUntil.After(now) {
		if _, known := a.known[key]; !known {
			return 0, true
		}
	}
	r := l.addrs[key]
	if r == nil {
		return 0, false
	}
	if r.lockedUntil.After(now) {
		return 0, true
	}
	if now.Sub(r.winStart) >= l.opts.Window {
		r.inflight = 0 // the window has lapsed; so have forgotten attempts
		return 0, false
	}
	if r.fails < l.opts.DelayAfter {
		return 0, false
	}
	start := r.nextSlot
	if start.Before(now) {
		start = now
	}
	wait := start.Sub(now)
	if wait > l.opts.MaxDelay {
		return 0, true
	}
	r.inflight++
	r.nextSlot = start.Add(l.delay(r.fails + r.inflight))
	return wait, false
}

// Failure records a wrong password from addr for account and returns the
// events it caused, together with any unlock events noticed since the
// last call (locks that expired, locked records evicted).
func (l *Lockout) Failure(addr netip.Addr, account string) []Event {
	exists := l.exists(account)
	now, key := l.now(), addrKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	events := l.pending
	l.pending = nil

	r := l.addrs[key]
	if r == nil {
		if len(l.addrs) >= l.opts.MaxAddresses {
			events = l.evictAddr(now, events)
		}
		r = &addrRec{key: key}
		r.elem = l.addrLRU.PushFront(r)
		l.addrs[key] = r
	} else {
		l.addrLRU.MoveToFront(r.elem)
	}
	lockedNow := r.lockedUntil.After(now)
	if !r.lockedUntil.IsZero() && !lockedNow {
		events = append(events, l.unlockAddr(r, now))
	}
	if !lockedNow { // during a lock the caller should not be verifying at all
		if r.inflight > 0 {
			r.inflight--
		}
		if r.fails == 0 || now.Sub(r.winStart) >= l.opts.Window {
			r.winStart, r.fails, r.inflight = now, 0, 0
		}
		if r.lockFails == 0 || now.Sub(r.lockStart) >= l.opts.LockWindow {
			r.lockStart, r.lockFails = now, 0
		}
		r.fails++
		r.lockFails++
		switch {
		case r.lockFails >= l.opts.LockAfter:
			r.lockedUntil = now.Add(l.opts.LockDuration)
			events = append(events, Event{Kind: Locked, Scope: ScopeAddress, Addr: key, Account: account,
				At: now, Until: r.lockedUntil, Failures: r.lockFails})
			r.fails, r.lockFails, r.inflight, r.nextSlot = 0, 0, 0, time.Time{}
		case r.fails >= l.opts.DelayAfter:
			if next := now.Add(l.delay(r.fails)); next.After(r.nextSlot) {
				r.nextSlot = next
			}
		}
	}

	if !exists {
		return events
	}
	a, events := l.account(account, now, events)
	if !a.lockedUntil.IsZero() && !a.lockedUntil.After(now) {
		events = append(events, l.unlockAcct(a, now))
	}
	if _, known := a.known[key]; known || !a.lockedUntil.IsZero() {
		return events
	}
	if a.fails == 0 || now.Sub(a.winStart) >= l.opts.LockWindow {
		a.winStart, a.fails = now, 0
	}
	a.fails++
	if a.fails >= l.opts.AccountLockAfter {
		a.lockedUntil = now.Add(l.opts.LockDuration)
		events = append(events, Event{Kind: Locked, Scope: ScopeAccount, Addr: key, Account: account,
			At: now, Until: a.lockedUntil, Failures: a.fails})
		a.fails = 0
	}
	return events
}

// Success records a right password from addr for account: the address's
// counters start again from zero and the address is remembered as one
// that logs in to account, which exempts it from account locks. Account
// counters are not reset (an attacker's failures still count).
func (l *Lockout) Success(addr netip.Addr, account string) {
	exists := l.exists(account)
	now, key := l.now(), addrKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.addrs[key]; r != nil && !r.lockedUntil.After(now) {
		if !r.lockedUntil.IsZero() {
			l.queue(l.unlockAddr(r, now))
		}
		l.dropAddr(r)
	}
	if !exists {
		return
	}
	var evicted []Event
	a, evicted := l.account(account, now, evicted)
	for _, e := range evicted {
		l.queue(e)
	}
	if _, known := a.known[key]; !known && len(a.known) >= l.opts.MaxKnownPerAccount {
		var oldest netip.Addr
		var oldestAt time.Time
		first := true
		for k, at := range a.known {
			if first || at.Before(oldestAt) {
				oldest, oldestAt, first = k, at, false
			}
		}
		delete(a.known, oldest)
	}
	a.known[key] = now
}

// Sweep reports expired locks and forgets records that no longer hold
// anything: call it periodically (say once a minute). It returns the
// unlock events, including those noticed since the last Failure.
func (l *Lockout) Sweep() []Event {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	events := l.pending
	l.pending = nil
	for _, r := range l.addrs {
		if !r.lockedUntil.IsZero() && !r.lockedUntil.After(now) {
			events = append(events, l.unlockAddr(r, now))
		}
		if r.lockedUntil.IsZero() && now.Sub(r.winStart) >= l.opts.Window &&
			now.Sub(r.lockStart) >= l.opts.LockWindow && !r.nextSlot.After(now) {
			l.dropAddr(r)
		}
	}
	for _, a := range l.accts {
		if !a.lockedUntil.IsZero() && !a.lockedUntil.After(now) {
			events = append(events, l.unlockAcct(a, now))
		}
		if a.lockedUntil.IsZero() && len(a.known) == 0 && now.Sub(a.winStart) >= l.opts.LockWindow {
			l.acctLRU.Remove(a.elem)
			delete(l.accts, a.name)
		}
	}
	return events
}

// LockoutStats are sizes for metrics and tests.
type LockoutStats struct {
	// Addresses is the number of addresses (IPv6 /64s) tracked.
	Addresses int
	// Accounts is the number of accounts tracked.
	Accounts int
	// LockedAddresses and LockedAccounts count locks in force.
	LockedAddresses, LockedAccounts int
}

// Stats returns the current sizes.
func (l *Lockout) Stats() LockoutStats {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LockoutStats{Addresses: len(l.addrs), Accounts: len(l.accts)}
	for _, r := range l.addrs {
		if r.lockedUntil.After(now) {
			s.LockedAddresses++
		}
	}
	for _, a := range l.accts {
		if a.lockedUntil.After(now) {
			s.LockedAccounts++
		}
	}
	return s
}

// exists reports whether failures for account are counted per account.
// It is called without l.mu held.
func (l *Lockout) exists(account string) bool {
	return account != "" && (l.opts.AccountExists == nil || l.opts.AccountExists(account))
}

// account returns account's record, creating it (and evicting the least
// recently used one, adding its unlock event to events) if needed.
// l.mu must be held.
func (l *Lockout) account(name string, now time.Time, events []Event) (*acctRec, []Event) {
	if a := l.accts[name]; a != nil {
		l.acctLRU.MoveToFront(a.elem)
		return a, events
	}
	if len(l.accts) >= l.opts.MaxAccounts {
		old := l.acctLRU.Back().Value.(*acctRec)
		if !old.lockedUntil.IsZero() {
			events = append(events, l.unlockAcct(old, now))
		}
		l.acctLRU.Remove(old.elem)
		delete(l.accts, old.name)
	}
	a := &acctRec{name: name, known: make(map[netip.Addr]time.Time)}
	a.elem = l.acctLRU.PushFront(a)
	l.accts[name] = a
	return a, events
}

// evictAddr forgets the least recently failed address. l.mu must be held.
func (l *Lockout) evictAddr(now time.Time, events []Event) []Event {
	old := l.addrLRU.Back().Value.(*addrRec)
	if !old.lockedUntil.IsZero() {
		events = append(events, l.unlockAddr(old, now))
	}
	l.dropAddr(old)
	return events
}

// dropAddr forgets r. l.mu must be held.
func (l *Lockout) dropAddr(r *addrRec) {
	l.addrLRU.Remove(r.elem)
	delete(l.addrs, r.key)
}

// unlockAddr ends r's lock and returns the event. l.mu must be held.
func (l *Lockout) unlockAddr(r *addrRec, now time.Time) Event {
	e := Event{Kind: Unlocked, Scope: ScopeAddress, Addr: r.key, At: now, Until: r.lockedUntil}
	r.lockedUntil = time.Time{}
	r.fails, r.lockFails, r.inflight, r.nextSlot = 0, 0, 0, time.Time{}
	return e
}

// unlockAcct ends a's lock and returns the event. l.mu must be held.
func (l *Lockout) unlockAcct(a *acctRec, now time.Time) Event {
	e := Event{Kind: Unlocked, Scope: ScopeAccount, Account: a.name, At: now, Until: a.lockedUntil}
	a.lockedUntil, a.fails = time.Time{}, 0
	return e
}

// queue keeps an event for the next Failure or Sweep, dropping the
// oldest beyond maxPending. l.mu must be held.
func (l *Lockout) queue(e Event) {
	if len(l.pending) >= maxPending {
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, e)
}
