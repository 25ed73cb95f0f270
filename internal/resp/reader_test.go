package resp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// readAll reads every command from in, returning them and the final error.
func readAll(in string, lim Limits) ([][]string, error) {
	rd := NewReader(strings.NewReader(in), lim)
	var out [][]string
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			return out, err
		}
		var cmd []string
		for _, a := range args {
			cmd = append(cmd, string(a))
		}
		out = append(out, cmd)
	}
}

func TestReadCommand(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [][]string
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", [][]string{{"GET", "k"}}},
		{"pipeline", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [][]string{{"PING"}, {"ECHO", ""}}},
		{"binary", "*2\r\n$4\r\nECHO\r\n$4\r\n\x00\r\n\xff\r\n", [][]string{{"ECHO", "\x00\r\n\xff"}}},
		{"empty multibulk skipped", "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", [][]string{{"PING"}}},
		{"inline", "PING\r\n", [][]string{{"PING"}}},
		{"inline LF only", "set a b\n", [][]string{{"set", "a", "b"}}},
		{"inline blank lines skipped", "\r\n   \r\nPING\r\n", [][]string{{"PING"}}},
		{"inline quotes", `set k "a b\x41\n" 'it\'s'` + "\r\n", [][]string{{"set", "k", "a bA\n", "it's"}}},
		{"inline quote mid token", `a"b c"d` + "\r\n", nil}, // closing quote not followed by space
		{"inline tabs", "get\t\tk\r\n", [][]string{{"get", "k"}}},
		{"inline NUL ends line", "get k\x00 ignored\r\n", [][]string{{"get", "k"}}},
		{"inline then multibulk", "PING\r\n*1\r\n$4\r\nPING\r\n", [][]string{{"PING"}, {"PING"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.in, DefaultLimits())
			if tt.want == nil {
				if !IsProtocolError(err) {
					t.Fatalf("want a protocol error, got %v (commands %q)", err, got)
				}
				return
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("unexpected error %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if strings.Join(got[i], "|") != strings.Join(tt.want[i], "|") {
					t.Fatalf("command %d: got %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestProtocolErrors checks the error texts, which are Redis's own.
func TestProtocolErrors(t *testing.T) {
	small := DefaultLimits()
	small.MaxBulk = 100
	small.MaxArgs = 5
	small.MaxInline = 32
	tests := []struct {
		name string
		in   string
		lim  Limits
		want string
	}{
		{"bad count", "*x\r\n", DefaultLimits(), "invalid multibulk length"},
		{"leading zero count", "*01\r\n", DefaultLimits(), "invalid multibulk length"},
		{"huge count", "*1048577\r\n", DefaultLimits(), "invalid multibulk length"},
		{"count over int32", "*4294967296\r\n", DefaultLimits(), "invalid multibulk length"},
		{"count over limit", "*6\r\n", small, "invalid multibulk length"},
		{"no dollar", "*1\r\n+PING\r\n", DefaultLimits(), "expected '$', got '+'"},
		{"bad bulk length", "*1\r\n$x\r\n", DefaultLimits(), "invalid bulk length"},
		{"negative bulk", "*1\r\n$-1\r\n", DefaultLimits(), "invalid bulk length"},
		{"bulk over limit", "*1\r\n$101\r\n", small, "invalid bulk length"},
		{"bulk over 512MiB", "*1\r\n$536870913\r\n", DefaultLimits(), "invalid bulk length"},
		{"missing CRLF after bulk", "*1\r\n$4\r\nPINGxx", DefaultLimits(), "expected '\\r\\n' after bulk string"},
		{"long count line", "*" + strings.Repeat("1", 40), small, "too big mbulk count string"},
		{"long bulk line", "*1\r\n$" + strings.Repeat("1", 40), small, "too big bulk count string"},
		{"long inline", strings.Repeat("a", 40), small, "too big inline request"},
		{"unbalanced", "set \"a\r\n", DefaultLimits(), "unbalanced quotes in request"},
		{"unbalanced single", "set 'a\r\n", DefaultLimits(), "unbalanced quotes in request"},
		{"preauth args", "*11\r\n", PreAuthLimits(), "unauthenticated multibulk length"},
		{"preauth bulk", "*1\r\n$16385\r\n", PreAuthLimits(), "unauthenticated bulk length"},
		{"preauth inline args", strings.Repeat("a ", 11) + "\r\n", PreAuthLimits(), "unauthenticated multibulk length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(tt.in, tt.lim)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("want protocol error %q, got %v", tt.want, err)
			}
			if pe.Msg != tt.want {
				t.Fatalf("got %q, want %q", pe.Msg, tt.want)
			}
			if !strings.HasPrefix(pe.Reply(), "ERR Protocol error: ") {
				t.Fatalf("reply %q lacks Redis's prefix", pe.Reply())
			}
		})
	}
}

// dripReader hands out its data a few bytes per Read, as a slow peer does.
type dripReader struct {
	data []byte
	n    int
}

func (d *dripReader) Read(p []byte) (int, error) {
	if len(d.data) == 0 {
		return 0, io.EOF
	}
	k := min(d.n, len(p), len(d.data))
	copy(p, d.data[:k])
	d.data = d.data[k:]
	return k, nil
}

// TestNoAllocationFromAnnouncedLength checks that a length announced on the
// wire costs nothing until the bytes arrive.
func TestNoAllocationFromAnnouncedLength(t *testing.T) {
	for _, in := range []string{
		"*1\r\n$536870912\r\nabc",  // 512 MiB bulk announced, 3 bytes sent
		"*1048576\r\n$1\r\na\r\n",  // a million arguments announced, one sent
		"*1\r\n*1048576\r\n:1\r\n", // for ReadValue: a huge nested array
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rd := NewReader(strings.NewReader(in), DefaultLimits())
		if in[4] == '*' {
			_, _ = rd.ReadValue()
		} else {
			_, _ = rd.ReadCommand()
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<10 {
			t.Errorf("%q: allocated %d bytes for a length that never arrived", in[:12], grew)
		}
	}
}

// TestSlowBigBulk checks that a large bulk string dripped in small pieces is
// parsed once and grows the buffer in proportion to what arrived.
func TestSlowBigBulk(t *testing.T) {
	const size = 1 << 20
	payload := bytes.Repeat([]byte("x"), size)
	in := append([]byte("*2\r\n$3\r\nSET\r\n$1048576\r\n"), payload...)
	in = append(in, "\r\n"...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rd := NewReader(&dripReader{data: in, n: 1500}, DefaultLimits())
	args, err := rd.ReadCommand()
	runtime.ReadMemStats(&after)
	if err != nil || len(args) != 2 || len(args[1]) != size {
		t.Fatalf("got %d args, err %v", len(args), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 6*size {
		t.Errorf("allocated %d bytes to read a %d-byte bulk", grew, size)
	}
}

// TestBufferReleased checks that a connection that once sent a big command
// goes back to a small buffer.
func TestBufferReleased(t *testing.T) {
	big := strings.Repeat("v", 1<<20)
	in := "*2\r\n$4\r\nECHO\r\n$1048576\r\n" + big + "\r\n*1\r\n$4\r\nPING\r\n"
	rd := NewReader(strings.NewReader(in), DefaultLimits())
	if _, err := rd.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	_, _ = rd.ReadCommand() // EOF; the drained buffer is released first
	if c := rd.BufferCap(); c > maxRetainedReadBuffer {
		t.Fatalf("buffer still %d bytes", c)
	}
}

// TestBeforeBlock checks that BeforeBlock runs only when no complete
// command is buffered: a pipeline is answered with one flush.
func TestBeforeBlock(t *testing.T) {
	in := "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"
	rd := NewReader(strings.NewReader(in), DefaultLimits())
	blocks := 0
	rd.BeforeBlock = func() error { blocks++; return nil }
	n := 0
	for {
		if _, err := rd.ReadCommand(); err != nil {
			break
		}
		n++
	}
	// One block to read the pipeline, one for the EOF read after it.
	if n != 3 || blocks != 2 {
		t.Fatalf("%d commands, %d blocks; want 3 and 2", n, blocks)
	}
}

func TestReadValue(t *testing.T) {
	in := "*3\r\n:1\r\n%1\r\n+a\r\n$-1\r\n|1\r\n+ttl\r\n:3\r\n,1.5\r\n" + // attribute dropped
		"~2\r\n#t\r\n#f\r\n" + ">2\r\n$7\r\nmessage\r\n_\r\n" + "=7\r\ntxt:abc\r\n" + "(123456789012345678901\r\n" + "!3\r\nERR\r\n" + "*-1\r\n" + "-ERR x\r\n"
	rd := NewReader(strings.NewReader(in), DefaultLimits())
	want := []byte{TypeArray, TypeSet, TypePush, TypeVerbatim, TypeBigNumber, TypeBlobError, TypeArray, TypeError}
	for i, typ := range want {
		v, err := rd.ReadValue()
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if v.Type != typ {
			t.Fatalf("value %d: type %c, want %c", i, v.Type, typ)
		}
	}
	if _, err := rd.ReadValue(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestReadValueLimits(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxDepth = 3
	deep := strings.Repeat("*1\r\n", 4) + ":1\r\n"
	if _, err := NewReader(strings.NewReader(deep), lim).ReadValue(); !IsProtocolError(err) {
		t.Fatalf("nesting beyond the limit: got %v", err)
	}
	ok := strings.Repeat("*1\r\n", 3) + ":1\r\n"
	if _, err := NewReader(strings.NewReader(ok), lim).ReadValue(); err != nil {
		t.Fatalf("nesting at the limit: %v", err)
	}
	for _, bad := range []string{"?x\r\n", ":1x\r\n", "$-2\r\n", "%-1\r\n", "*2000000\r\n"} {
		if _, err := NewReader(strings.NewReader(bad), lim).ReadValue(); !IsProtocolError(err) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true}, {"9223372036854775808", 0, false},
		{"01", 0, false}, {"-0", 0, false}, {"+1", 0, false}, {" 1", 0, false},
		{"", 0, false}, {"-", 0, false}, {"1a", 0, false}, {"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		v, ok := ParseInt([]byte(tt.in))
		if v != tt.v || ok != tt.ok {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", tt.in, v, ok, tt.v, tt.ok)
		}
	}
}

// TestManyArgumentsLinear checks that a command of many small arguments,
// arriving a few KiB per read, costs allocation in proportion to its size:
// growing the buffer by less than doubling would copy the partial command
// on every read, quadratic work a single peer could use to pin a core.
func TestManyArgumentsLinear(t *testing.T) {
	const n = 100_000
	in := []byte("*100001\r\n$5\r\nRPUSH\r\n")
	in = append(in, bytes.Repeat([]byte("$1\r\na\r\n"), n)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rd := NewReader(&dripReader{data: in, n: 4096}, DefaultLimits())
	args, err := rd.ReadCommand()
	runtime.ReadMemStats(&after)
	if err != nil || len(args) != n+1 {
		t.Fatalf("%d args, %v", len(args), err)
	}
	// Input 700 KB; bookkeeping is 40 B an argument (4 MB) and the
	// buffer's doublings about twice the input.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 12<<20 {
		t.Fatalf("allocated %d bytes for a %d-byte command", grew, len(in))
	}
}

// TestChainedAttributes checks that a long chain of attributes before a
// value neither overflows the stack nor is refused.
func TestChainedAttributes(t *testing.T) {
	in := strings.Repeat("|0\r\n", 1_000_000) + "+x\r\n"
	v, err := NewReader(strings.NewReader(in), DefaultLimits()).ReadValue()
	if err != nil || v.Type != TypeSimple || string(v.Str) != "x" {
		t.Fatalf("got %+v, %v", v, err)
	}
}

func TestInlineNULInQuotes(t *testing.T) {
	// Redis stops at the NUL: the quote is never closed.
	_, err := readAll("set \"a\\\x00b\"\r\n", DefaultLimits())
	if !IsProtocolError(err) {
		t.Fatalf("got %v, want unbalanced quotes", err)
	}
}

// TestBufferReleasedWithPendingBytes checks that a big buffer is dropped
// even when the first bytes of the next command wait in it.
func TestBufferReleasedWithPendingBytes(t *testing.T) {
	big := strings.Repeat("v", 1<<20)
	in := "*2\r\n$4\r\nECHO\r\n$1048576\r\n" + big + "\r\n*1\r\n"
	rd := NewReader(strings.NewReader(in), DefaultLimits())
	if _, err := rd.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	_, _ = rd.ReadCommand() // incomplete, then EOF
	if c := rd.BufferCap(); c > maxRetainedReadBuffer {
		t.Fatalf("buffer still %d bytes", c)
	}
}

func TestCheckInline(t *testing.T) {
	stop := errors.New("refused")
	tests := []struct {
		name    string
		in      string
		refuse  string // line CheckInline refuses
		want    []string
		lines   []string // lines CheckInline saw
		pending string   // what was buffered after the refused line
	}{
		{"resp frames are not inline", "*1\r\n$4\r\nPING\r\n", "", []string{"PING"}, nil, ""},
		{"every inline line is seen", "PING\r\nECHO a\n", "", []string{"PING", "ECHO a"}, []string{"PING", "ECHO a"}, ""},
		{"refused line does not run", "POST / HTTP/1.1\r\nHost: x\r\n\r\nSET k v\r\n", "POST / HTTP/1.1", nil, []string{"POST / HTTP/1.1"}, "Host: x\r\n\r\nSET k v\r\n"},
		{"unbalanced quotes are checked before splitting", "PING\r\nUser-Agent: \"x\r\n", "User-Agent: \"x", []string{"PING"}, []string{"PING", "User-Agent: \"x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(tc.in), DefaultLimits())
			var seen []string
			var pending string
			rd.CheckInline = func(line, rest []byte) error {
				seen = append(seen, string(line))
				if tc.refuse != "" && string(line) == tc.refuse {
					pending = string(rest)
					return stop
				}
				return nil
			}
			var got []string
			var err error
			for {
				var args [][]byte
				if args, err = rd.ReadCommand(); err != nil {
					break
				}
				got = append(got, string(bytes.Join(args, []byte(" "))))
			}
			if tc.refuse != "" && !errors.Is(err, stop) {
				t.Fatalf("err = %v, want the CheckInline error", err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || strings.Join(seen, "|") != strings.Join(tc.lines, "|") {
				t.Fatalf("ran %q, checked %q; want %q and %q", got, seen, tc.want, tc.lines)
			}
			if pending != tc.pending {
				t.Fatalf("pending %q, want %q", pending, tc.pending)
			}
		})
	}
}

// TestPartialCommandKeepsFirstBuffer: a few bytes of a command that is
// not complete yet do not double the first buffer.
func TestPartialCommandKeepsFirstBuffer(t *testing.T) {
	pr, pw := io.Pipe()
	rd := NewReader(pr, PreAuthLimits())
	done := make(chan error, 1)
	go func() { _, err := rd.ReadCommand(); done <- err }()
	for _, chunk := range []string{"*2\r\n$4\r\nAUTH\r\n$16000\r\n", "abc", "def"} {
		if _, err := pw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	<-done
	if c := rd.BufferCap(); c != initialReadBuffer {
		t.Fatalf("buffer grew to %d for a 30-byte partial command", c)
	}
}

// TestFrame checks that Frame returns each command's bytes exactly as
// AppendCommand would encode its arguments, and nil for inline commands.
func TestFrame(t *testing.T) {
	in := "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\nhello\r\n"
	rd := NewReader(strings.NewReader(in), DefaultLimits())
	for i, want := range []string{"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "", "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\nhello\r\n"} {
		args, err := rd.ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		got := rd.Frame()
		if string(got) != want || (want == "" && got != nil) {
			t.Fatalf("command %d: frame %q, want %q", i, got, want)
		}
		if want != "" && string(AppendCommand(nil, args...)) != want {
			t.Fatalf("command %d: AppendCommand gives %q", i, AppendCommand(nil, args...))
		}
	}
}
