package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"runtime"
	"sync"
)

// Errors returned by Verifier. Neither means the password was wrong: the
// caller answers with an error and records no failed attempt.
var (
	// ErrBusy means every argon2id worker is busy and the queue is full.
	ErrBusy = errors.New("auth: too many password checks in progress, try again later")
	// ErrClosed means the Verifier has been closed.
	ErrClosed = errors.New("auth: verifier closed")
	// ErrNoHash means Check was given a nil hash.
	ErrNoHash = errors.New("auth: no password hash for account")
)

// queuePerWorker is the default queue length per worker: with the default
// parameters (~25 ms per derivation) a queued check waits at most ~200 ms.
const queuePerWorker = 8

// Verifier checks AUTH passwords so that AUTH stays cheap for applications
// that open many connections, while argon2id — deliberately expensive —
// runs only in a bounded pool and can never starve the data path.
//
// The first time a password matches an account's argon2id hash, the
// Verifier remembers HMAC-SHA-256(k, account‖0‖hash‖0‖password) under a
// random per-process key k. Later checks for the same account and hash
// compare that HMAC in constant time (microseconds), for right and wrong
// passwords alike; only the HMAC, never the password, stays in memory.
// Until then argon2id runs in one of a fixed number of workers fed by a
// bounded queue: when the queue is full Check fails at once with ErrBusy.
// Concurrent checks of the same account, hash and password (a client pool
// connecting at start-up) share one derivation.
//
// One consequence to keep in mind: once an account has a fast verifier,
// wrong passwords for it are refused in microseconds, whereas unknown
// accounts (CheckUnknown) and accounts not yet used since start-up cost a
// full derivation; the timing therefore tells whether an account has
// logged in since start-up (not merely whether it exists). Throttling
// (Lockout) is what bounds guessing through the fast path.
//
// A Verifier is safe for concurrent use. Close stops its workers.
type Verifier struct {
	key   [32]byte
	dummy *Hash
	jobs  chan *flight
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	// beforeVerify, if set, runs in a worker before each derivation
	// (tests use it to hold workers busy).
	beforeVerify func()

	mu       sync.RWMutex
	fast     map[string]fastEntry // account → verifier; guarded by mu
	inflight map[[32]byte]*flight // HMAC → shared derivation; guarded by mu
}

// fastEntry is what the Verifier keeps for an account after a match.
type fastEntry struct {
	hash string // the PHC string the password matched
	mac  [32]byte
}

// flight is one queued or running argon2id derivation.
type flight struct {
	h       *Hash
	pw      []byte // private copy, zeroed after use
	mac     [32]byte
	account string
	shared  bool // registered in inflight (not for unknown accounts)
	done    chan struct{}
	ok      bool // set before done is closed
	waiters int  // guarded by Verifier.mu
}

// NewVerifier starts a Verifier with workers argon2id goroutines (≤ 0
// means max(1, NumCPU/2), leaving the other half of the machine to the
// data path) and a queue of queue pending derivations (≤ 0 means 8 per
// worker).
func NewVerifier(workers, queue int) *Verifier {
	return newVerifier(workers, queue, nil)
}

func newVerifier(workers, queue int, beforeVerify func()) *Verifier {
	if workers <= 0 {
		workers = max(1, runtime.NumCPU()/2)
	}
	if queue <= 0 {
		queue = queuePerWorker * workers
	}
	v := &Verifier{
		jobs:         make(chan *flight, queue),
		quit:         make(chan struct{}),
		beforeVerify: beforeVerify,
		fast:         make(map[string]fastEntry),
		inflight:     make(map[[32]byte]*flight),
	}
	rand.Read(v.key[:])
	// The dummy hash costs what a default hash costs; no password derives
	// its random key.
	p := DefaultParams()
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	rand.Read(salt)
	rand.Read(key)
	v.dummy = &Hash{Params: p, Salt: salt, Key: key, s: encode(p, salt, key)}
	v.wg.Add(workers)
	for range workers {
		go v.work()
	}
	return v
}

// Close stops the workers. Checks waiting on them return ErrClosed.
func (v *Verifier) Close() {
	v.once.Do(func() { close(v.quit) })
	v.wg.Wait()
}

// Check reports whether pw is account's password, h being the account's
// stored hash. A non-nil error (ErrBusy, ErrClosed, ctx's error) means no
// answer: the password was neither accepted nor refused.
func (v *Verifier) Check(ctx context.Context, account string, h *Hash, pw []byte) (bool, error) {
	if h == nil {
		return false, ErrNoHash
	}
	mac := v.mac(account, h.s, pw)
	v.mu.RLock()
	e, ok := v.fast[account]
	v.mu.RUnlock()
	if ok && e.hash == h.s {
		return hmac.Equal(mac[:], e.mac[:]), nil
	}
	return v.slow(ctx, &flight{h: h, pw: pw, mac: mac, account: account, shared: true})
}

// CheckUnknown spends what checking a password against a default-cost
// hash spends, through the same pool, so that an unknown account name
// takes as long to refuse as a known one. The answer is always "wrong
// password"; the error is non-nil when there is no answer (ErrBusy,
// ErrClosed, ctx's error), exactly as for Check.
func (v *Verifier) CheckUnknown(ctx context.Context, pw []byte) error {
	_, err := v.slow(ctx, &flight{h: v.dummy, pw: pw})
	return err
}

// Forget drops account's fast verifier, for when its password changes or
// the account is removed. (A fast verifier also stops matching as soon as
// the account's hash changes.)
func (v *Verifier) Forget(account string) {
	v.mu.Lock()
	delete(v.fast, account)
	v.mu.Unlock()
}

// mac returns HMAC-SHA-256(v.key, account‖0‖hash‖0‖pw).
func (v *Verifier) mac(account, hash string, pw []byte) [32]byte {
	m := hmac.New(sha256.New, v.key[:])
	m.Write([]byte(account))
	m.Write([]byte{0})
	m.Write([]byte(hash))
	m.Write([]byte{0})
	m.Write(pw)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// slow runs f's derivation in the pool, or joins an identical one already
// queued or running, and waits for it.
func (v *Verifier) slow(ctx context.Context, f *flight) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	select {
	case <-v.quit:
		return false, ErrClosed
	default:
	}
	v.mu.Lock()
	if g := v.inflight[f.mac]; f.shared && g != nil {
		g.waiters++
		f = g
	} else {
		f.pw = append([]byte(nil), f.pw...) // the caller may reuse its buffer once we return
		f.done = make(chan struct{})
		f.waiters = 1
		select {
		case v.jobs <- f:
		default:
			v.mu.Unlock()
			clear(f.pw)
			return false, ErrBusy
		}
		if f.shared {
			v.inflight[f.mac] = f
		}
	}
	v.mu.Unlock()

	select {
	case <-f.done:
		return f.ok, nil
	case <-ctx.Done():
		v.mu.Lock()
		f.waiters--
		v.mu.Unlock()
		return false, ctx.Err()
	case <-v.quit:
		return false, ErrClosed
	}
}

// work is one argon2id worker.
func (v *Verifier) work() {
	defer v.wg.Done()
	for {
		select {
		case <-v.quit:
			return
		case f := <-v.jobs:
			v.run(f)
		}
	}
}

// run performs f's derivation unless everyone waiting for it has gone.
func (v *Verifier) run(f *flight) {
	v.mu.Lock()
	abandoned := f.waiters == 0
	if abandoned && f.shared {
		delete(v.inflight, f.mac)
	}
	v.mu.Unlock()
	if abandoned {
		clear(f.pw)
		return
	}
	if v.beforeVerify != nil {
		v.beforeVerify()
	}
	ok := f.h.Verify(f.pw)
	clear(f.pw)
	v.mu.Lock()
	if f.shared {
		delete(v.inflight, f.mac)
		if ok {
			v.fast[f.account] = fastEntry{hash: f.h.s, mac: f.mac}
		}
	}
	f.ok = ok
	v.mu.Unlock()
	close(f.done)
}
