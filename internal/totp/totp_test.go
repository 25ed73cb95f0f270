package totp

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Seeds of RFC 6238 appendix B: the ASCII digits repeated to the hash size.
var (
	seed20 = []byte("12345678901234567890")
	seed32 = []byte("12345678901234567890123456789012")
	seed64 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

func TestHOTPRFC4226(t *testing.T) {
	// RFC 4226 appendix D.
	want := []string{"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		t.Run(fmt.Sprint("count=", i), func(t *testing.T) {
			got, err := HOTP(seed20, uint64(i), Options{})
			if err != nil || got != w {
				t.Fatalf("HOTP(%d) = %q, %v; want %q", i, got, err, w)
			}
		})
	}
}

func TestTOTPRFC6238(t *testing.T) {
	// RFC 6238 appendix B, 8 digits, 30 s step.
	for _, tc := range []struct {
		unix int64
		algo Algorithm
		want string
	}{
		{59, SHA1, "94287082"}, {59, SHA256, "46119246"}, {59, SHA512, "90693936"},
		{1111111109, SHA1, "07081804"}, {1111111109, SHA256, "68084774"}, {1111111109, SHA512, "25091201"},
		{1111111111, SHA1, "14050471"}, {1111111111, SHA256, "67062674"}, {1111111111, SHA512, "99943326"},
		{1234567890, SHA1, "89005924"}, {1234567890, SHA256, "91819424"}, {1234567890, SHA512, "93441116"},
		{2000000000, SHA1, "69279037"}, {2000000000, SHA256, "90698825"}, {2000000000, SHA512, "38618901"},
		{20000000000, SHA1, "65353130"}, {20000000000, SHA256, "77737706"}, {20000000000, SHA512, "47863826"},
	} {
		t.Run(fmt.Sprint(tc.algo, "/", tc.unix), func(t *testing.T) {
			secret := map[Algorithm][]byte{SHA1: seed20, SHA256: seed32, SHA512: seed64}[tc.algo]
			opts := Options{Algorithm: tc.algo, Digits: 8, Period: 30 * time.Second}
			at := time.Unix(tc.unix, 0)
			got, err := Generate(secret, at, opts)
			if err != nil || got != tc.want {
				t.Fatalf("Generate = %q, %v; want %q", got, err, tc.want)
			}
			step, ok := Validate(tc.want, secret, at, opts)
			if !ok || step != tc.unix/30 {
				t.Fatalf("Validate = %d, %v; want %d, true", step, ok, tc.unix/30)
			}
		})
	}
}

func TestValidateSkew(t *testing.T) {
	secret := seed20
	base := time.Unix(1_700_000_010, 0) // inside step 56666667
	now := base.Unix() / 30
	code := func(step int64) string {
		c, err := HOTP(secret, uint64(step), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		code string
		want bool
	}{
		{"current", code(now), true},
		{"previous", code(now - 1), true},
		{"next", code(now + 1), true},
		{"two behind", code(now - 2), false},
		{"two ahead", code(now + 2), false},
		{"too short", code(now)[:5], false},
		{"too long", code(now) + "0", false},
		{"empty", "", false},
		{"letters", "abcdef", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := Validate(tc.code, secret, base, Options{})
			if ok != tc.want {
				t.Fatalf("Validate(%q) = %v, want %v", tc.code, ok, tc.want)
			}
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		secret []byte
		at     time.Time
		want   error
	}{
		{"digits 7", Options{Digits: 7}, seed20, time.Unix(0, 0), ErrDigits},
		{"algorithm", Options{Algorithm: 9}, seed20, time.Unix(0, 0), ErrAlgorithm},
		{"period fraction", Options{Period: 1500 * time.Millisecond}, seed20, time.Unix(0, 0), ErrPeriod},
		{"period long", Options{Period: time.Hour}, seed20, time.Unix(0, 0), ErrPeriod},
		{"period negative", Options{Period: -time.Second}, seed20, time.Unix(0, 0), ErrPeriod},
		{"short secret", Options{}, seed20[:15], time.Unix(0, 0), ErrSecret},
		{"long secret", Options{}, append(seed64, 1), time.Unix(0, 0), ErrSecret},
		{"before epoch", Options{}, seed20, time.Unix(-1, 0), ErrTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate(tc.secret, tc.at, tc.opts); !errors.Is(err, tc.want) {
				t.Fatalf("Generate error = %v, want %v", err, tc.want)
			}
			if _, ok := Validate("000000", tc.secret, tc.at, tc.opts); ok {
				t.Fatal("Validate accepted with bad options")
			}
		})
	}
}

func TestValidateNearEpoch(t *testing.T) {
	// Step 0 has no previous step; step -1 must not be computed.
	c, _ := HOTP(seed20, 0, Options{})
	if s, ok := Validate(c, seed20, time.Unix(5, 0), Options{}); !ok || s != 0 {
		t.Fatalf("Validate at epoch = %d, %v", s, ok)
	}
}

func TestReplayGuard(t *testing.T) {
	secret := seed20
	t0 := time.Unix(1_700_000_010, 0)
	now := t0.Unix() / 30
	code := func(step int64) string { c, _ := HOTP(secret, uint64(step), Options{}); return c }

	g := NewReplayGuard()
	steps := []struct {
		name string
		key  string
		code string
		at   time.Time
		want bool
	}{
		{"first use", "alice", code(now), t0, true},
		{"replay same", "alice", code(now), t0, false},
		{"replay later in window", "alice", code(now), t0.Add(30 * time.Second), false},
		{"earlier step after later", "alice", code(now - 1), t0, false},
		{"other key same code", "bob", code(now), t0, true},
		{"next step", "alice", code(now + 1), t0, true},
		{"next step again", "alice", code(now + 1), t0.Add(30 * time.Second), false},
		{"wrong code", "carol", "000000", t0, code(now) == "000000"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if got := g.Validate(st.key, st.code, secret, st.at, Options{}); got != st.want {
				t.Fatalf("Validate = %v, want %v", got, st.want)
			}
		})
	}
	t.Run("forget", func(t *testing.T) {
		g.Forget("alice")
		if !g.Validate("alice", code(now), secret, t0, Options{}) {
			t.Fatal("code refused after Forget")
		}
	})
	t.Run("accept", func(t *testing.T) {
		g := NewReplayGuard()
		for i, want := range []bool{true, false, true} {
			if got := g.Accept("k", []int64{5, 5, 6}[i]); got != want {
				t.Fatalf("Accept #%d = %v, want %v", i, got, want)
			}
		}
	})
}

func TestReplayGuardConcurrent(t *testing.T) {
	t0 := time.Unix(1_700_000_010, 0)
	c, _ := Generate(seed20, t0, Options{})
	g := NewReplayGuard()
	var wg sync.WaitGroup
	results := make(chan bool, 16)
	for range 16 {
		wg.Go(func() { results <- g.Validate("alice", c, seed20, t0, Options{}) })
	}
	wg.Wait()
	close(results)
	n := 0
	for ok := range results {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent uses accepted, want 1", n)
	}
}

func TestReplayGuardPrunes(t *testing.T) {
	g := NewReplayGuard()
	for i := range 5000 {
		g.Accept(fmt.Sprint("old", i), 100)
	}
	// Much later: every old entry is stale and goes at the next prune.
	// The table prunes when it reaches 8,192 entries (it doubles from
	// 1,024 while nothing is stale).
	const fresh = 3500
	for i := range fresh {
		g.Accept(fmt.Sprint("new", i), 1000)
	}
	if n := g.Len(); n != fresh {
		t.Fatalf("guard holds %d keys after pruning, want %d", n, fresh)
	}
	for i := range fresh {
		if g.Accept(fmt.Sprint("new", i), 1000) {
			t.Fatalf("pruning dropped live entry new%d", i)
		}
	}
}

func TestParseSecret(t *testing.T) {
	want := seed20
	enc := EncodeSecret(want) // GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"upper", enc, true},
		{"lower", strings.ToLower(enc), true},
		{"grouped", "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", true},
		{"padded 16 bytes", EncodeSecret(want[:16]) + "======", true},
		{"unpadded 16 bytes", EncodeSecret(want[:16]), true},
		{"digit 1", strings.Replace(enc, "G", "1", 1), false},
		{"digit 8", strings.Replace(enc, "G", "8", 1), false},
		{"newline", enc + "\n", false},
		{"inner padding", enc[:8] + "=" + enc[8:], false},
		{"too short", EncodeSecret(want[:10]), false},
		{"too long", EncodeSecret(bytes.Repeat(want, 4)), false},
		{"bad length", enc + "A", false},
		{"non-canonical tail", EncodeSecret(want[:16])[:25] + "7", false},
		{"empty", "", false},
		{"huge", strings.Repeat("A", 10000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSecret(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseSecret(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil {
				if strings.Contains(err.Error(), tc.in) && tc.in != "" {
					t.Fatal("error quotes the secret")
				}
				return
			}
			if !bytes.HasPrefix(want, got) {
				t.Fatalf("ParseSecret = %x", got)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if len(a) != NewSecretBytes || bytes.Equal(a, b) {
		t.Fatalf("NewSecret: %x %x", a, b)
	}
	back, err := ParseSecret(EncodeSecret(a))
	if err != nil || !bytes.Equal(back, a) {
		t.Fatalf("round trip: %x, %v", back, err)
	}
}

func TestURI(t *testing.T) {
	for _, tc := range []struct {
		name            string
		opts            Options
		issuer, account string
		want            string
		err             error
	}{
		{"plain", DefaultOptions(), "Redoubt", "alice",
			"otpauth://totp/Redoubt:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Redoubt&algorithm=SHA1&digits=6&period=30", nil},
		{"escaped", Options{Algorithm: SHA256, Digits: 8}, "ACME Co & Sons", "a+b@example.com/x?y#z",
			"otpauth://totp/ACME%20Co%20%26%20Sons:a%2Bb%40example.com%2Fx%3Fy%23z?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co%20%26%20Sons&algorithm=SHA256&digits=8&period=30", nil},
		{"unicode", DefaultOptions(), "Rédoubt", "ünïcode",
			"otpauth://totp/R%C3%A9doubt:%C3%BCn%C3%AFcode?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=R%C3%A9doubt&algorithm=SHA1&digits=6&period=30", nil},
		{"no issuer", DefaultOptions(), "", "alice",
			"otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30", nil},
		{"colon in issuer", DefaultOptions(), "a:b", "alice", "", ErrLabel},
		{"colon in account", DefaultOptions(), "Redoubt", "a:b", "", ErrLabel},
		{"empty account", DefaultOptions(), "Redoubt", "", "", ErrLabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.URI(tc.issuer, tc.account, seed20)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("URI = %q, %v\nwant  %q, %v", got, err, tc.want, tc.err)
			}
			if err != nil {
				return
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			label := strings.TrimPrefix(u.Path, "/")
			wantLabel := tc.account
			if tc.issuer != "" {
				wantLabel = tc.issuer + ":" + tc.account
			}
			if u.Scheme != "otpauth" || u.Host != "totp" || label != wantLabel || u.Query().Get("issuer") != tc.issuer {
				t.Fatalf("parsed back: scheme %q host %q label %q issuer %q", u.Scheme, u.Host, label, u.Query().Get("issuer"))
			}
		})
	}
	if got, err := URI("Redoubt", "alice", seed20); err != nil || !strings.HasPrefix(got, "otpauth://totp/Redoubt:alice?") {
		t.Fatalf("URI = %q, %v", got, err)
	}
}

func BenchmarkValidate(b *testing.B) {
	t0 := time.Unix(1_700_000_010, 0)
	c, _ := Generate(seed20, t0, Options{})
	b.ReportAllocs()
	for b.Loop() {
		Validate(c, seed20, t0, Options{})
	}
}
