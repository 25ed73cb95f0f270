package engine

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// commandSamples are invocations of every command the engine runs, run on
// a fresh fixture: "s" is a string, "n" an integer string, "h" a hash,
// "t" a string with a TTL, "l" a list, "st" a set and "z" a sorted set;
// "none" never exists.
func commandSamples() map[string][]string {
	return map[string][]string{
		"ping": {"PING"}, "echo": {"ECHO x"}, "select": {"SELECT 1"},
		"get": {"GET s"}, "set": {"SET s v", "SET new v NX"}, "getdel": {"GETDEL s"},
		"getex": {"GETEX s PERSIST", "GETEX t PERSIST"}, "getrange": {"GETRANGE s 0 -1"},
		"getset": {"GETSET s x"}, "incr": {"INCR n"}, "incrby": {"INCRBY n 2"}, "decr": {"DECR n"},
		"decrby": {"DECRBY n 2"}, "incrbyfloat": {"INCRBYFLOAT n 1.5"}, "mget": {"MGET s n none"},
		"mset": {"MSET a 1 b 2"}, "msetnx": {"MSETNX c 1 d 2"}, "psetex": {"PSETEX s 100000 v"},
		"setex": {"SETEX s 100 v"}, "setnx": {"SETNX new v"}, "setrange": {"SETRANGE s 1 xy"},
		"strlen": {"STRLEN s"}, "substr": {"SUBSTR s 0 1"}, "append": {"APPEND s tail"},
		"lcs": {"LCS s n"},
		"del": {"DEL s none"}, "unlink": {"UNLINK s"}, "exists": {"EXISTS s none"}, "type": {"TYPE h"},
		"expire": {"EXPIRE s 100"}, "pexpire": {"PEXPIRE s 100000"}, "expireat": {"EXPIREAT s 99999999999"},
		"pexpireat": {"PEXPIREAT s 99999999999999"}, "ttl": {"TTL t"}, "pttl": {"PTTL t"},
		"expiretime": {"EXPIRETIME t"}, "pexpiretime": {"PEXPIRETIME t"}, "persist": {"PERSIST t"},
		"rename": {"RENAME s s2"}, "renamenx": {"RENAMENX s s3"}, "keys": {"KEYS *"}, "scan": {"SCAN 0"},
		"randomkey": {"RANDOMKEY"}, "dbsize": {"DBSIZE"}, "flushdb": {"FLUSHDB"}, "flushall": {"FLUSHALL"},
		"copy": {"COPY s s4"}, "move": {"MOVE s 1"}, "swapdb": {"SWAPDB 0 1"}, "touch": {"TOUCH s"},
		"object|encoding": {"OBJECT ENCODING s"}, "object|freq": {"OBJECT FREQ s"},
		"object|idletime": {"OBJECT IDLETIME s"}, "object|refcount": {"OBJECT REFCOUNT s"},
		"object|help": {"OBJECT HELP"}, "memory|usage": {"MEMORY USAGE s"},
		"hset": {"HSET h f2 v"}, "hsetnx": {"HSETNX h f3 v"}, "hmset": {"HMSET h f4 v"},
		"hget": {"HGET h f"}, "hmget": {"HMGET h f none"}, "hdel": {"HDEL h f"}, "hexists": {"HEXISTS h f"},
		"hgetall": {"HGETALL h"}, "hkeys": {"HKEYS h"}, "hvals": {"HVALS h"}, "hlen": {"HLEN h"},
		"hincrby": {"HINCRBY h n 1"}, "hincrbyfloat": {"HINCRBYFLOAT h n 1.5"}, "hstrlen": {"HSTRLEN h f"},
		"hrandfield": {"HRANDFIELD h 2"}, "hscan": {"HSCAN h 0"},
		"lpush": {"LPUSH l x"}, "rpush": {"RPUSH l x"}, "lpushx": {"LPUSHX l x"}, "rpushx": {"RPUSHX l x"},
		"lpop": {"LPOP l"}, "rpop": {"RPOP l 2"}, "llen": {"LLEN l"}, "lrange": {"LRANGE l 0 -1"},
		"lindex": {"LINDEX l 1"}, "lset": {"LSET l 0 y"}, "linsert": {"LINSERT l BEFORE b x"},
		"lrem": {"LREM l 0 a"}, "ltrim": {"LTRIM l 0 0"}, "lpos": {"LPOS l b"},
		"lmove": {"LMOVE l l2 LEFT RIGHT"}, "rpoplpush": {"RPOPLPUSH l l2"}, "lmpop": {"LMPOP 1 l LEFT"},
		"blpop": {"BLPOP l 0"}, "brpop": {"BRPOP l 0"}, "blmove": {"BLMOVE l l2 LEFT LEFT 0"},
		"brpoplpush": {"BRPOPLPUSH l l2 0"}, "blmpop": {"BLMPOP 0 1 l RIGHT"},
		"sadd": {"SADD st d"}, "srem": {"SREM st a"}, "scard": {"SCARD st"}, "sismember": {"SISMEMBER st a"},
		"smismember": {"SMISMEMBER st a z"}, "smembers": {"SMEMBERS st"}, "spop": {"SPOP st"},
		"srandmember": {"SRANDMEMBER st 2"}, "smove": {"SMOVE st st2 a"}, "sinter": {"SINTER st"},
		"sintercard": {"SINTERCARD 1 st"}, "sinterstore": {"SINTERSTORE d st"}, "sunion": {"SUNION st"},
		"sunionstore": {"SUNIONSTORE d st"}, "sdiff": {"SDIFF st"}, "sdiffstore": {"SDIFFSTORE d st"},
		"sscan": {"SSCAN st 0"},
		"zadd":  {"ZADD z 4 d"}, "zincrby": {"ZINCRBY z 1 a"}, "zrem": {"ZREM z a"}, "zcard": {"ZCARD z"},
		"zscore": {"ZSCORE z a"}, "zmscore": {"ZMSCORE z a b"}, "zcount": {"ZCOUNT z 0 10"},
		"zlexcount": {"ZLEXCOUNT z - +"}, "zrange": {"ZRANGE z 0 -1"}, "zrangebyscore": {"ZRANGEBYSCORE z 0 10"},
		"zrevrangebyscore": {"ZREVRANGEBYSCORE z 10 0"}, "zrangebylex": {"ZRANGEBYLEX z - +"},
		"zrevrangebylex": {"ZREVRANGEBYLEX z + -"}, "zrevrange": {"ZREVRANGE z 0 -1"},
		"zrangestore": {"ZRANGESTORE d z 0 -1"}, "zrank": {"ZRANK z a"}, "zrevrank": {"ZREVRANK z a"},
		"zremrangebyrank": {"ZREMRANGEBYRANK z 0 0"}, "zremrangebyscore": {"ZREMRANGEBYSCORE z 0 1"},
		"zremrangebylex": {"ZREMRANGEBYLEX z - [a"}, "zunion": {"ZUNION 1 z"}, "zinter": {"ZINTER 1 z"},
		"zdiff": {"ZDIFF 1 z"}, "zunionstore": {"ZUNIONSTORE d 1 z"}, "zinterstore": {"ZINTERSTORE d 1 z"},
		"zdiffstore": {"ZDIFFSTORE d 1 z"}, "zintercard": {"ZINTERCARD 1 z"}, "zpopmin": {"ZPOPMIN z"},
		"zpopmax": {"ZPOPMAX z"}, "zmpop": {"ZMPOP 1 z MIN"}, "bzpopmin": {"BZPOPMIN z 0"},
		"bzpopmax": {"BZPOPMAX z 0"}, "bzmpop": {"BZMPOP 0 1 z MAX"}, "zrandmember": {"ZRANDMEMBER z 2"},
		"zscan": {"ZSCAN z 0"},
	}
}

// TestWriteFlagsMatchBehaviour checks the command table against what the
// engine does: every write-flagged command changes the dataset for some
// sample, and no read-only command ever does.
func TestWriteFlagsMatchBehaviour(t *testing.T) {
	tab := command.New()
	e := New(Options{Table: tab})
	defer e.Close()
	samples := commandSamples()
	var missing []string
	for name := range e.commands() {
		if _, ok := samples[name]; !ok {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("commands without a sample in commandSamples: %s", strings.Join(missing, ", "))
	}
	for name := range e.commands() {
		spec := tab.LookupFull([]byte(name))
		wrote := false
		for _, line := range samples[name] {
			dirty := runOnFixture(t, e, line)
			if dirty && spec.Has(command.FlagReadonly) {
				t.Errorf("%s is read-only but %q changed data", name, line)
			}
			wrote = wrote || dirty
		}
		if spec.Has(command.FlagWrite) && !wrote {
			t.Errorf("%s is write-flagged but no sample changed data", name)
		}
	}
}

// runOnFixture runs one command on a fresh fixture and reports whether the
// dataset changed.
func runOnFixture(t *testing.T, e *Engine, line string) bool {
	t.Helper()
	e.Lock()
	defer e.Unlock()
	for _, db := range e.dbs {
		db.flush(e)
	}
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	c := e.NewClient(w)
	for _, setup := range []string{"SET s hello", "SET n 10", "HSET h f v n 1", "SET t x EX 1000",
		"RPUSH l a b c", "SADD st a b c", "ZADD z 1 a 2 b 3 c"} {
		execArgs(t, e, c, fields(setup))
	}
	w.Reset()
	before := e.dirty
	execArgs(t, e, c, fields(line)) // an error reply changes nothing, which the caller sees
	return e.dirty != before
}
