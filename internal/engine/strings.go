package engine

import (
	"bytes"
	"math"
)

// stringCommands are the commands of the string type.
func stringCommands() map[string]Handler {
	return map[string]Handler{
		"get": cmdGet,
		"set": cmdSet,
	}
}

// stringEncoding reports a string's OBJECT ENCODING: "int" for a decimal
// integer that fits in 64 bits (at most 20 characters, no leading zeros or
// sign tricks), "embstr" up to 44 bytes, "raw" above or once changed in
// place.
func stringEncoding(v *Value) string {
	switch {
	case v.enc == encRaw:
		return "raw"
	case len(v.str) > 44:
		return "raw"
	case v.enc == encEmbstr:
		return "embstr"
	case len(v.str) <= 20 && isInt(v.str):
		return "int"
	default:
		return "embstr"
	}
}

// isInt reports whether s parses as a Redis integer.
func isInt(s string) bool {
	_, ok := parseInt([]byte(s))
	return ok
}

// getString returns the string value of key. ok is false (and the
// WRONGTYPE error written) when the key holds another type; v is nil when
// the key does not exist.
func (c *Client) getString(key []byte) (v *Value, ok bool) {
	v = c.db.lookupRead(c.e, key)
	if v != nil && v.obj != nil {
		c.W.WriteError(errWrongType)
		return nil, false
	}
	return v, true
}

func cmdGet(c *Client, args [][]byte) {
	v, ok := c.getString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.W.WriteNull()
		return
	}
	c.W.WriteBulkString(v.str)
}

// SET options.
const (
	setNX = 1 << iota
	setXX
	setGet
	setKeepTTL
	setEX
	setPX
	setEXAT
	setPXAT
)

// parseExpireOption parses the SET-style expiry options (EX, PX, EXAT,
// PXAT, KEEPTTL and, for SET, NX, XX and GET) in args. It returns the
// option flags and the index of the expiry argument (0 if none), or
// ok=false after writing a syntax error.
func parseSetOptions(c *Client, args [][]byte, allowed int) (flags, expIdx int, ok bool) {
	for j := 0; j < len(args); j++ {
		a := args[j]
		hasNext := j+1 < len(args)
		switch {
		case allowed&setNX != 0 && bytes.EqualFold(a, []byte("nx")) && flags&setXX == 0:
			flags |= setNX
		case allowed&setXX != 0 && bytes.EqualFold(a, []byte("xx")) && flags&setNX == 0:
			flags |= setXX
		case allowed&setGet != 0 && bytes.EqualFold(a, []byte("get")):
			flags |= setGet
		case allowed&setKeepTTL != 0 && bytes.EqualFold(a, []byte("keepttl")) && flags&(setEX|setPX|setEXAT|setPXAT) == 0:
			flags |= setKeepTTL
		case hasNext && flags&(setKeepTTL|setEX|setPX|setEXAT|setPXAT) == 0 && expireUnit(a) != 0:
			flags |= expireUnit(a)
			j++
			expIdx = j
		default:
			c.W.WriteError(errSyntax)
			return 0, 0, false
		}
	}
	return flags, expIdx, true
}

// expireUnit maps "EX", "PX", "EXAT", "PXAT" to their flag, or 0.
func expireUnit(a []byte) int {
	switch {
	case bytes.EqualFold(a, []byte("ex")):
		return setEX
	case bytes.EqualFold(a, []byte("px")):
		return setPX
	case bytes.EqualFold(a, []byte("exat")):
		return setEXAT
	case bytes.EqualFold(a, []byte("pxat")):
		return setPXAT
	}
	return 0
}

// expireMillis converts the expiry argument of a SET-style option into an
// absolute unix time in milliseconds, writing Redis's error when it is not
// a positive integer or overflows.
func expireMillis(c *Client, cmd string, flags int, arg []byte) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.W.WriteError(errNotInt)
		return 0, false
	}
	seconds := flags&(setEX|setEXAT) != 0
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		c.W.WriteError(errInvalidExpire(cmd))
		return 0, false
	}
	if seconds {
		n *= 1000
	}
	if flags&(setEX|setPX) != 0 {
		now := c.e.nowMs()
		if n > math.MaxInt64-now {
			c.W.WriteError(errInvalidExpire(cmd))
			return 0, false
		}
		n += now
	}
	return n, true
}

func cmdSet(c *Client, args [][]byte) {
	key, val := args[1], args[2]
	flags, expIdx, ok := parseSetOptions(c, args[3:], setNX|setXX|setGet|setKeepTTL)
	if !ok {
		return
	}
	var at int64
	if expIdx > 0 {
		if at, ok = expireMillis(c, "set", flags, args[3+expIdx]); !ok {
			return
		}
	}
	old := c.db.lookup(c.e, key)
	if flags&setGet != 0 {
		switch {
		case old == nil:
			c.W.WriteNull()
		case old.obj != nil:
			c.W.WriteError(errWrongType)
			return
		default:
			c.W.WriteBulkString(old.str)
		}
	}
	if (flags&setNX != 0 && old != nil) || (flags&setXX != 0 && old == nil) {
		if flags&setGet == 0 {
			c.W.WriteNull()
		}
		return
	}
	c.db.set(c.e, key, Value{str: string(val)}, flags&setKeepTTL != 0)
	if expIdx > 0 {
		c.db.setExpire(key, at)
	}
	if flags&setGet == 0 {
		c.W.WriteOK()
	}
}
