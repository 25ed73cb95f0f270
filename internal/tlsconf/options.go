// Package tlsconf is the TLS side of an instance's listeners: it validates
// the TLS options, loads the certificate, key and client CA, builds a
// hardened *tls.Config, and picks up a rotated certificate or CA from disk
// without a restart, keeping the working certificate when a new one is
// broken.
package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultCheckInterval is how often, at most, a handshake stats the
// certificate, key and CA files to see whether they changed.
const DefaultCheckInterval = time.Second

// maxFileSize bounds a certificate, key or CA file; anything larger is
// refused before it is read into memory.
const maxFileSize = 1 << 20

// Client authentication modes accepted in Options.ClientAuth.
const (
	ClientAuthNone     = "none"     // no client certificate is requested
	ClientAuthOptional = "optional" // a client certificate is verified if given
	ClientAuthRequire  = "require"  // a verified client certificate is required
)

// Sentinel errors returned (wrapped) by Options.Validate.
var (
	ErrNoCert            = errors.New("cert file is required")
	ErrNoKey             = errors.New("key file is required")
	ErrUnknownClientAuth = errors.New("unknown client auth")
	ErrCARequired        = errors.New("ca file is required")
	ErrCAUnused          = errors.New("ca file is set but client auth is none")
	ErrVersionTooLow     = errors.New("min version below 1.2 is refused")
	ErrUnknownVersion    = errors.New("unknown min version")
	ErrCheckInterval     = errors.New("check interval must not be negative")
)

// Options are the TLS settings of one instance.
type Options struct {
	CertFile string // PEM certificate (chain), leaf first
	KeyFile  string // PEM private key for CertFile
	CAFile   string // PEM CA certificates that sign client certificates

	// ClientAuth is "none" (the default when empty), "optional" or
	// "require". "optional" and "require" need CAFile.
	ClientAuth string

	// MinVersion is "1.2" (the default when empty) or "1.3"; "TLSv1.2" and
	// "TLSv1.3" are accepted too. Older versions are refused.
	MinVersion string

	// CheckInterval is the least time between two checks of the files for
	// changes; 0 means DefaultCheckInterval.
	CheckInterval time.Duration
}

// ValidationError lists every problem Options.Validate found. It prints
// them on one line separated by "; ", and errors.Is matches each of them.
type ValidationError []error

// Error joins the problems with "; ".
func (v ValidationError) Error() string {
	s := make([]string, len(v))
	for i, err := range v {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (v ValidationError) Unwrap() []error { return v }

// Validate checks the options without touching the files and returns a
// ValidationError with every problem, or nil.
func (o Options) Validate() error {
	var errs ValidationError
	switch {
	case o.CertFile == "" && o.KeyFile == "":
		errs = append(errs, fmt.Errorf("%w (and a key file)", ErrNoCert))
	case o.CertFile == "":
		errs = append(errs, fmt.Errorf("%w with key file %q", ErrNoCert, o.KeyFile))
	case o.KeyFile == "":
		errs = append(errs, fmt.Errorf("%w with cert file %q", ErrNoKey, o.CertFile))
	}
	auth, err := clientAuthType(o.ClientAuth)
	switch {
	case err != nil:
		errs = append(errs, err)
	case auth != tls.NoClientCert && o.CAFile == "":
		errs = append(errs, fmt.Errorf("%w when client auth is %s", ErrCARequired, o.ClientAuth))
	case auth == tls.NoClientCert && o.CAFile != "":
		errs = append(errs, fmt.Errorf("%w: set client auth to optional or require, or remove the ca file", ErrCAUnused))
	}
	if _, err := minVersion(o.MinVersion); err != nil {
		errs = append(errs, err)
	}
	if o.CheckInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: %v", ErrCheckInterval, o.CheckInterval))
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// clientAuthType maps Options.ClientAuth to crypto/tls.
func clientAuthType(s string) (tls.ClientAuthType, error) {
	switch s {
	case "", ClientAuthNone:
		return tls.NoClientCert, nil
	case ClientAuthOptional:
		return tls.VerifyClientCertIfGiven, nil
	case ClientAuthRequire:
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("%w %q (want none, optional or require)", ErrUnknownClientAuth, s)
}

// minVersion maps Options.MinVersion to crypto/tls.
func minVersion(s string) (uint16, error) {
	v := strings.TrimPrefix(strings.TrimPrefix(s, "TLSv"), "tlsv")
	switch v {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	case "1", "1.0", "1.1":
		return 0, fmt.Errorf("%w: %q (want 1.2 or 1.3)", ErrVersionTooLow, s)
	}
	return 0, fmt.Errorf("%w %q (want 1.2 or 1.3)", ErrUnknownVersion, s)
}

// cipherSuites are the only suites offered for TLS 1.2: ECDHE key exchange
// with an AEAD. TLS 1.3 suites are not configurable and are all AEAD.
func cipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}
