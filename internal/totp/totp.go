// Package totp implements one-time passwords: HOTP (RFC 4226) and TOTP
// (RFC 6238) with SHA-1, SHA-256 or SHA-512, 6 or 8 digits. The admin
// console uses it for secondary authentication before a sensitive change
// (design rule 8).
//
// Validate accepts a code for the current time step and one step either
// side (RFC 6238 §5.2 "at most one time step" of network delay and clock
// drift) and compares in constant time. A code is a bearer token for as
// long as its step is accepted, so callers pair Validate with a
// ReplayGuard, which refuses a step at or before the last one accepted
// for the same key.
package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"time"
)

// Algorithm is the HMAC hash function of a one-time password.
type Algorithm int

// The hash functions RFC 6238 names. SHA1 is the zero value because it is
// the RFC 4226 default and the only one every authenticator app supports.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

// String returns the name used in otpauth URIs ("SHA1", "SHA256", "SHA512").
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

func (a Algorithm) new() func() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Limits and defaults.
const (
	// DefaultDigits is the code length apps use unless told otherwise.
	DefaultDigits = 6
	// DefaultPeriod is the RFC 6238 time step X.
	DefaultPeriod = 30 * time.Second
	// MaxPeriod bounds the time step: a longer step keeps a code valid
	// (and replayable elsewhere) for longer.
	MaxPeriod = 5 * time.Minute
	// Skew is how many steps either side of the current one Validate
	// accepts.
	Skew = 1
)

// Errors returned for options or secrets that cannot be used.
var (
	ErrAlgorithm = errors.New("totp: unknown hash algorithm")
	ErrDigits    = errors.New("totp: digits must be 6 or 8")
	ErrPeriod    = errors.New("totp: period must be a whole number of seconds between 1s and 5m")
	ErrTime      = errors.New("totp: time is before the Unix epoch")
	ErrSecret    = errors.New("totp: secret must be 16 to 64 bytes")
)

// Options selects the hash, code length and time step. The zero value is
// SHA-1, 6 digits, 30 seconds: what every authenticator app assumes.
type Options struct {
	// Algorithm is the HMAC hash.
	Algorithm Algorithm
	// Digits is 6 or 8; 0 means 6.
	Digits int
	// Period is the time step; 0 means 30 s.
	Period time.Duration
}

// DefaultOptions returns SHA-1, 6 digits, 30 seconds.
func DefaultOptions() Options {
	return Options{Algorithm: SHA1, Digits: DefaultDigits, Period: DefaultPeriod}
}

// normalize fills in defaults and checks every field.
func (o Options) normalize() (Options, error) {
	if o.Digits == 0 {
		o.Digits = DefaultDigits
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.Algorithm.new() == nil {
		return o, ErrAlgorithm
	}
	if o.Digits != 6 && o.Digits != 8 {
		return o, ErrDigits
	}
	if o.Period < time.Second || o.Period > MaxPeriod || o.Period%time.Second != 0 {
		return o, ErrPeriod
	}
	return o, nil
}

// checkSecret enforces RFC 4226 R6 (at least 128 bits) and a sane maximum.
func checkSecret(secret []byte) error {
	if len(secret) < MinSecretBytes || len(secret) > MaxSecretBytes {
		return ErrSecret
	}
	return nil
}

// Step returns the RFC 6238 time counter T = floor((t − T0) / X) for t.
func Step(t time.Time, opts Options) (int64, error) {
	o, err := opts.normalize()
	if err != nil {
		return 0, err
	}
	return step(t, o)
}

func step(t time.Time, o Options) (int64, error) {
	u := t.Unix()
	if u < 0 {
		return 0, ErrTime
	}
	return u / int64(o.Period/time.Second), nil
}

// HOTP returns the RFC 4226 code for counter, zero-padded to opts.Digits.
func HOTP(secret []byte, counter uint64, opts Options) (string, error) {
	o, err := opts.normalize()
	if err != nil {
		return "", err
	}
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	var buf [8]byte
	return string(hotp(buf[:0], secret, counter, o)), nil
}

// hotp appends the code for counter to dst. o must be normalized.
func hotp(dst, secret []byte, counter uint64, o Options) []byte {
	mac := hmac.New(o.Algorithm.new(), secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	// Dynamic truncation, RFC 4226 §5.3.
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1_000_000)
	if o.Digits == 8 {
		mod = 100_000_000
	}
	v := bin % mod
	start := len(dst)
	for range o.Digits {
		dst = append(dst, 0)
	}
	for i := len(dst) - 1; i >= start; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// Generate returns the TOTP code for the time step that contains t.
func Generate(secret []byte, t time.Time, opts Options) (string, error) {
	o, err := opts.normalize()
	if err != nil {
		return "", err
	}
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	s, err := step(t, o)
	if err != nil {
		return "", err
	}
	var buf [8]byte
	return string(hotp(buf[:0], secret, uint64(s), o)), nil
}

// Validate reports whether code is the TOTP code of secret for the step
// containing t or one step either side, and which step it matched. Every
// candidate is computed and compared in constant time, so the time taken
// does not depend on which step (if any) matched. Invalid options or
// secrets never validate. Validate does not prevent replay: see
// ReplayGuard.
func Validate(code string, secret []byte, t time.Time, opts Options) (step int64, ok bool) {
	return validateAfter(code, secret, t, opts, -1)
}

// validateAfter is Validate that ignores steps at or before after. When
// more than one candidate matches (a 1-in-10^digits coincidence) the
// latest step wins.
func validateAfter(code string, secret []byte, t time.Time, opts Options, after int64) (int64, bool) {
	o, err := opts.normalize()
	if err != nil || checkSecret(secret) != nil {
		return 0, false
	}
	// The length of a code is public; the digits are not.
	if len(code) != o.Digits {
		return 0, false
	}
	now, err := step(t, o)
	if err != nil {
		return 0, false
	}
	var buf [8]byte
	matched, found := int64(0), 0
	for s := now - Skew; s <= now+Skew; s++ {
		// Which steps are candidates is public (it depends on the time
		// and on steps already used); only the comparison is secret.
		if s < 0 || s <= after {
			continue
		}
		want := hotp(buf[:0], secret, uint64(s), o)
		eq := subtle.ConstantTimeCompare(want, []byte(code))
		matched = int64(subtle.ConstantTimeSelect(eq, int(s), int(matched)))
		found |= eq
	}
	return matched, found == 1
}
