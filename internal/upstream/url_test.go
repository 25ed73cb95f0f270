package upstream

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Target
		sni  string // rediss: the expected ServerName
	}{
		{raw: "redis://10.0.0.5:6380", want: Target{Network: "tcp", Addr: "10.0.0.5:6380"}},
		{raw: "redis://localhost", want: Target{Network: "tcp", Addr: "localhost:6379"}},
		{raw: "redis://localhost/", want: Target{Network: "tcp", Addr: "localhost:6379"}},
		{raw: "REDIS://cache.internal:7000/3", want: Target{Network: "tcp", Addr: "cache.internal:7000", DB: 3}},
		{raw: "redis://app@10.0.0.5:6379/0", want: Target{Network: "tcp", Addr: "10.0.0.5:6379", Username: "app"}},
		{raw: "redis://app:s3cret@10.0.0.5/2", want: Target{Network: "tcp", Addr: "10.0.0.5:6379", Username: "app", Password: "s3cret", DB: 2}},
		{raw: "redis://:s3cret@10.0.0.5", want: Target{Network: "tcp", Addr: "10.0.0.5:6379", Password: "s3cret"}},
		{raw: "redis://a%40b:p%3Aw%2F@h", want: Target{Network: "tcp", Addr: "h:6379", Username: "a@b", Password: "p:w/"}},
		{raw: "redis://u:p@ss/w#rd?@h:1", want: Target{Network: "tcp", Addr: "h:1", Username: "u", Password: "p@ss/w#rd?"}},
		{raw: "redis://[::1]:6380/1", want: Target{Network: "tcp", Addr: "[::1]:6380", DB: 1}},
		{raw: "redis://[fe80::1%25eth0]", want: Target{Network: "tcp", Addr: "[fe80::1%eth0]:6379"}},
		{raw: "redis://h/1048576", want: Target{Network: "tcp", Addr: "h:6379", DB: MaxDB}},
		{raw: "rediss://redis.example.com:6380", want: Target{Network: "tcp", Addr: "redis.example.com:6380"}, sni: "redis.example.com"},
		{raw: "rediss://u:p@[2001:db8::1]/4", want: Target{Network: "tcp", Addr: "[2001:db8::1]:6379", Username: "u", Password: "p", DB: 4}, sni: "2001:db8::1"},
		{raw: "unix:///run/redis/redis.sock", want: Target{Network: "unix", Addr: "/run/redis/redis.sock"}},
		{raw: "unix:/run/redis.sock?db=5", want: Target{Network: "unix", Addr: "/run/redis.sock", DB: 5}},
		{raw: "unix:///tmp/a@b/r.sock", want: Target{Network: "unix", Addr: "/tmp/a@b/r.sock"}},
		{raw: "unix:///tmp/my%20dir/r.sock", want: Target{Network: "unix", Addr: "/tmp/my dir/r.sock"}},
		{raw: "unix://app:pw@/run/r.sock?db=1", want: Target{Network: "unix", Addr: "/run/r.sock", Username: "app", Password: "pw", DB: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			gotTLS := got.TLS
			got.TLS = nil
			if got != tt.want {
				t.Errorf("got %s (user %q, db %d), want %s", got, got.Username, got.DB, tt.want)
			}
			if got.Password != tt.want.Password {
				t.Errorf("password not decoded as expected")
			}
			switch {
			case tt.sni == "" && gotTLS != nil:
				t.Error("TLS set for a plain URL")
			case tt.sni != "" && gotTLS == nil:
				t.Error("no TLS for rediss://")
			case tt.sni != "" && (gotTLS.ServerName != tt.sni || gotTLS.MinVersion != tls.VersionTLS12):
				t.Errorf("TLS: server name %q, min version %x", gotTLS.ServerName, gotTLS.MinVersion)
			}
		})
	}
}

// TestParseURLErrors checks that bad URLs are refused with a message that
// names the problem and never holds the password.
func TestParseURLErrors(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", "must start with"},
		{"10.0.0.5:6379", "must start with redis://"},
		{"localhost:6379", `unknown scheme "localhost"`},
		{"http://h:1", `unknown scheme "http"`},
		{"redis:h:1", "expected redis://host:port"},
		{"redis://", "host is empty"},
		{"redis://u:hunter2@", "host is empty"},
		{"redis://u:hunter2@:6379", "host is empty"},
		{"redis://u:hunter2@h:bad", "port must be"},
		{"redis://u:hunter2@h:0", "port must be"},
		{"redis://u:hunter2@h:65536", "port must be"},
		{"redis://u:hunter2@h:+1", "port must be"},
		{"redis://u:hunter2@h:", "port must be"},
		{"redis://u:hunter2", "port must be"}, // no '@': the password is taken for a port
		{"redis://hunter2", ""},               // no error: a host named hunter2
		{"redis://u:hunter2@h/x", "database must be"},
		{"redis://u:hunter2@h/-1", "database must be"},
		{"redis://u:hunter2@h/1048577", "database must be"},
		{"redis://u:hunter2@h/0/1", "database must be"},
		{"redis://u:hunter2@h/0?db=1", "query parameters are not allowed"},
		{"redis://u:hunter2@h/0#x", "fragment"},
		{"redis://u:hunter2@::1", "brackets"},
		{"redis://u:hunter2@[::1", "closing ']'"},
		{"redis://u:hunter2@[10.0.0.1]", "not an IPv6 address"},
		{"redis://u:hunter2@[::1]x", "expected ':port'"},
		{"redis://u:hunter2@h%20x", "host may hold only"},
		{"redis://u:hunt%zz@h", "password has an invalid"},
		{"redis://u%zz:hunter2@h", "user name has an invalid"},
		{"redis://u%20v:hunter2@h", "user name may not hold spaces"},
		{"redis://u:@h", "password is empty"},
		{"redis://u:hunter 2@h", "spaces or control characters"},
		{"rediss://u:hunter2@h:99999", "port must be"},
		{"unix:", "must be absolute"},
		{"unix:run/r.sock", "must be absolute"},
		{"unix://host/run/r.sock", "names no host"},
		{"unix://u:hunter2@host/r.sock", "names no host"},
		{"unix:///run/", "must name a file"},
		{"unix:///run/r.sock?db=x", "database must be"},
		{"unix:///run/r.sock?db=1&db=2", "db is given twice"},
		{"unix:///run/r.sock?timeout=1", `unknown query parameter "timeout"`},
		{"unix:///run/r.sock?", "only the query parameter db=N"},
		{"unix://u:hunter2@/run/r.sock?password=hunter2", `unknown query parameter "password"`},
		{"unix:///run/r.sock#x", "fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := ParseURL(tt.raw)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrURL) {
				t.Errorf("%v does not wrap ErrURL", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

// TestTargetStringHidesPassword checks the round trip through
// Target.String, the only way a target is logged.
func TestTargetStringHidesPassword(t *testing.T) {
	for _, raw := range []string{"redis://app:hunter2@h:1/2", "rediss://:hunter2@h", "unix://app:hunter2@/r.sock?db=3"} {
		got, err := ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		if s := got.String(); strings.Contains(s, "hunter2") {
			t.Errorf("%s", s)
		}
	}
}

// FuzzParseURL checks that no input panics the parser, that a target it
// returns is sound, and that no error quotes the password: an error that
// holds it must hold it too when the password is replaced by other text.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://u:pw@h:1/2", "rediss://[::1]:6380", "unix:///r.sock?db=1", "unix://u:p@/s", "redis://u:secret@h:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParseURL(raw)
		if err == nil {
			if got.Network != "tcp" && got.Network != "unix" || got.Addr == "" || got.DB < 0 || got.DB > MaxDB {
				t.Fatalf("bad target %s", got)
			}
			return
		}
		start, end := passwordSpan(raw)
		pw := raw[start:end]
		if pw == "" || !strings.Contains(err.Error(), pw) {
			return
		}
		_, err2 := ParseURL(raw[:start] + strings.Repeat("q", len(pw)) + raw[end:])
		if err2 == nil || !strings.Contains(err2.Error(), pw) {
			t.Fatalf("error %q holds the password %q", err, pw)
		}
	})
}

// passwordSpan is where the raw text between "user:" and the last '@' is,
// if any.
func passwordSpan(raw string) (int, int) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return 0, 0
	}
	hier := raw[i+3:]
	at := strings.LastIndexByte(hier, '@')
	colon := strings.IndexByte(hier, ':')
	if at < 0 || colon < 0 || colon > at {
		return 0, 0
	}
	return i + 3 + colon + 1, i + 3 + at
}

func TestParseClusterURL(t *testing.T) {
	tests := []struct {
		raw   string
		addrs []string
		user  string
		pass  string
		tls   bool
	}{
		{"redis-cluster://h1:7000,h2:7001", []string{"h1:7000", "h2:7001"}, "", "", false},
		{"redis-cluster://h1", []string{"h1:6379"}, "", "", false},
		{"REDIS-CLUSTER://app:p%40ss@10.0.0.1:7000,[::1]:7000", []string{"10.0.0.1:7000", "[::1]:7000"}, "app", "p@ss", false},
		{"rediss-cluster://n1:7000,n2:7000", []string{"n1:7000", "n2:7000"}, "", "", true},
	}
	for _, tt := range tests {
		seeds, err := ParseClusterURL(tt.raw)
		if err != nil {
			t.Fatalf("%s: %v", tt.raw, err)
		}
		if len(seeds) != len(tt.addrs) {
			t.Fatalf("%s: %d seeds", tt.raw, len(seeds))
		}
		for i, s := range seeds {
			if s.Network != "tcp" || s.Addr != tt.addrs[i] || s.Username != tt.user || s.Password != tt.pass || (s.TLS != nil) != tt.tls {
				t.Errorf("%s: seed %d = %s user %q tls %v", tt.raw, i, s, s.Username, s.TLS != nil)
			}
			if s.TLS != nil && s.TLS.ServerName != "" {
				t.Errorf("%s: the server name is each node's own, not %q", tt.raw, s.TLS.ServerName)
			}
		}
	}
	for _, raw := range []string{"redis://h", "redis-cluster://", "redis-cluster://h/0", "redis-cluster://h?x=1",
		"redis-cluster://h,", "redis-cluster://:@h", "redis-cluster:// h", "redis-cluster://h:0", "cluster://h"} {
		if seeds, err := ParseClusterURL(raw); err == nil {
			t.Errorf("%q: %v, want an error", raw, seeds)
		}
	}
}

// FuzzParseClusterURL: no input panics the parser, every seed is sound,
// and no error quotes the password.
func FuzzParseClusterURL(f *testing.F) {
	for _, s := range []string{"redis-cluster://u:pw@h:1,h:2", "rediss-cluster://[::1]:6380", "redis-cluster://u:secret@h:x,h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		seeds, err := ParseClusterURL(raw)
		if err == nil {
			for _, s := range seeds {
				if s.Network != "tcp" || s.Addr == "" || s.DB != 0 {
					t.Fatalf("bad seed %s", s)
				}
			}
			return
		}
		start, end := passwordSpan(raw)
		pw := raw[start:end]
		// A password of control characters is refused as such, and one of
		// a few characters may be a word of the message.
		if len(pw) < 4 || !strings.Contains(err.Error(), pw) || strings.ContainsFunc(pw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return
		}
		_, err2 := ParseClusterURL(raw[:start] + strings.Repeat("q", len(pw)) + raw[end:])
		if err2 == nil || !strings.Contains(err2.Error(), pw) {
			t.Fatalf("error %q holds the password %q", err, pw)
		}
	})
}
