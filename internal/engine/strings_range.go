package engine

import (
	"strings"
	"unsafe"
)

// checkStringLength writes Redis's error and reports false when a string
// of size+add bytes would exceed maxStringLen (with size+add possibly
// overflowing).
func checkStringLength(c *Client, size, add int64) bool {
	if size > maxStringLen-add {
		c.W.WriteError(errStringLimit)
		return false
	}
	return true
}

func cmdStrlen(c *Client, args [][]byte) {
	v, ok := c.getString(args[1])
	switch {
	case !ok:
	case v == nil:
		c.W.WriteInt(0)
	default:
		c.W.WriteInt(int64(len(v.str)))
	}
}

// cmdAppend is APPEND. A new key is stored as SET would store it; an
// existing one becomes "raw", as Redis unshares it to append in place.
func cmdAppend(c *Client, args [][]byte) {
	key, add := args[1], args[2]
	v := c.db.lookup(c.e, key)
	if v == nil {
		c.db.add(c.e, key, Value{str: string(add)})
		c.W.WriteInt(int64(len(add)))
		return
	}
	if v.obj != nil {
		c.W.WriteError(errWrongType)
		return
	}
	if !checkStringLength(c, int64(len(v.str)), int64(len(add))) {
		return
	}
	s, room := appendString(v, add)
	c.store(key, v, Value{str: s, enc: encRaw, room: room}, true)
	c.W.WriteInt(int64(len(s)))
}

// appendString returns v's string with add appended, and the spare bytes
// the result owns. Like Redis's sds, a string that is appended to gets
// spare capacity (double its size, at most 1 MiB more), and later appends
// write into it: n appends cost O(total bytes), not O(n × size).
//
// Writing into the spare bytes of a string's allocation is safe because
// no string refers to them: every string made from the allocation ends at
// or before len(v.str), and only the value that owns the room (never a
// copy, see Value.clone) writes past it.
func appendString(v *Value, add []byte) (string, uint32) {
	n := len(v.str) + len(add)
	if len(add) <= int(v.room) {
		buf := unsafe.Slice(unsafe.StringData(v.str), n)
		copy(buf[len(v.str):], add)
		return unsafe.String(unsafe.StringData(v.str), n), v.room - uint32(len(add))
	}
	size := n + min(n, 1<<20)
	buf := make([]byte, n, size)
	copy(buf, v.str)
	copy(buf[len(v.str):], add)
	return unsafe.String(unsafe.SliceData(buf), n), uint32(size - n)
}

// cmdSetRange is SETRANGE: value written at offset, the string padded
// with zero bytes as needed. An empty value changes nothing (and creates
// no key) but still replies with the length.
func cmdSetRange(c *Client, args [][]byte) {
	key, val := args[1], args[3]
	off, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	if off < 0 {
		c.W.WriteError("ERR offset is out of range")
		return
	}
	v := c.db.lookup(c.e, key)
	var old string
	if v != nil {
		if v.obj != nil {
			c.W.WriteError(errWrongType)
			return
		}
		old = v.str
	}
	if len(val) == 0 {
		c.W.WriteInt(int64(len(old)))
		return
	}
	if !checkStringLength(c, off, int64(len(val))) {
		return
	}
	end := int(off) + len(val)
	var sb strings.Builder
	sb.Grow(max(end, len(old)))
	if int(off) <= len(old) {
		sb.WriteString(old[:off])
	} else {
		sb.WriteString(old)
		var zeros [4096]byte
		for n := int(off) - len(old); n > 0; n -= len(zeros) {
			sb.Write(zeros[:min(n, len(zeros))])
		}
	}
	sb.Write(val)
	if end < len(old) {
		sb.WriteString(old[end:])
	}
	s := sb.String()
	c.store(key, v, Value{str: s, enc: encRaw}, true)
	c.W.WriteInt(int64(len(s)))
}

// cmdGetRange is GETRANGE and SUBSTR, with Redis 7.0's index rules:
// negative indexes count from the end, both negative with start > end is
// empty, and the range is then clamped to the string.
func cmdGetRange(c *Client, args [][]byte) {
	start, ok := parseInt(args[2])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	end, ok := parseInt(args[3])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	v, ok := c.getString(args[1])
	if !ok {
		return
	}
	if v == nil {
		c.W.WriteBulkString("")
		return
	}
	s := v.str
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		c.W.WriteBulkString("")
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.W.WriteBulkString("")
		return
	}
	c.W.WriteBulkString(s[start : end+1])
}

// lcsRange is one match of LCS IDX: a[aStart:aEnd+1] equals
// b[bStart:bEnd+1].
type lcsRange struct{ aStart, aEnd, bStart, bEnd int }

// cmdLCS is LCS: the longest common subsequence of two strings (a missing
// key is empty), by Redis's dynamic programming over a table of
// (len(a)+1)*(len(b)+1) counters, refused when that table would exceed
// proto-max-bulk-len bytes. LEN replies with its length only; IDX with
// the matching ranges, walked from the ends of the strings backwards,
// MINMATCHLEN dropping the shorter ones and WITHMATCHLEN adding lengths.
func cmdLCS(c *Client, args [][]byte) {
	va := c.db.lookupRead(c.e, args[1])
	vb := c.db.lookupRead(c.e, args[2])
	if (va != nil && va.obj != nil) || (vb != nil && vb.obj != nil) {
		c.W.WriteError("ERR The specified keys must contain string values")
		return
	}
	var a, b string
	if va != nil {
		a = va.str
	}
	if vb != nil {
		b = vb.str
	}
	var getLen, getIdx, withLen bool
	var minLen int64
	for j := 3; j < len(args); j++ {
		opt := cPrefix(args[j])
		switch {
		case asciiEqualFold(opt, "idx"):
			getIdx = true
		case asciiEqualFold(opt, "len"):
			getLen = true
		case asciiEqualFold(opt, "withmatchlen"):
			withLen = true
		case asciiEqualFold(opt, "minmatchlen") && j+1 < len(args):
			n, ok := parseInt(args[j+1])
			if !ok {
				c.W.WriteError(errNotInt)
				return
			}
			minLen = max(n, 0)
			j++
		default:
			c.W.WriteError(errSyntax)
			return
		}
	}
	if getIdx && getLen {
		c.W.WriteError("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	if (int64(len(a))+1)*(int64(len(b))+1)*4 > maxStringLen {
		c.W.WriteError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	if getLen {
		c.W.WriteInt(int64(lcsLength(a, b)))
		return
	}

	// dp[i*w+j] is the LCS length of a[:i] and b[:j].
	w := len(b) + 1
	dp := make([]uint32, (len(a)+1)*w)
	for i := 1; i <= len(a); i++ {
		lcsRow(a[i-1], b, dp[(i-1)*w:i*w], dp[i*w:(i+1)*w])
	}
	total := int(dp[len(a)*w+len(b)])

	// Walk back from the ends, building the subsequence and, for IDX, the
	// ranges of contiguous matches, exactly as Redis does.
	res := make([]byte, total)
	var ranges []lcsRange
	idx := total
	cur := lcsRange{aStart: -1}
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			res[idx-1] = a[i-1]
			switch {
			case cur.aStart < 0:
				cur = lcsRange{i - 1, i - 1, j - 1, j - 1}
			case cur.aStart == i && cur.bStart == j:
				cur.aStart--
				cur.bStart--
			default:
				emit = true
			}
			if cur.aStart == 0 || cur.bStart == 0 {
				emit = true
			}
			idx, i, j = idx-1, i-1, j-1
		} else {
			if dp[(i-1)*w+j] > dp[i*w+j-1] {
				i--
			} else {
				j--
			}
			emit = cur.aStart >= 0
		}
		if emit {
			if getIdx && int64(cur.aEnd-cur.aStart+1) >= minLen {
				ranges = append(ranges, cur)
			}
			cur.aStart = -1
		}
	}
	if !getIdx {
		c.W.WriteBulk(res)
		return
	}
	c.W.WriteMap(2)
	c.W.WriteBulkString("matches")
	c.W.WriteArray(len(ranges))
	for _, r := range ranges {
		if withLen {
			c.W.WriteArray(3)
		} else {
			c.W.WriteArray(2)
		}
		c.W.WriteArray(2)
		c.W.WriteInt(int64(r.aStart))
		c.W.WriteInt(int64(r.aEnd))
		c.W.WriteArray(2)
		c.W.WriteInt(int64(r.bStart))
		c.W.WriteInt(int64(r.bEnd))
		if withLen {
			c.W.WriteInt(int64(r.aEnd - r.aStart + 1))
		}
	}
	c.W.WriteBulkString("len")
	c.W.WriteInt(int64(total))
}

// lcsLength is the length of the longest common subsequence of a and b,
// computed with two rows of the table only.
func lcsLength(a, b string) uint32 {
	prev := make([]uint32, len(b)+1)
	row := make([]uint32, len(b)+1)
	for i := 1; i <= len(a); i++ {
		lcsRow(a[i-1], b, prev, row)
		prev, row = row, prev
	}
	return prev[len(b)]
}

// lcsRow fills one row of the LCS table: row[j] is the LCS length of the
// prefix ending in ch against b[:j], given the previous row.
func lcsRow(ch byte, b string, prev, row []uint32) {
	for j := 1; j <= len(b); j++ {
		switch {
		case ch == b[j-1]:
			row[j] = prev[j-1] + 1
		case prev[j] > row[j-1]:
			row[j] = prev[j]
		default:
			row[j] = row[j-1]
		}
	}
}
