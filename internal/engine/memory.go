package engine

import (
	"math"
	"strings"
)

// Memory accounting.
//
// Every database keeps an estimate of the bytes its keys, values and
// expiries hold (db.mem), and the engine their sum (Engine.used). The
// estimate follows the data structures, not the Go heap: a key costs its
// dict entry, its share of the bucket array, the key bytes and the value;
// strings cost their allocation; other types report their own running
// total (object.memory). db.add, db.set and db.delete account as they
// store; commands that change a value in place call keyChanged, which
// re-reads the object's total. INFO memory, MEMORY USAGE and maxmemory
// use it; a test checks it against the process's RSS.

const (
	// entryCost is one dict entry: key header (16), Value (40), next
	// pointer (8), in a 64-byte size class, plus about one bucket pointer.
	entryCost = 64 + 8
	// expireEntryCost is one entry of the expiry dict: key header, int64,
	// next pointer, a copy of the key and a bucket pointer.
	expireEntryCost = 32 + 8
	// objectUnit is the unit in which Value.room holds an object's
	// accounted size.
	objectUnit = 16
)

// allocSize rounds n up to the allocation the Go runtime makes for it:
// its small size classes up to 32 KiB, pages beyond.
func allocSize(n int) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	case n <= 32:
		return int64((n + 7) &^ 7)
	case n <= 256:
		return int64((n + 15) &^ 15)
	case n <= 512:
		return int64((n + 31) &^ 31)
	case n <= 1024:
		return int64((n + 63) &^ 63)
	case n <= 2048:
		return int64((n + 127) &^ 127)
	case n <= 32<<10:
		return int64((n + 511) &^ 511)
	default:
		return int64((n + 8191) &^ 8191)
	}
}

// valueCost is the accounted size of a value (not its key).
func valueCost(v *Value) int64 {
	if v.obj != nil {
		return int64(v.room) * objectUnit
	}
	return allocSize(len(v.str) + int(v.room))
}

// keyCost is the accounted size of a key and its value.
func keyCost(key string, v *Value) int64 {
	return entryCost + allocSize(len(key)) + valueCost(v)
}

// expireCost is the accounted size of an expiry entry of key.
func expireCost(key string) int64 { return expireEntryCost + allocSize(len(key)) }

// objectUnits is an object's size in objectUnit, saturated to fit room.
func objectUnits(o object) uint32 {
	n := (o.memory() + objectUnit - 1) / objectUnit
	return uint32(min(max(n, 0), math.MaxUint32))
}

// account adds delta bytes to the database's and the engine's totals.
func (db *DB) account(e *Engine, delta int64) {
	db.mem += delta
	e.used += delta
}

// reaccount brings the accounted size of an object value up to date after
// an in-place change.
func (db *DB) reaccount(e *Engine, v *Value) {
	old := int64(v.room) * objectUnit
	v.room = objectUnits(v.obj)
	db.account(e, int64(v.room)*objectUnit-old)
}

// prepare readies a value that is about to be stored: a fresh access
// clock and, for objects, their current size.
func (e *Engine) prepare(v *Value) {
	if v.obj != nil {
		v.room = objectUnits(v.obj)
	}
	e.initLRU(v)
}

// UsedMemory reports the estimated bytes of the dataset (all databases).
// The caller holds the lock.
func (e *Engine) UsedMemory() int64 { return e.used }

// cmdMemoryUsage is MEMORY USAGE key [SAMPLES n]: the estimate for one key
// and its value (the estimate is exact for our structures, so SAMPLES is
// checked and ignored).
func cmdMemoryUsage(c *Client, args [][]byte) {
	if len(args) != 3 && len(args) != 5 {
		c.W.WriteError(errSyntax)
		return
	}
	if len(args) == 5 {
		if !strings.EqualFold(string(args[3]), "samples") {
			c.W.WriteError(errSyntax)
			return
		}
		if _, ok := parseInt(args[4]); !ok {
			c.W.WriteError(errNotInt)
			return
		}
	}
	v := c.db.keys.Get(args[2]) // as Redis: no expiry, no access
	if v == nil {
		c.W.WriteNull()
		return
	}
	n := keyCost(string(args[2]), v)
	if c.db.expireAt(args[2]) >= 0 {
		n += expireCost(string(args[2]))
	}
	c.W.WriteInt(n)
}
