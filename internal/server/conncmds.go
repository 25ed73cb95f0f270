package server

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"redoubt/internal/resp"
)

// connCommands are the commands the server answers itself because they
// concern the connection or the whole instance rather than the data.
func (s *Server) connCommands() map[string]connHandler {
	all := map[string]connHandler{}
	for _, part := range []map[string]connHandler{s.baseCommands(), txCommands(), blockingCommands(), pubsubCommands(), monitorCommands()} {
		for name, h := range part {
			if _, dup := all[name]; dup {
				panic("server: two handlers for " + name)
			}
			all[name] = h
		}
	}
	return all
}

// baseCommands are the connection, introspection and security commands.
func (s *Server) baseCommands() map[string]connHandler {
	return map[string]connHandler{
		"hello":                   cmdHello,
		"auth":                    cmdAuth,
		"quit":                    cmdQuit,
		"reset":                   cmdReset,
		"time":                    cmdTime,
		"info":                    cmdInfo,
		"command":                 cmdCommand,
		"command|count":           cmdCommand,
		"command|info":            cmdCommand,
		"command|docs":            cmdCommand,
		"command|list":            cmdCommand,
		"command|help":            cmdCommand,
		"command|getkeys":         cmdCommand,
		"command|getkeysandflags": cmdCommand,
		"client|id":               cmdClientID,
		"client|setname":          cmdClientSetName,
		"client|getname":          cmdClientGetName,
		"client|list":             cmdClientList,
		"client|info":             cmdClientInfo,
		"client|kill":             cmdClientKill,
		"client|help":             cmdClientHelp,
		"acl|whoami":              cmdACLWhoAmI,
		"acl|cat":                 cmdACLCat,
		"acl|list":                cmdACLList,
		"acl|users":               cmdACLUsers,
		"acl|log":                 cmdACLLog,
		"acl|help":                cmdACLHelp,
		"config|get":              cmdConfigGet,
		"bgrewriteaof":            cmdBGRewriteAOF,
		"redoubt|stepup":          cmdRedoubtStepUp,
		"redoubt|help":            cmdRedoubtHelp,
		"redoubt|hotkeys":         cmdRedoubtHotKeys,
		"redoubt|bigkeys":         cmdRedoubtBigKeys,
	}
}

func cmdCommand(c *conn, args [][]byte) {
	c.s.table.Command(c.w, args, c.s.available)
}

func cmdHello(c *conn, args [][]byte) {
	ver := int64(0)
	next := 1
	if len(args) >= 2 {
		v, ok := resp.ParseInt(args[1])
		if !ok {
			c.replyError("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.replyError("NOPROTO unsupported protocol version")
			return
		}
		ver = v
		next = 2
	}
	var name []byte
	setName := false
	for j := next; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case bytes.EqualFold(args[j], []byte("auth")) && more >= 2:
			if !c.authenticate(args[j+1], args[j+2]) {
				return
			}
			j += 2
		case bytes.EqualFold(args[j], []byte("setname")) && more >= 1:
			name, setName = args[j+1], true
			j++
		default:
			c.replyError("ERR Syntax error in HELLO option '" + string(args[j]) + "'")
			return
		}
	}
	if setName && !c.setName(name) {
		return
	}
	if ver != 0 {
		c.proto.Store(int32(ver))
		c.w.SetProto(int(ver))
		if c.s.proxied() {
			c.gwProto(int(ver))
		}
	}
	w := c.w
	w.WriteMap(7)
	w.WriteBulkString("server")
	w.WriteBulkString("redis")
	w.WriteBulkString("version")
	w.WriteBulkString(CompatVersion)
	w.WriteBulkString("proto")
	w.WriteInt(int64(c.proto.Load()))
	w.WriteBulkString("id")
	w.WriteInt(c.id)
	w.WriteBulkString("mode")
	w.WriteBulkString("standalone")
	w.WriteBulkString("role")
	w.WriteBulkString("master")
	w.WriteBulkString("modules")
	w.WriteArray(0)
}

// setName validates and sets the connection name; an empty name clears it.
func (c *conn) setName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			c.replyError("ERR Client names cannot contain spaces, newlines or special characters.")
			return false
		}
	}
	c.mu.Lock()
	c.name = string(name)
	c.mu.Unlock()
	return true
}

func cmdQuit(c *conn, args [][]byte) {
	c.w.WriteOK()
	c.closeAfter = true
}

func cmdReset(c *conn, args [][]byte) {
	c.ec.Select(0)
	c.db.Store(0)
	c.proto.Store(2)
	c.w.SetProto(2)
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	c.resetTx()
	c.resetPubsub()
	c.resetAuth()
	if c.s.proxied() {
		c.gwReset()
	}
	c.w.WriteSimple("RESET")
}

func cmdTime(c *conn, args [][]byte) {
	now := time.Now()
	c.w.WriteArray(2)
	c.w.WriteBulkInt(now.Unix())
	c.w.WriteBulkInt(int64(now.Nanosecond() / 1000))
}

func cmdClientID(c *conn, args [][]byte) { c.w.WriteInt(c.id) }

func cmdClientSetName(c *conn, args [][]byte) {
	if c.setName(args[2]) {
		c.w.WriteOK()
	}
}

func cmdClientGetName(c *conn, args [][]byte) {
	c.mu.Lock()
	name := c.name
	c.mu.Unlock()
	if name == "" {
		c.w.WriteNull()
		return
	}
	c.w.WriteBulkString(name)
}

func cmdClientInfo(c *conn, args [][]byte) {
	c.w.WriteVerbatim("txt", c.info()+"\n")
}

func cmdClientList(c *conn, args [][]byte) {
	var ids map[int64]bool
	typ := ""
	for j := 2; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case bytes.EqualFold(args[j], []byte("type")) && more >= 1:
			typ = strings.ToLower(string(args[j+1]))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.replyError("ERR Unknown client type '" + string(args[j+1]) + "'")
				return
			}
			j++
		case bytes.EqualFold(args[j], []byte("id")) && more >= 1:
			if ids == nil {
				ids = map[int64]bool{}
			}
			for j++; j < len(args); j++ {
				id, ok := resp.ParseInt(args[j])
				if !ok || id <= 0 {
					c.replyError("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.replyError("ERR syntax error")
			return
		}
	}
	var b strings.Builder
	for _, o := range c.s.sortedConns() {
		if (ids != nil && !ids[o.id]) || (typ != "" && o.clientType() != typ) {
			continue
		}
		b.WriteString(o.info())
		b.WriteByte('\n')
	}
	c.w.WriteVerbatim("txt", b.String())
}

// clientType is the connection's type for CLIENT LIST and CLIENT KILL
// TYPE: pubsub while it has subscriptions, else normal (replicas and
// masters do not exist here).
func (c *conn) clientType() string {
	if c.ps.total() > 0 {
		return "pubsub"
	}
	return "normal"
}

// info renders the connection as a CLIENT LIST line, in Redis 7's field
// order; buffer sizes are Redoubt's own.
func (c *conn) info() string {
	c.mu.Lock()
	name := c.name
	c.mu.Unlock()
	cmd := ""
	if spec := c.lastCmd.Load(); spec != nil {
		cmd = spec.Name
	}
	now := time.Now()
	idle := now.Sub(time.Unix(0, c.lastActive.Load()))
	var b strings.Builder
	b.Grow(256)
	f := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	i := func(k string, v int64) { f(k, strconv.FormatInt(v, 10)) }
	i("id", c.id)
	f("addr", c.raddr)
	f("laddr", c.laddr)
	i("fd", -1)
	f("name", name)
	i("age", int64(now.Sub(c.created)/time.Second))
	i("idle", int64(idle/time.Second))
	flags := ""
	if c.ps.total() > 0 {
		flags += "P"
	}
	flags += c.stateFlags()
	if flags == "" {
		flags = "N"
	}
	f("flags", flags)
	i("db", int64(c.db.Load()))
	sub, psub, ssub := c.pubsubCounts()
	i("sub", sub)
	i("psub", psub)
	i("ssub", ssub)
	i("multi", int64(c.tx.count.Load()))
	i("qbuf", 0)
	i("qbuf-free", 0)
	i("argv-mem", 0)
	i("multi-mem", c.tx.mem.Load())
	i("rbs", c.rbs.Load())
	i("rbp", 0)
	i("obl", 0)
	i("oll", 0)
	i("omem", 0)
	i("tot-mem", c.rbs.Load())
	f("events", "r")
	f("cmd", cmd)
	f("user", c.userName())
	i("redir", -1)
	i("resp", int64(c.proto.Load()))
	return b.String()
}

// sortedConns returns the connections in the order of their ids.
func (s *Server) sortedConns() []*conn {
	s.mu.Lock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	return out
}

func cmdClientKill(c *conn, args [][]byte) {
	if len(args) == 3 {
		// Old form: CLIENT KILL addr:port.
		for _, o := range c.s.sortedConns() {
			if o.raddr == string(args[2]) {
				c.w.WriteOK()
				c.killConn(o)
				return
			}
		}
		c.replyError("ERR No such client")
		return
	}
	var (
		id                int64
		addr, laddr, user string
		typ               string
		skipMe            = true
	)
	for j := 2; j < len(args); j += 2 {
		if j+1 >= len(args) {
			c.replyError("ERR syntax error")
			return
		}
		v := args[j+1]
		switch strings.ToLower(string(args[j])) {
		case "id":
			n, ok := resp.ParseInt(v)
			if !ok || n <= 0 {
				c.replyError("ERR client-id should be greater than 0")
				return
			}
			id = n
		case "type":
			typ = strings.ToLower(string(v))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.replyError("ERR Unknown client type '" + string(v) + "'")
				return
			}
		case "addr":
			addr = string(v)
		case "laddr":
			laddr = string(v)
		case "user":
			user = string(v)
		case "skipme":
			switch strings.ToLower(string(v)) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.replyError("ERR syntax error")
				return
			}
		default:
			c.replyError("ERR syntax error")
			return
		}
	}
	var killed []*conn
	for _, o := range c.s.sortedConns() {
		switch {
		case id != 0 && o.id != id,
			addr != "" && o.raddr != addr,
			laddr != "" && o.laddr != laddr,
			user != "" && user != o.userName(),
			typ != "" && typ != o.clientType(),
			skipMe && o == c:
			continue
		}
		killed = append(killed, o)
	}
	c.w.WriteInt(int64(len(killed)))
	for _, o := range killed {
		c.killConn(o)
	}
}

// killConn closes o after the current reply; killing oneself closes after
// this reply is flushed, as Redis's CLOSE_AFTER_REPLY.
func (c *conn) killConn(o *conn) {
	if o == c {
		c.closeAfter = true
		return
	}
	o.kill()
}

func cmdClientHelp(c *conn, args [][]byte) {
	lines := []string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are: ID, TYPE, ADDR, LADDR, USER, SKIPME.",
		"LIST [options ...]",
		"    Return information about client connections. Options: TYPE, ID.",
		"GETNAME",
		"    Return the name of the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"HELP",
		"    Print this help.",
	}
	c.writeLines(lines)
}

// writeLines answers a HELP subcommand: one simple string per line.
func (c *conn) writeLines(lines []string) {
	c.w.WriteArray(len(lines))
	for _, l := range lines {
		c.w.WriteSimple(l)
	}
}
