package engine

// Value is the value of one key. A string value is held in str and obj is
// nil; any other type is held in obj.
type Value struct {
	str string
	obj object
	enc uint8 // encoding of a string value: encAuto, encRaw or encEmbstr

	// lru is the access clock of the key for eviction and OBJECT
	// IDLETIME/FREQ: 24 bits, as in Redis (see memory.go). Three bytes
	// keep Value at 40 bytes.
	lru [3]byte

	// For a string, room is how many bytes past the end of str, in the
	// same allocation, this value owns: APPEND writes there instead of
	// copying the string (see appendString). A copy of the value (COPY)
	// owns none. For other types it holds the object's size as last
	// accounted, in units of 16 bytes (see memory.go).
	room uint32
}

// String encodings. Redis reports how a string was made, not only what it
// holds: SET "10" is "int", but APPEND makes "raw" and INCRBYFLOAT "embstr".
const (
	encAuto   uint8 = iota // by content, as SET stores it: int, embstr or raw
	encRaw                 // changed in place (APPEND, SETRANGE)
	encEmbstr              // made from a number (INCRBYFLOAT): embstr while short
	encCopied              // made by COPY: reported as encAuto, but never a shared integer
)

// Redis keeps the integers 0..9999 as shared objects (OBJECT REFCOUNT
// reports INT_MAX for them) unless a value was made by COPY.
const (
	sharedIntegers = 10000
	sharedRefcount = 1<<31 - 1
	plainRefcount  = 1
)

// encodingName is the OBJECT ENCODING reply for the value.
func (v *Value) encodingName() string {
	if v.obj != nil {
		return v.obj.encoding()
	}
	return stringEncoding(v)
}

// object is a value of a type other than string.
type object interface {
	// typeName is the TYPE reply: "list", "set", "zset", "hash", "stream".
	typeName() string
	// encoding is the OBJECT ENCODING reply.
	encoding() string
	// clone returns a deep copy that shares no mutable state with the
	// original (COPY). It keeps the encoding, as Redis's dup functions do.
	clone() object
	// memory estimates the bytes the value holds (its elements and their
	// overhead, not the key). It must be O(1): types keep a running total
	// as they change. INFO memory, MEMORY USAGE and maxmemory read it.
	memory() int64
}

// clone returns a deep copy of the value for COPY.
func (v *Value) clone() Value {
	if v.obj != nil {
		return Value{obj: v.obj.clone()}
	}
	c := *v
	c.room = 0 // the spare bytes stay the original's
	c.lru = [3]byte{}
	if c.enc == encAuto {
		c.enc = encCopied
	}
	return c
}

// refcount is the OBJECT REFCOUNT reply: Redis shares the objects of the
// integers 0..9999 that SET, INCR and the like store, so they report
// INT_MAX; every other value has one reference.
func (v *Value) refcount() int64 {
	if v.obj != nil || v.enc != encAuto || len(v.str) > 4 || stringEncoding(v) != "int" {
		return plainRefcount
	}
	if n, _ := parseInt([]byte(v.str)); n >= 0 && n < sharedIntegers {
		return sharedRefcount
	}
	return plainRefcount
}

// typeName reports the value's TYPE.
func (v *Value) typeName() string {
	if v.obj == nil {
		return "string"
	}
	return v.obj.typeName()
}

// DB is one numbered database: its keys and the expiry times of the keys
// that have one.
type DB struct {
	id      int
	keys    *Dict[Value]
	expires *Dict[int64] // unix milliseconds
	mem     int64        // estimated bytes of keys, values and expiries
}

func newDB(id int) *DB {
	return &DB{id: id, keys: NewDict[Value](), expires: NewDict[int64]()}
}

// expireAt returns the key's expiry time in unix milliseconds, or -1.
func (db *DB) expireAt(key []byte) int64 {
	if db.expires.Len() == 0 {
		return -1
	}
	if p := db.expires.Get(key); p != nil {
		return *p
	}
	return -1
}

// expireIfNeeded deletes key if its time has passed and reports whether it
// did.
func (db *DB) expireIfNeeded(e *Engine, key []byte) bool {
	if db.expires.Len() == 0 || e.prop.loading {
		return false
	}
	p := db.expires.Get(key)
	if p == nil || *p > e.nowMs() {
		return false
	}
	db.expireKey(e, string(key))
	return true
}

// expireKey deletes an expired key.
func (db *DB) expireKey(e *Engine, key string) {
	e.preserve(db, []byte(key))
	if v, ok := db.keys.Take([]byte(key)); ok {
		db.account(e, -keyCost(key, &v))
	}
	if db.expires.Delete([]byte(key)) {
		db.account(e, -expireCost(key))
	}
	e.expiredKeys.Add(1)
	e.dirty++
	e.touchWatched(db, key)
	e.feedDel(db, key)
}

// lookup returns the live value of key or nil, deleting it first when it
// has expired. It does not count hits or misses.
func (db *DB) lookup(e *Engine, key []byte) *Value {
	v := db.find(e, key)
	if v != nil && e.snap != nil {
		// The caller may change the value in place: a running snapshot
		// keeps the version it had. (It may move in the dict: look again.)
		e.snap.save(db, key)
		v = db.keys.Get(key)
	}
	return v
}

// find is lookup for reading: the live value of key or nil, deleting it
// first when it has expired, and recording the access.
func (db *DB) find(e *Engine, key []byte) *Value {
	v := db.keys.Get(key)
	if v == nil {
		return nil
	}
	if db.expireIfNeeded(e, key) {
		return nil
	}
	e.touchLRU(v)
	return v
}

// peek is lookup without recording an access (OBJECT, TYPE): it counts
// keyspace hits and misses but leaves the key's access clock alone.
func (db *DB) peek(e *Engine, key []byte) *Value {
	v := db.keys.Get(key)
	if v == nil || db.expireIfNeeded(e, key) {
		e.keyspaceMiss.Add(1)
		return nil
	}
	e.keyspaceHits.Add(1)
	return v
}

// lookupRead is lookup for a read command: it counts keyspace hits and
// misses for INFO.
func (db *DB) lookupRead(e *Engine, key []byte) *Value {
	v := db.find(e, key)
	if v == nil {
		e.keyspaceMiss.Add(1)
	} else {
		e.keyspaceHits.Add(1)
	}
	return v
}

// set stores v under key, dropping any time to live unless keepTTL.
func (db *DB) set(e *Engine, key []byte, v Value, keepTTL bool) {
	e.preserve(db, key)
	if p := db.keys.Get(key); p != nil {
		old := valueCost(p)
		e.prepare(&v)
		*p = v
		db.account(e, valueCost(p)-old)
		if !keepTTL && db.expires.Len() > 0 && db.expires.Delete(key) {
			db.account(e, -expireCost(string(key)))
		}
	} else {
		e.prepare(&v)
		p := db.keys.Add(string(key), v)
		db.account(e, keyCost(string(key), p))
	}
	e.touched(db, string(key))
	if v.obj != nil {
		e.signalReady(db, string(key))
	}
}

// add stores v under a key that the caller knows is absent and returns the
// stored value.
func (db *DB) add(e *Engine, key []byte, v Value) *Value {
	e.preserve(db, key)
	e.prepare(&v)
	p := db.keys.Add(string(key), v)
	db.account(e, keyCost(string(key), p))
	e.touched(db, string(key))
	if v.obj != nil {
		e.signalReady(db, string(key))
	}
	return p
}

// delete removes key and its expiry; it reports whether the key existed.
func (db *DB) delete(e *Engine, key []byte) bool {
	e.preserve(db, key)
	v, ok := db.keys.Take(key)
	if !ok {
		return false
	}
	db.account(e, -keyCost(string(key), &v))
	if db.expires.Len() > 0 && db.expires.Delete(key) {
		db.account(e, -expireCost(string(key)))
	}
	e.touched(db, string(key))
	return true
}

// setExpire sets the expiry of an existing key.
func (db *DB) setExpire(e *Engine, key []byte, at int64) {
	e.preserve(db, key)
	e.noteExpire(db, key, at)
	if p := db.expires.Get(key); p != nil {
		*p = at
		return
	}
	db.expires.Add(string(key), at)
	db.account(e, expireCost(string(key)))
}

// persist removes the expiry of key and reports whether it had one.
func (db *DB) persist(e *Engine, key []byte) bool {
	e.preserve(db, key)
	if db.expires.Len() > 0 && db.expires.Delete(key) {
		db.account(e, -expireCost(string(key)))
		return true
	}
	return false
}

// flush empties the database.
func (db *DB) flush(e *Engine) {
	db.keys = NewDict[Value]()
	db.expires = NewDict[int64]()
	db.account(e, -db.mem)
	e.dbFlushed(db)
}

// keyChanged is called by a command that changed the value of an existing
// key in place (a field added to a hash, an expiry set): it re-accounts
// the value's memory and records the change.
func (e *Engine) keyChanged(db *DB, key string) {
	if v := db.keys.Get([]byte(key)); v != nil && v.obj != nil {
		db.reaccount(e, v)
	}
	e.touched(db, key)
}

// touched records a change of key: it counts the change for persistence
// and invalidates WATCHes.
func (e *Engine) touched(db *DB, key string) {
	e.dirty++
	e.prop.changes++
	e.touchWatched(db, key)
}

// dbFlushed is called when a whole database is emptied.
func (e *Engine) dbFlushed(db *DB) {
	e.dirty++
	e.prop.changes++
	e.touchWatchedDB(db)
	e.signalReadyDB(db)
}

// lookupTyped returns the value at key if it is of type T (a list, a set
// …), its Value, and ok; a missing key gives the zero T and ok. ok is
// false after WRONGTYPE was written. read selects a read lookup, which
// counts keyspace hits and misses; a write lookup lets a running snapshot
// keep the value as it was.
func lookupTyped[T object](c *Client, key []byte, read bool) (x T, v *Value, ok bool) {
	if read {
		v = c.db.lookupRead(c.e, key)
	} else {
		v = c.db.lookup(c.e, key)
	}
	if v == nil {
		return x, nil, true
	}
	x, ok = v.obj.(T)
	if !ok {
		c.W.WriteError(errWrongType)
	}
	return x, v, ok
}

// collection is a value with elements: a list, a hash, a set, a sorted
// set.
type collection interface {
	object
	len() int
}

// collectionChanged records an in-place change of the collection at key,
// deleting the key when it has become empty (Redis never keeps an empty
// collection).
func (c *Client) collectionChanged(key []byte, x collection) {
	if x.len() == 0 {
		c.db.delete(c.e, key)
		return
	}
	c.e.keyChanged(c.db, string(key))
}
