package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
)

// attackPage is what a malicious web site serves: a fetch() in no-cors
// mode and a form with enctype=text/plain, both posting Redis commands to
// the port given in the query string. Neither needs the target to answer.
// The textarea starts with an empty line (HTML drops the first newline),
// so the form body is "x=\r\nSET csrf_form pwned\r\n…": the command
// gets a line of its own.
const attackPage = `<!doctype html>
<html><body>
<form id="f" method="POST" enctype="text/plain">
<textarea name="x">

SET csrf_form pwned
QUIT
</textarea>
</form>
<script>
const port = new URLSearchParams(location.search).get("port");
const target = "http://127.0.0.1:" + port + "/";
fetch(target, {method: "POST", mode: "no-cors", body: "SET csrf_fetch pwned\r\nQUIT\r\n"})
  .catch(() => {})
  .finally(() => {
    const f = document.getElementById("f");
    f.action = target;
    f.submit();
  });
</script>
</body></html>`

// unguarded is a deliberately naive inline-command listener: it records
// every line it receives, as an inline parser without a guard would run
// them.
type unguarded struct {
	l     net.Listener
	mu    sync.Mutex
	lines []string
}

func startUnguarded(t *testing.T) *unguarded {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &unguarded{l: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					line := strings.TrimRight(sc.Text(), "\r")
					u.mu.Lock()
					u.lines = append(u.lines, line)
					u.mu.Unlock()
					if line == "QUIT" {
						return
					}
				}
			}()
		}
	}()
	return u
}

func (u *unguarded) got(line string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, l := range u.lines {
		if l == line {
			return true
		}
	}
	return false
}

func (u *unguarded) port() int { return u.l.Addr().(*net.TCPAddr).Port }

// TestBrowserCrossProtocol drives a real headless Chromium to a page that
// attacks a Redis port. Aimed at an unguarded listener, the Redis commands
// arrive (so the test can fail); aimed at Redoubt, nothing runs, the
// connections are closed and the attempts recorded.
func TestBrowserCrossProtocol(t *testing.T) {
	ctx := testutil.Chromium(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, attackPage)
	}))
	t.Cleanup(page.Close)

	// The attack works against a target without a guard.
	u := startUnguarded(t)
	t.Cleanup(func() {
		if t.Failed() {
			u.mu.Lock()
			t.Logf("unguarded listener got %q", u.lines)
			u.mu.Unlock()
		}
	})
	if _, err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/?port=%d", page.URL, u.port()))); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	testutil.WaitFor(t, 20*time.Second, "the payload at the unguarded listener", func() bool {
		return u.got("SET csrf_fetch pwned") && u.got("SET csrf_form pwned")
	})

	// The same page aimed at Redoubt.
	rec := monitor.NewRecorder(nil, nil)
	s := startServer(t, Options{Events: rec})
	port := s.tcpPort()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/?port=%d", page.URL, port))); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	testutil.WaitFor(t, 20*time.Second, "two cross-protocol events", func() bool { return rec.Count(monitor.CrossProtocol) >= 2 })
	var attackers []string
	for _, ev := range rec.Recent() {
		if ev.Type == monitor.CrossProtocol {
			if !strings.HasPrefix(ev.Addr, "127.0.0.1:") {
				t.Errorf("event without the peer address: %+v", ev)
			}
			attackers = append(attackers, ev.Addr)
		}
	}
	c := dial(t, s.Addrs()[0])
	// The connections that carried the requests are closed. (Chromium
	// may keep a pre-connected socket that never sent a byte; it runs
	// nothing and is not one of them.)
	testutil.WaitFor(t, 10*time.Second, "the attack connections closed", func() bool {
		list := c.do("CLIENT", "LIST")
		for _, a := range attackers {
			if strings.Contains(list, "addr="+a+" ") {
				return false
			}
		}
		return true
	})
	if got := c.do("EXISTS", "csrf_fetch", "csrf_form"); got != ":0\r\n" {
		t.Fatalf("EXISTS after the attack = %q, want :0", got)
	}
	// A local peer is never banned: the same browser's applications keep working.
	if got := c.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING = %q", got)
	}
	if n := len(s.bans.List()); n != 0 {
		t.Fatalf("%d bans after attempts from loopback, want none", n)
	}
}
