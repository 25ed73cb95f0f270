package command

import (
	"bytes"
	"strings"
)

// Resolve finds the spec of a command line (following subcommands) and
// checks its arity, as Redis's processCommand does. avail reports whether
// the backend runs a spec (a container command is available when one of
// its subcommands is); one it does not run is answered as unknown. On
// failure it returns nil and the error reply, byte-identical to Redis's.
func (t *Table) Resolve(args [][]byte, avail func(*Spec) bool) (*Spec, string) {
	base := t.Lookup(args[0])
	if base == nil || !avail(base) {
		return nil, UnknownCommand(args)
	}
	spec := base
	if len(base.Subcommands) > 0 && len(args) > 1 {
		spec = t.LookupSub(base, args[1])
		if spec == nil || !avail(spec) {
			return nil, "ERR unknown subcommand '" + cString(args[1], 128) +
				"'. Try " + upperName(args[0]) + " HELP."
		}
	}
	if !spec.ArityOK(len(args)) {
		return nil, ArityError(spec.Name)
	}
	return spec, ""
}

// ArityError is Redis's reply to a command with the wrong number of
// arguments; name is the spec's full lower-case name ("config|get").
func ArityError(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// UnknownCommand is Redis's reply to a command it does not know: the name
// and the first arguments, each quoted and cut to 128 bytes in all.
func UnknownCommand(args [][]byte) string {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		b.WriteByte('\'')
		b.WriteString(cString(a, 128-b.Len()))
		b.WriteString("' ")
	}
	return "ERR unknown command '" + cString(args[0], 128) + "', with args beginning with: " + b.String()
}

// cString renders b as C's "%.*s" does: up to n bytes, stopping at a NUL.
func cString(b []byte, n int) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if n < 0 {
		n = 0
	}
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
