package engine

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"

	"redoubt/internal/resp"
)

// maxRandomCount bounds the reply of HRANDFIELD with a negative count
// (which may repeat fields, so its size does not depend on the data).
// Redis has no bound; one command could make it build a reply of billions
// of elements. A larger count is answered with Redis's "value is out of
// range" error.
const maxRandomCount = resp.DefaultMaxArgs

// cmdHRandField is HRANDFIELD key [count [WITHVALUES]] with Redis 7.0's
// semantics: without count one random field (or null); a positive count
// gives distinct fields (all of them when count ≥ the size; from a
// listpack in listpack order); a negative count gives that many fields
// drawn independently, so they may repeat.
func cmdHRandField(c *Client, args [][]byte) {
	if len(args) == 2 {
		h, ok := c.lookupHash(args[1], true)
		if !ok {
			return
		}
		if h == nil {
			c.W.WriteNull()
			return
		}
		f, _ := h.random()
		c.W.WriteBulkString(f)
		return
	}
	l, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	if l < -math.MaxInt64 {
		c.W.WriteError("ERR value is out of range, value must between " +
			strconv.FormatInt(-math.MaxInt64, 10) + " and " + strconv.FormatInt(math.MaxInt64, 10))
		return
	}
	withValues := false
	if len(args) > 4 || (len(args) == 4 && !bytes.EqualFold(args[3], []byte("withvalues"))) {
		c.W.WriteError(errSyntax)
		return
	}
	if len(args) == 4 {
		withValues = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.W.WriteError("ERR value is out of range")
			return
		}
	}
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	if h == nil || l == 0 {
		c.W.WriteArray(0)
		return
	}
	if l < -maxRandomCount {
		c.W.WriteError("ERR value is out of range")
		return
	}
	w := randWriter{c: c, withValues: withValues}
	size := h.len()
	// Repeats allowed (negative count), or a single field.
	if l < 0 || l == 1 {
		count := int(-l)
		if l == 1 {
			count = 1
		}
		w.header(count)
		for range count {
			w.pair(h.random())
		}
		return
	}
	count := int(min(l, int64(size)))
	w.header(count)
	switch {
	case count == size:
		h.each(w.pair)
	case h.ht == nil:
		// Selection sampling keeps listpack order, as lpRandomPairsUnique.
		need := count
		for i, p := range h.lp {
			if rand.IntN(size-i) < need {
				w.pair(p.field, p.value)
				need--
			}
		}
	case count*3 > size:
		// Many of the fields: shuffle a copy partially.
		pairs := make([]hashPair, 0, size)
		h.each(func(f, v string) { pairs = append(pairs, hashPair{f, v}) })
		for i := range count {
			j := i + rand.IntN(size-i)
			pairs[i], pairs[j] = pairs[j], pairs[i]
			w.pair(pairs[i].field, pairs[i].value)
		}
	default:
		// Few of the fields: draw until count distinct ones were seen.
		seen := make(map[string]struct{}, count)
		for len(seen) < count {
			f, v := h.random()
			if _, dup := seen[f]; dup {
				continue
			}
			seen[f] = struct{}{}
			w.pair(f, v)
		}
	}
}

// random returns a random field of a non-empty hash and its value.
func (h *hash) random() (field, value string) {
	if h.ht != nil {
		k, v, _ := h.ht.Random()
		return k, *v
	}
	p := h.lp[rand.IntN(len(h.lp))]
	return p.field, p.value
}

// randWriter writes the elements of an HRANDFIELD reply: fields, or
// field-value pairs (flat under RESP2, two-element arrays under RESP3).
type randWriter struct {
	c          *Client
	withValues bool
}

func (w randWriter) header(n int) {
	if w.withValues && w.c.W.Proto() < 3 {
		n *= 2
	}
	w.c.W.WriteArray(n)
}

func (w randWriter) pair(field, value string) {
	if !w.withValues {
		w.c.W.WriteBulkString(field)
		return
	}
	if w.c.W.Proto() >= 3 {
		w.c.W.WriteArray(2)
	}
	w.c.W.WriteBulkString(field)
	w.c.W.WriteBulkString(value)
}
