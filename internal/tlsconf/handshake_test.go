package tlsconf

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

func TestHandshakeVersions(t *testing.T) {
	f := newFixture(t)
	servers := map[string]string{} // min version → address
	for _, min := range []string{"1.2", "1.3"} {
		o := f.options("")
		o.MinVersion = min
		servers[min] = startServer(t, f.newConfig(t, o))
	}
	tests := []struct {
		name      string
		serverMin string
		clientMin uint16
		clientMax uint16
		want      uint16 // 0: refused
	}{
		{"1.3 preferred", "1.2", tls.VersionTLS12, tls.VersionTLS13, tls.VersionTLS13},
		{"1.2 client", "1.2", tls.VersionTLS12, tls.VersionTLS12, tls.VersionTLS12},
		{"1.1 client refused", "1.2", tls.VersionTLS10, tls.VersionTLS11, 0},
		{"1.0 client refused", "1.2", tls.VersionTLS10, tls.VersionTLS10, 0},
		{"min 1.3: 1.3 client", "1.3", tls.VersionTLS12, tls.VersionTLS13, tls.VersionTLS13},
		{"min 1.3: 1.2 client refused", "1.3", tls.VersionTLS12, tls.VersionTLS12, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := clientConfig(t, f.ca, nil, nil)
			cc.MinVersion, cc.MaxVersion = tt.clientMin, tt.clientMax
			cl, who, err := connect(servers[tt.serverMin], cc)
			if tt.want == 0 {
				if err == nil {
					cl.conn.Close()
					t.Fatalf("connected with %s, want refused", who)
				}
				if !strings.Contains(err.Error(), "protocol version not supported") {
					t.Errorf("refused with %v, want a protocol version alert", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer cl.conn.Close()
			if got := cl.conn.ConnectionState().Version; got != tt.want {
				t.Errorf("version = %s, want %s", tls.VersionName(got), tls.VersionName(tt.want))
			}
			if want := versionName(tt.want); who != want {
				t.Errorf("PeerSummary = %q, want %q", who, want)
			}
		})
	}
}

func TestCipherSuitesTLS12(t *testing.T) {
	f := newFixture(t)
	addr := startServer(t, f.newConfig(t, f.options("")))
	tests := []struct {
		name  string
		suite uint16
		ok    bool
	}{
		{"ECDHE AES-GCM", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{"ECDHE AES-256-GCM", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{"ECDHE ChaCha20", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{"ECDHE CBC refused", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{"ECDHE CBC-SHA256 refused", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := clientConfig(t, f.ca, nil, nil)
			cc.MaxVersion = tls.VersionTLS12
			cc.CipherSuites = []uint16{tt.suite}
			cl, _, err := connect(addr, cc)
			if !tt.ok {
				if err == nil {
					cl.conn.Close()
					t.Fatal("connected, want refused")
				}
				if !strings.Contains(err.Error(), "handshake failure") {
					t.Errorf("refused with %v, want a handshake failure", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer cl.conn.Close()
			if got := cl.conn.ConnectionState().CipherSuite; got != tt.suite {
				t.Errorf("suite = %s, want %s", tls.CipherSuiteName(got), tls.CipherSuiteName(tt.suite))
			}
		})
	}
	t.Run("only ECDHE with AEAD configured", func(t *testing.T) {
		for _, id := range f.newConfig(t, f.options("")).TLS().CipherSuites {
			s := suiteByID(id)
			if s == nil || s.Insecure || !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
				t.Errorf("suite %s should not be offered", tls.CipherSuiteName(id))
			}
		}
	})
}

func suiteByID(id uint16) *tls.CipherSuite {
	for _, s := range tls.CipherSuites() {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func TestClientAuth(t *testing.T) {
	f := newFixture(t)
	other := testutil.NewCA(t, "Other CA")
	goodCert, goodKey := f.ca.Issue(t, testutil.CertSpec{CN: "client1", Serial: 10, Client: true})
	otherCert, otherKey := other.Issue(t, testutil.CertSpec{CN: "intruder", Serial: 11, Client: true})
	expCert, expKey := f.ca.Issue(t, testutil.CertSpec{CN: "old", Serial: 12, Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	serverOnly, serverOnlyKey := f.ca.Issue(t, testutil.CertSpec{CN: "not-a-client", Serial: 13})
	servers := map[string]string{}
	for _, mode := range []string{"none", "optional", "require"} {
		servers[mode] = startServer(t, f.newConfig(t, f.options(mode)))
	}
	type cert struct{ cert, key []byte }
	var (
		none  = cert{}
		good  = cert{goodCert, goodKey}
		alien = cert{otherCert, otherKey}
		exp   = cert{expCert, expKey}
		srv   = cert{serverOnly, serverOnlyKey}
	)
	tests := []struct {
		mode    string
		name    string
		cert    cert
		version uint16
		want    string // PeerSummary; "" refused
		why     string // part of the refusal
	}{
		{"require", "no cert refused", none, tls.VersionTLS13, "", "certificate required"},
		{"require", "no cert refused on 1.2", none, tls.VersionTLS12, "", "handshake failure"},
		{"require", "other CA refused", alien, tls.VersionTLS13, "", "unknown certificate authority"},
		{"require", "other CA refused on 1.2", alien, tls.VersionTLS12, "", "unknown certificate authority"},
		{"require", "expired cert refused", exp, tls.VersionTLS13, "", "expired certificate"},
		{"require", "server-only cert refused", srv, tls.VersionTLS13, "", "bad certificate"},
		{"require", "good cert", good, tls.VersionTLS13, "TLSv1.3 CN=client1", ""},
		{"require", "good cert on 1.2", good, tls.VersionTLS12, "TLSv1.2 CN=client1", ""},
		{"optional", "no cert", none, tls.VersionTLS13, "TLSv1.3", ""},
		{"optional", "other CA refused", alien, tls.VersionTLS13, "", "unknown certificate authority"},
		{"optional", "good cert", good, tls.VersionTLS13, "TLSv1.3 CN=client1", ""},
		{"none", "no cert", none, tls.VersionTLS13, "TLSv1.3", ""},
		{"none", "cert not asked for", good, tls.VersionTLS13, "TLSv1.3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.name, func(t *testing.T) {
			cc := clientConfig(t, f.ca, tt.cert.cert, tt.cert.key)
			cc.MaxVersion = tt.version
			cl, who, err := connect(servers[tt.mode], cc)
			if tt.want == "" {
				if err == nil {
					cl.conn.Close()
					t.Fatalf("connected as %q, want refused", who)
				}
				if !strings.Contains(err.Error(), tt.why) {
					t.Errorf("refused with %v, want %q", err, tt.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer cl.conn.Close()
			if who != tt.want {
				t.Errorf("PeerSummary = %q, want %q", who, tt.want)
			}
		})
	}
	t.Run("session tickets off under client auth", func(t *testing.T) {
		for mode, want := range map[string]bool{"none": false, "optional": true, "require": true} {
			if got := f.newConfig(t, f.options(mode)).TLS().SessionTicketsDisabled; got != want {
				t.Errorf("%s: SessionTicketsDisabled = %v, want %v", mode, got, want)
			}
		}
	})
}
