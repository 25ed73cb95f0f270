package engine

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"unsafe"
)

// setMaxIntsetEntries is Redis 7.0's default set-max-intset-entries: a set
// stays "intset" encoded while it has at most this many members and every
// member is an integer.
const setMaxIntsetEntries = 512

// Memory accounting of a set (see set.memory). The constants describe the
// real cost of the structures on a 64-bit Go runtime.
const (
	// setStructSize is the set struct: two slice headers (24 bytes each),
	// the dict pointer and the byte counter, plus the Dict struct (seed,
	// two table headers, counters) once it is a hashtable.
	setStructSize = 64
	setDictSize   = 80
	// intsetSlotSize is one slot of the sorted int64 slice, spare slots
	// included.
	intsetSlotSize = 8
	// setEntryOverhead is one member of a hashtable beyond its bytes: its
	// dict entry (key header 16, index 8, next pointer 8: a 32-byte size
	// class) and about one bucket pointer (the table has between n and 2n).
	setEntryOverhead = 32 + 8
	// setMemberSlotSize is one slot of the dense members slice (a string
	// header), spare slots included.
	setMemberSlotSize = 16
)

// set is a value of the set type. Like Redis it has two encodings. A set
// of integers is an "intset": a sorted slice of int64, searched by binary
// search, so SMEMBERS lists it in ascending order as Redis does. Beyond
// setMaxIntsetEntries members, or once a member is not an integer (as
// Redis's string2ll reads it), it becomes a "hashtable" for good: a Dict
// from each member to its index in members, a dense slice that makes a
// random pick O(1) and exactly uniform (SPOP, SRANDMEMBER) and a removal
// a swap with the last member. The Dict gives SSCAN its reverse-binary
// cursor.
type set struct {
	is      []int64    // the intset encoding; nil once ht is set
	ht      *Dict[int] // the hashtable encoding: member → index in members
	members []string   // the hashtable's members, in no particular order
	bytes   int64      // allocated bytes of the hashtable's members
}

// elem is one member as a set yields it: an integer of an intset or a
// string of a hashtable. The same member is never both: an integer member
// of a hashtable is its canonical decimal string.
type elem struct {
	s     string
	n     int64
	isInt bool
}

// newSet returns an empty set; it starts as an intset, and the first
// member that is not an integer converts it, as Redis's setTypeCreate and
// setTypeAdd do between them.
func newSet() *set { return &set{} }

func (s *set) typeName() string { return "set" }

func (s *set) encoding() string {
	if s.ht != nil {
		return "hashtable"
	}
	return "intset"
}

// clone copies the set, keeping its encoding. Strings are immutable, so
// sharing them keeps the copy independent.
func (s *set) clone() object {
	if s.ht == nil {
		return &set{is: slices.Clone(s.is)}
	}
	c := &set{ht: NewDict[int](), members: make([]string, 0, len(s.members)), bytes: s.bytes}
	for _, m := range s.members {
		c.ht.Add(m, len(c.members))
		c.members = append(c.members, m)
	}
	return c
}

// memory estimates the bytes the set holds in O(1): the structs, every
// slot of its slices, and for a hashtable the dict entries and the
// members' allocations.
func (s *set) memory() int64 {
	if s.ht == nil {
		return setStructSize + int64(cap(s.is))*intsetSlotSize
	}
	return setStructSize + setDictSize + int64(len(s.members))*setEntryOverhead +
		int64(cap(s.members))*setMemberSlotSize + s.bytes
}

// len reports the number of members.
func (s *set) len() int {
	if s.ht != nil {
		return len(s.members)
	}
	return len(s.is)
}

// at returns member i, 0 <= i < len: in ascending order for an intset.
func (s *set) at(i int) elem {
	if s.ht != nil {
		return elem{s: s.members[i]}
	}
	return elem{n: s.is[i], isInt: true}
}

// random returns a uniformly random member of a non-empty set.
func (s *set) random() elem { return s.at(rand.IntN(s.len())) }

// popRandom removes and returns a uniformly random member of a non-empty
// set.
func (s *set) popRandom() elem {
	i := rand.IntN(s.len())
	e := s.at(i)
	if s.ht != nil {
		s.htRemoveAt(i)
	} else {
		s.is = slices.Delete(s.is, i, i+1)
	}
	return e
}

// intOf parses a member held as a string with Redis's string2ll rules.
func intOf(m string) (int64, bool) {
	if len(m) == 0 || len(m) > 20 {
		return 0, false
	}
	var buf [20]byte
	return parseInt(append(buf[:0], m...))
}

// hasInt reports whether the integer n is a member.
func (s *set) hasInt(n int64) bool {
	if s.ht == nil {
		_, found := slices.BinarySearch(s.is, n)
		return found
	}
	var buf [20]byte
	return s.ht.Get(strconv.AppendInt(buf[:0], n, 10)) != nil
}

// hasBytes reports whether b is a member.
func (s *set) hasBytes(b []byte) bool {
	if s.ht != nil {
		return s.ht.Get(b) != nil
	}
	n, ok := parseInt(b)
	return ok && s.hasInt(n)
}

// hasElem reports whether e is a member.
func (s *set) hasElem(e elem) bool {
	if e.isInt {
		return s.hasInt(e.n)
	}
	if s.ht != nil {
		return s.ht.GetString(e.s) != nil
	}
	n, ok := intOf(e.s)
	return ok && s.hasInt(n)
}

// addInt adds the integer n and reports whether it is new. An intset that
// grows past setMaxIntsetEntries becomes a hashtable.
func (s *set) addInt(n int64) bool {
	if s.ht != nil {
		var buf [20]byte
		return s.htAddBytes(strconv.AppendInt(buf[:0], n, 10))
	}
	i, found := slices.BinarySearch(s.is, n)
	if found {
		return false
	}
	s.is = slices.Insert(s.is, i, n)
	if len(s.is) > setMaxIntsetEntries {
		s.convert()
	}
	return true
}

// addBytes adds b, copying it, and reports whether it is new.
func (s *set) addBytes(b []byte) bool {
	if s.ht == nil {
		if n, ok := parseInt(b); ok {
			return s.addInt(n)
		}
		s.convert()
	}
	return s.htAddBytes(b)
}

// addElem adds e and reports whether it is new. A string is shared, not
// copied.
func (s *set) addElem(e elem) bool {
	if e.isInt {
		return s.addInt(e.n)
	}
	if s.ht == nil {
		if n, ok := intOf(e.s); ok {
			return s.addInt(n)
		}
		s.convert()
	}
	if s.ht.GetString(e.s) != nil {
		return false
	}
	s.htInsert(e.s)
	return true
}

// htAddBytes adds b to a hashtable and reports whether it is new.
func (s *set) htAddBytes(b []byte) bool {
	if s.ht.Get(b) != nil {
		return false
	}
	s.htInsert(string(b))
	return true
}

// htInsert adds m, known to be absent, to a hashtable.
func (s *set) htInsert(m string) {
	s.ht.Add(m, len(s.members))
	s.members = append(s.members, m)
	s.bytes += allocSize(len(m))
}

// htRemoveAt removes member i of a hashtable: the last member takes its
// place in members.
func (s *set) htRemoveAt(i int) {
	m := s.members[i]
	last := len(s.members) - 1
	if i != last {
		moved := s.members[last]
		s.members[i] = moved
		*s.ht.GetString(moved) = i
	}
	s.members[last] = ""
	s.members = s.members[:last]
	s.ht.deleteString(m)
	s.bytes -= allocSize(len(m))
	if cap(s.members) > 64 && len(s.members) < cap(s.members)/4 {
		s.members = slices.Clip(slices.Clone(s.members)) // give memory back
	}
}

// removeInt removes the integer n and reports whether it was a member.
func (s *set) removeInt(n int64) bool {
	if s.ht != nil {
		var buf [20]byte
		return s.htRemoveBytes(strconv.AppendInt(buf[:0], n, 10))
	}
	i, found := slices.BinarySearch(s.is, n)
	if found {
		s.is = slices.Delete(s.is, i, i+1)
	}
	return found
}

// removeBytes removes b and reports whether it was a member.
func (s *set) removeBytes(b []byte) bool {
	if s.ht != nil {
		return s.htRemoveBytes(b)
	}
	n, ok := parseInt(b)
	return ok && s.removeInt(n)
}

// removeElem removes e and reports whether it was a member.
func (s *set) removeElem(e elem) bool {
	if e.isInt {
		return s.removeInt(e.n)
	}
	if s.ht == nil {
		n, ok := intOf(e.s)
		return ok && s.removeInt(n)
	}
	p := s.ht.GetString(e.s)
	if p == nil {
		return false
	}
	s.htRemoveAt(*p)
	return true
}

// htRemoveBytes removes b from a hashtable.
func (s *set) htRemoveBytes(b []byte) bool {
	p := s.ht.Get(b)
	if p == nil {
		return false
	}
	s.htRemoveAt(*p)
	return true
}

// convert turns an intset into a hashtable.
func (s *set) convert() {
	s.ht = NewDict[int]()
	s.members = make([]string, 0, len(s.is)+1)
	for _, n := range s.is {
		s.htInsert(strconv.FormatInt(n, 10))
	}
	s.is = nil
}

// writeElem writes one member as a bulk string.
func writeElem(c *Client, e elem) {
	if e.isInt {
		c.W.WriteBulkInt(e.n)
		return
	}
	c.W.WriteBulkString(e.s)
}

// writeMembers writes every member, in ascending order for an intset.
func (s *set) writeMembers(c *Client) {
	if s.ht != nil {
		for _, m := range s.members {
			c.W.WriteBulkString(m)
		}
		return
	}
	for _, n := range s.is {
		c.W.WriteBulkInt(n)
	}
}

// deleteString is Delete for a string key, without copying it to a byte
// slice (which would allocate for a long key): Delete only reads the key.
func (d *Dict[V]) deleteString(key string) bool {
	return d.Delete(unsafe.Slice(unsafe.StringData(key), len(key)))
}
