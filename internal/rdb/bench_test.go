package rdb

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchKeys is the size of the benchmark data sets; results are per key.
const benchKeys = 100_000

// benchData builds a data set: "strings" (short values, a tenth with a
// TTL, a fifth integers) or "mixed" (also small lists, sets, zsets, hashes).
func benchData(kind string) []Entry {
	es := make([]Entry, benchKeys)
	for i := range es {
		e := &es[i]
		e.Key = fmt.Appendf(nil, "key:%08d", i)
		if i%10 == 0 {
			e.Expires, e.ExpireAt = true, 1_900_000_000_000+int64(i)
		}
		switch {
		case i%5 == 0:
			e.Value = String(fmt.Appendf(nil, "%d", i*37))
		case kind == "mixed" && i%5 == 1:
			e.Value = List{[]byte("alpha"), fmt.Appendf(nil, "%d", i), []byte("gamma"), []byte("delta")}
		case kind == "mixed" && i%5 == 2:
			e.Value = Hash{{[]byte("name"), fmt.Appendf(nil, "user-%d", i)}, {[]byte("age"), []byte("42")}, {[]byte("city"), []byte("Lisbon")}}
		case kind == "mixed" && i%5 == 3:
			e.Value = ZSet{{[]byte("a"), 1}, {[]byte("b"), float64(i)}, {[]byte("c"), 2.5}}
		case kind == "mixed" && i%5 == 4:
			e.Value = Set{[]byte("x"), []byte("y"), fmt.Appendf(nil, "m%d", i)}
		default:
			e.Value = String(fmt.Appendf(nil, "value-%d-%s", i, "0123456789abcdefghij"))
		}
	}
	return es
}

// discard is a Handler that keeps nothing.
type discard struct{ n int }

func (d *discard) Entry(*Entry) error { d.n++; return nil }

func BenchmarkRead(b *testing.B) {
	for _, kind := range []string{"strings", "mixed"} {
		b.Run(kind, func(b *testing.B) {
			file := writeAll(b, WriterOptions{}, benchData(kind))
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			for b.Loop() {
				d := &discard{}
				if err := Read(bytes.NewReader(file), d); err != nil || d.n != benchKeys {
					b.Fatal(err, d.n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchKeys), "ns/key")
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, kind := range []string{"strings", "mixed"} {
		for _, compress := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/compress=%v", kind, compress), func(b *testing.B) {
				es := benchData(kind)
				b.ReportAllocs()
				for b.Loop() {
					w, err := NewWriterOptions(io.Discard, WriterOptions{NoCompress: !compress})
					if err != nil {
						b.Fatal(err)
					}
					for i := range es {
						if err := w.Write(&es[i]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchKeys), "ns/key")
			})
		}
	}
}
