package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// Hand-built files for what redis-server 7.0 no longer writes: RDB 9 with
// ziplists, QUICKLIST v1, zipmaps, text scores, second expiries; RDB 11
// set listpacks; and the constructs Read must refuse.

// lzfBlob appends s as an LZF-encoded string (it must be compressible).
func (f *rawFile) lzfBlob(t *testing.T, s []byte) *rawFile {
	t.Helper()
	var c lzfCompressor
	z, ok := c.compress(nil, s)
	if !ok {
		t.Fatalf("%d bytes do not compress", len(s))
	}
	f.op(0xc3).length(uint64(len(z))).length(uint64(len(s)))
	f.b = append(f.b, z...)
	return f
}

// moduleID encodes a 9-character module name and encoding version.
func moduleID(name string, encver uint64) uint64 {
	const cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var id uint64
	for _, c := range []byte(name) {
		id = id<<6 | uint64(strings.IndexByte(cset, c))
	}
	return id<<10 | encver
}

func TestFixtures(t *testing.T) {
	long300 := strings.Repeat("p", 300)   // 5-byte prevlen for the next entry
	long20k := strings.Repeat("q", 20000) // 32-bit ziplist string length
	long1k := strings.Repeat("r", 1000)   // 14-bit ziplist string length
	zl1 := buildZiplist("a", 0, 12, 13, -1, 127, -128, 300, -32768, 70000, -8388608, 1<<31-1, -1<<31, 1<<40, math.MinInt64, "")
	zl2 := buildZiplist(long300, "after-long", long1k, long20k, "z")
	type fixture struct {
		name string
		file func(t *testing.T) []byte
		want []string // canonEntry of each entry
	}
	for _, tc := range []fixture{
		{"v9 quicklist of ziplists, one compressed", func(t *testing.T) []byte {
			f := newRaw(9).op(opAux).str([]byte("redis-ver")).str([]byte("5.0.7"))
			f.op(opSelectDB).length(0).op(opResizeDB).length(1).length(0)
			f.key(TypeListQuicklist, "ql").length(3).str(zl1).lzfBlob(t, zl2).str(buildZiplist())
			return f.end()
		}, []string{`db0 "ql" exp=none list ["a" "0" "12" "13" "-1" "127" "-128" "300" "-32768" "70000" "-8388608" "2147483647" "-2147483648" "1099511627776" "-9223372036854775808" "" "` + long300 + `" "after-long" "` + long1k + `" "` + long20k + `" "z"]`}},
		{"v9 ziplist zset, hash, list; zipmap; intsets", func(t *testing.T) []byte {
			f := newRaw(9)
			f.key(TypeZSetZiplist, "zz").str(buildZiplist("m1", 5, "m2", "2.5", "m3", "-inf", "m4", -300))
			f.key(TypeHashZiplist, "hz").str(buildZiplist("f", "v", "n", 7))
			f.key(TypeListZiplist, "lz").str(buildZiplist("x", 1))
			f.key(TypeHashZipmap, "zm").str(buildZipmap("k", "v", strings.Repeat("K", 300), "big-key", "e", ""))
			f.key(TypeSetIntset, "i16").str(buildIntset(2, -5, 0, 7))
			f.key(TypeSetIntset, "i32").str(buildIntset(4, -70000, 1))
			f.key(TypeSetIntset, "i64").str(buildIntset(8, math.MinInt64, 1<<40))
			return f.end()
		}, []string{
			`db0 "zz" exp=none zset ["m1"=5 "m2"=2.5 "m3"=-Inf "m4"=-300]`,
			`db0 "hz" exp=none hash ["f"="v" "n"="7"]`,
			`db0 "lz" exp=none list ["x" "1"]`,
			`db0 "zm" exp=none hash ["` + strings.Repeat("K", 300) + `"="big-key" "e"="" "k"="v"]`,
			`db0 "i16" exp=none set ["-5" "0" "7"]`,
			`db0 "i32" exp=none set ["-70000" "1"]`,
			`db0 "i64" exp=none set ["-9223372036854775808" "1099511627776"]`,
		}},
		{"v9 plain types, text scores, expiries, idle, freq", func(t *testing.T) []byte {
			f := newRaw(9)
			f.op(opExpireTime).op(binary.LittleEndian.AppendUint32(nil, 2000000000)...)
			f.key(TypeString, "sec").op(0xc0, 0xf6) // int8 -10
			f.op(opExpireTimeMS).op(binary.LittleEndian.AppendUint64(nil, 1700000000123)...)
			f.op(opIdle).length(1000).op(opFreq, 5)
			f.key(TypeString, "ms").op(0xc1, 0x39, 0x30) // int16 12345
			f.key(TypeString, "i32").op(0xc2).op(binary.LittleEndian.AppendUint32(nil, uint32(0xfffe7960))...)
			f.key(TypeString, "len32").op(0x80, 0, 0, 0, 3).op('a', 'b', 'c')
			f.key(TypeString, "len64").op(0x81, 0, 0, 0, 0, 0, 0, 0, 2).op('h', 'i')
			f.key(TypeString, "lzf").lzfBlob(t, []byte(strings.Repeat("abc", 100)))
			f.key(TypeList, "l").length(2).str([]byte("a")).op(0xc0, 7)
			f.key(TypeSet, "s").length(1).str([]byte("m"))
			f.key(TypeZSet, "z").length(3).str([]byte("a")).op(3, '1', '.', '5').str([]byte("b")).op(254).str([]byte("c")).op(255)
			f.key(TypeZSet2, "z2").length(1).str([]byte("a")).op(binary.LittleEndian.AppendUint64(nil, math.Float64bits(-2.25))...)
			f.key(TypeHash, "h").length(1).str([]byte("f")).str([]byte("v"))
			f.op(opSelectDB).length(7).key(TypeString, "db7").str([]byte("x"))
			return f.end()
		}, []string{
			`db0 "sec" exp=2000000000000 string "-10"`,
			`db0 "ms" exp=1700000000123 string "12345"`,
			`db0 "i32" exp=none string "-100000"`,
			`db0 "len32" exp=none string "abc"`,
			`db0 "len64" exp=none string "hi"`,
			`db0 "lzf" exp=none string "` + strings.Repeat("abc", 100) + `"`,
			`db0 "l" exp=none list ["a" "7"]`,
			`db0 "s" exp=none set ["m"]`,
			`db0 "z" exp=none zset ["a"=1.5 "b"=+Inf "c"=-Inf]`,
			`db0 "z2" exp=none zset ["a"=-2.25]`,
			`db0 "h" exp=none hash ["f"="v"]`,
			`db7 "db7" exp=none string "x"`,
		}},
		{"v11 set listpack, quicklist2 plain node, empty keys skipped", func(t *testing.T) []byte {
			f := newRaw(11)
			f.key(TypeSetListpack, "sl").str(appendListpack(nil, [][]byte{[]byte("a"), []byte("-4096"), []byte("100000"), []byte(strings.Repeat("s", 70))}))
			f.key(TypeListQuicklist2, "q2").length(2).length(qlPlain).str([]byte("plain")).length(qlPacked).str(appendListpack(nil, [][]byte{[]byte("p")}))
			f.key(TypeSet, "empty").length(0)
			f.key(TypeListQuicklist2, "empty-ql").length(1).length(qlPacked).str(appendListpack(nil, nil))
			return f.end()
		}, []string{
			`db0 "sl" exp=none set ["-4096" "100000" "a" "` + strings.Repeat("s", 70) + `"]`,
			`db0 "q2" exp=none list ["plain" "p"]`,
		}},
		{"v3 without checksum", func(t *testing.T) []byte {
			return newRaw(3).key(TypeString, "old").str([]byte("v")).end()
		}, []string{`db0 "old" exp=none string "v"`}},
		{"checksum disabled (zero)", func(t *testing.T) []byte {
			f := newRaw(10).key(TypeString, "k").str([]byte("v"))
			return binary.LittleEndian.AppendUint64(f.op(opEOF).b, 0)
		}, []string{`db0 "k" exp=none string "v"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, tc.file(t))
			if len(got.entries) != len(tc.want) {
				t.Fatalf("%d entries, want %d", len(got.entries), len(tc.want))
			}
			for i, e := range got.entries {
				if g := canonEntry(e); g != tc.want[i] {
					t.Errorf("entry %d:\n got %.300s\nwant %.300s", i, g, tc.want[i])
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	bigZ := buildZiplist("a", "b")
	badZ := bytes.Clone(bigZ)
	badZ[zlHeader] = 9 // first prevlen must be 0
	type fixture struct {
		name     string
		file     []byte
		sentinel error
		msg      string // the whole error text, or a part when partial
		partial  bool
	}
	v10 := func() *rawFile { return newRaw(10) }
	streamFile := v10().op(opSelectDB).length(0).key(TypeStreamListpacks, "orders").str([]byte("whatever")).end()
	for _, tc := range []fixture{
		{"not rdb", []byte("GET foo\r\n"), ErrCorrupt, `rdb: offset 0: not an RDB file: bad magic "GET f"`, false},
		{"version 12", newRaw(12).end(), ErrUnsupported, "rdb: offset 5: RDB version 12 is newer than the newest supported (11, Redis 7.2)", false},
		{"version 0", newRaw(0).end(), ErrCorrupt, "bad RDB version 0", true},
		{"empty", nil, ErrTruncated, "rdb: offset 0: unexpected end of file", false},
		{"stream", streamFile, ErrUnsupported, `rdb: key "orders" at offset 11: type stream (15) is not supported`, false},
		{"module value", v10().key(TypeModule2, "doc").length(moduleID("ReJSON-RL", 3)).end(), ErrUnsupported,
			`rdb: key "doc" at offset 9: type module (7) of module "ReJSON-RL" is not supported`, false},
		{"module aux", v10().op(opModuleAux).length(moduleID("graphdata", 1)).end(), ErrUnsupported,
			`rdb: offset 9: module data (module "graphdata") is not supported`, false},
		{"hash field expiry", v10().key(TypeHashMetadata, "h").end(), ErrUnsupported, `rdb: key "h" at offset 9: type hash with field expiry (24) is not supported`, false},
		{"unknown type", v10().key(Type(30), "u").end(), ErrUnsupported, `type unknown (30) is not supported`, true},
		{"function", v10().op(opFunction2).str([]byte("#!lua name=lib")).end(), ErrUnsupported, "rdb: offset 9: function library is not supported", false},
		{"checksum", func() []byte { b := v10().key(TypeString, "k").str([]byte("v")).end(); b[len(b)-1] ^= 1; return b }(), ErrChecksum, "rdb: offset 15: CRC-64 is", true},
		{"truncated value", v10().key(TypeString, "k").length(10).op('a').b, ErrTruncated, "unexpected end of file", true},
		{"string over limit", v10().key(TypeString, "k").op(0x81, 0, 0, 1, 0, 0, 0, 0, 0).b, ErrTooLarge, `rdb: key "k" at offset 12: string of 1099511627776 bytes exceeds the limit`, true},
		{"lzf ratio", v10().key(TypeString, "k").op(0xc3).length(1).length(1000).op(0).end(), ErrCorrupt, "LZF string: 1 bytes cannot expand to 1000", true},
		{"lzf bad stream", v10().key(TypeString, "k").op(0xc3).length(2).length(10).op(0x20, 5).end(), ErrCorrupt, "back reference before start", true},
		{"bad string encoding", v10().key(TypeString, "k").op(0xc7).end(), ErrCorrupt, "unknown string encoding 7", true},
		{"bad length byte", v10().key(TypeString, "k").op(0x85).end(), ErrCorrupt, "bad length byte 0x85", true},
		{"nan text score", v10().key(TypeZSet, "z").length(1).str([]byte("m")).op(253).end(), ErrCorrupt, "score is NaN", true},
		{"nan binary score", v10().key(TypeZSet2, "z").length(1).str([]byte("m")).op(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN()))...).end(), ErrCorrupt, "score is NaN", true},
		{"bad text score", v10().key(TypeZSet, "z").length(1).str([]byte("m")).op(2, 'x', 'y').end(), ErrCorrupt, `bad sorted set score "xy"`, true},
		{"bad ziplist", v10().key(TypeListQuicklist, "q").length(1).str(badZ).end(), ErrCorrupt,
			`rdb: key "q" at offset 13: quicklist node: ziplist byte 10: entry 0: previous-entry length 9, previous entry has 0 bytes`, false},
		{"odd hash listpack", v10().key(TypeHashListpack, "h").str(appendListpack(nil, [][]byte{[]byte("f")})).end(), ErrCorrupt, "odd number (1)", true},
		{"bad zset ziplist score", v10().key(TypeZSetZiplist, "z").str(buildZiplist("m", "nope")).end(), ErrCorrupt, `bad sorted set score "nope"`, true},
		{"bad container", v10().key(TypeListQuicklist2, "l").length(1).length(3).end(), ErrCorrupt, "bad quicklist node container 3", true},
		{"huge list count", v10().key(TypeList, "l").op(0x81, 0x40, 0, 0, 0, 0, 0, 0, 0).str([]byte("x")).b, ErrTruncated, "unexpected end of file", true},
		{"db out of range", v10().op(opSelectDB).op(0x81, 1, 0, 0, 0, 0, 0, 0, 0).end(), ErrCorrupt, "database number", true},
		{"length where string", v10().op(opSelectDB).op(0xc0).end(), ErrCorrupt, "string encoding where a length was expected", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Read(bytes.NewReader(tc.file), &collect{})
			if err == nil {
				t.Fatal("no error")
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("%v is not an *Error", err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("%v does not wrap %v", err, tc.sentinel)
			}
			if tc.partial && !strings.Contains(err.Error(), tc.msg) || !tc.partial && err.Error() != tc.msg {
				t.Errorf("error\n got %s\nwant %s", err, tc.msg)
			}
		})
	}
}

func TestRequireChecksum(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		ok   bool
	}{
		{"with checksum", newRaw(10).key(TypeString, "k").str([]byte("v")).end(), true},
		{"zero checksum", binary.LittleEndian.AppendUint64(newRaw(10).key(TypeString, "k").str([]byte("v")).op(opEOF).b, 0), false},
		{"version 4", newRaw(4).key(TypeString, "k").str([]byte("v")).end(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ReadOptions(bytes.NewReader(tc.file), &collect{}, Options{RequireChecksum: true})
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrChecksum) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestFunctionHandler: a handler that takes function libraries gets them.
func TestFunctionHandler(t *testing.T) {
	file := newRaw(10).op(opFunction2).str([]byte("#!lua name=lib")).key(TypeString, "k").str([]byte("v")).end()
	h := &funcCollect{}
	if err := Read(bytes.NewReader(file), h); err != nil {
		t.Fatal(err)
	}
	if len(h.code) != 1 || h.code[0] != "#!lua name=lib" || len(h.entries) != 1 {
		t.Errorf("code %q, entries %d", h.code, len(h.entries))
	}
}

type funcCollect struct {
	collect
	code []string
}

func (f *funcCollect) Function(code []byte) error {
	f.code = append(f.code, string(code))
	return nil
}
