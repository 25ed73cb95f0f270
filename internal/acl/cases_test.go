package acl

import (
	"math/rand/v2"
	"strings"

	"redoubt/internal/command"
)

// cmdCase is one command line with its resolved spec.
type cmdCase struct {
	spec *command.Spec
	args [][]byte
}

// Pools the generated commands and rules draw from: key names that the
// key patterns below match in different ways, channels, and other
// arguments that steer key finding (numkeys counts, STORE, STREAMS …).
// They are constants in spirit: nothing writes to them.
var (
	keyPool  = [...]string{"k1", "k2", "key", "r:1", "r:2", "w:1", "w:2", "rw:1", "app:x", "other", "a", "{t}x", "K1", "n\x00ul", ""}
	chanPool = [...]string{"ch1", "ch:a", "news.x", "other", "ch*", "news.*", "*", "c\x00h"}
	argPool  = [...]string{"0", "1", "2", "3", "-1", "get", "GET", "store", "by", "limit", "streams", "keys",
		"count", "match", "x", "withscores", "nx", "ex", "10", "left", "right", "$", ">", "k1", "r:1", "w:1"}
	keyPats  = [...]string{"k*", "r:*", "w:*", "rw:*", "app:*", "k?", "[kr]*", "*", "a", "other", "{t}*", "", "K*"}
	chanPats = [...]string{"ch*", "news.*", "ch1", "*x", "other", "", "ch?"}
)

// templates are hand-written command lines for the commands whose keys,
// channels or first arguments matter most.
var templates = [...]string{
	"get k1", "get r:1", "get w:1", "get rw:1", "set w:1 v", "set w:1 v get", "set rw:1 v nx GET", "set r:1 v",
	"copy r:1 w:1", "copy w:1 r:1", "copy r:1 rw:1 replace", "lmove r:1 w:1 left right", "lmove rw:1 rw:1 left left",
	"sort r:1", "sort r:1 store w:1", "sort r:1 by x get y store rw:1", "sort r:1 limit 0 1 store w:1",
	"sort_ro r:1", "getdel rw:1", "getdel r:1", "getex r:1", "mset k1 v w:1 v", "mset w:1 v w:2 v", "msetnx rw:1 v w:2 v",
	"mget r:1 k1 w:1", "sinterstore w:1 r:1 r:2", "sinterstore rw:1 r:1 w:1", "sintercard 2 r:1 r:2", "sunion r:1 r:2",
	"eval x 2 r:1 w:1", "eval x 0", "eval x 1 rw:1", "evalsha x 1 r:1", "eval_ro x 1 r:1", "fcall f 1 k1", "fcall_ro f 2 r:1 r:2",
	"zunionstore w:1 2 r:1 r:2", "zinterstore rw:1 1 r:1", "zdiff 2 r:1 r:2", "zrangestore w:1 r:1 0 -1",
	"migrate h 1 k1 0 1", "migrate h 1  0 1 keys r:1 w:1", "migrate h 1  0 1 copy replace keys rw:1",
	"xread count 1 streams r:1 w:1 0 0", "xreadgroup group g c streams r:1 >", "xadd w:1 * f v", "xrange r:1 - +",
	"georadius r:1 0 0 1 km", "georadius r:1 0 0 1 km store w:1", "georadius w:1 0 0 1 km storedist w:1",
	"georadiusbymember r:1 m 1 km store rw:1", "geosearchstore w:1 r:1 frommember m bybox 1 1 km",
	"bitfield r:1 get u8 0", "bitfield r:1 set u8 0 1", "bitfield w:1 incrby u8 0 1", "bitfield_ro r:1 get u8 0",
	"pfcount r:1 w:1", "pfcount r:1", "pfmerge w:1 r:1", "pfadd w:1 a", "rename r:1 w:1", "renamenx rw:1 w:2",
	"object encoding k1", "memory usage w:1", "exists k1 w:1", "touch w:1", "del r:1", "unlink w:1", "type w:1",
	"ttl w:1", "expire w:1 10", "persist rw:1", "dump r:1", "restore w:1 0 x", "lpush w:1 a", "rpoplpush r:1 w:1",
	"blmove r:1 w:1 left left 0", "blmpop 0 2 r:1 w:1 left", "lmpop 2 r:1 w:1 left", "bzmpop 0 1 r:1 min",
	"zadd w:1 1 a", "hset w:1 f v", "hget r:1 f", "hgetall r:1", "incr rw:1", "append w:1 x", "strlen r:1",
	"smove r:1 w:1 m", "lcs r:1 r:2", "watch r:1 w:1", "keys *", "scan 0", "dbsize", "flushall", "flushdb",
	"publish ch1 m", "publish other m", "publish news.x m", "spublish ch1 m", "spublish other m",
	"subscribe ch1 other", "subscribe ch1", "subscribe news.x ch:a", "ssubscribe ch1", "ssubscribe other ch1",
	"psubscribe ch* news.*", "psubscribe ch1", "psubscribe ch*", "psubscribe other", "unsubscribe x",
	"punsubscribe x", "sunsubscribe x", "pubsub channels", "pubsub numsub ch1", "pubsub numpat",
	"config get x", "config set x y", "config resetstat", "config rewrite", "select 0", "select 1", "SELECT 0",
	"debug object k1", "debug sleep 0", "client id", "client kill 1.2.3.4:5", "client list", "acl setuser x",
	"acl whoami", "acl log", "auth u x", "hello", "hello 3", "ping", "echo x", "info", "multi", "exec", "discard",
	"shutdown", "monitor", "save", "bgsave", "module list", "script flush", "function list", "command", "command count",
	"latency latest", "slowlog get", "cluster info", "readonly", "wait 0 0", "time", "lastsave", "swapdb 0 1",
	"move k1 1", "object freq k1", "randomkey", "xinfo stream r:1", "xgroup create w:1 g $", "xautoclaim r:1 g c 0 0",
	"spop w:1", "srandmember r:1", "getrange r:1 0 1", "setrange w:1 0 x", "incrbyfloat rw:1 1", "lpos r:1 x",
}

// templateCases resolves the templates against the table ("  " stands for
// an empty argument).
func templateCases(tab *command.Table) []cmdCase {
	var out []cmdCase
	for _, line := range templates {
		parts := strings.Split(line, " ")
		args := make([][]byte, len(parts))
		for i, p := range parts {
			args[i] = []byte(p)
		}
		spec, errText := tab.Resolve(args, func(*command.Spec) bool { return true })
		if spec == nil {
			panic("bad template " + line + ": " + errText)
		}
		out = append(out, cmdCase{spec, args})
	}
	return out
}

// tableCases makes command lines for every command and subcommand of the
// table: the shortest its arity allows and a few longer ones, keys at the
// legacy key positions and other arguments drawn from the pools.
func tableCases(tab *command.Table, rng *rand.Rand) []cmdCase {
	var out []cmdCase
	for _, spec := range tab.ByID {
		if len(spec.Subcommands) > 0 || own(spec) {
			continue
		}
		var prefix []string
		if spec.Parent != nil {
			prefix = []string{spec.Parent.Name, strings.TrimPrefix(spec.Name, spec.Parent.Name+"|")}
		} else {
			prefix = []string{spec.Name}
		}
		lengths := []int{spec.Arity}
		if spec.Arity < 0 {
			lengths = []int{-spec.Arity, -spec.Arity + 1, -spec.Arity + 2, -spec.Arity + 4}
		}
		for _, n := range lengths {
			if n < len(prefix) {
				continue
			}
			args := make([][]byte, n)
			for i := range args {
				switch {
				case i < len(prefix):
					args[i] = []byte(prefix[i])
				case isLegacyKey(spec, i, n):
					args[i] = []byte(keyPool[rng.IntN(len(keyPool))])
				case spec.Flags&command.FlagPubSub != 0 && rng.IntN(2) == 0:
					args[i] = []byte(chanPool[rng.IntN(len(chanPool))])
				default:
					args[i] = []byte(argPool[rng.IntN(len(argPool))])
				}
			}
			out = append(out, cmdCase{spec, args})
		}
	}
	return out
}

// own reports Redoubt's own commands, which redis-server does not know.
func own(spec *command.Spec) bool {
	return spec.Group == "redoubt" || (spec.Parent != nil && spec.Parent.Group == "redoubt")
}

func isLegacyKey(spec *command.Spec, i, argc int) bool {
	if spec.FirstKey <= 0 || spec.Step <= 0 {
		return false
	}
	last := spec.LastKey
	if last < 0 {
		last = argc + last
	}
	return i >= spec.FirstKey && i <= last && (i-spec.FirstKey)%spec.Step == 0
}

// randomRules makes a random rule list: categories, commands,
// subcommands, first arguments, key and channel patterns, selectors.
func randomRules(tab *command.Table, rng *rand.Rand) []string {
	n := 1 + rng.IntN(8)
	var rules []string
	for i := 0; i < n; i++ {
		if rng.IntN(8) == 0 {
			inner := make([]string, 1+rng.IntN(4))
			for j := range inner {
				inner[j] = randomRule(tab, rng, true)
			}
			if rng.IntN(3) == 0 {
				// The selector spread over several rules, as ACL
				// SETUSER also accepts it.
				inner[0] = "(" + inner[0]
				inner[len(inner)-1] += ")"
				rules = append(rules, inner...)
				continue
			}
			rules = append(rules, "("+strings.Join(inner, " ")+")")
			continue
		}
		if rng.IntN(40) == 0 {
			rules = append(rules, []string{"foo", "%X~a", "~a b", "+@nosuch", "(~a", "+get|x", "(on)", ""}[rng.IntN(8)])
			continue
		}
		rules = append(rules, randomRule(tab, rng, false))
	}
	return rules
}

func randomRule(tab *command.Table, rng *rand.Rand, inSelector bool) string {
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	sign := pick([]string{"+", "-"})
	switch rng.IntN(16) {
	case 0, 1:
		return sign + "@" + pick(Categories(tab))
	case 2:
		return pick([]string{"allcommands", "nocommands", "+@all", "-@all"})
	case 3, 4:
		spec := tab.ByID[rng.IntN(tab.Len())]
		for own(spec) {
			spec = tab.ByID[rng.IntN(tab.Len())]
		}
		return sign + spec.Name
	case 5:
		return pick([]string{"+select|0", "+select|1", "+debug|object", "+client|id|x", "-select|0", "+get|", "+nosuch", "+config|nosuch"})
	case 6, 7:
		return "~" + pick(keyPats[:])
	case 8:
		return pick([]string{"%R~", "%W~", "%RW~", "%WR~", "%r~"}) + pick(keyPats[:])
	case 9:
		return pick([]string{"allkeys", "resetkeys", "~*"})
	case 10, 11:
		return "&" + pick(chanPats[:])
	case 12:
		return pick([]string{"allchannels", "resetchannels", "&*"})
	case 13:
		if inSelector {
			return "+@all"
		}
		return pick([]string{"clearselectors", "on", "nopass", "sanitize-payload", "skip-sanitize-payload"})
	case 14:
		// A container's own rule carries its subcommands.
		c := pick([]string{"config", "client", "acl", "object", "xinfo", "pubsub", "memory", "script", "function"})
		spec := tab.LookupFull([]byte(c))
		if rng.IntN(2) == 0 {
			return sign + c
		}
		return sign + spec.Subcommands[rng.IntN(len(spec.Subcommands))].Name
	default:
		return pick([]string{"+get", "+set", "+publish", "+subscribe", "+psubscribe", "-get", "+@read", "+@write", "-@write", "+@pubsub"})
	}
}
