package engine

import (
	"bytes"
	"strconv"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// Propagation: every change the engine makes reaches the Feed (the
// append-only file) as commands that, replayed in order on the state the
// engine started from, rebuild the same data:
//
//   - a command that changed data is logged as it was sent, in its
//     database (SELECT is logged when the database changes);
//   - every expiry a command set is followed by PEXPIREAT with the
//     absolute time, so relative forms (EXPIRE, SET EX, SETEX, GETEX EX …)
//     replay to the same instant, and a key whose time has passed by then
//     is removed;
//   - SPOP, the one random write, is logged as SREM of the members it
//     popped (read back from its reply);
//   - keys removed by expiry or eviction are logged as DEL where it
//     happened, before the command that found them expired;
//   - a transaction is wrapped in MULTI … EXEC, so a crash in the middle
//     of writing one leaves a torn tail that is dropped whole.
//
// Commands that changed nothing (an error, SET NX on an existing key) are
// not logged.

// Feed receives the engine's changes as commands. Command is called under
// the engine lock, in order; it must not block.
type Feed interface {
	Command(args [][]byte)
	// RawCommand is Command for a command already encoded as a RESP
	// array of bulk strings (the bytes it arrived as).
	RawCommand(frame []byte)
}

// propState is the engine's propagation state; under the lock.
type propState struct {
	feed      Feed
	db        int   // database of the last command fed; -1: none yet
	changes   int64 // changes made by commands (not expiry or eviction)
	loading   bool  // replaying the append-only file: nothing expires
	inExec    bool  // between BeginExec and EndExec
	multiOpen bool  // MULTI was fed for the running EXEC
	expires   []expireEffect
}

// expireEffect is an expiry set by the running command.
type expireEffect struct {
	db  int
	key string
	at  int64
}

// SetFeed makes the engine report its changes to f (nil: to nobody).
// The caller holds the lock.
func (e *Engine) SetFeed(f Feed) {
	e.prop = propState{feed: f, db: -1}
}

// SetLoading switches loading mode, in which keys never expire (lazily,
// actively or by an expiry time already past), as in Redis: a replayed
// log must find the keys its commands found, however late it is replayed.
// Expired keys go once loading ends. The caller holds the lock.
func (e *Engine) SetLoading(on bool) { e.prop.loading = on }

// logged runs a handler and feeds what it changed.
func (e *Engine) logged(c *Client, spec *command.Spec, h Handler, args [][]byte) {
	p := &e.prop
	if p.feed == nil {
		h(c, args)
		return
	}
	db := c.db.id
	before := p.changes
	mark := c.W.Buffered()
	p.expires = p.expires[:0]
	h(c, args)
	if p.changes == before {
		return
	}
	switch {
	case spec.Name == "spop":
		e.feedSpop(db, args[1], c.W.Bytes()[mark:])
	case c.Raw != nil:
		e.prefix(db)
		p.feed.RawCommand(c.Raw)
	default:
		e.feed(db, args)
	}
	for _, x := range p.expires {
		e.feed(x.db, [][]byte{[]byte("PEXPIREAT"), []byte(x.key), strconv.AppendInt(nil, x.at, 10)})
	}
	p.expires = p.expires[:0]
}

// feed hands one command to the feed, preceded by MULTI inside EXEC and
// by SELECT when the database changes.
func (e *Engine) feed(db int, args [][]byte) {
	e.prefix(db)
	e.prop.feed.Command(args)
}

// prefix feeds what must precede a command of database db: MULTI inside
// EXEC, SELECT when the database changes.
func (e *Engine) prefix(db int) {
	p := &e.prop
	if p.inExec && !p.multiOpen {
		p.multiOpen = true
		p.feed.Command([][]byte{[]byte("MULTI")})
	}
	if db != p.db {
		p.db = db
		p.feed.Command([][]byte{[]byte("SELECT"), strconv.AppendInt(nil, int64(db), 10)})
	}
}

// feedSpop logs SPOP as SREM of the members its reply holds.
func (e *Engine) feedSpop(db int, key, reply []byte) {
	v, err := resp.NewReader(bytes.NewReader(reply), resp.DefaultLimits()).ReadValue()
	if err != nil {
		e.log.Error("SPOP reply unreadable for the append-only file", "err", err)
		return
	}
	args := [][]byte{[]byte("SREM"), key}
	switch v.Type {
	case resp.TypeBulk:
		if !v.Null {
			args = append(args, v.Str)
		}
	case resp.TypeArray, resp.TypeSet:
		for _, m := range v.Elems {
			args = append(args, m.Str)
		}
	}
	if len(args) > 2 {
		e.feed(db, args)
	}
}

// noteExpire records an expiry set by the running command.
func (e *Engine) noteExpire(db *DB, key []byte, at int64) {
	if e.prop.feed != nil {
		e.prop.expires = append(e.prop.expires, expireEffect{db: db.id, key: string(key), at: at})
	}
}

// feedDel logs the removal of a key by expiry or eviction.
func (e *Engine) feedDel(db *DB, key string) {
	if e.prop.feed != nil {
		e.feed(db.id, [][]byte{[]byte("DEL"), []byte(key)})
	}
}

// beginExecFeed and endExecFeed bracket a transaction in the feed.
func (e *Engine) beginExecFeed() { e.prop.inExec = true }

func (e *Engine) endExecFeed() {
	p := &e.prop
	if p.multiOpen {
		p.feed.Command([][]byte{[]byte("EXEC")})
	}
	p.inExec, p.multiOpen = false, false
}
