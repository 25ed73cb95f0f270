package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// bufSize is the read buffer: the most bytes input.next can return at once.
const bufSize = 64 << 10

// input is a buffered reader that knows the file offset of every byte and
// keeps the running CRC-64 of the bytes consumed.
type input struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte in buf
	end   int   // end of data in buf
	base  int64 // file offset of buf[0]
	crcAt int   // buf[:crcAt] is already in crc
	crc   uint64
	tab   *crcTable
	eof   bool // r reported io.EOF
}

func newInput(r io.Reader) *input {
	return &input{r: r, buf: make([]byte, bufSize), tab: newCRCTable()}
}

// offset is the file offset of the next unread byte.
func (in *input) offset() int64 { return in.base + int64(in.pos) }

// sum returns the CRC-64 of every byte consumed so far.
func (in *input) sum() uint64 {
	in.crc = in.tab.update(in.crc, in.buf[in.crcAt:in.pos])
	in.crcAt = in.pos
	return in.crc
}

// fill makes n bytes (n <= bufSize) available at buf[pos:].
func (in *input) fill(n int) error {
	if in.end-in.pos >= n {
		return nil
	}
	if in.pos > 0 {
		in.sum()
		copy(in.buf, in.buf[in.pos:in.end])
		in.end -= in.pos
		in.base += int64(in.pos)
		in.pos, in.crcAt = 0, 0
	}
	for in.end < n {
		if in.eof {
			return &Error{Offset: in.base + int64(in.end), Msg: "unexpected end of file", Err: ErrTruncated}
		}
		m, err := in.r.Read(in.buf[in.end:])
		in.end += m
		if errors.Is(err, io.EOF) {
			in.eof = true
		} else if err != nil {
			return fmt.Errorf("rdb: read at offset %d: %w", in.base+int64(in.end), err)
		}
	}
	return nil
}

// byte reads one byte.
func (in *input) byte() (byte, error) {
	if in.pos < in.end {
		b := in.buf[in.pos]
		in.pos++
		return b, nil
	}
	if err := in.fill(1); err != nil {
		return 0, err
	}
	b := in.buf[in.pos]
	in.pos++
	return b, nil
}

// next returns the next n bytes (n <= bufSize), valid until the next call.
func (in *input) next(n int) ([]byte, error) {
	if in.end-in.pos < n {
		if err := in.fill(n); err != nil {
			return nil, err
		}
	}
	b := in.buf[in.pos : in.pos+n : in.pos+n]
	in.pos += n
	return b, nil
}

// uint64LE reads 8 little-endian bytes.
func (in *input) uint64LE() (uint64, error) {
	b, err := in.next(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// readInto appends n bytes to dst, growing dst only as bytes arrive, so a
// huge announced length costs memory only in proportion to the file.
func (in *input) readInto(dst []byte, n int) ([]byte, error) {
	if avail := in.end - in.pos; avail >= n {
		dst = append(dst, in.buf[in.pos:in.pos+n]...)
		in.pos += n
		return dst, nil
	}
	for n > 0 {
		if in.pos == in.end {
			if err := in.fill(1); err != nil {
				return dst, err
			}
		}
		take := min(n, in.end-in.pos)
		if cap(dst)-len(dst) < take {
			// Double, but never past what is still announced.
			grow := max(take, min(n, len(dst)+initialAlloc))
			nd := make([]byte, len(dst), len(dst)+grow)
			copy(nd, dst)
			dst = nd
		}
		dst = append(dst, in.buf[in.pos:in.pos+take]...)
		in.pos += take
		n -= take
	}
	return dst, nil
}
