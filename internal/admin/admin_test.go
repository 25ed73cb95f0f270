package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func startAdmin(t *testing.T, token string) (*Server, *prometheus.CounterVec) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_test_total", Help: "test"}, []string{"k"})
	reg.MustRegister(c)
	c.WithLabelValues("a").Add(3)
	s, err := Start(Options{Listen: "127.0.0.1:0", MetricsToken: token, Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, c
}

// get sends one request with the given Host header and Authorization.
func get(t *testing.T, method, addr, host, path, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestMetricsEndpoint(t *testing.T) {
	s, _ := startAdmin(t, "")
	_, port, _ := net.SplitHostPort(s.Addr())
	tests := []struct {
		name, method, host, path string
		code                     int
		body                     string
	}{
		{"metrics", "GET", "", "/metrics", 200, `redoubt_test_total{k="a"} 3`},
		{"localhost", "GET", "localhost:" + port, "/metrics", 200, "redoubt_test_total"},
		{"ipv6 literal", "GET", "[::1]:" + port, "/metrics", 200, "redoubt_test_total"},
		{"dns rebinding", "GET", "attacker.example:" + port, "/metrics", http.StatusMisdirectedRequest, "Host header"},
		{"rebinding without port", "GET", "evil.test", "/metrics", http.StatusMisdirectedRequest, ""},
		{"post", "POST", "", "/metrics", http.StatusMethodNotAllowed, ""},
		{"unknown path", "GET", "", "/nothing", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, tt.method, s.Addr(), tt.host, tt.path, "")
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s Host %q: %d %.200q, want %d with %q", tt.method, tt.path, tt.host, code, body, tt.code, tt.body)
			}
		})
	}
}

func TestMetricsToken(t *testing.T) {
	s, _ := startAdmin(t, "s3cret-token-value")
	tests := []struct {
		auth string
		code int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Basic czNjcmV0LXRva2VuLXZhbHVl", http.StatusUnauthorized},
		{"Bearer s3cret-token-value", http.StatusOK},
	}
	for _, tt := range tests {
		code, body := get(t, "GET", s.Addr(), "", "/metrics", tt.auth)
		if code != tt.code {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, code, tt.code)
		}
		if code != http.StatusOK && (strings.Contains(body, "redoubt_test_total") || strings.Contains(body, "s3cret")) {
			t.Errorf("Authorization %q: refused answer leaks: %q", tt.auth, body)
		}
	}
}

// TestSlowHeadersCut: a client that never finishes its headers is cut off
// instead of holding a connection for ever.
func TestSlowHeadersCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s header timeout")
	}
	s, _ := startAdmin(t, "")
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(nc)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("closed after %v", d)
	}
}
