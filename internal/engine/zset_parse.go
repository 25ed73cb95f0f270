package engine

import (
	"math"
	"strconv"
	"strings"
)

// Error replies of the sorted-set commands, byte-identical to Redis 7.0's.
const (
	errZsetNaN       = "ERR resulting score is not a number (NaN)"
	errMinMaxFloat   = "ERR min or max is not a float"
	errMinMaxLex     = "ERR min or max not valid string range item"
	errWeightFloat   = "ERR weight value is not a float"
	errPositive      = "ERR value is out of range, must be positive"
	errNumkeysZero   = "ERR numkeys should be greater than 0"
	errCountZero     = "ERR count should be greater than 0"
	errLimitNegative = "ERR LIMIT can't be negative"
	errLimitRank     = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
	errScoresLex     = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
	errZaddXXNX      = "ERR XX and NX options at the same time are not compatible"
	errZaddGTLTNX    = "ERR GT, LT, and/or NX options at the same time are not compatible"
	errZaddIncrPairs = "ERR INCR option supports a single increment-element pair"
)

// strtod parses the longest prefix of b that glibc's strtod accepts:
// optional white space and sign, then "inf", "infinity", "nan", a
// hexadecimal number ("0x", digits with an optional point, optional p
// exponent) or a decimal one (digits with an optional point, optional e
// exponent). n is the number of bytes consumed, 0 when there is no
// number. overflow and underflow report strtod's ERANGE for a result that
// is infinite or zero although the input was not.
func strtod(b []byte) (f float64, n int, overflow, underflow bool) {
	i := 0
	for i < len(b) && isSpaceByte(b[i]) {
		i++
	}
	start := i
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	neg := i > start && b[start] == '-'
	if k := matchFold(b[i:], "infinity"); k == 8 || k >= 3 {
		if k < 8 {
			k = 3
		}
		f = math.Inf(1)
		if neg {
			f = math.Inf(-1)
		}
		return f, i + k, false, false
	}
	if matchFold(b[i:], "nan") == 3 {
		return math.NaN(), i + 3 + nanTail(b[i+3:]), false, false
	}
	hex := i+2 < len(b) && b[i] == '0' && (b[i+1]|0x20) == 'x' && hexMantissa(b[i+2:])
	base, expChar, body := 10, byte('e'), i
	if hex {
		base, expChar, body = 16, 'p', i+2
	}
	j, digits, nonzero := scanMantissa(b, body, base)
	if digits == 0 {
		return 0, 0, false, false
	}
	end, hasExp := scanExponent(b, j, expChar)
	text := string(b[start:end])
	if hex && !hasExp {
		text += "p0"
	}
	f, err := strconv.ParseFloat(text, 64)
	overflow = err != nil && math.IsInf(f, 0)
	underflow = f == 0 && nonzero
	return f, end, overflow, underflow
}

// matchFold returns how many leading bytes of b match word, ignoring ASCII
// case.
func matchFold(b []byte, word string) int {
	k := 0
	for k < len(b) && k < len(word) && b[k]|0x20 == word[k] {
		k++
	}
	return k
}

// nanTail is the length of the "(n-char-sequence)" strtod accepts after
// "nan", or 0.
func nanTail(b []byte) int {
	if len(b) == 0 || b[0] != '(' {
		return 0
	}
	for k := 1; k < len(b); k++ {
		c := b[k]
		switch {
		case c == ')':
			return k + 1
		case c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z':
		default:
			return 0
		}
	}
	return 0
}

// hexMantissa reports whether b starts a hexadecimal mantissa: a digit, or
// a point and a digit.
func hexMantissa(b []byte) bool {
	if len(b) > 0 && digitVal(b[0]) < 16 {
		return true
	}
	return len(b) > 1 && b[0] == '.' && digitVal(b[1]) < 16
}

// scanMantissa scans digits of base with at most one point from b[i:] and
// returns the end, the number of digits and whether one was not zero.
func scanMantissa(b []byte, i, base int) (end, digits int, nonzero bool) {
	point := false
	for ; i < len(b); i++ {
		if b[i] == '.' && !point {
			point = true
			continue
		}
		d := digitVal(b[i])
		if d >= base {
			break
		}
		digits++
		nonzero = nonzero || d != 0
	}
	if digits == 0 {
		return i, 0, false
	}
	return i, digits, nonzero
}

// scanExponent scans an exponent marked by expChar at b[i:]; strtod takes
// it only when it has at least one digit.
func scanExponent(b []byte, i int, expChar byte) (end int, ok bool) {
	if i >= len(b) || b[i]|0x20 != expChar {
		return i, false
	}
	j := i + 1
	if j < len(b) && (b[j] == '+' || b[j] == '-') {
		j++
	}
	k := j
	for k < len(b) && '0' <= b[k] && b[k] <= '9' {
		k++
	}
	if k == j {
		return i, false
	}
	return k, true
}

// parseScore parses a score, weight or increment as Redis's string2d: the
// whole argument must be a number, without leading space, not NaN, and
// not out of a double's range (an overflow to infinity or an underflow to
// zero). "inf" and "-inf" are accepted.
func parseScore(b []byte) (float64, bool) {
	if n := len(b); n > 0 && n <= 16 {
		if v, ok := smallInt(b); ok {
			return v, true
		}
	}
	if len(b) == 0 || isSpaceByte(b[0]) {
		return 0, false
	}
	f, n, over, under := strtod(b)
	if n != len(b) || over || under || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// smallInt is parseScore's fast path for a plain integer of at most 15
// digits, which a double holds exactly.
func smallInt(b []byte) (float64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		if v == 0 {
			return math.Copysign(0, -1), true
		}
		v = -v
	}
	return float64(v), true
}

// scoreRange is a ZRANGEBYSCORE interval (zrangespec).
type scoreRange struct {
	min, max     float64
	minex, maxex bool // exclusive bounds
}

func (r *scoreRange) gteMin(v float64) bool {
	if r.minex {
		return v > r.min
	}
	return v >= r.min
}

func (r *scoreRange) lteMax(v float64) bool {
	if r.maxex {
		return v < r.max
	}
	return v <= r.max
}

// empty reports whether no score can be in r.
func (r *scoreRange) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minex || r.maxex))
}

// parseScoreRange parses min and max as zslParseRange: "(" makes a bound
// exclusive; the rest is read by strtod, which may skip leading spaces and
// may stop at a NUL byte; an empty bound is 0; NaN is refused.
func parseScoreRange(min, max []byte) (scoreRange, bool) {
	var r scoreRange
	var ok1, ok2 bool
	r.min, r.minex, ok1 = parseScoreBound(min)
	r.max, r.maxex, ok2 = parseScoreBound(max)
	return r, ok1 && ok2
}

func parseScoreBound(b []byte) (v float64, ex, ok bool) {
	if len(b) > 0 && b[0] == '(' {
		ex, b = true, b[1:]
	}
	f, n, _, _ := strtod(b)
	if (n < len(b) && b[n] != 0) || math.IsNaN(f) {
		return 0, false, false
	}
	return f, ex, true
}

// lexBound is one end of a ZRANGEBYLEX interval: a string, or "-" (inf
// -1) and "+" (inf 1), which sort before and after every string.
type lexBound struct {
	s   string
	inf int8
	ex  bool
}

// lexRange is a ZRANGEBYLEX interval (zlexrangespec).
type lexRange struct{ min, max lexBound }

// cmpLex compares as sdscmplex, with Redis's shared min and max strings.
func cmpLex(a, b lexBound) int {
	switch {
	case a.inf != 0 && a.inf == b.inf:
		return 0
	case a.inf < 0 || b.inf > 0:
		return -1
	case a.inf > 0 || b.inf < 0:
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func (r *lexRange) gteMin(v string) bool {
	c := cmpLex(lexBound{s: v}, r.min)
	return c > 0 || (c == 0 && !r.min.ex)
}

func (r *lexRange) lteMax(v string) bool {
	c := cmpLex(lexBound{s: v}, r.max)
	return c < 0 || (c == 0 && !r.max.ex)
}

// empty reports whether no string can be in r.
func (r *lexRange) empty() bool {
	c := cmpLex(r.min, r.max)
	return c > 0 || (c == 0 && (r.min.ex || r.max.ex))
}

// parseLexRange parses min and max as zslParseLexRange.
func parseLexRange(min, max []byte) (lexRange, bool) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	return lexRange{lo, hi}, ok1 && ok2
}

// parseLexBound parses "[s" (inclusive), "(s" (exclusive), "-" or "+".
// As in Redis, which reads a C string, "-" and "+" may be followed by a
// NUL byte and whatever comes after it.
func parseLexBound(b []byte) (lexBound, bool) {
	if len(b) == 0 {
		return lexBound{}, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) > 1 && b[1] != 0 {
			return lexBound{}, false
		}
		inf := int8(1)
		if b[0] == '-' {
			inf = -1
		}
		return lexBound{inf: inf, ex: true}, true
	case '(':
		return lexBound{s: string(b[1:]), ex: true}, true
	case '[':
		return lexBound{s: string(b[1:])}, true
	}
	return lexBound{}, false
}
