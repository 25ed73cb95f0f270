package rdb

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestCRC64(t *testing.T) {
	tab := newCRCTable()
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0},
		{"123456789", 0xe9c6d914c4b8d9ca},
		// No known value: checked only for split consistency below.
		{"This is a test of the emergency broadcast system.", 0},
	} {
		got := tab.update(0, []byte(tc.in))
		if tc.want != 0 && got != tc.want {
			t.Errorf("crc64(%q) = %016x, want %016x", tc.in, got, tc.want)
		}
		// Split updates agree with one update.
		for cut := range len(tc.in) {
			if s := tab.update(tab.update(0, []byte(tc.in[:cut])), []byte(tc.in[cut:])); s != got {
				t.Fatalf("split at %d: %016x != %016x", cut, s, got)
			}
		}
	}
}

// sampleEntries has every value type, expiries, several databases, binary
// data, integers of each width and long compressible strings.
func sampleEntries() []Entry {
	long := bytes.Repeat([]byte("compressible "), 500)
	bigList := make(List, 5000)
	for i := range bigList {
		switch i % 4 {
		case 0:
			bigList[i] = fmt.Appendf(nil, "%d", i*int(math.Pow(7, float64(i%9))))
		case 1:
			bigList[i] = fmt.Appendf(nil, "-%d", i)
		case 2:
			bigList[i] = bytes.Repeat([]byte{byte(i)}, i%300)
		default:
			bigList[i] = fmt.Appendf(nil, "elem-%d", i)
		}
	}
	huge := bytes.Repeat([]byte("x"), 70000) // larger than the read buffer
	for i := range huge {
		huge[i] = byte(i * 7919 >> 3)
	}
	return []Entry{
		{Key: []byte("s"), Value: String("hello")},
		{Key: []byte("empty-string"), Value: String("")},
		{Key: []byte("int8"), Value: String("-12")},
		{Key: []byte("int16"), Value: String("30000")},
		{Key: []byte("int32"), Value: String("-2000000000")},
		{Key: []byte("int64"), Value: String("9223372036854775807")},
		{Key: []byte("leading-zero"), Value: String("007")},
		{Key: []byte("long"), Value: String(long)},
		{Key: []byte("huge"), Value: String(huge)},
		{Key: []byte("bin\x00\xff\r\n"), Value: String("\x00\x01\xfe\xff")},
		{Key: []byte("ttl"), Value: String("v"), Expires: true, ExpireAt: 4102444800000},
		{Key: []byte("list"), Value: List{[]byte("a"), []byte("1"), []byte(""), []byte("-5000"), []byte("b")}},
		{Key: []byte("biglist"), Value: bigList},
		{Key: []byte("hugelist"), Value: List{huge, []byte("x"), huge}},
		{Key: []byte("set"), Value: Set{[]byte("x"), []byte("1"), []byte("y")}},
		{Key: []byte("zset"), Value: ZSet{{[]byte("a"), 1.5}, {[]byte("b"), math.Inf(-1)}, {[]byte("c"), math.Inf(1)}, {[]byte("d"), -0.1}}},
		{Key: []byte("hash"), Value: Hash{{[]byte("f"), []byte("v")}, {[]byte("n"), []byte("12")}, {long, long}}},
		{DB: 3, Key: []byte("in-db3"), Value: String("3"), Expires: true, ExpireAt: 1},
		{DB: 15, Key: []byte("in-db15"), Value: Set{[]byte("m")}},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    WriterOptions
	}{
		{"v10", WriterOptions{Version: 10}},
		{"v11", WriterOptions{Version: 11}},
		{"v10-nocompress", WriterOptions{Version: 10, NoCompress: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sampleEntries()
			data := writeAll(t, tc.o, want)
			got := readAll(t, data)
			if len(got.entries) != len(want) {
				t.Fatalf("read %d entries, wrote %d", len(got.entries), len(want))
			}
			for i := range want {
				if g, w := canonEntry(got.entries[i]), canonEntry(want[i]); g != w {
					t.Errorf("entry %d:\n got %.300s\nwant %.300s", i, g, w)
				}
			}
			if got.aux["redoubt-ver"] != "redoubt" || got.aux["redis-bits"] != "64" {
				t.Errorf("aux = %v", got.aux)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(&bytes.Buffer{}, 9); err == nil {
		t.Error("version 9 accepted")
	}
	if _, err := NewWriter(&bytes.Buffer{}, 12); err == nil {
		t.Error("version 12 accepted")
	}
	w, err := NewWriter(&bytes.Buffer{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{
		{Key: []byte("nan"), Value: ZSet{{[]byte("m"), math.NaN()}}},
		{Key: []byte("nil"), Value: nil},
	} {
		if err := w.Write(&e); err == nil {
			t.Errorf("Write %q: no error", e.Key)
		}
	}
	if err := w.Write(&Entry{DB: -1, Key: []byte("k"), Value: String("v")}); err == nil || !strings.Contains(err.Error(), "database") {
		t.Errorf("negative db: %v", err)
	}
}
