package engine

import (
	"bytes"
	"math"

	"redoubt/internal/glob"
	"redoubt/internal/resp"
)

// zsetCommands are the sorted-set commands.
func zsetCommands() map[string]Handler {
	return map[string]Handler{
		"zadd":             func(c *Client, args [][]byte) { zadd(c, args, false) },
		"zincrby":          func(c *Client, args [][]byte) { zadd(c, args, true) },
		"zrem":             cmdZRem,
		"zcard":            cmdZCard,
		"zscore":           cmdZScore,
		"zmscore":          cmdZMScore,
		"zrank":            func(c *Client, args [][]byte) { zrank(c, args, false) },
		"zrevrank":         func(c *Client, args [][]byte) { zrank(c, args, true) },
		"zcount":           cmdZCount,
		"zlexcount":        cmdZLexCount,
		"zscan":            cmdZScan,
		"zrange":           func(c *Client, args [][]byte) { zrangeCommand(c, args, 1, nil, zrangeAuto, false) },
		"zrangestore":      func(c *Client, args [][]byte) { zrangeCommand(c, args, 2, args[1], zrangeAuto, false) },
		"zrevrange":        func(c *Client, args [][]byte) { zrangeCommand(c, args, 1, nil, zrangeRank, true) },
		"zrangebyscore":    func(c *Client, args [][]byte) { zrangeCommand(c, args, 1, nil, zrangeScore, false) },
		"zrevrangebyscore": func(c *Client, args [][]byte) { zrangeCommand(c, args, 1, nil, zrangeScore, true) },
		"zrangebylex":      func(c *Client, args [][]byte) { zrangeCommand(c, args, 1, nil, zrangeLex, false) },
		"zrevrangebylex":   func(c *Client, args [][]byte) { zrangeCommand(c, args, 1, nil, zrangeLex, true) },
		"zremrangebyrank":  func(c *Client, args [][]byte) { zremrange(c, args, zrangeRank) },
		"zremrangebyscore": func(c *Client, args [][]byte) { zremrange(c, args, zrangeScore) },
		"zremrangebylex":   func(c *Client, args [][]byte) { zremrange(c, args, zrangeLex) },
		"zunion":           func(c *Client, args [][]byte) { zsetOp(c, args, nil, 1, opUnion) },
		"zinter":           func(c *Client, args [][]byte) { zsetOp(c, args, nil, 1, opInter) },
		"zdiff":            func(c *Client, args [][]byte) { zsetOp(c, args, nil, 1, opDiff) },
		"zintercard":       func(c *Client, args [][]byte) { zsetOp(c, args, nil, 1, opInterCard) },
		"zunionstore":      func(c *Client, args [][]byte) { zsetOp(c, args, args[1], 2, opUnion) },
		"zinterstore":      func(c *Client, args [][]byte) { zsetOp(c, args, args[1], 2, opInter) },
		"zdiffstore":       func(c *Client, args [][]byte) { zsetOp(c, args, args[1], 2, opDiff) },
		"zpopmin":          func(c *Client, args [][]byte) { zpopMinMax(c, args, false) },
		"zpopmax":          func(c *Client, args [][]byte) { zpopMinMax(c, args, true) },
		"zmpop":            func(c *Client, args [][]byte) { zmpop(c, args, 1, false) },
		"bzpopmin":         func(c *Client, args [][]byte) { bzpop(c, args, false) },
		"bzpopmax":         func(c *Client, args [][]byte) { bzpop(c, args, true) },
		"bzmpop":           func(c *Client, args [][]byte) { zmpop(c, args, 2, true) },
		"zrandmember":      cmdZRandMember,
	}
}

// lookupZset returns the sorted set at key, or nil when there is none; ok
// is false after WRONGTYPE was written. read selects a read lookup.
func (c *Client) lookupZset(key []byte, read bool) (*zset, bool) {
	z, _, ok := lookupTyped[*zset](c, key, read)
	return z, ok
}

// zsetChanged records a change of the sorted set at key, deleting the key
// when the set has become empty.
func (c *Client) zsetChanged(key []byte, z *zset) { c.collectionChanged(key, z) }

// storeZset replaces key with z, a command's result, dropping its time to
// live; an empty result deletes the key. It is how the *STORE commands
// write their destination.
func (c *Client) storeZset(key []byte, z *zset) {
	if z.len() == 0 {
		c.db.delete(c.e, key)
		return
	}
	c.db.set(c.e, key, Value{obj: z}, false)
}

// writeScore writes a score: a bulk string under RESP2, a double under
// RESP3, formatted as Redis 7.0's "%.17g".
func writeScore(c *Client, f float64) { c.W.WriteDouble(f) }

// parseZaddOptions reads the options of ZADD and ZINCRBY from args[2:],
// returning them and the index of the first score.
func parseZaddOptions(args [][]byte, incr bool) (f zaddFlags, ch bool, i int) {
	f.incr = incr
	for i = 2; i < len(args); i++ {
		switch {
		case bytes.EqualFold(args[i], []byte("nx")):
			f.nx = true
		case bytes.EqualFold(args[i], []byte("xx")):
			f.xx = true
		case bytes.EqualFold(args[i], []byte("ch")):
			ch = true
		case bytes.EqualFold(args[i], []byte("incr")):
			f.incr = true
		case bytes.EqualFold(args[i], []byte("gt")):
			f.gt = true
		case bytes.EqualFold(args[i], []byte("lt")):
			f.lt = true
		default:
			return f, ch, i
		}
	}
	return f, ch, i
}

// zadd is ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member … and
// ZINCRBY key increment member (zaddGenericCommand).
func zadd(c *Client, args [][]byte, incr bool) {
	f, ch, first := parseZaddOptions(args, incr)
	n := len(args) - first
	switch {
	case n%2 != 0 || n == 0:
		c.W.WriteError(errSyntax)
		return
	case f.nx && f.xx:
		c.W.WriteError(errZaddXXNX)
		return
	case (f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt):
		c.W.WriteError(errZaddGTLTNX)
		return
	case f.incr && n > 2:
		c.W.WriteError(errZaddIncrPairs)
		return
	}
	// Every score is checked before anything changes.
	for i := first; i < len(args); i += 2 {
		if _, ok := parseScore(args[i]); !ok {
			c.W.WriteError(errNotFloat)
			return
		}
	}
	key := args[1]
	z, ok := c.lookupZset(key, false)
	if !ok {
		return
	}
	isNew := z == nil
	if isNew && f.xx {
		zaddReply(c, f.incr, ch, 0, 0, 0, 0)
		return
	}
	if isNew {
		z = &zset{}
		if len(args[first+1]) > zsetMaxListpackValue {
			z.toSkiplist()
		}
	}
	var added, updated, processed int64
	var score float64
	for i := first; i < len(args); i += 2 {
		s, _ := parseScore(args[i])
		res, newScore := z.add(s, args[i+1], f)
		switch res {
		case zaddNaN:
			c.W.WriteError(errZsetNaN)
			return
		case zaddAdded:
			added++
		case zaddUpdated:
			updated++
		}
		if res != zaddNop {
			processed++
			score = newScore
		}
	}
	switch {
	case isNew && z.len() > 0:
		c.db.add(c.e, key, Value{obj: z})
	case added+updated > 0:
		c.e.keyChanged(c.db, string(key))
	}
	zaddReply(c, f.incr, ch, added, updated, processed, score)
}

// zaddReply writes ZADD's reply: the new score with INCR (null when
// nothing was done), else the number of added (and with CH, updated)
// members.
func zaddReply(c *Client, incr, ch bool, added, updated, processed int64, score float64) {
	switch {
	case incr && processed > 0:
		writeScore(c, score)
	case incr:
		c.W.WriteNull()
	case ch:
		c.W.WriteInt(added + updated)
	default:
		c.W.WriteInt(added)
	}
}

func cmdZRem(c *Client, args [][]byte) {
	key := args[1]
	z, ok := c.lookupZset(key, false)
	if !ok {
		return
	}
	var n int64
	if z != nil {
		for _, m := range args[2:] {
			if z.remove(m) {
				n++
			}
			if z.len() == 0 {
				break
			}
		}
		if n > 0 {
			c.zsetChanged(key, z)
		}
	}
	c.W.WriteInt(n)
}

func cmdZCard(c *Client, args [][]byte) {
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	if z == nil {
		c.W.WriteInt(0)
		return
	}
	c.W.WriteInt(int64(z.len()))
}

func cmdZScore(c *Client, args [][]byte) {
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	if z != nil {
		if s, found := z.score(args[2]); found {
			writeScore(c, s)
			return
		}
	}
	c.W.WriteNull()
}

func cmdZMScore(c *Client, args [][]byte) {
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	c.W.WriteArray(len(args) - 2)
	for _, m := range args[2:] {
		if z != nil {
			if s, found := z.score(m); found {
				writeScore(c, s)
				continue
			}
		}
		c.W.WriteNull()
	}
}

// zrank is ZRANK and ZREVRANK.
func zrank(c *Client, args [][]byte, reverse bool) {
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	if z != nil {
		if r, found := z.rank(args[2], reverse); found {
			c.W.WriteInt(int64(r))
			return
		}
	}
	c.W.WriteNull()
}

func cmdZCount(c *Client, args [][]byte) {
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.W.WriteError(errMinMaxFloat)
		return
	}
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	var n int
	if z != nil {
		if first := z.firstInScore(&r); first >= 0 {
			n = z.lastInScore(&r) - first + 1
		}
	}
	c.W.WriteInt(int64(n))
}

func cmdZLexCount(c *Client, args [][]byte) {
	r, ok := parseLexRange(args[2], args[3])
	if !ok {
		c.W.WriteError(errMinMaxLex)
		return
	}
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	if z == nil {
		c.W.WriteInt(0)
		return
	}
	c.W.WriteInt(int64(lexCount(z, &r)))
}

// lexCount counts the members in r as ZLEXCOUNT does: forward from the
// first one for a listpack, by rank difference for a skiplist.
func lexCount(z *zset, r *lexRange) int {
	first := z.firstInLex(r)
	if first < 0 {
		return 0
	}
	if z.sl == nil {
		n := 0
		z.walk(first, false, func(e zsetEntry) bool {
			if !r.lteMax(e.member) {
				return false
			}
			n++
			return true
		})
		return n
	}
	n := z.len() - first
	if last := z.lastInLex(r); last >= 0 {
		n -= z.len() - 1 - last
	}
	return n
}

// cmdZScan is ZSCAN key cursor [MATCH pattern] [COUNT n]. A listpack is
// returned whole with cursor 0, as Redis does; a skiplist's dict is walked
// with its reverse-binary cursor. Scores are bulk strings in both
// protocols.
func cmdZScan(c *Client, args [][]byte) {
	cursor, ok := parseCursor(args[2])
	if !ok {
		c.W.WriteError(errInvalidCursor)
		return
	}
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	if z == nil {
		writeScanReply(c, 0, nil)
		return
	}
	o, ok := parseScanOptions(c, args[3:], false)
	if !ok {
		return
	}
	var out []string
	add := func(member string, score float64) {
		if o.pattern == nil || glob.Match(o.pattern, []byte(member), false) {
			var tmp [32]byte
			out = append(out, member, string(resp.AppendFloat(tmp[:0], score)))
		}
	}
	if z.sl == nil {
		for _, e := range z.lp {
			add(e.member, e.score)
		}
		writeScanReply(c, 0, out)
		return
	}
	seen := 0
	count := o.count
	if count <= math.MaxInt64/2 {
		count *= 2 // Redis counts members and scores
	}
	cursor = scanSteps(cursor, count,
		func(cur uint64) uint64 {
			return z.dict.Scan(cur, func(m string, x *uint32) { seen += 2; add(m, z.sl.node(*x).score) })
		},
		func() int { return seen })
	writeScanReply(c, cursor, out)
}

// parseLong parses a Redis integer argument, writing Redis's error.
func parseLong(c *Client, b []byte) (int64, bool) {
	n, ok := parseInt(b)
	if !ok {
		c.W.WriteError(errNotInt)
	}
	return n, ok
}
