package engine

import (
	"bytes"
	"math"

	"redoubt/internal/resp"
)

// maxStringLen is Redis's proto-max-bulk-len: APPEND and SETRANGE refuse
// to make a longer string, and LCS refuses a larger work table.
const maxStringLen = resp.DefaultMaxBulk

// stringCommands are the commands of the string type. The handlers follow
// Redis 7.0's t_string.c: same checks in the same order, same replies.
func stringCommands() map[string]Handler {
	return map[string]Handler{
		"append":      cmdAppend,
		"decr":        cmdDecr,
		"decrby":      cmdDecrBy,
		"get":         cmdGet,
		"getdel":      cmdGetDel,
		"getex":       cmdGetEx,
		"getrange":    cmdGetRange,
		"getset":      cmdGetSet,
		"incr":        cmdIncr,
		"incrby":      cmdIncrBy,
		"incrbyfloat": cmdIncrByFloat,
		"lcs":         cmdLCS,
		"mget":        cmdMGet,
		"mset":        cmdMSet,
		"msetnx":      cmdMSetNX,
		"psetex":      cmdPSetEx,
		"set":         cmdSet,
		"setex":       cmdSetEx,
		"setnx":       cmdSetNX,
		"setrange":    cmdSetRange,
		"strlen":      cmdStrlen,
		"substr":      cmdGetRange,
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

// getString returns the string value of key, counting a keyspace hit or
// miss. ok is false (and the WRONGTYPE error written) when the key holds
// another type; v is nil when the key does not exist.
func (c *Client) getString(key []byte) (v *Value, ok bool) {
	v = c.db.lookupRead(c.e, key)
	if v != nil && v.obj != nil {
		c.W.WriteError(errWrongType)
		return nil, false
	}
	return v, true
}

// writeStringOrNull replies with the string v, or null when v is nil.
func (c *Client) writeStringOrNull(v *Value) {
	if v == nil {
		c.W.WriteNull()
		return
	}
	c.W.WriteBulkString(v.str)
}

// store sets key to v. old is the key's current value as lookup returned
// it: nil means the key is absent and is added without a second lookup.
func (c *Client) store(key []byte, old *Value, v Value, keepTTL bool) {
	if old == nil {
		c.db.add(c.e, key, v)
		return
	}
	c.db.set(c.e, key, v, keepTTL)
}

func cmdGet(c *Client, args [][]byte) {
	if v, ok := c.getString(args[1]); ok {
		c.writeStringOrNull(v)
	}
}

func cmdGetDel(c *Client, args [][]byte) {
	v, ok := c.getString(args[1])
	if !ok {
		return
	}
	c.writeStringOrNull(v)
	if v != nil {
		c.db.delete(c.e, args[1])
	}
}

func cmdGetSet(c *Client, args [][]byte) {
	v, ok := c.getString(args[1])
	if !ok {
		return
	}
	c.writeStringOrNull(v)
	c.store(args[1], v, Value{str: string(args[2])}, false)
}

func cmdMGet(c *Client, args [][]byte) {
	c.W.WriteArray(len(args) - 1)
	for _, k := range args[1:] {
		v := c.db.lookupRead(c.e, k)
		if v == nil || v.obj != nil {
			c.W.WriteNull()
		} else {
			c.W.WriteBulkString(v.str)
		}
	}
}

func cmdMSet(c *Client, args [][]byte) { msetGeneric(c, args, "mset", false) }

func cmdMSetNX(c *Client, args [][]byte) { msetGeneric(c, args, "msetnx", true) }

// msetGeneric is MSET and, with nx, MSETNX, which sets nothing and replies
// 0 when any of the keys exists. A key given twice takes its last value.
func msetGeneric(c *Client, args [][]byte, cmd string, nx bool) {
	if len(args)%2 == 0 {
		c.W.WriteError("ERR wrong number of arguments for '" + cmd + "' command")
		return
	}
	if nx {
		for j := 1; j < len(args); j += 2 {
			if c.db.lookup(c.e, args[j]) != nil {
				c.W.WriteInt(0)
				return
			}
		}
	}
	for j := 1; j < len(args); j += 2 {
		c.store(args[j], c.db.lookup(c.e, args[j]), Value{str: string(args[j+1])}, false)
	}
	if nx {
		c.W.WriteInt(1)
	} else {
		c.W.WriteOK()
	}
}

// Flags of the SET-style options, as Redis's OBJ_SET_NX, OBJ_EX …
const (
	optNX = 1 << iota
	optXX
	optGet
	optKeepTTL
	optPersist
	optEX
	optPX
	optEXAT
	optPXAT

	optExpire = optEX | optPX | optEXAT | optPXAT
)

// parseExpireOptions parses the options of SET (forSet: NX, XX, GET,
// KEEPTTL, EX, PX, EXAT, PXAT) or of GETEX (PERSIST, EX, PX, EXAT, PXAT)
// with the rules of Redis's parseExtendedStringArgumentsOrReply: names are
// matched as C strings (a NUL byte ends them) without case, an option may
// repeat (the last expiry wins), and conflicting ones are a syntax error.
// It returns the flags and the expiry argument (nil if none), or ok=false
// after writing the error.
func parseExpireOptions(c *Client, args [][]byte, forSet bool) (flags int, expire []byte, ok bool) {
	for j := 0; j < len(args); j++ {
		opt := cPrefix(args[j])
		switch {
		case forSet && asciiEqualFold(opt, "nx") && flags&optXX == 0:
			flags |= optNX
		case forSet && asciiEqualFold(opt, "xx") && flags&optNX == 0:
			flags |= optXX
		case forSet && asciiEqualFold(opt, "get"):
			flags |= optGet
		case forSet && asciiEqualFold(opt, "keepttl") && flags&(optPersist|optExpire) == 0:
			flags |= optKeepTTL
		case !forSet && asciiEqualFold(opt, "persist") && flags&(optKeepTTL|optExpire) == 0:
			flags |= optPersist
		default:
			u := expireUnit(opt)
			if u == 0 || j+1 == len(args) || flags&(optKeepTTL|optPersist|optExpire&^u) != 0 {
				c.W.WriteError(errSyntax)
				return 0, nil, false
			}
			flags |= u
			j++
			expire = args[j]
		}
	}
	return flags, expire, true
}

// expireUnit maps "EX", "PX", "EXAT", "PXAT" to their flag, or 0.
func expireUnit(a []byte) int {
	switch {
	case asciiEqualFold(a, "ex"):
		return optEX
	case asciiEqualFold(a, "px"):
		return optPX
	case asciiEqualFold(a, "exat"):
		return optEXAT
	case asciiEqualFold(a, "pxat"):
		return optPXAT
	}
	return 0
}

// cPrefix is a as C code compares it: up to its first NUL byte.
func cPrefix(a []byte) []byte {
	if i := bytes.IndexByte(a, 0); i >= 0 {
		return a[:i]
	}
	return a
}

// asciiEqualFold reports whether a equals lower, a lower-case ASCII word,
// ignoring ASCII case only, as strcasecmp does (bytes.EqualFold would also
// accept Unicode folds such as the Kelvin sign for 'k').
func asciiEqualFold(a []byte, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ch := a[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
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
	seconds := flags&(optEX|optEXAT) != 0
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		c.W.WriteError(errInvalidExpire(cmd))
		return 0, false
	}
	if seconds {
		n *= 1000
	}
	if flags&(optEX|optPX) != 0 {
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
	flags, expire, ok := parseExpireOptions(c, args[3:], true)
	if ok {
		setGeneric(c, flags, args[1], args[2], expire, "set", false)
	}
}

func cmdSetNX(c *Client, args [][]byte) { setGeneric(c, optNX, args[1], args[2], nil, "setnx", true) }

func cmdSetEx(c *Client, args [][]byte) {
	setGeneric(c, optEX, args[1], args[3], args[2], "setex", false)
}

func cmdPSetEx(c *Client, args [][]byte) {
	setGeneric(c, optPX, args[1], args[3], args[2], "psetex", false)
}

// setGeneric is Redis's setGenericCommand: SET and its variants. The
// expiry is checked first, then GET replies with the old value (or fails
// on a wrong type without setting anything), then NX/XX decide. intReply
// makes the replies :1 and :0 (SETNX) instead of +OK and null.
func setGeneric(c *Client, flags int, key, val, expire []byte, cmd string, intReply bool) {
	var at int64
	if expire != nil {
		var ok bool
		if at, ok = expireMillis(c, cmd, flags, expire); !ok {
			return
		}
	}
	var old *Value
	if flags&optGet != 0 {
		var ok bool
		if old, ok = c.getString(key); !ok {
			return
		}
		c.writeStringOrNull(old)
	} else {
		old = c.db.lookup(c.e, key)
	}
	if (flags&optNX != 0 && old != nil) || (flags&optXX != 0 && old == nil) {
		switch {
		case flags&optGet != 0:
		case intReply:
			c.W.WriteInt(0)
		default:
			c.W.WriteNull()
		}
		return
	}
	c.store(key, old, Value{str: string(val)}, flags&optKeepTTL != 0)
	if expire != nil {
		c.db.setExpire(c.e, key, at)
	}
	switch {
	case flags&optGet != 0:
	case intReply:
		c.W.WriteInt(1)
	default:
		c.W.WriteOK()
	}
}

// cmdGetEx is GETEX: the value, and a new expiry (EX, PX, EXAT, PXAT) or
// none (PERSIST). A missing key answers null before the expiry is checked;
// an absolute time already past deletes the key after the reply.
func cmdGetEx(c *Client, args [][]byte) {
	flags, expire, ok := parseExpireOptions(c, args[2:], false)
	if !ok {
		return
	}
	key := args[1]
	v, ok := c.getString(key)
	if !ok {
		return
	}
	if v == nil {
		c.W.WriteNull()
		return
	}
	var at int64
	if expire != nil {
		if at, ok = expireMillis(c, "getex", flags, expire); !ok {
			return
		}
	}
	c.W.WriteBulkString(v.str)
	switch {
	case flags&(optEXAT|optPXAT) != 0 && at <= c.e.nowMs() && !c.e.prop.loading:
		c.db.delete(c.e, key)
	case expire != nil:
		c.db.setExpire(c.e, key, at)
		c.e.keyChanged(c.db, string(key))
	case flags&optPersist != 0:
		if c.db.persist(c.e, key) {
			c.e.keyChanged(c.db, string(key))
		}
	}
}
