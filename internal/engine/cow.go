package engine

import (
	"redoubt/internal/rdb"
)

// Point-in-time snapshots without stopping writes.
//
// Redis forks and lets the kernel copy pages on write. Redoubt copies
// keys on write instead: BeginSnapshot notes, under the lock, the key
// names of every database and the dicts that hold them (a brief pause,
// about 15 ms per million keys). From then on, the first change of a key
// (a write lookup, set, add, delete, expiry set or removed, expired)
// saves its value and expiry as they were, before the change; a key that
// did not exist is saved as absent. The snapshot walks its key lists in
// chunks, taking the lock for each, and emits the saved version of a key
// if there is one, else the live one, which has not changed since. FLUSH*
// replaces a database's dicts, and SWAPDB exchanges them, without changing
// the dicts themselves, so neither disturbs a snapshot that holds them.
// Memory: the key lists (16 bytes a key) and the saved versions of the
// keys changed while the snapshot runs.

// Snapshot is a point-in-time view of an engine's data.
type Snapshot struct {
	e     *Engine
	dbs   []snapDB
	db, i int // next key: dbs[db].keys[i]
	done  bool
	batch []rdb.Entry // reused by Next: a rewrite walks millions of keys
}

type snapDB struct {
	id      int
	keys    []string
	dict    *Dict[Value]
	expires *Dict[int64]
	saved   map[string]savedKey
}

// savedKey is a key's value and expiry when the snapshot began.
type savedKey struct {
	v      Value
	at     int64 // -1: no expiry
	absent bool
}

// BeginSnapshot starts a point-in-time view of the data as it is now. The
// caller holds the lock; it must Close the snapshot (also under the lock)
// when done. One snapshot at a time.
func (e *Engine) BeginSnapshot() *Snapshot {
	if e.snap != nil {
		panic("engine: a snapshot is already running")
	}
	s := &Snapshot{e: e}
	for _, db := range e.dbs {
		sd := snapDB{id: db.id, dict: db.keys, expires: db.expires, keys: make([]string, 0, db.keys.Len())}
		db.keys.Range(func(k string, _ *Value) bool {
			sd.keys = append(sd.keys, k)
			return true
		})
		s.dbs = append(s.dbs, sd)
	}
	e.snap = s
	return s
}

// Close ends the snapshot and drops what it saved. The caller holds the
// lock.
func (s *Snapshot) Close() {
	if s.e.snap == s {
		s.e.snap = nil
	}
	s.dbs = nil
	s.done = true
}

// preserve saves key of db as it is, before its first change since the
// snapshot began. Called before every change; one nil check when no
// snapshot runs.
func (e *Engine) preserve(db *DB, key []byte) {
	if e.snap != nil {
		e.snap.save(db, key)
	}
}

func (s *Snapshot) save(db *DB, key []byte) {
	for i := range s.dbs {
		sd := &s.dbs[i]
		if sd.dict != db.keys {
			continue
		}
		if _, ok := sd.saved[string(key)]; ok {
			return
		}
		if sd.saved == nil {
			sd.saved = map[string]savedKey{}
		}
		v := db.keys.Get(key)
		if v == nil {
			sd.saved[string(key)] = savedKey{absent: true}
			return
		}
		sd.saved[string(key)] = savedKey{v: v.clone(), at: db.expireAt(key)}
		return
	}
}

// Next emits up to max keys, in order, to fn, and reports whether any are
// left. It takes the lock for the chunk; fn runs after the lock is
// released, with values that no longer change. The entry is valid only
// during the call.
func (s *Snapshot) Next(max int, fn func(ent *rdb.Entry) error) (bool, error) {
	batch := s.batch[:0]
	s.e.Lock()
	for len(batch) < max && !s.done {
		if s.db >= len(s.dbs) {
			s.done = true
			break
		}
		sd := &s.dbs[s.db]
		if s.i >= len(sd.keys) {
			s.db, s.i = s.db+1, 0
			continue
		}
		key := sd.keys[s.i]
		s.i++
		if ent, ok := sd.entry(key); ok {
			batch = append(batch, ent)
		}
	}
	more := !s.done
	s.e.Unlock()
	for i := range batch {
		if err := fn(&batch[i]); err != nil {
			return false, err
		}
	}
	clear(batch) // let the values go
	s.batch = batch
	return more, nil
}

// entry is key's snapshot form: its saved version if it changed, else the
// live one. The caller holds the lock.
func (sd *snapDB) entry(key string) (rdb.Entry, bool) {
	ent := rdb.Entry{DB: sd.id, Key: bytesOf(key)}
	if sk, ok := sd.saved[key]; ok {
		if sk.absent {
			return ent, false
		}
		ent.Value, ent.ExpireAt, ent.Expires = exportValue(&sk.v), sk.at, sk.at >= 0
		return ent, true
	}
	v := sd.dict.Get(bytesOf(key))
	if v == nil { // cannot happen: every removal saves the key first
		return ent, false
	}
	ent.Value = exportValue(v)
	if p := sd.expires.Get(bytesOf(key)); p != nil {
		ent.ExpireAt, ent.Expires = *p, true
	}
	return ent, true
}
