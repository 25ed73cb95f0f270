package admin

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReviewHostCheckBypasses tries Host headers an attacker's page could
// make a browser send after DNS rebinding, and raw requests a browser
// would not; only IP literals and localhost pass (regression: holds up).
func TestReviewHostCheckBypasses(t *testing.T) {
	s, _ := startAdmin(t, "")
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"localhost.evil.test:" + port, false},
		{"127.0.0.1.nip.io:" + port, false},
		{"evil.test.:" + port, false},
		{"localhost.:" + port, false},
		{"LOCALHOST:" + port, true},
		{"[::ffff:127.0.0.1]:" + port, true},
		{"0x7f000001:" + port, false},
		{"2130706433:" + port, false},
	} {
		code, body := get(t, "GET", s.Addr(), tt.host, "/metrics", "")
		if (code == http.StatusOK) != tt.ok {
			t.Errorf("Host %q: %d %.80q, want allowed=%v", tt.host, code, body, tt.ok)
		}
	}
	// Absolute-form request target naming another host, and a Host
	// header that differs: Go takes the target's host; either way the
	// request must not be served.
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "GET http://evil.test/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "redoubt_test_total") {
		t.Errorf("absolute-form request to evil.test served: %d %.80q", resp.StatusCode, b)
	}
}

// TestReviewTokenVariants: only the exact bearer token opens /metrics,
// and a refusal never echoes what was sent (regression: holds up;
// trailing blanks are trimmed by HTTP header parsing, not a bypass).
func TestReviewTokenVariants(t *testing.T) {
	const token = "tok-abcdef-123456"
	s, _ := startAdmin(t, token)
	for _, auth := range []string{
		"Bearer  " + token, "Bearer " + token[:len(token)-1], "Bearer " + token + "x",
		"Bearer", "Bearer ", token, "Token " + token,
	} {
		code, body := get(t, "GET", s.Addr(), "", "/metrics", auth)
		if code == http.StatusOK {
			t.Errorf("Authorization %q opened /metrics", auth)
		}
		if strings.Contains(body, "tok-") {
			t.Errorf("Authorization %q: the refusal echoes the token: %q", auth, body)
		}
	}
	if code, _ := get(t, "GET", s.Addr(), "", "/metrics", "Bearer "+token); code != http.StatusOK {
		t.Errorf("the right token: %d", code)
	}
}
