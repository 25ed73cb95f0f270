package engine

// zsetCommands are the sorted-set commands.
func zsetCommands() map[string]Handler { return map[string]Handler{} }
