package rdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Handler receives the keys of a file, one call per key, in file order.
type Handler interface {
	// Entry is called once per key. e is reused after Entry returns, but
	// e.Key and the slices of e.Value are the handler's to keep. An error
	// stops Read and is returned as is.
	Entry(e *Entry) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(e *Entry) error

// Entry calls f(e).
func (f HandlerFunc) Entry(e *Entry) error { return f(e) }

// AuxHandler is implemented by a Handler that wants the file's auxiliary
// fields (redis-ver, ctime, ...). Without it they are skipped.
type AuxHandler interface {
	Aux(key, value []byte) error
}

// ResizeDBHandler is implemented by a Handler that wants the key-count hints
// written before a database's keys. Without it they are skipped.
type ResizeDBHandler interface {
	ResizeDB(db int, keys, expires uint64) error
}

// FunctionHandler is implemented by a Handler that accepts Redis function
// libraries (the source code of each). Without it, a file holding a
// function library is refused with ErrUnsupported.
type FunctionHandler interface {
	Function(code []byte) error
}

// Options are limits for ReadOptions.
type Options struct {
	// MaxString is the longest string, element or encoded blob accepted;
	// 0 means DefaultMaxString.
	MaxString int64
	// RequireChecksum refuses files without a CRC-64 (a zero trailer, or
	// a version before 5), as for snapshots Redoubt wrote itself.
	RequireChecksum bool
}

// Read reads an RDB file from r and calls h for each key; see ReadOptions.
func Read(r io.Reader, h Handler) error {
	return ReadOptions(r, h, Options{})
}

// ReadOptions reads an RDB file (versions MinReadVersion to MaxReadVersion)
// from r to its end-of-file record, verifies the CRC-64 trailer (unless the
// file was written with checksums off: a zero trailer), and calls h for each
// key. Empty collections are skipped, as Redis skips them; duplicate
// members or fields are passed on as found (Redis would refuse the file),
// and database numbers are not checked against any database count. Errors
// about the
// file are *Error values wrapping ErrCorrupt, ErrTruncated, ErrChecksum,
// ErrUnsupported or ErrTooLarge; a value is passed to h only once it has
// been read and validated whole. Bytes after the trailer are not read.
func ReadOptions(r io.Reader, h Handler, o Options) error {
	return readTraced(r, h, o, nil)
}

// readTraced is ReadOptions with a hook that tests use to see which
// encodings a file holds: "type N", "lzf", "plain node".
func readTraced(r io.Reader, h Handler, o Options, trace func(event string)) error {
	d := &decoder{in: newInput(r), h: h, maxString: o.MaxString, needSum: o.RequireChecksum, trace: trace}
	if d.maxString <= 0 {
		d.maxString = DefaultMaxString
	}
	d.aux, _ = h.(AuxHandler)
	d.resize, _ = h.(ResizeDBHandler)
	d.fn, _ = h.(FunctionHandler)
	return d.run()
}

// decoder holds the state of one Read.
type decoder struct {
	in        *input
	h         Handler
	aux       AuxHandler
	resize    ResizeDBHandler
	fn        FunctionHandler
	maxString int64
	needSum   bool
	version   int
	key       []byte // key being read, named in errors
	ent       Entry
	lzf       []byte // scratch for compressed input
	trace     func(event string)
}

// fail builds an *Error at off naming the current key.
func (d *decoder) fail(off int64, sentinel error, format string, args ...any) error {
	return &Error{Offset: off, Key: d.key, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// keyErr adds the current key to an *Error from input.
func (d *decoder) keyErr(err error) error {
	if e, ok := err.(*Error); ok && e.Key == nil && d.key != nil {
		e.Key = d.key
	}
	return err
}

func (d *decoder) header() error {
	b, err := d.in.next(9)
	if err != nil {
		return err
	}
	if string(b[:5]) != "REDIS" {
		return d.fail(0, ErrCorrupt, "not an RDB file: bad magic %q", b[:5])
	}
	v := 0
	for _, c := range b[5:] {
		if c < '0' || c > '9' {
			return d.fail(5, ErrCorrupt, "bad version %q", b[5:])
		}
		v = v*10 + int(c-'0')
	}
	if v > MaxReadVersion {
		return d.fail(5, ErrUnsupported, "RDB version %d is newer than the newest supported (%d, Redis 7.2)", v, MaxReadVersion)
	}
	if v < MinReadVersion {
		return d.fail(5, ErrCorrupt, "bad RDB version %d", v)
	}
	d.version = v
	return nil
}

func (d *decoder) run() error {
	if err := d.header(); err != nil {
		return err
	}
	in := d.in
	for {
		off := in.offset()
		op, err := in.byte()
		if err != nil {
			return err
		}
		switch op {
		case opAux:
			k, err := d.readString()
			if err != nil {
				return err
			}
			v, err := d.readString()
			if err != nil {
				return err
			}
			if d.aux != nil {
				if err := d.aux.Aux(k, v); err != nil {
					return err
				}
			}
		case opSelectDB:
			n, err := d.readLen()
			if err != nil {
				return err
			}
			if n > math.MaxInt32 {
				return d.fail(off, ErrCorrupt, "database number %d out of range", n)
			}
			d.ent.DB = int(n)
		case opResizeDB:
			keys, err := d.readLen()
			if err != nil {
				return err
			}
			exp, err := d.readLen()
			if err != nil {
				return err
			}
			if d.resize != nil {
				if err := d.resize.ResizeDB(d.ent.DB, keys, exp); err != nil {
					return err
				}
			}
		case opExpireTimeMS:
			ms, err := in.uint64LE()
			if err != nil {
				return err
			}
			d.ent.ExpireAt, d.ent.Expires = int64(ms), true
		case opExpireTime:
			b, err := in.next(4)
			if err != nil {
				return err
			}
			d.ent.ExpireAt, d.ent.Expires = int64(int32(binary.LittleEndian.Uint32(b)))*1000, true
		case opIdle:
			if _, err := d.readLen(); err != nil {
				return err
			}
		case opFreq:
			if _, err := in.byte(); err != nil {
				return err
			}
		case opModuleAux:
			id, err := d.readLen()
			if err != nil {
				return err
			}
			return d.fail(off, ErrUnsupported, "module data (module %q) is not supported", moduleName(id))
		case opFunction2:
			code, err := d.readString()
			if err != nil {
				return err
			}
			if d.fn == nil {
				return d.fail(off, ErrUnsupported, "function library is not supported")
			}
			if err := d.fn.Function(code); err != nil {
				return err
			}
		case opFunctionPre:
			return d.fail(off, ErrUnsupported, "pre-release Redis 7.0 function library is not supported")
		case opEOF:
			return d.trailer()
		default:
			if err := d.entry(off, Type(op)); err != nil {
				return err
			}
		}
	}
}

// trailer checks the CRC-64 after the EOF opcode.
func (d *decoder) trailer() error {
	if d.version < firstChecksumVersion {
		if d.needSum {
			return d.fail(d.in.offset(), ErrChecksum, "RDB version %d has no checksum", d.version)
		}
		return nil
	}
	sum := d.in.sum()
	off := d.in.offset()
	want, err := d.in.uint64LE()
	if err != nil {
		return err
	}
	if want == 0 && d.needSum {
		return d.fail(off, ErrChecksum, "file written without a checksum")
	}
	if want != 0 && want != sum {
		return d.fail(off, ErrChecksum, "CRC-64 is %016x, file says %016x", sum, want)
	}
	return nil
}

// entry reads one key and its value, of type t, and passes it on.
func (d *decoder) entry(off int64, t Type) error {
	key, err := d.readString()
	if err != nil {
		return err
	}
	d.key = key
	if d.trace != nil {
		d.trace("type " + strconv.Itoa(int(t)))
	}
	v, err := d.value(off, t)
	if err != nil {
		return d.keyErr(err)
	}
	e := &d.ent
	if v != nil {
		e.Key, e.Value = key, v
		if err := d.h.Entry(e); err != nil {
			return err
		}
	}
	d.key = nil
	e.Key, e.Value, e.Expires, e.ExpireAt = nil, nil, false, 0
	return nil
}

// readLen reads a length; an encoded-string marker is an error here.
func (d *decoder) readLen() (uint64, error) {
	off := d.in.offset()
	n, enc, err := d.readLenEnc()
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, d.fail(off, ErrCorrupt, "string encoding where a length was expected")
	}
	return n, nil
}

// readLenEnc reads a length or, with enc true, a string encoding number.
func (d *decoder) readLenEnc() (n uint64, enc bool, err error) {
	in := d.in
	b, err := in.byte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3f), false, nil
	case 1:
		c, err := in.byte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3f)<<8 | uint64(c), false, nil
	case 3:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case 0x80:
		p, err := in.next(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case 0x81:
		p, err := in.next(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, d.fail(in.offset()-1, ErrCorrupt, "bad length byte 0x%02x", b)
}

// readString reads a string in any encoding into a new slice.
func (d *decoder) readString() ([]byte, error) {
	off := d.in.offset()
	n, enc, err := d.readLenEnc()
	if err != nil {
		return nil, err
	}
	return d.stringBody(off, n, enc, nil)
}

// stringBody reads the rest of a string whose length or encoding, read at
// off, is n and enc, and appends it to dst (nil: a new slice).
func (d *decoder) stringBody(off int64, n uint64, enc bool, dst []byte) ([]byte, error) {
	in := d.in
	if !enc {
		if n > uint64(d.maxString) {
			return dst, d.fail(off, ErrTooLarge, "string of %d bytes exceeds the limit of %d", n, d.maxString)
		}
		if dst == nil {
			dst = make([]byte, 0, min(int(n), initialAlloc))
		}
		return in.readInto(dst, int(n))
	}
	switch n {
	case 0:
		b, err := in.byte()
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int8(b)), 10), nil
	case 1:
		b, err := in.next(2)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(b))), 10), nil
	case 2:
		b, err := in.next(4)
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(b))), 10), nil
	case 3:
		return d.lzfString(off, dst)
	}
	return dst, d.fail(off, ErrCorrupt, "unknown string encoding %d", n)
}

// lzfString reads the rest of an LZF-compressed string.
func (d *decoder) lzfString(off int64, dst []byte) ([]byte, error) {
	clen, err := d.readLen()
	if err != nil {
		return dst, err
	}
	ulen, err := d.readLen()
	if err != nil {
		return dst, err
	}
	if ulen > uint64(d.maxString) {
		return dst, d.fail(off, ErrTooLarge, "compressed string of %d bytes exceeds the limit of %d", ulen, d.maxString)
	}
	if clen > uint64(d.maxString) {
		return dst, d.fail(off, ErrTooLarge, "compressed string of %d bytes exceeds the limit of %d", clen, d.maxString)
	}
	if ulen > clen*lzfMaxRatio {
		return dst, d.fail(off, ErrCorrupt, "LZF string: %d bytes cannot expand to %d", clen, ulen)
	}
	if d.trace != nil {
		d.trace("lzf")
	}
	d.lzf, err = d.in.readInto(d.lzf[:0], int(clen))
	if err != nil {
		return dst, err
	}
	start := len(dst)
	if dst == nil {
		dst = make([]byte, ulen)
	} else {
		dst = append(dst, make([]byte, ulen)...)
	}
	if err := lzfDecompress(d.lzf, dst[start:]); err != nil {
		return dst[:start], d.fail(off, ErrCorrupt, "%v", err)
	}
	if cap(d.lzf) > 1<<20 {
		d.lzf = nil // do not keep a huge scratch buffer
	}
	return dst, nil
}

// readScore reads a text double (ZSET): a length byte, or 253/254/255 for
// NaN/+inf/-inf.
func (d *decoder) readScore() (float64, error) {
	off := d.in.offset()
	n, err := d.in.byte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return 0, d.fail(off, ErrCorrupt, "sorted set score is NaN")
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := d.in.next(int(n))
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, d.fail(off, ErrCorrupt, "bad sorted set score %q", b)
	}
	return f, nil
}

// readBinaryScore reads an 8-byte little-endian double (ZSET_2).
func (d *decoder) readBinaryScore() (float64, error) {
	off := d.in.offset()
	u, err := d.in.uint64LE()
	if err != nil {
		return 0, err
	}
	f := math.Float64frombits(u)
	if math.IsNaN(f) {
		return 0, d.fail(off, ErrCorrupt, "sorted set score is NaN")
	}
	return f, nil
}

// moduleName decodes the 9-character name in a module type id.
func moduleName(id uint64) string {
	const cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var name [9]byte
	id >>= 10
	for j := 8; j >= 0; j-- {
		name[j] = cset[id&63]
		id >>= 6
	}
	return string(name[:])
}
