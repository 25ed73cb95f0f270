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
	goRedisTypes(ctx, rdb, rec)
	return out
}

// goRedisTypes is the part of the program that uses lists, sets, sorted
// sets, blocking commands, transactions and pub/sub through go-redis's own
// API (its reply parsing, its Tx and PubSub types).
func goRedisTypes(ctx context.Context, rdb *redis.Client, rec func(any, error)) {
	rec(rdb.RPush(ctx, "queue", "a", "b", "c").Result())
	rec(rdb.LPush(ctx, "queue", "z").Result())
	rec(rdb.LRange(ctx, "queue", 0, -1).Result())
	rec(rdb.LPos(ctx, "queue", "b", redis.LPosArgs{}).Result())
	rec(rdb.LMove(ctx, "queue", "done", "LEFT", "RIGHT").Result())
	rec(rdb.BLPop(ctx, time.Second, "empty", "queue").Result())
	rec(rdb.BRPop(ctx, time.Second, "nothing").Result()) // times out: redis.Nil
	key, vals, err := rdb.LMPop(ctx, "right", 2, "queue").Result()
	rec(fmt.Sprint(key, vals), err)
	rec(rdb.SAdd(ctx, "tags", "go", "redis", "db", 7).Result())
	rec(rdb.SIsMember(ctx, "tags", "go").Result())
	rec(rdb.SMIsMember(ctx, "tags", "go", "rust").Result())
	rec(rdb.SCard(ctx, "tags").Result())
	rec(rdb.SAdd(ctx, "other", "go", "c").Result())
	rec(rdb.SInterCard(ctx, 0, "tags", "other").Result())
	rec(rdb.SUnionStore(ctx, "all", "tags", "other").Result())
	rec(rdb.SRem(ctx, "tags", "db").Result())
	rec(rdb.ZAdd(ctx, "board", redis.Z{Score: 10, Member: "ada"}, redis.Z{Score: 7.5, Member: "bob"}, redis.Z{Score: 12, Member: "cy"}).Result())
	rec(rdb.ZIncrBy(ctx, "board", 3, "bob").Result())
	rec(rdb.ZRangeWithScores(ctx, "board", 0, -1).Result())
	rec(rdb.ZRevRangeByScore(ctx, "board", &redis.ZRangeBy{Min: "(8", Max: "+inf"}).Result())
	rec(rdb.ZRank(ctx, "board", "ada").Result())
	rec(rdb.ZScore(ctx, "board", "cy").Result())
	rec(rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "board", Start: 0, Stop: 1, Rev: true}).Result())
	rec(rdb.ZUnionStore(ctx, "board2", &redis.ZStore{Keys: []string{"board", "all"}, Weights: []float64{2, 1}}).Result())
	rec(rdb.ZPopMin(ctx, "board2", 2).Result())
	rec(rdb.BZPopMax(ctx, time.Second, "board").Result())
	// A transaction, and optimistic locking with WATCH.
	var cmds []redis.Cmder
	cmds, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "tx:n")
		p.RPush(ctx, "tx:l", "x")
		p.LLen(ctx, "tx:l")
		return nil
	})
	for _, c := range cmds {
		rec(c.String(), nil)
	}
	rec(nil, err)
	rec(nil, rdb.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, "tx:n").Int()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "tx:n", n*10, 0)
			return nil
		})
		return err
	}, "tx:n"))
	rec(rdb.Get(ctx, "tx:n").Result())
	// Publish/subscribe through go-redis's PubSub.
	sub := rdb.Subscribe(ctx, "news")
	defer sub.Close()
	rec(sub.Receive(ctx))
	rec(rdb.Publish(ctx, "news", "hello").Result())
	msg, err := sub.ReceiveMessage(ctx)
	if err == nil {
		rec(msg.Channel+":"+msg.Payload, nil)
	} else {
		rec(nil, err)
	}
	rec(rdb.PubSubNumSub(ctx, "news").Result())
}
