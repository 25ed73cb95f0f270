package engine

import (
	"testing"
	"time"
)

// watchTouched watches key for client 0, runs change on client 1 and
// reports whether EXEC would fail.
func (env *blockEnv) watchTouched(key string, change ...string) bool {
	env.t.Helper()
	env.e.Lock()
	env.cs[0].Watch(fields(key))
	env.e.Unlock()
	for _, line := range change {
		env.on(1, line)
	}
	env.e.Lock()
	defer env.e.Unlock()
	touched := env.cs[0].WatchTouched()
	env.cs[0].Unwatch()
	return touched
}

func TestWatchTouch(t *testing.T) {
	env := newBlockEnv(t, 2)
	env.on(1, "SET k v")
	for _, tc := range []struct {
		key    string
		change []string
		want   bool
	}{
		{"k", nil, false},
		{"k", []string{"GET k", "EXISTS k"}, false},
		{"k", []string{"SET k v"}, true},
		{"k", []string{"SET other v"}, false},
		{"k", []string{"SELECT 1", "SET k v", "SELECT 0"}, false},
		{"absent", []string{"DEL absent"}, false},
		{"absent", []string{"RPUSH absent x", "DEL absent"}, true},
		{"absent", []string{"FLUSHALL", "SET k v"}, false},
		{"k", []string{"FLUSHDB"}, true},
		{"k", []string{"SET k v", "SELECT 1", "SET k w", "SELECT 0", "SWAPDB 0 2"}, true},
		{"k", []string{"SWAPDB 2 3"}, false},
		{"k", []string{"SWAPDB 0 1"}, true}, // absent from 0, present in 1
	} {
		if got := env.watchTouched(tc.key, tc.change...); got != tc.want {
			t.Errorf("WATCH %s; %q: touched %v, want %v", tc.key, tc.change, got, tc.want)
		}
	}
	// Once touched, the client watches nothing more until UNWATCH.
	env.e.Lock()
	defer env.e.Unlock()
	c := env.cs[0]
	c.Watch(fields("a b"))
	execArgs(t, env.e, env.cs[1], fields("SET a 1"))
	if !c.WatchTouched() || c.WatchCount() != 0 || len(env.e.watches) != 0 {
		t.Fatalf("after a touch: touched %v, %d keys, registry %v", c.WatchTouched(), c.WatchCount(), env.e.watches)
	}
	c.Watch(fields("b"))
	if c.WatchCount() != 0 {
		t.Fatal("a touched client watched more")
	}
	c.Unwatch()
	if c.WatchTouched() {
		t.Fatal("UNWATCH kept the touch")
	}
}

func TestWatchExpiry(t *testing.T) {
	env := newBlockEnv(t, 2)
	// Expires between WATCH and EXEC, removed or not.
	env.on(1, "SET e v PX 100")
	env.e.Lock()
	env.cs[0].Watch(fields("e"))
	env.now = env.now.Add(200 * time.Millisecond)
	touched := env.cs[0].WatchTouched()
	env.cs[0].Unwatch()
	env.e.Unlock()
	if !touched {
		t.Fatal("a key that expired after WATCH did not fail EXEC")
	}
	// Already expired when watched: its removal is no change, a new
	// value is.
	for _, tc := range []struct {
		change string
		want   bool
	}{{"GET e", false}, {"SET e new", true}} {
		env.on(1, "SET e v PX 100")
		env.advance(200 * time.Millisecond)
		if got := env.watchTouched("e", tc.change); got != tc.want {
			t.Errorf("expired at WATCH, then %s: touched %v, want %v", tc.change, got, tc.want)
		}
	}
}

// BenchmarkTouchNoWatch is the cost of the WATCH hook on a write when
// nobody watches.
func BenchmarkTouchNoWatch(b *testing.B) {
	e, c := lockedEngine(b)
	b.ReportAllocs()
	for b.Loop() {
		e.touchWatched(c.db, "k")
		e.signalReady(c.db, "k")
	}
}
