package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Bounds that ParseHash enforces before it allocates anything, so that a
// hostile configuration file cannot make a verification use unbounded
// memory or time.
const (
	// MaxMemoryKiB is the largest m accepted (1 GiB).
	MaxMemoryKiB = 1 << 20
	// MaxTime is the largest t (passes) accepted.
	MaxTime = 16
	// MaxThreads is the largest p (lanes) accepted.
	MaxThreads = 16
	// MinSaltLen and MaxSaltLen bound the salt, in bytes.
	MinSaltLen, MaxSaltLen = 8, 64
	// MinKeyLen and MaxKeyLen bound the derived key, in bytes.
	MinKeyLen, MaxKeyLen = 16, 64
	// Argon2Version is the only version accepted: 0x13 = 19.
	Argon2Version = argon2.Version
	// maxHashText bounds the PHC string ParseHash reads.
	maxHashText = 256
)

// Errors about hashes and parameters. None of them contains the password
// or the hash string.
var (
	ErrHashFormat = errors.New("auth: password hash is not $argon2id$v=19$m=…,t=…,p=…$salt$key")
	ErrHashParams = errors.New("auth: argon2id parameters out of bounds (m ≤ 1 GiB and ≥ 8·p KiB, 1 ≤ t ≤ 16, 1 ≤ p ≤ 16, salt 8–64 bytes, key 16–64 bytes)")
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory is in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen is the salt size in bytes for new hashes.
	SaltLen uint32
	// KeyLen is the derived key size in bytes.
	KeyLen uint32
}

// DefaultParams returns the first of OWASP's argon2id configurations
// (Password Storage Cheat Sheet): m = 19 MiB, t = 2, p = 1, with a 16-byte
// salt and a 32-byte key. It costs about 25 ms of one core on the
// development machine; with the Verifier's pool of NumCPU/2 workers it
// bounds argon2id memory at 19 MiB per worker. The 64 MiB variants (RFC
// 9106) cost 3× the memory for every concurrent AUTH of a new connection
// and are better kept for the console login.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// check reports whether p is within the bounds ParseHash enforces. The
// salt length is checked separately (parsed hashes carry their salt).
func (p Params) check() error {
	if p.Memory > MaxMemoryKiB || p.Memory < 8*uint32(p.Threads) ||
		p.Time < 1 || p.Time > MaxTime ||
		p.Threads < 1 || p.Threads > MaxThreads ||
		p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen {
		return ErrHashParams
	}
	return nil
}

// Hash is a parsed argon2id password hash.
type Hash struct {
	// Params are the cost parameters (SaltLen and KeyLen match Salt and Key).
	Params Params
	// Salt is the random salt.
	Salt []byte
	// Key is the derived key.
	Key []byte
	s   string
}

// HashPassword derives a new argon2id hash of password with a fresh random
// salt and returns it in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, both in unpadded standard
// base64.
func HashPassword(password []byte, p Params) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	if p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen {
		return "", ErrHashParams
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never fails (Go 1.24+: it crashes the program instead)
	key := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", Argon2Version,
		p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ParseHash parses a PHC argon2id string and checks every parameter
// against this package's bounds before anything is allocated from it.
// The string must be canonical: parameters m, t, p in that order without
// extras or leading zeros, base64 unpadded and canonical, nothing else.
func ParseHash(s string) (*Hash, error) {
	if len(s) > maxHashText {
		return nil, ErrHashFormat
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return nil, ErrHashFormat
	}
	if f[2] != "v="+strconv.Itoa(Argon2Version) {
		return nil, ErrHashParams
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return nil, ErrHashFormat
	}
	var vals [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(ps[i], name)
		if !ok || num == "" || (len(num) > 1 && num[0] == '0') {
			return nil, ErrHashFormat
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return nil, ErrHashParams
		}
		vals[i] = uint32(v)
	}
	if vals[2] > MaxThreads {
		return nil, ErrHashParams
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(f[4])
	if err != nil {
		return nil, ErrHashFormat
	}
	key, err := b64.DecodeString(f[5])
	if err != nil {
		return nil, ErrHashFormat
	}
	p := Params{Memory: vals[0], Time: vals[1], Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.check(); err != nil || len(salt) < MinSaltLen || len(salt) > MaxSaltLen {
		return nil, ErrHashParams
	}
	h := &Hash{Params: p, Salt: salt, Key: key, s: encode(p, salt, key)}
	if h.s != s { // e.g. line breaks, which the base64 decoder skips
		return nil, ErrHashFormat
	}
	return h, nil
}

// String returns the hash in canonical PHC string format.
func (h *Hash) String() string { return h.s }

// Verify reports whether pw derives h's key, comparing in constant time.
// It costs one full argon2id derivation: callers on the AUTH path go
// through a Verifier instead.
func (h *Hash) Verify(pw []byte) bool {
	key := argon2.IDKey(pw, h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, uint32(len(h.Key)))
	return subtle.ConstantTimeCompare(key, h.Key) == 1
}

// Policy is the strength a password must have when it is set. It is not
// applied to AUTH attempts.
type Policy struct {
	// MinLength is the minimum length in characters (UTF-8 code points;
	// each byte of invalid UTF-8 counts as one).
	MinLength int
	// MinClasses is how many of the four classes — lower-case ASCII
	// letters, upper-case ASCII letters, ASCII digits, anything else —
	// must each appear at least once.
	MinClasses int
}

// MaxPasswordLen is the longest password, in bytes, Policy.Check accepts.
const MaxPasswordLen = 1024

// DefaultPolicy returns 12 characters and 3 of the 4 classes.
func DefaultPolicy() Policy { return Policy{MinLength: 12, MinClasses: 3} }

// ErrWeakPassword is wrapped by every error Policy.Check returns.
var ErrWeakPassword = errors.New("auth: password too weak")

// Check returns nil if pw satisfies the policy, or an error wrapping
// ErrWeakPassword that says what is missing. The message never contains
// the password or its length.
func (p Policy) Check(pw []byte) error {
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("%w: at most %d bytes allowed", ErrWeakPassword, MaxPasswordLen)
	}
	var problems []string
	if utf8.RuneCount(pw) < p.MinLength {
		problems = append(problems, fmt.Sprintf("use at least %d characters", p.MinLength))
	}
	var lower, upper, digit, other int
	for _, c := range pw {
		switch {
		case c >= 'a' && c <= 'z':
			lower = 1
		case c >= 'A' && c <= 'Z':
			upper = 1
		case c >= '0' && c <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	if have := lower + upper + digit + other; have < p.MinClasses {
		var missing []string
		for _, c := range []struct {
			have int
			name string
		}{{lower, "lower-case letters"}, {upper, "upper-case letters"}, {digit, "digits"}, {other, "symbols"}} {
			if c.have == 0 {
				missing = append(missing, c.name)
			}
		}
		problems = append(problems, fmt.Sprintf("mix at least %d of lower-case letters, upper-case letters, digits and symbols (add %s)",
			p.MinClasses, strings.Join(missing, " or ")))
	}
	if problems == nil {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrWeakPassword, strings.Join(problems, "; "))
}

// The alphabet Generate draws from: letters and digits without look-alikes
// (0 O 1 l I) and symbols that need no quoting in a shell, in redis-cli,
// in an ACL rule or in the userinfo of a redis:// URL.
const (
	genLower   = "abcdefghijkmnopqrstuvwxyz"
	genUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genDigits  = "23456789"
	genSymbols = "-_.+=,"
	genAll     = genLower + genUpper + genDigits + genSymbols
)

// MinGenerateLen is the shortest password Generate makes.
const MinGenerateLen = 12

// Generate returns a random password of n characters (MinGenerateLen ≤ n
// ≤ MaxPasswordLen) with at least one character from each of the four
// classes, each character drawn uniformly from a 63-character alphabet
// (almost 6 bits each).
func Generate(n int) (string, error) {
	if n < MinGenerateLen || n > MaxPasswordLen {
		return "", fmt.Errorf("auth: generated passwords are %d to %d characters", MinGenerateLen, MaxPasswordLen)
	}
	const limit = 256 - 256%len(genAll) // reject bytes ≥ limit: no modulo bias
	out := make([]byte, n)
	var raw [64]byte
	for {
		i := 0
		for i < n {
			rand.Read(raw[:]) // never fails (Go 1.24+)
			for _, b := range raw {
				if int(b) < limit && i < n {
					out[i] = genAll[int(b)%len(genAll)]
					i++
				}
			}
		}
		if (Policy{MinLength: n, MinClasses: 4}).Check(out) == nil {
			return string(out), nil
		}
	}
}
