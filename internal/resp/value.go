package resp

import (
	"bytes"
	"errors"
)

// scanFrame is one open aggregate while a value is scanned.
type scanFrame struct {
	left int64 // elements still expected
	attr bool  // an attribute: the value it annotates follows it
}

// scanState is a resumable scan of one value: bytes are checked once even
// when they arrive in many reads.
type scanState struct {
	active bool
	pos    int // relative to Reader.r
	stack  []scanFrame

	// A value beyond Limits.MaxValue is discarded as it arrives: its
	// scanned bytes are dropped from the buffer (dropped counts them) and
	// skip counts the bytes of a bulk string still to come.
	discard bool
	dropped int64
	skip    int64
}

// ErrValueTooLarge is returned by ReadRaw and ReadValue for a value longer
// than Limits.MaxValue. The value has been read and discarded: the reader
// is still in step with the stream, and the next read returns the next
// value.
var ErrValueTooLarge = errors.New("resp: value larger than the limit")

// ReadRaw returns the raw bytes of the next complete value (any RESP2 or
// RESP3 type), checked against the limits. The slice is valid until the
// next read. Proxies forward it without decoding.
func (rd *Reader) ReadRaw() ([]byte, error) {
	rd.release()
	for {
		done, err := rd.scanValue()
		if err != nil {
			return nil, err
		}
		if done {
			start := rd.r
			rd.r += rd.scan.pos
			tooLarge := rd.scan.discard
			rd.scan = scanState{stack: rd.scan.stack[:0]}
			if tooLarge {
				return nil, ErrValueTooLarge
			}
			return rd.buf[start:rd.r:rd.r], nil
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// ReadValue reads and decodes the next value. Decoding allocates a Value
// per element, far more than the element's bytes on the wire: use it for
// peers whose replies are trusted or small, and ReadRaw to forward.
func (rd *Reader) ReadValue() (Value, error) {
	raw, err := rd.ReadRaw()
	if err != nil {
		return Value{}, err
	}
	v, _ := decode(raw)
	return v, nil
}

// scanned records that the scan reached p (an offset in buf). Past
// Limits.MaxValue the value is discarded from then on, and in discard
// mode the scanned bytes leave the buffer at once.
func (rd *Reader) scanned(p int) {
	s := &rd.scan
	s.pos = p - rd.r
	if max := rd.lim.MaxValue; max > 0 && !s.discard && s.dropped+int64(s.pos) > max {
		s.discard = true
	}
	if s.discard {
		rd.r += s.pos
		s.dropped += int64(s.pos)
		s.pos = 0
	}
}

// scanValue advances the scan over buffered bytes; done reports a complete
// value.
func (rd *Reader) scanValue() (done bool, err error) {
	s := &rd.scan
	if !s.active {
		*s = scanState{active: true, stack: s.stack[:0]}
	}
	for {
		p := rd.r + s.pos
		if s.skip > 0 {
			// The rest of a discarded bulk string.
			k := min(int64(rd.w-p), s.skip)
			s.skip -= k
			rd.scanned(p + int(k))
			if s.skip > 0 {
				rd.need = int(min(s.skip, minRead))
				return false, nil
			}
			if s.elementDone() {
				return true, nil
			}
			continue
		}
		if p >= rd.w {
			rd.need = 1
			return false, nil
		}
		typ := rd.buf[p]
		line, next, err := rd.line(p+1, "too big line")
		if err != nil || line == nil {
			return false, err
		}
		switch typ {
		case TypeSimple, TypeError, TypeInteger, TypeDouble, TypeBool, TypeNull, TypeBigNumber:
			if typ == TypeInteger {
				if _, ok := parseInt(line); !ok {
					return false, protoErr("invalid integer")
				}
			}
			if bytes.IndexByte(line, '\n') >= 0 {
				return false, protoErr("line feed inside a line")
			}
			rd.scanned(next)
		case TypeBulk, TypeBlobError, TypeVerbatim:
			n, ok := parseInt(line)
			if ok && n == -1 && typ == TypeBulk {
				rd.scanned(next)
				break
			}
			if !ok || n < 0 || n > rd.lim.MaxBulk {
				return false, protoErr("invalid bulk length")
			}
			if max := rd.lim.MaxValue; max > 0 && s.dropped+int64(next-rd.r)+n+2 > max {
				// Too large before it arrives: never buffered.
				s.discard = true
				rd.scanned(next)
				s.skip = n + 2
				continue
			}
			end := next + int(n)
			if end+2 > rd.w {
				rd.need = end + 2 - rd.w
				return false, nil
			}
			if rd.buf[end] != '\r' || rd.buf[end+1] != '\n' {
				return false, protoErr("expected '\\r\\n' after bulk string")
			}
			rd.scanned(end + 2)
		case TypeArray, TypeMap, TypeSet, TypePush, TypeAttribute:
			n, ok := parseInt(line)
			if ok && n == -1 && typ == TypeArray {
				rd.scanned(next)
				break
			}
			if !ok || n < 0 || n > rd.lim.MaxArgs {
				return false, protoErr("invalid multibulk length")
			}
			if len(s.stack) >= rd.lim.MaxDepth {
				return false, protoErr("nesting too deep")
			}
			rd.scanned(next)
			if typ == TypeMap || typ == TypeAttribute {
				n *= 2
			}
			if n > 0 {
				s.stack = append(s.stack, scanFrame{left: n, attr: typ == TypeAttribute})
				continue
			}
			if typ == TypeAttribute {
				continue // an empty attribute: its value follows
			}
		default:
			return false, protoErr("unknown reply type '" + string(typ) + "'")
		}
		if s.elementDone() {
			return true, nil
		}
	}
}

// elementDone closes the aggregates one complete element completes and
// reports whether the whole value is complete.
func (s *scanState) elementDone() bool {
	for {
		if len(s.stack) == 0 {
			s.active = false
			return true
		}
		top := &s.stack[len(s.stack)-1]
		top.left--
		if top.left > 0 {
			return false
		}
		attr := top.attr
		s.stack = s.stack[:len(s.stack)-1]
		if attr {
			return false // the annotated value follows
		}
	}
}

// decode decodes one complete, already scanned value from b and returns
// the rest of b.
func decode(b []byte) (Value, []byte) {
	// Attributes annotate the value that follows them; they are dropped,
	// in a loop so that a chain of them cannot deepen the recursion.
	for len(b) >= 3 && b[0] == TypeAttribute {
		i := indexCRLF(b)
		n, _ := parseInt(b[1:i])
		b = b[i+2:]
		for j := int64(0); j < 2*n; j++ {
			_, b = decode(b)
		}
	}
	if len(b) < 3 {
		return Value{}, nil
	}
	typ := b[0]
	i := indexCRLF(b)
	line, rest := b[1:i], b[i+2:]
	v := Value{Type: typ}
	switch typ {
	case TypeSimple, TypeError, TypeDouble, TypeBigNumber:
		v.Str = line
	case TypeInteger:
		v.Int, _ = parseInt(line)
	case TypeBool:
		if len(line) == 1 && line[0] == 't' {
			v.Int = 1
		}
	case TypeNull:
		v.Null = true
	case TypeBulk, TypeBlobError, TypeVerbatim:
		n, _ := parseInt(line)
		if n < 0 {
			v.Null = true
			return v, rest
		}
		v.Str = rest[:n:n]
		rest = rest[n+2:]
	case TypeArray, TypeMap, TypeSet, TypePush, TypeAttribute:
		n, _ := parseInt(line)
		if n < 0 {
			v.Null = true
			return v, rest
		}
		if typ == TypeMap || typ == TypeAttribute {
			n *= 2
		}
		v.Elems = make([]Value, n)
		for j := range v.Elems {
			v.Elems[j], rest = decode(rest)
		}
	}
	return v, rest
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return len(b) - 2
}
