package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recvWithin fails the test if ch does not deliver within d. It is a safety
// net for a broken test, not a way of waiting for something to happen.
func recvWithin[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// holdingVerifier returns a Verifier whose workers count derivations
// and, while hold is armed, announce themselves on entered and block
// until release is closed.
type holdingVerifier struct {
	*Verifier
	derivations atomic.Int64
	holding     atomic.Bool
	entered     chan struct{}
	release     chan struct{}
}

func newHolding(t *testing.T, workers, queue int) *holdingVerifier {
	hv := &holdingVerifier{entered: make(chan struct{}, 64), release: make(chan struct{})}
	hv.Verifier = newVerifier(workers, queue, func() {
		hv.derivations.Add(1)
		if hv.holding.Load() {
			hv.entered <- struct{}{}
			<-hv.release
		}
	})
	t.Cleanup(func() {
		if hv.holding.Load() {
			hv.holding.Store(false)
			select {
			case <-hv.release:
			default:
				close(hv.release)
			}
		}
		hv.Close()
	})
	return hv
}

func mustParse(t testing.TB, pw string, p Params) *Hash {
	t.Helper()
	h, err := ParseHash(mustHash(t, []byte(pw), p))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVerifierCheck(t *testing.T) {
	v := newHolding(t, 2, 4)
	ctx := context.Background()
	alice := mustParse(t, "alice-password-1", cheap)
	alice2 := mustParse(t, "alice-password-2", cheap)
	bob := mustParse(t, "bob-password-1", cheap)
	steps := []struct {
		name        string
		account     string
		h           *Hash
		pw          string
		want        bool
		derivations int64 // after the step
	}{
		{"wrong before any match: argon2id", "alice", alice, "nope", false, 1},
		{"wrong again: still argon2id", "alice", alice, "nope", false, 2},
		{"right: argon2id, verifier stored", "alice", alice, "alice-password-1", true, 3},
		{"right: fast", "alice", alice, "alice-password-1", true, 3},
		{"wrong: fast", "alice", alice, "alice-password-2", false, 3},
		{"other account's password: fast", "alice", alice, "bob-password-1", false, 3},
		{"other account: argon2id", "bob", bob, "bob-password-1", true, 4},
		{"alice's hash under bob's name: argon2id", "bob", alice, "alice-password-1", true, 5},
		{"hash changed: argon2id", "alice", alice2, "alice-password-1", false, 6},
		{"new password: argon2id", "alice", alice2, "alice-password-2", true, 7},
		{"new password: fast", "alice", alice2, "alice-password-2", true, 7},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ok, err := v.Check(ctx, st.account, st.h, []byte(st.pw))
			if err != nil || ok != st.want {
				t.Fatalf("Check = %v, %v; want %v", ok, err, st.want)
			}
			if n := v.derivations.Load(); n != st.derivations {
				t.Fatalf("%d derivations, want %d", n, st.derivations)
			}
		})
	}
	t.Run("forget", func(t *testing.T) {
		v.Forget("alice")
		if ok, err := v.Check(ctx, "alice", alice2, []byte("alice-password-2")); !ok || err != nil {
			t.Fatalf("Check = %v, %v", ok, err)
		}
		if n := v.derivations.Load(); n != 8 {
			t.Fatalf("%d derivations after Forget, want 8", n)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if err := v.CheckUnknown(ctx, []byte("whatever")); err != nil {
			t.Fatal(err)
		}
		if n := v.derivations.Load(); n != 9 {
			t.Fatalf("%d derivations, want 9", n)
		}
	})
	t.Run("nil hash", func(t *testing.T) {
		if _, err := v.Check(ctx, "x", nil, nil); !errors.Is(err, ErrNoHash) {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("caller reuses buffer", func(t *testing.T) {
		pw := []byte("bob-password-1")
		v.Forget("bob")
		ok, err := v.Check(ctx, "bob", bob, pw)
		clear(pw)
		if !ok || err != nil {
			t.Fatalf("Check = %v, %v", ok, err)
		}
	})
}

func TestVerifierCoalesces(t *testing.T) {
	v := newHolding(t, 1, 1)
	h := mustParse(t, "pool-password-1", cheap)
	v.holding.Store(true)
	const clients = 20
	results := make(chan error, clients)
	first := make(chan struct{})
	go func() {
		close(first)
		ok, err := v.Check(context.Background(), "app", h, []byte("pool-password-1"))
		if err == nil && !ok {
			err = errors.New("refused")
		}
		results <- err
	}()
	<-first
	recvWithin(t, v.entered, 5*time.Second, "the first derivation")
	for range clients - 1 {
		go func() {
			ok, err := v.Check(context.Background(), "app", h, []byte("pool-password-1"))
			if err == nil && !ok {
				err = errors.New("refused")
			}
			results <- err
		}()
	}
	// The pool (1 worker, queue 1) is occupied, yet none of the 19 later
	// clients is refused: each either joins the running derivation or,
	// once it has finished, takes the fast path.
	v.holding.Store(false)
	close(v.release)
	for range clients {
		if err := recvWithin(t, results, 5*time.Second, "a client"); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.derivations.Load(); n != 1 {
		t.Fatalf("%d derivations for one password, want 1", n)
	}
}

// TestVerifierFloodHeld floods a 2-worker pool whose workers are held
// busy: exactly workers+queue attempts are taken, every other one gets
// ErrBusy while the workers are still busy, and the fast path answers.
func TestVerifierFloodHeld(t *testing.T) {
	const workers, queue, flood = 2, 8, 1000
	v := newHolding(t, workers, queue)
	ctx := context.Background()
	app := mustParse(t, "app-password-123", cheap)
	if ok, err := v.Check(ctx, "app", app, []byte("app-password-123")); !ok || err != nil {
		t.Fatalf("priming Check = %v, %v", ok, err)
	}
	victim := mustParse(t, "victim-password-1", cheap)
	v.holding.Store(true)

	type result struct {
		ok  bool
		err error
		d   time.Duration
	}
	results := make(chan result, flood)
	attack := func(i int) {
		start := time.Now()
		ok, err := v.Check(ctx, "victim", victim, fmt.Appendf(nil, "guess-%d", i))
		results <- result{ok, err, time.Since(start)}
	}
	// Occupy both workers first so that the count below is exact.
	for i := range workers {
		go attack(i)
		recvWithin(t, v.entered, 5*time.Second, "a worker")
	}
	for i := workers; i < flood; i++ {
		go attack(i)
	}
	var busyTimes []time.Duration
	for len(busyTimes) < flood-workers-queue {
		r := recvWithin(t, results, 10*time.Second, "an ErrBusy")
		if !errors.Is(r.err, ErrBusy) {
			t.Fatalf("while the pool is held got %v, %v; want ErrBusy", r.ok, r.err)
		}
		busyTimes = append(busyTimes, r.d)
	}
	slices.Sort(busyTimes)
	t.Logf("ErrBusy latency: median %v, p99 %v", busyTimes[len(busyTimes)/2], busyTimes[len(busyTimes)*99/100])

	fast := make([]time.Duration, 0, 50)
	for range cap(fast) {
		start := time.Now()
		ok, err := v.Check(ctx, "app", app, []byte("app-password-123"))
		fast = append(fast, time.Since(start))
		if !ok || err != nil {
			t.Fatalf("fast Check during flood = %v, %v", ok, err)
		}
	}
	slices.Sort(fast)
	t.Logf("fast path during held flood: median %v, max %v", fast[len(fast)/2], fast[len(fast)-1])
	if fast[len(fast)/2] > time.Millisecond {
		t.Fatalf("fast path median %v during flood, want < 1ms", fast[len(fast)/2])
	}

	v.holding.Store(false)
	close(v.release)
	for range workers + queue {
		r := recvWithin(t, results, 10*time.Second, "a queued check")
		if r.ok || r.err != nil {
			t.Fatalf("queued wrong password: %v, %v", r.ok, r.err)
		}
	}
	if n := v.derivations.Load(); n != 1+workers+queue {
		t.Fatalf("%d derivations, want %d", n, 1+workers+queue)
	}
}

// TestVerifierFloodReal floods a 2-worker pool running real default-cost
// argon2id and checks that the fast path stays fast meanwhile.
func TestVerifierFloodReal(t *testing.T) {
	const workers, queue, flood = 2, 8, 1000
	v := NewVerifier(workers, queue)
	t.Cleanup(v.Close)
	ctx := context.Background()
	app := mustParse(t, "app-password-123", cheap)
	if ok, err := v.Check(ctx, "app", app, []byte("app-password-123")); !ok || err != nil {
		t.Fatalf("priming Check = %v, %v", ok, err)
	}
	victim := mustParse(t, "victim-password-1", DefaultParams())

	var busy, done atomic.Int64
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() {
			_, err := v.Check(ctx, "victim", victim, fmt.Appendf(nil, "guess-%d", i))
			if errors.Is(err, ErrBusy) {
				busy.Add(1)
			} else if err != nil {
				t.Errorf("flood Check: %v", err)
			}
			done.Add(1)
		})
	}
	var fast []time.Duration
	for done.Load() < flood || len(fast) < 20 {
		start := time.Now()
		ok, err := v.Check(ctx, "app", app, []byte("app-password-123"))
		fast = append(fast, time.Since(start))
		if !ok || err != nil {
			t.Fatalf("fast Check during flood = %v, %v", ok, err)
		}
	}
	wg.Wait()
	slices.Sort(fast)
	t.Logf("%d of %d refused with ErrBusy; %d fast checks during the flood: median %v, max %v",
		busy.Load(), flood, len(fast), fast[len(fast)/2], fast[len(fast)-1])
	if busy.Load() < flood/2 {
		t.Fatalf("only %d ErrBusy: the flood queued", busy.Load())
	}
	if fast[len(fast)/2] > time.Millisecond {
		t.Fatalf("fast path median %v during flood, want < 1ms", fast[len(fast)/2])
	}
}

func TestVerifierCancel(t *testing.T) {
	v := newHolding(t, 1, 2)
	h := mustParse(t, "victim-password-1", cheap)
	v.holding.Store(true)
	errs := make(chan error, 1)
	go func() {
		_, err := v.Check(context.Background(), "victim", h, []byte("occupy the worker"))
		errs <- err
	}()
	recvWithin(t, v.entered, 5*time.Second, "the worker")

	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		_, err := v.Check(ctx, "victim", h, []byte("queued then cancelled"))
		waiting <- err
	}()
	cancel()
	if err := recvWithin(t, waiting, 5*time.Second, "the cancelled check"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Check error = %v", err)
	}
	if _, err := v.Check(ctx, "victim", h, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check with a done context = %v", err)
	}
	v.holding.Store(false)
	close(v.release)
	if err := recvWithin(t, errs, 5*time.Second, "the first check"); err != nil {
		t.Fatal(err)
	}
	// The abandoned derivation is skipped: the next check is the second.
	if ok, err := v.Check(context.Background(), "victim", h, []byte("victim-password-1")); !ok || err != nil {
		t.Fatalf("Check = %v, %v", ok, err)
	}
	if n := v.derivations.Load(); n != 2 {
		t.Fatalf("%d derivations, want 2 (the cancelled one skipped)", n)
	}
}

func TestVerifierClosed(t *testing.T) {
	v := NewVerifier(1, 1)
	v.Close()
	v.Close() // idempotent
	h := mustParse(t, "victim-password-1", cheap)
	if _, err := v.Check(context.Background(), "victim", h, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Check after Close = %v", err)
	}
	if err := v.CheckUnknown(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("CheckUnknown after Close = %v", err)
	}
}

func BenchmarkFastVerify(b *testing.B) {
	v := NewVerifier(1, 1)
	b.Cleanup(v.Close)
	h := mustParse(b, "bench-password-1", DefaultParams())
	ctx := context.Background()
	if ok, err := v.Check(ctx, "app", h, []byte("bench-password-1")); !ok || err != nil {
		b.Fatal(ok, err)
	}
	for _, tc := range []struct{ name, pw string }{{"right", "bench-password-1"}, {"wrong", "bench-password-2"}} {
		b.Run(tc.name, func(b *testing.B) {
			pw := []byte(tc.pw)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Check(ctx, "app", h, pw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
