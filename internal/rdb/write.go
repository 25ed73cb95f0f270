package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Writer limits and tunables.
const (
	// writeBuf is how much Writer buffers before writing to the underlying
	// writer; larger payloads go straight through.
	writeBuf = 64 << 10
	// lpNodeBytes is the listpack size a list node is filled to: Redis's
	// list-max-listpack-size -2 (8 KiB).
	lpNodeBytes = 8 << 10
	// lpMaxSafe is the largest listpack Redis accepts (LISTPACK_MAX_SAFETY_SIZE);
	// an element too big for it is written as a plain node.
	lpMaxSafe = 1 << 30
	// compressMin: strings longer than this are tried with LZF, as Redis does.
	compressMin = 20
)

// WriterOptions configure NewWriterOptions.
type WriterOptions struct {
	// Version is the RDB version: 10 (Redis 7.0 and later load it, the
	// default) or 11 (Redis 7.2 and later).
	Version int
	// Producer is the value of the "redoubt-ver" auxiliary field.
	Producer string
	// Time is written as the ctime field; zero means now.
	Time time.Time
	// NoCompress turns off LZF compression of strings over 20 bytes.
	NoCompress bool
}

// Writer writes an RDB file key by key. Call SelectDB (optional), Write for
// each key, then Close. Values are written in encodings every Redis from
// 7.0 loads, which then picks its own compact encodings:
//
//   - String: integer encoding for canonical decimal int32 values, LZF for
//     compressible strings over 20 bytes (unless NoCompress), else raw;
//   - List: QUICKLIST_2 of listpack nodes filled to 8 KiB (integers in
//     integer encodings), with a plain node for an element of 1 GiB or more;
//   - Set: SET; ZSet: ZSET_2 (binary scores); Hash: HASH.
//
// Collections must not hold duplicate members or fields (Redis refuses
// the file) and a ZSet no NaN score. An empty collection is not written,
// since Redis has no empty keys. Errors are sticky: after one, every call
// returns it. A Writer is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	buf   []byte
	tab   *crcTable
	crc   uint64
	db    int
	err   error
	lzf   *lzfCompressor // nil: no compression
	lpBuf []byte         // scratch listpack
	cbuf  []byte         // scratch compressed string
	done  bool
}

// NewWriter writes the header of an RDB file of the given version (10 or
// 11) with LZF compression and returns a Writer for the rest.
func NewWriter(w io.Writer, version int) (*Writer, error) {
	return NewWriterOptions(w, WriterOptions{Version: version})
}

// NewWriterOptions writes the header and the auxiliary fields redis-ver
// (the oldest Redis that loads the file), redis-bits, ctime, used-mem,
// aof-base and redoubt-ver, and returns a Writer for the rest.
func NewWriterOptions(w io.Writer, o WriterOptions) (*Writer, error) {
	if o.Version == 0 {
		o.Version = 10
	}
	redisVer := ""
	switch o.Version {
	case 10:
		redisVer = "7.0.0"
	case 11:
		redisVer = "7.2.0"
	default:
		return nil, fmt.Errorf("rdb: cannot write RDB version %d (10 or 11)", o.Version)
	}
	if o.Producer == "" {
		o.Producer = "redoubt"
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	wr := &Writer{w: w, buf: make([]byte, 0, writeBuf+1024), tab: newCRCTable()}
	if !o.NoCompress {
		wr.lzf = new(lzfCompressor)
	}
	wr.buf = fmt.Appendf(wr.buf, "REDIS%04d", o.Version)
	for _, kv := range [][2]string{
		{"redis-ver", redisVer},
		{"redis-bits", "64"},
		{"ctime", strconv.FormatInt(o.Time.Unix(), 10)},
		{"used-mem", "0"},
		{"aof-base", "0"},
		{"redoubt-ver", o.Producer},
	} {
		if err := wr.Aux(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return wr, nil
}

// Aux writes an auxiliary field. Redis ignores fields it does not know.
func (w *Writer) Aux(key, value string) error {
	if w.err != nil {
		return w.err
	}
	w.buf = append(w.buf, opAux)
	w.str([]byte(key))
	w.str([]byte(value))
	return w.maybeFlush()
}

// SelectDB starts database db and writes the hint that it holds keys keys,
// expires of them with an expiry (Redis sizes its tables from it).
func (w *Writer) SelectDB(db int, keys, expires uint64) error {
	if err := w.selectDB(db); err != nil {
		return err
	}
	w.buf = append(w.buf, opResizeDB)
	w.buf = appendLen(w.buf, keys)
	w.buf = appendLen(w.buf, expires)
	return w.maybeFlush()
}

func (w *Writer) selectDB(db int) error {
	if w.err != nil {
		return w.err
	}
	if db < 0 || db > math.MaxInt32 {
		return w.fail(fmt.Errorf("rdb: bad database number %d", db))
	}
	w.buf = append(w.buf, opSelectDB)
	w.buf = appendLen(w.buf, uint64(db))
	w.db = db
	return nil
}

// Write writes one key in database e.DB (selecting it first when it is not
// the current one), with its expiry when e.Expires.
func (w *Writer) Write(e *Entry) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return errors.New("rdb: Write after Close")
	}
	if e.DB != w.db {
		if err := w.selectDB(e.DB); err != nil {
			return err
		}
	}
	var t Type
	switch v := e.Value.(type) {
	case String:
		t = TypeString
	case List:
		if len(v) == 0 {
			return nil
		}
		t = TypeListQuicklist2
	case Set:
		if len(v) == 0 {
			return nil
		}
		t = TypeSet
	case ZSet:
		if len(v) == 0 {
			return nil
		}
		for _, m := range v {
			if math.IsNaN(m.Score) {
				return fmt.Errorf("rdb: key %q: NaN score", e.Key)
			}
		}
		t = TypeZSet2
	case Hash:
		if len(v) == 0 {
			return nil
		}
		t = TypeHash
	default:
		return fmt.Errorf("rdb: key %q: cannot write a value of type %T", e.Key, e.Value)
	}
	if e.Expires {
		w.buf = append(w.buf, opExpireTimeMS)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(e.ExpireAt))
	}
	w.buf = append(w.buf, byte(t))
	w.str(e.Key)
	switch v := e.Value.(type) {
	case String:
		w.str(v)
	case List:
		w.list(v)
	case Set:
		w.buf = appendLen(w.buf, uint64(len(v)))
		for _, m := range v {
			w.str(m)
			w.maybeFlush()
		}
	case ZSet:
		w.buf = appendLen(w.buf, uint64(len(v)))
		for _, m := range v {
			w.str(m.Member)
			w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(m.Score))
			w.maybeFlush()
		}
	case Hash:
		w.buf = appendLen(w.buf, uint64(len(v)))
		for _, f := range v {
			w.str(f.Name)
			w.str(f.Value)
			w.maybeFlush()
		}
	}
	return w.maybeFlush()
}

// Close writes the end-of-file opcode and the CRC-64 and flushes. It does
// not close the underlying writer (the caller syncs and closes it).
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return nil
	}
	w.done = true
	w.buf = append(w.buf, opEOF)
	w.crc = w.tab.update(w.crc, w.buf)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, w.crc)
	if _, err := w.w.Write(w.buf); err != nil {
		return w.fail(fmt.Errorf("rdb: write: %w", err))
	}
	w.buf = w.buf[:0]
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// maybeFlush writes the buffer out once it is full.
func (w *Writer) maybeFlush() error {
	if len(w.buf) < writeBuf || w.err != nil {
		return w.err
	}
	return w.flush()
}

func (w *Writer) flush() error {
	w.crc = w.tab.update(w.crc, w.buf)
	if _, err := w.w.Write(w.buf); err != nil {
		return w.fail(fmt.Errorf("rdb: write: %w", err))
	}
	w.buf = w.buf[:0]
	return nil
}

// raw appends p, sending a large p straight to the underlying writer.
func (w *Writer) raw(p []byte) {
	if len(p) < writeBuf/2 {
		w.buf = append(w.buf, p...)
		return
	}
	if w.flush() != nil {
		return
	}
	w.crc = w.tab.update(w.crc, p)
	if _, err := w.w.Write(p); err != nil {
		w.fail(fmt.Errorf("rdb: write: %w", err))
	}
}

// str writes a string: integer-encoded, LZF-compressed or raw.
func (w *Writer) str(s []byte) {
	if len(s) <= 11 {
		if v, ok := canonicalInt(s); ok && v >= math.MinInt32 && v <= math.MaxInt32 {
			w.buf = appendIntString(w.buf, v)
			return
		}
	}
	if w.lzf != nil && len(s) > compressMin {
		var ok bool
		w.cbuf, ok = w.lzf.compress(w.cbuf[:0], s)
		if ok {
			w.buf = append(w.buf, 0xc3)
			w.buf = appendLen(w.buf, uint64(len(w.cbuf)))
			w.buf = appendLen(w.buf, uint64(len(s)))
			w.raw(w.cbuf)
			if cap(w.cbuf) > 1<<20 {
				w.cbuf = nil
			}
			return
		}
	}
	w.buf = appendLen(w.buf, uint64(len(s)))
	w.raw(s)
}

// appendIntString appends the shortest integer string encoding of v.
func appendIntString(b []byte, v int64) []byte {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(b, 0xc0, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return binary.LittleEndian.AppendUint16(append(b, 0xc1), uint16(v))
	default:
		return binary.LittleEndian.AppendUint32(append(b, 0xc2), uint32(v))
	}
}

// appendLen appends an RDB length.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0x81), n)
	}
}

// list writes a QUICKLIST_2: the node count, then nodes. Elements are
// packed into listpacks of up to lpNodeBytes; one too big for a listpack
// gets a plain node.
func (w *Writer) list(v List) {
	nodes, size := 0, 0
	for _, s := range v {
		n := lpEntrySize(s)
		switch {
		case n >= lpMaxSafe-lpHeader-1:
			nodes++
			size = 0
		case size == 0 || size+n > lpNodeBytes:
			nodes++
			size = n
		default:
			size += n
		}
	}
	w.buf = appendLen(w.buf, uint64(nodes))
	start, size := 0, 0
	for i, s := range v {
		n := lpEntrySize(s)
		if n >= lpMaxSafe-lpHeader-1 {
			w.node(v[start:i])
			w.buf = append(w.buf, qlPlain)
			w.str(s)
			start, size = i+1, 0
			continue
		}
		if size > 0 && size+n > lpNodeBytes {
			w.node(v[start:i])
			start, size = i, 0
		}
		size += n
	}
	w.node(v[start:])
}

// node writes a packed quicklist node holding elems, if any.
func (w *Writer) node(elems List) {
	if len(elems) == 0 {
		return
	}
	w.lpBuf = appendListpack(w.lpBuf[:0], elems)
	w.buf = append(w.buf, qlPacked)
	w.str(w.lpBuf)
	if cap(w.lpBuf) > 1<<20 {
		w.lpBuf = nil
	}
	w.maybeFlush()
}
