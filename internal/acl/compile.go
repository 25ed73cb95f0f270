package acl

import "redoubt/internal/command"

// CompileOptions changes how rules are compiled.
type CompileOptions struct {
	// AllowPlain accepts >password and <password rules, keeping the plain
	// text in User.Passwords. Only tests set it: Redoubt never stores a
	// plain-text password.
	AllowPlain bool
}

// Compile applies rules in order to a fresh user named name, as Redis 7.0's
// ACL SETUSER does for a user that does not exist yet: the user starts off,
// with no password, no commands, no keys and no channels (Redis 7.0's
// acl-pubsub-default is resetchannels). A selector may be given as one rule
// "(~k* +get)" or spread over several rules, as ACL SETUSER allows.
//
// Besides Redis's rules, Compile knows Redoubt's roles (see the Role*
// constants). Passwords are argon2id hashes only: #<argon2id PHC string>
// adds one and !<same> removes it; >plain, <plain and Redis's SHA-256
// #<hex> are refused. A refused rule gives a *RuleError.
func Compile(name string, rules []string, tab *command.Table) (*User, error) {
	return CompileOptions{}.Compile(name, rules, tab)
}

// Compile is the package-level Compile with these options.
func (o CompileOptions) Compile(name string, rules []string, tab *command.Table) (*User, error) {
	if name == "" || hasSpaces(name) {
		return nil, ErrUsername
	}
	toks, rerr := mergeSelectors(rules)
	if rerr != nil {
		return nil, rerr
	}
	c := &compiler{tab: tab, opts: o}
	u := &User{Name: name, tab: tab, sels: []*selector{newSelector(tab)}}
	for _, t := range toks {
		if e := c.applyUser(u, t.text); e != "" {
			return nil, &RuleError{Index: t.idx, Rule: t.text, Msg: string(e)}
		}
	}
	return u, nil
}

type compiler struct {
	tab  *command.Table
	opts CompileOptions
}

// Redoubt's roles: each is a shorthand for a fixed list of Redis rules that
// sets the keys, channels and commands of the selector it appears in (the
// user's root selector, or a "(…)" selector). Rules after a role refine it.
const (
	// RoleAdmin is every command on every key and channel:
	// ~* &* +@all.
	RoleAdmin = "role:admin"
	// RoleReadWrite is every command but the administrative and dangerous
	// ones: ~* &* +@all -@admin -@dangerous.
	RoleReadWrite = "role:read-write"
	// RoleReadOnly reads every key and may subscribe to every channel, and
	// cannot write any key or change the server:
	// ~* &* -@all +@read +@connection +@transaction +subscribe +psubscribe
	// +ssubscribe +unsubscribe +punsubscribe +sunsubscribe -@write -@admin
	// -@dangerous -@scripting. Every command it allows has no write flag
	// and no key it may write (PFCOUNT, which may rewrite its cached
	// cardinality, is the one read command Redis flags as touching a key
	// for writing; it stays, as in Redis's own @read). Publishing is not
	// allowed.
	RoleReadOnly = "role:read-only"
)

// roles returns the rules a role stands for.
func roles(op string) ([]string, bool) {
	switch {
	case asciiEqualFold(op, RoleAdmin):
		return []string{"~*", "&*", "+@all"}, true
	case asciiEqualFold(op, RoleReadWrite):
		return []string{"~*", "&*", "+@all", "-@admin", "-@dangerous"}, true
	case asciiEqualFold(op, RoleReadOnly):
		return []string{"~*", "&*", "-@all", "+@read", "+@connection", "+@transaction",
			"+subscribe", "+psubscribe", "+ssubscribe", "+unsubscribe", "+punsubscribe", "+sunsubscribe",
			"-@write", "-@admin", "-@dangerous", "-@scripting"}, true
	}
	return nil, false
}
