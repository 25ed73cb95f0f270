package engine

// keyCommands are the generic commands that work on keys of any type.
func keyCommands() map[string]Handler {
	return map[string]Handler{
		"del":    cmdDel,
		"exists": cmdExists,
	}
}

func cmdDel(c *Client, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if c.db.lookup(c.e, k) != nil && c.db.delete(c.e, k) {
			n++
		}
	}
	c.W.WriteInt(n)
}

func cmdExists(c *Client, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if c.db.lookupRead(c.e, k) != nil {
			n++
		}
	}
	c.W.WriteInt(n)
}
