package keystats

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestSamplerRate(t *testing.T) {
	key := []byte("k")
	tests := []struct {
		name  string
		every int
		calls int
		fresh bool // a new Sampler for every call: one-command connections
	}{
		{"every call", 1, 10000, false},
		{"1 in 16", 16, 1_000_000, false},
		{"1 in 1000", 1000, 2_000_000, false},
		{"1 in 16, one call per connection", 16, 200_000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStats(t, Config{SampleEvery: tt.every})
			var sp Sampler
			n := 0
			for i := 0; i < tt.calls; i++ {
				if tt.fresh {
					sp = Sampler{}
				}
				if sp.Sample(s, key) {
					n++
				}
			}
			want := float64(tt.calls) / float64(tt.every)
			sd := math.Sqrt(want * (1 - 1/float64(tt.every)))
			if math.Abs(float64(n)-want) > 6*sd+0.5 {
				t.Errorf("%d sampled of %d, want %.0f ± %.0f", n, tt.calls, want, 6*sd)
			}
			if got := s.Counters().Sampled; got != uint64(n) {
				t.Errorf("Sampled counter %d, %d calls reported sampled", got, n)
			}
		})
	}
}

// TestSamplerGapsVary: the gaps between samples are random, so a client
// cannot place its commands between them.
func TestSamplerGapsVary(t *testing.T) {
	s, _ := newStats(t, Config{SampleEvery: 16})
	var sp Sampler
	gaps := map[int]int{}
	last := 0
	for i := 1; i <= 100000; i++ {
		if sp.Sample(s, []byte("k")) {
			gaps[i-last]++
			last = i
		}
	}
	if len(gaps) < 20 {
		t.Errorf("only %d distinct gaps: %v", len(gaps), gaps)
	}
	if gaps[1] == 0 {
		t.Error("never two samples in a row; the gaps are not geometric")
	}
}

func TestSamplerFindsHotKey(t *testing.T) {
	s, c := newStats(t, Config{})
	conns := make([]Sampler, 8)
	var buf []byte
	for i := 0; i < 40000; i++ {
		sp := &conns[i%len(conns)]
		sp.Sample(s, []byte("hot"))
		buf = fmt.Appendf(buf[:0], "cold:%d", i)
		sp.Sample(s, buf)
	}
	c.Advance(time.Second)
	top := s.Top()
	if len(top) != 1 || top[0].Key != "hot" || top[0].OpsPerSec < 32000 || top[0].OpsPerSec > 48000 {
		t.Fatalf("top %+v, want hot at about 40000 ops/s", top)
	}
}

func TestSamplerNilAndAllocs(t *testing.T) {
	var sp Sampler
	if sp.Sample(nil, []byte("k")) {
		t.Error("sampled into a nil Stats")
	}
	s, _ := newStats(t, Config{})
	key := []byte("user:1000")
	sp.Sample(s, key)
	if n := testing.AllocsPerRun(1000, func() { sp.Sample(s, key) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}
