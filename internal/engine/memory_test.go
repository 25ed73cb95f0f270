package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recount computes the dataset estimate from scratch: every key's cost
// with each object's size read afresh. A command that changes a value in
// place without calling keyChanged makes it differ from the running total.
func (env *testEnv) recount() int64 {
	env.e.Lock()
	defer env.e.Unlock()
	var sum int64
	for _, db := range env.e.dbs {
		var dbSum int64
		db.keys.Range(func(k string, v *Value) bool {
			c := *v
			if c.obj != nil {
				c.room = objectUnits(c.obj)
			}
			dbSum += keyCost(k, &c)
			return true
		})
		db.expires.Range(func(k string, _ *int64) bool {
			dbSum += expireCost(k)
			return true
		})
		if dbSum != db.mem {
			env.t.Errorf("db %d: accounted %d bytes, recounted %d", db.id, db.mem, dbSum)
		}
		sum += dbSum
	}
	return sum
}

func (env *testEnv) used() int64 {
	env.e.Lock()
	defer env.e.Unlock()
	return env.e.used
}

// TestMemoryAccounting runs commands of every kind and checks after each
// one that the running total equals a recount, and that it returns to
// zero when the data is gone.
func TestMemoryAccounting(t *testing.T) {
	env := newEnv(t)
	steps := []string{
		"SET a 1", "SET b hello", "APPEND b " + strings.Repeat("x", 300), "APPEND b yy",
		"SETRANGE b 500 z", "INCR a", "INCRBYFLOAT a 1.5", "SET c v EX 100", "EXPIRE b 100",
		"PERSIST b", "GETEX c PERSIST", "PEXPIRE c 100000", "MSET d 1 e 2 f 3",
		"HSET h f1 v1 f2 v2", "HSET h f1 " + strings.Repeat("v", 100), "HDEL h f2",
		"HINCRBY h n 5", "HINCRBYFLOAT h n 0.5", "RENAME d d2", "COPY e e2", "MOVE f 1",
		"SWAPDB 0 1", "SWAPDB 0 1", "GETDEL e", "SET b other KEEPTTL", "DEL h",
	}
	for i := 0; i < 200; i++ { // big encodings of every type
		steps = append(steps, fmt.Sprintf("HSET big f%d v%d", i, i),
			fmt.Sprintf("RPUSH bl e%d", i), fmt.Sprintf("SADD bs m%d", i), fmt.Sprintf("SADD bi %d", i),
			fmt.Sprintf("ZADD bz %d m%d", i, i))
	}
	steps = append(steps,
		"LPUSH l a b c d", "RPUSH l e", "LPOP l", "RPOP l 2", "LSET l 0 "+strings.Repeat("z", 90),
		"LINSERT l BEFORE a x", "LREM l 0 x", "LTRIM l 0 0", "LMOVE l l2 LEFT RIGHT", "RPOPLPUSH bl l2",
		"LMPOP 1 bl LEFT COUNT 10", "BLPOP bl 0", "BLMOVE bl l2 RIGHT LEFT 0", "LTRIM bl 5 50",
		"SADD s 1 2 3", "SADD s x", "SREM s 1", "SPOP s", "SMOVE bs s m5", "SINTERSTORE si bs bi",
		"SUNIONSTORE su bs bi", "SDIFFSTORE sd bs s", "SPOP bs 150", "SPOP bi 3",
		"ZADD z 1 a 2 b", "ZINCRBY z 5 a", "ZADD z XX 3 "+strings.Repeat("m", 80), "ZADD z 4 "+strings.Repeat("m", 80),
		"ZREM z a", "ZPOPMIN bz 3", "ZPOPMAX bz", "ZMPOP 1 bz MIN COUNT 5", "BZPOPMIN bz 0",
		"ZREMRANGEBYRANK bz 0 9", "ZREMRANGEBYSCORE bz 0 40", "ZREMRANGEBYLEX z - +",
		"ZUNIONSTORE zu 2 bz bs", "ZINTERSTORE zi 2 bz bz", "ZDIFFSTORE zd 1 bz", "ZRANGESTORE zr bz 0 20",
		"COPY bz bz2", "RENAME bl bl2", "DEL bs", "EXPIRE bz 100", "DEL bz")
	steps = append(steps, "HDEL big f1 f2 f3", "COPY big big2", "FLUSHDB")
	for _, line := range steps {
		env.run(strings.Fields(line)...)
		if got, want := env.used(), env.recount(); got != want {
			t.Fatalf("after %s: used %d, recount %d", line, got, want)
		}
	}
	env.run("SELECT", "1")
	env.run("FLUSHALL")
	if u := env.used(); u != 0 {
		t.Fatalf("used %d after FLUSHALL, want 0", u)
	}
}

// TestMemoryAccountingExpiry checks that lazy and active expiry give the
// memory back.
func TestMemoryAccountingExpiry(t *testing.T) {
	env := newEnv(t)
	for i := 0; i < 100; i++ {
		env.run("SET", "k"+strconv.Itoa(i), "value", "PX", "10")
	}
	if env.used() == 0 {
		t.Fatal("nothing accounted")
	}
	env.advance(time.Second)
	env.run("GET", "k0") // lazy
	env.e.Lock()
	env.e.activeExpireCycle(time.Second)
	env.e.Unlock()
	if u := env.used(); u != 0 {
		t.Fatalf("used %d after every key expired, want 0", u)
	}
}

func TestMemoryUsage(t *testing.T) {
	env := newEnv(t)
	env.want("MEMORY USAGE none", "$-1\r\n")
	env.run("SET", "k", strings.Repeat("x", 1000))
	got := env.run("MEMORY", "USAGE", "k")
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(got, ":")))
	if err != nil || n < 1000 || n > 1200 {
		t.Fatalf("MEMORY USAGE of a 1000-byte string: %q", got)
	}
	env.want("MEMORY USAGE k SAMPLES 5", got)
	env.want("MEMORY USAGE k SAMPLES x", "-"+errNotInt+"\r\n")
	env.want("MEMORY USAGE k FOO 5", "-"+errSyntax+"\r\n")
}

// fill writes n keys of about size bytes each.
func (env *testEnv) fill(prefix string, n, size int, ttl bool) {
	for i := 0; i < n; i++ {
		args := []string{"SET", prefix + strconv.Itoa(i), strings.Repeat("v", size)}
		if ttl {
			args = append(args, "EX", strconv.Itoa(1000+i))
		}
		env.run(args...)
	}
}

func (env *testEnv) setMemory(max int64, p Policy) {
	env.e.Lock()
	env.e.SetMemory(MemoryOptions{MaxMemory: max, Policy: p})
	env.e.Unlock()
}

func (env *testEnv) exists(key string) bool { return env.run("EXISTS", key) == ":1\r\n" }

func TestMaxMemoryNoEviction(t *testing.T) {
	env := newEnv(t)
	env.fill("k", 100, 100, false)
	env.setMemory(env.used()-1, NoEviction)
	env.want("SET x y", "-"+errOOM+"\r\n")
	env.want("HSET h f v", "-"+errOOM+"\r\n")
	env.want("GET k1", "$100\r\n"+strings.Repeat("v", 100)+"\r\n") // reads run
	env.want("DEL k1", ":1\r\n")                                   // and deletes
	env.want("SET x y", "+OK\r\n")                                 // under the limit again
	if !env.exists("k2") {
		t.Fatal("noeviction evicted a key")
	}
}

// TestEvictionPolicies fills an engine to its limit with two groups of
// keys, then writes more, and checks what each policy evicted.
func TestEvictionPolicies(t *testing.T) {
	tests := []struct {
		policy Policy
		// check sees how many keys of each group survived
		check func(t *testing.T, old, recent, volatileOld, volatileRecent int)
	}{
		{AllKeysLRU, func(t *testing.T, old, recent, vo, vr int) {
			if old+vo >= recent+vr {
				t.Errorf("LRU kept %d old keys and %d recently used ones", old+vo, recent+vr)
			}
		}},
		{AllKeysLFU, func(t *testing.T, old, recent, vo, vr int) {
			if old+vo >= recent+vr {
				t.Errorf("LFU kept %d rarely used keys and %d often used ones", old+vo, recent+vr)
			}
		}},
		{VolatileLRU, func(t *testing.T, old, recent, vo, vr int) {
			if old != 200 || recent != 200 {
				t.Errorf("volatile-lru evicted keys without a TTL: %d, %d of 200 left", old, recent)
			}
			if vo >= vr {
				t.Errorf("volatile-lru kept %d old volatile keys and %d recent", vo, vr)
			}
		}},
		{VolatileTTL, func(t *testing.T, old, recent, vo, vr int) {
			if old != 200 || recent != 200 {
				t.Errorf("volatile-ttl evicted keys without a TTL: %d, %d of 200 left", old, recent)
			}
		}},
		{VolatileRandom, func(t *testing.T, old, recent, vo, vr int) {
			if old != 200 || recent != 200 {
				t.Errorf("volatile-random evicted keys without a TTL")
			}
		}},
		{AllKeysRandom, func(t *testing.T, old, recent, vo, vr int) {}},
		{VolatileLFU, func(t *testing.T, old, recent, vo, vr int) {
			if old != 200 || recent != 200 {
				t.Errorf("volatile-lfu evicted keys without a TTL")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			env := newEnv(t)
			env.setMemory(0, tc.policy)
			env.fill("old", 200, 100, false)
			env.fill("vold", 200, 100, true)
			env.advance(100 * time.Second) // the old keys are idle
			env.fill("recent", 200, 100, false)
			env.fill("vrecent", 200, 100, true)
			for i := 0; i < 200; i++ { // use the recent keys often
				for range 20 {
					env.run("GET", "recent"+strconv.Itoa(i))
					env.run("GET", "vrecent"+strconv.Itoa(i))
				}
			}
			limit := env.used()
			env.setMemory(limit, tc.policy)
			env.fill("new", 150, 100, false)
			// Eviction runs before each command, so the last one may
			// leave the dataset one key over the limit.
			if u := env.used(); u > limit+256 {
				t.Fatalf("used %d over maxmemory %d", u, limit)
			}
			count := func(prefix string) int {
				n := 0
				for i := 0; i < 200; i++ {
					if env.exists(prefix + strconv.Itoa(i)) {
						n++
					}
				}
				return n
			}
			if !env.exists("new149") {
				t.Fatal("the last write is not stored")
			}
			tc.check(t, count("old"), count("recent"), count("vold"), count("vrecent"))
			st := env.e.Stats()
			if st.EvictedKeys == 0 {
				t.Fatal("no evicted_keys counted")
			}
		})
	}
}

// TestVolatileTTLOrder checks that volatile-ttl evicts the nearest expiry
// first.
func TestVolatileTTLOrder(t *testing.T) {
	env := newEnv(t)
	env.fill("v", 300, 100, true) // v0 expires first
	env.setMemory(env.used(), VolatileTTL)
	env.fill("new", 20, 100, false)
	evictedEarly, evictedLate := 0, 0
	for i := 0; i < 100; i++ {
		if !env.exists("v" + strconv.Itoa(i)) {
			evictedEarly++
		}
		if !env.exists("v" + strconv.Itoa(200+i)) {
			evictedLate++
		}
	}
	if evictedEarly <= evictedLate {
		t.Fatalf("volatile-ttl evicted %d of the nearest expiries and %d of the farthest", evictedEarly, evictedLate)
	}
}

func TestVolatileWithoutCandidates(t *testing.T) {
	env := newEnv(t)
	env.fill("k", 50, 100, false)
	env.setMemory(env.used()-1, VolatileLRU)
	env.want("SET x y", "-"+errOOM+"\r\n")
}

func TestObjectIdletimeFreq(t *testing.T) {
	env := newEnv(t)
	env.run("SET", "k", "v")
	env.advance(10 * time.Second)
	env.want("OBJECT IDLETIME k", ":10\r\n")
	env.want("OBJECT IDLETIME k", ":10\r\n") // OBJECT is not an access
	env.want("OBJECT FREQ k", "-"+errNoLFU+"\r\n")
	env.run("GET", "k")
	env.want("OBJECT IDLETIME k", ":0\r\n")

	env.setMemory(0, AllKeysLFU)
	env.run("SET", "f", "v")
	env.want("OBJECT FREQ f", ":5\r\n") // LFU_INIT_VAL
	for range 1000 {
		env.run("GET", "f")
	}
	got := env.run("OBJECT", "FREQ", "f")
	if n, _ := strconv.Atoi(strings.TrimSpace(got[1:])); n <= 5 || n > 255 {
		t.Fatalf("OBJECT FREQ after 1000 reads: %q", got)
	}
	env.want("OBJECT IDLETIME f", "-"+errNoLRU+"\r\n")
}

func TestParsePolicy(t *testing.T) {
	for p := NoEviction; p <= VolatileTTL; p++ {
		if q, ok := ParsePolicy(strings.ToUpper(p.String())); !ok || q != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), q, ok)
		}
	}
	if _, ok := ParsePolicy("lru"); ok {
		t.Error("ParsePolicy accepted lru")
	}
}
