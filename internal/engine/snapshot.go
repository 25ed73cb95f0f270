package engine

import (
	"fmt"
	"strconv"
	"unsafe"

	"redoubt/internal/rdb"
)

// Snapshots: the engine's values to and from the RDB package's neutral
// form. A snapshot is an RDB file, so redis-server can load ours and we
// can load a user's dump.rdb.

// bytesOf views an immutable string as bytes without copying. The RDB
// writer only reads what it is given.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// exportValue converts a value to the RDB package's form. Strings are
// shared, not copied: the caller must be done with the result before the
// engine lock is released if the value may change (only collections
// change in place, and their element strings never do, so the slices
// built here stay valid after the lock is released).
func exportValue(v *Value) rdb.Value {
	switch o := v.obj.(type) {
	case nil:
		return rdb.String(bytesOf(v.str))
	case *list:
		out := make(rdb.List, o.len())
		for i := range out {
			out[i] = bytesOf(o.at(i))
		}
		return out
	case *set:
		out := make(rdb.Set, o.len())
		for i := range out {
			if e := o.at(i); e.isInt {
				out[i] = strconv.AppendInt(nil, e.n, 10)
			} else {
				out[i] = bytesOf(e.s)
			}
		}
		return out
	case *zset:
		out := make(rdb.ZSet, 0, o.len())
		o.each(func(e zsetEntry) { out = append(out, rdb.ZMember{Member: bytesOf(e.member), Score: e.score}) })
		return out
	case *hash:
		out := make(rdb.Hash, 0, o.len())
		o.each(func(f, val string) { out = append(out, rdb.Field{Name: bytesOf(f), Value: bytesOf(val)}) })
		return out
	}
	panic(fmt.Sprintf("engine: no snapshot form for %T", v.obj))
}

// importValue builds an engine value from its RDB form; duplicates in a
// damaged file are merged rather than trusted.
func importValue(rv rdb.Value) (Value, error) {
	switch x := rv.(type) {
	case rdb.String:
		return Value{str: string(x)}, nil
	case rdb.List:
		l := newList(len(x))
		for _, e := range x {
			l.pushBack(string(e))
		}
		return Value{obj: l}, nil
	case rdb.Set:
		s := newSet()
		for _, m := range x {
			s.addBytes(m)
		}
		return Value{obj: s}, nil
	case rdb.ZSet:
		z := &zset{}
		for _, m := range x {
			if m.Score != m.Score {
				return Value{}, fmt.Errorf("sorted set member %q has a NaN score", m.Member)
			}
			z.add(m.Score, m.Member, zaddFlags{})
		}
		return Value{obj: z}, nil
	case rdb.Hash:
		h := &hash{}
		for _, f := range x {
			h.set(f.Name, f.Value)
		}
		return Value{obj: h}, nil
	}
	return Value{}, fmt.Errorf("unsupported value type %T", rv)
}

// LoadEntry stores one key read from a snapshot or an imported dump.rdb.
// A key already past its expiry is skipped, as Redis does on load; a
// database number beyond the instance's is an error. The caller holds
// the lock.
func (e *Engine) LoadEntry(ent *rdb.Entry) error {
	if ent.DB < 0 || ent.DB >= len(e.dbs) {
		return fmt.Errorf("key %q is in database %d, but the instance has %d databases", ent.Key, ent.DB, len(e.dbs))
	}
	if ent.Expires && ent.ExpireAt <= e.nowMs() {
		return nil
	}
	v, err := importValue(ent.Value)
	if err != nil {
		return fmt.Errorf("key %q: %w", ent.Key, err)
	}
	if x, ok := v.obj.(collection); ok && x.len() == 0 {
		return nil // Redis never stores an empty collection
	}
	db := e.dbs[ent.DB]
	if db.keys.Get(ent.Key) != nil {
		db.delete(e, ent.Key)
	}
	db.add(e, ent.Key, v)
	if ent.Expires {
		db.setExpire(e, ent.Key, ent.ExpireAt)
	}
	return nil
}
