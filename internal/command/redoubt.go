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

// ownSpecs are Redoubt's own commands, which Redis does not have. They
// are in the table like every other command, so policy, COMMAND and
// dispatch treat them alike; their group is "redoubt".
func ownSpecs() []*Spec {
	return []*Spec{{
		Name: "redoubt", Arity: -2,
		Flags: FlagLoading | FlagStale,
		// No category: a category rule (+@slow, +@connection) on a
		// container carries all its subcommands along, and HOTKEYS and
		// BIGKEYS show key names, for @admin accounts only.
		Group: "redoubt", Since: "0.1.0",
		Summary: "A container for Redoubt's own commands",
		Subcommands: []*Spec{
			{
				Name: "redoubt|stepup", Arity: 3,
				Flags:      FlagNoScript | FlagLoading | FlagStale | FlagFast,
				Categories: CatFast | CatConnection,
				Group:      "redoubt", Since: "0.1.0",
				Summary: "Prove the account's second factor (a TOTP code) for commands that need step-up authentication",
			},
			{
				Name: "redoubt|hotkeys", Arity: 2,
				Flags:      FlagAdmin | FlagLoading | FlagStale,
				Categories: CatSlow | CatAdmin | CatDangerous,
				Group:      "redoubt", Since: "0.1.0",
				Summary: "List the keys sampling found hot (estimated operations per second)",
			},
			{
				Name: "redoubt|bigkeys", Arity: 2,
				Flags:      FlagAdmin | FlagLoading | FlagStale,
				Categories: CatSlow | CatAdmin | CatDangerous,
				Group:      "redoubt", Since: "0.1.0",
				Summary: "List the keys sampling found big (bytes or elements)",
			},
			{
				Name: "redoubt|help", Arity: 2,
				Flags:      FlagLoading | FlagStale,
				Categories: CatSlow | CatConnection,
				Group:      "redoubt", Since: "0.1.0",
				Summary: "Show helpful text about the different subcommands",
			},
		},
	}}
}

// Own reports whether s is one of Redoubt's own commands.
func (s *Spec) Own() bool { return s.Group == "redoubt" }
