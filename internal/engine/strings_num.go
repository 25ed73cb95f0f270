package engine

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

func cmdIncr(c *Client, args [][]byte) { incrDecr(c, args[1], 1) }

func cmdDecr(c *Client, args [][]byte) { incrDecr(c, args[1], -1) }

func cmdIncrBy(c *Client, args [][]byte) {
	n, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	incrDecr(c, args[1], n)
}

func cmdDecrBy(c *Client, args [][]byte) {
	n, ok := parseInt(args[2])
	switch {
	case !ok:
		c.W.WriteError(errNotInt)
	case n == math.MinInt64: // -n would overflow
		c.W.WriteError("ERR decrement would overflow")
	default:
		incrDecr(c, args[1], -n)
	}
}

// incrDecr adds incr to the integer held at key (0 when absent), keeping
// its time to live, and replies with the result.
func incrDecr(c *Client, key []byte, incr int64) {
	v := c.db.lookup(c.e, key)
	var cur int64
	if v != nil {
		if v.obj != nil {
			c.W.WriteError(errWrongType)
			return
		}
		var ok bool
		// An integer has at most 20 characters; the guard also keeps the
		// conversion below on the stack.
		if len(v.str) > 20 {
			c.W.WriteError(errNotInt)
			return
		}
		if cur, ok = parseInt([]byte(v.str)); !ok {
			c.W.WriteError(errNotInt)
			return
		}
	}
	sum, ok := addInt64(cur, incr)
	if !ok {
		c.W.WriteError(errOverflow)
		return
	}
	c.store(key, v, Value{str: strconv.FormatInt(sum, 10)}, true)
	c.W.WriteInt(sum)
}

// addInt64 returns a+b; ok is false when the sum overflows an int64.
func addInt64(a, b int64) (sum int64, ok bool) {
	if (b < 0 && a < 0 && b < math.MinInt64-a) || (b > 0 && a > 0 && b > math.MaxInt64-a) {
		return 0, false
	}
	return a + b, true
}

// INCRBYFLOAT works as Redis does on x86-64, in the 80-bit x87 long double:
// a 64-bit significand and a binary exponent up to 16383. big.Float with a
// precision of 64 bits rounds sums exactly as the x87 does, so the results
// match Redis's bit for bit, where float64 would not (0.1 + 0.2 is
// 0.30000000000000004 in float64 but prints as 0.3 from a long double).
// What remains different: the x87's subnormal range (below about 3.4e-4932)
// is modelled only to decide when a parsed value underflows to zero.
const (
	ldPrec    = 64    // bits of significand
	ldMaxExp  = 16384 // |x| < 2**ldMaxExp, in big.Float's MantExp terms
	ldMinExp  = -16445
	ldMaxDigs = 4933 // decimal digits of the largest long double
	ldMinDigs = -4951
	// ldMaxChars is Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses
	// longer input.
	ldMaxChars = 5 * 1024
)

func cmdIncrByFloat(c *Client, args [][]byte) {
	key := args[1]
	v := c.db.lookup(c.e, key)
	if v != nil && v.obj != nil {
		c.W.WriteError(errWrongType)
		return
	}
	cur := new(big.Float).SetPrec(ldPrec)
	if v != nil {
		var ok bool
		if cur, ok = parseLongDouble([]byte(v.str)); !ok {
			c.W.WriteError(errNotFloat)
			return
		}
	}
	incr, ok := parseLongDouble(args[2])
	if !ok {
		c.W.WriteError(errNotFloat)
		return
	}
	sum, ok := addLongDouble(cur, incr)
	if !ok {
		c.W.WriteError(errIncrNaNInf)
		return
	}
	s := formatLongDouble(sum)
	c.store(key, v, Value{str: s, enc: encEmbstr}, true)
	c.W.WriteBulkString(s)
}

// addLongDouble returns a+b rounded to a long double; ok is false when
// either is infinite (inf + x is inf and inf - inf is NaN) or the sum
// overflows, which Redis reports as "increment would produce NaN or
// Infinity".
func addLongDouble(a, b *big.Float) (sum *big.Float, ok bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	sum = new(big.Float).SetPrec(ldPrec).Add(a, b)
	if sum.Sign() != 0 && sum.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	return sum, true
}

// formatLongDouble formats x as Redis's ld2string in LD_STR_HUMAN mode:
// printf("%.17Lf"), trailing zeros and point dropped, "-0" made "0".
func formatLongDouble(x *big.Float) string {
	// Below 2**-60 (under 5e-18) the 17 decimals are all zero: skip the
	// exact decimal expansion, which costs milliseconds near 1e-4900.
	if x.Sign() != 0 && x.MantExp(nil) < -60 {
		return "0"
	}
	s := x.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// parseLongDouble parses b as Redis's string2ld, which calls glibc's
// strtold, into a long double held in a big.Float of 64 bits. The whole
// input must be a number: optional sign, then decimal digits with an
// optional point and e exponent, hexadecimal ("0x", point, optional p
// exponent), or "inf"/"infinity"; no spaces, no NaN, no value that
// overflows or underflows to zero, at most ldMaxChars-1 bytes.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= ldMaxChars || isSpaceByte(b[0]) {
		return nil, false
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
	}
	if asciiEqualFold(b, "inf") || asciiEqualFold(b, "infinity") {
		return new(big.Float).SetInf(neg), true
	}
	hex := len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')
	base, expChar := 10, byte('e')
	if hex {
		b = b[2:]
		base, expChar = 16, 'p'
	}
	// Mantissa: digits with at most one point, at least one digit.
	var buf [64]byte
	digs := buf[:0] // the digits without the point
	frac, i := 0, 0
	point := false
	for ; i < len(b); i++ {
		if b[i] == '.' && !point {
			point = true
			continue
		}
		if digitVal(b[i]) >= base {
			break
		}
		digs = append(digs, b[i])
		if point {
			frac++
		}
	}
	if len(digs) == 0 {
		return nil, false
	}
	// Exponent: only taken with at least one digit, else strtold stops
	// before it and the input is not all consumed.
	var exp int64
	if i < len(b) && (b[i]|0x20) == expChar {
		j := i + 1
		eneg := false
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			eneg = b[j] == '-'
			j++
		}
		start := j
		for ; j < len(b) && '0' <= b[j] && b[j] <= '9'; j++ {
			if exp < 1e9 { // saturate; far beyond any long double
				exp = exp*10 + int64(b[j]-'0')
			}
		}
		if j > start {
			if eneg {
				exp = -exp
			}
			i = j
		}
	}
	if i != len(b) {
		return nil, false
	}
	f := new(big.Float).SetPrec(ldPrec)
	var acc big.Accuracy // of the rounding of the exact value into f
	for len(digs) > 1 && digs[0] == '0' {
		digs = digs[1:]
	}
	mant, _ := new(big.Int).SetString(string(digs), base)
	if mant.Sign() == 0 {
		if neg {
			f.Neg(f)
		}
		return f, true
	}
	if hex {
		exp -= 4 * int64(frac) // binary exponent
		bits := int64(mant.BitLen()) + exp
		if bits > ldMaxExp+1 || bits < ldMinExp-1 {
			return nil, false
		}
		f.SetInt(mant)
		acc = f.Acc()
		f.SetMantExp(f, int(exp))
	} else {
		exp -= int64(frac) // decimal exponent
		mag := int64(len(digs)) + exp
		if mag > ldMaxDigs || mag < ldMinDigs {
			return nil, false
		}
		if exp >= 0 {
			f.SetInt(mant.Mul(mant, new(big.Int).Exp(big.NewInt(10), big.NewInt(exp), nil)))
		} else {
			den := new(big.Int).Exp(big.NewInt(10), big.NewInt(-exp), nil)
			f.SetRat(new(big.Rat).SetFrac(mant, den))
		}
		acc = f.Acc()
	}
	// Out of the long double range: overflow (HUGE_VALL) or underflow to
	// zero, which string2ld refuses. Half the smallest subnormal rounds
	// to zero (ties to even), and so does anything below; f is that half
	// only if the exact value is not above it (acc is not Below).
	var m big.Float
	e := f.MantExp(&m)
	half := e == ldMinExp && m.Cmp(big.NewFloat(0.5)) == 0 && acc != big.Below
	if e > ldMaxExp || e < ldMinExp || half {
		return nil, false
	}
	if neg {
		f.Neg(f)
	}
	return f, true
}

// digitVal is the value of a decimal or hexadecimal digit, or 99.
func digitVal(ch byte) int {
	switch {
	case '0' <= ch && ch <= '9':
		return int(ch - '0')
	case 'a' <= ch && ch <= 'f':
		return int(ch-'a') + 10
	case 'A' <= ch && ch <= 'F':
		return int(ch-'A') + 10
	}
	return 99
}
