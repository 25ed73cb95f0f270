package keystats

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a fake Config.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newStats(t testing.TB, cfg Config) (*Stats, *clock) {
	t.Helper()
	c := newClock()
	cfg.Now = c.Now
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// send samples key n times, reusing one buffer as a server would.
func send(s *Stats, key string, n int) {
	buf := []byte(key)
	for i := 0; i < n; i++ {
		s.Sample(buf)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		errs int
	}{
		{"zero is all defaults", Config{}, 0},
		{"sample every call", Config{SampleEvery: 1}, 0},
		{"big keys off", Config{BigBytes: -1, BigElements: -1}, 0},
		{"negative sample rate", Config{SampleEvery: -1}, 1},
		{"sample rate too high", Config{SampleEvery: MaxSampleEvery + 1}, 1},
		{"window too short", Config{Window: time.Millisecond}, 1},
		{"window too long", Config{Window: 2 * time.Hour}, 1},
		{"negative threshold", Config{HotThreshold: -5}, 1},
		{"tracked too few", Config{MaxTracked: 2}, 1},
		{"tracked too many", Config{MaxTracked: MaxMaxTracked + 1}, 1},
		{"top too long", Config{TopN: MaxTopN + 1}, 1},
		{"big list too long", Config{BigMax: -3}, 1},
		{"key bytes too few", Config{MaxKeyBytes: 1}, 1},
		{"every error reported", Config{SampleEvery: -1, Window: -1, TopN: -1, MaxKeyBytes: -1}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var n int
			if err != nil {
				n = strings.Count(err.Error(), "\n") + 1
				if !errors.Is(err, ErrConfig) {
					t.Errorf("%v does not wrap ErrConfig", err)
				}
			}
			if n != tt.errs {
				t.Errorf("%d errors, want %d: %v", n, tt.errs, err)
			}
			if _, err := New(tt.cfg); (err != nil) != (tt.errs > 0) {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s, _ := newStats(t, Config{})
	got := s.Config()
	got.Now = nil
	want := Config{
		SampleEvery: 16, Window: time.Second, HotThreshold: 1000, MaxTracked: 1024, TopN: 10,
		BigBytes: 1 << 20, BigElements: 10000, BigMax: 20, MaxKeyBytes: 128,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults %+v\nwant %+v", got, want)
	}
}

// TestHotThreshold samples every call, so counts are exact.
func TestHotThreshold(t *testing.T) {
	tests := []struct {
		name      string
		window    time.Duration
		threshold int64
		hits      int
		wantOps   int64 // 0: not hot
	}{
		{"at the threshold", time.Second, 1000, 1000, 1000},
		{"just under", time.Second, 1000, 999, 0},
		{"over", time.Second, 1000, 5000, 5000},
		{"low threshold", time.Second, 50, 60, 60},
		{"short window", 100 * time.Millisecond, 1000, 100, 1000},
		{"short window, under", 100 * time.Millisecond, 1000, 99, 0},
		{"long window", 10 * time.Second, 1000, 10000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newStats(t, Config{SampleEvery: 1, Window: tt.window, HotThreshold: tt.threshold})
			send(s, "user:42", tt.hits)
			send(s, "cold", 3)
			if top := s.Top(); len(top) != 0 {
				t.Fatalf("hot list before the window ended: %+v", top)
			}
			c.Advance(tt.window)
			top := s.Top()
			if tt.wantOps == 0 {
				if len(top) != 0 {
					t.Fatalf("hot: %+v", top)
				}
				return
			}
			if len(top) != 1 || top[0].Key != "user:42" || top[0].OpsPerSec != tt.wantOps ||
				top[0].Samples != uint32(tt.hits) || top[0].KeyLen != 7 {
				t.Fatalf("top %+v, want user:42 at %d ops/s", top, tt.wantOps)
			}
			if cn := s.Counters(); cn.HotDetections != 1 || cn.HotKeys != 1 || cn.Sampled != uint64(tt.hits+3) {
				t.Errorf("counters %+v", cn)
			}
		})
	}
}

// TestHotKeySampled sends one key at 50,000 ops/s among as many unique keys,
// sampling 1 in 16: the estimate is within a few percent.
func TestHotKeySampled(t *testing.T) {
	s, c := newStats(t, Config{})
	hot := []byte("session:hot")
	var buf []byte
	for i := 0; i < 50000; i++ {
		s.Sample(hot)
		buf = fmt.Appendf(buf[:0], "key:%d", i)
		s.Sample(buf)
	}
	c.Advance(time.Second)
	top := s.Top()
	if len(top) != 1 || top[0].Key != "session:hot" {
		t.Fatalf("top %+v", top)
	}
	if ops := top[0].OpsPerSec; ops < 40000 || ops > 60000 {
		t.Errorf("estimated %d ops/s, want about 50000", ops)
	}
	if sampled := s.Counters().Sampled; sampled < 100000/16*8/10 || sampled > 100000/16*12/10 {
		t.Errorf("sampled %d of 100000 calls at 1 in 16", sampled)
	}
}

// TestUniformSpread sends 100,000 distinct keys in one window: none is hot
// and the counters never exceed MaxTracked.
func TestUniformSpread(t *testing.T) {
	for _, every := range []int{1, 16} {
		t.Run(fmt.Sprintf("1 in %d", every), func(t *testing.T) {
			const k = 256
			s, c := newStats(t, Config{SampleEvery: every, MaxTracked: k})
			var buf []byte
			for i := 0; i < 100000; i++ {
				buf = fmt.Appendf(buf[:0], "user:%08d", i)
				s.Sample(buf)
				if i%997 == 0 {
					if n := s.tracked(); n > k {
						t.Fatalf("%d keys tracked after %d calls, max %d", n, i, k)
					}
				}
			}
			if n := s.tracked(); n > k {
				t.Fatalf("%d keys tracked, max %d", n, k)
			}
			if n := s.named(); n != 0 {
				t.Errorf("%d key names copied for keys far from hot", n)
			}
			c.Advance(time.Second)
			if top := s.Top(); len(top) != 0 {
				t.Errorf("hot: %+v", top)
			}
			if cn := s.Counters(); cn.HotDetections != 0 || cn.Tracked != 0 {
				t.Errorf("counters %+v", cn)
			}
		})
	}
}

func (s *Stats) tracked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

func (s *Stats) named() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.counts {
		if e.named {
			n++
		}
	}
	return n
}

// TestFloodCannotHideHotKey: with every call sampled, a hot key loses at most
// samples/(MaxTracked+1) of its count to a flood of unique keys.
func TestFloodCannotHideHotKey(t *testing.T) {
	s, c := newStats(t, Config{SampleEvery: 1, MaxTracked: 64})
	hot := []byte("hot")
	var buf []byte
	for i := 0; i < 20000; i++ {
		if i%4 == 0 {
			s.Sample(hot)
		}
		buf = fmt.Appendf(buf[:0], "flood:%d", i)
		s.Sample(buf)
	}
	c.Advance(time.Second)
	top := s.Top()
	if len(top) != 1 || top[0].Key != "hot" {
		t.Fatalf("top %+v", top)
	}
	// 25,000 samples, K=64: the count is at least 5000 - 25000/65.
	if top[0].Samples < 5000-25000/65 || top[0].Samples > 5000 {
		t.Errorf("hot key counted %d times of 5000", top[0].Samples)
	}
}

func TestWindows(t *testing.T) {
	s, c := newStats(t, Config{SampleEvery: 1})
	send(s, "a", 2000)
	c.Advance(1500 * time.Millisecond)
	if top := s.Top(); len(top) != 1 || top[0].Key != "a" {
		t.Fatalf("window 1: %+v", top)
	}
	// The next window had no traffic: the list empties.
	c.Advance(time.Second)
	if top := s.Top(); len(top) != 0 {
		t.Fatalf("window 2: %+v", top)
	}
	// A burst, then several idle windows before anyone looks: it counts as
	// a detection but is no longer current.
	send(s, "b", 2000)
	c.Advance(3 * time.Second)
	if top := s.Top(); len(top) != 0 {
		t.Fatalf("after idle windows: %+v", top)
	}
	if cn := s.Counters(); cn.HotDetections != 2 || cn.Windows != 5 {
		t.Errorf("counters %+v, want 2 detections in 5 windows", cn)
	}
	// Windows stay aligned to the first one: 5.5s in, this window ends at 6s.
	send(s, "c", 1000)
	c.Advance(499 * time.Millisecond)
	if top := s.Top(); len(top) != 0 {
		t.Fatalf("window ended early: %+v", top)
	}
	c.Advance(time.Millisecond)
	if top := s.Top(); len(top) != 1 || top[0].Key != "c" {
		t.Fatalf("aligned window: %+v", top)
	}
}

func TestTopN(t *testing.T) {
	s, c := newStats(t, Config{SampleEvery: 1, HotThreshold: 10, TopN: 5})
	for i := 1; i <= 30; i++ {
		send(s, fmt.Sprintf("k%02d", i), 10*i)
	}
	c.Advance(time.Second)
	var got []string
	for _, h := range s.Top() {
		got = append(got, fmt.Sprintf("%s:%d", h.Key, h.OpsPerSec))
	}
	if want := "k30:300 k29:290 k28:280 k27:270 k26:260"; strings.Join(got, " ") != want {
		t.Errorf("top %v, want %s", got, want)
	}
	if cn := s.Counters(); cn.HotDetections != 30 || cn.HotKeys != 5 {
		t.Errorf("counters %+v", cn)
	}
}

func TestKeyNames(t *testing.T) {
	s, c := newStats(t, Config{SampleEvery: 1, HotThreshold: 10, MaxKeyBytes: 16})
	buf := []byte("tenant:1:session")
	for i := 0; i < 20; i++ {
		s.Sample(buf)
	}
	copy(buf, "XXXXXX") // the caller reuses its buffer; a different key now
	long := []byte(strings.Repeat("L", 1000))
	for i := 0; i < 20; i++ {
		s.Sample(long)
	}
	c.Advance(time.Second)
	names := map[string]int{}
	for _, h := range s.Top() {
		names[h.Key] = h.KeyLen
	}
	want := map[string]int{"tenant:1:session": 16, strings.Repeat("L", 16): 1000}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}

// TestCountersHaveNoNames keeps key names out of what goes to metrics.
func TestCountersHaveNoNames(t *testing.T) {
	typ := reflect.TypeFor[Counters]()
	for i := 0; i < typ.NumField(); i++ {
		switch typ.Field(i).Type.Kind() {
		case reflect.Int, reflect.Uint64:
		default:
			t.Errorf("Counters.%s is a %s; counters hold numbers only", typ.Field(i).Name, typ.Field(i).Type)
		}
	}
}

func TestReconfigure(t *testing.T) {
	s, c := newStats(t, Config{SampleEvery: 1, HotThreshold: 10})
	for i := 0; i < 5; i++ {
		send(s, fmt.Sprint("k", i), 100)
		s.ObserveSize([]byte(fmt.Sprint("b", i)), "GET", 2<<20+i, 0)
	}
	c.Advance(time.Second)
	if len(s.Top()) != 5 || len(s.Big()) != 5 {
		t.Fatalf("top %d big %d", len(s.Top()), len(s.Big()))
	}
	if err := s.Reconfigure(Config{SampleEvery: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad config: %v", err)
	}
	if s.Config().HotThreshold != 10 {
		t.Fatal("a rejected config was applied")
	}
	if err := s.Reconfigure(Config{SampleEvery: 1, HotThreshold: 500, TopN: 2, BigMax: 3}); err != nil {
		t.Fatal(err)
	}
	if len(s.Top()) != 2 || len(s.Big()) != 3 {
		t.Errorf("lists not cut: top %d big %d", len(s.Top()), len(s.Big()))
	}
	// The clock is kept and the new threshold applies from a new window.
	send(s, "x", 499)
	send(s, "y", 500)
	c.Advance(time.Second)
	if top := s.Top(); len(top) != 1 || top[0].Key != "y" {
		t.Errorf("top %+v", top)
	}
}

func TestReset(t *testing.T) {
	s, c := newStats(t, Config{SampleEvery: 1})
	send(s, "a", 5000)
	s.ObserveSize([]byte("big"), "SET", 5<<20, 0)
	c.Advance(time.Second)
	if len(s.Top()) != 1 {
		t.Fatal("no hot key")
	}
	s.Reset()
	if len(s.Top()) != 0 || len(s.Big()) != 0 || s.Counters() != (Counters{}) {
		t.Errorf("after Reset: top %v big %v counters %+v", s.Top(), s.Big(), s.Counters())
	}
}

func TestNilStats(t *testing.T) {
	var s *Stats
	if s.Sample([]byte("k")) || s.Top() != nil || s.Big() != nil || s.Counters() != (Counters{}) {
		t.Fatal("nil Stats not empty")
	}
	s.ObserveSize([]byte("k"), "GET", 1<<30, 1<<30)
	s.Reset()
}

func TestFastPathsDoNotAllocate(t *testing.T) {
	key := []byte("user:1000")
	for _, tt := range []struct {
		name string
		cfg  Config
		f    func(s *Stats)
	}{
		{"Sample, 1 in 16", Config{}, func(s *Stats) { s.Sample(key) }},
		{"Sample, every call, known key", Config{SampleEvery: 1}, func(s *Stats) { s.Sample(key) }},
		{"ObserveSize under thresholds", Config{}, func(s *Stats) { s.ObserveSize(key, "GET", 100, 0) }},
		{"ObserveSize, known big key", Config{}, func(s *Stats) { s.ObserveSize(key, "GET", 5<<20, 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStats(t, tt.cfg)
			tt.f(s)
			if n := testing.AllocsPerRun(1000, func() { tt.f(s) }); n != 0 {
				t.Errorf("%v allocations per call", n)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	const k = 64
	s, c := newStats(t, Config{SampleEvery: 2, MaxTracked: k, HotThreshold: 10, BigMax: 5})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var sp Sampler
			sample := s.Sample
			if w%2 == 1 {
				sample = func(key []byte) bool { return sp.Sample(s, key) }
			}
			for i := 0; i < 5000; i++ {
				buf = fmt.Appendf(buf[:0], "k:%d", i%(100*(w+1)))
				if sample(buf) {
					s.ObserveSize(buf, "HGETALL", 0, 10000+i)
				}
				switch i % 500 {
				case 1:
					_ = s.Top()
				case 2:
					_ = s.Big()
				case 3:
					_ = s.Counters()
				case 4:
					c.Advance(300 * time.Millisecond)
				case 5:
					if w == 0 {
						_ = s.Reconfigure(Config{SampleEvery: 1 + i%3, MaxTracked: k, HotThreshold: 10, BigMax: 5})
					}
				case 6:
					if w == 1 {
						s.Reset()
					}
				}
			}
		}()
	}
	wg.Wait()
	if cn := s.Counters(); cn.Tracked > k || cn.BigKeys > 5 || cn.HotKeys > DefaultTopN {
		t.Errorf("bounds exceeded: %+v", cn)
	}
}
