package command

import (
	"bytes"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"

	"redoubt/internal/testutil"
)

// The tests in this file compare Table.Command with a real redis-server 7.0
// byte for byte, in RESP2 and RESP3. Orders that Redis takes from its hash
// tables (lists of all commands, subcommand lists) are compared sorted.

func startReal(t *testing.T) (*Table, map[int]*rawConn) {
	t.Helper()
	r := testutil.StartRedis(t)
	conns := map[int]*rawConn{2: dialRaw(t, r.Addr, 2), 3: dialRaw(t, r.Addr, 3)}
	if v := conns[2].do("INFO", "server"); !strings.Contains(v.str, "redis_version:7.0.") {
		version := "of an unknown version"
		if _, rest, ok := strings.Cut(v.str, "redis_version:"); ok {
			version, _, _ = strings.Cut(rest, "\r\n")
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("the table describes Redis 7.0 but redis-server is %s; CI installs Debian's 7.0.15", version)
		}
		t.Skipf("the table describes Redis 7.0 but redis-server is %s (under CI=true this fails)", version)
	}
	return New(), conns
}

// same runs args on both sides in both protocols and compares the replies.
func same(t *testing.T, tab *Table, conns map[int]*rawConn, sortTop bool, args ...string) {
	t.Helper()
	for _, proto := range []int{2, 3} {
		want := conns[proto].do(args...)
		got := ours(t, tab, proto, args...)
		if !bytes.Equal(canon(got, sortTop), canon(want, sortTop)) {
			t.Errorf("RESP%d %q:\n got %q\nwant %q", proto, args, shorten(got.raw), shorten(want.raw))
		}
	}
}

func shorten(b []byte) []byte {
	if len(b) > 1500 {
		return append(b[:1500:1500], "…"...)
	}
	return b
}

func TestRedisEveryCommand(t *testing.T) {
	tab, conns := startReal(t)
	for _, proto := range []int{2, 3} {
		want := conns[proto].do("COMMAND")
		got := ours(t, tab, proto, "COMMAND")
		if len(got.kids) != len(want.kids) {
			t.Errorf("RESP%d: %d commands, Redis has %d", proto, len(got.kids), len(want.kids))
		}
		byName := map[string]*node{}
		for _, e := range got.kids {
			byName[e.kids[0].str] = e
		}
		for _, e := range want.kids {
			name := e.kids[0].str
			g := byName[name]
			if g == nil {
				t.Errorf("RESP%d: %s missing from our table", proto, name)
				continue
			}
			if !bytes.Equal(canon(g, false), canon(e, false)) {
				t.Errorf("RESP%d: %s differs:\n got %q\nwant %q", proto, name, canon(g, false), canon(e, false))
			}
		}
		if !bytes.Equal(canon(got, true), canon(want, true)) {
			t.Errorf("RESP%d: COMMAND replies differ", proto)
		}
	}
	same(t, tab, conns, true, "COMMAND", "INFO")
	same(t, tab, conns, false, "COMMAND", "COUNT")

	// Every command and subcommand Redis lists is in the table, with the
	// same arity, flags, legacy key range and categories.
	list := conns[2].do("COMMAND", "LIST")
	for _, n := range list.kids {
		s := tab.LookupFull([]byte(n.str))
		if s == nil {
			t.Errorf("%s: not in the table", n.str)
			continue
		}
		info := conns[2].do("COMMAND", "INFO", n.str).kids[0]
		if int64(s.Arity) != atoi(info.kids[1].str) || int64(s.FirstKey) != atoi(info.kids[3].str) ||
			int64(s.LastKey) != atoi(info.kids[4].str) || int64(s.Step) != atoi(info.kids[5].str) {
			t.Errorf("%s: arity/keys differ", n.str)
		}
		var flags, cats []string
		for _, f := range info.kids[2].kids {
			flags = append(flags, f.str)
		}
		for _, c := range info.kids[6].kids {
			cats = append(cats, strings.TrimPrefix(c.str, "@"))
		}
		var ourFlags []string
		for i := 0; i < numFlags; i++ {
			if f := Flag(1) << i; s.Flags&f&shownFlags != 0 {
				ourFlags = append(ourFlags, f.Name())
			}
		}
		if strings.Join(ourFlags, ",") != strings.Join(flags, ",") {
			t.Errorf("%s: flags %v, Redis %v", n.str, ourFlags, flags)
		}
		if strings.Join(s.Categories.Names(), ",") != strings.Join(cats, ",") {
			t.Errorf("%s: categories %v, Redis %v", n.str, s.Categories.Names(), cats)
		}
	}
	own := 0
	for _, s := range tab.ByID {
		if s.Own() {
			own++
		}
	}
	if own < 5 {
		t.Errorf("the table has %d of Redoubt's own commands, want REDOUBT and its subcommands", own)
	}
	if len(list.kids) != tab.Len()-own {
		t.Errorf("Redis lists %d commands and subcommands, the table has %d", len(list.kids), tab.Len())
	}
}

func atoi(s string) int64 {
	var n int64
	neg := strings.HasPrefix(s, "-")
	for _, c := range strings.TrimPrefix(s, "-") {
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

func TestRedisCommandInfo(t *testing.T) {
	tab, conns := startReal(t)
	queries := [][]string{
		{"get"}, {"GET"}, {"set"}, {"mset"}, {"sort"}, {"sort_ro"}, {"migrate"}, {"xread"},
		{"xreadgroup"}, {"eval"}, {"fcall"}, {"zunionstore"}, {"lmpop"}, {"blmpop"}, {"georadius"},
		{"keys"}, {"config"}, {"config|get"}, {"CONFIG|SET"}, {"client|kill"}, {"memory"},
		{"memory|usage"}, {"object|encoding"}, {"xgroup|create"}, {"nosuch"}, {""}, {"get|x"},
		{"config|"}, {"|get"}, {"config|get|x"}, {"get", "set", "nosuch"}, {"config|get", "config|set"},
		{"bitfield"}, {"bitfield_ro"}, {"spublish"}, {"ssubscribe"}, {"subscribe"}, {"ping"},
		{"hello"}, {"auth"}, {"command"}, {"command|info"}, {"restore"}, {"lcs"}, {"object"},
		{"xinfo|stream"}, {"function|restore"}, {"cluster|getkeysinslot"}, {"georadiusbymember_ro"},
		{"blpop"}, {"zadd"}, {"scan"}, {"client"}, {"acl"}, {"Xadd", "XTRIM", "xautoclaim"},
	}
	for _, q := range queries {
		same(t, tab, conns, false, append([]string{"COMMAND", "INFO"}, q...)...)
	}
}

func TestRedisCommandMisc(t *testing.T) {
	tab, conns := startReal(t)
	for _, q := range [][]string{
		{"COMMAND", "COUNT"}, {"command", "count"}, {"COMMAND", "HELP"}, {"command", "help"},
		{"COMMAND", "FOO"}, {"Command", "foo"}, {"COMMAND", "COUNT", "x"}, {"COMMAND", "HELP", "x"},
		{"COMMAND", "GETKEYS"}, {"COMMAND", "GETKEYSANDFLAGS"}, {"COMMAND", "config|get"},
		{"COMMAND", strings.Repeat("x", 300)}, {"COMMAND", "a\r\nb"}, {"COMMAND", ""},
		{"COMMAND", "LIST", "FILTERBY"}, {"COMMAND", "LIST", "FILTERBY", "foo", "bar"},
		{"COMMAND", "LIST", "foo"}, {"COMMAND", "LIST", "FILTERBY", "ACLCAT", "a", "b"},
		{"COMMAND", "LIST", "FILTERBY", "MODULE", "foo"},
	} {
		same(t, tab, conns, false, q...)
	}
	for _, q := range [][]string{
		{"LIST"}, {"list"}, {"LIST", "FILTERBY", "ACLCAT", "read"}, {"LIST", "FILTERBY", "aclcat", "WRITE"},
		{"LIST", "FILTERBY", "ACLCAT", "nosuchcat"}, {"LIST", "FILTERBY", "ACLCAT", "dangerous"},
		{"LIST", "FILTERBY", "PATTERN", "x*"}, {"LIST", "FILTERBY", "PATTERN", "*|*"},
		{"LIST", "FILTERBY", "PATTERN", "c[lo]*"}, {"LIST", "FILTERBY", "PATTERN", "["},
		{"LIST", "FILTERBY", "PATTERN", "*GET*"}, {"LIST", "FILTERBY", "PATTERN", "?et"},
		{"LIST", "FILTERBY", "PATTERN", "[^a-y]*"}, {"LIST", "FILTERBY", "PATTERN", "*\\|*"},
		{"LIST", "FILTERBY", "PATTERN", "z[a-e"}, {"LIST", "FILTERBY", "PATTERN", "[z-x]*s"},
	} {
		same(t, tab, conns, true, append([]string{"COMMAND"}, q...)...)
	}
	// Random patterns (case-insensitive matching of full names).
	alphabet := []string{"c", "o", "L", "s", "e", "t", "*", "?", "[", "]", "^", "-", "|", "\\", "a", "z"}
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 300; i++ {
		var p strings.Builder
		for j := rng.Intn(6); j >= 0; j-- {
			p.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		args := []string{"COMMAND", "LIST", "FILTERBY", "PATTERN", p.String()}
		want, got := conns[2].do(args...), ours(t, tab, 2, args...)
		if !bytes.Equal(canon(got, true), canon(want, true)) {
			t.Errorf("%q: got %q, want %q", args, shorten(canon(got, true)), shorten(canon(want, true)))
		}
	}
}

// getkeysSamples are command lines for COMMAND GETKEYS and
// GETKEYSANDFLAGS, hostile ones included.
var getkeysSamples = []string{
	"SET k v", "SET k v GET", "SET k v get", "SET k v EX 10 GET", "MSET a 1 b 2", "MSET a 1 b",
	"MGET a b c", "DEL a b", "GET a", "GET", "GET a b",
	"ZUNIONSTORE d 2 a b", "ZUNIONSTORE d 2 a b WEIGHTS 1 2", "ZUNIONSTORE d x a",
	"ZUNIONSTORE d -1 a", "ZUNIONSTORE d 5 a b", "ZUNIONSTORE d 1x a b", "ZUNIONSTORE d 0 a",
	"ZUNIONSTORE d 4294967297 a", "ZUNIONSTORE d 2147483648 a", "ZUNIONSTORE d 99999999999999999999 a",
	"ZINTER 2 a b", "ZDIFF 1 a", "ZINTERCARD 2 a b LIMIT 1", "SINTERCARD 3 a b c",
	"EVAL s 2 a b c", "EVAL s 0", "EVAL s 1x a", "EVAL s +1 a", "EVALSHA x 1 k", "EVAL_RO s 1 k",
	"FCALL f 1 k a", "FCALL_RO f 0",
	"XREAD STREAMS a b 0 0", "XREAD COUNT 2 STREAMS a 0", "XREAD STREAMS a", "XREAD STREAMS a b c",
	"XREAD BLOCK 0 STREAMS streams 0", "XREADGROUP GROUP g c STREAMS s >", "XREADGROUP GROUP g c COUNT 1 STREAMS s t > >",
	"LMPOP 2 a b LEFT", "LMPOP 0 a LEFT", "LMPOP 3 a b LEFT", "BLMPOP 0 2 a b LEFT", "ZMPOP 1 z MIN",
	"BZMPOP 0 1 z MAX COUNT 2",
	"SORT k", "SORT k STORE d", "SORT k BY x GET y LIMIT 0 1 STORE d", "SORT k STORE", "SORT k STORE a STORE b",
	"SORT k LIMIT STORE x y", "SORT k STORE limit 0 1", "SORT_RO k BY x", "SORT_RO k",
	"MIGRATE h 1 k 0 5", "MIGRATE h 1 \"\" 0 5 KEYS a b", "MIGRATE h 1 k 0 5 KEYS a b",
	"MIGRATE h 1 \"\" 0 5 AUTH keys KEYS a", "MIGRATE h 1 \"\" 0 5 COPY REPLACE KEYS a keys b",
	"MIGRATE h 1 \"\" 0 5 AUTH2 u p", "MIGRATE h 1 \"\" 0 5 KEYS", "MIGRATE h 1 \"\" 0 5 x KEYS", "PING", "PING x", "NOSUCH a", "CONFIG GET x", "CONFIG", "CONFIG NOPE x",
	"OBJECT ENCODING k", "OBJECT", "MEMORY USAGE k SAMPLES 5", "XINFO STREAM s FULL",
	"GEORADIUS k 0 0 1 m STORE d", "GEORADIUS k 0 0 1 m STORE d STOREDIST e", "GEORADIUS k 0 0 1 m",
	"GEORADIUSBYMEMBER k m 1 km STOREDIST d", "GEOSEARCHSTORE d s FROMLONLAT 0 0 BYRADIUS 1 m",
	"BITFIELD k GET u8 0", "BITFIELD k SET u8 0 1", "BITFIELD k INCRBY u8 0 1", "BITFIELD k OVERFLOW SAT GET u8 0",
	"BITFIELD k GET u8", "BITFIELD k", "BITFIELD_RO k GET u8 0",
	"SPUBLISH ch m", "SSUBSCRIBE ch", "SUBSCRIBE ch", "PUBLISH ch m", "XADD s * f v", "RENAME a b",
	"SMOVE a b m", "LCS a b", "LMOVE a b LEFT RIGHT", "BLPOP a b 0", "COPY a b", "RESTORE k 0 x",
	"TOUCH a b c", "WATCH a b", "EXISTS a", "PFCOUNT a b", "PFMERGE d a b", "BITOP AND d a b",
	"GETEX k PERSIST", "XGROUP CREATE s g $", "CLIENT KILL x", "SCRIPT EXISTS x", "WAIT 0 0",
}

func TestRedisGetKeys(t *testing.T) {
	tab, conns := startReal(t)
	for _, line := range getkeysSamples {
		args := strings.Fields(line)
		for i, a := range args {
			if a == `""` {
				args[i] = ""
			}
		}
		same(t, tab, conns, false, append([]string{"COMMAND", "GETKEYS"}, args...)...)
		same(t, tab, conns, false, append([]string{"COMMAND", "GETKEYSANDFLAGS"}, args...)...)
	}
}

// TestRedisGetKeysRandom throws random argument lists built from the words
// that steer key finding at every command with keys and compares COMMAND
// GETKEYSANDFLAGS with the real server.
func TestRedisGetKeysRandom(t *testing.T) {
	tab, conns := startReal(t)
	words := []string{"k1", "k2", "0", "1", "2", "3", "-1", "x", "", "1x", " 2", "+1", "01",
		"STORE", "STREAMS", "KEYS", "GET", "LIMIT", "BY", "STOREDIST", "GROUP", "COUNT", "BLOCK",
		"NOACK", "AUTH", "AUTH2", "COPY", "REPLACE", "SET", "INCRBY", "OVERFLOW", "WEIGHTS",
		"streams", "keys", "get\x00x", "store\x00"}
	var targets [][]string
	for _, s := range tab.ByID {
		if !s.HasKeys() {
			continue
		}
		name := strings.Split(s.Name, "|")
		targets = append(targets, name)
	}
	rng := rand.New(rand.NewSource(7))
	n := 4000
	if testing.Short() {
		n = 500
	}
	for i := 0; i < n; i++ {
		args := append([]string{"COMMAND", "GETKEYSANDFLAGS"}, targets[rng.Intn(len(targets))]...)
		for j := rng.Intn(9); j > 0; j-- {
			args = append(args, words[rng.Intn(len(words))])
		}
		want := conns[2].do(args...)
		got := ours(t, tab, 2, args...)
		if !bytes.Equal(got.raw, want.raw) {
			t.Errorf("%q:\n got %q\nwant %q", args, got.raw, want.raw)
		}
	}
}

func TestRedisCommandDocs(t *testing.T) {
	tab, conns := startReal(t)
	for _, q := range [][]string{
		{"get"}, {"config"}, {"nosuch", "set"}, {"config|get", "GET"}, {"xinfo"}, {"client|list"},
		{"get|x"}, {},
	} {
		for _, proto := range []int{2, 3} {
			args := append([]string{"COMMAND", "DOCS"}, q...)
			compareDocs(t, proto, args, ours(t, tab, proto, args...), conns[proto].do(args...))
		}
	}
}

// compareDocs checks that our COMMAND DOCS reply has Redis's shape: the
// same command names, a subset of Redis's fields for each, equal since and
// group, and the same subcommand names.
func compareDocs(t *testing.T, proto int, args []string, got, want *node) {
	t.Helper()
	mapTyp := byte('%')
	if proto == 2 {
		mapTyp = '*'
	}
	if got.typ != mapTyp || want.typ != mapTyp {
		t.Errorf("RESP%d %q: types %c and %c", proto, args, got.typ, want.typ)
		return
	}
	g, w := pairs(got), pairs(want)
	if strings.Join(sortedKeys(g), ",") != strings.Join(sortedKeys(w), ",") {
		t.Errorf("RESP%d %q: names %v, Redis %v", proto, args, sortedKeys(g), sortedKeys(w))
		return
	}
	for name, gd := range g {
		wd := w[name]
		if gd.typ != mapTyp {
			t.Errorf("RESP%d %s: docs entry type %c", proto, name, gd.typ)
			continue
		}
		gf, wf := pairs(gd), pairs(wd)
		for field, v := range gf {
			wv, ok := wf[field]
			switch {
			case !ok:
				t.Errorf("RESP%d %s: field %q not in Redis's reply", proto, name, field)
			case field == "since" || field == "group":
				if !bytes.Equal(v.raw, wv.raw) {
					t.Errorf("RESP%d %s %s: %q, Redis %q", proto, name, field, v.raw, wv.raw)
				}
			case field == "subcommands":
				compareDocs(t, proto, append(args, name), v, wv)
			case field == "summary":
				if v.typ != '$' || v.str == "" {
					t.Errorf("RESP%d %s: bad summary %q", proto, name, v.raw)
				}
			}
		}
		for _, field := range []string{"group", "since", "subcommands"} {
			if _, ok := wf[field]; ok {
				if _, ok := gf[field]; !ok {
					t.Errorf("RESP%d %s: no %s field", proto, name, field)
				}
			}
		}
	}
}

func pairs(n *node) map[string]*node {
	m := map[string]*node{}
	for i := 0; i+1 < len(n.kids); i += 2 {
		m[n.kids[i].str] = n.kids[i+1]
	}
	return m
}

func sortedKeys(m map[string]*node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
