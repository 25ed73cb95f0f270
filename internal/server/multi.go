package server

// txCommands are MULTI, EXEC, DISCARD, WATCH and UNWATCH. (Stub; the
// transactions work fills it.)
func txCommands() map[string]connHandler { return map[string]connHandler{} }
