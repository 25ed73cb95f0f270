package guard

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLogLimiter(t *testing.T) {
	type step struct {
		advance    time.Duration
		key        string
		ok         bool
		suppressed int
	}
	tests := []struct {
		name     string
		interval time.Duration
		steps    []step
	}{
		{"once per interval", time.Minute, []step{
			{0, "a", true, 0},
			{time.Second, "a", false, 1},
			{time.Second, "a", false, 2},
			{57 * time.Second, "a", false, 3},
			{time.Second, "a", true, 3}, // a minute after the last line
			{0, "a", false, 1},
			{time.Minute, "a", true, 1},
			{time.Minute, "a", true, 0},
		}},
		{"keys are independent", time.Minute, []step{
			{0, "a", true, 0},
			{0, "b", true, 0},
			{0, "a", false, 1},
			{0, "b", false, 1},
			{0, "b", false, 2},
			{time.Minute, "b", true, 2},
			{0, "a", true, 1},
		}},
		{"no interval lets everything through", 0, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
		}},
		{"negative interval lets everything through", -time.Second, []step{
			{0, "a", true, 0}, {0, "a", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			l := NewLogLimiter(tt.interval, clk.Now)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				ok, n := l.Allow(s.key)
				if ok != s.ok || n != s.suppressed {
					t.Fatalf("step %d: Allow(%q) = %v, %d; want %v, %d", i, s.key, ok, n, s.ok, s.suppressed)
				}
			}
		})
	}
}

func TestLogLimiterDefaultClock(t *testing.T) {
	l := NewLogLimiter(DefaultLogInterval, nil)
	if ok, _ := l.Allow("x"); !ok {
		t.Fatal("first line held back")
	}
	if ok, n := l.Allow("x"); ok || n != 1 {
		t.Fatalf("second line within a minute: %v, %d", ok, n)
	}
}

// TestLogLimiterBoundedKeys fills the key table: past MaxLogKeys new keys
// share one overflow key, and keys whose interval ended make room again.
func TestLogLimiterBoundedKeys(t *testing.T) {
	clk := newFakeClock()
	l := NewLogLimiter(time.Minute, clk.Now)
	for i := range MaxLogKeys {
		if ok, _ := l.Allow(fmt.Sprint("key", i)); !ok {
			t.Fatalf("key %d held back", i)
		}
	}
	// The table is full: new keys share the overflow key.
	if ok, _ := l.Allow("new1"); !ok {
		t.Fatal("the first overflowing key was held back")
	}
	for i := 2; i < 100; i++ {
		if ok, n := l.Allow(fmt.Sprint("new", i)); ok || n != i-1 {
			t.Fatalf("overflowing key %d: %v, %d", i, ok, n)
		}
	}
	if len(l.keys) != MaxLogKeys {
		t.Fatalf("%d keys, want %d", len(l.keys), MaxLogKeys)
	}
	// Known keys are still limited one by one.
	if ok, n := l.Allow("key7"); ok || n != 1 {
		t.Fatalf("key7: %v, %d", ok, n)
	}
	// A minute later every key's interval has ended: a sweep makes room.
	clk.Advance(time.Minute)
	if ok, n := l.Allow("fresh"); !ok || n != 0 {
		t.Fatalf("fresh key after a minute: %v, %d", ok, n)
	}
	if len(l.keys) != 1 {
		t.Fatalf("%d keys after the sweep, want 1", len(l.keys))
	}
	if ok, n := l.Allow("new3"); !ok || n != 0 {
		t.Fatalf("new3 after the sweep: %v, %d", ok, n)
	}
}

func TestLogLimiterConcurrent(t *testing.T) {
	clk := newFakeClock()
	l := NewLogLimiter(time.Hour, clk.Now)
	const workers, rounds = 8, 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := map[string]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				key := fmt.Sprint("k", (w+i)%10)
				if ok, _ := l.Allow(key); ok {
					mu.Lock()
					allowed[key]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(allowed) != 10 {
		t.Fatalf("%d keys logged, want 10", len(allowed))
	}
	for k, n := range allowed {
		if n != 1 {
			t.Errorf("key %s logged %d times within the interval", k, n)
		}
	}
	// Every call was counted: the next allowed line reports the rest.
	clk.Advance(time.Hour)
	total := 0
	for i := range 10 {
		ok, n := l.Allow(fmt.Sprint("k", i))
		if !ok {
			t.Fatalf("k%d held back after the interval", i)
		}
		total += n
	}
	if total != workers*rounds-10 {
		t.Errorf("%d lines reported held back, want %d", total, workers*rounds-10)
	}
}
