package scan

import (
	"bufio"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// Adversarial review of the scanner (issue 10): secrets, hostile
// backends, bounded time and memory.

// TestReviewScanAuthErrorEchoLeaksPassword: a redis-server whose AUTH
// is renamed away (rename-command AUTH "") answers the scanner's AUTH
// with "ERR unknown command 'AUTH', with args beginning with: '<password>'".
// The scanner quotes that reply as the evidence of backend-login-failed,
// so the backend password lands in the finding, and from there in the
// event log, the console and `redoubt scan` output. Any error text from a
// backend must be scrubbed of the password the scanner sent.
func TestReviewScanAuthErrorEchoLeaksPassword(t *testing.T) {
	pw := randomPassword(t)
	r := testutil.StartRedis(t, "--rename-command", "AUTH", "")
	for _, url := range []string{"redis://" + r.Addr, "redis://scanner@" + r.Addr} {
		fs := backendFindings(t, backendConfig(t, url, pw))
		if len(byID(fs, RuleBackendLoginFailed)) == 0 {
			t.Fatalf("%s: no login failure found: %v", url, ids(fs))
		}
		for _, f := range fs {
			all := strings.Join([]string{f.ID, f.Instance, f.Node, f.Title, f.Evidence, f.Remedy}, "\n")
			if strings.Contains(all, pw) {
				t.Errorf("%s: finding %s holds the backend password: evidence %q", url, f.ID, f.Evidence)
			}
		}
	}
}

// rvFakeBackend accepts connections and answers each with reply (once
// some bytes of a request arrived), then holds the connection open.
func rvFakeBackend(t *testing.T, reply func(w io.Writer)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				bw := bufio.NewWriterSize(c, 1<<20)
				reply(bw)
				_ = bw.Flush()
				_, _ = io.Copy(io.Discard, c)
			})
		}
	})
	return l.Addr().String()
}

// TestReviewScanHugeReplyMemory: a hostile backend answers the scanner's
// INFO with 4 million tiny elements (16 MB on the wire). upstream.Do
// reads it with DefaultLimits and no MaxValue, copies it, and decodes
// every element into a 72-byte resp.Value: hundreds of MB for one probe,
// and the scanner runs inside the server, at start-up and on schedule,
// eight nodes at a time (a cluster names up to 128). A probe of replies
// the scanner expects to be a few KB must be bounded.
func TestReviewScanHugeReplyMemory(t *testing.T) {
	const arrays, per = 4, 1 << 20
	elem := strings.Repeat(":0\r\n", per)
	addr := rvFakeBackend(t, func(w io.Writer) {
		io.WriteString(w, "*"+itoa(arrays)+"\r\n")
		for range arrays {
			io.WriteString(w, "*"+itoa(per)+"\r\n")
			io.WriteString(w, elem)
		}
		// The other probe commands get short errors.
		io.WriteString(w, strings.Repeat("-ERR no\r\n", len(probeCommands("", false))-1))
	})
	cfg := backendConfig(t, "redis://"+addr, "")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	fs := Run(context.Background(), Options{Config: cfg, Timeout: 5 * time.Second})
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("scan took %v, allocated %d MiB: %v", time.Since(start).Round(time.Millisecond), alloc>>20, ids(fs))
	if alloc > 64<<20 {
		t.Errorf("one probe of a hostile backend allocated %d MiB (16 MiB on the wire); the scanner must bound a reply", alloc>>20)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// TestReviewScanHostileTrickle: a backend that answers one byte every
// 20 ms, and one that answers garbage, do not hold the scan beyond its
// timeout nor crash it (regression: these hold up).
func TestReviewScanHostileTrickle(t *testing.T) {
	trickle := rvFakeBackend(t, func(w io.Writer) {
		f := w.(*bufio.Writer)
		for i := 0; ; i++ {
			if _, err := f.WriteString("$"); err != nil {
				return
			}
			if f.Flush() != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // the hostile peer's pace, not a wait for readiness
		}
	})
	garbage := rvFakeBackend(t, func(w io.Writer) {
		io.WriteString(w, "+PONG\r\n-ERR \xff\xfe\x00 garbage\r\n*2\r\n$5\r\nhello\r\n*-1\r\n%1\r\n:1\r\n:2\r\n:3\r\n_\r\n#t\r\n,1.5\r\n(1\r\n=7\r\ntxt:abc\r\n~1\r\n+x\r\n|1\r\n+a\r\n+b\r\n+c\r\n")
	})
	for _, addr := range []string{trickle, garbage} {
		cfg := backendConfig(t, "redis://"+addr, "")
		start := time.Now()
		fs := Run(context.Background(), Options{Config: cfg, Timeout: 500 * time.Millisecond})
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: the scan took %v with a 500ms timeout", addr, took)
		}
		t.Logf("%s: %v", addr, ids(fs))
	}
}

// TestReviewScanSendsOnlyReads: after the scanner probed a real
// redis-server (with a password), the server's INFO commandstats lists
// only commands that read (MONITOR hides admin commands, so the
// server's own counts are the witness). Regression: this holds up.
func TestReviewScanSendsOnlyReads(t *testing.T) {
	pw := randomPassword(t)
	r := testutil.StartRedis(t)
	redisDo(t, r.Addr, []string{"CONFIG", "SET", "requirepass", pw}, []string{"CONFIG", "RESETSTAT"})
	fs := backendFindings(t, backendConfig(t, "redis://"+r.Addr, pw))
	noSecret(t, fs, pw)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	vals, err := upstream.Do(ctx, upstream.Target{Network: "tcp", Addr: r.Addr, Password: pw}, [][]byte{[]byte("INFO"), []byte("commandstats")})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"auth": true, "ping": true, "info": true, "config|get": true, "config|resetstat": true,
		"debug": true, "module|list": true, "acl|dryrun": true, "cluster|nodes": true}
	seen := 0
	for _, line := range strings.Split(string(vals[0].Str), "\r\n") {
		name, _, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		seen++
		if !allowed[name] {
			t.Errorf("the scanner ran %s on the backend: %s", name, line)
		}
	}
	if seen < 6 {
		t.Errorf("commandstats shows only %d commands: %q", seen, vals[0].Str)
	}
}
