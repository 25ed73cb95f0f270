package slowlog

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkEnabled is the cost every command pays: under the threshold.
func BenchmarkEnabled(b *testing.B) {
	l := New(DefaultMaxLen, DefaultThreshold)
	b.ReportAllocs()
	for b.Loop() {
		if l.Enabled(50 * time.Microsecond) {
			b.Fatal("logged")
		}
	}
}

func BenchmarkEnabledParallel(b *testing.B) {
	l := New(DefaultMaxLen, DefaultThreshold)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if l.Enabled(50 * time.Microsecond) {
				b.Fatal("logged")
			}
		}
	})
}

func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct {
		name string
		args [][]byte
	}{
		{"SET", argv("SET", "user:1000", "some value")},
		{"40 args, one long", argv(append(numbered(39), strings.Repeat("x", 1000))...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := New(DefaultMaxLen, 0)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				l.Add(time.Millisecond, bc.args, "127.0.0.1:50000", "app", now)
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	l := New(DefaultMaxLen, 0)
	for range DefaultMaxLen {
		l.Add(time.Millisecond, argv("SET", "user:1000", "some value"), "127.0.0.1:50000", "", time.Now())
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Get(DefaultGetCount)
	}
}
