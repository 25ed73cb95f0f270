package engine

// Transactions: WATCH and the engine's side of EXEC. The server queues the
// commands of MULTI and runs them between BeginExec and EndExec under one
// hold of the lock; the engine tracks the watched keys, and inside EXEC
// forbids blocking and holds back serving blocked clients until the end.
//
// WATCH follows Redis 7.0 (multi.c): a watched key is invalidated by any
// change (a write, a deletion, an expiry, FLUSHDB/FLUSHALL and SWAPDB of
// a database where it exists before or after), and EXEC also fails when a
// watched key has logically expired since WATCH. A key that had already
// expired (but was not yet removed) when WATCH ran is not invalidated by
// its removal.

// txState is a client's watched keys and EXEC state.
type txState struct {
	watched []*watchEntry
	dirty   bool // a watched key was touched: EXEC fails
	exec    bool // inside EXEC: no blocking, no serving until EndExec
}

// watchEntry is one key watched by one client.
type watchEntry struct {
	c       *Client
	k       blockKey
	existed bool // the key was in the dict (expired or not) at WATCH time
	expired bool // it was there but logically expired at WATCH time
}

// watchRegistry maps keys to the clients watching them.
type watchRegistry map[blockKey][]*watchEntry

// Watch watches keys in the client's database (WATCH). A client already
// invalidated watches nothing more, as Redis. The caller holds the lock.
func (c *Client) Watch(keys [][]byte) {
	if c.tx.dirty {
		return
	}
	e := c.e
	now := e.nowMs()
outer:
	for _, key := range keys {
		// The key's watchers are few; a client's keys may be many.
		for _, w := range e.watches[blockKey{c.db, string(key)}] {
			if w.c == c {
				continue outer
			}
		}
		w := &watchEntry{c: c, k: blockKey{c.db, string(key)}}
		if c.db.keys.Get(key) != nil {
			w.existed = true
			if at := c.db.expireAt(key); at >= 0 && at <= now {
				w.expired = true
			}
		}
		if e.watches == nil {
			e.watches = watchRegistry{}
		}
		e.watches[w.k] = append(e.watches[w.k], w)
		c.tx.watched = append(c.tx.watched, w)
	}
}

// Unwatch forgets the client's watched keys and their invalidation
// (UNWATCH, and after EXEC or DISCARD). The caller holds the lock.
func (c *Client) Unwatch() {
	c.e.unwatchAll(c)
	c.tx.dirty = false
}

// WatchCount reports how many keys the client watches. The caller holds
// the lock.
func (c *Client) WatchCount() int { return len(c.tx.watched) }

// WatchTouched reports whether EXEC must fail because a watched key
// changed, or expired since WATCH. The caller holds the lock.
func (c *Client) WatchTouched() bool {
	if c.tx.dirty {
		return true
	}
	if len(c.tx.watched) == 0 {
		return false
	}
	now := c.e.nowMs()
	for _, w := range c.tx.watched {
		if w.expired {
			continue
		}
		if at := w.k.db.expireAt([]byte(w.k.key)); at >= 0 && at <= now {
			return true
		}
	}
	return false
}

// BeginExec starts running a transaction's commands: they may not block,
// and clients blocked on keys they make ready are served at EndExec. The
// caller holds the lock.
func (c *Client) BeginExec() {
	c.tx.exec = true
	c.e.beginExecFeed()
}

// EndExec ends the transaction begun by BeginExec and serves the clients
// blocked on the keys it made ready. The caller holds the lock.
func (c *Client) EndExec() {
	c.tx.exec = false
	c.e.endExecFeed()
	if len(c.e.blocking.ready) > 0 {
		c.e.serveReady()
	}
}

// unwatchAll removes every watch of c from the registry.
func (e *Engine) unwatchAll(c *Client) {
	for _, w := range c.tx.watched {
		list := e.watches[w.k]
		if i := indexEntry(list, w); i >= 0 {
			list = append(list[:i], list[i+1:]...)
		}
		if len(list) == 0 {
			delete(e.watches, w.k)
		} else {
			e.watches[w.k] = list
		}
	}
	clear(c.tx.watched)
	c.tx.watched = c.tx.watched[:0]
}

func indexEntry(list []*watchEntry, w *watchEntry) int {
	for i, x := range list {
		if x == w {
			return i
		}
	}
	return -1
}

// invalidate marks clients' transactions as failed and drops their
// watches: nothing they watch matters any more.
func (e *Engine) invalidate(cs []*Client) {
	for _, c := range cs {
		if !c.tx.dirty {
			c.tx.dirty = true
			e.unwatchAll(c)
		}
	}
}

// touchWatched invalidates the WATCHes on key in db. With no WATCH
// anywhere it costs one length check.
func (e *Engine) touchWatched(db *DB, key string) {
	if len(e.watches) == 0 {
		return
	}
	list := e.watches[blockKey{db, key}]
	if len(list) == 0 {
		return
	}
	var dirty []*Client
	for _, w := range list {
		if w.expired {
			// Watched when already expired: its removal is no change.
			if db.keys.Get([]byte(key)) == nil {
				w.expired, w.existed = false, false
			}
			continue
		}
		dirty = append(dirty, w.c)
	}
	e.invalidate(dirty)
}

// touchWatchedDB invalidates the WATCHes on the keys of db after its
// contents were replaced (FLUSHDB, FLUSHALL, SWAPDB), as Redis's
// touchAllWatchedKeysInDb: a watch fails if its key existed before or
// exists after. A watch still valid has seen no change to its key since
// WATCH, so whether the key existed before is whether it did then.
func (e *Engine) touchWatchedDB(db *DB) {
	if len(e.watches) == 0 {
		return
	}
	now := e.nowMs()
	var dirty []*Client
	for k, list := range e.watches {
		if k.db != db {
			continue
		}
		var after *Value
		expiredAfter := false
		if after = db.keys.Get([]byte(k.key)); after != nil {
			if at := db.expireAt([]byte(k.key)); at >= 0 && at <= now {
				expiredAfter = true
			}
		}
		for _, w := range list {
			switch {
			case !w.existed && after == nil:
				continue
			case w.expired && after == nil:
				w.expired, w.existed = false, false // expired key now gone
				continue
			case w.expired && expiredAfter:
				continue // an expired key replaced by an expired one
			case !w.existed && expiredAfter:
				w.expired, w.existed = true, true // absent, now expired
				continue
			}
			dirty = append(dirty, w.c)
		}
	}
	e.invalidate(dirty)
}
