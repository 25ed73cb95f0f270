package acl

import (
	"bytes"

	"redoubt/internal/command"
)

// perm is what a key pattern grants: %R~ read, %W~ write, ~ both.
type perm uint8

const (
	permRead  perm = 1 << iota // %R~
	permWrite                  // %W~
	permAll   = permRead | permWrite
)

// keyPattern is one key pattern of a selector.
type keyPattern struct {
	pattern []byte
	perm    perm
}

// selector is one set of command, key and channel permissions: the root
// selector of a user or one "(…)" selector. It mirrors Redis's aclSelector.
type selector struct {
	// allCommands is Redis's SELECTOR_FLAG_ALLCOMMANDS: set by +@all, cleared
	// by any rule that removes a command. It only skips the bit test.
	allCommands bool
	// future is Redis's reserved "future commands" bit: set by +@all and
	// cleared only by -@all. ACL LIST starts from +@all when it is set.
	future bool
	cmds   []uint64 // allowed spec IDs
	// firstArgs holds, per top-level spec ID, the first arguments allowed
	// by +cmd|arg rules while the command itself is not allowed.
	firstArgs map[int][]string

	allKeys     bool
	keys        []keyPattern
	allChannels bool
	channels    [][]byte
}

func newSelector(tab *command.Table) *selector {
	return &selector{cmds: make([]uint64, (tab.Len()+63)/64)}
}

// hasCmd reports whether the command with this spec ID is allowed; an ID
// outside the table (a spec from another table) is not.
func (s *selector) hasCmd(id int) bool {
	w := id >> 6
	return w >= 0 && w < len(s.cmds) && s.cmds[w]&(1<<(id&63)) != 0
}

func (s *selector) setCmd(id int, allow bool) {
	if allow {
		s.cmds[id>>6] |= 1 << (id & 63)
	} else {
		s.cmds[id>>6] &^= 1 << (id & 63)
		s.allCommands = false
	}
}

// changePerm allows or blocks a command; a container's subcommands follow
// it (Redis's ACLChangeSelectorPerm). Its allowed first arguments are
// forgotten.
func (s *selector) changePerm(spec *command.Spec, allow bool) {
	s.setCmd(spec.ID, allow)
	delete(s.firstArgs, spec.ID)
	for _, sub := range spec.Subcommands {
		s.setCmd(sub.ID, allow)
	}
}

// setAll is +@all (allow) or -@all.
func (s *selector) setAll(allow bool) {
	var w uint64
	if allow {
		w = ^uint64(0)
	}
	for i := range s.cmds {
		s.cmds[i] = w
	}
	s.allCommands = allow
	s.future = allow
	s.firstArgs = nil
}

// setCategory is +@cat / -@cat: every command in the category is changed
// with changePerm, so a container in the category carries all its
// subcommands along, as in Redis.
func (s *selector) setCategory(tab *command.Table, cat command.Category, allow bool) {
	for _, spec := range tab.ByID {
		if spec.Categories&cat != 0 {
			s.changePerm(spec, allow)
		}
	}
}

func (s *selector) addFirstArg(id int, arg string) {
	for _, a := range s.firstArgs[id] {
		if asciiEqualFold(a, arg) {
			return
		}
	}
	if s.firstArgs == nil {
		s.firstArgs = make(map[int][]string)
	}
	s.firstArgs[id] = append(s.firstArgs[id], arg)
}

func (s *selector) addKeyPattern(pat string, p perm) {
	for i := range s.keys {
		if string(s.keys[i].pattern) == pat {
			s.keys[i].perm |= p
			s.allKeys = false
			return
		}
	}
	s.keys = append(s.keys, keyPattern{pattern: []byte(pat), perm: p})
	s.allKeys = false
}

func (s *selector) addChannel(pat string) {
	for _, c := range s.channels {
		if string(c) == pat {
			s.allChannels = false
			return
		}
	}
	s.channels = append(s.channels, []byte(pat))
	s.allChannels = false
}

// cut returns b up to its first NUL byte, as C string functions see it.
func cut(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// asciiEqualFold compares like C's strcasecmp in the C locale: only ASCII
// letters fold (strings.EqualFold would also fold, say, the Kelvin sign).
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func asciiEqualFoldBytes(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
