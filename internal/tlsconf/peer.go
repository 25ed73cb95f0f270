package tlsconf

import (
	"crypto/tls"
	"strings"
)

// maxPeerName bounds the client certificate name in a PeerSummary.
const maxPeerName = 64

// PeerSummary describes a TLS connection in one token-safe line for CLIENT
// LIST and INFO, such as "TLSv1.3 CN=client1", or "TLSv1.2" without a client
// certificate. It returns "" before the handshake is complete. The name is
// cut to 64 bytes, and bytes that are not printable ASCII or are a space
// become '?', so a certificate cannot forge extra fields.
func (c *Config) PeerSummary(cs tls.ConnectionState) string {
	if !cs.HandshakeComplete {
		return ""
	}
	s := versionName(cs.Version)
	if len(cs.PeerCertificates) > 0 {
		if cn := cs.PeerCertificates[0].Subject.CommonName; cn != "" {
			s += " CN=" + sanitize(cn)
		}
	}
	return s
}

// versionName spells a TLS version the way OpenSSL and Redis do.
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return strings.ReplaceAll(tls.VersionName(v), " ", "")
}

func sanitize(s string) string {
	if len(s) > maxPeerName {
		s = s[:maxPeerName]
	}
	b := []byte(s)
	for i, ch := range b {
		if ch <= ' ' || ch > '~' {
			b[i] = '?'
		}
	}
	return string(b)
}
