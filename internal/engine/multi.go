package engine

// touchWatched invalidates the WATCHes on key in db. (Stub; the
// transactions work completes it.)
func (e *Engine) touchWatched(db *DB, key string) {}

// touchWatchedDB invalidates the WATCHes on every key of db. (Stub.)
func (e *Engine) touchWatchedDB(db *DB) {}
