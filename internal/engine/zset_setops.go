package engine

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
)

// zsetOpKind is the operation of zsetOp.
type zsetOpKind uint8

const (
	opUnion zsetOpKind = iota
	opInter
	opDiff
	opInterCard
)

// Aggregates of ZUNION and ZINTER.
const (
	aggrSum = iota
	aggrMin
	aggrMax
)

// zsetSource is one input of ZUNION, ZINTER, ZDIFF and their kin: a
// sorted set, a set (every member scores 1) or a missing key (empty).
type zsetSource struct {
	z      *zset
	s      *set
	weight float64
}

func (src *zsetSource) len() int {
	switch {
	case src.z != nil:
		return src.z.len()
	case src.s != nil:
		return src.s.len()
	}
	return 0
}

// each calls fn for every member and its score.
func (src *zsetSource) each(fn func(member string, score float64)) {
	switch {
	case src.z != nil:
		src.z.each(func(e zsetEntry) { fn(e.member, e.score) })
	case src.s != nil:
		for i := range src.s.len() {
			fn(setElemString(src.s.at(i)), 1)
		}
	}
}

// find returns the score of member.
func (src *zsetSource) find(member string) (float64, bool) {
	switch {
	case src.z != nil:
		return src.z.score([]byte(member))
	case src.s != nil:
		return 1, src.s.hasBytes([]byte(member))
	}
	return 0, false
}

// setElemString is a member of a set as a string; the set type yields the
// members of an intset as integers.
func setElemString(e elem) string {
	if e.isInt {
		return strconv.FormatInt(e.n, 10)
	}
	return e.s
}

// zsetOpArgs are the parsed arguments of zsetOp.
type zsetOpArgs struct {
	srcs       []zsetSource
	aggregate  int
	withScores bool
	limit      int64
}

// zsetOp runs ZUNION, ZINTER, ZDIFF, ZINTERCARD and, with dst, ZUNIONSTORE,
// ZINTERSTORE and ZDIFFSTORE; numkeys is at args[idx]
// (zunionInterDiffGenericCommand).
func zsetOp(c *Client, args [][]byte, dst []byte, idx int, op zsetOpKind) {
	a, ok := parseZsetOpArgs(c, args, dst != nil, idx, op)
	if !ok {
		return
	}
	if op != opDiff {
		slices.SortStableFunc(a.srcs, func(x, y zsetSource) int { return x.len() - y.len() })
	}
	switch op {
	case opInterCard:
		c.W.WriteInt(int64(zinter(a.srcs, a.aggregate, a.limit, nil)))
		return
	}
	var entries []zsetEntry
	switch op {
	case opUnion:
		entries = zunion(a.srcs, a.aggregate)
	case opInter:
		zinter(a.srcs, a.aggregate, 0, func(e zsetEntry) { entries = append(entries, e) })
	case opDiff:
		entries = zdiff(a.srcs)
	}
	if dst != nil {
		c.storeZset(dst, buildZset(entries))
		c.W.WriteInt(int64(len(entries)))
		return
	}
	slices.SortFunc(entries, cmpEntries)
	writeEntries(c, entries, a.withScores)
}

// parseZsetOpArgs reads numkeys, looks the keys up and parses the options,
// in Redis's order, writing its error on failure.
func parseZsetOpArgs(c *Client, args [][]byte, store bool, idx int, op zsetOpKind) (zsetOpArgs, bool) {
	var a zsetOpArgs
	n, ok := parseLong(c, args[idx])
	if !ok {
		return a, false
	}
	if n < 1 {
		c.W.WriteError("ERR at least 1 input key is needed for '" + string(bytes.ToLower(args[0])) + "' command")
		return a, false
	}
	if n > int64(len(args)-idx-1) {
		c.W.WriteError(errSyntax)
		return a, false
	}
	a.srcs = make([]zsetSource, n)
	j := idx + 1
	for i := range a.srcs {
		v := c.db.lookupRead(c.e, args[j])
		j++
		a.srcs[i].weight = 1
		if v == nil {
			continue
		}
		switch o := v.obj.(type) {
		case *zset:
			a.srcs[i].z = o
		case *set:
			a.srcs[i].s = o
		default:
			c.W.WriteError(errWrongType)
			return a, false
		}
	}
	return a, parseZsetOpOptions(c, args[j:], &a, store, op)
}

// parseZsetOpOptions parses WEIGHTS, AGGREGATE, WITHSCORES and (ZINTERCARD)
// LIMIT.
func parseZsetOpOptions(c *Client, args [][]byte, a *zsetOpArgs, store bool, op zsetOpKind) bool {
	card := op == opInterCard
	for j := 0; j < len(args); {
		left := len(args) - j
		switch opt := args[j]; {
		case op != opDiff && !card && left >= len(a.srcs)+1 && bytes.EqualFold(opt, []byte("weights")):
			j++
			for i := range a.srcs {
				w, ok := parseScore(args[j])
				if !ok {
					c.W.WriteError(errWeightFloat)
					return false
				}
				a.srcs[i].weight = w
				j++
			}
		case op != opDiff && !card && left >= 2 && bytes.EqualFold(opt, []byte("aggregate")):
			switch g := args[j+1]; {
			case bytes.EqualFold(g, []byte("sum")):
				a.aggregate = aggrSum
			case bytes.EqualFold(g, []byte("min")):
				a.aggregate = aggrMin
			case bytes.EqualFold(g, []byte("max")):
				a.aggregate = aggrMax
			default:
				c.W.WriteError(errSyntax)
				return false
			}
			j += 2
		case !store && !card && bytes.EqualFold(opt, []byte("withscores")):
			a.withScores = true
			j++
		case card && left >= 2 && bytes.EqualFold(opt, []byte("limit")):
			l, ok := parseInt(args[j+1])
			if !ok || l < 0 {
				c.W.WriteError(errLimitNegative)
				return false
			}
			a.limit = l
			j += 2
		default:
			c.W.WriteError(errSyntax)
			return false
		}
	}
	return true
}

// aggregate folds val into *target (zunionInterAggregate); a sum of +inf
// and -inf is 0.
func aggregate(target *float64, val float64, how int) {
	switch how {
	case aggrSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggrMin:
		if val < *target {
			*target = val
		}
	case aggrMax:
		if val > *target {
			*target = val
		}
	}
}

// weighted is score times weight, with 0 for NaN (inf × 0).
func weighted(score, weight float64) float64 {
	v := score * weight
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// zinter walks the smallest source and keeps the members found in every
// other one, calling emit (when not nil) with each; it stops after limit
// members when limit > 0, and returns how many it found.
func zinter(srcs []zsetSource, how int, limit int64, emit func(e zsetEntry)) int {
	if srcs[0].len() == 0 {
		return 0
	}
	n := 0
	stop := false
	srcs[0].each(func(member string, s float64) {
		if stop {
			return
		}
		score := weighted(s, srcs[0].weight)
		for j := 1; j < len(srcs); j++ {
			v, ok := srcs[j].find(member)
			if !ok {
				return
			}
			aggregate(&score, v*srcs[j].weight, how)
		}
		n++
		if emit != nil {
			emit(zsetEntry{member, score})
		}
		stop = limit > 0 && int64(n) >= limit
	})
	return n
}

// zunion aggregates every member of every source.
func zunion(srcs []zsetSource, how int) []zsetEntry {
	acc := make(map[string]int, srcs[len(srcs)-1].len())
	var entries []zsetEntry
	for i := range srcs {
		srcs[i].each(func(member string, s float64) {
			score := weighted(s, srcs[i].weight)
			if k, ok := acc[member]; ok {
				aggregate(&entries[k].score, score, how)
				return
			}
			acc[member] = len(entries)
			entries = append(entries, zsetEntry{member, score})
		})
	}
	return entries
}

// zdiff keeps the members of the first source that are in no other one,
// with their scores.
func zdiff(srcs []zsetSource) []zsetEntry {
	var entries []zsetEntry
	srcs[0].each(func(member string, s float64) {
		for j := 1; j < len(srcs); j++ {
			if _, ok := srcs[j].find(member); ok {
				return
			}
		}
		entries = append(entries, zsetEntry{member, s})
	})
	return entries
}

// cmpEntries orders entries as a sorted set does.
func cmpEntries(a, b zsetEntry) int {
	switch {
	case a.score < b.score:
		return -1
	case a.score > b.score:
		return 1
	}
	return strings.Compare(a.member, b.member)
}

// writeEntries replies with entries (and scores: flat under RESP2, pairs
// under RESP3).
func writeEntries(c *Client, entries []zsetEntry, withScores bool) {
	pairs := withScores && c.W.Proto() >= 3
	if withScores && !pairs {
		c.W.WriteArray(2 * len(entries))
	} else {
		c.W.WriteArray(len(entries))
	}
	for _, e := range entries {
		if pairs {
			c.W.WriteArray(2)
		}
		c.W.WriteBulkString(e.member)
		if withScores {
			writeScore(c, e.score)
		}
	}
}
