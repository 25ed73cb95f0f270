// Package command holds the one command table that policy, routing,
// dispatch and the COMMAND replies all read. Each Redis command is described
// once: its name, arity, flags, key positions and ACL categories.
package command

// Flag is a command flag. The first group mirrors the flags Redis 7 reports
// in COMMAND INFO (in Redis's order); the last group is Redoubt's own.
type Flag uint64

// Redis command flags, named as COMMAND INFO names them.
const (
	FlagWrite           Flag = 1 << iota // "write": may modify the keyspace
	FlagReadonly                         // "readonly"
	FlagDenyOOM                          // "denyoom": refused when over maxmemory
	FlagModule                           // "module"
	FlagAdmin                            // "admin"
	FlagPubSub                           // "pubsub"
	FlagNoScript                         // "noscript"
	FlagBlocking                         // "blocking"
	FlagLoading                          // "loading"
	FlagStale                            // "stale"
	FlagSkipMonitor                      // "skip_monitor"
	FlagSkipSlowlog                      // "skip_slowlog"
	FlagAsking                           // "asking"
	FlagFast                             // "fast"
	FlagNoAuth                           // "no_auth": allowed before AUTH
	FlagMayReplicate                     // "may_replicate"
	FlagSentinel                         // "sentinel"
	FlagOnlySentinel                     // "only_sentinel"
	FlagNoMandatoryKeys                  // "no_mandatory_keys"
	FlagProtected                        // "protected"
	FlagNoAsyncLoading                   // "no_async_loading"
	FlagNoMulti                          // "no_multi"
	FlagMovableKeys                      // "movablekeys": key positions depend on arguments
	FlagAllowBusy                        // "allow_busy"

	// Redoubt's own flags; they never appear in COMMAND replies.

	FlagDangerous // refused on the wire by default policy (CONFIG SET, SAVE, DEBUG …)
	FlagConnState // creates connection state that pins a backend connection
)

// Category is a bit set of ACL categories.
type Category uint32

// ACL categories, named as ACL CAT names them (without the "@").
const (
	CatKeyspace Category = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedSet
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperLogLog
	CatGeo
	CatStream
	CatPubSub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting
)

// KeySpec describes where a command's keys are, as Redis 7 key
// specifications do: a begin-search step that finds the first key, then a
// find-keys step that finds the rest.
type KeySpec struct {
	Flags []string // "RW", "access", "update", … as COMMAND INFO names them
	Notes string   // Redis's remark on the spec, replayed verbatim in COMMAND INFO

	// KeyFlags is Flags as a bit set; New fills it in.
	KeyFlags KeyFlag

	// Begin search: by index (BeginIndex > 0) or by keyword, or unknown
	// (the keys can only be found by a command-specific procedure).
	BeginIndex   int    // argument index of the first key
	BeginKeyword string // keyword that precedes the first key
	KeywordFrom  int    // where the keyword search starts (negative: from the end)
	BeginUnknown bool   // begin_search type "unknown"

	// Find keys: by range (the default) or by a key-count argument.
	RangeLast   int // last key relative to the first (-1: last argument)
	RangeStep   int
	RangeLimit  int
	Keynum      bool // find keys by a count argument instead of a range
	KeynumIdx   int  // index of the count, relative to the begin-search result
	FirstKey    int  // first key, relative to the begin-search result
	KeyStep     int
	FindUnknown bool // find_keys type "unknown"
}

// Spec describes one command or subcommand.
type Spec struct {
	Name       string // lower case; subcommands are "parent|sub"
	Arity      int    // Redis convention: n exact, -n at least n (the name counts)
	Flags      Flag
	FirstKey   int // legacy key range, as in COMMAND INFO
	LastKey    int
	Step       int
	Categories Category
	Tips       []string
	KeySpecs   []KeySpec
	Group      string // "string", "generic", "server", …
	Since      string // Redis version that introduced it
	Summary    string // our own one-line description, for COMMAND DOCS

	Subcommands []*Spec
	Parent      *Spec

	// ID is the index of this spec in Table.ByID, so dispatchers can keep
	// their handlers in a slice instead of a second map.
	ID int

	getkeys getkeysProc // command-specific key finder, set by New
}

// Has reports whether s carries every flag in f.
func (s *Spec) Has(f Flag) bool { return s.Flags&f == f }

// ArityOK reports whether argc arguments (the command name included) fit
// the spec's arity.
func (s *Spec) ArityOK(argc int) bool {
	if s.Arity >= 0 {
		return argc == s.Arity
	}
	return argc >= -s.Arity
}
