package engine

import (
	"bytes"
	"time"
)

// parseEnd parses LEFT or RIGHT (any case) into left, writing the syntax
// error for anything else.
func parseEnd(c *Client, arg []byte) (left, ok bool) {
	switch {
	case bytes.EqualFold(arg, []byte("left")):
		return true, true
	case bytes.EqualFold(arg, []byte("right")):
		return false, true
	}
	c.W.WriteError(errSyntax)
	return false, false
}

// cmdLMove is LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
func cmdLMove(c *Client, args [][]byte) {
	from, ok := parseEnd(c, args[3])
	if !ok {
		return
	}
	to, ok := parseEnd(c, args[4])
	if !ok {
		return
	}
	lmove(c, args[1], args[2], from, to)
}

// cmdRPopLPush is RPOPLPUSH source destination: LMOVE RIGHT LEFT.
func cmdRPopLPush(c *Client, args [][]byte) { lmove(c, args[1], args[2], false, true) }

// lmove pops an element from one end of the list at src and pushes it at
// one end of the list at dst (which may be src: a rotation), replying
// with the element, or null when src does not exist. A destination of
// another type is refused before anything moves.
func lmove(c *Client, src, dst []byte, fromLeft, toLeft bool) {
	sl, ok := c.lookupList(src, false)
	if !ok {
		return
	}
	if sl == nil {
		c.W.WriteNull()
		return
	}
	dl, ok := c.lookupList(dst, false)
	if !ok {
		return
	}
	v := sl.pop(fromLeft)
	if dl == nil {
		dl = newList(1)
		dl.push(v, toLeft)
		c.db.add(c.e, dst, Value{obj: dl}) // signals clients blocked on dst
	} else {
		dl.push(v, toLeft)
		c.e.keyChanged(c.db, string(dst))
	}
	c.W.WriteBulkString(v)
	c.listChanged(src, sl)
}

// mpopArgs are the parsed arguments of LMPOP and BLMPOP.
type mpopArgs struct {
	keys  [][]byte
	left  bool
	count int64
}

// parseMPop parses numkeys (at args[at]), the keys, LEFT|RIGHT and an
// optional COUNT, in Redis's order, writing its error on bad input.
func parseMPop(c *Client, args [][]byte, at int) (mpopArgs, bool) {
	var m mpopArgs
	numkeys, ok := parseInt(args[at])
	if !ok || numkeys < 1 {
		c.W.WriteError(errNumkeys)
		return m, false
	}
	// The keys are followed by the end: numkeys must leave room for it.
	if numkeys >= int64(len(args)-at-1) {
		c.W.WriteError(errSyntax)
		return m, false
	}
	whereAt := at + 1 + int(numkeys)
	m.keys = args[at+1 : whereAt]
	if m.left, ok = parseEnd(c, args[whereAt]); !ok {
		return m, false
	}
	m.count = -1
	for j := whereAt + 1; j < len(args); j++ {
		if m.count != -1 || j+1 >= len(args) || !bytes.EqualFold(args[j], []byte("count")) {
			c.W.WriteError(errSyntax)
			return m, false
		}
		j++
		n, ok := parseInt(args[j])
		if !ok || n < 1 {
			c.W.WriteError(errCountPositive)
			return m, false
		}
		m.count = n
	}
	if m.count == -1 {
		m.count = 1
	}
	return m, true
}

// cmdLMPop is LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
func cmdLMPop(c *Client, args [][]byte) {
	m, ok := parseMPop(c, args, 1)
	if !ok {
		return
	}
	if served, ok := mpopFirst(c, m); ok && !served {
		c.W.WriteNullArray()
	}
}

// mpopFirst pops up to m.count elements from the first non-empty list of
// m.keys and replies [key, [elements]]. served is false when every key
// is missing; ok is false after WRONGTYPE was written (for a key of
// another type met before any list).
func mpopFirst(c *Client, m mpopArgs) (served, ok bool) {
	for _, key := range m.keys {
		l, ok := c.lookupList(key, false)
		if !ok {
			return false, false
		}
		if l == nil {
			continue
		}
		c.W.WriteArray(2)
		c.W.WriteBulk(key)
		writePopped(c, l, m.count, m.left)
		c.listChanged(key, l)
		return true, true
	}
	return false, true
}

// blockOrTimeout ends a blocking command that found nothing to serve: it
// blocks the client on keys when it may block, and otherwise (inside
// MULTI/EXEC) writes the timeout reply at once, as Redis does.
func blockOrTimeout(c *Client, keys [][]byte, timeout time.Duration, nullArray bool) {
	if c.mayBlock() {
		c.block(keys, timeout, nullArray)
		return
	}
	if nullArray {
		c.W.WriteNullArray()
	} else {
		c.W.WriteNull()
	}
}

// blockingPop is BLPOP and BRPOP key [key ...] timeout: it pops from the
// first non-empty list and replies [key, element], or blocks.
func blockingPop(c *Client, args [][]byte, left bool) {
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	keys := args[1 : len(args)-1]
	for _, key := range keys {
		l, ok := c.lookupList(key, false)
		if !ok {
			return
		}
		if l == nil {
			continue
		}
		c.W.WriteArray(2)
		c.W.WriteBulk(key)
		c.W.WriteBulkString(l.pop(left))
		c.listChanged(key, l)
		return
	}
	blockOrTimeout(c, keys, timeout, true)
}

// cmdBLMove is BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
func cmdBLMove(c *Client, args [][]byte) {
	from, ok := parseEnd(c, args[3])
	if !ok {
		return
	}
	to, ok := parseEnd(c, args[4])
	if !ok {
		return
	}
	timeout, ok := parseBlockTimeout(c, args[5])
	if !ok {
		return
	}
	blmove(c, args, from, to, timeout)
}

// cmdBRPopLPush is BRPOPLPUSH source destination timeout.
func cmdBRPopLPush(c *Client, args [][]byte) {
	timeout, ok := parseBlockTimeout(c, args[3])
	if !ok {
		return
	}
	blmove(c, args, false, true, timeout)
}

// blmove moves an element as LMOVE does when the source list exists, and
// otherwise blocks on the source alone (the destination is checked only
// once there is something to move, as in Redis). Its timeout reply is
// the null bulk string.
func blmove(c *Client, args [][]byte, fromLeft, toLeft bool, timeout time.Duration) {
	sl, ok := c.lookupList(args[1], false)
	if !ok {
		return
	}
	if sl == nil {
		blockOrTimeout(c, args[1:2], timeout, false)
		return
	}
	lmove(c, args[1], args[2], fromLeft, toLeft)
}

// cmdBLMPop is BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT
// count]. Redis 7.0.15 parses the timeout after the other arguments.
func cmdBLMPop(c *Client, args [][]byte) {
	m, ok := parseMPop(c, args, 2)
	if !ok {
		return
	}
	timeout, ok := parseBlockTimeout(c, args[1])
	if !ok {
		return
	}
	if served, ok := mpopFirst(c, m); ok && !served {
		blockOrTimeout(c, m.keys, timeout, true)
	}
}
