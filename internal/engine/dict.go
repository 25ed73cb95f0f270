package engine

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
)

// Dict is a chained hash table with incremental rehashing, as Redis's dict:
// a resize moves one bucket per operation instead of stopping the world,
// and Scan walks it with a reverse-binary cursor, so every element present
// for a whole scan is returned at least once even while the table grows or
// shrinks. Go's map offers neither.
//
// A Dict is not safe for concurrent use; the engine's lock guards it.
type Dict[V any] struct {
	seed   maphash.Seed
	ht     [2][]*dictEntry[V]
	used   [2]int
	rehash int // next bucket of ht[0] to move; -1 when not rehashing
}

type dictEntry[V any] struct {
	key  string
	val  V
	next *dictEntry[V]
}

const dictMinSize = 4

// NewDict returns an empty dict.
func NewDict[V any]() *Dict[V] {
	return &Dict[V]{seed: maphash.MakeSeed(), rehash: -1}
}

// Len reports the number of elements.
func (d *Dict[V]) Len() int { return d.used[0] + d.used[1] }

func (d *Dict[V]) rehashing() bool { return d.rehash >= 0 }

// Get returns a pointer to the value of key, valid until key is deleted,
// or nil.
func (d *Dict[V]) Get(key []byte) *V {
	if d.Len() == 0 {
		return nil
	}
	if d.rehashing() {
		d.rehashStep()
	}
	h := maphash.Bytes(d.seed, key)
	for t := 0; t < 2; t++ {
		tab := d.ht[t]
		if len(tab) == 0 {
			break
		}
		for e := tab[h&uint64(len(tab)-1)]; e != nil; e = e.next {
			if e.key == string(key) {
				return &e.val
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// GetString is Get for a string key.
func (d *Dict[V]) GetString(key string) *V {
	if d.Len() == 0 {
		return nil
	}
	if d.rehashing() {
		d.rehashStep()
	}
	h := maphash.String(d.seed, key)
	for t := 0; t < 2; t++ {
		tab := d.ht[t]
		if len(tab) == 0 {
			break
		}
		for e := tab[h&uint64(len(tab)-1)]; e != nil; e = e.next {
			if e.key == key {
				return &e.val
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// Set stores val under key and reports whether the key is new.
func (d *Dict[V]) Set(key string, val V) bool {
	if p := d.GetString(key); p != nil {
		*p = val
		return false
	}
	d.add(key, val)
	return true
}

// Add stores val under key, which the caller knows is absent, and returns a
// pointer to the stored value.
func (d *Dict[V]) Add(key string, val V) *V { return d.add(key, val) }

func (d *Dict[V]) add(key string, val V) *V {
	d.expandIfNeeded()
	t := 0
	if d.rehashing() {
		t = 1
	}
	tab := d.ht[t]
	i := maphash.String(d.seed, key) & uint64(len(tab)-1)
	e := &dictEntry[V]{key: key, val: val, next: tab[i]}
	tab[i] = e
	d.used[t]++
	return &e.val
}

// Delete removes key and reports whether it was there.
func (d *Dict[V]) Delete(key []byte) bool {
	_, ok := d.Take(key)
	return ok
}

// Take removes key and returns its value.
func (d *Dict[V]) Take(key []byte) (V, bool) {
	var zero V
	if d.Len() == 0 {
		return zero, false
	}
	if d.rehashing() {
		d.rehashStep()
	}
	h := maphash.Bytes(d.seed, key)
	for t := 0; t < 2; t++ {
		tab := d.ht[t]
		if len(tab) == 0 {
			break
		}
		i := h & uint64(len(tab)-1)
		var prev *dictEntry[V]
		for e := tab[i]; e != nil; prev, e = e, e.next {
			if e.key != string(key) {
				continue
			}
			if prev == nil {
				tab[i] = e.next
			} else {
				prev.next = e.next
			}
			e.next = nil
			d.used[t]--
			d.shrinkIfNeeded()
			return e.val, true
		}
		if !d.rehashing() {
			break
		}
	}
	return zero, false
}

// Clear removes every element.
func (d *Dict[V]) Clear() {
	d.ht = [2][]*dictEntry[V]{}
	d.used = [2]int{}
	d.rehash = -1
}

func (d *Dict[V]) expandIfNeeded() {
	if d.rehashing() {
		return
	}
	if len(d.ht[0]) == 0 {
		d.ht[0] = make([]*dictEntry[V], dictMinSize)
		return
	}
	if d.used[0] >= len(d.ht[0]) {
		d.resize(d.used[0] + 1)
	}
}

func (d *Dict[V]) shrinkIfNeeded() {
	if d.rehashing() {
		return
	}
	if n := len(d.ht[0]); n > dictMinSize && d.used[0]*8 < n {
		d.resize(d.used[0])
	}
}

// resize starts moving the elements into a table sized for n.
func (d *Dict[V]) resize(n int) {
	size := dictMinSize
	for size < n {
		size *= 2
	}
	if size == len(d.ht[0]) {
		return
	}
	if d.used[0] == 0 {
		d.ht[0] = make([]*dictEntry[V], size)
		return
	}
	d.ht[1] = make([]*dictEntry[V], size)
	d.rehash = 0
}

// rehashStep moves one bucket (visiting at most ten empty ones) from the old
// table to the new one.
func (d *Dict[V]) rehashStep() {
	old, nt := d.ht[0], d.ht[1]
	for empty := 0; d.rehash < len(old) && old[d.rehash] == nil; empty++ {
		d.rehash++
		if empty >= 10 {
			return
		}
	}
	if d.rehash < len(old) {
		for e := old[d.rehash]; e != nil; {
			next := e.next
			i := maphash.String(d.seed, e.key) & uint64(len(nt)-1)
			e.next = nt[i]
			nt[i] = e
			d.used[0]--
			d.used[1]++
			e = next
		}
		old[d.rehash] = nil
		d.rehash++
	}
	if d.used[0] == 0 {
		d.ht[0], d.ht[1] = nt, nil
		d.used[0], d.used[1] = d.used[1], 0
		d.rehash = -1
	}
}

// Scan calls fn for the elements of the buckets at cursor and returns the
// next cursor; 0 means the walk is complete. It is Redis's dictScan: the
// cursor counts with its bits reversed, so buckets that a resize splits or
// merges are never skipped.
func (d *Dict[V]) Scan(cursor uint64, fn func(key string, val *V)) uint64 {
	if d.Len() == 0 {
		return 0
	}
	emit := func(tab []*dictEntry[V], i uint64) {
		for e := tab[i]; e != nil; {
			next := e.next // fn may not delete, but be safe against it
			fn(e.key, &e.val)
			e = next
		}
	}
	v := cursor
	if !d.rehashing() {
		m0 := uint64(len(d.ht[0]) - 1)
		emit(d.ht[0], v&m0)
		v |= ^m0
		v = bits.Reverse64(bits.Reverse64(v) + 1)
		return v
	}
	t0, t1 := d.ht[0], d.ht[1]
	if len(t0) > len(t1) {
		t0, t1 = t1, t0
	}
	m0, m1 := uint64(len(t0)-1), uint64(len(t1)-1)
	emit(t0, v&m0)
	for {
		emit(t1, v&m1)
		v |= ^m1
		v = bits.Reverse64(bits.Reverse64(v) + 1)
		if v&(m0^m1) == 0 {
			break
		}
	}
	return v
}

// Random returns a random element, or ok=false when the dict is empty.
func (d *Dict[V]) Random() (key string, val *V, ok bool) {
	if d.Len() == 0 {
		return "", nil, false
	}
	if d.rehashing() {
		d.rehashStep()
	}
	var head *dictEntry[V]
	for head == nil {
		if d.rehashing() {
			n0 := len(d.ht[0]) - d.rehash
			i := rand.IntN(n0 + len(d.ht[1]))
			if i < n0 {
				head = d.ht[0][d.rehash+i]
			} else {
				head = d.ht[1][i-n0]
			}
		} else {
			head = d.ht[0][rand.IntN(len(d.ht[0]))]
		}
	}
	n := 0
	for e := head; e != nil; e = e.next {
		n++
	}
	e := head
	for k := rand.IntN(n); k > 0; k-- {
		e = e.next
	}
	return e.key, &e.val, true
}

// Range calls fn for every element until fn returns false. fn must not
// change the dict.
func (d *Dict[V]) Range(fn func(key string, val *V) bool) {
	for t := 0; t < 2; t++ {
		for _, e := range d.ht[t] {
			for ; e != nil; e = e.next {
				if !fn(e.key, &e.val) {
					return
				}
			}
		}
	}
}
