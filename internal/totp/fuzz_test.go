package totp

import (
	"strings"
	"testing"
	"time"
)

// FuzzValidate checks that no input panics Validate and that whatever it
// accepts is the code Generate gives for the step it reports.
func FuzzValidate(f *testing.F) {
	f.Add("94287082", []byte("12345678901234567890"), int64(59), uint8(8), uint8(0))
	f.Add("755224", []byte("12345678901234567890"), int64(0), uint8(6), uint8(1))
	f.Add("", []byte{}, int64(-1), uint8(7), uint8(3))
	f.Fuzz(func(t *testing.T, code string, secret []byte, unix int64, digits, algo uint8) {
		opts := Options{Algorithm: Algorithm(algo % 4), Digits: int(digits % 10)}
		at := time.Unix(unix, 0)
		step, ok := Validate(code, secret, at, opts)
		if !ok {
			return
		}
		want, err := HOTP(secret, uint64(step), opts)
		if err != nil || want != code {
			t.Fatalf("accepted %q for step %d, but HOTP gives %q, %v", code, step, want, err)
		}
		if now := unix / 30; step < now-Skew || step > now+Skew {
			t.Fatalf("accepted step %d outside window of %d", step, now)
		}
	})
}

// FuzzParseSecret checks that ParseSecret never panics and that what it
// accepts is within bounds and re-encodes to the input's normalized form.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====", "", "=", "A", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secret, err := ParseSecret(s)
		if err != nil {
			return
		}
		if len(secret) < MinSecretBytes || len(secret) > MaxSecretBytes {
			t.Fatalf("accepted %d-byte secret", len(secret))
		}
		norm := strings.TrimRight(strings.ToUpper(strings.ReplaceAll(s, " ", "")), "=")
		if got := EncodeSecret(secret); got != norm {
			t.Fatalf("ParseSecret(%q) re-encodes as %q", s, got)
		}
	})
}
