package rdb

import (
	"math"
	"strconv"
)

// Plain collection elements up to smallElem bytes are read into shared
// per-key chunks of up to arenaChunk bytes, saving an allocation each.
const (
	smallElem  = 512
	arenaChunk = 8 << 10
)

// Quicklist node containers (quicklist.h).
const (
	qlPlain  = 1
	qlPacked = 2
)

// arena hands out element slices from shared chunks for one key.
type arena struct{ buf []byte }

// element reads one string of a plain collection; remaining is how many
// are still to come, to size the next chunk.
func (d *decoder) element(a *arena, remaining uint64) ([]byte, error) {
	off := d.in.offset()
	n, enc, err := d.readLenEnc()
	if err != nil {
		return nil, err
	}
	need := int(n)
	if enc {
		if n > 2 { // LZF
			return d.stringBody(off, n, enc, nil)
		}
		need = 11
	} else if n > smallElem {
		return d.stringBody(off, n, enc, nil)
	}
	if cap(a.buf)-len(a.buf) < need {
		hint := uint64(need+8) * min(remaining, arenaChunk)
		a.buf = make([]byte, 0, max(need, int(min(hint, arenaChunk))))
	}
	start := len(a.buf)
	a.buf, err = d.stringBody(off, n, enc, a.buf)
	if err != nil {
		return nil, err
	}
	return a.buf[start:len(a.buf):len(a.buf)], nil
}

// value reads a value of type t whose type byte is at off. A nil Value
// with a nil error is an empty collection, to be skipped.
func (d *decoder) value(off int64, t Type) (Value, error) {
	switch t {
	case TypeString:
		s, err := d.readString()
		return String(s), err
	case TypeList, TypeSet:
		v, err := d.plainElems()
		if err != nil || len(v) == 0 {
			return nil, err
		}
		if t == TypeList {
			return List(v), nil
		}
		return Set(v), nil
	case TypeZSet, TypeZSet2:
		return d.plainZSet(t == TypeZSet2)
	case TypeHash:
		return d.plainHash()
	case TypeListZiplist, TypeSetIntset, TypeSetListpack, TypeHashZipmap,
		TypeHashZiplist, TypeHashListpack, TypeZSetZiplist, TypeZSetListpack:
		return d.compactValue(t)
	case TypeListQuicklist, TypeListQuicklist2:
		return d.quicklist(t == TypeListQuicklist2)
	case TypeModulePreGA, TypeModule2:
		id, err := d.readLen()
		if err != nil {
			return nil, err
		}
		return nil, d.fail(off, ErrUnsupported, "type module (%d) of module %q is not supported", t, moduleName(id))
	}
	return nil, d.fail(off, ErrUnsupported, "type %s (%d) is not supported", t, t)
}

// count reads a collection length.
func (d *decoder) count() (uint64, error) {
	return d.readLen()
}

// plainElems reads a LIST or SET: a count, then strings.
func (d *decoder) plainElems() ([][]byte, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, min(n, initialElems))
	var a arena
	for i := uint64(0); i < n; i++ {
		s, err := d.element(&a, n-i)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// plainZSet reads a ZSET or ZSET_2: a count, then member and score pairs.
func (d *decoder) plainZSet(binary bool) (Value, error) {
	n, err := d.count()
	if err != nil || n == 0 {
		return nil, err
	}
	out := make(ZSet, 0, min(n, initialElems))
	var a arena
	for i := uint64(0); i < n; i++ {
		m, err := d.element(&a, n-i)
		if err != nil {
			return nil, err
		}
		var f float64
		if binary {
			f, err = d.readBinaryScore()
		} else {
			f, err = d.readScore()
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ZMember{Member: m, Score: f})
	}
	return out, nil
}

// plainHash reads a HASH: a count, then field and value pairs.
func (d *decoder) plainHash() (Value, error) {
	n, err := d.count()
	if err != nil || n == 0 {
		return nil, err
	}
	out := make(Hash, 0, min(n, initialElems))
	var a arena
	for i := uint64(0); i < n; i++ {
		k, err := d.element(&a, 2*(n-i))
		if err != nil {
			return nil, err
		}
		v, err := d.element(&a, 2*(n-i)-1)
		if err != nil {
			return nil, err
		}
		out = append(out, Field{Name: k, Value: v})
	}
	return out, nil
}

// blob reads a string holding a compact encoding and returns it with its
// offset.
func (d *decoder) blob() ([]byte, int64, error) {
	off := d.in.offset()
	b, err := d.readString()
	return b, off, err
}

// compactValue reads a value stored as one ziplist, listpack, intset or
// zipmap.
func (d *decoder) compactValue(t Type) (Value, error) {
	b, off, err := d.blob()
	if err != nil {
		return nil, err
	}
	var elems [][]byte
	switch t {
	case TypeListZiplist, TypeHashZiplist, TypeZSetZiplist:
		elems, err = parseZiplist(b, nil)
	case TypeSetIntset:
		elems, err = parseIntset(b, nil)
	case TypeHashZipmap:
		elems, err = parseZipmap(b, nil)
	default:
		elems, err = parseListpack(b, nil)
	}
	if err != nil {
		return nil, d.fail(off, ErrCorrupt, "%v", err)
	}
	if len(elems) == 0 {
		return nil, nil
	}
	switch t {
	case TypeListZiplist:
		return List(elems), nil
	case TypeSetIntset, TypeSetListpack:
		return Set(elems), nil
	case TypeZSetZiplist, TypeZSetListpack:
		return d.pairsZSet(off, elems)
	default:
		return d.pairsHash(off, elems)
	}
}

// pairsZSet turns alternating members and scores into a ZSet.
func (d *decoder) pairsZSet(off int64, elems [][]byte) (Value, error) {
	if len(elems)%2 != 0 {
		return nil, d.fail(off, ErrCorrupt, "sorted set with an odd number (%d) of entries", len(elems))
	}
	out := make(ZSet, len(elems)/2)
	for i := range out {
		s := elems[2*i+1]
		f, err := strconv.ParseFloat(string(s), 64)
		if err != nil || math.IsNaN(f) {
			return nil, d.fail(off, ErrCorrupt, "bad sorted set score %q", s)
		}
		out[i] = ZMember{Member: elems[2*i], Score: f}
	}
	return out, nil
}

// pairsHash turns alternating fields and values into a Hash.
func (d *decoder) pairsHash(off int64, elems [][]byte) (Value, error) {
	if len(elems)%2 != 0 {
		return nil, d.fail(off, ErrCorrupt, "hash with an odd number (%d) of entries", len(elems))
	}
	out := make(Hash, len(elems)/2)
	for i := range out {
		out[i] = Field{Name: elems[2*i], Value: elems[2*i+1]}
	}
	return out, nil
}

// quicklist reads a QUICKLIST (ziplist nodes) or, with v2, a QUICKLIST_2
// (each node a container kind, then a listpack or one plain element).
func (d *decoder) quicklist(v2 bool) (Value, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for range n {
		container := uint64(qlPacked)
		if v2 {
			coff := d.in.offset()
			if container, err = d.readLen(); err != nil {
				return nil, err
			}
			if container != qlPlain && container != qlPacked {
				return nil, d.fail(coff, ErrCorrupt, "bad quicklist node container %d", container)
			}
		}
		b, off, err := d.blob()
		if err != nil {
			return nil, err
		}
		switch {
		case container == qlPlain:
			if d.trace != nil {
				d.trace("plain node")
			}
			out = append(out, b)
		case v2:
			out, err = parseListpack(b, out)
		default:
			out, err = parseZiplist(b, out)
		}
		if err != nil {
			return nil, d.fail(off, ErrCorrupt, "quicklist node: %v", err)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return List(out), nil
}
