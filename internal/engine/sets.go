package engine

// setCommands are the set commands.
func setCommands() map[string]Handler { return map[string]Handler{} }
