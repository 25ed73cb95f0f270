package engine

import (
	"strconv"
	"testing"

	"redoubt/internal/rdb"
)

// BenchmarkSnapshotStrings measures a snapshot walk of string keys (what
// a rewrite does before the RDB writer): time and allocation per key.
func BenchmarkSnapshotStrings(b *testing.B) {
	e, c := lockedEngine(b)
	const n = 100_000
	for i := 0; i < n; i++ {
		execArgs(b, e, c, fields("SET key:"+strconv.Itoa(i)+" xxxxxxxxxxxxxxxx"))
	}
	e.Unlock()
	defer e.Lock()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.Lock()
		s := e.BeginSnapshot()
		e.Unlock()
		for more := true; more; {
			more, _ = s.Next(512, func(ent *rdb.Entry) error { return nil })
		}
		e.Lock()
		s.Close()
		e.Unlock()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}
