package rdb

import (
	"fmt"
	"math/bits"
)

// lzfDecompress expands LZF data (liblzf, as Redis uses it) into out, whose
// length is the announced uncompressed size. Every literal run and back
// reference is bounds-checked; the output must be filled exactly.
func lzfDecompress(in, out []byte) error {
	ip, op := 0, 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 { // literal run of ctrl+1 bytes
			n := ctrl + 1
			if ip+n > len(in) {
				return fmt.Errorf("lzf byte %d: literal run past end of input", ip-1)
			}
			if op+n > len(out) {
				return fmt.Errorf("lzf byte %d: output longer than announced %d bytes", ip-1, len(out))
			}
			copy(out[op:], in[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5 // back reference
		if n == 7 {
			if ip >= len(in) {
				return fmt.Errorf("lzf byte %d: truncated back reference", ip-1)
			}
			n += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return fmt.Errorf("lzf byte %d: truncated back reference", ip-1)
		}
		ref := op - (ctrl&0x1f)<<8 - int(in[ip]) - 1
		ip++
		n += 2
		if ref < 0 {
			return fmt.Errorf("lzf byte %d: back reference before start of output", ip-1)
		}
		if op+n > len(out) {
			return fmt.Errorf("lzf byte %d: output longer than announced %d bytes", ip-1, len(out))
		}
		if ref+n <= op { // no overlap
			copy(out[op:op+n], out[ref:ref+n])
			op += n
			continue
		}
		for i := range n {
			out[op+i] = out[ref+i]
		}
		op += n
	}
	if op != len(out) {
		return fmt.Errorf("lzf: %d bytes decompressed, %d announced", op, len(out))
	}
	return nil
}

// LZF compression parameters (liblzf lzfP.h defaults).
const (
	lzfHashLog = 14
	lzfMaxOff  = 1 << 13
	lzfMaxRef  = (1 << 8) + (1 << 3)
	lzfMaxLit  = 1 << 5
)

// lzfCompressor compresses with LZF; its hash table is reused between calls.
type lzfCompressor struct {
	htab [1 << lzfHashLog]int32
}

// compress appends the LZF form of in to dst and reports whether it is
// shorter than in; when it is not, dst is returned unchanged.
func (c *lzfCompressor) compress(dst, in []byte) ([]byte, bool) {
	if len(in) < 4 {
		return dst, false
	}
	// A table no larger than the input: clearing 64 KiB for a 30-byte
	// string would cost more than compressing it.
	hashLog := min(max(bits.Len(uint(len(in))), 8), lzfHashLog)
	clear(c.htab[:1<<hashLog])
	start := len(dst)
	limit := start + len(in) - 1 // must save at least one byte
	lit := 0                     // literal bytes pending
	litAt := len(dst)            // position of the pending literal's control byte
	dst = append(dst, 0)
	ip := 0
	hash := func(p int) int {
		v := uint32(in[p])<<16 | uint32(in[p+1])<<8 | uint32(in[p+2])
		return int((v * 2654435761) >> (32 - hashLog))
	}
	for ip+2 < len(in) {
		h := hash(ip)
		ref := int(c.htab[h]) - 1
		c.htab[h] = int32(ip + 1)
		off := ip - ref - 1
		if ref >= 0 && off < lzfMaxOff && ip+4 < len(in) &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			maxLen := min(len(in)-ip-2, lzfMaxRef)
			n := 3
			for n < maxLen && in[ref+n] == in[ip+n] {
				n++
			}
			// Close the literal run.
			if lit == 0 {
				dst = dst[:len(dst)-1]
			} else {
				dst[litAt] = byte(lit - 1)
			}
			n -= 2
			if n < 7 {
				dst = append(dst, byte(off>>8+n<<5))
			} else {
				dst = append(dst, byte(off>>8+7<<5), byte(n-7))
			}
			dst = append(dst, byte(off))
			ip += n + 2
			if len(dst) >= limit {
				return dst[:start], false
			}
			lit = 0
			litAt = len(dst)
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, in[ip])
		ip++
		lit++
		if lit == lzfMaxLit {
			dst[litAt] = byte(lit - 1)
			lit = 0
			litAt = len(dst)
			dst = append(dst, 0)
		}
		if len(dst) >= limit {
			return dst[:start], false
		}
	}
	for ip < len(in) {
		dst = append(dst, in[ip])
		ip++
		lit++
		if lit == lzfMaxLit {
			dst[litAt] = byte(lit - 1)
			lit = 0
			litAt = len(dst)
			dst = append(dst, 0)
		}
	}
	if lit == 0 {
		dst = dst[:len(dst)-1]
	} else {
		dst[litAt] = byte(lit - 1)
	}
	if len(dst)-start >= len(in) {
		return dst[:start], false
	}
	return dst, true
}
