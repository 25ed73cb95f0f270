package command

// redoubtFlags returns Redoubt's own flags for s: FlagDangerous on the
// commands the default policy refuses on the wire, FlagConnState on the
// commands that leave state on the connection (so a proxying backend must
// pin one upstream connection to the client).
func redoubtFlags(s *Spec) Flag {
	var f Flag
	if dangerous(s.Name) || (s.Parent != nil && dangerousFamily(s.Parent.Name)) {
		f |= FlagDangerous
	}
	if connState(s.Name) || s.Flags&FlagBlocking != 0 {
		f |= FlagConnState
	}
	return f
}

// dangerousFamily reports containers whose subcommands are all dangerous.
func dangerousFamily(name string) bool {
	switch name {
	case "module", "script", "function":
		return true
	}
	return false
}

func dangerous(name string) bool {
	if dangerousFamily(name) {
		return true
	}
	switch name {
	case "config|set", "config|rewrite", "config|resetstat",
		"save", "bgsave", "bgrewriteaof", "debug", "shutdown",
		"replicaof", "slaveof", "sync", "psync", "replconf",
		"migrate", "monitor", "failover",
		"acl|setuser", "acl|deluser", "acl|save", "acl|load",
		"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro",
		"pfdebug", "pfselftest":
		return true
	}
	return false
}

func connState(name string) bool {
	switch name {
	case "multi", "watch", "subscribe", "psubscribe", "ssubscribe", "select",
		"client|tracking", "client|reply":
		return true
	}
	return false
}
