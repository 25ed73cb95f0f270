package compat

import (
	"testing"
	"time"
)

// Transactions: MULTI/EXEC/DISCARD and WATCH, byte for byte against
// redis-server, with a second connection on each side for the changes
// WATCH must notice.

func txCases() [][]string {
	return [][]string{
		cmd("EXEC"), cmd("DISCARD"), cmd("UNWATCH"), cmd("MULTI"), cmd("MULTI"), cmd("WATCH k"),
		cmd("SET k 1"), cmd("INCR k"), cmd("LPUSH k x"), cmd("GET k"), cmd("PING"), cmd("ECHO hi"),
		cmd("UNWATCH"), cmd("EXEC"), cmd("EXEC"),
		// Runtime errors are replies inside the array.
		cmd("MULTI"), cmd("SET s abc"), cmd("INCR s"), cmd("HSET s f v"), cmd("GET s"), cmd("EXEC"),
		// Queue-time errors abort the transaction.
		cmd("MULTI"), cmd("SET a 1"), cmd("NOSUCH a"), cmd("SET a 2"), cmd("EXEC"), cmd("GET a"),
		cmd("MULTI"), cmd("GET"), cmd("EXEC"), cmd("MULTI"), cmd("SET a"), cmd("SET b 1"), cmd("EXEC"),
		cmd("EXISTS a b"),
		// Nested MULTI and WATCH inside MULTI do not abort it.
		cmd("MULTI"), cmd("MULTI"), cmd("WATCH a"), cmd("SET a 3"), cmd("EXEC"), cmd("GET a"),
		// DISCARD.
		cmd("MULTI"), cmd("SET a 4"), cmd("DISCARD"), cmd("GET a"), cmd("DISCARD"),
		cmd("MULTI"), cmd("NOSUCH"), cmd("DISCARD"), cmd("EXEC"),
		// An empty transaction; SELECT inside one.
		cmd("MULTI"), cmd("EXEC"),
		cmd("MULTI"), cmd("SELECT 3"), cmd("SET x in3"), cmd("SELECT 0"), cmd("GET x"), cmd("EXEC"),
		cmd("SELECT 3"), cmd("GET x"), cmd("SELECT 0"),
		cmd("MULTI"), cmd("SELECT 99"), cmd("SELECT 2"), cmd("EXEC"), cmd("SET y in2"), cmd("SELECT 0"),
		cmd("EXISTS y"),
		// QUIT is not queued; RESET ends the transaction.
		cmd("MULTI"), cmd("SET r 1"), cmd("RESET"), cmd("EXEC"), cmd("EXISTS r"),
		// (The no_multi commands, SAVE, SHUTDOWN, SYNC and PSYNC, are
		// refused on Redoubt by policy before MULTI is considered.)
		// WATCH in the same connection: its own change counts.
		cmd("WATCH w"), cmd("SET w 1"), cmd("MULTI"), cmd("GET w"), cmd("EXEC"),
		cmd("WATCH w"), cmd("GET w"), cmd("MULTI"), cmd("GET w"), cmd("EXEC"),
		cmd("WATCH w nokey"), cmd("WATCH w"), cmd("DEL nokey"), cmd("EXPIRE nokey 10"), cmd("MULTI"),
		cmd("GET w"), cmd("EXEC"),
		cmd("WATCH w"), cmd("UNWATCH"), cmd("SET w 2"), cmd("MULTI"), cmd("GET w"), cmd("EXEC"),
		cmd("WATCH w"), cmd("MULTI"), cmd("DISCARD"), cmd("SET w 3"), cmd("MULTI"), cmd("GET w"), cmd("EXEC"),
		cmd("WATCH w"), cmd("SELECT 1"), cmd("SET w other-db"), cmd("MULTI"), cmd("GET w"), cmd("EXEC"),
		cmd("SELECT 0"),
	}
}

func TestCompatTxCases(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		p.checkAll(txCases())
	})
}

// TestCompatTxWatchOthers changes watched keys from another connection.
func TestCompatTxWatchOthers(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		o := p.conn2()
		// exec runs a one-command transaction on p after change ran on o.
		exec := func(watch []string, change ...[]string) {
			t.Helper()
			p.check(append([]string{"WATCH"}, watch...)...)
			for _, c := range change {
				o.check(c...)
			}
			p.check("MULTI")
			p.check("GET", watch[0])
			p.check("EXEC")
		}
		o.check("SET", "k", "v")
		o.check("SELECT", "1")
		o.check("SET", "k1", "v")
		o.check("SELECT", "0")
		exec(cmd("k"))
		exec(cmd("k"), cmd("GET k"), cmd("EXISTS k"), cmd("TTL k"))
		exec(cmd("k"), cmd("SET k v"))
		exec(cmd("k"), cmd("APPEND k x"))
		exec(cmd("k"), cmd("EXPIRE k 1000"))
		exec(cmd("k"), cmd("PERSIST k"))
		exec(cmd("k"), cmd("DEL nokey"))
		exec(cmd("k nokey"), cmd("SET nokey 1"))
		exec(cmd("k"), cmd("RENAME k k2"))
		exec(cmd("k2"), cmd("SET k v"), cmd("RENAME k k2"))
		exec(cmd("k2"), cmd("COPY k2 k3"))
		exec(cmd("k3"), cmd("COPY k2 k3 REPLACE"))
		exec(cmd("k3"), cmd("MOVE k3 5"))
		exec(cmd("k2"), cmd("SELECT 5"), cmd("SET k2 x"), cmd("SELECT 0"))
		// FLUSHDB/FLUSHALL touch the watched keys that exist, and only
		// those; FLUSHDB of another database touches nothing.
		exec(cmd("k2"), cmd("SELECT 2"), cmd("FLUSHDB"), cmd("SELECT 0"))
		exec(cmd("k2"), cmd("FLUSHDB"))
		exec(cmd("absent"), cmd("FLUSHALL"))
		o.check("SET", "k", "v")
		exec(cmd("k"), cmd("FLUSHALL"))
		// SWAPDB touches a watched key that exists on either side.
		o.check("SET", "here", "0")
		o.check("SELECT", "1")
		o.check("SET", "there", "1")
		o.check("SELECT", "0")
		exec(cmd("nowhere"), cmd("SWAPDB 0 1"))
		exec(cmd("here"), cmd("SWAPDB 0 1"))
		exec(cmd("there"), cmd("SWAPDB 0 1"))
		exec(cmd("there"), cmd("SWAPDB 1 2"))
		// Lists and hashes changed in place.
		o.check("RPUSH", "l", "a", "b")
		exec(cmd("l"), cmd("LPOP l"))
		exec(cmd("l"), cmd("LPOP l"))
		exec(cmd("l"), cmd("LPOP l"))
		o.check("HSET", "h", "f", "v")
		exec(cmd("h"), cmd("HDEL h nofield"))
		exec(cmd("h"), cmd("HSET h f v2"))
	})
}

// TestCompatTxWatchExpiry lets a watched key expire before EXEC: EXEC
// fails whether the key was removed or only its time passed. A key
// already expired when WATCH ran does not fail the transaction.
func TestCompatTxWatchExpiry(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p *pair, proto int) {
		o := p.conn2()
		// expire waits until probe, which expires after key, is gone on
		// both servers.
		expire := func(key string) {
			t.Helper()
			o.check("SET", key, "v", "PX", "30")
			o.check("SET", "probe", "v", "PX", "40")
		}
		waitGone := func() {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for _, c := range []*rawConn{o.oracle, o.us} {
				for string(c.do("EXISTS", "probe")) != ":0\r\n" {
					if time.Now().After(deadline) {
						t.Fatalf("%s: probe never expired", c.name)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		// Expires between WATCH and EXEC, nobody reads it.
		expire("e1")
		p.check("WATCH", "e1")
		waitGone()
		p.check("MULTI")
		p.check("PING")
		p.check("EXEC")
		// Expires and is read (removed) by another client.
		expire("e2")
		p.check("WATCH", "e2")
		waitGone()
		o.check("GET", "e2")
		p.check("MULTI")
		p.check("PING")
		p.check("EXEC")
		// Already expired when watched (the active cycle may or may
		// not have removed it yet: both leave EXEC alone).
		expire("e3")
		waitGone()
		p.check("WATCH", "e3")
		o.check("GET", "e3")
		p.check("MULTI")
		p.check("PING")
		p.check("EXEC")
		// Already expired, then set again: a change.
		expire("e4")
		waitGone()
		p.check("WATCH", "e4")
		o.check("SET", "e4", "new")
		p.check("MULTI")
		p.check("GET", "e4")
		p.check("EXEC")
	})
}
