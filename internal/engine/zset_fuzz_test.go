package engine

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// FuzzZSetScoreRange fuzzes the score and lex range parsers and strtod:
// no panic, a consumed length within the input, and agreement with
// strconv on what both read as a plain number.
func FuzzZSetScoreRange(f *testing.F) {
	for _, s := range []string{"1", "(1", "-inf", "+inf", "(", "", " 1", "1e400", "0x1p-2", "0x", "nan", "(nan",
		"infinity", "1\x00x", "[a", "(a", "-", "+", "+\x00", "1e-400", ".5", "5.", "0x.8", "-0", "1e+", "0x1P+3"} {
		f.Add(s, "2")
	}
	f.Fuzz(func(t *testing.T, min, max string) {
		r, ok := parseScoreRange([]byte(min), []byte(max))
		if ok && (math.IsNaN(r.min) || math.IsNaN(r.max)) {
			t.Fatalf("NaN accepted: %q %q", min, max)
		}
		parseLexRange([]byte(min), []byte(max))
		v, n, _, _ := strtod([]byte(min))
		if n < 0 || n > len(min) {
			t.Fatalf("strtod(%q) consumed %d", min, n)
		}
		s, ok := parseScore([]byte(min))
		if !ok {
			return
		}
		if n != len(min) || (s != v && !(math.IsNaN(s) && math.IsNaN(v))) {
			t.Fatalf("parseScore(%q) = %v but strtod read %v from %d bytes", min, s, v, n)
		}
		if g, err := strconv.ParseFloat(min, 64); err == nil && !strings.ContainsAny(min, "_xXnN") && g != s {
			t.Fatalf("parseScore(%q) = %v, strconv %v", min, s, g)
		}
	})
}

// FuzzZSetCommands runs arbitrary sorted-set command lines through the
// engine: no handler may panic (Exec answers a panic with "internal
// error"), every reply is one well-formed RESP value, and no count, limit
// or offset makes a reply larger than the data.
func FuzzZSetCommands(f *testing.F) {
	for _, seed := range []string{
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
		c.db.flush(e)
		for i, line := range strings.Split(script, "\n") {
			if i >= 30 {
				break
			}
			args := fields(line)
			if len(args) == 0 || len(args[0]) == 0 || (args[0][0]|0x20) != 'z' {
				continue
			}
			spec, _ := tab.Resolve(args, e.Supports)
			if spec == nil {
				continue
			}
			w.Reset()
			e.Exec(c, spec, args)
			reply := w.Bytes()
			if bytes.Contains(reply, []byte("internal error")) {
				t.Fatalf("%q panicked", line)
			}
			if len(reply) > 1<<20 {
				t.Fatalf("%q: %d-byte reply", line, len(reply))
			}
			rd := resp.NewReader(bytes.NewReader(reply), resp.DefaultLimits())
			if _, err := rd.ReadRaw(); err != nil || rd.Buffered() != 0 {
				t.Fatalf("%q: malformed reply %q: %v", line, reply, err)
			}
		}
	})
}
