package acl

import (
	"math"
	"strings"

	"redoubt/internal/command"
)

// Describe renders u as Redis 7.0's ACL LIST shows a user, "user <name>"
// followed by its flags, keys, channels and command rules, with every
// "(…)" selector after the root rules:
//
//	user app on ~app:* resetchannels -@all +get +set (%R~shared:* resetchannels -@all +get)
//
// It never shows a secret: there are no password hashes (Redis shows
// "#<hash>" for each), only "nopass" when the user has it. The command
// rules are computed from the user's permissions the way Redis computes
// them (the categories that fit best, then single commands), so they may
// read differently from the rules the user was compiled from but mean the
// same; the single commands come in command-table order where Redis uses
// its hash-table order. Compiling the text after "user <name>" again
// gives the same permissions. For that, a key pattern "*" given with
// %RW~* (not as ~* or allkeys) is shown as %RW~*, where Redis shows "~*",
// which it then cannot load back when other key patterns follow.
func (u *User) Describe() string {
	var b strings.Builder
	b.WriteString("user ")
	b.WriteString(u.Name)
	if u.Enabled {
		b.WriteString(" on")
	} else {
		b.WriteString(" off")
	}
	if u.NoPass {
		b.WriteString(" nopass")
	}
	switch u.sanitize {
	case sanitizeSkip:
		b.WriteString(" skip-sanitize-payload")
	case sanitizeOn:
		b.WriteString(" sanitize-payload")
	}
	for i, s := range u.sels {
		b.WriteByte(' ')
		if i > 0 {
			b.WriteByte('(')
		}
		b.WriteString(s.describe(u.tab))
		if i > 0 {
			b.WriteByte(')')
		}
	}
	return b.String()
}

// describe is Redis's ACLDescribeSelector: keys, channels, commands.
func (s *selector) describe(tab *command.Table) string {
	var parts []string
	if s.allKeys {
		parts = append(parts, "~*")
	} else {
		for _, k := range s.keys {
			switch k.perm {
			case permRead:
				parts = append(parts, "%R~"+string(k.pattern))
			case permWrite:
				parts = append(parts, "%W~"+string(k.pattern))
			default:
				if string(k.pattern) == "*" {
					// "~*" would read back as allkeys, after which
					// the other patterns are refused.
					parts = append(parts, "%RW~*")
					continue
				}
				parts = append(parts, "~"+string(k.pattern))
			}
		}
	}
	if s.allChannels {
		parts = append(parts, "&*")
	} else {
		parts = append(parts, "resetchannels")
		for _, c := range s.channels {
			parts = append(parts, "&"+string(c))
		}
	}
	parts = append(parts, s.describeCommands(tab)...)
	return strings.Join(parts, " ")
}

// describeCommands is Redis's ACLDescribeSelectorCommandRules: start from
// +@all or -@all, apply greedily the category that best fits what is still
// different, then fix single commands and add the allowed first arguments.
func (s *selector) describeCommands(tab *command.Table) []string {
	fake := newSelector(tab)
	additive := !s.future
	var rules []string
	if s.future {
		rules = append(rules, "+@all")
		fake.setAll(true)
	} else {
		rules = append(rules, "-@all")
	}
	temp := newSelector(tab)
	copy(temp.cmds, s.cmds)

	cats := allCategories()
	applied := make([]bool, len(cats))
	for {
		best := -1
		minDiff, maxSame := math.MaxInt, 0
		for j, cat := range cats {
			if applied[j] {
				continue
			}
			on, off := temp.count(tab, cat)
			diff, same := off, on
			if !additive {
				diff, same = on, off
			}
			if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
				best, minDiff, maxSame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		sign := "+@"
		if !additive {
			sign = "-@"
		}
		rules = append(rules, sign+cats[best].Name())
		fake.setCategory(tab, cats[best], additive)
		temp.setCategory(tab, cats[best], !additive)
		applied[best] = true
	}

	for _, spec := range tab.All() {
		rules = s.describeSingle(fake, spec, rules)
	}
	return rules
}

func (s *selector) describeSingle(fake *selector, spec *command.Spec, rules []string) []string {
	user := s.hasCmd(spec.ID)
	if user != fake.hasCmd(spec.ID) {
		if user {
			rules = append(rules, "+"+spec.Name)
		} else {
			rules = append(rules, "-"+spec.Name)
		}
		fake.changePerm(spec, user)
	}
	for _, sub := range spec.Subcommands {
		rules = s.describeSingle(fake, sub, rules)
	}
	if !user {
		for _, a := range s.firstArgs[spec.ID] {
			rules = append(rules, "+"+spec.Name+"|"+a)
		}
	}
	return rules
}

// count returns how many commands of a category s allows and refuses.
// Redoubt's own commands are not counted, so that the categories chosen
// are the ones Redis 7.0 chooses for the same permissions.
func (s *selector) count(tab *command.Table, cat command.Category) (on, off int) {
	for _, spec := range tab.ByID {
		if spec.Categories&cat == 0 || spec.Own() || (spec.Parent != nil && spec.Parent.Own()) {
			continue
		}
		if s.hasCmd(spec.ID) {
			on++
		} else {
			off++
		}
	}
	return on, off
}

func allCategories() []command.Category {
	var out []command.Category
	for c := command.Category(1); c != 0 && c.Name() != ""; c <<= 1 {
		out = append(out, c)
	}
	return out
}

// Categories returns the names of the ACL categories in the order ACL CAT
// lists them (without the "@").
func Categories(tab *command.Table) []string {
	cats := allCategories()
	out := make([]string, len(cats))
	for i, c := range cats {
		out[i] = c.Name()
	}
	return out
}

// CommandsIn returns the full names of the commands and subcommands in an
// ACL category (named without the "@", case-insensitively), as ACL CAT
// <category> lists them, in command-table order; ok is false for an
// unknown category (ACL CAT then replies "ERR Unknown category '<name>'").
func CommandsIn(tab *command.Table, category string) (names []string, ok bool) {
	cat, ok := categoryByName(category)
	if !ok {
		return nil, false
	}
	names = []string{}
	for _, spec := range tab.ByID {
		if spec.Categories&cat != 0 {
			names = append(names, spec.Name)
		}
	}
	return names, true
}
