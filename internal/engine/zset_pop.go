package engine

import (
	"bytes"
	"math"
	"math/rand/v2"
	"time"
)

// zpopReply is the shape of a ZPOP-family reply (genericZpopCommand).
type zpopReply struct {
	emitKey      bool // the key comes first (BZPOP*, ZMPOP, BZMPOP)
	nested       bool // member-score pairs as arrays (RESP3 ZPOP* with count, *MPOP)
	nilWhenEmpty bool // no key: null array (ZMPOP) instead of an empty one
}

// zpop pops up to count (-1: one, without count) entries from the lowest
// (or, with max, highest) end of the first sorted set found among keys.
func zpop(c *Client, keys [][]byte, max bool, count int64, shape zpopReply) {
	var key []byte
	var z *zset
	for _, k := range keys {
		found, ok := c.lookupZset(k, false)
		if !ok {
			return
		}
		if found != nil {
			key, z = k, found
			break
		}
	}
	switch {
	case z == nil && shape.nilWhenEmpty:
		c.W.WriteNullArray()
		return
	case z == nil || count == 0:
		c.W.WriteArray(0)
		return
	case count == -1:
		count = 1
	}
	size := z.len()
	n := int(min(count, int64(size)))
	switch {
	case !shape.nested && !shape.emitKey:
		c.W.WriteArray(2 * n)
	case shape.nested && !shape.emitKey:
		c.W.WriteArray(n)
	case !shape.nested:
		c.W.WriteArray(2*n + 1)
		c.W.WriteBulk(key)
	default:
		c.W.WriteArray(2)
		c.W.WriteBulk(key)
		c.W.WriteArray(n)
	}
	from, start := 0, 0
	if max {
		from, start = size-1, size-n
	}
	zsel{from: from, reverse: max, limit: int64(n)}.walk(z, func(e zsetEntry) {
		if shape.nested {
			c.W.WriteArray(2)
		}
		c.W.WriteBulkString(e.member)
		writeScore(c, e.score)
	})
	z.removeRange(start, start+n-1, nil)
	c.zsetChanged(key, z)
}

// zpopMinMax is ZPOPMIN and ZPOPMAX key [count].
func zpopMinMax(c *Client, args [][]byte, max bool) {
	if len(args) > 3 {
		c.W.WriteError(errSyntax)
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			c.W.WriteError(errPositive)
			return
		}
		count = n
	}
	zpop(c, args[1:2], max, count, zpopReply{nested: c.W.Proto() >= 3 && count != -1})
}

// bzpop is BZPOPMIN and BZPOPMAX key [key …] timeout, under the contract
// of blocking.go.
func bzpop(c *Client, args [][]byte, max bool) {
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	zpopBlocking(c, args[1:len(args)-1], max, -1, timeout, zpopReply{emitKey: true})
}

// zpopBlocking serves the first non-empty sorted set among keys, or
// blocks (blockingGenericZpopCommand).
func zpopBlocking(c *Client, keys [][]byte, max bool, count int64, timeout time.Duration, shape zpopReply) {
	for _, k := range keys {
		z, ok := c.lookupZset(k, false)
		if !ok {
			return
		}
		if z != nil && z.len() > 0 {
			zpop(c, [][]byte{k}, max, count, shape)
			return
		}
	}
	if !c.mayBlock() {
		c.W.WriteNullArray()
		return
	}
	c.block(keys, timeout, true)
}

// zmpop is ZMPOP numkeys key [key …] MIN|MAX [COUNT count] and, with
// blocking, BZMPOP timeout numkeys …; numkeys is at args[idx].
func zmpop(c *Client, args [][]byte, idx int, blocking bool) {
	n, ok := parseInt(args[idx])
	if !ok || n < 1 {
		c.W.WriteError(errNumkeysZero)
		return
	}
	if n >= int64(len(args)-idx-1) {
		c.W.WriteError(errSyntax)
		return
	}
	where := idx + int(n) + 1
	var max bool
	switch {
	case bytes.EqualFold(args[where], []byte("min")):
	case bytes.EqualFold(args[where], []byte("max")):
		max = true
	default:
		c.W.WriteError(errSyntax)
		return
	}
	count := int64(-1)
	for j := where + 1; j < len(args); j++ {
		if count != -1 || !bytes.EqualFold(args[j], []byte("count")) || j+1 >= len(args) {
			c.W.WriteError(errSyntax)
			return
		}
		j++
		if count, ok = parseInt(args[j]); !ok || count < 1 {
			c.W.WriteError(errCountZero)
			return
		}
	}
	if count == -1 {
		count = 1
	}
	keys := args[idx+1 : where]
	shape := zpopReply{emitKey: true, nested: true, nilWhenEmpty: true}
	if !blocking {
		zpop(c, keys, max, count, shape)
		return
	}
	timeout, ok := parseBlockTimeout(c, args[1])
	if !ok {
		return
	}
	zpopBlocking(c, keys, max, count, timeout, shape)
}

// cmdZRandMember is ZRANDMEMBER key [count [WITHSCORES]] with Redis 7.0's
// semantics: without count one random member (or null); a positive count
// gives distinct members (all of them, highest first, when count ≥ the
// size); a negative count gives that many members drawn independently.
func cmdZRandMember(c *Client, args [][]byte) {
	if len(args) == 2 {
		z, ok := c.lookupZset(args[1], true)
		switch {
		case !ok:
		case z == nil:
			c.W.WriteNull()
		default:
			c.W.WriteBulkString(z.random(rand.IntN).member)
		}
		return
	}
	l, ok := parseLong(c, args[2])
	if !ok {
		return
	}
	if l < -math.MaxInt64 {
		c.W.WriteError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	if len(args) > 4 || (len(args) == 4 && !bytes.EqualFold(args[3], []byte("withscores"))) {
		c.W.WriteError(errSyntax)
		return
	}
	withScores := len(args) == 4
	if withScores && (l < -math.MaxInt64/2 || l > math.MaxInt64/2) {
		c.W.WriteError("ERR value is out of range")
		return
	}
	z, ok := c.lookupZset(args[1], true)
	if !ok {
		return
	}
	if z == nil || l == 0 {
		c.W.WriteArray(0)
		return
	}
	if l < -maxRandomCount {
		c.W.WriteError("ERR value is out of range")
		return
	}
	zrandWithCount(c, z, l, withScores)
}

// zrandWithCount is ZRANDMEMBER with a non-zero count.
func zrandWithCount(c *Client, z *zset, l int64, withScores bool) {
	size := z.len()
	var entries []zsetEntry
	switch {
	case l < 0 || l == 1:
		count := int(-l)
		if l == 1 {
			count = 1
		}
		zrandHeader(c, count, withScores)
		for range count {
			zrandEntry(c, z.random(rand.IntN), withScores)
		}
		return
	case l >= int64(size):
		// The whole set, walked from the end as zuiInitIterator does.
		entries = make([]zsetEntry, 0, size)
		z.walk(size-1, true, func(e zsetEntry) bool { entries = append(entries, e); return true })
	case z.sl == nil:
		// Selection sampling keeps listpack order (lpRandomPairsUnique).
		need := int(l)
		entries = make([]zsetEntry, 0, need)
		for i, e := range z.lp {
			if rand.IntN(size-i) < need {
				entries = append(entries, e)
				need--
			}
		}
	default:
		entries = zrandDistinct(z, int(l))
	}
	zrandHeader(c, len(entries), withScores)
	for _, e := range entries {
		zrandEntry(c, e, withScores)
	}
}

// zrandDistinct draws count distinct entries of a skiplist-encoded set,
// count < size.
func zrandDistinct(z *zset, count int) []zsetEntry {
	size := z.len()
	if count*3 > size {
		// Many of the members: shuffle a copy partially.
		all := make([]zsetEntry, 0, size)
		z.each(func(e zsetEntry) { all = append(all, e) })
		for i := range count {
			j := i + rand.IntN(size-i)
			all[i], all[j] = all[j], all[i]
		}
		return all[:count]
	}
	seen := make(map[string]struct{}, count)
	out := make([]zsetEntry, 0, count)
	for len(out) < count {
		e := z.random(rand.IntN)
		if _, dup := seen[e.member]; dup {
			continue
		}
		seen[e.member] = struct{}{}
		out = append(out, e)
	}
	return out
}

func zrandHeader(c *Client, n int, withScores bool) {
	if withScores && c.W.Proto() < 3 {
		n *= 2
	}
	c.W.WriteArray(n)
}

func zrandEntry(c *Client, e zsetEntry, withScores bool) {
	if !withScores {
		c.W.WriteBulkString(e.member)
		return
	}
	if c.W.Proto() >= 3 {
		c.W.WriteArray(2)
	}
	c.W.WriteBulkString(e.member)
	writeScore(c, e.score)
}
