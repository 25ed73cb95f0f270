package engine

import "bytes"

// zrangeType is how a ZRANGE-family command selects: by rank, score or
// member, or (ZRANGE, ZRANGESTORE) as its options say.
type zrangeType uint8

const (
	zrangeAuto zrangeType = iota
	zrangeRank
	zrangeScore
	zrangeLex
)

// zrangeOpts are the parsed options of a ZRANGE-family command.
type zrangeOpts struct {
	typ        zrangeType
	reverse    bool
	withScores bool
	offset     int64
	limit      int64 // -1: no LIMIT, or a negative count
}

// zsel is a selection of a sorted set: the entries from 0-based rank from,
// walking forward or backward, while in holds (nil: always), at most limit
// of them (negative: no limit).
type zsel struct {
	from    int
	reverse bool
	limit   int64
	in      func(e zsetEntry) bool
}

// noSel selects nothing.
func noSel() zsel { return zsel{from: -1} }

// walk calls fn for each selected entry and returns how many there were.
func (s zsel) walk(z *zset, fn func(e zsetEntry)) int {
	var n int64
	if s.limit == 0 {
		return 0
	}
	z.walk(s.from, s.reverse, func(e zsetEntry) bool {
		if s.in != nil && !s.in(e) {
			return false
		}
		if fn != nil {
			fn(e)
		}
		n++
		return s.limit < 0 || n < s.limit
	})
	return int(n)
}

// parseZrangeOpts parses the options after <src> <min> <max> as
// zrangeGenericCommand does, writing Redis's error on failure.
func parseZrangeOpts(c *Client, args [][]byte, store bool, o zrangeOpts) (zrangeOpts, bool) {
	dirAuto, typAuto := o.typ == zrangeAuto, o.typ == zrangeAuto
	o.limit = -1
	for j := 0; j < len(args); j++ {
		left := len(args) - j - 1
		switch a := args[j]; {
		case !store && bytes.EqualFold(a, []byte("withscores")):
			o.withScores = true
		case bytes.EqualFold(a, []byte("limit")) && left >= 2:
			var ok bool
			if o.offset, ok = parseLong(c, args[j+1]); !ok {
				return o, false
			}
			if o.limit, ok = parseLong(c, args[j+2]); !ok {
				return o, false
			}
			j += 2
		case dirAuto && bytes.EqualFold(a, []byte("rev")):
			o.reverse, dirAuto = true, false
		case typAuto && bytes.EqualFold(a, []byte("bylex")):
			o.typ, typAuto = zrangeLex, false
		case typAuto && bytes.EqualFold(a, []byte("byscore")):
			o.typ, typAuto = zrangeScore, false
		default:
			c.W.WriteError(errSyntax)
			return o, false
		}
	}
	if o.typ == zrangeAuto {
		o.typ = zrangeRank
	}
	if o.limit != -1 && o.typ == zrangeRank {
		c.W.WriteError(errLimitRank)
		return o, false
	}
	if o.withScores && o.typ == zrangeLex {
		c.W.WriteError(errScoresLex)
		return o, false
	}
	return o, true
}

// zrangeBounds are the parsed <min> <max> of a ZRANGE-family command.
type zrangeBounds struct {
	start, end int64
	score      scoreRange
	lex        lexRange
}

// parseZrangeBounds parses min and max for o.typ, writing Redis's error.
func parseZrangeBounds(c *Client, min, max []byte, typ zrangeType) (zrangeBounds, bool) {
	var b zrangeBounds
	var ok bool
	switch typ {
	case zrangeRank:
		if b.start, ok = parseLong(c, min); !ok {
			return b, false
		}
		if b.end, ok = parseLong(c, max); !ok {
			return b, false
		}
	case zrangeScore:
		if b.score, ok = parseScoreRange(min, max); !ok {
			c.W.WriteError(errMinMaxFloat)
		}
	case zrangeLex:
		if b.lex, ok = parseLexRange(min, max); !ok {
			c.W.WriteError(errMinMaxLex)
		}
	}
	return b, ok
}

// zrangeCommand runs ZRANGE, ZRANGESTORE (dst not nil), ZREVRANGE and the
// Z[REV]RANGEBY{SCORE,LEX} commands; src is the index of the source key
// (zrangeGenericCommand).
func zrangeCommand(c *Client, args [][]byte, src int, dst []byte, typ zrangeType, reverse bool) {
	store := dst != nil
	o, ok := parseZrangeOpts(c, args[src+3:], store, zrangeOpts{typ: typ, reverse: reverse})
	if !ok {
		return
	}
	lo, hi := args[src+1], args[src+2]
	if o.reverse && o.typ != zrangeRank {
		lo, hi = hi, lo // given as max, min
	}
	b, ok := parseZrangeBounds(c, lo, hi, o.typ)
	if !ok {
		return
	}
	z, ok := c.lookupZset(args[src], true)
	if !ok {
		return
	}
	sel := noSel()
	if z != nil {
		sel = selectRange(z, &o, &b)
	}
	if store {
		storeSelection(c, dst, z, sel)
		return
	}
	writeSelection(c, z, sel, o.withScores)
}

// selectRange turns a parsed range into a selection of z.
func selectRange(z *zset, o *zrangeOpts, b *zrangeBounds) zsel {
	switch o.typ {
	case zrangeRank:
		return selectRank(z, b.start, b.end, o.reverse)
	case zrangeScore:
		r := &b.score
		if o.reverse {
			return offsetSel(z, z.lastInScore(r), o, func(e zsetEntry) bool { return r.gteMin(e.score) })
		}
		return offsetSel(z, z.firstInScore(r), o, func(e zsetEntry) bool { return r.lteMax(e.score) })
	default:
		r := &b.lex
		if o.reverse {
			return offsetSel(z, z.lastInLex(r), o, func(e zsetEntry) bool { return r.gteMin(e.member) })
		}
		return offsetSel(z, z.firstInLex(r), o, func(e zsetEntry) bool { return r.lteMax(e.member) })
	}
}

// selectRank selects ranks start..end (negative: from the end), counted
// from the end when reverse.
func selectRank(z *zset, start, end int64, reverse bool) zsel {
	n := int64(z.len())
	start, end, ok := clipRanks(start, end, n)
	if !ok {
		return noSel()
	}
	from := start
	if reverse {
		from = n - 1 - start
	}
	return zsel{from: int(from), reverse: reverse, limit: end - start + 1}
}

// clipRanks normalizes a rank range over n entries as Redis does; ok is
// false when it is empty.
func clipRanks(start, end, n int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	if start > end || start >= n {
		return 0, 0, false
	}
	return start, min(end, n-1), true
}

// offsetSel selects from rank first (-1: nothing), skipping o.offset
// entries in the walk's direction; a negative offset selects nothing, as
// Redis's skip loop never ends.
func offsetSel(z *zset, first int, o *zrangeOpts, in func(e zsetEntry) bool) zsel {
	if first < 0 || o.offset < 0 || o.offset >= int64(z.len()) {
		return noSel()
	}
	from := int64(first) + o.offset
	if o.reverse {
		from = int64(first) - o.offset
	}
	return zsel{from: int(from), reverse: o.reverse, limit: o.limit, in: in}
}

// writeSelection replies with the selected members (and scores: flat under
// RESP2, pairs under RESP3).
func writeSelection(c *Client, z *zset, sel zsel, withScores bool) {
	if z == nil {
		c.W.WriteArray(0)
		return
	}
	n := sel.walk(z, nil)
	pairs := withScores && c.W.Proto() >= 3
	if withScores && !pairs {
		c.W.WriteArray(2 * n)
	} else {
		c.W.WriteArray(n)
	}
	sel.walk(z, func(e zsetEntry) {
		if pairs {
			c.W.WriteArray(2)
		}
		c.W.WriteBulkString(e.member)
		if withScores {
			writeScore(c, e.score)
		}
	})
}

// storeSelection stores the selection at dst (ZRANGESTORE) and replies
// with its size.
func storeSelection(c *Client, dst []byte, z *zset, sel zsel) {
	var entries []zsetEntry
	if z != nil {
		entries = make([]zsetEntry, 0, sel.walk(z, nil))
		sel.walk(z, func(e zsetEntry) { entries = append(entries, e) })
	}
	c.storeZset(dst, buildZset(entries))
	c.W.WriteInt(int64(len(entries)))
}

// zremrange is ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX.
func zremrange(c *Client, args [][]byte, typ zrangeType) {
	b, ok := parseZrangeBounds(c, args[2], args[3], typ)
	if !ok {
		return
	}
	key := args[1]
	z, ok := c.lookupZset(key, false)
	if !ok {
		return
	}
	if z == nil {
		c.W.WriteInt(0)
		return
	}
	start, end := -1, -2
	switch typ {
	case zrangeRank:
		if s, e, ok := clipRanks(b.start, b.end, int64(z.len())); ok {
			start, end = int(s), int(e)
		}
	case zrangeScore:
		if start = z.firstInScore(&b.score); start >= 0 {
			end = z.lastInScore(&b.score)
		}
	case zrangeLex:
		// Delete forward from the first member >= min while <= max, as
		// zzlDeleteRangeByLex and zslDeleteRangeByLex do.
		if start = z.firstInLex(&b.lex); start >= 0 {
			n := zsel{from: start, limit: -1, in: func(e zsetEntry) bool { return b.lex.lteMax(e.member) }}.walk(z, nil)
			end = start + n - 1
		}
	}
	n := 0
	if start >= 0 && end >= start {
		n = z.removeRange(start, end, nil)
	}
	if n > 0 {
		c.zsetChanged(key, z)
	}
	c.W.WriteInt(int64(n))
}
