package engine

import "time"

// DBInfo describes one non-empty database for INFO keyspace.
type DBInfo struct {
	ID      int
	Keys    int
	Expires int
}

// Keyspace reports the non-empty databases. The caller holds the lock.
func (e *Engine) Keyspace() []DBInfo {
	var out []DBInfo
	for _, db := range e.dbs {
		if n := db.keys.Len(); n > 0 {
			out = append(out, DBInfo{ID: db.id, Keys: n, Expires: db.expires.Len()})
		}
	}
	return out
}

// Stats are the engine counters INFO reports.
type Stats struct {
	Dirty          int64
	ExpiredKeys    int64
	EvictedKeys    int64
	KeyspaceHits   int64
	KeyspaceMisses int64
	Uptime         time.Duration
}

// Stats reports the engine counters. The caller holds the lock.
func (e *Engine) Stats() Stats {
	return Stats{
		Dirty:          e.dirty,
		ExpiredKeys:    e.expiredKeys.Load(),
		EvictedKeys:    e.evicted,
		KeyspaceHits:   e.keyspaceHits.Load(),
		KeyspaceMisses: e.keyspaceMiss.Load(),
		Uptime:         time.Since(e.start),
	}
}

// Uptime reports how long the engine has run.
func (e *Engine) Uptime() time.Duration { return time.Since(e.start) }

// KeySize reports a key's accounted size in bytes and, for a collection,
// its number of elements, without counting an access (big-key sampling).
// The caller holds the lock.
func (e *Engine) KeySize(db int, key []byte) (bytes, elements int64, ok bool) {
	d := e.dbIndex(db)
	if d == nil {
		return 0, 0, false
	}
	v := d.keys.Get(key)
	if v == nil {
		return 0, 0, false
	}
	if v.obj == nil {
		return int64(len(v.str)), 0, true
	}
	if l, ok := v.obj.(interface{ len() int }); ok {
		elements = int64(l.len())
	}
	return v.obj.memory(), elements, true
}
