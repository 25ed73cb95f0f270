package engine

// Error replies, byte-identical to Redis 7's.
const (
	errWrongType   = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNotInt      = "ERR value is not an integer or out of range"
	errNotFloat    = "ERR value is not a valid float"
	errSyntax      = "ERR syntax error"
	errOverflow    = "ERR increment or decrement would overflow"
	errNoSuchKey   = "ERR no such key"
	errDBIndex     = "ERR DB index is out of range"
	errIncrNaNInf  = "ERR increment would produce NaN or Infinity"
	errStringLimit = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
)

// errInvalidExpire is the error for a bad expire time in cmd ("set", "expire" …).
func errInvalidExpire(cmd string) string {
	return "ERR invalid expire time in '" + cmd + "' command"
}
