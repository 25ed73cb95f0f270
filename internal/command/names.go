package command

import "strings"

// KeyFlag is a bit set of key-spec flags: how a command uses a key.
type KeyFlag uint16

// Key-spec flags, in the order Redis 7 lists them.
const (
	KeyRO            KeyFlag = 1 << iota // "RO": read only
	KeyRW                                // "RW": read and write
	KeyOW                                // "OW": overwrite without reading
	KeyRM                                // "RM": remove
	KeyAccess                            // "access": returns or exposes user data
	KeyUpdate                            // "update": updates data in place
	KeyInsert                            // "insert": adds data
	KeyDelete                            // "delete": removes data
	KeyNotKey                            // "not_key": not a key (a shard channel)
	KeyIncomplete                        // "incomplete": the spec may miss keys
	KeyVariableFlags                     // "variable_flags": flags depend on arguments
)

// numKeyFlags is the number of defined key flags.
const numKeyFlags = 11

// Name returns the name Redis uses for a single key flag, or "".
func (f KeyFlag) Name() string {
	switch f {
	case KeyRO:
		return "RO"
	case KeyRW:
		return "RW"
	case KeyOW:
		return "OW"
	case KeyRM:
		return "RM"
	case KeyAccess:
		return "access"
	case KeyUpdate:
		return "update"
	case KeyInsert:
		return "insert"
	case KeyDelete:
		return "delete"
	case KeyNotKey:
		return "not_key"
	case KeyIncomplete:
		return "incomplete"
	case KeyVariableFlags:
		return "variable_flags"
	}
	return ""
}

// KeyFlagByName returns the key flag Redis names name (case-insensitive).
func KeyFlagByName(name string) (KeyFlag, bool) {
	for i := 0; i < numKeyFlags; i++ {
		f := KeyFlag(1) << i
		if strings.EqualFold(f.Name(), name) {
			return f, true
		}
	}
	return 0, false
}

// Names lists the flags set in f, in Redis's order.
func (f KeyFlag) Names() []string {
	var out []string
	for i := 0; i < numKeyFlags; i++ {
		if b := KeyFlag(1) << i; f&b != 0 {
			out = append(out, b.Name())
		}
	}
	return out
}

// numFlags is the number of defined command flags, Redoubt's included.
const numFlags = 26

// Name returns the name of a single flag as COMMAND INFO spells it;
// Redoubt's own flags are named "dangerous" and "conn_state".
func (f Flag) Name() string {
	switch f {
	case FlagWrite:
		return "write"
	case FlagReadonly:
		return "readonly"
	case FlagDenyOOM:
		return "denyoom"
	case FlagModule:
		return "module"
	case FlagAdmin:
		return "admin"
	case FlagPubSub:
		return "pubsub"
	case FlagNoScript:
		return "noscript"
	case FlagBlocking:
		return "blocking"
	case FlagLoading:
		return "loading"
	case FlagStale:
		return "stale"
	case FlagSkipMonitor:
		return "skip_monitor"
	case FlagSkipSlowlog:
		return "skip_slowlog"
	case FlagAsking:
		return "asking"
	case FlagFast:
		return "fast"
	case FlagNoAuth:
		return "no_auth"
	case FlagMayReplicate:
		return "may_replicate"
	case FlagSentinel:
		return "sentinel"
	case FlagOnlySentinel:
		return "only_sentinel"
	case FlagNoMandatoryKeys:
		return "no_mandatory_keys"
	case FlagProtected:
		return "protected"
	case FlagNoAsyncLoading:
		return "no_async_loading"
	case FlagNoMulti:
		return "no_multi"
	case FlagMovableKeys:
		return "movablekeys"
	case FlagAllowBusy:
		return "allow_busy"
	case FlagDangerous:
		return "dangerous"
	case FlagConnState:
		return "conn_state"
	}
	return ""
}

// shownFlags are the flags Redis 7.0 reports in COMMAND INFO; it hides
// may_replicate, sentinel, only_sentinel and protected, and Redoubt's own
// flags never appear on the wire.
const shownFlags = FlagWrite | FlagReadonly | FlagDenyOOM | FlagModule | FlagAdmin |
	FlagPubSub | FlagNoScript | FlagBlocking | FlagLoading | FlagStale | FlagSkipMonitor |
	FlagSkipSlowlog | FlagAsking | FlagFast | FlagNoAuth | FlagNoMandatoryKeys |
	FlagNoAsyncLoading | FlagNoMulti | FlagMovableKeys | FlagAllowBusy

// numCategories is the number of ACL categories.
const numCategories = 21

// Name returns the name of a single ACL category without the "@", or "".
func (c Category) Name() string {
	switch c {
	case CatKeyspace:
		return "keyspace"
	case CatRead:
		return "read"
	case CatWrite:
		return "write"
	case CatSet:
		return "set"
	case CatSortedSet:
		return "sortedset"
	case CatList:
		return "list"
	case CatHash:
		return "hash"
	case CatString:
		return "string"
	case CatBitmap:
		return "bitmap"
	case CatHyperLogLog:
		return "hyperloglog"
	case CatGeo:
		return "geo"
	case CatStream:
		return "stream"
	case CatPubSub:
		return "pubsub"
	case CatAdmin:
		return "admin"
	case CatFast:
		return "fast"
	case CatSlow:
		return "slow"
	case CatBlocking:
		return "blocking"
	case CatDangerous:
		return "dangerous"
	case CatConnection:
		return "connection"
	case CatTransaction:
		return "transaction"
	case CatScripting:
		return "scripting"
	}
	return ""
}

// CategoryByName returns the ACL category named name (without the "@"),
// case-insensitively as ACL rules and COMMAND LIST FILTERBY ACLCAT match it.
func CategoryByName(name string) (Category, bool) {
	for i := 0; i < numCategories; i++ {
		c := Category(1) << i
		if strings.EqualFold(c.Name(), name) {
			return c, true
		}
	}
	return 0, false
}

// Names lists the categories set in c without the "@", in ACL CAT order.
func (c Category) Names() []string {
	var out []string
	for i := 0; i < numCategories; i++ {
		if b := Category(1) << i; c&b != 0 {
			out = append(out, b.Name())
		}
	}
	return out
}
