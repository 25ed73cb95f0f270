package resp

import (
	"io"
	"math"
	"strconv"
)

// Writer encodes replies into a single buffer that is written to the
// connection by Flush. One buffer per connection means a reply is either
// fully in the buffer or not at all: a flush can never duplicate or split a
// reply between two buffers.
//
// The protocol version (2 or 3) decides how RESP3-only types are encoded:
// under RESP2 a map becomes a flat array, a double a bulk string, a boolean
// an integer and a null a null bulk string.
type Writer struct {
	w     io.Writer
	buf   []byte
	proto int
	err   error
}

// NewWriter returns a RESP2 writer that flushes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, proto: 2, buf: make([]byte, 0, 512)}
}

// SetProto selects RESP2 or RESP3 encoding for the replies that follow.
func (w *Writer) SetProto(p int) { w.proto = p }

// Proto reports the protocol version in use (2 or 3).
func (w *Writer) Proto() int { return w.proto }

// Buffered reports how many bytes wait to be flushed.
func (w *Writer) Buffered() int { return len(w.buf) }

// Bytes returns the unflushed bytes; the slice is valid until the next write.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset drops unflushed bytes.
func (w *Writer) Reset() { w.buf = w.buf[:0] }

// Truncate drops everything written after the first n buffered bytes.
func (w *Writer) Truncate(n int) { w.buf = w.buf[:n] }

// Flush writes the buffered replies. After a write error every later Flush
// returns the same error. A buffer that grew large for one big reply is
// released so idle connections stay small.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > maxRetainedWriteBuffer {
		w.buf = make([]byte, 0, 512)
	} else {
		w.buf = w.buf[:0]
	}
	if err != nil {
		w.err = err
	}
	return err
}

// maxRetainedWriteBuffer is the largest output buffer kept after a flush.
const maxRetainedWriteBuffer = 64 << 10

// Extend lets f append bytes that are already RESP encoded to the buffer
// (a proxy's replies, copied once).
func (w *Writer) Extend(f func(buf []byte) []byte) { w.buf = f(w.buf) }

// WriteRaw appends bytes that are already RESP encoded.
func (w *Writer) WriteRaw(b []byte) { w.buf = append(w.buf, b...) }

// WriteSimple writes a simple string: +s.
func (w *Writer) WriteSimple(s string) { w.buf = AppendSimple(w.buf, s) }

// WriteOK writes +OK.
func (w *Writer) WriteOK() { w.buf = append(w.buf, "+OK\r\n"...) }

// WriteError writes an error: -s. s carries its own prefix ("ERR …",
// "WRONGTYPE …"). CR and LF inside s are replaced by spaces so an error can
// never break the framing.
func (w *Writer) WriteError(s string) { w.buf = AppendError(w.buf, s) }

// WriteInt writes an integer: :n.
func (w *Writer) WriteInt(n int64) { w.buf = AppendInt(w.buf, n) }

// WriteBulk writes a bulk string.
func (w *Writer) WriteBulk(b []byte) { w.buf = AppendBulk(w.buf, b) }

// WriteBulkString writes a bulk string.
func (w *Writer) WriteBulkString(s string) { w.buf = AppendBulkString(w.buf, s) }

// WriteBulkInt writes n formatted in decimal as a bulk string.
func (w *Writer) WriteBulkInt(n int64) {
	var tmp [24]byte
	w.buf = AppendBulk(w.buf, strconv.AppendInt(tmp[:0], n, 10))
}

// WriteNull writes the null reply: $-1 under RESP2, _ under RESP3.
func (w *Writer) WriteNull() {
	if w.proto >= 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "$-1\r\n"...)
	}
}

// WriteNullArray writes the null array reply: *-1 under RESP2, _ under RESP3.
func (w *Writer) WriteNullArray() {
	if w.proto >= 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "*-1\r\n"...)
	}
}

// WriteArray writes the header of an array of n elements.
func (w *Writer) WriteArray(n int) { w.buf = AppendHeader(w.buf, TypeArray, int64(n)) }

// WriteMap writes the header of a map of n pairs; under RESP2 it is an
// array of 2n elements.
func (w *Writer) WriteMap(n int) {
	if w.proto >= 3 {
		w.buf = AppendHeader(w.buf, TypeMap, int64(n))
	} else {
		w.buf = AppendHeader(w.buf, TypeArray, int64(2*n))
	}
}

// WriteSet writes the header of a set of n elements; an array under RESP2.
func (w *Writer) WriteSet(n int) {
	if w.proto >= 3 {
		w.buf = AppendHeader(w.buf, TypeSet, int64(n))
	} else {
		w.buf = AppendHeader(w.buf, TypeArray, int64(n))
	}
}

// WritePush writes the header of an out-of-band push of n elements; an
// array under RESP2.
func (w *Writer) WritePush(n int) {
	if w.proto >= 3 {
		w.buf = AppendHeader(w.buf, TypePush, int64(n))
	} else {
		w.buf = AppendHeader(w.buf, TypeArray, int64(n))
	}
}

// WriteDouble writes a double; a bulk string under RESP2, formatted as Redis
// does (shortest representation, inf and -inf).
func (w *Writer) WriteDouble(f float64) {
	if w.proto >= 3 {
		w.buf = append(w.buf, TypeDouble)
		w.buf = AppendFloat(w.buf, f)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	var tmp [32]byte
	w.buf = AppendBulk(w.buf, AppendFloat(tmp[:0], f))
}

// WriteBool writes a boolean; :1 or :0 under RESP2.
func (w *Writer) WriteBool(b bool) {
	switch {
	case w.proto >= 3 && b:
		w.buf = append(w.buf, "#t\r\n"...)
	case w.proto >= 3:
		w.buf = append(w.buf, "#f\r\n"...)
	case b:
		w.buf = append(w.buf, ":1\r\n"...)
	default:
		w.buf = append(w.buf, ":0\r\n"...)
	}
}

// WriteVerbatim writes a verbatim string with a three-letter format such
// as "txt"; a bulk string under RESP2.
func (w *Writer) WriteVerbatim(format, s string) {
	if w.proto < 3 {
		w.WriteBulkString(s)
		return
	}
	w.buf = AppendHeader(w.buf, TypeVerbatim, int64(len(format)+1+len(s)))
	w.buf = append(w.buf, format...)
	w.buf = append(w.buf, ':')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// WriteBigNumber writes a big number given as decimal digits; a bulk
// string under RESP2.
func (w *Writer) WriteBigNumber(digits string) {
	if w.proto < 3 {
		w.WriteBulkString(digits)
		return
	}
	w.buf = append(w.buf, TypeBigNumber)
	w.buf = append(w.buf, digits...)
	w.buf = append(w.buf, '\r', '\n')
}

// WriteValue writes a decoded value back in the writer's protocol.
func (w *Writer) WriteValue(v Value) {
	switch v.Type {
	case TypeSimple:
		w.buf = append(w.buf, '+')
		w.buf = appendClean(w.buf, v.Str)
		w.buf = append(w.buf, '\r', '\n')
	case TypeError:
		w.buf = append(w.buf, '-')
		w.buf = appendClean(w.buf, v.Str)
		w.buf = append(w.buf, '\r', '\n')
	case TypeInteger:
		w.WriteInt(v.Int)
	case TypeBulk:
		if v.Null {
			w.WriteNull()
		} else {
			w.WriteBulk(v.Str)
		}
	case TypeNull:
		w.WriteNull()
	case TypeDouble:
		if w.proto >= 3 {
			w.buf = append(w.buf, TypeDouble)
			w.buf = append(w.buf, v.Str...)
			w.buf = append(w.buf, '\r', '\n')
		} else {
			w.WriteBulk(v.Str)
		}
	case TypeBool:
		w.WriteBool(v.Int != 0)
	case TypeBlobError:
		if w.proto >= 3 {
			w.buf = AppendHeader(w.buf, TypeBlobError, int64(len(v.Str)))
			w.buf = append(w.buf, v.Str...)
			w.buf = append(w.buf, '\r', '\n')
		} else {
			w.buf = append(w.buf, '-')
			w.buf = appendClean(w.buf, v.Str)
			w.buf = append(w.buf, '\r', '\n')
		}
	case TypeVerbatim:
		if w.proto >= 3 {
			w.buf = AppendHeader(w.buf, TypeVerbatim, int64(len(v.Str)))
			w.buf = append(w.buf, v.Str...)
			w.buf = append(w.buf, '\r', '\n')
		} else if len(v.Str) >= 4 {
			w.WriteBulk(v.Str[4:])
		} else {
			w.WriteBulk(v.Str)
		}
	case TypeBigNumber:
		w.WriteBigNumber(string(v.Str))
	case TypeArray:
		if v.Null {
			w.WriteNullArray()
			return
		}
		w.WriteArray(len(v.Elems))
		w.writeElems(v.Elems)
	case TypeMap, TypeAttribute:
		if v.Type == TypeAttribute && w.proto < 3 {
			return // RESP2 has no attributes: drop them
		}
		if w.proto >= 3 {
			w.buf = AppendHeader(w.buf, v.Type, int64(len(v.Elems)/2))
		} else {
			w.WriteArray(len(v.Elems))
		}
		w.writeElems(v.Elems)
	case TypeSet:
		w.WriteSet(len(v.Elems))
		w.writeElems(v.Elems)
	case TypePush:
		w.WritePush(len(v.Elems))
		w.writeElems(v.Elems)
	}
}

func (w *Writer) writeElems(es []Value) {
	for _, e := range es {
		w.WriteValue(e)
	}
}

// AppendSimple appends a simple string.
func AppendSimple(b []byte, s string) []byte {
	b = append(b, TypeSimple)
	b = appendCleanString(b, s)
	return append(b, '\r', '\n')
}

// AppendError appends an error; s carries its own prefix such as "ERR".
func AppendError(b []byte, s string) []byte {
	b = append(b, TypeError)
	b = appendCleanString(b, s)
	return append(b, '\r', '\n')
}

// AppendInt appends an integer.
func AppendInt(b []byte, n int64) []byte {
	b = append(b, TypeInteger)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendHeader appends an aggregate or bulk header: <typ><n>\r\n.
func AppendHeader(b []byte, typ byte, n int64) []byte {
	b = append(b, typ)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends a bulk string.
func AppendBulk(b []byte, v []byte) []byte {
	b = AppendHeader(b, TypeBulk, int64(len(v)))
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// AppendBulkString appends a bulk string.
func AppendBulkString(b []byte, v string) []byte {
	b = AppendHeader(b, TypeBulk, int64(len(v)))
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// AppendCommand appends args as a RESP array of bulk strings, the form in
// which clients send commands.
func AppendCommand(b []byte, args ...[]byte) []byte {
	b = AppendHeader(b, TypeArray, int64(len(args)))
	for _, a := range args {
		b = AppendBulk(b, a)
	}
	return b
}

// AppendFloat formats f the way Redis 7.0 replies with doubles (C's
// "%.17g": 17 significant digits, trailing zeros dropped, an exponent
// beyond 1e17 or below 1e-4), with "inf" and "-inf".
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	return strconv.AppendFloat(b, f, 'g', 17, 64)
}

func appendCleanString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

func appendClean(b []byte, s []byte) []byte {
	for _, c := range s {
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
