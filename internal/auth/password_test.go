package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// cheap are parameters that make tests fast; never use them for real.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
	}{
		{"cheap", cheap},
		{"two lanes", Params{Memory: 256, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}},
		{"max salt and key", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 64, KeyLen: 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw := []byte("correct horse battery staple")
			s, err := HashPassword(pw, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			prefix := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", tc.p.Memory, tc.p.Time, tc.p.Threads)
			if !strings.HasPrefix(s, prefix) {
				t.Fatalf("hash %q lacks prefix %q", s, prefix)
			}
			h, err := ParseHash(s)
			if err != nil {
				t.Fatal(err)
			}
			if h.String() != s || h.Params != tc.p {
				t.Fatalf("parsed %+v / %q", h.Params, h.String())
			}
			if !h.Verify(pw) {
				t.Fatal("right password refused")
			}
			for _, wrong := range []string{"", "correct horse battery stapl", "correct horse battery staple "} {
				if h.Verify([]byte(wrong)) {
					t.Fatalf("wrong password %q accepted", wrong)
				}
			}
			s2, _ := HashPassword(pw, tc.p)
			if s2 == s {
				t.Fatal("two hashes of one password share a salt")
			}
		})
	}
}

func TestHashKnownVector(t *testing.T) {
	// Vectors of golang.org/x/crypto/argon2's tests (password "password",
	// salt "somesalt"), in PHC form.
	for _, s := range []string{
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7",
		"$argon2id$v=19$m=4096,t=4,p=4$c29tZXNhbHQ$FF25czqfTuQ+3zPFCb6WuTTVBaTvszxa",
	} {
		t.Run(s, func(t *testing.T) {
			h, err := ParseHash(s)
			if err != nil {
				t.Fatal(err)
			}
			if !h.Verify([]byte("password")) || h.Verify([]byte("Password")) {
				t.Fatal("vector does not verify")
			}
		})
	}
}

func TestParseHashBounds(t *testing.T) {
	salt16 := "c29tZXNhbHRzb21lc2FsdA"                     // 16 bytes
	key32 := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 bytes
	mk := func(v, params, salt, key string) string {
		return "$argon2id$" + v + "$" + params + "$" + salt + "$" + key
	}
	for _, tc := range []struct {
		name string
		in   string
		want error // nil: accepted
	}{
		{"ok", mk("v=19", "m=65536,t=3,p=1", salt16, key32), nil},
		{"ok max", mk("v=19", "m=1048576,t=16,p=16", salt16, key32), nil},
		{"memory over 1 GiB", mk("v=19", "m=1048577,t=1,p=1", salt16, key32), ErrHashParams},
		{"memory overflows uint32", mk("v=19", "m=99999999999,t=1,p=1", salt16, key32), ErrHashParams},
		{"memory below 8p", mk("v=19", "m=31,t=1,p=4", salt16, key32), ErrHashParams},
		{"time 0", mk("v=19", "m=64,t=0,p=1", salt16, key32), ErrHashParams},
		{"time 17", mk("v=19", "m=64,t=17,p=1", salt16, key32), ErrHashParams},
		{"threads 0", mk("v=19", "m=64,t=1,p=0", salt16, key32), ErrHashParams},
		{"threads 17", mk("v=19", "m=1024,t=1,p=17", salt16, key32), ErrHashParams},
		{"threads 256 wraps", mk("v=19", "m=1024,t=1,p=257", salt16, key32), ErrHashParams},
		{"version 16", mk("v=16", "m=64,t=1,p=1", salt16, key32), ErrHashParams},
		{"salt 7 bytes", mk("v=19", "m=64,t=1,p=1", "c29tZXNhbA", key32), ErrHashParams},
		{"salt 65 bytes", mk("v=19", "m=64,t=1,p=1", strings.Repeat("A", 87), key32), ErrHashParams},
		{"key 15 bytes", mk("v=19", "m=64,t=1,p=1", salt16, "AAAAAAAAAAAAAAAAAAAA"), ErrHashParams},
		{"key 65 bytes", mk("v=19", "m=64,t=1,p=1", salt16, strings.Repeat("A", 87)), ErrHashParams},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32, ErrHashFormat},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", ErrHashFormat},
		{"params reordered", mk("v=19", "t=1,m=64,p=1", salt16, key32), ErrHashFormat},
		{"extra param", mk("v=19", "m=64,t=1,p=1,keyid=x", salt16, key32), ErrHashFormat},
		{"leading zero", mk("v=19", "m=064,t=1,p=1", salt16, key32), ErrHashFormat},
		{"plus sign", mk("v=19", "m=+64,t=1,p=1", salt16, key32), ErrHashParams},
		{"padded base64", mk("v=19", "m=64,t=1,p=1", salt16+"==", key32), ErrHashFormat},
		{"url base64", mk("v=19", "m=64,t=1,p=1", salt16, strings.Repeat("_", 43)), ErrHashFormat},
		{"non-canonical base64", mk("v=19", "m=64,t=1,p=1", "c29tZXNhbHRzb21lc2FsdB", key32), ErrHashFormat},
		{"missing field", "$argon2id$v=19$m=64,t=1,p=1$" + salt16, ErrHashFormat},
		{"trailing field", mk("v=19", "m=64,t=1,p=1", salt16, key32) + "$", ErrHashFormat},
		{"empty", "", ErrHashFormat},
		{"huge", strings.Repeat("$", 100000), ErrHashFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHash(tc.in)
			if !errors.Is(err, tc.want) || (err == nil) != (h != nil) {
				t.Fatalf("ParseHash = %v, %v; want error %v", h, err, tc.want)
			}
		})
	}
}

func TestHashPasswordRejectsBadParams(t *testing.T) {
	for _, p := range []Params{
		{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			if _, err := HashPassword([]byte("x"), p); !errors.Is(err, ErrHashParams) {
				t.Fatalf("error = %v", err)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       Policy
		pw      string
		ok      bool
		mention string
	}{
		{"good", DefaultPolicy(), "Tr0ub4dor&333", true, ""},
		{"three classes", DefaultPolicy(), "tr0ub4dor&33", true, ""},
		{"exactly 12", DefaultPolicy(), "abcdefghiJK1", true, ""},
		{"11 chars", DefaultPolicy(), "abcdefghJK1", false, "at least 12 characters"},
		{"two classes", DefaultPolicy(), "abcdefghijk12", false, "upper-case letters or symbols"},
		{"one class", DefaultPolicy(), "abcdefghijklmnop", false, "add upper-case letters or digits or symbols"},
		{"both problems", DefaultPolicy(), "abc", false, "; mix"},
		{"unicode counts characters", DefaultPolicy(), "ééééééééAb1", false, "at least 12"},
		{"unicode is other class", DefaultPolicy(), "éééééééééAb1", true, ""},
		{"too long", DefaultPolicy(), strings.Repeat("aB1!", 300), false, "at most 1024 bytes"},
		{"zero policy", Policy{}, "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check([]byte(tc.pw))
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q: want ErrWeakPassword mentioning %q", err, tc.mention)
			}
			if tc.pw != "" && strings.Contains(err.Error(), tc.pw) {
				t.Fatal("error echoes the password")
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	for _, n := range []int{MinGenerateLen, 16, 32, MaxPasswordLen} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			seen := make(map[string]bool)
			for range 50 {
				pw, err := Generate(n)
				if err != nil {
					t.Fatal(err)
				}
				if len(pw) != n || seen[pw] {
					t.Fatalf("Generate(%d) = %d chars, duplicate=%v", n, len(pw), seen[pw])
				}
				seen[pw] = true
				if err := (Policy{MinLength: n, MinClasses: 4}).Check([]byte(pw)); err != nil {
					t.Fatal(err)
				}
				if strings.Trim(pw, genAll) != "" {
					t.Fatal("character outside the alphabet")
				}
			}
		})
	}
	for _, n := range []int{-1, 0, MinGenerateLen - 1, MaxPasswordLen + 1} {
		if _, err := Generate(n); err == nil {
			t.Errorf("Generate(%d) succeeded", n)
		}
	}
}

// FuzzParseHash checks that no string panics ParseHash, that whatever it
// accepts is within bounds, and that it re-encodes canonically.
func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$argon2id$v=19$m=64,t=1,p=0$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		p := h.Params
		if p.Memory > MaxMemoryKiB || p.Time > MaxTime || p.Threads > MaxThreads || p.Threads == 0 ||
			len(h.Salt) < MinSaltLen || len(h.Salt) > MaxSaltLen || len(h.Key) < MinKeyLen || len(h.Key) > MaxKeyLen {
			t.Fatalf("accepted out-of-bounds %+v", p)
		}
		if h.String() != s {
			t.Fatalf("ParseHash(%q) re-encodes as %q", s, h.String())
		}
	})
}

// BenchmarkHashDefault measures one derivation at DefaultParams: the cost
// of the first AUTH of an account and of every CheckUnknown.
func BenchmarkHashDefault(b *testing.B) {
	h, err := ParseHash(mustHash(b, []byte("benchmark password"), DefaultParams()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Verify([]byte("benchmark password"))
	}
}

func mustHash(tb testing.TB, pw []byte, p Params) string {
	tb.Helper()
	s, err := HashPassword(pw, p)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
