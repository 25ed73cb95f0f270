package rdb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// Tests against a real redis-server: it writes dump.rdb files we read, and
// it loads files we write.

// numDBs is how many databases the tests fill.
const numDBs = 3

// redisClients returns a client per database 0..n-1.
func redisClients(t *testing.T, addr string, n int) []*redis.Client {
	t.Helper()
	cs := make([]*redis.Client, n)
	for i := range cs {
		cs[i] = redis.NewClient(&redis.Options{Addr: addr, DB: i, Protocol: 2, MaxRetries: -1})
		t.Cleanup(func() { cs[i].Close() })
	}
	return cs
}

// fillRedis creates keys of every type in every encoding Redis 7.0 writes,
// in databases 0..numDBs-1, and returns the encodings it produced.
func fillRedis(t *testing.T, ctx context.Context, cs []*redis.Client) map[string]bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	do := func(c *redis.Client, args ...any) {
		t.Helper()
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return string(b)
	}
	c := cs[0]
	// Plain (uncompressed) quicklist nodes for elements over 1000 bytes.
	plainNodes := c.Do(ctx, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000").Err() == nil
	if !plainNodes {
		t.Log("DEBUG QUICKLIST-PACKED-THRESHOLD unavailable: no plain list nodes")
	}
	// Strings.
	for k, v := range map[string]string{
		"str:small": "hello", "str:empty": "", "str:int8": "12", "str:int16": "-1234",
		"str:int32": "123456789", "str:int64": "1234567890123", "str:zero-lead": "0012",
		"str:long": strings.Repeat("abcdefgh", 300), "str:random": random(3000),
		"\x00bin\xff\r\nkey": "\x00\x01\x02\xff", "str:huge": strings.Repeat("0123456789", 20000),
	} {
		do(c, "SET", k, v)
	}
	do(c, "SET", "str:ttl", "expiring", "PX", 3600_000)
	do(c, "SET", "str:ttl-sec", "expiring", "EX", 7200)
	// Lists: one listpack node; many nodes (interior ones LZF-compressed
	// with list-compress-depth 1); plain nodes.
	do(c, "RPUSH", "list:small", "a", "1", "-2", "300", "70000", "-9000000000", "", "x y")
	big := []any{"RPUSH", "list:big"}
	for i := range 20000 {
		if i%3 == 0 {
			big = append(big, i)
		} else {
			big = append(big, fmt.Sprintf("element-%d-%s", i, strings.Repeat("z", i%50)))
		}
	}
	do(c, big...)
	do(c, "RPUSH", "list:plain", "small", strings.Repeat("P", 5000), "tail", random(2000))
	do(c, "RPUSH", "list:ttl", "x")
	do(c, "PEXPIRE", "list:ttl", 5000_000)
	// Sets: intset of 16, 32 and 64-bit members; hashtable.
	do(c, "SADD", "set:int16", 1, 2, 3, -4, 500)
	do(c, "SADD", "set:int32", 1, 100000, -100000)
	do(c, "SADD", "set:int64", 1, int64(1)<<40, -(int64(1) << 50), math.MaxInt64, math.MinInt64)
	do(c, "SADD", "set:strings", "a", "b", "c", "1")
	bigSet := []any{"SADD", "set:manyints"}
	for i := range 600 {
		bigSet = append(bigSet, i*3)
	}
	do(c, bigSet...)
	// Sorted sets: listpack and skiplist.
	do(c, "ZADD", "zset:small", 1, "one", 2.5, "two.5", -3, "neg", "+inf", "inf", "-inf", "-inf", 1e300, "big", 0.1, "tenth", 12345678, "m-int")
	bigZ := []any{"ZADD", "zset:big"}
	for i := range 500 {
		bigZ = append(bigZ, float64(i)/7, fmt.Sprintf("member-%d", i))
	}
	do(c, bigZ...)
	do(c, "ZADD", "zset:longmember", 1, strings.Repeat("L", 100), 2, "short")
	// Hashes: listpack and hashtable.
	do(c, "HSET", "hash:small", "f1", "v1", "n", "42", "neg", "-7", "empty", "", "bin\x00", "\xff")
	bigH := []any{"HSET", "hash:big"}
	for i := range 1000 {
		bigH = append(bigH, fmt.Sprintf("field-%d", i), i*i)
	}
	do(c, bigH...)
	do(c, "HSET", "hash:longval", "f", strings.Repeat("V", 200))
	do(c, "HSET", "hash:ttl", "a", "b")
	do(c, "EXPIRE", "hash:ttl", 86400)
	// Other databases.
	do(cs[1], "SET", "db1:key", "in db 1")
	do(cs[1], "SADD", "db1:set", "x", "y")
	do(cs[2], "ZADD", "db2:zset", 5, "five")
	do(cs[2], "SET", "str:small", "same key, other db", "PX", 100_000)

	encodings := map[string]bool{}
	for _, c := range cs {
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			typ := c.Type(ctx, k).Val()
			enc := c.ObjectEncoding(ctx, k).Val()
			encodings[typ+":"+enc] = true
		}
	}
	return encodings
}

// redisValue reads key from Redis as a Value.
func redisValue(t *testing.T, ctx context.Context, c *redis.Client, key string) Value {
	t.Helper()
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	toBytes := func(ss []string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	switch typ {
	case "string":
		s, err := c.Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return String(s)
	case "list":
		return List(toBytes(c.LRange(ctx, key, 0, -1).Val()))
	case "set":
		return Set(toBytes(c.SMembers(ctx, key).Val()))
	case "zset":
		var z ZSet
		for _, m := range c.ZRangeWithScores(ctx, key, 0, -1).Val() {
			z = append(z, ZMember{Member: []byte(m.Member.(string)), Score: m.Score})
		}
		return z
	case "hash":
		var h Hash
		for f, v := range c.HGetAll(ctx, key).Val() {
			h = append(h, Field{Name: []byte(f), Value: []byte(v)})
		}
		return h
	}
	t.Fatalf("key %q: type %q", key, typ)
	return nil
}

// compareWithRedis checks that entries are exactly the keys Redis holds in
// databases 0..len(cs)-1, with the same values and expiry times.
func compareWithRedis(t *testing.T, ctx context.Context, cs []*redis.Client, entries []Entry) {
	t.Helper()
	perDB := make([]int, len(cs))
	for _, e := range entries {
		if e.DB >= len(cs) {
			t.Errorf("key %q in db %d", e.Key, e.DB)
			continue
		}
		perDB[e.DB]++
		c := cs[e.DB]
		key := string(e.Key)
		if g, w := canon(e.Value), canon(redisValue(t, ctx, c, key)); g != w {
			t.Errorf("db %d key %q:\n file  %.200s\n redis %.200s", e.DB, key, g, w)
		}
		exp, err := c.Do(ctx, "PEXPIRETIME", key).Int64()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !e.Expires && exp != -1:
			t.Errorf("db %d key %q: no expiry in file, Redis has %d", e.DB, key, exp)
		case e.Expires && exp != e.ExpireAt:
			t.Errorf("db %d key %q: expiry %d in file, Redis has %d", e.DB, key, e.ExpireAt, exp)
		}
	}
	for db, c := range cs {
		if n := c.DBSize(ctx).Val(); n != int64(perDB[db]) {
			t.Errorf("db %d: %d keys in file, Redis has %d", db, perDB[db], n)
		}
	}
}

// readFile streams a file through Read and counts the encodings seen.
func readFile(t *testing.T, path string) (*collect, map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &collect{}
	seen := map[string]int{}
	if err := readTraced(f, c, Options{}, func(ev string) { seen[ev]++ }); err != nil {
		t.Fatalf("Read %s: %v", path, err)
	}
	return c, seen
}

func TestReadRedisDump(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // encodings the dump must hold
	}{
		{"compressed", []string{"--rdbcompression", "yes", "--list-compress-depth", "1", "--rdbchecksum", "yes"},
			[]string{"type 0", "type 2", "type 5", "type 11", "type 16", "type 17", "type 18", "type 4", "lzf", "plain node"}},
		{"plain-nochecksum", []string{"--rdbcompression", "no", "--rdbchecksum", "no"},
			[]string{"type 0", "type 18", "plain node"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--enable-debug-command", "yes"}, tc.args...)
			r := testutil.StartRedis(t, args...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cs := redisClients(t, r.Addr, numDBs)
			encodings := fillRedis(t, ctx, cs)
			for _, want := range []string{
				"string:int", "string:embstr", "string:raw", "list:quicklist",
				"set:intset", "set:hashtable", "zset:listpack", "zset:skiplist",
				"hash:listpack", "hash:hashtable",
			} {
				if !encodings[want] {
					t.Errorf("Redis produced no %s (got %v)", want, encodings)
				}
			}
			if err := cs[0].Save(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			got, seen := readFile(t, filepath.Join(r.Dir, "dump.rdb"))
			t.Logf("%d keys; encodings %v", len(got.entries), seen)
			for _, ev := range tc.want {
				if seen[ev] == 0 {
					t.Errorf("dump has no %q (has %v)", ev, seen)
				}
			}
			if !strings.HasPrefix(got.aux["redis-ver"], "7.") {
				t.Errorf("aux redis-ver = %q", got.aux["redis-ver"])
			}
			compareWithRedis(t, ctx, cs, got.entries)
			if len(got.resize) != numDBs {
				t.Errorf("RESIZEDB records: %v", got.resize)
			}
		})
	}
}

// futureEntries is sampleEntries with every expiry in the future, so Redis
// keeps the keys when it loads them.
func futureEntries() []Entry {
	es := sampleEntries()
	soon := time.Now().Add(time.Hour).UnixMilli()
	for i := range es {
		if es[i].Expires {
			es[i].ExpireAt = soon + int64(i)
		}
	}
	return es
}

// startRedisOn starts redis-server on the RDB file data.
func startRedisOn(t *testing.T, data []byte) *testutil.Redis {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ours.rdb"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return testutil.StartRedis(t, "--dir", dir, "--dbfilename", "ours.rdb")
}

func TestRedisLoadsWrittenFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, o := range []WriterOptions{{Version: 10}, {Version: 10, NoCompress: true}} {
		t.Run(fmt.Sprintf("compress=%v", !o.NoCompress), func(t *testing.T) {
			entries := futureEntries()
			// SelectDB with RESIZEDB hints for db 0, then automatic selects.
			var buf bytes.Buffer
			w, err := NewWriterOptions(&buf, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.SelectDB(0, 17, 1); err != nil {
				t.Fatal(err)
			}
			for i := range entries {
				if err := w.Write(&entries[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r := startRedisOn(t, buf.Bytes())
			compareWithRedis(t, ctx, redisClients(t, r.Addr, 16), entries)
		})
	}
}

// TestRedisRoundTrip: Redis writes a dump, we read it and write it again,
// a fresh Redis loads our file and holds exactly the same data.
func TestRedisRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := testutil.StartRedis(t, "--enable-debug-command", "yes", "--list-compress-depth", "1")
	cs := redisClients(t, src.Addr, numDBs)
	fillRedis(t, ctx, cs)
	if err := cs[0].Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, _ := readFile(t, filepath.Join(src.Dir, "dump.rdb"))
	data := writeAll(t, WriterOptions{}, got.entries)
	dst := startRedisOn(t, data)
	compareWithRedis(t, ctx, redisClients(t, dst.Addr, numDBs), got.entries)
	// Our reader agrees with itself, and redis-check-rdb (when present)
	// accepts our file.
	again := readAll(t, data)
	if len(again.entries) != len(got.entries) {
		t.Fatalf("re-read %d entries, want %d", len(again.entries), len(got.entries))
	}
	for i := range got.entries {
		if g, w := canonEntry(again.entries[i]), canonEntry(got.entries[i]); g != w {
			t.Errorf("entry %d: %.200s != %.200s", i, g, w)
		}
	}
}
