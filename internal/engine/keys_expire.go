package engine

import (
	"bytes"
	"math"
)

// EXPIRE options.
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

// parseExpireFlags parses EXPIRE's NX, XX, GT and LT options, writing
// Redis's error on failure.
func parseExpireFlags(c *Client, opts [][]byte) (int, bool) {
	flags := 0
	for _, o := range opts {
		switch {
		case bytes.EqualFold(o, []byte("nx")):
			flags |= expireNX
		case bytes.EqualFold(o, []byte("xx")):
			flags |= expireXX
		case bytes.EqualFold(o, []byte("gt")):
			flags |= expireGT
		case bytes.EqualFold(o, []byte("lt")):
			flags |= expireLT
		default:
			c.W.WriteError("ERR Unsupported option " + cString(o))
			return 0, false
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.W.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible")
		return 0, false
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.W.WriteError("ERR GT and LT options at the same time are not compatible")
		return 0, false
	}
	return flags, true
}

// cString is b as C's "%s" prints it: up to the first NUL byte.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// expire is Redis's expireGenericCommand: relative adds the current time,
// seconds multiplies by 1000. A time that has already passed deletes the
// key.
func expire(c *Client, args [][]byte, name string, relative, seconds bool) {
	flags, ok := parseExpireFlags(c, args[3:])
	if !ok {
		return
	}
	when, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.W.WriteError(errInvalidExpire(name))
			return
		}
		when *= 1000
	}
	now := c.e.nowMs()
	if relative {
		if when > math.MaxInt64-now {
			c.W.WriteError(errInvalidExpire(name))
			return
		}
		when += now
	}
	key := args[1]
	db := c.db
	if db.lookup(c.e, key) == nil {
		c.W.WriteInt(0)
		return
	}
	if flags != 0 {
		cur := db.expireAt(key)
		if (flags&expireNX != 0 && cur != -1) ||
			(flags&expireXX != 0 && cur == -1) ||
			(flags&expireGT != 0 && (cur == -1 || when <= cur)) ||
			(flags&expireLT != 0 && cur != -1 && when >= cur) {
			c.W.WriteInt(0)
			return
		}
	}
	if when <= now && !c.e.prop.loading {
		db.delete(c.e, key)
	} else {
		db.setExpire(c.e, key, when)
		c.e.keyChanged(db, string(key))
	}
	c.W.WriteInt(1)
}

// ttl is TTL, PTTL (ms), EXPIRETIME (abs) and PEXPIRETIME: -2 for a
// missing key, -1 for a key without a time to live; seconds are rounded.
func ttl(c *Client, args [][]byte, ms, abs bool) {
	db := c.db
	if db.lookupRead(c.e, args[1]) == nil {
		c.W.WriteInt(-2)
		return
	}
	at := db.expireAt(args[1])
	if at == -1 {
		c.W.WriteInt(-1)
		return
	}
	t := at
	if !abs {
		t = max(at-c.e.nowMs(), 0)
	}
	if !ms {
		t = (t + 500) / 1000
	}
	c.W.WriteInt(t)
}

func cmdPersist(c *Client, args [][]byte) {
	db := c.db
	if db.lookup(c.e, args[1]) == nil || !db.persist(c.e, args[1]) {
		c.W.WriteInt(0)
		return
	}
	c.e.keyChanged(db, string(args[1]))
	c.W.WriteInt(1)
}
