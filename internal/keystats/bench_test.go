package keystats

import (
	"fmt"
	"testing"
)

// BenchmarkSample measures Sample as the command path calls it.
//   - not sampled: the cost almost every call pays (1 in 65536 sampled)
//   - 1 in 16: the default, sampled and not mixed
//   - every call: the sampled path for a known key
//   - every call, unique keys: the sampled path under a flood of new keys,
//     Misra-Gries decrements included
func BenchmarkSample(b *testing.B) {
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%08d", i)
	}
	for _, bc := range []struct {
		name   string
		every  int
		unique bool
	}{
		{"not sampled", MaxSampleEvery, false},
		{"1 in 16", 16, false},
		{"every call", 1, false},
		{"every call, unique keys", 1, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := newStats(b, Config{SampleEvery: bc.every})
			key := keys[0]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if bc.unique {
					key = keys[i&(len(keys)-1)]
					i++
				}
				s.Sample(key)
			}
		})
	}
}

func BenchmarkSampleParallel(b *testing.B) {
	for _, every := range []int{MaxSampleEvery, 16} {
		b.Run(fmt.Sprintf("1 in %d", every), func(b *testing.B) {
			s, _ := newStats(b, Config{SampleEvery: every})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key := []byte("user:1000")
				for pb.Next() {
					s.Sample(key)
				}
			})
		})
	}
}

func BenchmarkObserveSize(b *testing.B) {
	key := []byte("user:1000")
	for _, bc := range []struct {
		name  string
		bytes int
	}{
		{"under thresholds", 100},
		{"big key", 5 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := newStats(b, Config{})
			b.ReportAllocs()
			for b.Loop() {
				s.ObserveSize(key, "GET", bc.bytes, 0)
			}
		})
	}
}

// BenchmarkSampler is Sampler.Sample, one Sampler per goroutine.
func BenchmarkSampler(b *testing.B) {
	for _, every := range []int{MaxSampleEvery, 16, 1} {
		b.Run(fmt.Sprintf("1 in %d", every), func(b *testing.B) {
			s, _ := newStats(b, Config{SampleEvery: every})
			key := []byte("user:1000")
			var sp Sampler
			b.ReportAllocs()
			for b.Loop() {
				sp.Sample(s, key)
			}
		})
	}
}

func BenchmarkSamplerParallel(b *testing.B) {
	s, _ := newStats(b, Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := []byte("user:1000")
		var sp Sampler
		for pb.Next() {
			sp.Sample(s, key)
		}
	})
}
