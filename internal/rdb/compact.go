package rdb

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// The compact encodings Redis stores as one string: ziplist, listpack,
// intset and zipmap. Each parser validates the whole structure (header
// sizes, entry encodings, back lengths, counts, end markers) and appends the
// elements to dst. String elements share b's backing array; integers are
// formatted in decimal into a shared side buffer. Errors name the byte
// position inside b.

// intArena collects decimal forms of integer entries.
type intArena struct {
	buf  []byte
	hint int // size of the first allocation
}

// add formats v and returns it as a slice that append cannot overwrite.
func (a *intArena) add(v int64) []byte {
	if cap(a.buf)-len(a.buf) < 20 {
		a.buf = make([]byte, 0, min(max(64, a.hint), 64<<10))
	}
	start := len(a.buf)
	a.buf = strconv.AppendInt(a.buf, v, 10)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// Ziplist layout (ziplist.c): zlbytes u32 | zltail u32 | zllen u16 |
// entries | 0xff. An entry is prevlen (1 byte, or 0xfe + u32) | encoding |
// data. Little-endian except the 32-bit string length.
const (
	zlHeader  = 10
	zlEnd     = 0xff
	zlBigPrev = 0xfe
)

// parseZiplist appends the entries of ziplist b to dst.
func parseZiplist(b []byte, dst [][]byte) ([][]byte, error) {
	if len(b) < zlHeader+1 {
		return dst, fmt.Errorf("ziplist: %d bytes is too short", len(b))
	}
	if n := binary.LittleEndian.Uint32(b); uint64(n) != uint64(len(b)) {
		return dst, fmt.Errorf("ziplist byte 0: header says %d bytes, blob has %d", n, len(b))
	}
	end := len(b) - 1
	if b[end] != zlEnd {
		return dst, fmt.Errorf("ziplist byte %d: no end marker", end)
	}
	tail := int(binary.LittleEndian.Uint32(b[4:]))
	zllen := int(binary.LittleEndian.Uint16(b[8:]))
	ints := intArena{hint: end}
	pos, prev, count, last := zlHeader, 0, 0, zlHeader
	for pos < end {
		start := pos
		prevlen := int(b[pos])
		pos++
		if prevlen == zlBigPrev {
			if pos+4 > end {
				return dst, fmt.Errorf("ziplist byte %d: entry %d: truncated previous-entry length", start, count)
			}
			prevlen = int(binary.LittleEndian.Uint32(b[pos:]))
			pos += 4
		} else if prevlen == zlEnd {
			return dst, fmt.Errorf("ziplist byte %d: entry %d: end marker before the end", start, count)
		}
		if prevlen != prev {
			return dst, fmt.Errorf("ziplist byte %d: entry %d: previous-entry length %d, previous entry has %d bytes", start, count, prevlen, prev)
		}
		if pos >= end {
			return dst, fmt.Errorf("ziplist byte %d: entry %d: missing encoding", pos, count)
		}
		e := b[pos]
		encAt := pos
		strLen, intSize := -1, 0
		switch e >> 6 {
		case 0:
			strLen = int(e & 0x3f)
			pos++
		case 1:
			if pos+2 > end {
				return dst, fmt.Errorf("ziplist byte %d: entry %d: truncated length", encAt, count)
			}
			strLen = int(e&0x3f)<<8 | int(b[pos+1])
			pos += 2
		case 2:
			if e != 0x80 || pos+5 > end {
				return dst, fmt.Errorf("ziplist byte %d: entry %d: bad string encoding 0x%02x", encAt, count, e)
			}
			strLen = int(binary.BigEndian.Uint32(b[pos+1:]))
			pos += 5
		default:
			pos++
			switch {
			case e == 0xc0:
				intSize = 2
			case e == 0xd0:
				intSize = 4
			case e == 0xe0:
				intSize = 8
			case e == 0xf0:
				intSize = 3
			case e == 0xfe:
				intSize = 1
			case e >= 0xf1 && e <= 0xfd:
				intSize = 0
			default:
				return dst, fmt.Errorf("ziplist byte %d: entry %d: bad encoding 0x%02x", encAt, count, e)
			}
		}
		if strLen >= 0 {
			if strLen > end-pos {
				return dst, fmt.Errorf("ziplist byte %d: entry %d: string of %d bytes runs past the end", encAt, count, strLen)
			}
			dst = append(dst, b[pos:pos+strLen:pos+strLen])
			pos += strLen
		} else {
			if intSize > end-pos {
				return dst, fmt.Errorf("ziplist byte %d: entry %d: integer runs past the end", encAt, count)
			}
			var v int64
			p := b[pos:]
			switch intSize {
			case 0:
				v = int64(e&0x0f) - 1
			case 1:
				v = int64(int8(p[0]))
			case 2:
				v = int64(int16(binary.LittleEndian.Uint16(p)))
			case 3:
				v = int64(int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8)
			case 4:
				v = int64(int32(binary.LittleEndian.Uint32(p)))
			case 8:
				v = int64(binary.LittleEndian.Uint64(p))
			}
			dst = append(dst, ints.add(v))
			pos += intSize
		}
		prev = pos - start
		last = start
		count++
	}
	if tail != last {
		return dst, fmt.Errorf("ziplist byte 4: tail offset %d, last entry is at %d", tail, last)
	}
	if zllen != 0xffff && zllen != count {
		return dst, fmt.Errorf("ziplist byte 8: header says %d entries, found %d", zllen, count)
	}
	return dst, nil
}

// Listpack layout (listpack.c): total u32 | count u16 | entries | 0xff.
// An entry is encoding | data | backlen, backlen being the size of
// encoding+data in 1 to 5 bytes, 7 bits each, readable right to left.
const (
	lpHeader = 6
	lpEnd    = 0xff
)

// parseListpack appends the entries of listpack b to dst.
func parseListpack(b []byte, dst [][]byte) ([][]byte, error) {
	if len(b) < lpHeader+1 {
		return dst, fmt.Errorf("listpack: %d bytes is too short", len(b))
	}
	if n := binary.LittleEndian.Uint32(b); uint64(n) != uint64(len(b)) {
		return dst, fmt.Errorf("listpack byte 0: header says %d bytes, blob has %d", n, len(b))
	}
	end := len(b) - 1
	if b[end] != lpEnd {
		return dst, fmt.Errorf("listpack byte %d: no end marker", end)
	}
	num := int(binary.LittleEndian.Uint16(b[4:]))
	ints := intArena{hint: end}
	pos, count := lpHeader, 0
	var bl [5]byte
	for pos < end {
		start := pos
		e := b[pos]
		hdr, strLen, intSize := 1, -1, 0
		switch {
		case e&0x80 == 0: // 0xxxxxxx: 7-bit unsigned integer
			intSize = 0
		case e&0xc0 == 0x80: // 10xxxxxx: string up to 63 bytes
			strLen = int(e & 0x3f)
		case e&0xe0 == 0xc0: // 110xxxxx yyyyyyyy: 13-bit signed integer
			intSize = 1
		case e&0xf0 == 0xe0: // 1110xxxx yyyyyyyy: string up to 4095 bytes
			if pos+2 > end {
				return dst, fmt.Errorf("listpack byte %d: entry %d: truncated length", start, count)
			}
			hdr, strLen = 2, int(e&0x0f)<<8|int(b[pos+1])
		case e == 0xf0: // 32-bit string length, little-endian
			if pos+5 > end {
				return dst, fmt.Errorf("listpack byte %d: entry %d: truncated length", start, count)
			}
			hdr, strLen = 5, int(binary.LittleEndian.Uint32(b[pos+1:]))
		case e == 0xf1:
			intSize = 2
		case e == 0xf2:
			intSize = 3
		case e == 0xf3:
			intSize = 4
		case e == 0xf4:
			intSize = 8
		default:
			return dst, fmt.Errorf("listpack byte %d: entry %d: bad encoding 0x%02x", start, count, e)
		}
		pos += hdr
		size := intSize
		if strLen >= 0 {
			size = strLen
		}
		if size > end-pos {
			return dst, fmt.Errorf("listpack byte %d: entry %d: %d bytes of data run past the end", start, count, size)
		}
		if strLen >= 0 {
			dst = append(dst, b[pos:pos+strLen:pos+strLen])
		} else {
			dst = append(dst, ints.add(lpInt(e, b[pos:pos+intSize])))
		}
		pos += size
		n := lpEncodeBacklen(&bl, pos-start)
		if n > end-pos || string(b[pos:pos+n]) != string(bl[:n]) {
			return dst, fmt.Errorf("listpack byte %d: entry %d: bad back length (entry has %d bytes)", pos, count, pos-start)
		}
		pos += n
		count++
	}
	if num != 0xffff && num != count {
		return dst, fmt.Errorf("listpack byte 4: header says %d entries, found %d", num, count)
	}
	return dst, nil
}

// lpInt decodes an integer entry with encoding byte e and data p.
func lpInt(e byte, p []byte) int64 {
	switch len(p) {
	case 0:
		return int64(e & 0x7f)
	case 1:
		u := uint16(e&0x1f)<<8 | uint16(p[0])
		return int64(int16(u<<3) >> 3)
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(p)))
	case 3:
		return int64(int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8)
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(p)))
	default:
		return int64(binary.LittleEndian.Uint64(p))
	}
}

// lpEncodeBacklen writes the back length of an entry of l bytes into buf
// and returns its size (listpack.c lpEncodeBacklen).
func lpEncodeBacklen(buf *[5]byte, l int) int {
	switch {
	case l <= 127:
		buf[0] = byte(l)
		return 1
	case l < 16383:
		buf[0] = byte(l >> 7)
		buf[1] = byte(l&127) | 128
		return 2
	case l < 2097151:
		buf[0] = byte(l >> 14)
		buf[1] = byte(l>>7&127) | 128
		buf[2] = byte(l&127) | 128
		return 3
	case l < 268435455:
		buf[0] = byte(l >> 21)
		buf[1] = byte(l>>14&127) | 128
		buf[2] = byte(l>>7&127) | 128
		buf[3] = byte(l&127) | 128
		return 4
	default:
		buf[0] = byte(l >> 28)
		buf[1] = byte(l>>21&127) | 128
		buf[2] = byte(l>>14&127) | 128
		buf[3] = byte(l>>7&127) | 128
		buf[4] = byte(l&127) | 128
		return 5
	}
}

// Intset layout (intset.c): encoding u32 (2, 4 or 8) | length u32 |
// length little-endian signed integers in strictly ascending order.
const isHeader = 8

// parseIntset appends the members of intset b, in decimal, to dst.
func parseIntset(b []byte, dst [][]byte) ([][]byte, error) {
	if len(b) < isHeader {
		return dst, fmt.Errorf("intset: %d bytes is too short", len(b))
	}
	enc := uint64(binary.LittleEndian.Uint32(b))
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	if enc != 2 && enc != 4 && enc != 8 {
		return dst, fmt.Errorf("intset byte 0: bad encoding %d", enc)
	}
	if n*enc+isHeader != uint64(len(b)) {
		return dst, fmt.Errorf("intset byte 4: %d members of %d bytes do not fill %d bytes", n, enc, len(b))
	}
	ints := intArena{hint: int(n) * 8}
	var prev int64
	for i := range int(n) {
		p := b[isHeader+i*int(enc):]
		var v int64
		switch enc {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		default:
			v = int64(binary.LittleEndian.Uint64(p))
		}
		if i > 0 && v <= prev {
			return dst, fmt.Errorf("intset byte %d: member %d is not above the one before", isHeader+i*int(enc), i)
		}
		prev = v
		dst = append(dst, ints.add(v))
	}
	return dst, nil
}

// Zipmap layout (zipmap.c, RDB before version 4 hashes): zmlen u8 |
// (len key len free value free-bytes)* | 0xff. A len is one byte below 254,
// or 254 and a little-endian u32.
const (
	zmBigLen = 254
	zmEnd    = 0xff
)

// parseZipmap appends the keys and values of zipmap b, alternating, to dst.
func parseZipmap(b []byte, dst [][]byte) ([][]byte, error) {
	if len(b) < 2 {
		return dst, fmt.Errorf("zipmap: %d bytes is too short", len(b))
	}
	end := len(b) - 1
	if b[end] != zmEnd {
		return dst, fmt.Errorf("zipmap byte %d: no end marker", end)
	}
	zmlen := int(b[0])
	pos, count := 1, 0
	readLen := func() (int, error) {
		if pos >= end {
			return 0, fmt.Errorf("zipmap byte %d: truncated length", pos)
		}
		l := int(b[pos])
		switch {
		case l < zmBigLen:
			pos++
		case l == zmBigLen:
			if pos+5 > end {
				return 0, fmt.Errorf("zipmap byte %d: truncated length", pos)
			}
			l = int(binary.LittleEndian.Uint32(b[pos+1:]))
			pos += 5
		default:
			return 0, fmt.Errorf("zipmap byte %d: unexpected end marker", pos)
		}
		if l > end-pos {
			return 0, fmt.Errorf("zipmap byte %d: %d bytes run past the end", pos, l)
		}
		return l, nil
	}
	for pos < end {
		kl, err := readLen()
		if err != nil {
			return dst, err
		}
		k := b[pos : pos+kl : pos+kl]
		pos += kl
		vl, err := readLen()
		if err != nil {
			return dst, err
		}
		if pos >= end {
			return dst, fmt.Errorf("zipmap byte %d: truncated free count", pos)
		}
		free := int(b[pos])
		pos++
		if vl+free > end-pos {
			return dst, fmt.Errorf("zipmap byte %d: value runs past the end", pos)
		}
		dst = append(dst, k, b[pos:pos+vl:pos+vl])
		pos += vl + free
		count++
	}
	if zmlen < zmBigLen && zmlen != count {
		return dst, fmt.Errorf("zipmap byte 0: header says %d pairs, found %d", zmlen, count)
	}
	return dst, nil
}
