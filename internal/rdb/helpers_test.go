package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

// rawFile builds RDB files byte by byte for fixtures.
type rawFile struct{ b []byte }

func newRaw(version int) *rawFile {
	return &rawFile{b: fmt.Appendf(nil, "REDIS%04d", version)}
}

func (f *rawFile) op(b ...byte) *rawFile { f.b = append(f.b, b...); return f }

func (f *rawFile) length(n uint64) *rawFile { f.b = appendLen(f.b, n); return f }

func (f *rawFile) str(s []byte) *rawFile {
	f.b = appendLen(f.b, uint64(len(s)))
	f.b = append(f.b, s...)
	return f
}

func (f *rawFile) key(t Type, k string) *rawFile { return f.op(byte(t)).str([]byte(k)) }

// end appends EOF and the CRC-64 (for version >= 5).
func (f *rawFile) end() []byte {
	f.b = append(f.b, opEOF)
	if v := f.version(); v >= firstChecksumVersion {
		f.b = binary.LittleEndian.AppendUint64(f.b, newCRCTable().update(0, f.b))
	}
	return f.b
}

func (f *rawFile) version() int {
	v := 0
	for _, c := range f.b[5:9] {
		v = v*10 + int(c-'0')
	}
	return v
}

// zlEntry appends one ziplist entry (a string or an int64) after an entry
// of prev bytes and returns the new slice and this entry's size.
func zlEntry(b []byte, prev int, e any) ([]byte, int) {
	start := len(b)
	if prev < 254 {
		b = append(b, byte(prev))
	} else {
		b = binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(prev))
	}
	switch v := e.(type) {
	case string:
		switch l := len(v); {
		case l < 64:
			b = append(b, byte(l))
		case l < 16384:
			b = append(b, 0x40|byte(l>>8), byte(l))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0x80), uint32(l))
		}
		b = append(b, v...)
	case int:
		x := int64(v)
		switch {
		case x >= 0 && x <= 12:
			b = append(b, 0xf1+byte(x))
		case x >= -128 && x <= 127:
			b = append(b, 0xfe, byte(x))
		case x >= -32768 && x <= 32767:
			b = binary.LittleEndian.AppendUint16(append(b, 0xc0), uint16(x))
		case x >= -1<<23 && x < 1<<23:
			u := uint32(x) << 8
			b = append(b, 0xf0, byte(u>>8), byte(u>>16), byte(u>>24))
		case x >= -1<<31 && x < 1<<31:
			b = binary.LittleEndian.AppendUint32(append(b, 0xd0), uint32(x))
		default:
			b = binary.LittleEndian.AppendUint64(append(b, 0xe0), uint64(x))
		}
	}
	return b, len(b) - start
}

// buildZiplist builds a ziplist of strings and ints.
func buildZiplist(entries ...any) []byte {
	b := make([]byte, zlHeader)
	prev, last := 0, zlHeader
	for _, e := range entries {
		last = len(b)
		b, prev = zlEntry(b, prev, e)
	}
	b = append(b, zlEnd)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	binary.LittleEndian.PutUint32(b[4:], uint32(last))
	binary.LittleEndian.PutUint16(b[8:], uint16(min(len(entries), 0xffff)))
	return b
}

// buildIntset builds an intset of width enc.
func buildIntset(enc int, vals ...int64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(enc))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vals)))
	for _, v := range vals {
		switch enc {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// buildZipmap builds a zipmap of key/value pairs, each value with 2 free
// bytes, and a long key to use the 5-byte length.
func buildZipmap(pairs ...string) []byte {
	zl := func(b []byte, n int) []byte {
		if n < zmBigLen {
			return append(b, byte(n))
		}
		return binary.LittleEndian.AppendUint32(append(b, zmBigLen), uint32(n))
	}
	b := []byte{byte(min(len(pairs)/2, zmBigLen))}
	for i := 0; i+1 < len(pairs); i += 2 {
		b = zl(b, len(pairs[i]))
		b = append(b, pairs[i]...)
		b = zl(b, len(pairs[i+1]))
		b = append(b, 2)
		b = append(b, pairs[i+1]...)
		b = append(b, 0, 0)
	}
	return append(b, zmEnd)
}

// collect is a Handler that keeps every entry (and aux fields).
type collect struct {
	entries []Entry
	aux     map[string]string
	resize  [][3]uint64
}

func (c *collect) Entry(e *Entry) error {
	c.entries = append(c.entries, *e)
	return nil
}

func (c *collect) Aux(k, v []byte) error {
	if c.aux == nil {
		c.aux = map[string]string{}
	}
	c.aux[string(k)] = string(v)
	return nil
}

func (c *collect) ResizeDB(db int, keys, expires uint64) error {
	c.resize = append(c.resize, [3]uint64{uint64(db), keys, expires})
	return nil
}

func readAll(t testing.TB, data []byte) *collect {
	t.Helper()
	c := &collect{}
	if err := Read(bytes.NewReader(data), c); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return c
}

// canon renders a value in a comparable form: sets and hashes sorted,
// zsets by member.
func canon(v Value) string {
	switch v := v.(type) {
	case String:
		return fmt.Sprintf("string %q", []byte(v))
	case List:
		return fmt.Sprintf("list %q", [][]byte(v))
	case Set:
		s := make([]string, len(v))
		for i, m := range v {
			s[i] = string(m)
		}
		slices.Sort(s)
		return fmt.Sprintf("set %q", s)
	case ZSet:
		s := make([]string, len(v))
		for i, m := range v {
			s[i] = fmt.Sprintf("%q=%v", m.Member, m.Score)
		}
		slices.Sort(s)
		return fmt.Sprintf("zset %v", s)
	case Hash:
		s := make([]string, len(v))
		for i, f := range v {
			s[i] = fmt.Sprintf("%q=%q", f.Name, f.Value)
		}
		slices.Sort(s)
		return fmt.Sprintf("hash %v", s)
	}
	return fmt.Sprintf("%T %v", v, v)
}

// canonEntry renders an entry with db, key and expiry.
func canonEntry(e Entry) string {
	exp := "none"
	if e.Expires {
		exp = fmt.Sprint(e.ExpireAt)
	}
	return fmt.Sprintf("db%d %q exp=%s %s", e.DB, e.Key, exp, canon(e.Value))
}

// writeAll writes entries with a Writer and returns the file.
func writeAll(t testing.TB, o WriterOptions, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriterOptions(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		if err := w.Write(&entries[i]); err != nil {
			t.Fatalf("Write %q: %v", entries[i].Key, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
