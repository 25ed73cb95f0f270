package engine

import (
	"bytes"
	"math"
	"strconv"

	"redoubt/internal/glob"
)

// Error replies of the set commands, byte-identical to Redis 7.0's.
const (
	errSetNotPositive   = "ERR value is out of range, must be positive"
	errSetRandRange     = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errSetRandTooMany   = "ERR value is out of range"
	errSetNumkeys       = "ERR numkeys should be greater than 0"
	errSetNumkeysArgs   = "ERR Number of keys can't be greater than number of args"
	errSetLimitNegative = "ERR LIMIT can't be negative"
)

// setCommands are the commands of the set type. The handlers follow Redis
// 7.0's t_set.c: the same checks in the same order, the same replies, the
// same encodings for the sets they create.
func setCommands() map[string]Handler {
	return map[string]Handler{
		"sadd":        cmdSAdd,
		"srem":        cmdSRem,
		"scard":       cmdSCard,
		"sismember":   cmdSIsMember,
		"smismember":  cmdSMIsMember,
		"smembers":    cmdSMembers,
		"smove":       cmdSMove,
		"spop":        cmdSPop,
		"srandmember": cmdSRandMember,
		"sinter":      func(c *Client, args [][]byte) { sinter(c, args[1:], nil, false, 0) },
		"sintercard":  cmdSInterCard,
		"sinterstore": func(c *Client, args [][]byte) { sinter(c, args[2:], args[1], false, 0) },
		"sunion":      func(c *Client, args [][]byte) { sunionDiff(c, args[1:], nil, false) },
		"sunionstore": func(c *Client, args [][]byte) { sunionDiff(c, args[2:], args[1], false) },
		"sdiff":       func(c *Client, args [][]byte) { sunionDiff(c, args[1:], nil, true) },
		"sdiffstore":  func(c *Client, args [][]byte) { sunionDiff(c, args[2:], args[1], true) },
		"sscan":       cmdSScan,
	}
}

// lookupSet returns the set at key and its value, or nil when there is
// none; ok is false after WRONGTYPE was written. read selects a read
// lookup, which counts keyspace hits and misses.
func (c *Client) lookupSet(key []byte, read bool) (*set, *Value, bool) {
	return lookupTyped[*set](c, key, read)
}

// setChanged records an in-place change of the set at key, deleting the
// key when the set has become empty.
func (c *Client) setChanged(key []byte, s *set) { c.collectionChanged(key, s) }

// storeSet stores the result of a *STORE command under dst, replacing any
// value and its time to live; an empty result deletes dst. It replies with
// the result's size.
func (c *Client) storeSet(dst []byte, s *set) {
	if s.len() == 0 {
		c.db.delete(c.e, dst)
		c.W.WriteInt(0)
		return
	}
	c.db.set(c.e, dst, Value{obj: s}, false)
	c.W.WriteInt(int64(s.len()))
}

func cmdSAdd(c *Client, args [][]byte) {
	key := args[1]
	s, _, ok := c.lookupSet(key, false)
	if !ok {
		return
	}
	var added int64
	if s == nil {
		s = newSet()
		for _, m := range args[2:] {
			if s.addBytes(m) {
				added++
			}
		}
		c.db.add(c.e, key, Value{obj: s})
	} else {
		for _, m := range args[2:] {
			if s.addBytes(m) {
				added++
			}
		}
		if added > 0 {
			c.e.keyChanged(c.db, string(key))
		}
	}
	c.W.WriteInt(added)
}

func cmdSRem(c *Client, args [][]byte) {
	key := args[1]
	s, _, ok := c.lookupSet(key, false)
	if !ok {
		return
	}
	var n int64
	if s != nil {
		for _, m := range args[2:] {
			if s.removeBytes(m) {
				n++
				if s.len() == 0 {
					break
				}
			}
		}
		if n > 0 {
			c.setChanged(key, s)
		}
	}
	c.W.WriteInt(n)
}

func cmdSCard(c *Client, args [][]byte) {
	s, _, ok := c.lookupSet(args[1], true)
	if !ok {
		return
	}
	var n int
	if s != nil {
		n = s.len()
	}
	c.W.WriteInt(int64(n))
}

func cmdSIsMember(c *Client, args [][]byte) {
	s, _, ok := c.lookupSet(args[1], true)
	if !ok {
		return
	}
	c.W.WriteInt(boolInt(s != nil && s.hasBytes(args[2])))
}

func cmdSMIsMember(c *Client, args [][]byte) {
	s, _, ok := c.lookupSet(args[1], true)
	if !ok {
		return
	}
	c.W.WriteArray(len(args) - 2)
	for _, m := range args[2:] {
		c.W.WriteInt(boolInt(s != nil && s.hasBytes(m)))
	}
}

// boolInt is 1 for true and 0 for false.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// cmdSMove is SMOVE source destination member. As in Redis, a missing
// source answers 0 before the destination's type is checked.
func cmdSMove(c *Client, args [][]byte) {
	srcKey, dstKey, m := args[1], args[2], args[3]
	srcVal := c.db.lookup(c.e, srcKey)
	dstVal := c.db.lookup(c.e, dstKey)
	if srcVal == nil {
		c.W.WriteInt(0)
		return
	}
	src, ok := srcVal.obj.(*set)
	var dst *set
	if ok && dstVal != nil {
		dst, ok = dstVal.obj.(*set)
	}
	if !ok {
		c.W.WriteError(errWrongType)
		return
	}
	if dstVal == srcVal {
		c.W.WriteInt(boolInt(src.hasBytes(m)))
		return
	}
	if !src.removeBytes(m) {
		c.W.WriteInt(0)
		return
	}
	c.setChanged(srcKey, src)
	if dst == nil {
		dst = newSet()
		dst.addBytes(m)
		c.db.add(c.e, dstKey, Value{obj: dst})
	} else if dst.addBytes(m) {
		c.e.keyChanged(c.db, string(dstKey))
	}
	c.W.WriteInt(1)
}

// cmdSScan is SSCAN key cursor [MATCH pattern] [COUNT n]. An intset is
// returned whole with cursor 0, as Redis does; a hashtable is walked with
// the dict's reverse-binary cursor, COUNT counting members.
func cmdSScan(c *Client, args [][]byte) {
	cursor, ok := parseCursor(args[2])
	if !ok {
		c.W.WriteError(errInvalidCursor)
		return
	}
	s, _, ok := c.lookupSet(args[1], true)
	if !ok {
		return
	}
	if s == nil {
		writeScanReply(c, 0, nil)
		return
	}
	o, ok := parseScanOptions(c, args[3:], false)
	if !ok {
		return
	}
	if s.ht == nil {
		writeIntsetScan(c, s.is, o.pattern)
		return
	}
	var out []string
	seen := 0
	pattern := string(o.pattern)
	cursor = scanSteps(cursor, o.count,
		func(cur uint64) uint64 {
			return s.ht.Scan(cur, func(m string, _ *int) {
				seen++
				if o.pattern == nil || glob.MatchString(pattern, m, false) {
					out = append(out, m)
				}
			})
		},
		func() int { return seen })
	writeScanReply(c, cursor, out)
}

// writeIntsetScan writes the one reply of an intset's scan: cursor 0 and
// every member that matches pattern (nil: all).
func writeIntsetScan(c *Client, is []int64, pattern []byte) {
	var tmp [20]byte
	n := len(is)
	if pattern != nil {
		n = 0
		for _, v := range is {
			if glob.Match(pattern, strconv.AppendInt(tmp[:0], v, 10), false) {
				n++
			}
		}
	}
	c.W.WriteArray(2)
	c.W.WriteBulkString("0")
	c.W.WriteArray(n)
	for _, v := range is {
		if pattern == nil || glob.Match(pattern, strconv.AppendInt(tmp[:0], v, 10), false) {
			c.W.WriteBulkInt(v)
		}
	}
}

// cmdSInterCard is SINTERCARD numkeys key [key ...] [LIMIT limit].
func cmdSInterCard(c *Client, args [][]byte) {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		c.W.WriteError(errSetNumkeys)
		return
	}
	if numkeys > int64(len(args)-2) {
		c.W.WriteError(errSetNumkeysArgs)
		return
	}
	var limit int64
	for j := 2 + int(numkeys); j < len(args); j++ {
		if !bytes.EqualFold(args[j], []byte("limit")) || j+1 >= len(args) {
			c.W.WriteError(errSyntax)
			return
		}
		j++
		if limit, ok = parseInt(args[j]); !ok || limit < 0 {
			c.W.WriteError(errSetLimitNegative)
			return
		}
	}
	if limit == 0 {
		limit = math.MaxInt64
	}
	sinter(c, args[2:2+numkeys], nil, true, limit)
}
