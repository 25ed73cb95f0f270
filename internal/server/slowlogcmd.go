package server

import (
	"bytes"
	"strings"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/resp"
	"redoubt/internal/slowlog"
)

// SLOWLOG of the embedded engine: the commands whose execution took at
// least monitoring's slowlog threshold, as Redis keeps them. A gateway or
// cluster instance passes SLOWLOG to its backend, which times the
// commands it runs.

func monitorCommands() map[string]connHandler {
	return map[string]connHandler{
		"slowlog|get":   cmdSlowlogGet,
		"slowlog|len":   cmdSlowlogLen,
		"slowlog|reset": cmdSlowlogReset,
		"slowlog|help":  cmdSlowlogHelp,
	}
}

func cmdSlowlogGet(c *conn, args [][]byte) {
	count := int64(slowlog.DefaultGetCount)
	switch len(args) {
	case 2:
	case 3:
		n, ok := resp.ParseInt(args[2])
		if !ok || n < -1 {
			c.replyError("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	default:
		c.replyError("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")
		return
	}
	if count == -1 || count > 1<<30 {
		count = 1 << 30
	}
	entries := c.s.slow.Get(int(count))
	c.w.WriteArray(len(entries))
	for _, e := range entries {
		c.w.WriteArray(6)
		c.w.WriteInt(e.ID)
		c.w.WriteInt(e.Time.Unix())
		c.w.WriteInt(e.Duration.Microseconds())
		c.w.WriteArray(len(e.Args))
		for _, a := range e.Args {
			c.w.WriteBulkString(a)
		}
		c.w.WriteBulkString(e.Addr)
		c.w.WriteBulkString(e.Name)
	}
}

func cmdSlowlogLen(c *conn, _ [][]byte) { c.w.WriteInt(int64(c.s.slow.Len())) }

func cmdSlowlogReset(c *conn, _ [][]byte) {
	c.s.slow.Reset()
	c.w.WriteOK()
}

func cmdSlowlogHelp(c *conn, _ [][]byte) {
	lines := []string{
		"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.",
		"HELP",
		"    Prints this help.",
	}
	c.w.WriteArray(len(lines))
	for _, l := range lines {
		c.w.WriteSimple(l)
	}
}

// slowlogAdd records a command that took d, its secrets redacted as
// Redis redacts them.
func (c *conn) slowlogAdd(spec *command.Spec, args [][]byte, d time.Duration) {
	if spec.Has(command.FlagSkipSlowlog) {
		return
	}
	c.mu.Lock()
	name := c.name
	c.mu.Unlock()
	c.s.slow.Add(d, redactArgs(spec, args), c.raddr, name, time.Now())
}

// redacted replaces a secret in the slow log.
var redacted = []byte("(redacted)")

// redactArgs returns args with every password, TOTP code and secret
// replaced by "(redacted)": AUTH, HELLO's AUTH, MIGRATE's AUTH/AUTH2,
// ACL SETUSER's password rules, CONFIG SET of a password, REDOUBT STEPUP.
// It copies only when something is redacted.
func redactArgs(spec *command.Spec, args [][]byte) [][]byte {
	var out [][]byte
	hide := func(i int) {
		if i >= len(args) {
			return
		}
		if out == nil {
			out = append([][]byte(nil), args...)
		}
		out[i] = redacted
	}
	switch spec.Name {
	case "auth", "redoubt|stepup":
		for i := 1; i < len(args); i++ {
			hide(i)
		}
	case "hello":
		// HELLO protover [AUTH user pass] [SETNAME name]: parsed as HELLO
		// parses it, so a client named "auth" hides nothing else; a
		// HELLO that forgot its protover still has its password hidden.
		from := 1
		if len(args) > 1 {
			if _, ok := resp.ParseInt(args[1]); ok {
				from = 2
			}
		}
		for i := from; i < len(args); i++ {
			switch {
			case bytes.EqualFold(args[i], []byte("auth")):
				hide(i + 1)
				hide(i + 2)
				i += 2
			case bytes.EqualFold(args[i], []byte("setname")):
				i++
			}
		}
	case "migrate":
		for i := 6; i < len(args); i++ {
			switch {
			case bytes.EqualFold(args[i], []byte("auth")):
				hide(i + 1)
				i++
			case bytes.EqualFold(args[i], []byte("auth2")):
				hide(i + 1)
				hide(i + 2)
				i += 2
			}
		}
	case "acl|setuser":
		for i := 3; i < len(args); i++ {
			if len(args[i]) > 0 && strings.IndexByte("><#!", args[i][0]) >= 0 {
				hide(i)
			}
		}
	case "config|set":
		for i := 2; i+1 < len(args); i += 2 {
			switch strings.ToLower(string(args[i])) {
			case "requirepass", "masterauth", "masteruser":
				hide(i + 1)
			}
		}
	}
	if out == nil {
		return args
	}
	return out
}
