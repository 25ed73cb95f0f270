package engine

import (
	"bytes"
	"strings"
	"testing"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// FuzzCommands runs arbitrary command lines through the table and every
// engine handler. A handler that panics is recovered by Exec and answered
// "ERR internal error"; the fuzzer fails on that reply, so any input that
// can panic a command is found here rather than in production. Each reply
// must also be one well-formed RESP value.
func FuzzCommands(f *testing.F) {
	for _, seed := range []string{
		"SET k v EX 10\nGET k\nDEL k",
		"SET k 10\nINCRBY k 9223372036854775807\nINCRBYFLOAT k 1e308\nAPPEND k x",
		"HSET h f v\nHINCRBY h f 1\nHGETALL h\nHRANDFIELD h -5 WITHVALUES",
		"SETRANGE k 1048576 x\nGETRANGE k -1 -100\nSETRANGE k -1 x",
		"EXPIRE k 9223372036854775807\nPEXPIREAT k -1\nTTL k\nSCAN 18446744073709551615 COUNT 0",
		"SELECT 15\nMOVE k 0\nCOPY k k2 DB 16 REPLACE\nSWAPDB 0 15\nKEYS [\\\nSCAN 0 MATCH *[a-",
		"OBJECT ENCODING k\nRENAME k k\nGETEX k PERSIST\nLCS a b IDX MINMATCHLEN -1 WITHMATCHLEN",
		"RPUSH l a b c\nLPOS l b RANK -9223372036854775808 COUNT 0 MAXLEN 1\nLRANGE l -9223372036854775808 9223372036854775807",
		"LPUSH l x\nLINSERT l BEFORE x y\nLREM l -9223372036854775808 x\nLMPOP 2 l l RIGHT COUNT 9223372036854775807\nLTRIM l 1 0",
		"SADD s 1 2 3 a\nSPOP s 9223372036854775807\nSRANDMEMBER s -5\nSINTERCARD 1 s LIMIT 0\nSMOVE s s 1",
		"SADD s 1 2\nSINTERSTORE d s s\nSDIFFSTORE d s d\nSUNIONSTORE s s d\nSSCAN s 0 COUNT 0",
		"ZADD z 1 a 2 b 3 c\nZRANGE z 0 -1 WITHSCORES\nZRANGEBYSCORE z (1 +inf LIMIT 0 -1",
		"ZADD z INCR 1 a\nZADD z GT CH 5 a\nZINCRBY z -inf a\nZADD z INCR +inf a",
		"ZADD z 0 a 0 b\nZRANGEBYLEX z [a (c LIMIT 9223372036854775807 1\nZREMRANGEBYLEX z - +",
		"ZUNIONSTORE d 2 z z WEIGHTS inf 0 AGGREGATE MAX\nZINTERCARD 2 z d LIMIT 1\nZDIFF 1 z WITHSCORES",
		"ZPOPMIN z 9223372036854775807\nZMPOP 1 z MAX COUNT 9223372036854775807\nZRANDMEMBER z -5 WITHSCORES",
		"ZRANGESTORE d z 0 -1 REV\nZREMRANGEBYRANK z -9223372036854775808 9223372036854775807\nZSCAN z 0 COUNT 1",
		"ZRANGE z -9223372036854775808 9223372036854775807\nZRANGE z 0 -1 BYSCORE LIMIT -9223372036854775808 -1",
	} {
		f.Add(seed)
	}
	tab := command.New()
	e := New(Options{Table: tab})
	f.Cleanup(e.Close)
	f.Fuzz(func(t *testing.T, script string) {
		var out bytes.Buffer
		w := resp.NewWriter(&out)
		c := e.NewClient(w)
		e.Lock()
		defer e.Unlock()
		for _, db := range e.dbs {
			db.flush(e)
		}
		for i, line := range strings.Split(script, "\n") {
			if i >= 50 {
				break
			}
			var args [][]byte
			for _, f := range strings.Fields(line) {
				args = append(args, []byte(f))
			}
			if len(args) == 0 {
				continue
			}
			spec, _ := tab.Resolve(args, e.Supports)
			if spec == nil || spec.Has(command.FlagBlocking) {
				continue
			}
			if tab.Lookup(args[0]) != nil && strings.EqualFold(string(args[0]), "debug") {
				continue
			}
			out.Reset()
			w.Reset()
			e.Exec(c, spec, args)
			reply := w.Bytes()
			if bytes.Contains(reply, []byte("internal error")) {
				t.Fatalf("%q panicked", line)
			}
			// No count, limit or offset makes a collection's reply larger
			// than the little data a script can create (strings can grow
			// with SETRANGE, so they are not held to it).
			if spec.Group != "string" && spec.Group != "generic" && len(reply) > 1<<20 {
				t.Fatalf("%q: %d-byte reply", line, len(reply))
			}
			rd := resp.NewReader(bytes.NewReader(reply), resp.DefaultLimits())
			if _, err := rd.ReadRaw(); err != nil {
				t.Fatalf("%q: malformed reply %q: %v", line, reply, err)
			}
			if rd.Buffered() != 0 {
				t.Fatalf("%q: more than one reply: %q", line, reply)
			}
		}
	})
}
