package resp

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// FuzzReadCommand feeds arbitrary bytes (seeded with real client traffic
// captured from redis-cli, redis-benchmark and an HTTP request, under
// testdata/) to the command reader, under both the normal and the
// pre-authentication limits. It must never panic, never return more
// arguments or longer ones than the limits allow, and a command it returns
// must survive re-encoding.
func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"))
	f.Add([]byte("PING\r\nset k \"v\\x41\"\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{DefaultLimits(), PreAuthLimits()} {
			rd := NewReader(&dripReader{data: bytes.Clone(data), n: 7}, lim)
			for i := 0; i < 1000; i++ {
				args, err := rd.ReadCommand()
				if err != nil {
					break
				}
				if len(args) == 0 || int64(len(args)) > lim.MaxArgs {
					t.Fatalf("%d arguments under limit %d", len(args), lim.MaxArgs)
				}
				for _, a := range args {
					if int64(len(a)) > lim.MaxBulk {
						t.Fatalf("argument of %d bytes under limit %d", len(a), lim.MaxBulk)
					}
				}
				// Round trip: the encoded command reads back the same.
				enc := AppendCommand(nil, args...)
				back, err := NewReader(bytes.NewReader(enc), DefaultLimits()).ReadCommand()
				if err != nil || len(back) != len(args) {
					t.Fatalf("re-encoded command does not read back: %v", err)
				}
				for j := range args {
					if !bytes.Equal(back[j], args[j]) {
						t.Fatalf("argument %d changed: %q != %q", j, back[j], args[j])
					}
				}
			}
		}
	})
}

// FuzzReadValue feeds arbitrary bytes (seeded with real redis-server 7
// replies in RESP2 and RESP3, including attributes, big numbers and
// verbatim strings) to the value reader. It must never panic, and a value
// it returns must survive a writer→reader round trip.
func FuzzReadValue(f *testing.F) {
	f.Add([]byte("*2\r\n:1\r\n%1\r\n+a\r\n$1\r\nb\r\n"))
	f.Add([]byte("|1\r\n+a\r\n:1\r\n,3.5\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(&dripReader{data: bytes.Clone(data), n: 5}, DefaultLimits())
		for i := 0; i < 1000; i++ {
			v, err := rd.ReadValue()
			if err != nil {
				return
			}
			checkRoundTrip(t, v)
		}
	})
}

// checkRoundTrip writes v with a RESP3 writer, reads it back and compares.
func checkRoundTrip(t *testing.T, v Value) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetProto(3)
	w.WriteValue(v)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	back, err := NewReader(&buf, DefaultLimits()).ReadValue()
	if err != nil {
		t.Fatalf("written value does not read back: %v\n%q", err, buf.String())
	}
	if !equalValue(v, back) {
		t.Fatalf("round trip changed the value:\n in:  %+v\n out: %+v", v, back)
	}
}

func equalValue(a, b Value) bool {
	if a.Null || b.Null {
		return a.Null == b.Null
	}
	if a.Type != b.Type || !bytes.Equal(a.Str, b.Str) || a.Int != b.Int || len(a.Elems) != len(b.Elems) {
		return false
	}
	for i := range a.Elems {
		if !equalValue(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	return true
}

// TestRoundTripProperty writes thousands of random values of every type and
// checks that the reader returns each one unchanged, whole or dripped.
func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		v := randomValue(r, 0)
		checkRoundTrip(t, v)
	}
}

func randomValue(r *rand.Rand, depth int) Value {
	kinds := []byte{TypeSimple, TypeError, TypeInteger, TypeBulk, TypeNull, TypeDouble, TypeBool,
		TypeBlobError, TypeVerbatim, TypeBigNumber, TypeArray, TypeMap, TypeSet, TypePush}
	if depth >= 3 {
		kinds = kinds[:10]
	}
	typ := kinds[r.IntN(len(kinds))]
	v := Value{Type: typ}
	switch typ {
	case TypeSimple, TypeError:
		v.Str = []byte(randText(r, false))
	case TypeInteger:
		v.Int = r.Int64() - math.MaxInt64/2
	case TypeBulk, TypeBlobError:
		v.Str = []byte(randText(r, true))
	case TypeNull:
		v.Null = true
	case TypeDouble:
		v.Str = AppendFloat(nil, r.NormFloat64()*1e6)
	case TypeBool:
		v.Int = int64(r.IntN(2))
	case TypeVerbatim:
		v.Str = []byte("txt:" + randText(r, true))
	case TypeBigNumber:
		v.Str = []byte(strconv.FormatUint(r.Uint64(), 10) + "123456789")
	default:
		n := r.IntN(5)
		if typ == TypeMap {
			n *= 2
		}
		v.Elems = make([]Value, n)
		for i := range v.Elems {
			v.Elems[i] = randomValue(r, depth+1)
		}
	}
	return v
}

func randText(r *rand.Rand, binary bool) string {
	n := r.IntN(40)
	b := make([]byte, n)
	for i := range b {
		if binary {
			b[i] = byte(r.IntN(256))
		} else {
			b[i] = byte(' ' + r.IntN(95))
		}
	}
	return string(b)
}

// TestWriterRESP2 checks how RESP3 types are downgraded for RESP2 clients,
// as Redis does.
func TestWriterRESP2(t *testing.T) {
	tests := []struct {
		name string
		fn   func(w *Writer)
		v2   string
		v3   string
	}{
		{"null", func(w *Writer) { w.WriteNull() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *Writer) { w.WriteNullArray() }, "*-1\r\n", "_\r\n"},
		{"map", func(w *Writer) { w.WriteMap(1) }, "*2\r\n", "%1\r\n"},
		{"set", func(w *Writer) { w.WriteSet(2) }, "*2\r\n", "~2\r\n"},
		{"push", func(w *Writer) { w.WritePush(3) }, "*3\r\n", ">3\r\n"},
		{"double", func(w *Writer) { w.WriteDouble(1.5) }, "$3\r\n1.5\r\n", ",1.5\r\n"},
		{"double %.17g", func(w *Writer) { w.WriteDouble(1.1) }, "$18\r\n1.1000000000000001\r\n", ",1.1000000000000001\r\n"},
		{"inf", func(w *Writer) { w.WriteDouble(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"bool", func(w *Writer) { w.WriteBool(true) }, ":1\r\n", "#t\r\n"},
		{"verbatim", func(w *Writer) { w.WriteVerbatim("txt", "hi") }, "$2\r\nhi\r\n", "=6\r\ntxt:hi\r\n"},
		{"bignum", func(w *Writer) { w.WriteBigNumber("12") }, "$2\r\n12\r\n", "(12\r\n"},
		{"error newline", func(w *Writer) { w.WriteError("ERR a\r\nb") }, "-ERR a  b\r\n", "-ERR a  b\r\n"},
	}
	for _, tt := range tests {
		for _, proto := range []int{2, 3} {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			w.SetProto(proto)
			tt.fn(w)
			_ = w.Flush()
			want := tt.v2
			if proto == 3 {
				want = tt.v3
			}
			if buf.String() != want {
				t.Errorf("%s RESP%d: got %q, want %q", tt.name, proto, buf.String(), want)
			}
		}
	}
}

// BenchmarkReadCommand measures parsing a pipelined SET.
func BenchmarkReadCommand(b *testing.B) {
	cmd := AppendCommand(nil, []byte("SET"), []byte("key:000000000001"), bytes.Repeat([]byte("x"), 16))
	pipeline := bytes.Repeat(cmd, 16)
	src := &loopReader{data: pipeline}
	rd := NewReader(src, DefaultLimits())
	b.ReportAllocs()
	b.SetBytes(int64(len(cmd)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rd.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBulk measures encoding a GET reply.
func BenchmarkWriteBulk(b *testing.B) {
	w := NewWriter(io.Discard)
	v := bytes.Repeat([]byte("x"), 16)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.WriteBulk(v)
		if w.Buffered() > 4096 {
			_ = w.Flush()
		}
	}
}

// loopReader serves its data forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// FuzzReadRawMaxValue checks the bound on whole values: with MaxValue set,
// every value the unbounded reader returns comes back the same if it fits
// and as ErrValueTooLarge if not, and the reader stays in step with the
// stream either way, whether the bytes arrive whole or dripped.
func FuzzReadRawMaxValue(f *testing.F) {
	f.Add([]byte("$5\r\nhello\r\n+OK\r\n*3\r\n:1\r\n$10\r\n0123456789\r\n*1\r\n+x\r\n:7\r\n"), uint16(8), uint8(3))
	f.Add([]byte("%2\r\n+a\r\n$3\r\nbcd\r\n+e\r\n*0\r\n|1\r\n+k\r\n+v\r\n$2\r\nzz\r\n"), uint16(12), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, drip uint8) {
		var want [][]byte
		free := NewReader(bytes.NewReader(data), DefaultLimits())
		for len(want) < 200 {
			raw, err := free.ReadRaw()
			if err != nil {
				break
			}
			want = append(want, bytes.Clone(raw))
		}
		lim := DefaultLimits()
		lim.MaxValue = int64(limit) + 1
		rd := NewReader(&dripReader{data: bytes.Clone(data), n: int(drip%7) + 1}, lim)
		for i, w := range want {
			raw, err := rd.ReadRaw()
			if int64(len(w)) > lim.MaxValue {
				if err != ErrValueTooLarge {
					t.Fatalf("value %d (%d bytes, limit %d): got %q, %v; want ErrValueTooLarge", i, len(w), lim.MaxValue, raw, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(raw, w) {
				t.Fatalf("value %d: got %q, %v; want %q", i, raw, err, w)
			}
		}
	})
}

// TestReadRawMaxValueBuffer checks that a value too large is never
// buffered: a 64 MiB bulk string behind a 1 MiB limit leaves a small
// buffer, and the value after it reads normally.
func TestReadRawMaxValueBuffer(t *testing.T) {
	big := make([]byte, 64<<20)
	stream := append(AppendBulk(nil, big), "+after\r\n"...)
	lim := DefaultLimits()
	lim.MaxValue = 1 << 20
	rd := NewReader(bytes.NewReader(stream), lim)
	if _, err := rd.ReadRaw(); err != ErrValueTooLarge {
		t.Fatalf("got %v, want ErrValueTooLarge", err)
	}
	if c := rd.BufferCap(); c > 1<<20 {
		t.Fatalf("the discarded value grew the buffer to %d bytes", c)
	}
	raw, err := rd.ReadRaw()
	if err != nil || string(raw) != "+after\r\n" {
		t.Fatalf("next value: %q, %v", raw, err)
	}
}
