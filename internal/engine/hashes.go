package engine

// hashCommands are the commands of the hash type.
func hashCommands() map[string]Handler {
	return map[string]Handler{}
}
