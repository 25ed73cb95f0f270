package engine

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzZSetScoreRange fuzzes the score and lex range parsers and strtod:
// no panic, a consumed length within the input, and agreement with
// strconv on what both read as a plain number.
func FuzzZSetScoreRange(f *testing.F) {
	for _, s := range []string{"1", "(1", "-inf", "+inf", "(", "", " 1", "1e400", "0x1p-2", "0x", "nan", "(nan",
		"infinity", "1\x00x", "[a", "(a", "-", "+", "+\x00", "1e-400", ".5", "5.", "0x.8", "-0", "1e+", "0x1P+3"} {
		f.Add(s, "2")
	}
	f.Fuzz(func(t *testing.T, min, max string) {
		r, ok := parseScoreRange([]byte(min), []byte(max))
		if ok && (math.IsNaN(r.min) || math.IsNaN(r.max)) {
			t.Fatalf("NaN accepted: %q %q", min, max)
		}
		parseLexRange([]byte(min), []byte(max))
		v, n, _, _ := strtod([]byte(min))
		if n < 0 || n > len(min) {
			t.Fatalf("strtod(%q) consumed %d", min, n)
		}
		s, ok := parseScore([]byte(min))
		if !ok {
			return
		}
		if n != len(min) || (s != v && !(math.IsNaN(s) && math.IsNaN(v))) {
			t.Fatalf("parseScore(%q) = %v but strtod read %v from %d bytes", min, s, v, n)
		}
		if g, err := strconv.ParseFloat(min, 64); err == nil && !strings.ContainsAny(min, "_xXnN") && g != s {
			t.Fatalf("parseScore(%q) = %v, strconv %v", min, s, g)
		}
	})
}
