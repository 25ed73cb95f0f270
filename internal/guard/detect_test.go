package guard

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectLinePositives(t *testing.T) {
	tests := []struct {
		line string
		want Kind
	}{
		// Every registered method, and then some.
		{"GET / HTTP/1.1", RequestLine},
		{"HEAD / HTTP/1.1", RequestLine},
		{"POST / HTTP/1.1", RequestLine},
		{"PUT /x HTTP/1.1", RequestLine},
		{"DELETE /x HTTP/1.1", RequestLine},
		{"CONNECT 127.0.0.1:6379 HTTP/1.1", RequestLine},
		{"OPTIONS * HTTP/1.1", RequestLine},
		{"TRACE / HTTP/1.1", RequestLine},
		{"PATCH /x HTTP/1.1", RequestLine},
		{"PRI * HTTP/2.0", RequestLine},
		{"PROPFIND /dav HTTP/1.1", RequestLine},
		{"PROPPATCH /dav HTTP/1.1", RequestLine},
		{"MKCOL /dav/x HTTP/1.1", RequestLine},
		{"COPY /a HTTP/1.1", RequestLine},
		{"MOVE /a HTTP/1.1", RequestLine},
		{"LOCK /a HTTP/1.1", RequestLine},
		{"UNLOCK /a HTTP/1.1", RequestLine},
		{"SEARCH / HTTP/1.1", RequestLine},
		{"REPORT / HTTP/1.1", RequestLine},
		{"MKCALENDAR /c HTTP/1.1", RequestLine},
		{"QUERY /q HTTP/1.1", RequestLine},
		{"BASELINE-CONTROL / HTTP/1.1", RequestLine},
		{"VERSION_CONTROL / HTTP/1.1", RequestLine},
		{"M-SEARCH * HTTP/1.1", RequestLine},
		{"FOO /unknown HTTP/1.1", RequestLine},
		{"patch /lower-case HTTP/1.1", RequestLine}, // fetch() sends non-standard cases as given
		{"get / HTTP/1.1", RequestLine},
		{"GET / HTTP/1.0", RequestLine},
		{"GET / HTTP/2", RequestLine},
		{"GET / HTTP/3.0", RequestLine},
		{"GET / HTTP/9.9", RequestLine},
		{"GET / http/1.1", RequestLine},
		{"GET / Http/1.1", RequestLine},
		{"GET / HTTP/1.1x", RequestLine},
		// Request targets of every form.
		{"GET /index.html?a=b&c=%20 HTTP/1.1", RequestLine},
		{"GET http://127.0.0.1:6379/ HTTP/1.1", RequestLine},
		{"GET * HTTP/1.1", RequestLine},
		{"SET key HTTP/1.1", RequestLine}, // the documented price
		{"GET /a b HTTP/1.1", RequestLine},
		// Odd spacing.
		{"   POST / HTTP/1.1", RequestLine},
		{"POST  /  HTTP/1.1", RequestLine},
		{"POST\t/\tHTTP/1.1", RequestLine},
		{"POST / HTTP/1.1 ", RequestLine},
		{"POST / HTTP/1.1\r", RequestLine},
		{"POST / HTTP/1.1\r\n", RequestLine},
		{"\v\fPOST\v/\fHTTP/1.1", RequestLine},
		// Header fields.
		{"Host: 127.0.0.1:6379", HeaderLine},
		{"host:x", HeaderLine},
		{"HOST:", HeaderLine},
		{"Host:", HeaderLine},
		{"Origin: http://evil.example", HeaderLine},
		{"User-Agent: Mozilla/5.0 (X11; Linux x86_64)", HeaderLine},
		{"Content-Type: text/plain", HeaderLine},
		{"Content-Type: application/x-www-form-urlencoded", HeaderLine},
		{"Content-Length: 5", HeaderLine},
		{"Sec-Fetch-Mode: no-cors", HeaderLine},
		{"Sec-Fetch-Site: cross-site", HeaderLine},
		{"sec-ch-ua: \"Chromium\";v=\"156\"", HeaderLine},
		{"Accept: */*", HeaderLine},
		{"Accept-Encoding: gzip, deflate, br, zstd", HeaderLine},
		{"Accept-Language: en-US,en;q=0.9", HeaderLine},
		{"Referer:", HeaderLine},
		{"Referer: http://evil.example/", HeaderLine},
		{"Connection: keep-alive", HeaderLine},
		{"Cookie: a=b", HeaderLine},
		{"Cache-Control: max-age=0", HeaderLine},
		{"Upgrade-Insecure-Requests: 1", HeaderLine},
		{"Transfer-Encoding: chunked", HeaderLine},
		{"Upgrade: websocket", HeaderLine},
		{"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", HeaderLine},
		{"X-Custom_Header.1~: v", HeaderLine},
		{"  Host: x", HeaderLine},
		{"\tOrigin:null", HeaderLine},
		{"a:b c", HeaderLine}, // no command name holds a ':'
		{"Host:\x00\xff", HeaderLine},
		// Status lines.
		{"HTTP/1.1 200 OK", StatusLine},
		{"HTTP/1.0 404 Not Found", StatusLine},
		{"http/1.1 200 ok", StatusLine},
		{"HTTP/2 200", StatusLine},
		{"HTTP/1.1", StatusLine},
		{"  HTTP/1.1 400 Bad Request", StatusLine},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := DetectLine([]byte(tt.line))
			if !ok || got != tt.want {
				t.Errorf("DetectLine(%q) = %v, %v; want %v, true", tt.line, got, ok, tt.want)
			}
		})
	}
}

func TestDetectLineNegatives(t *testing.T) {
	tests := []string{
		"",
		" ",
		"\t\r\n",
		"PING",
		"ping",
		"PING hello",
		"GET key",
		"GET /",
		"GET http://x",
		"GET http://127.0.0.1/ x",
		"SET foo bar",
		"SET a:b c",
		"SET key value EX 10 NX",
		"SET url http://a.example/b",
		"SET \"quoted key\" \"va lue\"",
		"SET HTTP/1.1 value",
		"ECHO HTTP/1.1",
		"ECHO \"HTTP/1.1\"",
		"ECHO HTTP/ x",
		"ECHO a HTTP/",
		"ECHO a HTTP/x",
		"ECHO a HTTPS/1.1",
		"ECHO a XHTTP/1.1",
		"HGET h f",
		"HSET user:1000 name Ann",
		"HGETALL user:1000",
		"KEYS user:*",
		"SCAN 0 MATCH session:* COUNT 100",
		"MSET a:1 x b:2 y",
		"SUBSCRIBE news:sport",
		"PSUBSCRIBE news:*",
		"PUBLISH chan:1 hello",
		"INFO",
		"INFO keyspace",
		"CLIENT LIST",
		"CLIENT SETNAME app:worker",
		"CONFIG GET maxmemory",
		"DBSIZE",
		"SELECT 1",
		"AUTH user pass:word",
		"HELLO 3",
		"EXPIRE key:1 10",
		"INCR counter",
		"LPUSH queue:jobs job1",
		"XADD stream * field value",
		"EVAL \"return 1\" 0",
		"MONITOR",
		"QUIT",
		"FT.SEARCH idx @title:hello",
		"x=y",
		"SET redoubt_csrf pwned",
		"CONFIG SET dir /root/.ssh",
		": x",
		":",
		"\"Host:\" x",
		"[Host]: x",
		"Ho st: x",
		"Hôst: x",
		"{\"json\": 1}",
		"/path HTTP/1.1 x",
		"\"GET\" / HTTP/1.1",
		"GE(T / HTTP/1.1",
		"HTTPS/1.1 200 OK",
		"HTTP/ 200",
		"HTTP/x 200",
		"HTTP 200",
		"\x16\x03\x01\x02\x00\x01",
	}
	for _, line := range tests {
		t.Run(line, func(t *testing.T) {
			if got, ok := DetectLine([]byte(line)); ok || got != 0 {
				t.Errorf("DetectLine(%q) = %v, %v; want none", line, got, ok)
			}
		})
	}
}

func TestDetectCommandName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"host:", true},
		{"Host:", true},
		{"HOST:", true},
		{"Origin:", true},
		{"user-agent:", true},
		{"Content-Type:", true},
		{"host:x", true},
		{"sec-fetch-mode:", true},
		{"get", false},
		{"GET", false},
		{"post", false},
		{"set", false},
		{"client", false},
		{"ft.search", false},
		{":", false},
		{"", false},
		{"host", false},
		{"ho st:", false},
		{" host:", false},
		{"\"host:\"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, ok := DetectCommandName([]byte(tt.name))
			if ok != tt.want || (ok && kind != HeaderLine) || (!ok && kind != 0) {
				t.Errorf("DetectCommandName(%q) = %v, %v; want %v", tt.name, kind, ok, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{RequestLine, "http-request-line"},
		{HeaderLine, "http-header-line"},
		{StatusLine, "http-status-line"},
		{0, "Kind(0)"},
		{9, "Kind(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.k.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDetectBrowserRequests runs the detector over real requests that
// Chromium 156 (headless) sent to a plain TCP listener: a cross-site form
// POST with enctype text/plain whose body is Redis commands, and a
// fetch() POST in no-cors mode. The request line and every header line
// must be caught; the blank line and the body are not HTTP framing.
func TestDetectBrowserRequests(t *testing.T) {
	tests := []struct {
		file      string
		bodyLines int
	}{
		{"chromium-form-textplain.http", 5},
		{"chromium-fetch-nocors.http", 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
			if !ok {
				t.Fatal("no end of header")
			}
			lines := bytes.Split(head, []byte("\r\n"))
			if kind, ok := DetectLine(lines[0]); !ok || kind != RequestLine {
				t.Errorf("request line %q: %v, %v", lines[0], kind, ok)
			}
			for _, l := range lines[1:] {
				if kind, ok := DetectLine(l); !ok || kind != HeaderLine {
					t.Errorf("header %q: %v, %v", l, kind, ok)
				}
			}
			bodyLines := bytes.Split(bytes.TrimSuffix(body, []byte("\r\n")), []byte("\r\n"))
			if len(bodyLines) != tt.bodyLines {
				t.Fatalf("body has %d lines, want %d", len(bodyLines), tt.bodyLines)
			}
			for _, l := range bodyLines {
				if kind, ok := DetectLine(l); ok {
					t.Errorf("body line %q taken for %v", l, kind)
				}
			}
		})
	}
}

func TestDetectDoesNotAllocate(t *testing.T) {
	lines := [][]byte{
		[]byte("POST / HTTP/1.1"), []byte("Host: x"), []byte("SET foo bar"), []byte("HTTP/1.1 200 OK"),
	}
	for _, l := range lines {
		if n := testing.AllocsPerRun(100, func() { DetectLine(l) }); n != 0 {
			t.Errorf("DetectLine(%q) allocates %v times", l, n)
		}
		if n := testing.AllocsPerRun(100, func() { DetectCommandName(l) }); n != 0 {
			t.Errorf("DetectCommandName(%q) allocates %v times", l, n)
		}
	}
}

func BenchmarkDetectLine(b *testing.B) {
	benches := []struct{ name, line string }{
		{"request", "POST / HTTP/1.1"},
		{"header", "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
		{"command", "SET session:12345 some-value-of-moderate-length EX 3600"},
		{"ping", "PING"},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			line := []byte(bb.line)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				DetectLine(line)
			}
		})
	}
}

func BenchmarkDetectCommandName(b *testing.B) {
	name := []byte("set")
	b.ReportAllocs()
	for b.Loop() {
		DetectCommandName(name)
	}
}

// FuzzDetectLine checks that the detector never panics and that its
// answer does not depend on white space around the line. The seed corpus
// in testdata/fuzz/FuzzDetectLine holds the lines of the Chromium
// requests in testdata and a few Redis commands.
func FuzzDetectLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		kind, ok := DetectLine(line)
		if ok != (kind != 0) {
			t.Fatalf("DetectLine(%q) = %v, %v", line, kind, ok)
		}
		padded := append(append([]byte(" \t"), line...), " \r"...)
		if k2, ok2 := DetectLine(padded); k2 != kind || ok2 != ok {
			t.Fatalf("DetectLine(%q) = %v, %v but with white space around %v, %v", line, kind, ok, k2, ok2)
		}
		lower := strings.ToLower(string(line))
		switch kind {
		case RequestLine, StatusLine:
			if !strings.Contains(lower, "http/") {
				t.Fatalf("DetectLine(%q) = %v without HTTP/", line, kind)
			}
		case HeaderLine:
			if !bytes.Contains(line, []byte(":")) {
				t.Fatalf("DetectLine(%q) = %v without ':'", line, kind)
			}
			if k, ok := DetectCommandName(bytes.TrimLeft(line, " \t\r\n\v\f")); !ok || k != HeaderLine {
				t.Fatalf("DetectLine(%q) = header but DetectCommandName disagrees", line)
			}
		}
		if k, ok := DetectCommandName(line); ok != (k != 0) || (ok && kind != HeaderLine) {
			t.Fatalf("DetectCommandName(%q) = %v, %v but DetectLine = %v", line, k, ok, kind)
		}
	})
}
