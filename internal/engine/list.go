package engine

import "math/bits"

// Memory accounting of a list (see list.memory). The constants describe
// the real cost of the ring on a 64-bit Go runtime.
const (
	// listHeaderSize is the list struct itself: the ring's slice header
	// (24 bytes) and the head, length and byte counters (8 bytes each).
	listHeaderSize = 48
	// listSlotSize is one slot of the ring: a string header (pointer and
	// length). Every slot counts, used or spare, since the ring holds
	// them all.
	listSlotSize = 16
	// listAllocSlack is the average rounding of an element's own
	// allocation up to the runtime's size class (8-byte classes for small
	// strings, wider ones above), counted per element.
	listAllocSlack = 8
)

// Ring sizes: a ring starts with at least listMinCap slots, doubles when
// full, and halves once it is less than a quarter used (never below
// listMinCap), so pushes and pops stay amortized O(1) and a list that
// shrinks gives its memory back.
const listMinCap = 8

// list is a value of the list type: a double-ended queue of strings in a
// ring buffer whose size is a power of two. Pushes and pops at either end
// and access by index are O(1); inserting or removing inside moves the
// elements of the shorter side. Elements are Go strings, immutable, so a
// clone may share them.
//
// Redis 7.0 stores every list as a quicklist, and so OBJECT ENCODING
// reports "quicklist" whatever the size.
type list struct {
	buf   []string // the ring; len(buf) is 0 or a power of two
	head  int      // ring index of element 0
	n     int      // number of elements
	bytes int64    // sum of the elements' lengths
}

func (l *list) typeName() string { return "list" }

func (l *list) encoding() string { return "quicklist" }

// clone copies the list into a ring of the same size.
func (l *list) clone() object {
	c := &list{buf: make([]string, len(l.buf)), n: l.n, bytes: l.bytes}
	a, b := l.span(0, l.n)
	copy(c.buf[copy(c.buf, a):], b)
	return c
}

// memory estimates the bytes the list holds in O(1): the struct, every
// slot of the ring, the elements' bytes and their allocation slack.
func (l *list) memory() int64 {
	return listHeaderSize + int64(len(l.buf))*listSlotSize + l.bytes + int64(l.n)*listAllocSlack
}

// len reports the number of elements.
func (l *list) len() int { return l.n }

// slot returns the ring index of element i.
func (l *list) slot(i int) int { return (l.head + i) & (len(l.buf) - 1) }

// at returns element i; 0 <= i < len.
func (l *list) at(i int) string { return l.buf[l.slot(i)] }

// span returns the elements from position from to to (exclusive) as at
// most two slices of the ring, in order, for loops without index math.
// The slices are valid until the list changes.
func (l *list) span(from, to int) (a, b []string) {
	if from >= to {
		return nil, nil
	}
	start, end := l.slot(from), l.slot(to-1)+1
	if start < end {
		return l.buf[start:end], nil
	}
	return l.buf[start:], l.buf[:end]
}

// set replaces element i; 0 <= i < len.
func (l *list) set(i int, s string) {
	p := &l.buf[l.slot(i)]
	l.bytes += int64(len(s) - len(*p))
	*p = s
}

// index resolves a Redis index (negative counts from the tail) to a
// position, reporting false when it is out of range.
func (l *list) index(i int64) (int, bool) {
	if i < 0 {
		i += int64(l.n)
	}
	if i < 0 || i >= int64(l.n) {
		return 0, false
	}
	return int(i), true
}

// reserve makes room for extra more elements.
func (l *list) reserve(extra int) {
	if l.n+extra <= len(l.buf) {
		return
	}
	l.resize(l.n + extra)
}

// resize moves the elements to a new ring of at least want slots (and
// listMinCap), rounded up to a power of two, with element 0 at slot 0.
func (l *list) resize(want int) {
	size := listMinCap
	if want > listMinCap {
		size = 1 << bits.Len(uint(want-1))
	}
	buf := make([]string, size)
	if l.n > 0 {
		end := l.head + l.n
		if end <= len(l.buf) {
			copy(buf, l.buf[l.head:end])
		} else {
			k := copy(buf, l.buf[l.head:])
			copy(buf[k:], l.buf[:end-len(l.buf)])
		}
	}
	l.buf, l.head = buf, 0
}

// shrink halves the ring while it is less than a quarter full.
func (l *list) shrink() {
	if len(l.buf) > listMinCap && l.n < len(l.buf)/4 {
		l.resize(2 * l.n)
	}
}

// pushFront adds s before the first element.
func (l *list) pushFront(s string) {
	l.reserve(1)
	l.head = (l.head - 1) & (len(l.buf) - 1)
	l.buf[l.head] = s
	l.n++
	l.bytes += int64(len(s))
}

// pushBack adds s after the last element.
func (l *list) pushBack(s string) {
	l.reserve(1)
	l.buf[l.slot(l.n)] = s
	l.n++
	l.bytes += int64(len(s))
}

// push adds s at the head (left) or the tail.
func (l *list) push(s string, left bool) {
	if left {
		l.pushFront(s)
	} else {
		l.pushBack(s)
	}
}

// popFront removes and returns the first element; the list is not empty.
func (l *list) popFront() string {
	p := &l.buf[l.head]
	s := *p
	*p = "" // let the collector have the string
	l.head = (l.head + 1) & (len(l.buf) - 1)
	l.n--
	l.bytes -= int64(len(s))
	l.shrink()
	return s
}

// popBack removes and returns the last element; the list is not empty.
func (l *list) popBack() string {
	p := &l.buf[l.slot(l.n-1)]
	s := *p
	*p = ""
	l.n--
	l.bytes -= int64(len(s))
	l.shrink()
	return s
}

// pop removes and returns the element at the head (left) or the tail.
func (l *list) pop(left bool) string {
	if left {
		return l.popFront()
	}
	return l.popBack()
}

// dropFront removes the first k elements (k <= len).
func (l *list) dropFront(k int) {
	for i := range k {
		p := &l.buf[l.slot(i)]
		l.bytes -= int64(len(*p))
		*p = ""
	}
	if k > 0 {
		l.head = l.slot(k)
		l.n -= k
		l.shrink()
	}
}

// dropBack removes the last k elements (k <= len).
func (l *list) dropBack(k int) {
	for i := l.n - k; i < l.n; i++ {
		p := &l.buf[l.slot(i)]
		l.bytes -= int64(len(*p))
		*p = ""
	}
	if k > 0 {
		l.n -= k
		l.shrink()
	}
}

// insert puts s at position i (0 <= i <= len), moving the elements of the
// shorter side by one.
func (l *list) insert(i int, s string) {
	l.reserve(1)
	if i < l.n/2 {
		l.head = (l.head - 1) & (len(l.buf) - 1)
		for j := 0; j < i; j++ {
			l.buf[l.slot(j)] = l.buf[l.slot(j+1)]
		}
	} else {
		for j := l.n; j > i; j-- {
			l.buf[l.slot(j)] = l.buf[l.slot(j-1)]
		}
	}
	l.buf[l.slot(i)] = s
	l.n++
	l.bytes += int64(len(s))
}

// find returns the position of the first element equal to s, or -1.
func (l *list) find(s []byte) int {
	for i := range l.n {
		if l.at(i) == string(s) {
			return i
		}
	}
	return -1
}

// remove deletes the elements equal to s, at most limit of them (0 for
// all; a negative limit, which only the wrapped -math.MinInt64 of LREM
// can be, also means all), scanning from the tail when fromTail, and returns how many it
// removed. The other elements keep their order.
func (l *list) remove(s []byte, limit int64, fromTail bool) int64 {
	if limit == 1 { // the common LREM key 1 x: move only the shorter side
		return l.removeOne(s, fromTail)
	}
	if fromTail {
		return l.removeFromTail(s, limit)
	}
	var removed int64
	w := 0
	for r := range l.n {
		e := l.at(r)
		if (limit <= 0 || removed < limit) && e == string(s) {
			removed++
			l.bytes -= int64(len(e))
			continue
		}
		if w != r {
			l.buf[l.slot(w)] = e
		}
		w++
	}
	for i := w; i < l.n; i++ {
		l.buf[l.slot(i)] = ""
	}
	l.n = w
	l.shrink()
	return removed
}

// removeOne removes the first element equal to s (the last when
// fromTail) and reports how many it removed, 0 or 1.
func (l *list) removeOne(s []byte, fromTail bool) int64 {
	for k := range l.n {
		i := k
		if fromTail {
			i = l.n - 1 - k
		}
		if l.at(i) == string(s) {
			l.removeAt(i)
			return 1
		}
	}
	return 0
}

// removeAt deletes element i, moving the elements of the shorter side by
// one.
func (l *list) removeAt(i int) {
	l.bytes -= int64(len(l.at(i)))
	if i < l.n/2 {
		for j := i; j > 0; j-- {
			l.buf[l.slot(j)] = l.buf[l.slot(j-1)]
		}
		l.buf[l.head] = ""
		l.head = l.slot(1)
	} else {
		for j := i; j < l.n-1; j++ {
			l.buf[l.slot(j)] = l.buf[l.slot(j+1)]
		}
		l.buf[l.slot(l.n-1)] = ""
	}
	l.n--
	l.shrink()
}

// removeFromTail is remove scanning from the tail: the kept elements
// slide toward the tail and the head advances.
func (l *list) removeFromTail(s []byte, limit int64) int64 {
	var removed int64
	w := l.n - 1
	for r := l.n - 1; r >= 0; r-- {
		e := l.at(r)
		if (limit <= 0 || removed < limit) && e == string(s) {
			removed++
			l.bytes -= int64(len(e))
			continue
		}
		if w != r {
			l.buf[l.slot(w)] = e
		}
		w--
	}
	k := int(removed)
	for i := range k {
		l.buf[l.slot(i)] = ""
	}
	if k > 0 {
		l.head = l.slot(k)
		l.n -= k
		l.shrink()
	}
	return removed
}

// newList returns an empty list with room for n elements.
func newList(n int) *list {
	l := &list{}
	l.resize(n)
	return l
}
