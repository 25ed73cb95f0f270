package engine

import (
	"bytes"

	"redoubt/internal/command"
)

// Error replies of the list commands, byte-identical to Redis 7.0's.
const (
	errIndexRange    = "ERR index out of range"
	errMustPositive  = "ERR value is out of range, must be positive"
	errRankZero      = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errCountNegative = "ERR COUNT can't be negative"
	errMaxlenNeg     = "ERR MAXLEN can't be negative"
	errNumkeys       = "ERR numkeys should be greater than 0"
	errCountPositive = "ERR count should be greater than 0"
)

// listCommands are the commands of the list type. The handlers follow
// Redis 7.0's t_list.c: the same checks in the same order, the same
// replies. The blocking ones are in lists_move.go.
func listCommands() map[string]Handler {
	return map[string]Handler{
		"lpush":      func(c *Client, args [][]byte) { pushCommand(c, args, true, false) },
		"rpush":      func(c *Client, args [][]byte) { pushCommand(c, args, false, false) },
		"lpushx":     func(c *Client, args [][]byte) { pushCommand(c, args, true, true) },
		"rpushx":     func(c *Client, args [][]byte) { pushCommand(c, args, false, true) },
		"lpop":       func(c *Client, args [][]byte) { popCommand(c, args, true, "lpop") },
		"rpop":       func(c *Client, args [][]byte) { popCommand(c, args, false, "rpop") },
		"llen":       cmdLLen,
		"lrange":     cmdLRange,
		"lindex":     cmdLIndex,
		"lset":       cmdLSet,
		"linsert":    cmdLInsert,
		"lrem":       cmdLRem,
		"ltrim":      cmdLTrim,
		"lpos":       cmdLPos,
		"lmove":      cmdLMove,
		"rpoplpush":  cmdRPopLPush,
		"lmpop":      cmdLMPop,
		"blpop":      func(c *Client, args [][]byte) { blockingPop(c, args, true) },
		"brpop":      func(c *Client, args [][]byte) { blockingPop(c, args, false) },
		"blmove":     cmdBLMove,
		"brpoplpush": cmdBRPopLPush,
		"blmpop":     cmdBLMPop,
	}
}

// lookupList returns the list at key, or nil when there is none; ok is
// false after WRONGTYPE was written. read selects a read lookup, which
// counts keyspace hits and misses.
func (c *Client) lookupList(key []byte, read bool) (*list, bool) {
	l, _, ok := lookupTyped[*list](c, key, read)
	return l, ok
}

// listChanged records a change of the list at key, deleting the key when
// the list has become empty.
func (c *Client) listChanged(key []byte, l *list) { c.collectionChanged(key, l) }

// pushCommand is LPUSH and RPUSH (left chooses the end) and, with xx,
// LPUSHX and RPUSHX, which push only onto an existing list. It replies
// with the new length.
func pushCommand(c *Client, args [][]byte, left, xx bool) {
	key := args[1]
	l, ok := c.lookupList(key, false)
	if !ok {
		return
	}
	elems := args[2:]
	if l == nil {
		if xx {
			c.W.WriteInt(0)
			return
		}
		l = newList(len(elems))
		pushAll(l, elems, left)
		n := l.len()
		c.db.add(c.e, key, Value{obj: l})
		c.W.WriteInt(int64(n))
		return
	}
	l.reserve(len(elems))
	pushAll(l, elems, left)
	c.e.keyChanged(c.db, string(key))
	c.W.WriteInt(int64(l.len()))
}

// pushAll pushes copies of elems one by one at the head or the tail.
func pushAll(l *list, elems [][]byte, left bool) {
	for _, e := range elems {
		l.push(string(e), left)
	}
}

// popCommand is LPOP and RPOP key [count]: one element as a bulk string,
// or with a count an array of up to count elements (in popping order).
func popCommand(c *Client, args [][]byte, left bool, name string) {
	if len(args) > 3 {
		c.W.WriteError(command.ArityError(name))
		return
	}
	hasCount := len(args) == 3
	var count int64
	if hasCount {
		var ok bool
		if count, ok = parseInt(args[2]); !ok || count < 0 {
			c.W.WriteError(errMustPositive)
			return
		}
	}
	key := args[1]
	l, ok := c.lookupList(key, false)
	if !ok {
		return
	}
	switch {
	case l == nil && hasCount:
		c.W.WriteNullArray()
	case l == nil:
		c.W.WriteNull()
	case hasCount && count == 0:
		c.W.WriteArray(0)
	case !hasCount:
		c.W.WriteBulkString(l.pop(left))
		c.listChanged(key, l)
	default:
		writePopped(c, l, count, left)
		c.listChanged(key, l)
	}
}

// writePopped pops up to count elements from one end of l and writes
// them as an array. The reply is bounded by the list, not by count.
func writePopped(c *Client, l *list, count int64, left bool) {
	n := int(min(count, int64(l.len())))
	c.W.WriteArray(n)
	for range n {
		c.W.WriteBulkString(l.pop(left))
	}
}

// cmdLLen is LLEN key: the length, 0 without a key.
func cmdLLen(c *Client, args [][]byte) {
	l, ok := c.lookupList(args[1], true)
	if !ok {
		return
	}
	var n int
	if l != nil {
		n = l.len()
	}
	c.W.WriteInt(int64(n))
}

// cmdLRange is LRANGE key start stop. Like Redis it parses the bounds
// before looking the key up.
func cmdLRange(c *Client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.W.WriteError(errNotInt)
		return
	}
	l, ok := c.lookupList(args[1], true)
	if !ok {
		return
	}
	if l == nil {
		c.W.WriteArray(0)
		return
	}
	writeRange(c, l, start, end)
}

// clampRange turns Redis's inclusive start and end (negative from the
// tail) into a range [from, to) of positions of a list of n elements,
// empty when from >= to. It follows addListRangeReply and LTRIM.
func clampRange(start, end int64, n int) (from, to int) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	start = max(start, 0)
	if start > end || start >= ln {
		return 0, 0
	}
	end = min(end, ln-1)
	return int(start), int(end) + 1
}

// writeRange writes the elements from start to end (inclusive, Redis
// indexes) as an array.
func writeRange(c *Client, l *list, start, end int64) {
	from, to := clampRange(start, end, l.len())
	c.W.WriteArray(to - from)
	a, b := l.span(from, to)
	for _, s := range a {
		c.W.WriteBulkString(s)
	}
	for _, s := range b {
		c.W.WriteBulkString(s)
	}
}

// cmdLIndex is LINDEX key index: the element or null. Like Redis it looks
// the key up before parsing the index.
func cmdLIndex(c *Client, args [][]byte) {
	l, ok := c.lookupList(args[1], true)
	if !ok {
		return
	}
	if l == nil {
		c.W.WriteNull()
		return
	}
	idx, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	if i, ok := l.index(idx); ok {
		c.W.WriteBulkString(l.at(i))
		return
	}
	c.W.WriteNull()
}

// cmdLSet is LSET key index element.
func cmdLSet(c *Client, args [][]byte) {
	key := args[1]
	l, ok := c.lookupList(key, false)
	if !ok {
		return
	}
	if l == nil {
		c.W.WriteError(errNoSuchKey)
		return
	}
	idx, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	i, ok := l.index(idx)
	if !ok {
		c.W.WriteError(errIndexRange)
		return
	}
	l.set(i, string(args[3]))
	c.e.keyChanged(c.db, string(key))
	c.W.WriteOK()
}

// cmdLInsert is LINSERT key BEFORE|AFTER pivot element: the new length, 0
// without a key, -1 without the pivot.
func cmdLInsert(c *Client, args [][]byte) {
	var after bool
	switch {
	case bytes.EqualFold(args[2], []byte("after")):
		after = true
	case bytes.EqualFold(args[2], []byte("before")):
	default:
		c.W.WriteError(errSyntax)
		return
	}
	key := args[1]
	l, ok := c.lookupList(key, false)
	if !ok {
		return
	}
	if l == nil {
		c.W.WriteInt(0)
		return
	}
	i := l.find(args[3])
	if i < 0 {
		c.W.WriteInt(-1)
		return
	}
	if after {
		i++
	}
	l.insert(i, string(args[4]))
	c.e.keyChanged(c.db, string(key))
	c.W.WriteInt(int64(l.len()))
}

// cmdLRem is LREM key count element: count > 0 removes that many from the
// head, count < 0 from the tail, 0 removes all.
func cmdLRem(c *Client, args [][]byte) {
	count, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	key := args[1]
	l, ok := c.lookupList(key, false)
	if !ok {
		return
	}
	if l == nil {
		c.W.WriteInt(0)
		return
	}
	// -math.MinInt64 wraps to itself, as in Redis, and remove treats it
	// as no limit, as Redis's loop never reaches it.
	removed := l.remove(args[3], max(count, -count), count < 0)
	if removed > 0 {
		c.listChanged(key, l)
	}
	c.W.WriteInt(removed)
}

// cmdLTrim is LTRIM key start stop. Like Redis it counts as a change of
// the key even when nothing is trimmed.
func cmdLTrim(c *Client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.W.WriteError(errNotInt)
		return
	}
	key := args[1]
	l, ok := c.lookupList(key, false)
	if !ok {
		return
	}
	if l == nil {
		c.W.WriteOK()
		return
	}
	n := l.len()
	from, to := clampRange(start, end, n)
	if from >= to {
		from, to = n, n // nothing kept
	}
	l.dropBack(n - to)
	l.dropFront(from)
	c.listChanged(key, l)
	c.W.WriteOK()
}
