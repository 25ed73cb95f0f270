package engine

import (
	"bytes"
	"math"
)

// Error replies of the generic key commands, byte-identical to Redis 7's.
const (
	errSameObject      = "ERR source and destination objects are the same"
	errInvalidFirstDB  = "ERR invalid first DB index"
	errInvalidSecondDB = "ERR invalid second DB index"
)

// keyCommands are the generic commands that work on keys of any type.
// The expiry commands are in keys_expire.go, KEYS and SCAN in keys_scan.go
// and OBJECT in keys_object.go.
func keyCommands() map[string]Handler {
	return map[string]Handler{
		"del":       cmdDel,
		"unlink":    cmdDel, // values are freed by the garbage collector either way
		"exists":    cmdExists,
		"type":      cmdType,
		"touch":     cmdTouch,
		"rename":    func(c *Client, args [][]byte) { rename(c, args, false) },
		"renamenx":  func(c *Client, args [][]byte) { rename(c, args, true) },
		"randomkey": cmdRandomKey,
		"dbsize":    cmdDBSize,
		"flushdb":   cmdFlushDB,
		"flushall":  cmdFlushAll,
		"copy":      cmdCopy,
		"move":      cmdMove,
		"swapdb":    cmdSwapDB,

		"expire":      func(c *Client, args [][]byte) { expire(c, args, "expire", true, true) },
		"pexpire":     func(c *Client, args [][]byte) { expire(c, args, "pexpire", true, false) },
		"expireat":    func(c *Client, args [][]byte) { expire(c, args, "expireat", false, true) },
		"pexpireat":   func(c *Client, args [][]byte) { expire(c, args, "pexpireat", false, false) },
		"ttl":         func(c *Client, args [][]byte) { ttl(c, args, false, false) },
		"pttl":        func(c *Client, args [][]byte) { ttl(c, args, true, false) },
		"expiretime":  func(c *Client, args [][]byte) { ttl(c, args, false, true) },
		"pexpiretime": func(c *Client, args [][]byte) { ttl(c, args, true, true) },
		"persist":     cmdPersist,

		"keys": cmdKeys,
		"scan": cmdScan,

		"object|encoding": cmdObjectEncoding,
		"object|freq":     cmdObjectFreq,
		"object|idletime": cmdObjectIdletime,
		"object|refcount": cmdObjectRefcount,
		"object|help":     cmdObjectHelp,
		"memory|usage":    cmdMemoryUsage,
	}
}

// cmdDel is DEL and UNLINK. An expired key is removed as expired and not
// counted, as in Redis. Without keys that have a TTL a key costs one
// dict operation.
func cmdDel(c *Client, args [][]byte) {
	db, e := c.db, c.e
	var n int64
	for _, k := range args[1:] {
		if db.expireIfNeeded(e, k) {
			continue
		}
		if db.delete(e, k) {
			n++
		}
	}
	c.W.WriteInt(n)
}

func cmdExists(c *Client, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if c.db.lookupRead(c.e, k) != nil {
			n++
		}
	}
	c.W.WriteInt(n)
}

// cmdTouch counts the keys that exist; there is no access time to update.
func cmdTouch(c *Client, args [][]byte) { cmdExists(c, args) }

func cmdType(c *Client, args [][]byte) {
	v := c.db.lookupRead(c.e, args[1])
	if v == nil {
		c.W.WriteSimple("none")
		return
	}
	c.W.WriteSimple(v.typeName())
}

// rename is RENAME and RENAMENX (nx): the value and its time to live move
// to the new name, replacing (RENAME) or not (RENAMENX) a key there.
func rename(c *Client, args [][]byte, nx bool) {
	src, dst := args[1], args[2]
	db, e := c.db, c.e
	v := db.lookup(e, src)
	if v == nil {
		c.W.WriteError(errNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.W.WriteInt(0)
		} else {
			c.W.WriteOK()
		}
		return
	}
	val := *v
	expire := db.expireAt(src)
	if db.lookup(e, dst) != nil {
		if nx {
			c.W.WriteInt(0)
			return
		}
		db.delete(e, dst)
	}
	db.add(e, dst, val)
	if expire != -1 {
		db.setExpire(c.e, dst, expire)
	}
	db.delete(e, src)
	if nx {
		c.W.WriteInt(1)
	} else {
		c.W.WriteOK()
	}
}

// cmdRandomKey returns a random live key, deleting the expired keys it
// draws on the way, as Redis's dbRandomKey does.
func cmdRandomKey(c *Client, args [][]byte) {
	db, e := c.db, c.e
	for {
		key, _, ok := db.keys.Random()
		if !ok {
			c.W.WriteNull()
			return
		}
		if db.expireIfNeeded(e, []byte(key)) {
			continue
		}
		c.W.WriteBulkString(key)
		return
	}
}

// cmdDBSize reports the number of keys, counting, as Redis does, keys whose
// time has passed but that no access or expiry cycle has removed yet.
func cmdDBSize(c *Client, args [][]byte) { c.W.WriteInt(int64(c.db.keys.Len())) }

// flushArgsOK checks FLUSHDB and FLUSHALL's optional ASYNC|SYNC argument.
// Both flush synchronously: dropping the dicts is O(1) here and the
// garbage collector reclaims the memory in the background anyway.
func flushArgsOK(c *Client, args [][]byte) bool {
	switch {
	case len(args) == 1:
		return true
	case len(args) == 2 && (bytes.EqualFold(args[1], []byte("sync")) || bytes.EqualFold(args[1], []byte("async"))):
		return true
	}
	c.W.WriteError(errSyntax)
	return false
}

func cmdFlushDB(c *Client, args [][]byte) {
	if !flushArgsOK(c, args) {
		return
	}
	c.db.flush(c.e)
	c.W.WriteOK()
}

func cmdFlushAll(c *Client, args [][]byte) {
	if !flushArgsOK(c, args) {
		return
	}
	for _, db := range c.e.dbs {
		db.flush(c.e)
	}
	c.W.WriteOK()
}

// parseInt32 parses a Redis int argument (getIntFromObject: a 64-bit
// integer that fits in 32 bits).
func parseInt32(b []byte) (int, bool) {
	n, ok := parseInt(b)
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// intArg parses an int argument as getIntFromObjectOrReply does, writing
// its errors: one for a non-integer, another for an integer beyond 32 bits.
func intArg(c *Client, b []byte) (int, bool) {
	n, ok := parseInt(b)
	if !ok {
		c.W.WriteError(errNotInt)
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		c.W.WriteError("ERR value is out of range, value must between -2147483648 and 2147483647")
		return 0, false
	}
	return int(n), true
}

// dbIndex returns database i, or nil when i is out of range.
func (e *Engine) dbIndex(i int) *DB {
	if i < 0 || i >= len(e.dbs) {
		return nil
	}
	return e.dbs[i]
}

// cmdCopy is COPY source destination [DB n] [REPLACE]: a deep copy of the
// value, with its time to live.
func cmdCopy(c *Client, args [][]byte) {
	src, dst := c.db, c.db
	replace := false
	for j := 3; j < len(args); j++ {
		switch {
		case bytes.EqualFold(args[j], []byte("replace")):
			replace = true
		case bytes.EqualFold(args[j], []byte("db")) && j+1 < len(args):
			n, ok := intArg(c, args[j+1])
			if !ok {
				return
			}
			if dst = c.e.dbIndex(n); dst == nil {
				c.W.WriteError(errDBIndex)
				return
			}
			j++
		default:
			c.W.WriteError(errSyntax)
			return
		}
	}
	key, newkey := args[1], args[2]
	if src == dst && bytes.Equal(key, newkey) {
		c.W.WriteError(errSameObject)
		return
	}
	v := src.lookupRead(c.e, key)
	if v == nil {
		c.W.WriteInt(0)
		return
	}
	expire := src.expireAt(key)
	exists := dst.lookup(c.e, newkey) != nil
	if exists && !replace {
		c.W.WriteInt(0)
		return
	}
	val := v.clone()
	if exists {
		dst.delete(c.e, newkey)
	}
	dst.add(c.e, newkey, val)
	if expire != -1 {
		dst.setExpire(c.e, newkey, expire)
	}
	c.W.WriteInt(1)
}

// cmdMove is MOVE key db: the value and its time to live move to another
// database unless the key exists there.
func cmdMove(c *Client, args [][]byte) {
	n, ok := intArg(c, args[2])
	if !ok {
		return
	}
	src, dst := c.db, c.e.dbIndex(n)
	if dst == nil {
		c.W.WriteError(errDBIndex)
		return
	}
	if src == dst {
		c.W.WriteError(errSameObject)
		return
	}
	key := args[1]
	v := src.lookup(c.e, key)
	if v == nil {
		c.W.WriteInt(0)
		return
	}
	expire := src.expireAt(key)
	if dst.lookup(c.e, key) != nil {
		c.W.WriteInt(0)
		return
	}
	dst.add(c.e, key, *v)
	if expire != -1 {
		dst.setExpire(c.e, key, expire)
	}
	src.delete(c.e, key)
	c.W.WriteInt(1)
}

// cmdSwapDB is SWAPDB a b. Clients keep their *DB, so the contents of the
// two databases are exchanged, not the databases: a client on database a
// sees b's data afterwards, as in Redis.
func cmdSwapDB(c *Client, args [][]byte) {
	a, ok := parseInt32(args[1])
	if !ok {
		c.W.WriteError(errInvalidFirstDB)
		return
	}
	b, ok := parseInt32(args[2])
	if !ok {
		c.W.WriteError(errInvalidSecondDB)
		return
	}
	x, y := c.e.dbIndex(a), c.e.dbIndex(b)
	if x == nil || y == nil {
		c.W.WriteError(errDBIndex)
		return
	}
	if x != y {
		x.keys, y.keys = y.keys, x.keys
		x.expires, y.expires = y.expires, x.expires
		x.mem, y.mem = y.mem, x.mem
		c.e.dbFlushed(x)
		c.e.dbFlushed(y)
	}
	c.W.WriteOK()
}
