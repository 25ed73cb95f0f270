package rdb

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// smallFile is a written file with every value type, small enough to be
// corrupted at every byte.
func smallFile(t testing.TB) []byte {
	return writeAll(t, WriterOptions{Version: 10}, []Entry{
		{Key: []byte("s"), Value: String("hello")},
		{Key: []byte("n"), Value: String("-300")},
		{Key: []byte("c"), Value: String(strings.Repeat("abcabc", 20))},
		{Key: []byte("l"), Value: List{[]byte("a"), []byte("7"), []byte("-70000"), []byte("bb")}},
		{Key: []byte("set"), Value: Set{[]byte("x"), []byte("y")}},
		{Key: []byte("z"), Value: ZSet{{[]byte("m"), 2.5}}},
		{DB: 2, Key: []byte("h"), Value: Hash{{[]byte("f"), []byte("v")}}, Expires: true, ExpireAt: 1 << 42},
	})
}

// TestCorruptEveryByte changes each byte of a file in turn: Read must fail
// with an *Error (checksum or structure) and never panic or succeed.
func TestCorruptEveryByte(t *testing.T) {
	files := map[string][]byte{
		"written": smallFile(t),
		"v9":      newRaw(9).key(TypeListQuicklist, "q").length(1).str(buildZiplist("a", 1, "bcd")).key(TypeHashZipmap, "m").str(buildZipmap("k", "v")).end(),
	}
	for name, file := range files {
		t.Run(name, func(t *testing.T) {
			for i := range file {
				for _, delta := range []byte{1, 0x80, 0xff} {
					bad := bytes.Clone(file)
					bad[i] += delta
					err := Read(bytes.NewReader(bad), &collect{})
					var re *Error
					if !errors.As(err, &re) {
						t.Fatalf("byte %d +%#x: got %v, want an *Error", i, delta, err)
					}
					if re.Offset < 0 || re.Offset > int64(len(file)) {
						t.Fatalf("byte %d: offset %d outside the file", i, re.Offset)
					}
				}
			}
		})
	}
}

// TestTruncated reads every prefix of a file: each must fail.
func TestTruncated(t *testing.T) {
	file := smallFile(t)
	for n := range len(file) {
		err := Read(bytes.NewReader(file[:n]), &collect{})
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
}

// TestHugeLengthsSmallAllocations: files of a few bytes that announce
// gigabytes must fail without allocating more than a little.
func TestHugeLengthsSmallAllocations(t *testing.T) {
	v10 := func() *rawFile { return newRaw(10) }
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"4 GiB string", v10().key(TypeString, "k").op(0x80, 0xff, 0xff, 0xff, 0xff).op('a').b},
		{"1 TiB string", v10().key(TypeString, "k").op(0x81, 0, 0, 1, 0, 0, 0, 0, 0).op('a').b},
		{"1 GiB key", v10().op(byte(TypeString)).op(0x80, 0x40, 0, 0, 0).b},
		{"huge aux", v10().op(opAux).op(0x80, 0xff, 0xff, 0xff, 0xff).b},
		{"2^62 list elements", v10().key(TypeList, "l").op(0x81, 0x40, 0, 0, 0, 0, 0, 0, 0).str([]byte("x")).b},
		{"2^62 quicklist nodes", v10().key(TypeListQuicklist2, "l").op(0x81, 0x40, 0, 0, 0, 0, 0, 0, 0).b},
		{"2^62 hash fields", v10().key(TypeHash, "h").op(0x81, 0x40, 0, 0, 0, 0, 0, 0, 0).b},
		{"2^62 zset members", v10().key(TypeZSet2, "z").op(0x81, 0x40, 0, 0, 0, 0, 0, 0, 0).b},
		{"lzf 1 GiB from 16 MiB", v10().key(TypeString, "k").op(0xc3).op(0x80, 1, 0, 0, 0).op(0x80, 0x40, 0, 0, 0).op(0).b},
		{"4 GiB listpack blob", v10().key(TypeHashListpack, "h").op(0x80, 0xff, 0xff, 0xff, 0xff).b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{MaxString: 1 << 40} // the limit is not what saves us
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := ReadOptions(bytes.NewReader(tc.file), &collect{}, o)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file (%v)", alloc, len(tc.file), err)
			}
			// The default limit refuses them outright, or they are truncated.
			if err := Read(bytes.NewReader(tc.file), &collect{}); !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTruncated) {
				t.Errorf("default options: %v", err)
			}
		})
	}
	allocs := testing.AllocsPerRun(20, func() {
		_ = Read(bytes.NewReader(v10().key(TypeString, "k").op(0x80, 0x1f, 0xff, 0xff, 0xff).b), &collect{})
	})
	if allocs > 20 {
		t.Errorf("%v allocations for a rejected file", allocs)
	}
}
