package guard

import "strconv"

// Kind is the kind of HTTP line the detector found.
type Kind uint8

// The kinds of HTTP lines. The zero Kind is no kind: the detectors return
// it with false.
const (
	// RequestLine is an HTTP request line: "POST / HTTP/1.1",
	// "PRI * HTTP/2.0".
	RequestLine Kind = iota + 1
	// HeaderLine is an HTTP header field: "Host: 10.0.0.1",
	// "Origin: http://evil.example", "sec-fetch-mode:no-cors".
	HeaderLine
	// StatusLine is an HTTP status line: "HTTP/1.1 200 OK".
	StatusLine
)

// String returns the kind's name as it appears in events.
func (k Kind) String() string {
	switch k {
	case RequestLine:
		return "http-request-line"
	case HeaderLine:
		return "http-header-line"
	case StatusLine:
		return "http-status-line"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// DetectLine reports whether one line of the inline protocol (without its
// line ending; leading white space allowed) is a line of HTTP, and which
// kind. White space is what Redis's inline parser splits on: space, tab,
// CR, LF, VT and FF. A line is
//
//   - a HeaderLine when it starts with a field-name token (RFC 9110
//     tchar: letters, digits and !#$%&'*+-.^_`|~) immediately followed by
//     ':' — "Host: x", "host:x", "Referer:". No Redis command name holds a
//     ':', so this never refuses a command; a ':' in an argument ("SET
//     a:b c") does not count;
//   - a StatusLine when its first token is "HTTP/" and a digit
//     ("HTTP/1.1 200 OK");
//   - a RequestLine when it has three tokens or more, the first a token
//     (every method: GET, POST, PRI, PROPFIND, unknown ones, in any case)
//     and the last "HTTP/" and a digit ("POST / HTTP/1.1"). A browser
//     sends exactly three; more are accepted so that a target holding
//     spaces still counts. A line of two tokens ("ECHO HTTP/1.1") is no
//     request line: no HTTP client sends a request without a target.
//
// "HTTP" is matched without regard to case. The price of catching every
// request line is that an inline command of three tokens or more whose
// last argument looks like an HTTP version ("SET k HTTP/1.1") is taken for
// one; inline commands come only from local peers under strict RESP, and
// the same command in RESP is never refused.
//
// DetectLine does not allocate and never panics.
func DetectLine(line []byte) (Kind, bool) {
	i := skipSpace(line, 0)
	if i == len(line) {
		return 0, false
	}
	if headerName(line[i:]) {
		return HeaderLine, true
	}
	end := tokenEnd(line, i)
	if httpVersion(line[i:end]) {
		return StatusLine, true
	}
	if !allTchar(line[i:end]) {
		return 0, false
	}
	tokens, last := 1, i
	for j := skipSpace(line, end); j < len(line); j = skipSpace(line, end) {
		end = tokenEnd(line, j)
		tokens, last = tokens+1, j
	}
	if tokens >= 3 && httpVersion(line[last:end]) {
		return RequestLine, true
	}
	return 0, false
}

// DetectCommandName reports whether the first argument of a RESP
// multibulk command is header-shaped: a field-name token followed by ':'
// ("host:", "Origin:", "host:x"), which Redis 3.2.7 and later also refuse
// for "host:". It returns HeaderLine and true for such a name. It does
// not allocate and never panics.
func DetectCommandName(name []byte) (Kind, bool) {
	if headerName(name) {
		return HeaderLine, true
	}
	return 0, false
}

// isSpace reports whether c is white space to Redis's inline parser
// (C isspace).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// isTchar reports whether c may appear in an HTTP token (RFC 9110 5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func tokenEnd(b []byte, i int) int {
	for i < len(b) && !isSpace(b[i]) {
		i++
	}
	return i
}

func allTchar(b []byte) bool {
	for _, c := range b {
		if !isTchar(c) {
			return false
		}
	}
	return len(b) > 0
}

// headerName reports whether b starts with one or more tchar followed by
// ':'.
func headerName(b []byte) bool {
	for i, c := range b {
		if c == ':' {
			return i > 0
		}
		if !isTchar(c) {
			return false
		}
	}
	return false
}

// httpVersion reports whether b starts with "HTTP/" (in any case) and a
// digit.
func httpVersion(b []byte) bool {
	return len(b) >= 6 &&
		b[0]|0x20 == 'h' && b[1]|0x20 == 't' && b[2]|0x20 == 't' && b[3]|0x20 == 'p' &&
		b[4] == '/' && '0' <= b[5] && b[5] <= '9'
}
