package resp

import "bytes"

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
}

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
			rd.scan = scanState{stack: rd.scan.stack[:0]}
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

// scanValue advances the scan over buffered bytes; done reports a complete
// value.
func (rd *Reader) scanValue() (done bool, err error) {
	s := &rd.scan
	if !s.active {
		s.active = true
		s.pos = 0
		s.stack = s.stack[:0]
	}
	for {
		p := rd.r + s.pos
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
			s.pos = next - rd.r
		case TypeBulk, TypeBlobError, TypeVerbatim:
			n, ok := parseInt(line)
			if ok && n == -1 && typ == TypeBulk {
				s.pos = next - rd.r
				break
			}
			if !ok || n < 0 || n > rd.lim.MaxBulk {
				return false, protoErr("invalid bulk length")
			}
			end := next + int(n)
			if end+2 > rd.w {
				rd.need = end + 2 - rd.w
				return false, nil
			}
			if rd.buf[end] != '\r' || rd.buf[end+1] != '\n' {
				return false, protoErr("expected '\\r\\n' after bulk string")
			}
			s.pos = end + 2 - rd.r
		case TypeArray, TypeMap, TypeSet, TypePush, TypeAttribute:
			n, ok := parseInt(line)
			if ok && n == -1 && typ == TypeArray {
				s.pos = next - rd.r
				break
			}
			if !ok || n < 0 || n > rd.lim.MaxArgs {
				return false, protoErr("invalid multibulk length")
			}
			if len(s.stack) >= rd.lim.MaxDepth {
				return false, protoErr("nesting too deep")
			}
			s.pos = next - rd.r
			if typ == TypeMap || typ == TypeAttribute {
				n *= 2
			}
			if n > 0 || typ == TypeAttribute {
				s.stack = append(s.stack, scanFrame{left: n, attr: typ == TypeAttribute})
				if n > 0 {
					continue
				}
				// An empty attribute: its value follows.
				s.stack = s.stack[:len(s.stack)-1]
				continue
			}
		default:
			return false, protoErr("unknown reply type '" + string(typ) + "'")
		}
		// One element is complete: close the aggregates it completes.
		for {
			if len(s.stack) == 0 {
				s.active = false
				return true, nil
			}
			top := &s.stack[len(s.stack)-1]
			top.left--
			if top.left > 0 {
				break
			}
			attr := top.attr
			s.stack = s.stack[:len(s.stack)-1]
			if attr {
				break // the annotated value follows
			}
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
