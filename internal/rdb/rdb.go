// Package rdb reads and writes Redis RDB files.
//
// Read streams a file (RDB versions 1 to 11, that is up to Redis 7.2) key by
// key to a Handler, so a file of millions of keys is never held in memory
// whole. It understands every encoding Redis 7.2 and older write for strings,
// lists, sets, sorted sets and hashes, verifies the CRC-64 trailer, and
// reports anything it cannot read (streams, module values, Redis 7.4 hash
// field expiry, corruption) as an *Error naming the byte offset and, within a
// key, the key.
//
// Nothing read from a file is trusted: every length is checked against a
// limit and memory grows only as bytes actually arrive, and the compact
// encodings (ziplist, listpack, intset, zipmap, LZF) are validated entry by
// entry before use.
//
// Writer writes RDB version 10 (Redis 7.0) or 11 (Redis 7.2) in the plain
// encodings every Redis since 7.0 loads; see Writer for the list.
package rdb

import (
	"errors"
	"fmt"
	"strconv"
)

// Versions this package reads and writes.
const (
	// MaxReadVersion is the newest RDB version Read accepts (Redis 7.2).
	MaxReadVersion = 11
	// MinReadVersion is the oldest RDB version Read accepts.
	MinReadVersion = 1
	// firstChecksumVersion is the first version with a CRC-64 trailer.
	firstChecksumVersion = 5
)

// Limits applied by Read unless Options say otherwise.
const (
	// DefaultMaxString is the longest string, or compact-encoding blob, Read
	// accepts: Redis's own proto-max-bulk-len default.
	DefaultMaxString = 512 << 20
	// maxKeyQuote is how many bytes of a key an error message quotes.
	maxKeyQuote = 64
	// initialAlloc caps the first allocation for a string or a collection
	// whose length comes from the file; it then grows as data arrives.
	initialAlloc = 64 << 10
	// initialElems caps the first slice allocation for a collection.
	initialElems = 1024
	// lzfMaxRatio bounds the announced uncompressed length of an LZF string:
	// a 3-byte back reference yields at most 264 bytes.
	lzfMaxRatio = 88
)

// Opcodes that introduce a record other than a key (rdb.h, RDB_OPCODE_*).
const (
	opSlotInfo     = 244 // Redis 7.4+: cluster slot sizes
	opFunction2    = 245 // a function library: string with its code
	opFunctionPre  = 246 // pre-release 7.0 function format
	opModuleAux    = 247 // module data outside the keyspace
	opIdle         = 248 // LRU idle time of the next key: length
	opFreq         = 249 // LFU frequency of the next key: one byte
	opAux          = 250 // auxiliary field: two strings
	opResizeDB     = 251 // hash table sizes: two lengths
	opExpireTimeMS = 252 // expiry of the next key: 8-byte LE unix ms
	opExpireTime   = 253 // expiry of the next key: 4-byte LE unix seconds
	opSelectDB     = 254 // switch database: length
	opEOF          = 255 // end of file, then the 8-byte LE CRC-64 (v5+)
)

// Type is an RDB value type byte (rdb.h, RDB_TYPE_*).
type Type uint8

// Value types as they appear in a file.
const (
	TypeString          Type = 0
	TypeList            Type = 1
	TypeSet             Type = 2
	TypeZSet            Type = 3 // scores as text
	TypeHash            Type = 4
	TypeZSet2           Type = 5 // scores as binary doubles
	TypeModulePreGA     Type = 6
	TypeModule2         Type = 7
	TypeHashZipmap      Type = 9
	TypeListZiplist     Type = 10
	TypeSetIntset       Type = 11
	TypeZSetZiplist     Type = 12
	TypeHashZiplist     Type = 13
	TypeListQuicklist   Type = 14 // nodes are ziplists
	TypeStreamListpacks Type = 15
	TypeHashListpack    Type = 16
	TypeZSetListpack    Type = 17
	TypeListQuicklist2  Type = 18 // nodes are listpacks or plain elements
	TypeStream2         Type = 19
	TypeSetListpack     Type = 20 // RDB 11
	TypeStream3         Type = 21
	TypeHashMetaPreGA   Type = 22 // RDB 12: hash field expiry
	TypeHashLPExPreGA   Type = 23
	TypeHashMetadata    Type = 24
	TypeHashListpackEx  Type = 25
)

// String names the type as an error message does.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList, TypeListZiplist, TypeListQuicklist, TypeListQuicklist2:
		return "list"
	case TypeSet, TypeSetIntset, TypeSetListpack:
		return "set"
	case TypeZSet, TypeZSet2, TypeZSetZiplist, TypeZSetListpack:
		return "zset"
	case TypeHash, TypeHashZipmap, TypeHashZiplist, TypeHashListpack:
		return "hash"
	case TypeModulePreGA, TypeModule2:
		return "module"
	case TypeStreamListpacks, TypeStream2, TypeStream3:
		return "stream"
	case TypeHashMetaPreGA, TypeHashLPExPreGA, TypeHashMetadata, TypeHashListpackEx:
		return "hash with field expiry"
	}
	return "unknown"
}

// Sentinel errors; every *Error wraps one of them.
var (
	// ErrCorrupt: the file breaks the format.
	ErrCorrupt = errors.New("corrupt")
	// ErrTruncated: the file ends early.
	ErrTruncated = errors.New("truncated")
	// ErrChecksum: the CRC-64 trailer does not match the contents.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnsupported: a valid construct this package does not read.
	ErrUnsupported = errors.New("not supported")
	// ErrTooLarge: a length exceeds a limit in Options.
	ErrTooLarge = errors.New("too large")
)

// Error reports a problem at a byte offset of a file.
type Error struct {
	Offset int64  // offset in the file of the record or field at fault
	Key    []byte // the key being read; nil outside a key
	Msg    string // what is wrong
	Err    error  // one of the sentinels above
}

// Error formats as `rdb: key "k" at offset 12: msg` or `rdb: offset 12: msg`.
func (e *Error) Error() string {
	if e.Key != nil {
		k := e.Key
		more := ""
		if len(k) > maxKeyQuote {
			k, more = k[:maxKeyQuote], "..."
		}
		return fmt.Sprintf("rdb: key %q%s at offset %d: %s", k, more, e.Offset, e.Msg)
	}
	return "rdb: offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// Value is the decoded value of a key: String, List, Set, ZSet or Hash.
type Value interface {
	// Kind is the logical type: TypeString, TypeList, TypeSet, TypeZSet
	// or TypeHash, whatever the encoding in the file.
	Kind() Type
}

// String is a string value. Integer-encoded strings are given in decimal.
type String []byte

// List is a list value, head first.
type List [][]byte

// Set is a set value in file order.
type Set [][]byte

// ZSet is a sorted set in file order (not necessarily by score).
type ZSet []ZMember

// ZMember is one member of a sorted set.
type ZMember struct {
	Member []byte
	Score  float64
}

// Hash is a hash value in file order.
type Hash []Field

// Field is one field of a hash.
type Field struct {
	Name, Value []byte
}

// Kind returns TypeString.
func (String) Kind() Type { return TypeString }

// Kind returns TypeList.
func (List) Kind() Type { return TypeList }

// Kind returns TypeSet.
func (Set) Kind() Type { return TypeSet }

// Kind returns TypeZSet.
func (ZSet) Kind() Type { return TypeZSet }

// Kind returns TypeHash.
func (Hash) Kind() Type { return TypeHash }

// Entry is one key of a file.
type Entry struct {
	DB       int    // database number, from the last SELECTDB (0 before any)
	Key      []byte // the key; owned by the handler
	ExpireAt int64  // expiry in unix milliseconds; meaningful when Expires
	Expires  bool   // the key has an expiry
	Value    Value  // the value; its slices are owned by the handler
}
