package engine

import (
	"math"
	"slices"
	"strconv"

	"redoubt/internal/command"
	"redoubt/internal/glob"
)

// Redis 7.0's defaults of hash-max-listpack-entries (512; 128 is the
// sorted-set limit) and hash-max-listpack-value: a hash stays "listpack"
// encoded while it has at most this many fields and every field and value
// is at most this long.
const (
	hashMaxListpackEntries = 512
	hashMaxListpackValue   = 64
)

// Error replies of the hash commands, byte-identical to Redis 7.0's.
const (
	errHashNotInt   = "ERR hash value is not an integer"
	errHashNotFloat = "ERR hash value is not a float"
	errNaNOrInf     = "ERR value is NaN or Infinity"
)

// hash is a value of the hash type. Like Redis it has two encodings. A
// small hash is a "listpack": its pairs in insertion order in one slice,
// searched linearly, each pair's field and value sharing one allocation.
// Beyond hashMaxListpackEntries pairs, or once a field or value is longer
// than hashMaxListpackValue bytes, it becomes a "hashtable" (a Dict) and
// stays one, as in Redis.
type hash struct {
	lp    []hashPair    // the listpack encoding; unused once ht is set
	ht    *Dict[string] // the hashtable encoding, or nil
	bytes int64         // allocated bytes of fields and values
}

// hashPair is one field and its value in the listpack encoding.
type hashPair struct{ field, value string }

func (h *hash) typeName() string { return "hash" }

func (h *hash) encoding() string {
	if h.ht != nil {
		return "hashtable"
	}
	return "listpack"
}

// clone copies the hash, keeping its encoding. Strings are immutable, so
// sharing them keeps the copy independent.
func (h *hash) clone() object {
	if h.ht == nil {
		return &hash{lp: append([]hashPair(nil), h.lp...), bytes: h.bytes}
	}
	d := NewDict[string]()
	h.ht.Range(func(k string, v *string) bool {
		d.Add(k, *v)
		return true
	})
	return &hash{ht: d, bytes: h.bytes}
}

// Per-field overheads of the two encodings: a pair of string headers in
// the listpack slice; a dict entry (two headers and a pointer, 48-byte
// size class) and a bucket pointer in the hashtable.
const (
	hashListpackOverhead  = 32
	hashHashtableOverhead = 48 + 8
	hashStructSize        = 64
)

// memory estimates the bytes the hash holds.
func (h *hash) memory() int64 {
	if h.ht != nil {
		return hashStructSize + h.bytes + int64(h.ht.Len())*hashHashtableOverhead
	}
	return hashStructSize + h.bytes + int64(cap(h.lp))*hashListpackOverhead
}

// len reports the number of fields.
func (h *hash) len() int {
	if h.ht != nil {
		return h.ht.Len()
	}
	return len(h.lp)
}

// find returns the listpack index of field, or -1.
func (h *hash) find(field []byte) int {
	for i := range h.lp {
		if h.lp[i].field == string(field) {
			return i
		}
	}
	return -1
}

// get returns the value of field.
func (h *hash) get(field []byte) (string, bool) {
	if h.ht != nil {
		if p := h.ht.Get(field); p != nil {
			return *p, true
		}
		return "", false
	}
	if i := h.find(field); i >= 0 {
		return h.lp[i].value, true
	}
	return "", false
}

// set stores value under field and reports whether the field is new. It
// converts a listpack to a hashtable as Redis's hashTypeSet does: before
// storing a field or value that is too long, after the entry that makes
// the listpack too large.
func (h *hash) set(field, value []byte) bool {
	if h.ht == nil && (len(field) > hashMaxListpackValue || len(value) > hashMaxListpackValue) {
		h.convert()
	}
	if h.ht != nil {
		if p := h.ht.Get(field); p != nil {
			h.bytes += allocSize(len(value)) - allocSize(len(*p))
			*p = string(value)
			return false
		}
		h.ht.Add(string(field), string(value))
		h.bytes += allocSize(len(field)) + allocSize(len(value))
		return true
	}
	if i := h.find(field); i >= 0 {
		h.bytes += allocSize(len(field)+len(value)) - allocSize(len(h.lp[i].field)+len(h.lp[i].value))
		h.lp[i] = newHashPair(field, value)
		return false
	}
	h.lp = append(h.lp, newHashPair(field, value))
	h.bytes += allocSize(len(field) + len(value))
	if len(h.lp) > hashMaxListpackEntries {
		h.convert()
	}
	return true
}

// newHashPair copies field and value into one allocation.
func newHashPair(field, value []byte) hashPair {
	s := string(field) + string(value)
	return hashPair{field: s[:len(field)], value: s[len(field):]}
}

// convert turns a listpack into a hashtable.
func (h *hash) convert() {
	d := NewDict[string]()
	h.bytes = 0
	for _, p := range h.lp {
		d.Add(p.field, p.value)
		h.bytes += allocSize(len(p.field)) + allocSize(len(p.value))
	}
	h.ht, h.lp = d, nil
}

// del removes field and reports whether it was there.
func (h *hash) del(field []byte) bool {
	if h.ht != nil {
		v, ok := h.ht.Take(field)
		if ok {
			h.bytes -= allocSize(len(field)) + allocSize(len(v))
		}
		return ok
	}
	i := h.find(field)
	if i < 0 {
		return false
	}
	h.bytes -= allocSize(len(h.lp[i].field) + len(h.lp[i].value))
	h.lp = slices.Delete(h.lp, i, i+1)
	return true
}

// each calls fn for every pair: in insertion order for a listpack, in
// table order for a hashtable.
func (h *hash) each(fn func(field, value string)) {
	if h.ht != nil {
		h.ht.Range(func(k string, v *string) bool {
			fn(k, *v)
			return true
		})
		return
	}
	for _, p := range h.lp {
		fn(p.field, p.value)
	}
}

// hashCommands are the commands of the hash type.
func hashCommands() map[string]Handler {
	return map[string]Handler{
		"hset":         func(c *Client, args [][]byte) { hset(c, args, "hset") },
		"hmset":        func(c *Client, args [][]byte) { hset(c, args, "hmset") },
		"hsetnx":       cmdHSetNX,
		"hget":         cmdHGet,
		"hmget":        cmdHMGet,
		"hdel":         cmdHDel,
		"hlen":         cmdHLen,
		"hstrlen":      cmdHStrlen,
		"hexists":      cmdHExists,
		"hkeys":        func(c *Client, args [][]byte) { hgetall(c, args, true, false) },
		"hvals":        func(c *Client, args [][]byte) { hgetall(c, args, false, true) },
		"hgetall":      func(c *Client, args [][]byte) { hgetall(c, args, true, true) },
		"hincrby":      cmdHIncrBy,
		"hincrbyfloat": cmdHIncrByFloat,
		"hrandfield":   cmdHRandField,
		"hscan":        cmdHScan,
	}
}

// lookupHash returns the hash at key, or nil when there is none; ok is
// false after WRONGTYPE was written. read selects a read lookup, which
// counts keyspace hits and misses.
func (c *Client) lookupHash(key []byte, read bool) (*hash, bool) {
	h, _, ok := lookupTyped[*hash](c, key, read)
	return h, ok
}

// hashChanged records a change of the hash at key, deleting the key when
// the hash has become empty.
func (c *Client) hashChanged(key []byte, h *hash) { c.collectionChanged(key, h) }

// storeNewHash adds h, a hash that the command created, under key.
func (c *Client) storeNewHash(key []byte, h *hash) {
	c.db.add(c.e, key, Value{obj: h})
}

// hset is HSET (the number of new fields) and HMSET (OK).
func hset(c *Client, args [][]byte, name string) {
	if len(args)%2 == 1 {
		c.W.WriteError(command.ArityError(name))
		return
	}
	key := args[1]
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	isNew := h == nil
	if isNew {
		h = &hash{lp: make([]hashPair, 0, min((len(args)-2)/2, hashMaxListpackEntries+1))}
	}
	var created int64
	for i := 2; i < len(args); i += 2 {
		if h.set(args[i], args[i+1]) {
			created++
		}
	}
	if isNew {
		c.storeNewHash(key, h)
	} else {
		c.hashChanged(key, h)
	}
	if name == "hset" {
		c.W.WriteInt(created)
	} else {
		c.W.WriteOK()
	}
}

func cmdHSetNX(c *Client, args [][]byte) {
	key := args[1]
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	if h != nil {
		if _, exists := h.get(args[2]); exists {
			c.W.WriteInt(0)
			return
		}
		h.set(args[2], args[3])
		c.hashChanged(key, h)
	} else {
		h = &hash{}
		h.set(args[2], args[3])
		c.storeNewHash(key, h)
	}
	c.W.WriteInt(1)
}

func cmdHGet(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	if h != nil {
		if v, found := h.get(args[2]); found {
			c.W.WriteBulkString(v)
			return
		}
	}
	c.W.WriteNull()
}

func cmdHMGet(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	c.W.WriteArray(len(args) - 2)
	for _, f := range args[2:] {
		if h != nil {
			if v, found := h.get(f); found {
				c.W.WriteBulkString(v)
				continue
			}
		}
		c.W.WriteNull()
	}
}

func cmdHDel(c *Client, args [][]byte) {
	key := args[1]
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	var n int64
	if h != nil {
		for _, f := range args[2:] {
			if h.del(f) {
				n++
				if h.len() == 0 {
					break
				}
			}
		}
		if n > 0 {
			c.hashChanged(key, h)
		}
	}
	c.W.WriteInt(n)
}

func cmdHLen(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	if h == nil {
		c.W.WriteInt(0)
		return
	}
	c.W.WriteInt(int64(h.len()))
}

func cmdHStrlen(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	var n int
	if h != nil {
		v, _ := h.get(args[2])
		n = len(v)
	}
	c.W.WriteInt(int64(n))
}

func cmdHExists(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	var n int64
	if h != nil {
		if _, found := h.get(args[2]); found {
			n = 1
		}
	}
	c.W.WriteInt(n)
}

// hgetall is HKEYS (fields), HVALS (values) and HGETALL (both, a map under
// RESP3).
func hgetall(c *Client, args [][]byte, fields, values bool) {
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.len()
	}
	if fields && values {
		c.W.WriteMap(n)
	} else {
		c.W.WriteArray(n)
	}
	if h == nil {
		return
	}
	h.each(func(f, v string) {
		if fields {
			c.W.WriteBulkString(f)
		}
		if values {
			c.W.WriteBulkString(v)
		}
	})
}

func cmdHIncrBy(c *Client, args [][]byte) {
	incr, ok := parseInt(args[3])
	if !ok {
		c.W.WriteError(errNotInt)
		return
	}
	key := args[1]
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	var cur int64
	if h != nil {
		if s, found := h.get(args[2]); found {
			if cur, ok = parseInt([]byte(s)); !ok {
				c.W.WriteError(errHashNotInt)
				return
			}
		}
	}
	sum, ok := addInt64(cur, incr)
	if !ok {
		c.W.WriteError(errOverflow)
		return
	}
	var buf [20]byte
	c.storeHashField(key, h, args[2], strconv.AppendInt(buf[:0], sum, 10))
	c.W.WriteInt(sum)
}

// cmdHIncrByFloat computes in C's long double as Redis does, with the
// emulation in strings_num.go.
func cmdHIncrByFloat(c *Client, args [][]byte) {
	incr, ok := parseLongDouble(args[3])
	if !ok {
		c.W.WriteError(errNotFloat)
		return
	}
	if incr.IsInf() {
		c.W.WriteError(errNaNOrInf)
		return
	}
	key := args[1]
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	sum := incr
	if h != nil {
		if s, found := h.get(args[2]); found {
			cur, ok := parseLongDouble([]byte(s))
			if !ok {
				c.W.WriteError(errHashNotFloat)
				return
			}
			if sum, ok = addLongDouble(cur, incr); !ok {
				c.W.WriteError(errIncrNaNInf)
				return
			}
		}
	}
	out := formatLongDouble(sum)
	c.storeHashField(key, h, args[2], []byte(out))
	c.W.WriteBulkString(out)
}

// storeHashField sets field to value in h, the hash at key, creating the
// hash when h is nil.
func (c *Client) storeHashField(key []byte, h *hash, field, value []byte) {
	if h == nil {
		h = &hash{}
		h.set(field, value)
		c.storeNewHash(key, h)
		return
	}
	h.set(field, value)
	c.hashChanged(key, h)
}

// cmdHScan is HSCAN key cursor [MATCH pattern] [COUNT n]. A listpack is
// returned whole with cursor 0, as Redis does; a hashtable is walked with
// the dict's reverse-binary cursor.
func cmdHScan(c *Client, args [][]byte) {
	cursor, ok := parseCursor(args[2])
	if !ok {
		c.W.WriteError(errInvalidCursor)
		return
	}
	h, ok := c.lookupHash(args[1], true)
	if !ok {
		return
	}
	if h == nil {
		writeScanReply(c, 0, nil)
		return
	}
	o, ok := parseScanOptions(c, args[3:], false)
	if !ok {
		return
	}
	var out []string
	add := func(f string, v *string) {
		if o.pattern == nil || glob.Match(o.pattern, []byte(f), false) {
			out = append(out, f, *v)
		}
	}
	if h.ht == nil {
		for i := range h.lp {
			add(h.lp[i].field, &h.lp[i].value)
		}
		writeScanReply(c, 0, out)
		return
	}
	// Redis counts fields and values toward COUNT (count*2), and filters
	// after the walk; seen counts the elements walked.
	seen := 0
	count := o.count
	if count <= math.MaxInt64/2 {
		count *= 2
	}
	cursor = scanSteps(cursor, count,
		func(cur uint64) uint64 {
			return h.ht.Scan(cur, func(f string, v *string) { seen += 2; add(f, v) })
		},
		func() int { return seen })
	writeScanReply(c, cursor, out)
}
