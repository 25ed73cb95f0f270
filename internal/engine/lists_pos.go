package engine

import "bytes"

// lposOptions are the options of LPOS.
type lposOptions struct {
	rank     int64 // 1 = first match; negative counts matches from the tail
	count    int64 // -1 when COUNT was not given; 0 means all matches
	maxlen   int64 // elements to compare at most; 0 means all
	hasCount bool
}

// parseLPosOptions parses LPOS's RANK, COUNT and MAXLEN as Redis 7.0.15
// does, writing its error on bad input. Note that 7.0.15 accepts RANK
// math.MinInt64 (later versions refuse it); it then behaves as Redis does,
// with the same wrapping arithmetic.
func parseLPosOptions(c *Client, args [][]byte) (lposOptions, bool) {
	o := lposOptions{rank: 1, count: -1}
	for j := 0; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case more && bytes.EqualFold(args[j], []byte("rank")):
			j++
			r, ok := parseInt(args[j])
			if !ok {
				c.W.WriteError(errNotInt)
				return o, false
			}
			if r == 0 {
				c.W.WriteError(errRankZero)
				return o, false
			}
			o.rank = r
		case more && bytes.EqualFold(args[j], []byte("count")):
			j++
			n, ok := parseInt(args[j])
			if !ok || n < 0 {
				c.W.WriteError(errCountNegative)
				return o, false
			}
			o.count, o.hasCount = n, true
		case more && bytes.EqualFold(args[j], []byte("maxlen")):
			j++
			n, ok := parseInt(args[j])
			if !ok || n < 0 {
				c.W.WriteError(errMaxlenNeg)
				return o, false
			}
			o.maxlen = n
		default:
			c.W.WriteError(errSyntax)
			return o, false
		}
	}
	return o, true
}

// cmdLPos is LPOS key element [RANK rank] [COUNT num] [MAXLEN len]: the
// position of a match (or null), or with COUNT an array of positions.
func cmdLPos(c *Client, args [][]byte) {
	o, ok := parseLPosOptions(c, args[3:])
	if !ok {
		return
	}
	l, ok := c.lookupList(args[1], true)
	if !ok {
		return
	}
	if l == nil {
		if o.hasCount {
			c.W.WriteArray(0)
		} else {
			c.W.WriteNull()
		}
		return
	}
	first, all := lposScan(l, args[2], o)
	switch {
	case o.hasCount:
		c.W.WriteArray(len(all))
		for _, m := range all {
			c.W.WriteInt(int64(m))
		}
	case first < 0:
		c.W.WriteNull()
	default:
		c.W.WriteInt(int64(first))
	}
}

// lposScan finds what LPOS replies with: without COUNT the position of
// the match (first, -1 for none), with COUNT all the positions (all). The
// slice grows with the matches found, never with COUNT or MAXLEN.
func lposScan(l *list, elem []byte, o lposOptions) (first int, all []int) {
	rank, forward := o.rank, true
	if rank < 0 {
		rank, forward = -rank, false // math.MinInt64 stays negative, as in Redis
	}
	n := l.len()
	var matches int64
	for index := 0; index < n && (o.maxlen == 0 || int64(index) < o.maxlen); index++ {
		pos := index
		if !forward {
			pos = n - 1 - index
		}
		if l.at(pos) != string(elem) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		if !o.hasCount {
			return pos, nil
		}
		all = append(all, pos)
		if o.count != 0 && matches-rank+1 >= o.count {
			break
		}
	}
	return -1, all
}
