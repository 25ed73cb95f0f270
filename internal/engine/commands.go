package engine

import (
	"maps"
	"math"
	"strconv"

	"redoubt/internal/resp"
)

// commands returns every command the engine runs, by table name ("get",
// "object|encoding"). Each data type's file contributes its own list; the
// engine indexes them by command ID at start.
func (e *Engine) commands() map[string]Handler {
	all := map[string]Handler{}
	for _, part := range []map[string]Handler{
		connectionCommands(),
		stringCommands(),
		keyCommands(),
		hashCommands(),
		listCommands(),
		setCommands(),
		zsetCommands(),
	} {
		for name := range part {
			if _, dup := all[name]; dup {
				panic("engine: two handlers for " + name)
			}
		}
		maps.Copy(all, part)
	}
	return all
}

// connectionCommands are the commands about the connection that the engine
// answers itself.
func connectionCommands() map[string]Handler {
	return map[string]Handler{
		"ping":   cmdPing,
		"echo":   cmdEcho,
		"select": cmdSelect,
	}
}

func cmdPing(c *Client, args [][]byte) {
	switch len(args) {
	case 1:
		c.W.WriteSimple("PONG")
	case 2:
		c.W.WriteBulk(args[1])
	default:
		c.W.WriteError("ERR wrong number of arguments for 'ping' command")
	}
}

func cmdEcho(c *Client, args [][]byte) { c.W.WriteBulk(args[1]) }

func cmdSelect(c *Client, args [][]byte) {
	n, ok := parseInt(args[1])
	if !ok || n > int64(^uint32(0)>>1) || n < -int64(^uint32(0)>>1)-1 {
		c.W.WriteError("ERR value is not an integer or out of range")
		return
	}
	if n < 0 || n >= int64(len(c.e.dbs)) {
		c.W.WriteError(errDBIndex)
		return
	}
	c.Select(int(n))
	c.W.WriteOK()
}

// parseInt parses a Redis integer argument (string2ll rules).
func parseInt(b []byte) (int64, bool) { return resp.ParseInt(b) }

// parseFloat parses a Redis float argument as strtold does for Redis: no
// surrounding spaces, no empty string, "inf" and "-inf" accepted, NaN
// refused.
func parseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || isSpaceByte(b[0]) || isSpaceByte(b[len(b)-1]) {
		return 0, false
	}
	for _, ch := range b {
		if ch == '_' { // strconv accepts digit separators; strtold does not
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
