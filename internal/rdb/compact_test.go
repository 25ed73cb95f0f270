package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestCompactDecoders(t *testing.T) {
	decoders := map[string]func([]byte, [][]byte) ([][]byte, error){
		"ziplist": parseZiplist, "listpack": parseListpack, "intset": parseIntset, "zipmap": parseZipmap,
	}
	lp := appendListpack(nil, [][]byte{[]byte("a"), []byte("0"), []byte("127"), []byte("128"), []byte("-4096"),
		[]byte("4095"), []byte("-32768"), []byte("8388607"), []byte("-8388608"), []byte("2147483647"),
		[]byte("-9223372036854775808"), []byte(strings.Repeat("m", 100)), []byte(strings.Repeat("b", 5000)), []byte("-0"), []byte("01")})
	set := func(b []byte, at int, v ...byte) []byte { b = bytes.Clone(b); copy(b[at:], v); return b }
	zl := buildZiplist("ab", 5, "cd")
	for _, tc := range []struct {
		name, dec string
		in        []byte
		want      string // elements as %q, or the error text
	}{
		{"ziplist ok", "ziplist", zl, `["ab" "5" "cd"]`},
		{"ziplist empty", "ziplist", buildZiplist(), `[]`},
		{"ziplist short", "ziplist", zl[:5], "ziplist: 5 bytes is too short"},
		{"ziplist zlbytes", "ziplist", set(zl, 0, 99), "ziplist byte 0: header says 99 bytes, blob has 21"},
		{"ziplist no end", "ziplist", set(zl, len(zl)-1, 0), "ziplist byte 20: no end marker"},
		{"ziplist tail", "ziplist", set(zl, 4, 11), "ziplist byte 4: tail offset 11, last entry is at 16"},
		{"ziplist count", "ziplist", set(zl, 8, 7), "ziplist byte 8: header says 7 entries, found 3"},
		{"ziplist count unknown", "ziplist", set(zl, 8, 0xff, 0xff), `["ab" "5" "cd"]`},
		{"ziplist prevlen", "ziplist", set(zl, 14, 3), "ziplist byte 14: entry 1: previous-entry length 3, previous entry has 4 bytes"},
		{"ziplist bad int enc", "ziplist", set(zl, 15, 0xc1), "ziplist byte 15: entry 1: bad encoding 0xc1"},
		{"ziplist string past end", "ziplist", set(zl, 11, 60), "ziplist byte 11: entry 0: string of 60 bytes runs past the end"},
		{"ziplist early end", "ziplist", set(zl, 14, 0xff), "ziplist byte 14: entry 1: end marker before the end"},
		{"listpack ok", "listpack", lp, `["a" "0" "127" "128" "-4096" "4095" "-32768" "8388607" "-8388608" "2147483647" "-9223372036854775808" "` + strings.Repeat("m", 100) + `" "` + strings.Repeat("b", 5000) + `" "-0" "01"]`},
		{"listpack short", "listpack", lp[:3], "listpack: 3 bytes is too short"},
		{"listpack total", "listpack", set(lp, 0, 1), fmt.Sprintf("listpack byte 0: header says %d bytes, blob has %d", binary.LittleEndian.Uint32(set(lp, 0, 1)), len(lp))},
		{"listpack count", "listpack", set(lp, 4, 1, 0), "listpack byte 4: header says 1 entries, found 15"},
		{"listpack backlen", "listpack", set(lp, 8, 9), "listpack byte 8: entry 0: bad back length (entry has 2 bytes)"},
		{"listpack bad enc", "listpack", set(lp, 6, 0xf5), "listpack byte 6: entry 0: bad encoding 0xf5"},
		{"listpack data past end", "listpack", []byte{10, 0, 0, 0, 1, 0, 0x8a, 'a', 'b', lpEnd}, "listpack byte 6: entry 0: 10 bytes of data run past the end"},
		{"intset ok", "intset", buildIntset(4, -1, 5, 1<<20), `["-1" "5" "1048576"]`},
		{"intset enc", "intset", buildIntset(3, 1), "intset byte 0: bad encoding 3"},
		{"intset size", "intset", buildIntset(2, 1, 2)[:10], "intset byte 4: 2 members of 2 bytes do not fill 10 bytes"},
		{"intset order", "intset", buildIntset(2, 5, 5), "intset byte 10: member 1 is not above the one before"},
		{"intset huge count", "intset", set(buildIntset(8, 1), 4, 0xff, 0xff, 0xff, 0xff), "intset byte 4: 4294967295 members of 8 bytes do not fill 16 bytes"},
		{"zipmap ok", "zipmap", buildZipmap("a", "1", "b", "2"), `["a" "1" "b" "2"]`},
		{"zipmap count", "zipmap", set(buildZipmap("a", "1"), 0, 3), "zipmap byte 0: header says 3 pairs, found 1"},
		{"zipmap past end", "zipmap", set(buildZipmap("a", "1"), 1, 50), "zipmap byte 2: 50 bytes run past the end"},
		{"zipmap free past end", "zipmap", set(buildZipmap("a", "1"), 4, 40), "zipmap byte 5: value runs past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decoders[tc.dec](tc.in, nil)
			s := fmt.Sprintf("%q", got)
			if err != nil {
				s = err.Error()
			}
			if s != tc.want {
				t.Errorf("got  %.300s\nwant %.300s", s, tc.want)
			}
		})
	}
}

func TestLZF(t *testing.T) {
	var c lzfCompressor
	rnd := make([]byte, 3000)
	for i := range rnd {
		rnd[i] = byte(i*i*31 + i>>3)
	}
	for _, tc := range []struct {
		name       string
		in         []byte
		compresses bool
	}{
		{"short", []byte("abc"), false},
		{"repeat", bytes.Repeat([]byte("a"), 10000), true},
		{"text", []byte(strings.Repeat("the quick brown fox ", 50)), true},
		{"long literal runs", append(bytes.Clone(rnd), bytes.Repeat([]byte("xyz"), 300)...), true},
		{"incompressible", []byte("abcdefghijklmnopqrstuvwxyz0123456789"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, ok := c.compress(nil, tc.in)
			if ok != tc.compresses {
				t.Fatalf("compressed = %v (%d -> %d bytes)", ok, len(tc.in), len(z))
			}
			if !ok {
				return
			}
			out := make([]byte, len(tc.in))
			if err := lzfDecompress(z, out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, tc.in) {
				t.Fatal("round trip differs")
			}
			if err := lzfDecompress(z, make([]byte, len(tc.in)+1)); err == nil {
				t.Error("announced length too long: no error")
			}
			if err := lzfDecompress(z, make([]byte, len(tc.in)-1)); err == nil {
				t.Error("announced length too short: no error")
			}
		})
	}
	for _, tc := range []struct {
		in   []byte
		n    int
		want string
	}{
		{[]byte{5, 'a'}, 6, "lzf byte 0: literal run past end of input"},
		{[]byte{0, 'a', 0x20}, 4, "lzf byte 2: truncated back reference"},
		{[]byte{0, 'a', 0xe0}, 4, "lzf byte 2: truncated back reference"},
		{[]byte{0, 'a', 0x20, 1}, 4, "lzf byte 3: back reference before start of output"},
		{[]byte{0, 'a', 0x20, 0}, 3, "lzf byte 3: output longer than announced 3 bytes"},
	} {
		if err := lzfDecompress(tc.in, make([]byte, tc.n)); err == nil || err.Error() != tc.want {
			t.Errorf("%x: got %v, want %s", tc.in, err, tc.want)
		}
	}
}

func TestCanonicalInt(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"01", 0, false}, {"+1", 0, false},
		{"1a", 0, false}, {" 1", 0, false}, {"99999999999999999999", 0, false},
	} {
		v, ok := canonicalInt([]byte(tc.in))
		if v != tc.v || ok != tc.ok {
			t.Errorf("canonicalInt(%q) = %d, %v; want %d, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
}
