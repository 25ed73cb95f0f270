package glob

import (
	"context"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		nocase     bool
		want       bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, false}, // as in Redis: only KEYS and SCAN special-case a lone "*"
		{"*", "anything", false, true},
		{"**", "", false, false},
		{"a**", "a", false, true},
		{"a*", "abc", false, true},
		{"a*", "bac", false, false},
		{"*c", "abc", false, true},
		{"a*c", "ac", false, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
		{"h?llo", "hello", false, true},
		{"h?llo", "hllo", false, false},
		{"?", "", false, false},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[b-a]llo", "hallo", false, true}, // reversed range
		{"h[a-b]llo", "hcllo", false, false},
		{"[a-]", "-", false, false}, // a range from 'a' to ']', unclosed
		{"[a-]", "_", false, true},
		{"[]", "]", false, false},
		{"[]]", "]", false, false},
		{"[\\]]", "]", false, true},
		{"[abc", "b", false, true}, // unclosed class runs to the end
		{"[abc", "bx", false, false},
		{"[", "x", false, false},
		{"[^", "x", false, true},
		{"\\*", "*", false, true},
		{"\\*", "a", false, false},
		{"\\", "\\", false, true},
		{"a\\", "a\\", false, true},
		{"\\?x", "?x", false, true},
		{"HELLO", "hello", false, false},
		{"HELLO", "hello", true, true},
		{"[A-Z]", "q", true, true},
		{"[A-Z]", "q", false, false},
		{"[\\A]", "a", true, false}, // escaped bytes compare exactly
		{"*\\|*", "config|get", false, true},
		{"[\x80-\xff]", "a", false, false}, // C compares signed chars: 'a' > -1
		{"[\x80-\xff]", "\x90", false, true},
		{"a*", "a", false, true},
		{"a**", "a", false, true},
		{"*a", "", false, false},
	} {
		if got := MatchString(tc.pattern, tc.s, tc.nocase); got != tc.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.nocase, got, tc.want)
		}
	}
}

func TestMatchNesting(t *testing.T) {
	s := strings.Repeat("a", 1100)
	if !MatchString(strings.Repeat("*a", MaxNesting), s, false) {
		t.Errorf("%d star groups should still match", MaxNesting)
	}
	if MatchString(strings.Repeat("*a", MaxNesting+1), s, false) {
		t.Errorf("%d star groups should match nothing", MaxNesting+1)
	}
	if !MatchString(strings.Repeat("*", 100000)+"a", "ba", false) {
		t.Error("adjacent stars count as one group")
	}
}

// TestMatchPathological: patterns that take exponential time in a naive
// matcher finish at once.
func TestMatchPathological(t *testing.T) {
	start := time.Now()
	s := strings.Repeat("a", 10000)
	for _, p := range []string{
		strings.Repeat("a*", 500) + "b",
		strings.Repeat("*a", 900) + "*b",
		strings.Repeat("*?", 900) + "b",
		strings.Repeat("*[a-z]", 900) + "[0-9]",
	} {
		if MatchString(p, s, false) {
			t.Errorf("%.20q… matched", p)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("pathological patterns took %v", d)
	}
}

// TestMatchAgainstRedis compares Match with KEYS on a real redis-server for
// random patterns over a small alphabet.
func TestMatchAgainstRedis(t *testing.T) {
	r := testutil.StartRedis(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	keys := []string{"", "a", "b", "ab", "ba", "abc", "aXc", "a-c", "A", "AB", "]", "[", "^", "\\", "*",
		"?", "a*c", "a?c", "hello", "hallo", "h]llo", "aaaa", "abab", "x\xffy", "\x80", "a\\b", "-", "z"}
	for _, k := range keys {
		if err := c.Set(ctx, "k:"+k, 1, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	alphabet := []string{"a", "b", "c", "A", "*", "?", "[", "]", "^", "-", "\\", "x", "\xff", "\x80"}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 3000; i++ {
		var p strings.Builder
		for j := rng.Intn(7); j >= 0; j-- {
			p.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		pattern := "k:" + p.String()
		want, err := c.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range keys {
			if MatchString(pattern, "k:"+k, false) {
				got = append(got, "k:"+k)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("pattern %q: got %q, Redis %q", pattern, got, want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "x"}, {"a*b?c", "aXbYc"}, {"[a-z]*", "q"}, {"[^", "x"}, {"\\", "\\"},
		{strings.Repeat("*a", 50) + "b", strings.Repeat("a", 200)},
	} {
		f.Add([]byte(s[0]), []byte(s[1]), false)
	}
	f.Fuzz(func(t *testing.T, pattern, s []byte, nocase bool) {
		start := time.Now()
		m := Match(pattern, s, nocase)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Match(%q, %q) took %v", pattern, s, d)
		}
		if len(pattern) == 1 && pattern[0] == '*' && len(s) > 0 && !m {
			t.Fatal(`"*" must match everything`)
		}
		// Every byte escaped, s is a literal pattern that matches itself.
		lit := make([]byte, 0, 2*len(s))
		for _, c := range s {
			lit = append(lit, '\\', c)
		}
		if !Match(lit, s, nocase) && len(s) > 0 {
			t.Fatalf("escaped %q does not match itself", s)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	p, s := []byte("user:*:session:[0-9]*"), []byte("user:12345:session:987")
	b.ReportAllocs()
	for b.Loop() {
		Match(p, s, false)
	}
}
