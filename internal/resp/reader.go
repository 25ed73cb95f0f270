package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"slices"
)

// ProtocolError reports input that breaks the protocol or one of the
// limits. The server answers "-ERR Protocol error: …" and closes the
// connection.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

// Reply returns the error as a client sees it.
func (e *ProtocolError) Reply() string { return "ERR Protocol error: " + e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

// IsProtocolError reports whether err is a *ProtocolError.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

const (
	initialReadBuffer     = 4 << 10  // every connection starts small
	minRead               = 4 << 10  // least free space offered to a read
	maxRetainedReadBuffer = 64 << 10 // larger buffers are dropped once drained
	maxRetainedArgs       = 1024     // larger argument slices are dropped after use
)

// Reader reads commands (and, for clients of other servers, replies) from a
// connection. It owns one buffer; the argument slices returned by
// ReadCommand point into it and stay valid until the next call.
//
// The buffer grows only as bytes actually arrive, at most doubling per read,
// so a peer that announces a large bulk string but sends nothing costs
// nothing; and every announced length is checked against the limits first.
type Reader struct {
	rd  io.Reader
	buf []byte // unread bytes are buf[r:w]
	r   int
	w   int
	lim Limits
	err error // sticky read error

	// BeforeBlock, if set, runs before the reader blocks on the
	// connection because no complete command is buffered. Servers flush
	// their replies there, so a pipeline is answered with one write.
	BeforeBlock func() error

	// CheckInline, if set, sees every complete inline line (without its
	// line ending) before it is split into arguments; pending holds the
	// bytes buffered after it. An error it returns is returned by
	// ReadCommand, and the line is not run. Servers use it to refuse
	// text protocols (HTTP) and inline commands from some peers.
	CheckInline func(line, pending []byte) error

	// State of a command being parsed, kept across reads so a large
	// command is never parsed twice. Offsets are relative to r.
	nargs   int64 // arguments announced; -1 before the header
	pos     int
	offs    []int // start and end offsets of the arguments parsed so far
	need    int   // bytes still missing for the element being parsed
	args    [][]byte
	inline  bool
	frame   []byte // the RESP bytes of the last command; nil when inline
	scratch []byte // unquoted inline arguments

	scan scanState
}

// NewReader returns a reader of rd with the given limits.
func NewReader(rd io.Reader, lim Limits) *Reader {
	return &Reader{rd: rd, lim: lim, nargs: -1, buf: make([]byte, initialReadBuffer)}
}

// SetLimits replaces the limits, for example once a connection has
// authenticated.
func (rd *Reader) SetLimits(lim Limits) { rd.lim = lim }

// Limits returns the limits in force.
func (rd *Reader) Limits() Limits { return rd.lim }

// Buffered reports how many unread bytes are buffered.
func (rd *Reader) Buffered() int { return rd.w - rd.r }

// BufferCap reports the capacity of the read buffer (for CLIENT LIST qbuf).
func (rd *Reader) BufferCap() int { return cap(rd.buf) }

// Frame returns the bytes of the last command as it arrived: a RESP
// array of bulk strings (lengths without leading zeros, so exactly what
// AppendCommand makes of its arguments), or nil for an inline command.
// Valid until the next call of ReadCommand.
func (rd *Reader) Frame() []byte {
	if rd.inline {
		return nil
	}
	return rd.frame
}

// Inline reports whether the last command returned was an inline command.
func (rd *Reader) Inline() bool { return rd.inline }

// ReadCommand returns the next command's arguments. Empty commands (blank
// inline lines, "*0") are skipped. Any *ProtocolError is final: the
// connection must be closed after the error is answered.
func (rd *Reader) ReadCommand() ([][]byte, error) {
	rd.frame = nil
	rd.release()
	for {
		args, done, err := rd.parseCommand()
		if err != nil {
			return nil, err
		}
		if done {
			if len(args) == 0 {
				continue
			}
			return args, nil
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// release drops an oversized buffer once everything in it has been used.
func (rd *Reader) release() {
	if rd.r == rd.w && rd.nargs < 0 {
		rd.r, rd.w = 0, 0
	}
	// A big buffer is dropped once little of it is in use, even if a few
	// bytes of the next command wait in it (offsets are relative to r).
	if cap(rd.buf) > maxRetainedReadBuffer && rd.w-rd.r <= initialReadBuffer/2 {
		nb := make([]byte, initialReadBuffer)
		rd.w = copy(nb, rd.buf[rd.r:rd.w])
		rd.r = 0
		rd.buf = nb
	}
	if cap(rd.args) > maxRetainedArgs {
		rd.args, rd.offs = nil, nil
	}
	if cap(rd.scratch) > maxRetainedReadBuffer {
		rd.scratch = nil
	}
}

// parseCommand parses what is buffered. It returns done=false when more
// bytes are needed.
func (rd *Reader) parseCommand() (args [][]byte, done bool, err error) {
	if rd.nargs < 0 {
		if rd.r == rd.w {
			return nil, false, nil
		}
		if rd.buf[rd.r] != '*' {
			return rd.parseInline()
		}
		line, next, err := rd.line(rd.r+1, "too big mbulk count string")
		if err != nil || line == nil {
			return nil, false, err
		}
		n, ok := parseInt(line)
		if !ok || n > math.MaxInt32 {
			return nil, false, protoErr("invalid multibulk length")
		}
		if n > rd.lim.MaxArgs {
			if rd.lim.PreAuth {
				return nil, false, protoErr("unauthenticated multibulk length")
			}
			return nil, false, protoErr("invalid multibulk length")
		}
		rd.inline = false
		if n <= 0 {
			rd.r = next
			return nil, true, nil
		}
		rd.nargs = n
		rd.pos = next - rd.r
		rd.offs = rd.offs[:0]
	}
	for int64(len(rd.offs)/2) < rd.nargs {
		p := rd.r + rd.pos
		if p >= rd.w {
			rd.need = 1
			return nil, false, nil
		}
		if rd.buf[p] != '$' {
			return nil, false, protoErr("expected '$', got '" + string(rd.buf[p]) + "'")
		}
		line, next, err := rd.line(p+1, "too big bulk count string")
		if err != nil || line == nil {
			return nil, false, err
		}
		n, ok := parseInt(line)
		if !ok || n < 0 || n > rd.lim.MaxBulk {
			if ok && n >= 0 && rd.lim.PreAuth {
				return nil, false, protoErr("unauthenticated bulk length")
			}
			return nil, false, protoErr("invalid bulk length")
		}
		end := next + int(n)
		if end+2 > rd.w {
			rd.need = end + 2 - rd.w
			return nil, false, nil
		}
		if rd.buf[end] != '\r' || rd.buf[end+1] != '\n' {
			return nil, false, protoErr("expected '\\r\\n' after bulk string")
		}
		if len(rd.offs) == cap(rd.offs) {
			// Double, rather than append's 1.25x for large slices:
			// the offsets of a huge command are copied fewer times.
			rd.offs = slices.Grow(rd.offs, max(len(rd.offs), 16))
		}
		rd.offs = append(rd.offs, next-rd.r, end-rd.r)
		rd.pos = end + 2 - rd.r
	}
	// Every argument has arrived: size the slice once, exactly.
	if n := len(rd.offs) / 2; cap(rd.args) < n {
		rd.args = make([][]byte, 0, n)
	}
	args = rd.args[:0]
	base := rd.r
	for i := 0; i < len(rd.offs); i += 2 {
		s, e := base+rd.offs[i], base+rd.offs[i+1]
		args = append(args, rd.buf[s:e:e])
	}
	rd.args = args
	rd.r += rd.pos
	rd.frame = rd.buf[base:rd.r:rd.r]
	rd.nargs, rd.pos, rd.need = -1, 0, 0
	return args, true, nil
}

// line finds the CRLF-terminated line that starts at p. It returns a nil
// line when the line is not complete yet, and an error when it is longer
// than the inline limit.
func (rd *Reader) line(p int, tooBig string) (line []byte, next int, err error) {
	i := bytes.IndexByte(rd.buf[p:rd.w], '\r')
	if i < 0 {
		if rd.w-p > rd.lim.MaxInline {
			return nil, 0, protoErr(tooBig)
		}
		rd.need = 1
		return nil, 0, nil
	}
	if i > rd.lim.MaxInline {
		return nil, 0, protoErr(tooBig)
	}
	if p+i+1 >= rd.w {
		rd.need = 1
		return nil, 0, nil
	}
	if rd.buf[p+i+1] != '\n' {
		return nil, 0, protoErr("expected '\\r\\n' after a length")
	}
	return rd.buf[p : p+i], p + i + 2, nil
}

// parseInline parses a command line as telnet and redis-cli send it.
func (rd *Reader) parseInline() ([][]byte, bool, error) {
	i := bytes.IndexByte(rd.buf[rd.r:rd.w], '\n')
	if i < 0 {
		if rd.w-rd.r > rd.lim.MaxInline {
			return nil, false, protoErr("too big inline request")
		}
		rd.need = 1
		return nil, false, nil
	}
	if i > rd.lim.MaxInline {
		return nil, false, protoErr("too big inline request")
	}
	line := rd.buf[rd.r : rd.r+i]
	rd.r += i + 1
	rd.inline = true
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if rd.CheckInline != nil {
		if err := rd.CheckInline(line, rd.buf[rd.r:rd.w]); err != nil {
			rd.err = err
			return nil, false, err
		}
	}
	args, scratch, err := SplitArgs(line, rd.args[:0], rd.scratch[:0])
	rd.scratch = scratch
	if err != nil {
		return nil, false, err
	}
	if int64(len(args)) > rd.lim.MaxArgs {
		if rd.lim.PreAuth {
			return nil, false, protoErr("unauthenticated multibulk length")
		}
		return nil, false, protoErr("invalid multibulk length")
	}
	rd.args = args
	return args, true, nil
}

// fill reads more bytes from the connection into the free end of the
// buffer.
func (rd *Reader) fill() error {
	if rd.err != nil {
		return rd.err
	}
	if rd.BeforeBlock != nil {
		if err := rd.BeforeBlock(); err != nil {
			rd.err = err
			return err
		}
	}
	if cap(rd.buf)-rd.w < minRead {
		if rd.r > 0 {
			n := copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r, rd.w = 0, n
		}
		// Grow only a buffer that is more than half full, by at most
		// doubling it, and never beyond what the element being parsed
		// still needs: the buffer follows the bytes that arrived, not the
		// lengths announced. (A few bytes of a partial command in the
		// first buffer must not double it: slowloris and flood
		// connections would cost twice their share.)
		if cap(rd.buf)-rd.w < minRead && rd.w > cap(rd.buf)/2 {
			// A full buffer holds bytes that arrived, so doubling it
			// follows the input; only a known bulk remainder caps the
			// growth below that. Growing by less than doubling would
			// copy a large command over and over (quadratic work).
			size := max(2*cap(rd.buf), rd.w+minRead)
			if rd.need > minRead {
				size = min(size, rd.w+rd.need)
			}
			nb := make([]byte, size)
			copy(nb, rd.buf[:rd.w])
			rd.buf = nb
		}
	}
	rd.buf = rd.buf[:cap(rd.buf)]
	n, err := rd.rd.Read(rd.buf[rd.w:])
	rd.w += n
	if err != nil {
		// A deadline is not final: servers interrupt reads on purpose
		// (wake-ups) and retry; the parse state survives.
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			rd.err = err
		}
		if n > 0 {
			return nil
		}
		return err
	}
	return nil
}

// ErrBufferFull is returned by ReadMore when the limit of unread bytes is
// reached.
var ErrBufferFull = errors.New("resp: read buffer full")

// ReadMore reads once from the connection into the buffer without parsing
// and without calling BeforeBlock, keeping at most limit unread bytes. A
// server waiting for something else (a blocked command) uses it to notice
// a peer that leaves, while commands sent meanwhile wait in the buffer
// for the next ReadCommand. It returns ErrBufferFull, without reading,
// when limit bytes are already buffered; read errors are as for
// ReadCommand (a deadline is not final).
func (rd *Reader) ReadMore(limit int) error {
	if rd.err != nil {
		return rd.err
	}
	if rd.w-rd.r >= limit {
		return ErrBufferFull
	}
	if rd.r > 0 && cap(rd.buf)-rd.w < minRead {
		// Offsets of a partial command are relative to r: moving the
		// unread bytes to the front keeps them valid.
		n := copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r, rd.w = 0, n
	}
	if cap(rd.buf)-rd.w < minRead && cap(rd.buf) < limit {
		nb := make([]byte, min(max(2*cap(rd.buf), rd.w+minRead), limit))
		copy(nb, rd.buf[:rd.w])
		rd.buf = nb
	}
	rd.buf = rd.buf[:cap(rd.buf)]
	end := min(len(rd.buf), rd.r+limit)
	if end <= rd.w {
		return ErrBufferFull
	}
	n, err := rd.rd.Read(rd.buf[rd.w:end])
	rd.w += n
	if err != nil {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			rd.err = err
		}
		if n > 0 {
			return nil
		}
		return err
	}
	return nil
}

// parseInt parses a decimal integer the way Redis's string2ll does: an
// optional minus sign, no plus sign, no leading zeros, no spaces.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// ParseInt parses a decimal integer with Redis's rules (see string2ll).
func ParseInt(b []byte) (int64, bool) { return parseInt(b) }

// SplitArgs splits an inline command line the way Redis's sdssplitargs
// does: arguments separated by white space, "double quotes" with \n, \r,
// \t, \b, \a, \xHH and \\ escapes, and 'single quotes' with \'. A closing
// quote must be followed by white space or the end of the line. A NUL byte
// ends the line. The unquoted bytes are appended to scratch, which is
// returned for reuse.
func SplitArgs(line []byte, args [][]byte, scratch []byte) ([][]byte, []byte, error) {
	// Arguments are first recorded as offsets into scratch, because
	// scratch may move while it grows.
	type span struct{ s, e int }
	var spans [16]span
	sp := spans[:0]
	p := 0
	for {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p >= len(line) || line[p] == 0 {
			break
		}
		start := len(scratch)
		inq, insq := false, false
		for done := false; !done; {
			if p >= len(line) || line[p] == 0 {
				if inq || insq {
					return args, scratch, protoErr("unbalanced quotes in request")
				}
				break
			}
			c := line[p]
			switch {
			case inq:
				if c == '\\' && p+3 < len(line) && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]) {
					scratch = append(scratch, unhex(line[p+2])<<4|unhex(line[p+3]))
					p += 3
				} else if c == '\\' && p+1 < len(line) && line[p+1] != 0 {
					p++
					switch line[p] {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					default:
						c = line[p]
					}
					scratch = append(scratch, c)
				} else if c == '"' {
					if p+1 < len(line) && !isSpace(line[p+1]) && line[p+1] != 0 {
						return args, scratch, protoErr("unbalanced quotes in request")
					}
					done = true
				} else {
					scratch = append(scratch, c)
				}
			case insq:
				if c == '\\' && p+1 < len(line) && line[p+1] == '\'' {
					p++
					scratch = append(scratch, '\'')
				} else if c == '\'' {
					if p+1 < len(line) && !isSpace(line[p+1]) && line[p+1] != 0 {
						return args, scratch, protoErr("unbalanced quotes in request")
					}
					done = true
				} else {
					scratch = append(scratch, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t':
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					scratch = append(scratch, c)
				}
			}
			if !done || inq || insq {
				p++
			}
		}
		sp = append(sp, span{start, len(scratch)})
	}
	for _, s := range sp {
		args = append(args, scratch[s.s:s.e:s.e])
	}
	return args, scratch, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
