// Package glob matches Redis glob-style patterns (KEYS, SCAN MATCH, PSUBSCRIBE,
// COMMAND LIST FILTERBY PATTERN, ACL key and channel patterns) exactly as
// Redis's stringmatchlen does, with a bound on the work a hostile pattern
// can cause.
package glob

// MaxNesting is how many separate '*' runs a pattern may nest before it is
// treated as matching nothing. Redis 7.0.15 uses the same bound against
// patterns crafted to make matching slow.
const MaxNesting = 1000

// Match reports whether s matches pattern. The syntax is Redis's: '*'
// matches any run of bytes (including none), '?' any single byte, "[abc]"
// one of the listed bytes and "[^abc]" any other, "[a-z]" a byte in the
// range (the ends may come in either order), and a backslash makes the next
// byte literal, also inside brackets.
//
// As in Redis, the empty string matches only the empty pattern (KEYS and
// SCAN special-case a lone "*" before matching). An unclosed '[' behaves
// as if closed at the end of the pattern. With
// nocase, ASCII letters match either case. Consecutive '*' collapse, and a
// '*' that fails to match the rest of the pattern anywhere stops every
// enclosing '*' from trying longer matches, so matching takes at most
// about len(pattern)×len(s) steps.
func Match(pattern, s []byte, nocase bool) bool {
	skip := false
	return match(pattern, s, nocase, &skip, 0)
}

// MatchString is Match for string arguments.
func MatchString(pattern, s string, nocase bool) bool {
	return Match([]byte(pattern), []byte(s), nocase)
}

func match(p, s []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > MaxNesting {
		return false
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if match(p[1:], s, nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			// The rest of the pattern matches nowhere in the rest of s:
			// no enclosing '*' can help by matching more.
			*skipLonger = true
			return false
		case '?':
			p = p[1:]
		case '[':
			var ok bool
			if p, ok = matchClass(p[1:], s[0], nocase); !ok {
				return false
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if !eq(p[0], s[0], nocase) {
				return false
			}
			p = p[1:]
		}
		s = s[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}

// matchClass matches c against the bracket expression that starts at p
// (just after '[') and returns the pattern after the closing ']'. An
// unclosed class runs to the end of the pattern.
func matchClass(p []byte, c byte, nocase bool) ([]byte, bool) {
	not := len(p) > 0 && p[0] == '^'
	if not {
		p = p[1:]
	}
	matched := false
	for len(p) > 0 && p[0] != ']' {
		switch {
		case p[0] == '\\' && len(p) >= 2:
			p = p[1:]
			if p[0] == c {
				matched = true
			}
		case len(p) >= 3 && p[1] == '-':
			// C compares these as (signed) chars.
			start, end, x := int(int8(p[0])), int(int8(p[2])), int(int8(c))
			if start > end {
				start, end = end, start
			}
			if nocase {
				start, end, x = lowerInt(start), lowerInt(end), lowerInt(x)
			}
			p = p[2:]
			if x >= start && x <= end {
				matched = true
			}
		default:
			if eq(p[0], c, nocase) {
				matched = true
			}
		}
		p = p[1:]
	}
	if len(p) > 0 {
		p = p[1:] // the closing ']'
	}
	return p, matched != not
}

func eq(a, b byte, nocase bool) bool {
	if a == b {
		return true
	}
	return nocase && lowerByte(a) == lowerByte(b)
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func lowerInt(c int) int {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
