package engine

import (
	"bytes"
	"math"
	"strconv"

	"redoubt/internal/glob"
)

const errInvalidCursor = "ERR invalid cursor"

// cmdKeys is KEYS pattern. Expired keys are skipped but, as in Redis, not
// deleted: the walk does not change the dict.
func cmdKeys(c *Client, args [][]byte) {
	pattern := args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	db := c.db
	volatile := db.expires.Len() > 0
	now := c.e.nowMs()
	var out []string
	db.keys.Range(func(k string, _ *Value) bool {
		if !all && !glob.Match(pattern, []byte(k), false) {
			return true
		}
		if volatile {
			if at := db.expires.GetString(k); at != nil && *at <= now {
				return true
			}
		}
		out = append(out, k)
		return true
	})
	c.W.WriteArray(len(out))
	for _, k := range out {
		c.W.WriteBulkString(k)
	}
}

// parseCursor parses a SCAN cursor as Redis does with strtoul: an
// unsigned decimal that may carry a sign ("-1" is 2^64-1), read up to the
// first NUL byte; an empty string is cursor 0; a leading space, trailing
// garbage or overflow is an error.
func parseCursor(b []byte) (uint64, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return 0, true
	}
	if isSpaceByte(b[0]) {
		return 0, false
	}
	neg := false
	digits := b
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		digits = b[1:]
	}
	if len(digits) == 0 {
		return 0, false // no conversion: strtoul stops at the sign
	}
	var n uint64
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false // ERANGE
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// scanOptions are the options of SCAN, HSCAN and their kin.
type scanOptions struct {
	count   int64
	pattern []byte // nil: every element
	typ     []byte // SCAN's TYPE; nil: every type
}

// parseScanOptions parses COUNT, MATCH and (for SCAN, withType) TYPE,
// writing Redis's error on failure.
func parseScanOptions(c *Client, args [][]byte, withType bool) (scanOptions, bool) {
	o := scanOptions{count: 10}
	for i := 0; i < len(args); i += 2 {
		more := i+1 < len(args)
		switch {
		case more && bytes.EqualFold(args[i], []byte("count")):
			n, ok := parseInt(args[i+1])
			if !ok {
				c.W.WriteError(errNotInt)
				return o, false
			}
			if n < 1 {
				c.W.WriteError(errSyntax)
				return o, false
			}
			o.count = n
		case more && bytes.EqualFold(args[i], []byte("match")):
			p := args[i+1]
			if len(p) == 1 && p[0] == '*' {
				o.pattern = nil
			} else {
				o.pattern = p
			}
		case more && withType && bytes.EqualFold(args[i], []byte("type")):
			o.typ = args[i+1]
		default:
			c.W.WriteError(errSyntax)
			return o, false
		}
	}
	return o, true
}

// scanSteps calls step (one Dict.Scan call) until the walk ends, collected
// reports at least count elements, or 10×count calls found too little: the
// loop of Redis's scanGenericCommand.
func scanSteps(cursor uint64, count int64, step func(uint64) uint64, collected func() int) uint64 {
	maxIter := count * 10
	if count > math.MaxInt64/10 {
		maxIter = math.MaxInt64
	}
	for {
		cursor = step(cursor)
		if cursor == 0 || maxIter == 0 {
			return cursor
		}
		maxIter--
		if int64(collected()) >= count {
			return cursor
		}
	}
}

// writeScanReply writes [cursor, [elements…]].
func writeScanReply(c *Client, cursor uint64, elems []string) {
	var tmp [20]byte
	c.W.WriteArray(2)
	c.W.WriteBulk(strconv.AppendUint(tmp[:0], cursor, 10))
	c.W.WriteArray(len(elems))
	for _, e := range elems {
		c.W.WriteBulkString(e)
	}
}

// cmdScan is SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. Expired
// keys met on the way are deleted and left out.
func cmdScan(c *Client, args [][]byte) {
	cursor, ok := parseCursor(args[1])
	if !ok {
		c.W.WriteError(errInvalidCursor)
		return
	}
	o, ok := parseScanOptions(c, args[2:], true)
	if !ok {
		return
	}
	db, e := c.db, c.e
	var keys []string
	collect := func(k string, _ *Value) { keys = append(keys, k) }
	cursor = scanSteps(cursor, o.count,
		func(cur uint64) uint64 { return db.keys.Scan(cur, collect) },
		func() int { return len(keys) })
	out := keys[:0]
	for _, k := range keys {
		if o.pattern != nil && !glob.Match(o.pattern, []byte(k), false) {
			continue
		}
		if o.typ != nil {
			// As in Redis, the type lookup deletes an expired key first, so
			// an expired key has type "none".
			name := "none"
			if v := db.lookupRead(e, []byte(k)); v != nil {
				name = v.typeName()
			}
			if !bytes.EqualFold(o.typ, []byte(name)) {
				continue
			}
		}
		if db.expireIfNeeded(e, []byte(k)) {
			continue
		}
		out = append(out, k)
	}
	writeScanReply(c, cursor, out)
}
