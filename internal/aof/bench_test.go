package aof

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"redoubt/internal/resp"
)

// BenchmarkLoad replays an AOF of 1,000,000 SET commands (keys of 10-16
// bytes, values of 16 bytes, as redis-benchmark's) and reports commands
// a second. The callback does nothing: this is the cost of the file
// layer, the engine's is on top.
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	d := openDir(b, "")
	var data []byte
	val := []byte("xxxxxxxxxxxxxxxx")
	for i := range n {
		data = resp.AppendCommand(data, []byte("SET"), []byte("key:"+strconv.Itoa(i)), val)
	}
	writeAOF(b, d.Path(), data)
	fsys := DirFS(d)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var total time.Duration
	for b.Loop() {
		t0 := time.Now()
		count := 0
		info, err := Load(fsys, quiet(), nil, func(args [][]byte) error { count += len(args); return nil })
		if err != nil || info.Commands != n || count != 3*n {
			b.Fatalf("Load: %v, %d commands", err, count)
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "cmds/s")
}

// BenchmarkAppend is the cost under the engine lock: Append of a SET.
func BenchmarkAppend(b *testing.B) {
	d := openDir(b, "")
	w := openWriter(b, DirFS(d), Options{Fsync: FsyncNo, Interval: time.Hour})
	defer w.Close()
	key, val := []byte("key:000000000001"), []byte("xxxxxxxxxxxxxxxx")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Append([]byte("SET"), key, val)
		if i++; i%10000 == 0 {
			w.Flush()
		}
	}
}

// BenchmarkCommit appends and commits one SET at a time from parallel
// goroutines (each one a connection) under each policy.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		p     Policy
		conns int // goroutines per GOMAXPROCS
	}{{FsyncNo, 1}, {FsyncEverySec, 1}, {FsyncAlways, 1}, {FsyncAlways, 32}} {
		p := bc.p
		b.Run(fmt.Sprintf("%s/x%d", p, bc.conns), func(b *testing.B) {
			d := openDir(b, filepath.Join(b.TempDir(), "data"))
			w := openWriter(b, DirFS(d), Options{Fsync: p})
			defer w.Close()
			b.ReportAllocs()
			b.SetParallelism(bc.conns)
			b.RunParallel(func(pb *testing.PB) {
				key, val := []byte("key:000000000001"), []byte("xxxxxxxxxxxxxxxx")
				for pb.Next() {
					if err := w.Commit(w.Append([]byte("SET"), key, val)); err != nil {
						b.Fatal(err)
					}
				}
			})
			st := w.Stats()
			b.ReportMetric(float64(st.Writes)/float64(b.N), "writes/op")
			b.ReportMetric(float64(st.Fsyncs)/float64(b.N), "fsyncs/op")
		})
	}
}
