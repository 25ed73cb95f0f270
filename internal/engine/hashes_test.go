package engine

import (
	"strconv"
	"strings"
	"testing"
)

// TestHashEncoding checks the listpack limits: 512 entries, 64-byte
// fields and values, and that a hashtable never goes back.
func TestHashEncoding(t *testing.T) {
	h := &hash{}
	for i := range hashMaxListpackEntries {
		if !h.set([]byte("f"+strconv.Itoa(i)), []byte("v")) {
			t.Fatalf("field %d not new", i)
		}
	}
	if h.encoding() != "listpack" || h.len() != 512 {
		t.Fatalf("512 entries: %s, %d", h.encoding(), h.len())
	}
	if h.set([]byte("f0"), []byte("w")) || h.encoding() != "listpack" {
		t.Fatal("an update changed the count or the encoding")
	}
	h.set([]byte("one-more"), []byte("v"))
	if h.encoding() != "hashtable" || h.len() != 513 {
		t.Fatalf("513 entries: %s, %d", h.encoding(), h.len())
	}
	if v, ok := h.get([]byte("f0")); !ok || v != "w" {
		t.Fatalf("f0 = %q after conversion", v)
	}
	for i := range 500 {
		h.del([]byte("f" + strconv.Itoa(i)))
	}
	if h.encoding() != "hashtable" {
		t.Fatal("a shrinking hashtable went back to listpack")
	}

	for _, tc := range []struct {
		field, value string
		enc          string
	}{
		{strings.Repeat("f", 64), strings.Repeat("v", 64), "listpack"},
		{strings.Repeat("f", 65), "v", "hashtable"},
		{"f", strings.Repeat("v", 65), "hashtable"},
	} {
		h := &hash{}
		h.set([]byte("a"), []byte("1"))
		h.set([]byte(tc.field), []byte(tc.value))
		if h.encoding() != tc.enc {
			t.Errorf("field %d bytes, value %d bytes: %s, want %s", len(tc.field), len(tc.value), h.encoding(), tc.enc)
		}
		if v, _ := h.get([]byte(tc.field)); v != tc.value {
			t.Errorf("value lost in conversion")
		}
	}
}

// TestHashListpackOrder checks that a listpack keeps insertion order
// through updates and deletions, and that its strings do not alias the
// caller's buffers.
func TestHashListpackOrder(t *testing.T) {
	h := &hash{}
	buf := []byte("a")
	h.set(buf, []byte("1"))
	buf[0] = 'b' // the argument buffer is reused by the connection
	h.set(buf, []byte("2"))
	h.set([]byte("c"), []byte("3"))
	h.set([]byte("a"), []byte("updated"))
	h.del([]byte("b"))
	h.set([]byte("b"), []byte("again"))
	var got []string
	h.each(func(f, v string) { got = append(got, f+"="+v) })
	if strings.Join(got, ",") != "a=updated,c=3,b=again" {
		t.Fatalf("order %v", got)
	}
}

// TestHashCommands checks replies and side effects that the differential
// tests cannot see: empty hashes are deleted, nothing is created on error.
func TestHashCommands(t *testing.T) {
	k := newEnv(t)
	k.want("HSET h a 1 b 2", ":2\r\n")
	k.want("HDEL h a b", ":2\r\n")
	if k.stored("h") {
		t.Fatal("an empty hash was kept")
	}
	k.want("HINCRBY h f x", "-ERR value is not an integer or out of range\r\n")
	k.want("HINCRBYFLOAT h f inf", "-ERR value is NaN or Infinity\r\n")
	k.want("HSET h f v g", "-ERR wrong number of arguments for 'hset' command\r\n")
	k.want("HMSET h f v g", "-ERR wrong number of arguments for 'hmset' command\r\n")
	if k.stored("h") {
		t.Fatal("a failed command created a key")
	}
	k.want("HINCRBYFLOAT h f 0.1", "$3\r\n0.1\r\n")
	k.want("HINCRBYFLOAT h f 0.2", "$3\r\n0.3\r\n") // long double, as Redis
	k.want("HINCRBYFLOAT h f 1e-20", "$3\r\n0.3\r\n")
	k.want("HINCRBYFLOAT h f -0.3", "$1\r\n0\r\n")
	// What redis-server 7.0.15 answers: 1e400 rounded to a 64-bit mantissa.
	const e400 = "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"
	k.want("HINCRBYFLOAT h g 1e400", "$401\r\n"+e400+"\r\n")
	k.run("HINCRBYFLOAT", "h", "g", "1e4932") // below the long double maximum, 1.19e4932
	k.want("HINCRBYFLOAT h g 1e4932", "-ERR increment would produce NaN or Infinity\r\n")
	k.want("HSET h s 0x10", ":1\r\n")
	k.want("HINCRBYFLOAT h s 1", "$2\r\n17\r\n")
	k.want("HINCRBY h big 9223372036854775807", ":9223372036854775807\r\n")
	k.want("HINCRBY h big 1", "-ERR increment or decrement would overflow\r\n")
	k.want("HINCRBY h s 1", ":18\r\n")
	k.want("HSET h t abc", ":1\r\n")
	k.want("HINCRBY h t 1", "-ERR hash value is not an integer\r\n")
	k.want("HINCRBYFLOAT h t 1", "-ERR hash value is not a float\r\n")
	k.want("HSTRLEN h t", ":3\r\n")
}

// TestHashScanHashtable checks HSCAN on a hashtable: COUNT counts fields
// and values, MATCH filters after the walk, and a full walk returns every
// field once with its value.
func TestHashScanHashtable(t *testing.T) {
	k := newEnv(t)
	args := []string{"HSET", "h"}
	for i := range 1000 {
		args = append(args, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	k.run(args...)
	seen := map[string]int{}
	cursor, calls := "0", 0
	for {
		var elems []string
		cursor, elems = k.scan("HSCAN", "h", cursor, "COUNT", "20", "MATCH", "f1*")
		for i := 0; i < len(elems); i += 2 {
			if elems[i+1] != "v"+elems[i][1:] {
				t.Fatalf("field %s has value %s", elems[i], elems[i+1])
			}
			seen[elems[i]]++
		}
		calls++
		if cursor == "0" {
			break
		}
	}
	if len(seen) != 111 { // f1, f10-f19, f100-f199
		t.Errorf("HSCAN MATCH f1* returned %d fields, want 111", len(seen))
	}
	if calls < 10 {
		t.Errorf("HSCAN COUNT 20 over 1000 fields took only %d calls", calls)
	}
}

// TestHRandFieldCap checks that a negative count whose reply would exceed
// the reply bound is refused instead of building it.
func TestHRandFieldCap(t *testing.T) {
	k := newEnv(t)
	k.run("HSET", "h", "f", "v")
	k.want("HRANDFIELD h -1048576", "*1048576\r\n"+strings.Repeat("$1\r\nf\r\n", 1048576))
	k.want("HRANDFIELD h -1048577", "-ERR value is out of range\r\n")
	k.want("HRANDFIELD nokey -1048577", "*0\r\n")
}

// benchHash returns a client whose database holds hash "h" with n fields,
// on an engine locked until b ends.
func benchHash(b *testing.B, n int) *Client {
	e, c := lockedEngine(b)
	h := &hash{}
	for i := range n {
		h.set([]byte("field:"+strconv.Itoa(i)), []byte("value:"+strconv.Itoa(i)))
	}
	c.db.add(e, []byte("h"), Value{obj: h})
	return c
}

func BenchmarkHSet(b *testing.B) {
	for _, n := range []int{16, 10000} {
		b.Run("fields="+strconv.Itoa(n), func(b *testing.B) {
			c := benchHash(b, n)
			update := [][]byte{[]byte("hset"), []byte("h"), []byte("field:7"), []byte("new-value")}
			b.ReportAllocs()
			for b.Loop() {
				c.W.Reset()
				hset(c, update, "hset")
			}
		})
	}
}

func BenchmarkHGet(b *testing.B) {
	for _, n := range []int{16, 512, 10000} {
		b.Run("fields="+strconv.Itoa(n), func(b *testing.B) {
			c := benchHash(b, n)
			get := [][]byte{[]byte("hget"), []byte("h"), []byte("field:" + strconv.Itoa(n-1))}
			b.ReportAllocs()
			for b.Loop() {
				c.W.Reset()
				cmdHGet(c, get)
			}
		})
	}
}

// BenchmarkHSetNew adds fields to a fresh small hash: the cost of a new
// listpack pair (one allocation for field and value).
func BenchmarkHSetNew(b *testing.B) {
	c := benchHash(b, 0)
	args := [][]byte{[]byte("hset"), []byte("n"), []byte("f0"), []byte("v"), []byte("f1"), []byte("v")}
	b.ReportAllocs()
	for b.Loop() {
		c.W.Reset()
		hset(c, args, "hset")
		cmdDel(c, [][]byte{[]byte("del"), []byte("n")})
	}
}

func TestHashAllocs(t *testing.T) {
	e, c := lockedEngine(t)
	h := &hash{}
	h.set([]byte("f"), []byte("v"))
	c.db.add(e, []byte("h"), Value{obj: h})
	get := [][]byte{[]byte("hget"), []byte("h"), []byte("f")}
	if n := testing.AllocsPerRun(100, func() { c.W.Reset(); cmdHGet(c, get) }); n != 0 {
		t.Errorf("HGET: %v allocations", n)
	}
}
