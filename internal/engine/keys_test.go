package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

// TestScanAcrossResize checks SCAN's guarantee while the keyspace dict
// grows through several resizes, and then shrinks, between calls: every
// key present for the whole scan is returned.
func TestScanAcrossResize(t *testing.T) {
	for _, tc := range []struct {
		name         string
		add, del     int // keys added and deleted after each call
		initialExtra int // keys to delete, made before the scan
	}{
		{name: "grow", add: 50, del: 1, initialExtra: 200},
		{name: "shrink", add: 0, del: 40, initialExtra: 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newEnv(t)
			for i := range 300 {
				k.run("SET", "stable:"+strconv.Itoa(i), "v")
			}
			for i := range tc.initialExtra {
				k.run("SET", "doomed:"+strconv.Itoa(i), "v")
			}
			seen := map[string]bool{}
			sizes := map[int]bool{}
			rehashing := 0
			added, deleted := 0, 0
			cursor := "0"
			for calls := 0; ; calls++ {
				var elems []string
				cursor, elems = k.scan("SCAN", cursor, "COUNT", "5")
				for _, e := range elems {
					seen[e] = true
				}
				if cursor == "0" {
					break
				}
				if calls > 100000 {
					t.Fatal("the scan does not end")
				}
				if calls < 100 {
					for range tc.add {
						k.run("SET", "new:"+strconv.Itoa(added), "v")
						added++
					}
				}
				for j := 0; j < tc.del && deleted < tc.initialExtra; j++ {
					k.run("DEL", "doomed:"+strconv.Itoa(deleted))
					deleted++
				}
				k.e.Lock()
				sizes[len(k.c.db.keys.ht[0])] = true
				if k.c.db.keys.rehashing() {
					rehashing++
				}
				k.e.Unlock()
			}
			for i := range 300 {
				if !seen["stable:"+strconv.Itoa(i)] {
					t.Errorf("stable:%d was never returned", i)
				}
			}
			if len(sizes) < 2 || rehashing == 0 {
				t.Errorf("the table did not resize during the scan (sizes %v, %d calls while rehashing)", sizes, rehashing)
			}
		})
	}
}

// TestLazyExpiry checks that an expired key is absent for every command,
// removed when touched, skipped (not removed) by KEYS and removed by SCAN.
func TestLazyExpiry(t *testing.T) {
	k := newEnv(t)
	k.want("SET a v", "+OK\r\n")
	k.want("PEXPIRE a 100", ":1\r\n")
	k.want("SET b v", "+OK\r\n")
	k.want("HSET h f v", ":1\r\n")
	k.want("PEXPIRE h 100", ":1\r\n")
	k.advance(40 * time.Millisecond)
	k.want("PTTL a", ":60\r\n")
	k.want("TTL a", ":0\r\n")
	k.want("EXISTS a h", ":2\r\n")
	k.advance(60 * time.Millisecond) // exactly at the expiry time
	for _, line := range []string{"KEYS *", "SCAN 0 MATCH zzz"} {
		k.run(strings.Fields(line)...)
	}
	if !k.stored("a") {
		t.Fatal("KEYS or SCAN MATCH removed a key that did not match")
	}
	k.want("KEYS *", "*1\r\n$1\r\nb\r\n")
	if !k.stored("a") || !k.stored("h") {
		t.Fatal("KEYS removed expired keys; Redis only skips them")
	}
	k.want("DBSIZE", ":3\r\n") // as Redis: not yet reclaimed
	if _, elems := k.scan("SCAN", "0", "COUNT", "100"); len(elems) != 1 || elems[0] != "b" {
		t.Fatalf("SCAN returned %q", elems)
	}
	if k.stored("a") || k.stored("h") {
		t.Fatal("SCAN kept expired keys it met")
	}
	k.want("DBSIZE", ":1\r\n")

	// Every command sees an expired key as absent.
	for _, key := range []string{"c", "d"} {
		k.run("HSET", key, "f", "v")
		k.run("PEXPIRE", key, "10")
	}
	k.advance(20 * time.Millisecond)
	for _, tc := range [][2]string{
		{"EXISTS c", ":0\r\n"}, {"TYPE d", "+none\r\n"}, {"HGET c f", "$-1\r\n"}, {"HLEN d", ":0\r\n"},
	} {
		k.want(tc[0], tc[1])
	}
	for _, key := range []string{"c", "d"} {
		k.run("SET", key, "v", "PX", "10")
	}
	k.advance(20 * time.Millisecond)
	for _, tc := range [][2]string{
		{"TTL c", ":-2\r\n"}, {"RENAME d x", "-ERR no such key\r\n"}, {"COPY c x", ":0\r\n"},
		{"MOVE c 1", ":0\r\n"}, {"OBJECT ENCODING d", "$-1\r\n"}, {"DEL c d", ":0\r\n"},
	} {
		k.want(tc[0], tc[1])
	}
	if k.stored("c") || k.stored("d") {
		t.Fatal("expired keys were touched but not removed")
	}
	k.e.Lock()
	expired := k.e.expiredKeys.Load()
	k.e.Unlock()
	if expired != 6 {
		t.Errorf("expired_keys = %d, want 6", expired)
	}

	// RANDOMKEY skips (and removes) expired keys.
	k.run("FLUSHALL")
	for i := range 20 {
		k.run("SET", "gone"+strconv.Itoa(i), "v", "PX", "5")
	}
	k.run("SET", "live", "v")
	k.advance(10 * time.Millisecond)
	for range 5 {
		k.want("RANDOMKEY", "$4\r\nlive\r\n")
	}
	k.run("DEL", "live")
	k.want("RANDOMKEY", "$-1\r\n")
	k.want("DBSIZE", ":0\r\n")
}

// TestExpireTimes checks the EXPIRE family and TTL family arithmetic on a
// fixed clock.
func TestExpireTimes(t *testing.T) {
	k := newEnv(t)
	now := k.now.UnixMilli()
	k.run("SET", "k", "v")
	k.want("EXPIRE k 10", ":1\r\n")
	k.want("PTTL k", ":10000\r\n")
	k.want("PEXPIRETIME k", fmt.Sprintf(":%d\r\n", now+10000))
	k.want("EXPIRETIME k", fmt.Sprintf(":%d\r\n", (now+10000+500)/1000))
	k.want("PEXPIRE k 1499", ":1\r\n")
	k.want("TTL k", ":1\r\n")
	k.want("PEXPIRE k 1500 GT", ":1\r\n")
	k.want("TTL k", ":2\r\n")
	k.want("PEXPIRE k 1 LT", ":1\r\n")
	k.advance(time.Millisecond)
	k.want("EXISTS k", ":0\r\n")
	now = k.now.UnixMilli()
	k.run("SET", "k", "v")
	k.want(fmt.Sprintf("PEXPIREAT k %d", now), ":1\r\n") // the current time counts as past
	k.want("EXISTS k", ":0\r\n")
	k.run("SET", "k", "v")
	k.want(fmt.Sprintf("PEXPIREAT k %d", now+1), ":1\r\n")
	k.want("PTTL k", ":1\r\n")
	k.want("PERSIST k", ":1\r\n")
	k.want("PTTL k", ":-1\r\n")
}

// TestActiveExpiry checks that keys nobody reads are removed by the
// expiry cycle, directly and by the engine's background loop.
func TestActiveExpiry(t *testing.T) {
	k := newEnv(t)
	for i := range 200 {
		k.run("SET", "t"+strconv.Itoa(i), "v", "PX", "10")
	}
	k.run("SET", "keep", "v", "PX", "100000")
	k.run("SET", "plain", "v")
	k.advance(20 * time.Millisecond)
	k.e.Lock()
	k.e.activeExpireCycle(time.Second)
	left := k.c.db.keys.Len()
	k.e.Unlock()
	// The cycle stops once a sample is mostly live, so a few may remain.
	if left > 2+20 {
		t.Errorf("%d keys left after an expiry cycle, want about 2", left)
	}
	k.want("EXISTS keep plain", ":2\r\n")

	for i := range 50 {
		k.run("SET", "u"+strconv.Itoa(i), "v", "PX", "10")
	}
	k.advance(20 * time.Millisecond)
	// The loop ticks every 100ms of real time; the keys expired on the
	// engine clock already.
	testutil.WaitFor(t, 10*time.Second, "the background expiry to leave 2 keys", func() bool {
		k.e.Lock()
		defer k.e.Unlock()
		return k.c.db.keys.Len() == 2
	})
}

// TestCopyIsDeep checks that a COPY shares nothing with its source, for
// both hash encodings and across databases, and keeps the encoding.
func TestCopyIsDeep(t *testing.T) {
	k := newEnv(t)
	k.run("HSET", "small", "a", "1", "b", "2")
	args := []string{"HSET", "big"}
	for i := range 600 {
		args = append(args, "f"+strconv.Itoa(i), "v")
	}
	k.run(args...)
	for _, src := range []string{"small", "big"} {
		enc := k.run("OBJECT", "ENCODING", src)
		k.want("COPY "+src+" "+src+"2", ":1\r\n")
		k.want("COPY "+src+" "+src+"3 DB 1", ":1\r\n")
		k.want("OBJECT ENCODING "+src+"2", enc)
		k.run("HSET", src+"2", "new", "x")
		k.run("HDEL", src+"2", "a", "f1")
		k.run("HINCRBY", src, "b", "5")
		k.want("HEXISTS "+src+" new", ":0\r\n")
		if src == "small" {
			k.want("HGETALL small", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n7\r\n")
			k.want("HGETALL small2", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$3\r\nnew\r\n$1\r\nx\r\n")
		} else {
			k.want("HLEN big", ":601\r\n")
			k.want("HLEN big2", ":600\r\n")
			k.want("HGET big2 b", "$-1\r\n")
		}
	}
	k.run("SELECT", "1")
	k.want("HGETALL small3", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")
	k.want("HLEN big3", ":600\r\n")
	k.run("DEL", "small3")
	k.run("SELECT", "0")
	k.want("HLEN small", ":2\r\n")

	// Strings: a copy of a shared integer is not shared.
	k.run("SET", "n", "42")
	k.want("OBJECT REFCOUNT n", ":2147483647\r\n")
	k.want("COPY n n2", ":1\r\n")
	k.want("OBJECT REFCOUNT n2", ":1\r\n")
	k.want("OBJECT ENCODING n2", "$3\r\nint\r\n")
}

// TestSwapDB checks that clients keep their database number and see the
// swapped contents.
func TestSwapDB(t *testing.T) {
	k := newEnv(t)
	other := k.e.NewClient(resp.NewWriter(nil))
	other.Select(1)
	k.run("SET", "zero", "0")
	k.run("SET", "t", "x", "PX", "1000")
	k.want("SWAPDB 0 1", "+OK\r\n")
	k.want("EXISTS zero", ":0\r\n")
	k.e.Lock()
	v := other.db.lookup(k.e, []byte("zero"))
	ttl := other.db.expireAt([]byte("t"))
	k.e.Unlock()
	if v == nil || other.DB() != 1 || ttl == -1 {
		t.Fatal("the client on database 1 does not see database 0's keys and TTLs")
	}
}

func TestParseCursor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"42", 42, true}, {"+42", 42, true}, {"-1", 1<<64 - 1, true},
		{"-0", 0, true}, {"18446744073709551615", 1<<64 - 1, true}, {"18446744073709551616", 0, false},
		{"-18446744073709551615", 1, true}, {" 1", 0, false}, {"1 ", 0, false}, {"x", 0, false},
		{"+", 0, false}, {"-", 0, false}, {"0x10", 0, false}, {"1.0", 0, false}, {"7\x00junk", 7, true},
		{"\x00", 0, true}, {"\t1", 0, false},
	} {
		got, ok := parseCursor([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseCursor(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestDelExistsAllocs keeps DEL and EXISTS free of allocations when no key
// has a time to live.
func TestDelExistsAllocs(t *testing.T) {
	e, c := lockedEngine(t)
	for i := range 100 {
		c.db.add(e, []byte("k"+strconv.Itoa(i)), Value{str: "v"})
	}
	exists := [][]byte{[]byte("exists"), []byte("k1"), []byte("k2"), []byte("nokey")}
	del := [][]byte{[]byte("del"), []byte("nokey"), []byte("other")}
	if n := testing.AllocsPerRun(100, func() { c.W.Reset(); cmdExists(c, exists) }); n != 0 {
		t.Errorf("EXISTS: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { c.W.Reset(); cmdDel(c, del) }); n != 0 {
		t.Errorf("DEL of missing keys: %v allocations", n)
	}
}
