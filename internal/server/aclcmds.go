package server

import (
	"slices"
	"strconv"
	"strings"

	"redoubt/internal/acl"
	"redoubt/internal/glob"
	"redoubt/internal/resp"
)

// The ACL commands that only read: WHOAMI, CAT, LIST, USERS, LOG. The
// ones that change accounts (SETUSER, DELUSER, SAVE, LOAD) are refused on
// the wire; accounts change in the admin console.

func cmdACLWhoAmI(c *conn, args [][]byte) {
	c.w.WriteBulkString(c.accountName())
}

func cmdACLCat(c *conn, args [][]byte) {
	if len(args) == 2 {
		cats := acl.Categories(c.s.table)
		c.w.WriteArray(len(cats))
		for _, cat := range cats {
			c.w.WriteBulkString(cat)
		}
		return
	}
	names, ok := acl.CommandsIn(c.s.table, strings.ToLower(string(args[2])))
	if !ok {
		c.replyError("ERR Unknown category '" + string(args[2]) + "'")
		return
	}
	c.w.WriteArray(len(names))
	for _, n := range names {
		c.w.WriteBulkString(n)
	}
}

// sortedAccounts returns the accounts of the connection's policy by name.
func (c *conn) sortedAccounts() []*account {
	out := make([]*account, 0, len(c.pol.accounts))
	for _, a := range c.pol.accounts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *account) int { return strings.Compare(a.name, b.name) })
	return out
}

func cmdACLList(c *conn, args [][]byte) {
	accts := c.sortedAccounts()
	c.w.WriteArray(len(accts))
	for _, a := range accts {
		c.w.WriteBulkString(a.User.Describe())
	}
}

func cmdACLUsers(c *conn, args [][]byte) {
	accts := c.sortedAccounts()
	c.w.WriteArray(len(accts))
	for _, a := range accts {
		c.w.WriteBulkString(a.name)
	}
}

// cmdACLLog shows the denials of the connection's own account (Redis
// shows everyone's; an account here never learns about the others).
func cmdACLLog(c *conn, args [][]byte) {
	n := 10
	if len(args) == 3 {
		if isWord(args[2], "reset") {
			c.s.aclLog.Reset(c.accountName())
			c.w.WriteOK()
			return
		}
		v, err := strconv.Atoi(string(args[2]))
		if err != nil || v < 0 {
			c.replyError("ERR value is out of range, must be positive")
			return
		}
		n = v
	} else if len(args) > 3 {
		c.replyError("ERR syntax error")
		return
	}
	now := c.s.now()
	entries := c.s.aclLog.Entries(c.accountName(), n)
	c.w.WriteArray(len(entries))
	for _, e := range entries {
		c.w.WriteMap(7)
		c.w.WriteBulkString("count")
		c.w.WriteInt(int64(e.Count))
		c.w.WriteBulkString("reason")
		c.w.WriteBulkString(e.Reason)
		c.w.WriteBulkString("context")
		c.w.WriteBulkString(e.Context)
		c.w.WriteBulkString("object")
		c.w.WriteBulkString(e.Object)
		c.w.WriteBulkString("username")
		c.w.WriteBulkString(e.Username)
		c.w.WriteBulkString("age-seconds")
		c.w.WriteDouble(now.Sub(e.Created).Seconds())
		c.w.WriteBulkString("client-info")
		c.w.WriteBulkString(e.ClientInfo)
	}
}

func cmdACLHelp(c *conn, args [][]byte) {
	lines := []string{
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"LIST",
		"    Show users details in config file format (without secrets).",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries of your account, or reset them.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Print this help.",
		"Accounts change in the admin console, not on the wire.",
	}
	c.writeLines(lines)
}

// configParams are the parameters CONFIG GET answers: the harmless ones
// clients and tools ask for at connect time. Paths (dir, dbfilename,
// logfile …), passwords and anything that reveals the host are never
// among them.
func (c *conn) configParams() [][2]string {
	sec := c.pol.sec
	maxClients := sec.MaxClients
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	lim := resp.DefaultLimits()
	c.lock()
	mem := c.s.eng.Memory()
	c.unlock()
	return [][2]string{
		{"appendfsync", c.s.appendfsyncName()},
		{"appendonly", c.s.appendonlyName()},
		{"cluster-enabled", "no"},
		{"databases", strconv.Itoa(c.s.eng.Databases())},
		{"maxclients", strconv.Itoa(maxClients)},
		{"maxmemory", strconv.FormatInt(mem.MaxMemory, 10)},
		{"maxmemory-policy", mem.Policy.String()},
		{"proto-max-bulk-len", strconv.FormatInt(lim.MaxBulk, 10)},
		{"save", ""},
		{"timeout", strconv.Itoa(int(sec.IdleTimeout.Seconds()))},
	}
}

// cmdConfigGet answers CONFIG GET pattern [pattern …] from configParams,
// a map in RESP3 as in Redis 7.
func cmdConfigGet(c *conn, args [][]byte) {
	var out [][2]string
	for _, p := range c.configParams() {
		for _, pat := range args[2:] {
			if glob.Match(pat, []byte(p[0]), true) {
				out = append(out, p)
				break
			}
		}
	}
	c.w.WriteMap(len(out))
	for _, p := range out {
		c.w.WriteBulkString(p[0])
		c.w.WriteBulkString(p[1])
	}
}
