package acl

import (
	"strings"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// SplitRules splits a rule list written as one string, as a redis.conf
// "user" line holds it after the user name: arguments separated by white
// space, with Redis's "double" and 'single' quoting, and a selector spread
// over several arguments ("(~app:* +get)") joined back into one rule with
// single spaces. Errors are *RuleError.
func SplitRules(s string) ([]string, error) {
	args, _, err := resp.SplitArgs([]byte(s), nil, nil)
	if err != nil {
		return nil, &RuleError{Index: -1, Rule: s, Msg: "unbalanced quotes in rule list"}
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	toks, rerr := mergeSelectors(parts)
	if rerr != nil {
		return nil, rerr
	}
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out, nil
}

// token is a rule after selector merging, with the index of its first part.
type token struct {
	idx  int
	text string
}

// mergeSelectors joins a selector given as several arguments into one rule,
// as Redis's ACLMergeSelectorArguments does: an argument that starts with
// '(' and does not end with ')' opens a selector, every following argument
// is appended after a space until one ends with ')'. As in Redis, a second
// opening argument inside an open selector starts it afresh.
func mergeSelectors(rules []string) ([]token, *RuleError) {
	out := make([]token, 0, len(rules))
	open := -1
	var sel strings.Builder
	for j, op := range rules {
		if len(op) > 0 && op[0] == '(' && op[len(op)-1] != ')' {
			sel.Reset()
			sel.WriteString(op)
			open = j
			continue
		}
		if open != -1 {
			sel.WriteByte(' ')
			sel.WriteString(op)
			if len(op) > 0 && op[len(op)-1] == ')' {
				out = append(out, token{open, sel.String()})
				open = -1
			}
			continue
		}
		out = append(out, token{j, op})
	}
	if open != -1 {
		return nil, &RuleError{Index: open, Rule: rules[open], Msg: msgUnmatched, paren: true}
	}
	return out, nil
}

// ruleErr is a failed rule before its index is known.
type ruleErr string

// applyUser applies one rule to u, as Redis's ACLSetUser does, with
// Redoubt's password rules and roles.
func (c *compiler) applyUser(u *User, op string) ruleErr {
	if op == "" {
		return "" // an empty rule is a no-op, as in Redis
	}
	if strings.IndexByte(op, 0) >= 0 {
		return msgNUL
	}
	switch {
	case asciiEqualFold(op, "on"):
		u.Enabled = true
	case asciiEqualFold(op, "off"):
		u.Enabled = false
	case asciiEqualFold(op, "skip-sanitize-payload"):
		u.sanitize = sanitizeSkip
	case asciiEqualFold(op, "sanitize-payload"):
		u.sanitize = sanitizeOn
	case asciiEqualFold(op, "nopass"):
		u.NoPass = true
		u.Hashes, u.Passwords = nil, nil
	case asciiEqualFold(op, "resetpass"):
		u.NoPass = false
		u.Hashes, u.Passwords = nil, nil
	case op[0] == '>' || op[0] == '<':
		return c.plainPassword(u, op)
	case op[0] == '#' || op[0] == '!':
		return hashedPassword(u, op)
	case op[0] == '(' && op[len(op)-1] == ')':
		s := newSelector(c.tab)
		inner, _, err := resp.SplitArgs([]byte(op[1:len(op)-1]), nil, nil)
		if err != nil {
			// Redis adds an empty selector here; a rule that silently
			// grants nothing is more likely a mistake than an intent.
			return msgSyntax
		}
		for _, a := range inner {
			if e := c.applySelector(s, string(a)); e != "" {
				return e
			}
		}
		u.sels = append(u.sels, s)
	case asciiEqualFold(op, "clearselectors"):
		u.sels = u.sels[:1]
	case asciiEqualFold(op, "reset"):
		u.NoPass = false
		u.Hashes, u.Passwords = nil, nil
		u.Enabled = false
		u.sanitize = sanitizeOn
		u.sels = u.sels[:1]
		root := u.sels[0]
		root.allKeys, root.keys = false, nil
		root.allChannels, root.channels = false, nil
		root.setAll(false)
	default:
		return c.applySelector(u.sels[0], op)
	}
	return ""
}

func (c *compiler) plainPassword(u *User, op string) ruleErr {
	if !c.opts.AllowPlain {
		return msgPlain
	}
	pass := op[1:]
	if op[0] == '>' {
		for _, p := range u.Passwords {
			if p == pass {
				u.NoPass = false
				return ""
			}
		}
		u.Passwords = append(u.Passwords, pass)
		u.NoPass = false
		return ""
	}
	for i, p := range u.Passwords {
		if p == pass {
			u.Passwords = append(u.Passwords[:i:i], u.Passwords[i+1:]...)
			return ""
		}
	}
	return msgNoSuchPass
}

// argon2Prefix starts every argon2id PHC string.
const argon2Prefix = "$argon2id$"

func hashedPassword(u *User, op string) ruleErr {
	h := op[1:]
	switch {
	case isSHA256Hex(h):
		return msgSHA256
	case !strings.HasPrefix(h, argon2Prefix):
		return msgBadHash
	}
	if op[0] == '#' {
		for _, x := range u.Hashes {
			if x == h {
				u.NoPass = false
				return ""
			}
		}
		u.Hashes = append(u.Hashes, h)
		u.NoPass = false
		return ""
	}
	for i, x := range u.Hashes {
		if x == h {
			u.Hashes = append(u.Hashes[:i:i], u.Hashes[i+1:]...)
			return ""
		}
	}
	return msgNoSuchPass
}

// isSHA256Hex reports Redis's password hash form: 64 lower-case hex digits.
func isSHA256Hex(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// applySelector applies one rule to a selector, as Redis's ACLSetSelector
// does, plus Redoubt's role shorthands.
func (c *compiler) applySelector(s *selector, op string) ruleErr {
	if strings.IndexByte(op, 0) >= 0 {
		return msgNUL
	}
	if role, ok := roles(op); ok {
		for _, r := range role {
			if e := c.applySelector(s, r); e != "" {
				return e // unreachable: the roles are valid rules
			}
		}
		return ""
	}
	switch {
	case asciiEqualFold(op, "allkeys") || op == "~*":
		s.allKeys, s.keys = true, nil
	case asciiEqualFold(op, "resetkeys"):
		s.allKeys, s.keys = false, nil
	case asciiEqualFold(op, "allchannels") || op == "&*":
		s.allChannels, s.channels = true, nil
	case asciiEqualFold(op, "resetchannels"):
		s.allChannels, s.channels = false, nil
	case asciiEqualFold(op, "allcommands") || asciiEqualFold(op, "+@all"):
		s.setAll(true)
	case asciiEqualFold(op, "nocommands") || asciiEqualFold(op, "-@all"):
		s.setAll(false)
	case op != "" && (op[0] == '~' || op[0] == '%'):
		return keyRule(s, op)
	case op != "" && op[0] == '&':
		if s.allChannels {
			return msgChanAfterAll
		}
		if hasSpaces(op[1:]) {
			return msgSyntax
		}
		s.addChannel(op[1:])
	case len(op) >= 2 && (op[0] == '+' || op[0] == '-') && op[1] == '@':
		cat, ok := categoryByName(op[2:])
		if !ok {
			return msgUnknown
		}
		s.setCategory(c.tab, cat, op[0] == '+')
	case op != "" && op[0] == '+':
		return c.allowCommand(s, op[1:])
	case op != "" && op[0] == '-':
		spec := c.tab.LookupFull([]byte(op[1:]))
		if spec == nil {
			return msgUnknown
		}
		s.changePerm(spec, false)
	default:
		return msgSyntax
	}
	return ""
}

// keyRule is ~pattern, %R~pattern, %W~pattern and %RW~pattern.
func keyRule(s *selector, op string) ruleErr {
	if s.allKeys {
		return msgKeyAfterAll
	}
	p, off := permAll, 1
	if op[0] == '%' {
		p = 0
		for ; off < len(op); off++ {
			c := op[off]
			if (c == 'R' || c == 'r') && p&permRead == 0 {
				p |= permRead
			} else if (c == 'W' || c == 'w') && p&permWrite == 0 {
				p |= permWrite
			} else if c == '~' {
				off++
				break
			} else {
				return msgSyntax
			}
		}
		if p == 0 {
			return msgSyntax
		}
	}
	if hasSpaces(op[off:]) {
		return msgSyntax
	}
	s.addKeyPattern(op[off:], p)
	return ""
}

// allowCommand is +cmd, +cmd|sub and +cmd|first-arg.
func (c *compiler) allowCommand(s *selector, name string) ruleErr {
	bar := strings.LastIndexByte(name, '|')
	if bar < 0 {
		spec := c.tab.LookupFull([]byte(name))
		if spec == nil {
			return msgUnknown
		}
		s.changePerm(spec, true)
		return ""
	}
	base, arg := name[:bar], name[bar+1:]
	spec := c.tab.LookupFull([]byte(base))
	switch {
	case spec == nil:
		return msgUnknown
	case spec.Parent != nil:
		return msgFirstArgSub
	case arg == "":
		return msgSyntax
	case len(spec.Subcommands) > 0:
		sub := c.tab.LookupFull([]byte(name))
		if sub == nil {
			return msgUnknown
		}
		s.changePerm(sub, true)
	default:
		// Redis's deprecated first-arg form ("+select|0"): the command is
		// allowed only with that first argument.
		s.addFirstArg(spec.ID, arg)
	}
	return ""
}

// hasSpaces is Redis's ACLStringHasSpaces: C isspace or a NUL byte.
func hasSpaces(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r', 0:
			return true
		}
	}
	return false
}

// categoryByName finds an ACL category by name, ASCII case-insensitively.
func categoryByName(name string) (command.Category, bool) {
	for c := command.Category(1); c != 0 && c.Name() != ""; c <<= 1 {
		if asciiEqualFold(c.Name(), name) {
			return c, true
		}
	}
	return 0, false
}
