package engine

// listCommands are the list commands.
func listCommands() map[string]Handler { return map[string]Handler{} }
