package totp

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Secret sizes. RFC 4226 R6 requires at least 128 bits and recommends 160.
const (
	// MinSecretBytes is the shortest secret accepted (128 bits).
	MinSecretBytes = 16
	// MaxSecretBytes is the longest secret accepted (the SHA-512 block
	// is longer, but nothing gains from more than 512 bits).
	MaxSecretBytes = 64
	// NewSecretBytes is the size NewSecret draws (160 bits, as RFC 4226
	// recommends and authenticator apps expect).
	NewSecretBytes = 20
	// maxSecretText bounds the text ParseSecret looks at, spaces included.
	maxSecretText = 256
)

// ErrSecretText is returned by ParseSecret for text that is not a base32
// secret of an acceptable size. It never quotes the text.
var ErrSecretText = errors.New("totp: secret is not base32 (A–Z, 2–7) of 16 to 64 bytes")

// ErrLabel is returned by URI for an empty account or a colon in the
// issuer or account: the Key Uri Format uses the colon as separator.
var ErrLabel = errors.New("totp: account must be non-empty and neither issuer nor account may contain ':'")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ParseSecret decodes a base32 secret as authenticator apps show it:
// upper or lower case, with or without '=' padding, spaces allowed
// between groups. Non-canonical encodings (nonzero trailing bits) are
// refused so that a secret has exactly one spelling.
func ParseSecret(s string) ([]byte, error) {
	if len(s) > maxSecretText {
		return nil, ErrSecretText
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '2' && c <= '7', c == '=':
		default:
			return nil, ErrSecretText
		}
		buf = append(buf, c)
	}
	text := strings.TrimRight(string(buf), "=")
	if strings.Contains(text, "=") {
		return nil, ErrSecretText
	}
	secret, err := b32.DecodeString(text)
	if err != nil || checkSecret(secret) != nil || b32.EncodeToString(secret) != text {
		return nil, ErrSecretText
	}
	return secret, nil
}

// EncodeSecret returns secret in base32 without padding, upper case: the
// form for otpauth URIs and for typing into an app.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// NewSecret returns NewSecretBytes bytes from crypto/rand.
func NewSecret() []byte {
	b := make([]byte, NewSecretBytes)
	rand.Read(b) // never fails (Go 1.24+: it crashes the program instead)
	return b
}

// URI returns an otpauth://totp/ URI with the default options (SHA-1,
// 6 digits, 30 s) in the Key Uri Format understood by authenticator apps,
// typically shown as a QR code.
func URI(issuer, account string, secret []byte) (string, error) {
	return DefaultOptions().URI(issuer, account, secret)
}

// URI returns an otpauth://totp/ URI for these options. The label is
// "issuer:account" (just "account" without an issuer), each part
// percent-encoded as RFC 3986 requires (a space is %20, never '+'); the
// issuer is repeated in the issuer parameter; algorithm, digits and
// period are always written out.
func (o Options) URI(issuer, account string, secret []byte) (string, error) {
	o, err := o.normalize()
	if err != nil {
		return "", err
	}
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	if account == "" || strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return "", ErrLabel
	}
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=")
	b.WriteString(o.Algorithm.String())
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(o.Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.FormatInt(int64(o.Period.Seconds()), 10))
	return b.String(), nil
}

// escape percent-encodes everything but RFC 3986 unreserved characters,
// which is right both in the label and in a query value.
func escape(s string) string {
	// QueryEscape leaves only unreserved characters and turns ' ' into
	// '+' (a literal '+' becomes %2B), so the only '+' left are spaces.
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
