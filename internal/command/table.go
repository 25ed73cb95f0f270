package command

import "sort"

//go:generate go run ./gen -addr 127.0.0.1:6379 -o table_gen.go

// The generator reads COMMAND INFO and COMMAND DOCS from a running
// redis-server 7.0 (start one on any port and pass it with -addr); from the
// module root the same run is
//
//	go run ./internal/command/gen -addr 127.0.0.1:PORT -o internal/command/table_gen.go

// maxNameLen is the longest command or subcommand name Lookup and
// LookupSub accept; longer names are unknown. Redis's longest is 29 bytes.
const maxNameLen = 32

// Table is the command table: every command and subcommand once, built by
// New. A Table is read-only after New and safe for concurrent use.
type Table struct {
	// ByID holds every spec, top-level commands and subcommands, at the
	// index given by its ID.
	ByID []*Spec

	top  map[string]*Spec // top-level commands by lower-case name
	full map[string]*Spec // subcommands by "parent|sub"
	all  []*Spec          // top-level commands sorted by name
}

// New builds a table from the generated specs, adds Redoubt's own flags,
// and numbers every command and subcommand.
func New() *Table {
	list := append(specs(), ownSpecs()...)
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	t := &Table{
		top:  make(map[string]*Spec, len(list)),
		full: make(map[string]*Spec),
		all:  list,
	}
	for _, s := range list {
		t.add(s, nil)
		subs := s.Subcommands
		sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
		for _, sub := range subs {
			t.add(sub, s)
		}
	}
	return t
}

func (t *Table) add(s, parent *Spec) {
	s.Parent = parent
	s.ID = len(t.ByID)
	t.ByID = append(t.ByID, s)
	for i := range s.KeySpecs {
		ks := &s.KeySpecs[i]
		ks.KeyFlags = 0
		for _, name := range ks.Flags {
			f, _ := KeyFlagByName(name)
			ks.KeyFlags |= f
		}
	}
	s.getkeys = getkeysFor(s.Name)
	s.Flags |= redoubtFlags(s)
	if parent == nil {
		t.top[s.Name] = s
	} else {
		t.full[s.Name] = s
	}
}

// Lookup returns the top-level command named name (case-insensitive), or
// nil. It does not allocate.
func (t *Table) Lookup(name []byte) *Spec {
	var buf [maxNameLen]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		buf[i] = lower(c)
	}
	return t.top[string(buf[:len(name)])]
}

// LookupSub returns the subcommand sub (case-insensitive) of parent, or
// nil when parent has no such subcommand. It does not allocate.
func (t *Table) LookupSub(parent *Spec, sub []byte) *Spec {
	if parent == nil || len(parent.Subcommands) == 0 {
		return nil
	}
	var buf [2*maxNameLen + 1]byte
	n := copy(buf[:], parent.Name)
	if n != len(parent.Name) || n+1+len(sub) > len(buf) {
		return nil
	}
	buf[n] = '|'
	n++
	for _, c := range sub {
		buf[n] = lower(c)
		n++
	}
	return t.full[string(buf[:n])]
}

// LookupFull returns the command or subcommand with the full name name
// ("get", "config|get"; case-insensitive), as COMMAND INFO and ACL rules
// name them, or nil. It does not allocate.
func (t *Table) LookupFull(name []byte) *Spec {
	var buf [2*maxNameLen + 1]byte
	if len(name) > len(buf) {
		return nil
	}
	sub := false
	for i, c := range name {
		buf[i] = lower(c)
		sub = sub || c == '|'
	}
	if sub {
		return t.full[string(buf[:len(name)])]
	}
	return t.top[string(buf[:len(name)])]
}

// All returns the top-level commands sorted by name. The slice is a copy;
// the specs are shared and must not be modified.
func (t *Table) All() []*Spec {
	return append([]*Spec(nil), t.all...)
}

// Len returns the number of specs, top-level commands and subcommands
// together: the length of ByID.
func (t *Table) Len() int { return len(t.ByID) }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
