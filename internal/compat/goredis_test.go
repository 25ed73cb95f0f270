package compat

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisClient drives Redoubt with go-redis v9, a real client library
// (RESP3 handshake with HELLO 3, then CLIENT SETINFO), and checks that the
// same program gives the same results against a real redis-server.
func TestGoRedisClient(t *testing.T) {
	p := newPair(t)
	for _, proto := range []int{2, 3} {
		results := map[string][]string{}
		for name, addr := range map[string]string{"redis-server": p.oracleAddr, "redoubt": p.usAddr} {
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DB: 2})
			results[name] = goRedisProgram(t, rdb)
			rdb.Close()
		}
		want, got := results["redis-server"], results["redoubt"]
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("RESP%d:\n redis-server: %q\n redoubt:      %q", proto, want, got)
		}
	}
}

// goRedisProgram runs a typical application's commands and returns what
// each one gave.
func goRedisProgram(t *testing.T, rdb *redis.Client) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	rec := func(v any, err error) { out = append(out, fmt.Sprintf("%v|%v", v, err)) }
	rec(rdb.FlushDB(ctx).Result())
	rec(rdb.Ping(ctx).Result())
	rec(rdb.Set(ctx, "user:1:name", "ada", 0).Result())
	rec(rdb.Get(ctx, "user:1:name").Result())
	rec(rdb.Get(ctx, "missing").Result())
	rec(rdb.SetNX(ctx, "user:1:name", "bob", 0).Result())
	rec(rdb.Incr(ctx, "counter").Result())
	rec(rdb.IncrBy(ctx, "counter", 41).Result())
	rec(rdb.IncrByFloat(ctx, "float", 2.5).Result())
	rec(rdb.MSet(ctx, "a", "1", "b", "2").Result())
	rec(rdb.MGet(ctx, "a", "b", "missing").Result())
	rec(rdb.Expire(ctx, "a", time.Hour).Result())
	rec(rdb.TTL(ctx, "a").Result())
	rec(rdb.Persist(ctx, "a").Result())
	rec(rdb.HSet(ctx, "h", "f1", "v1", "f2", "v2").Result())
	rec(rdb.HGet(ctx, "h", "f1").Result())
	rec(rdb.HGetAll(ctx, "h").Result())
	rec(rdb.HIncrBy(ctx, "h", "n", 5).Result())
	rec(rdb.HLen(ctx, "h").Result())
	rec(rdb.Type(ctx, "h").Result())
	rec(rdb.Exists(ctx, "a", "b", "zz").Result())
	rec(rdb.Rename(ctx, "b", "c").Result())
	rec(rdb.Del(ctx, "c", "zz").Result())
	rec(rdb.DBSize(ctx).Result())
	// A pipeline: replies come back in order.
	pipe := rdb.Pipeline()
	inc := pipe.Incr(ctx, "p")
	get := pipe.Get(ctx, "p")
	_, err := pipe.Exec(ctx)
	rec(fmt.Sprint(inc.Val(), get.Val()), err)
	// A full SCAN finds every key.
	var keys []string
	var cursor uint64
	for {
		ks, next, err := rdb.Scan(ctx, cursor, "*", 3).Result()
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		keys = append(keys, ks...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	rec(len(keys), nil)
	return out
}
