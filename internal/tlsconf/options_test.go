package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

func TestValidate(t *testing.T) {
	ok := Options{CertFile: "c.pem", KeyFile: "k.pem"}
	with := func(f func(*Options)) Options { o := ok; f(&o); return o }
	tests := []struct {
		name string
		o    Options
		want []error // nil: valid
		text string  // a part of the message
	}{
		{"minimal", ok, nil, ""},
		{"mtls require", with(func(o *Options) { o.ClientAuth, o.CAFile = "require", "ca.PEM" }), nil, ""},
		{"mtls optional", with(func(o *Options) { o.ClientAuth, o.CAFile = "optional", "ca.PEM" }), nil, ""},
		{"explicit none", with(func(o *Options) { o.ClientAuth = "none" }), nil, ""},
		{"tls 1.3", with(func(o *Options) { o.MinVersion = "1.3" }), nil, ""},
		{"TLSv1.2 spelling", with(func(o *Options) { o.MinVersion = "TLSv1.2" }), nil, ""},
		{"interval", with(func(o *Options) { o.CheckInterval = time.Minute }), nil, ""},
		{"nothing", Options{}, []error{ErrNoCert}, "cert file is required"},
		{"cert without key", Options{CertFile: "c.pem"}, []error{ErrNoKey}, `key file is required with cert file "c.pem"`},
		{"key without cert", Options{KeyFile: "k.pem"}, []error{ErrNoCert}, `with key file "k.pem"`},
		{"unknown client auth", with(func(o *Options) { o.ClientAuth = "always" }), []error{ErrUnknownClientAuth}, `"always" (want none, optional or require)`},
		{"client auth is case sensitive", with(func(o *Options) { o.ClientAuth = "Require" }), []error{ErrUnknownClientAuth}, "Require"},
		{"require without ca", with(func(o *Options) { o.ClientAuth = "require" }), []error{ErrCARequired}, "when client auth is require"},
		{"optional without ca", with(func(o *Options) { o.ClientAuth = "optional" }), []error{ErrCARequired}, "when client auth is optional"},
		{"ca without client auth", with(func(o *Options) { o.CAFile = "ca.PEM" }), []error{ErrCAUnused}, "client auth is none"},
		{"tls 1.1", with(func(o *Options) { o.MinVersion = "1.1" }), []error{ErrVersionTooLow}, "below 1.2"},
		{"tls 1.0", with(func(o *Options) { o.MinVersion = "1.0" }), []error{ErrVersionTooLow}, "below 1.2"},
		{"TLSv1", with(func(o *Options) { o.MinVersion = "TLSv1" }), []error{ErrVersionTooLow}, "below 1.2"},
		{"unknown version", with(func(o *Options) { o.MinVersion = "1.4" }), []error{ErrUnknownVersion}, `"1.4"`},
		{"negative interval", with(func(o *Options) { o.CheckInterval = -time.Second }), []error{ErrCheckInterval}, "-1s"},
		{"every problem at once", Options{CertFile: "c.pem", ClientAuth: "require", MinVersion: "1.1"},
			[]error{ErrNoKey, ErrCARequired, ErrVersionTooLow}, "; "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %v", tt.want)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("Validate() = %v, want errors.Is %v", err, w)
				}
			}
			if len(err.(ValidationError)) != len(tt.want) {
				t.Errorf("Validate() = %v, want %d problems", err, len(tt.want))
			}
			if !strings.Contains(err.Error(), tt.text) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Validate() = %q, want one line containing %q", err, tt.text)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t)
	_, otherKey := f.ca.Issue(t, testutil.CertSpec{CN: "other", Serial: 2})
	expCert, expKey := f.ca.Issue(t, testutil.CertSpec{CN: "old", Serial: 3,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	garbage := f.writeFile(t, "garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n"))
	empty := f.writeFile(t, "empty.pem", nil)
	otherKeyFile := f.writeFile(t, "other.key", otherKey)
	keyOnlyCA := f.writeFile(t, "keyonly.pem", otherKey)
	expCertFile := f.writeFile(t, "expired.pem", expCert)
	expKeyFile := f.writeFile(t, "expired.key", expKey)
	missing := f.dir + "/missing.pem"

	tests := []struct {
		name string
		o    Options
		want []string // parts of the error
	}{
		{"invalid options", Options{CertFile: f.certFile}, []string{"key file is required"}},
		{"missing cert", Options{CertFile: missing, KeyFile: f.keyFile}, []string{"cert file", missing}},
		{"missing key", Options{CertFile: f.certFile, KeyFile: missing}, []string{"key file", missing}},
		{"garbage cert", Options{CertFile: garbage, KeyFile: f.keyFile}, []string{garbage}},
		{"empty cert", Options{CertFile: empty, KeyFile: f.keyFile}, []string{empty}},
		{"mismatched key", Options{CertFile: f.certFile, KeyFile: otherKeyFile}, []string{f.certFile, otherKeyFile, "does not match"}},
		{"expired cert", Options{CertFile: expCertFile, KeyFile: expKeyFile}, []string{expCertFile, "expired"}},
		{"missing ca", Options{CertFile: f.certFile, KeyFile: f.keyFile, ClientAuth: "require", CAFile: missing}, []string{"ca file", missing}},
		{"empty ca", Options{CertFile: f.certFile, KeyFile: f.keyFile, ClientAuth: "require", CAFile: empty}, []string{empty, "no PEM certificate"}},
		{"ca with only a key", Options{CertFile: f.certFile, KeyFile: f.keyFile, ClientAuth: "optional", CAFile: keyOnlyCA}, []string{keyOnlyCA, "no PEM certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.o, nil)
			if err == nil {
				t.Fatalf("New() = %v, nil; want an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New() error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(otherKey[30:60])) {
				t.Errorf("New() error %q shows key material", err)
			}
		})
	}
}

func TestPeerSummary(t *testing.T) {
	peer := func(cn string) []*x509.Certificate {
		return []*x509.Certificate{{Subject: pkix.Name{CommonName: cn}}}
	}
	tests := []struct {
		name string
		cs   tls.ConnectionState
		want string
	}{
		{"before handshake", tls.ConnectionState{Version: tls.VersionTLS13}, ""},
		{"tls 1.3 no cert", tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13}, "TLSv1.3"},
		{"tls 1.2 with cert", tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS12, PeerCertificates: peer("client1")}, "TLSv1.2 CN=client1"},
		{"cert without CN", tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13, PeerCertificates: peer("")}, "TLSv1.3"},
		{"spaces and controls", tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13, PeerCertificates: peer("a b\r\nflags=x\x00é")}, "TLSv1.3 CN=a?b??flags=x???"},
		{"long name", tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13, PeerCertificates: peer(strings.Repeat("x", 100))}, "TLSv1.3 CN=" + strings.Repeat("x", 64)},
	}
	var c *Config // PeerSummary needs no state
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.PeerSummary(tt.cs); got != tt.want {
				t.Errorf("PeerSummary() = %q, want %q", got, tt.want)
			}
		})
	}
}
