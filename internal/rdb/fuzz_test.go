package rdb

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Fuzz targets. Their seeds run in every `go test`; `go test -fuzz=FuzzRead`
// explores further. Corpus files found by fuzzing go in testdata/fuzz.

// readSeeds are whole files: one from redis-server 7.0 (testdata), one
// written by Writer, and the hand-built fixtures.
func readSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{smallFile(f)}
	if b, err := os.ReadFile("testdata/redis7.rdb"); err == nil {
		seeds = append(seeds, b)
	} else {
		f.Fatal(err)
	}
	seeds = append(seeds,
		newRaw(9).key(TypeListQuicklist, "q").length(1).str(buildZiplist("a", 1, -70000, "bcd")).end(),
		newRaw(9).key(TypeHashZipmap, "m").str(buildZipmap("k", "v", "k2", "")).key(TypeSetIntset, "i").str(buildIntset(4, -1, 9)).end(),
		newRaw(9).key(TypeZSet, "z").length(2).str([]byte("a")).op(3, '1', '.', '5').str([]byte("b")).op(254).end(),
		newRaw(11).key(TypeSetListpack, "s").str(appendListpack(nil, [][]byte{[]byte("a"), []byte("12")})).end(),
		newRaw(10).key(TypeListQuicklist2, "l").length(2).length(qlPlain).str([]byte("p")).length(qlPacked).str(appendListpack(nil, [][]byte{[]byte("x")})).end(),
	)
	return seeds
}

// FuzzRead: Read never panics; what it reads, Writer writes and Read reads
// back identically.
func FuzzRead(f *testing.F) {
	for _, s := range readSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &collect{}
		if err := ReadOptions(bytes.NewReader(data), c, Options{MaxString: 1 << 20}); err != nil {
			return
		}
		again := readAll(t, writeAll(t, WriterOptions{}, c.entries))
		var want []string
		for _, e := range c.entries {
			want = append(want, canonEntry(e))
		}
		var got []string
		for _, e := range again.entries {
			got = append(got, canonEntry(e))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("round trip differs:\n%.500s\n%.500s", got, want)
		}
	})
}

// fuzzDecoder checks that a compact decoder never panics and that what it
// accepts, a listpack holds identically.
func fuzzDecoder(f *testing.F, parse func([]byte, [][]byte) ([][]byte, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		elems, err := parse(data, nil)
		if err != nil {
			return
		}
		back, err := parseListpack(appendListpack(nil, elems), nil)
		if err != nil {
			t.Fatalf("re-encoded listpack: %v", err)
		}
		if len(back) != len(elems) {
			t.Fatalf("%d elements, re-read %d", len(elems), len(back))
		}
		for i := range back {
			if !bytes.Equal(back[i], elems[i]) {
				t.Fatalf("element %d: %q != %q", i, back[i], elems[i])
			}
		}
	})
}

func FuzzZiplist(f *testing.F) {
	fuzzDecoder(f, parseZiplist, buildZiplist(), buildZiplist("a", 0, 12, 13, -1, 300, 70000, -8388608, 1<<31-1, 1<<40, strings.Repeat("p", 300), "x"))
}

func FuzzListpack(f *testing.F) {
	fuzzDecoder(f, parseListpack, appendListpack(nil, nil), appendListpack(nil, [][]byte{
		[]byte("a"), []byte("0"), []byte("-4096"), []byte("-32768"), []byte("8388607"), []byte("2147483647"),
		[]byte("-9223372036854775808"), []byte(strings.Repeat("m", 100)), []byte(strings.Repeat("b", 5000)),
	}))
}

func FuzzIntset(f *testing.F) {
	fuzzDecoder(f, parseIntset, buildIntset(2, -5, 7), buildIntset(4, -70000, 1), buildIntset(8, -1<<40, 1<<62))
}

func FuzzZipmap(f *testing.F) {
	fuzzDecoder(f, parseZipmap, buildZipmap("k", "v", strings.Repeat("K", 300), "big"), buildZipmap())
}

// FuzzLZF: decompression of any input into any announced size never
// panics, and compressing then decompressing gives the input back.
func FuzzLZF(f *testing.F) {
	var c lzfCompressor
	for _, s := range []string{"", "abc", strings.Repeat("abcabc", 100), strings.Repeat("x", 1000)} {
		z, _ := c.compress(nil, []byte(s))
		f.Add(z, uint16(len(s)))
		f.Add([]byte(s), uint16(len(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		_ = lzfDecompress(data, make([]byte, n))
		z, ok := c.compress(nil, data)
		if !ok {
			return
		}
		out := make([]byte, len(data))
		if err := lzfDecompress(z, out); err != nil || !bytes.Equal(out, data) {
			t.Fatalf("round trip of %d bytes: %v", len(data), err)
		}
	})
}

// TestReadTestdata pins what the redis-server 7.0 dump in testdata holds.
func TestReadTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/redis7.rdb")
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, b)
	want := map[string]string{
		"s": `string "hello"`, "n": `string "12345"`, "long": `string "` + strings.Repeat("abcdefgh", 40) + `"`,
		"ttl": `string "v"`, "l": `list ["a" "1" "-300" "70000" "` + strings.Repeat("P", 150) + `" "b"]`,
		"si": `set ["-3" "1" "2"]`, "ss": `set ["a" "b" "c"]`, "zs": `zset ["a"=1 "b"=2.5 "c"=-Inf]`,
		"h": `hash ["f"="v" "n"="7"]`, "db1": `string "x"`,
	}
	if len(got.entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(got.entries), len(want))
	}
	for _, e := range got.entries {
		if g := canon(e.Value); g != want[string(e.Key)] {
			t.Errorf("%q: %s, want %s", e.Key, g, want[string(e.Key)])
		}
		if (string(e.Key) == "ttl") != e.Expires || (string(e.Key) == "db1") != (e.DB == 1) {
			t.Errorf("%q: db %d expires %v", e.Key, e.DB, e.Expires)
		}
	}
}
