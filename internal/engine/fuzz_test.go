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
