package engine

import "math/big"

// HINCRBYFLOAT computes in C's long double as Redis does, with the
// emulation strings_num.go provides for INCRBYFLOAT (parseLongDouble and
// formatLongDouble): a big.Float rounded to a 64-bit mantissa.

// addLongDouble returns a+b rounded to a long double; ok is false when
// either is infinite or the sum overflows, which Redis reports as
// "increment would produce NaN or Infinity".
func addLongDouble(a, b *big.Float) (sum *big.Float, ok bool) {
	const (
		prec   = 64    // bits of an x87 long double's mantissa
		maxExp = 16384 // |x| < 2**maxExp in big.Float's MantExp terms
	)
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	sum = new(big.Float).SetPrec(prec).Add(a, b)
	if sum.Sign() != 0 && sum.MantExp(nil) > maxExp {
		return nil, false
	}
	return sum, true
}
