package rdb

import (
	"encoding/binary"
	"math"
)

// canonicalInt parses s as Redis's string2ll does: an optional '-', then
// digits without a leading zero (except "0" itself), within int64. Only
// such strings may be stored as integers, as they read back identically.
func canonicalInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	neg := s[0] == '-'
	d := s
	if neg {
		d = s[1:]
		if len(d) == 0 {
			return 0, false
		}
	}
	if d[0] == '0' {
		return 0, len(s) == 1
	}
	var u uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// lpEntrySize is the size of s as a listpack entry, back length included.
func lpEntrySize(s []byte) int {
	var n int
	if v, ok := canonicalInt(s); ok {
		n = lpIntSize(v)
	} else {
		switch l := len(s); {
		case l < 64:
			n = 1 + l
		case l < 4096:
			n = 2 + l
		default:
			n = 5 + l
		}
	}
	var bl [5]byte
	return n + lpEncodeBacklen(&bl, n)
}

// lpIntSize is the size of the encoding and data of integer v.
func lpIntSize(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 1
	case v >= -4096 && v <= 4095:
		return 2
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 3
	case v >= -1<<23 && v <= 1<<23-1:
		return 4
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 5
	default:
		return 9
	}
}

// appendListpackEntry appends s as one listpack entry: an integer encoding
// when s is a canonical integer, else a string encoding.
func appendListpackEntry(b []byte, s []byte) []byte {
	start := len(b)
	if v, ok := canonicalInt(s); ok {
		switch lpIntSize(v) {
		case 1:
			b = append(b, byte(v))
		case 2:
			u := uint16(v) & 0x1fff
			b = append(b, 0xc0|byte(u>>8), byte(u))
		case 3:
			b = binary.LittleEndian.AppendUint16(append(b, 0xf1), uint16(v))
		case 4:
			u := uint32(v)
			b = append(b, 0xf2, byte(u), byte(u>>8), byte(u>>16))
		case 5:
			b = binary.LittleEndian.AppendUint32(append(b, 0xf3), uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(append(b, 0xf4), uint64(v))
		}
	} else {
		switch l := len(s); {
		case l < 64:
			b = append(b, 0x80|byte(l))
		case l < 4096:
			b = append(b, 0xe0|byte(l>>8), byte(l))
		default:
			b = binary.LittleEndian.AppendUint32(append(b, 0xf0), uint32(l))
		}
		b = append(b, s...)
	}
	var bl [5]byte
	n := lpEncodeBacklen(&bl, len(b)-start)
	return append(b, bl[:n]...)
}

// appendListpack appends a whole listpack holding elems.
func appendListpack(b []byte, elems [][]byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0)
	for _, s := range elems {
		b = appendListpackEntry(b, s)
	}
	b = append(b, lpEnd)
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start))
	binary.LittleEndian.PutUint16(b[start+4:], uint16(min(len(elems), 0xffff)))
	return b
}
