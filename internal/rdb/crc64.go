package rdb

import "encoding/binary"

// crcPoly is the CRC-64/Jones polynomial Redis uses (crc64.c), bit-reflected:
// 0xad93d23594c935a9 in normal form. Initial value 0, no final xor.
const crcPoly = 0x95ac9329ac4bc9b5

// crcTable holds slicing-by-8 tables for CRC-64/Jones. It is built per
// Read or Writer (about 10µs), so the package keeps no global state.
type crcTable [8][256]uint64

func newCRCTable() *crcTable {
	t := new(crcTable)
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ crcPoly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}

// update extends crc, a CRC-64/Jones of earlier bytes, with p.
func (t *crcTable) update(crc uint64, p []byte) uint64 {
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^
			t[4][crc>>24&0xff] ^ t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^
			t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
