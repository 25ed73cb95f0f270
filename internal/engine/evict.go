package engine

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Policy is a maxmemory-policy: what to evict when the dataset is over
// maxmemory.
type Policy uint8

// The eviction policies of Redis.
const (
	NoEviction     Policy = iota // refuse commands that would grow memory
	AllKeysLRU                   // least recently used of all keys
	AllKeysLFU                   // least frequently used of all keys
	AllKeysRandom                // any key
	VolatileLRU                  // least recently used of the keys with a TTL
	VolatileLFU                  // least frequently used of the keys with a TTL
	VolatileRandom               // any key with a TTL
	VolatileTTL                  // the key with the nearest expiry
)

// String is the policy's name as maxmemory-policy spells it.
func (p Policy) String() string {
	switch p {
	case NoEviction:
		return "noeviction"
	case AllKeysLRU:
		return "allkeys-lru"
	case AllKeysLFU:
		return "allkeys-lfu"
	case AllKeysRandom:
		return "allkeys-random"
	case VolatileLRU:
		return "volatile-lru"
	case VolatileLFU:
		return "volatile-lfu"
	case VolatileRandom:
		return "volatile-random"
	case VolatileTTL:
		return "volatile-ttl"
	}
	return "policy(" + strconv.Itoa(int(p)) + ")"
}

// ParsePolicy parses a maxmemory-policy name.
func ParsePolicy(s string) (Policy, bool) {
	for p := NoEviction; p <= VolatileTTL; p++ {
		if strings.EqualFold(s, p.String()) {
			return p, true
		}
	}
	return 0, false
}

func (p Policy) lfu() bool      { return p == AllKeysLFU || p == VolatileLFU }
func (p Policy) volatile() bool { return p >= VolatileLRU }

// errOOM is Redis's reply to a command refused over maxmemory.
const errOOM = "OOM command not allowed when used memory > 'maxmemory'."

// Memory limit and access clock.
//
// The access clock of a key is 24 bits in Value.lru, as in Redis: under
// an LRU (or no) policy the last access in seconds (modulo 2^24); under
// an LFU policy the last decrement time in minutes (16 bits) and a
// logarithmic access counter (8 bits).
const (
	lruClockMax  = 1<<24 - 1
	lfuInitVal   = 5
	lfuLogFactor = 10
	lfuDecayTime = 1 // minutes per counter decrement
	evictSamples = 5 // maxmemory-samples
	evictPool    = 16
)

// MemoryOptions are the memory limit of an engine.
type MemoryOptions struct {
	MaxMemory int64 // bytes of dataset; 0: no limit
	Policy    Policy
}

// SetMemory changes the memory limit and policy of a running engine. The
// caller holds the lock.
func (e *Engine) SetMemory(o MemoryOptions) {
	e.maxmemory = max(o.MaxMemory, 0)
	e.policy = o.Policy
	e.refreshClock()
}

// Memory reports the memory limit and policy. The caller holds the lock.
func (e *Engine) Memory() MemoryOptions {
	return MemoryOptions{MaxMemory: e.maxmemory, Policy: e.policy}
}

// EvictedKeys reports how many keys eviction removed.
func (e *Engine) EvictedKeys() int64 { return e.evicted }

// refreshClock reads the engine clock into the cached access clocks.
// Called ten times a second from the expiry loop, so key accesses never
// read the time.
func (e *Engine) refreshClock() {
	now := e.now()
	e.lruClock = uint32(now.Unix()) & lruClockMax
	e.lfuMinutes = uint32(now.Unix()/60) & 0xffff
}

func getLRU(v *Value) uint32 { return uint32(v.lru[0]) | uint32(v.lru[1])<<8 | uint32(v.lru[2])<<16 }

func putLRU(v *Value, x uint32) { v.lru = [3]byte{byte(x), byte(x >> 8), byte(x >> 16)} }

// initLRU sets the access clock of a value that is being stored.
func (e *Engine) initLRU(v *Value) {
	if e.policy.lfu() {
		putLRU(v, e.lfuMinutes<<8|lfuInitVal)
		return
	}
	putLRU(v, e.lruClock)
}

// touchLRU records an access to a key.
func (e *Engine) touchLRU(v *Value) {
	if !e.policy.lfu() {
		if getLRU(v) != e.lruClock {
			putLRU(v, e.lruClock)
		}
		return
	}
	counter := lfuLogIncr(e.lfuDecr(v))
	putLRU(v, e.lfuMinutes<<8|uint32(counter))
}

// idleMillis is the approximate time since the key's last access.
func (e *Engine) idleMillis(v *Value) int64 {
	lru := getLRU(v)
	if e.lruClock >= lru {
		return int64(e.lruClock-lru) * 1000
	}
	return int64(e.lruClock+(lruClockMax-lru)) * 1000
}

// lfuDecr is the key's access counter after the decay of the minutes
// since it was last decremented.
func (e *Engine) lfuDecr(v *Value) uint8 {
	x := getLRU(v)
	ldt, counter := x>>8, uint8(x&0xff)
	elapsed := e.lfuMinutes - ldt
	if e.lfuMinutes < ldt {
		elapsed = 65535 - ldt + e.lfuMinutes
	}
	periods := elapsed / lfuDecayTime
	if periods >= uint32(counter) {
		return 0
	}
	return counter - uint8(periods)
}

// lfuLogIncr increments an access counter logarithmically: the higher it
// is, the less likely an access moves it.
func lfuLogIncr(counter uint8) uint8 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	if rand.Float64() < 1/(base*lfuLogFactor+1) {
		counter++
	}
	return counter
}

// admitMemory evicts keys while the engine is over maxmemory, and reports
// whether a command that grows memory may run. The caller holds the lock.
func (e *Engine) admitMemory() bool {
	if e.maxmemory == 0 || e.used <= e.maxmemory {
		return true
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for e.used > e.maxmemory {
		db, key := e.evictionCandidate()
		if db == nil || time.Now().After(deadline) {
			return false
		}
		db.delete(e, []byte(key))
		e.feedDel(db, key)
		e.evicted++
	}
	return true
}

// candidate is a key in the eviction pool and how good a victim it is
// (higher: evict sooner).
type candidate struct {
	db    *DB
	key   string
	score int64
}

// evictionCandidate picks the next key to evict under the policy, or nil
// when nothing can be evicted. LRU, LFU and TTL sample maxmemory-samples
// keys of every database into a pool of the best victims seen, as Redis's
// approximated LRU does; random picks any key, going round the databases.
func (e *Engine) evictionCandidate() (*DB, string) {
	switch e.policy {
	case NoEviction:
		return nil, ""
	case AllKeysRandom, VolatileRandom:
		for range e.dbs {
			db := e.dbs[e.evictNext%len(e.dbs)]
			e.evictNext++
			var key string
			var ok bool
			if e.policy == VolatileRandom {
				key, _, ok = db.expires.Random()
			} else {
				key, _, ok = db.keys.Random()
			}
			if ok {
				return db, key
			}
		}
		return nil, ""
	}
	for _, db := range e.dbs {
		e.samplePool(db)
	}
	for len(e.pool) > 0 {
		best := len(e.pool) - 1 // the pool is sorted by ascending score
		c := e.pool[best]
		e.pool = e.pool[:best]
		if c.db.keys.Get([]byte(c.key)) == nil {
			continue
		}
		if e.policy.volatile() && c.db.expireAt([]byte(c.key)) < 0 {
			continue
		}
		return c.db, c.key
	}
	return nil, ""
}

// samplePool adds evictSamples random keys of db to the pool, keeping the
// evictPool best victims.
func (e *Engine) samplePool(db *DB) {
	volatile := e.policy.volatile()
	if (volatile && db.expires.Len() == 0) || db.keys.Len() == 0 {
		return
	}
	for range evictSamples {
		var key string
		var v *Value
		if volatile {
			k, _, ok := db.expires.Random()
			if !ok {
				return
			}
			key, v = k, db.keys.Get([]byte(k))
		} else {
			k, val, ok := db.keys.Random()
			if !ok {
				return
			}
			key, v = k, val
		}
		if v == nil {
			continue
		}
		var score int64
		switch e.policy {
		case AllKeysLRU, VolatileLRU:
			score = e.idleMillis(v)
		case AllKeysLFU, VolatileLFU:
			score = 255 - int64(e.lfuDecr(v))
		case VolatileTTL:
			score = -db.expireAt([]byte(key))
		}
		e.poolInsert(candidate{db: db, key: key, score: score})
	}
}

// poolInsert keeps the pool sorted by ascending score, without
// duplicates, at most evictPool long (dropping the worst).
func (e *Engine) poolInsert(c candidate) {
	for _, p := range e.pool {
		if p.db == c.db && p.key == c.key {
			return
		}
	}
	i := 0
	for i < len(e.pool) && e.pool[i].score < c.score {
		i++
	}
	if len(e.pool) == evictPool {
		if i == 0 {
			return
		}
		copy(e.pool, e.pool[1:i])
		e.pool[i-1] = c
		return
	}
	e.pool = append(e.pool, candidate{})
	copy(e.pool[i+1:], e.pool[i:])
	e.pool[i] = c
}
