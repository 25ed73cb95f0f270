package engine

import "bytes"

// The OBJECT subcommands.

// errNoLFU is Redis's OBJECT FREQ error when no LFU policy is selected.
const errNoLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. " +
	"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."

// errNoLRU is Redis's OBJECT IDLETIME error under an LFU policy.
const errNoLRU = "ERR An LFU maxmemory policy is selected, idle time not tracked. " +
	"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."

// objectLookup returns the value of key for OBJECT, or nil after writing
// the null reply. OBJECT does not count as an access.
func objectLookup(c *Client, key []byte) *Value {
	v := c.db.peek(c.e, key)
	if v == nil {
		c.W.WriteNull()
	}
	return v
}

func cmdObjectEncoding(c *Client, args [][]byte) {
	if v := objectLookup(c, args[2]); v != nil {
		c.W.WriteBulkString(v.encodingName())
	}
}

func cmdObjectRefcount(c *Client, args [][]byte) {
	if v := objectLookup(c, args[2]); v != nil {
		c.W.WriteInt(v.refcount())
	}
}

// cmdObjectIdletime is the seconds since the key's last access, tracked
// at Redis's resolution (one second) unless an LFU policy is selected.
func cmdObjectIdletime(c *Client, args [][]byte) {
	v := objectLookup(c, args[2])
	switch {
	case v == nil:
	case c.e.policy.lfu():
		c.W.WriteError(errNoLRU)
	default:
		c.W.WriteInt(c.e.idleMillis(v) / 1000)
	}
}

// cmdObjectFreq is the logarithmic access counter under an LFU policy.
func cmdObjectFreq(c *Client, args [][]byte) {
	v := objectLookup(c, args[2])
	switch {
	case v == nil:
	case !c.e.policy.lfu():
		c.W.WriteError(errNoLFU)
	default:
		c.W.WriteInt(int64(c.e.lfuDecr(v)))
	}
}

// cmdObjectHelp writes OBJECT HELP as Redis 7.0 words it.
func cmdObjectHelp(c *Client, args [][]byte) {
	help := [...]string{
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
	}
	c.W.WriteArray(len(help) + 3)
	c.W.WriteSimple(string(bytes.ToUpper(args[0])) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, line := range help {
		c.W.WriteSimple(line)
	}
	c.W.WriteSimple("HELP")
	c.W.WriteSimple("    Prints this help.")
}
