package command

import (
	"math/bits"

	"redoubt/internal/glob"
	"redoubt/internal/resp"
)

// Command answers the COMMAND family from the table, in Redis 7.0's wire
// shape: COMMAND, COUNT, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, LIST and
// HELP. args[0] is "COMMAND" as the client spelled it. avail reports
// whether the backend can run a spec; unavailable specs are treated as
// unknown everywhere. A nil avail means every spec is available.
//
// Lists of all commands come sorted by name (Redis uses its hash table's
// order, which changes from process to process), and subcommands likewise.
// COMMAND DOCS carries Redoubt's own summaries, since and group, and
// subcommands; it has no argument descriptions.
func (t *Table) Command(w *resp.Writer, args [][]byte, avail func(*Spec) bool) {
	if avail == nil {
		avail = func(*Spec) bool { return true }
	}
	if len(args) == 0 {
		args = [][]byte{[]byte("COMMAND")}
	}
	spec, msg := t.Resolve(args, avail)
	if spec == nil {
		w.WriteError(msg)
		return
	}
	r := replier{t: t, w: w, avail: avail}
	switch spec.Name {
	case "command":
		r.infoAll()
	case "command|count":
		w.WriteInt(int64(len(r.topLevel())))
	case "command|info":
		r.info(args[2:])
	case "command|docs":
		r.docs(args[2:])
	case "command|getkeys":
		r.getKeys(args[2:], false)
	case "command|getkeysandflags":
		r.getKeys(args[2:], true)
	case "command|list":
		r.list(args[2:])
	case "command|help":
		r.help(args[0])
	default: // args[0] was not COMMAND
		w.WriteError(UnknownCommand(args))
	}
}

type replier struct {
	t     *Table
	w     *resp.Writer
	avail func(*Spec) bool
}

// visible reports whether s (and its container) are available.
func (r *replier) visible(s *Spec) bool {
	return s != nil && r.avail(s) && (s.Parent == nil || r.avail(s.Parent))
}

func (r *replier) topLevel() []*Spec {
	out := make([]*Spec, 0, len(r.t.all))
	for _, s := range r.t.all {
		if r.avail(s) {
			out = append(out, s)
		}
	}
	return out
}

func (r *replier) subs(s *Spec) []*Spec {
	var out []*Spec
	for _, sub := range s.Subcommands {
		if r.avail(sub) {
			out = append(out, sub)
		}
	}
	return out
}

func (r *replier) infoAll() {
	top := r.topLevel()
	r.w.WriteArray(len(top))
	for _, s := range top {
		r.writeInfo(s)
	}
}

// info answers COMMAND INFO [name ...]: one entry per name, null for an
// unknown one, every command when no name is given.
func (r *replier) info(names [][]byte) {
	if len(names) == 0 {
		r.infoAll()
		return
	}
	r.w.WriteArray(len(names))
	for _, n := range names {
		s := r.t.LookupFull(n)
		if !r.visible(s) {
			r.w.WriteNull()
			continue
		}
		r.writeInfo(s)
	}
}

// writeInfo writes one COMMAND INFO entry: name, arity, flags, first key,
// last key, step, ACL categories, tips, key specs, subcommands.
func (r *replier) writeInfo(s *Spec) {
	w := r.w
	w.WriteArray(10)
	w.WriteBulkString(s.Name)
	w.WriteInt(int64(s.Arity))
	shown := s.Flags & shownFlags
	w.WriteSet(popcount(uint64(shown)))
	for i := 0; i < numFlags; i++ {
		if f := Flag(1) << i; shown&f != 0 {
			w.WriteSimple(f.Name())
		}
	}
	w.WriteInt(int64(s.FirstKey))
	w.WriteInt(int64(s.LastKey))
	w.WriteInt(int64(s.Step))
	w.WriteSet(popcount(uint64(s.Categories)))
	for i := 0; i < numCategories; i++ {
		if c := Category(1) << i; s.Categories&c != 0 {
			w.WriteSimple("@" + c.Name())
		}
	}
	w.WriteSet(len(s.Tips))
	for _, tip := range s.Tips {
		w.WriteBulkString(tip)
	}
	w.WriteSet(len(s.KeySpecs))
	for i := range s.KeySpecs {
		writeKeySpec(w, &s.KeySpecs[i])
	}
	if len(s.Subcommands) == 0 {
		w.WriteSet(0)
		return
	}
	subs := r.subs(s)
	w.WriteArray(len(subs))
	for _, sub := range subs {
		r.writeInfo(sub)
	}
}

func writeKeySpec(w *resp.Writer, ks *KeySpec) {
	n := 3
	if ks.Notes != "" {
		n++
	}
	w.WriteMap(n)
	if ks.Notes != "" {
		w.WriteBulkString("notes")
		w.WriteBulkString(ks.Notes)
	}
	w.WriteBulkString("flags")
	writeKeyFlags(w, ks.KeyFlags)

	w.WriteBulkString("begin_search")
	w.WriteMap(2)
	w.WriteBulkString("type")
	switch {
	case ks.BeginUnknown:
		w.WriteBulkString("unknown")
		w.WriteBulkString("spec")
		w.WriteMap(0)
	case ks.BeginKeyword != "":
		w.WriteBulkString("keyword")
		w.WriteBulkString("spec")
		w.WriteMap(2)
		w.WriteBulkString("keyword")
		w.WriteBulkString(ks.BeginKeyword)
		w.WriteBulkString("startfrom")
		w.WriteInt(int64(ks.KeywordFrom))
	default:
		w.WriteBulkString("index")
		w.WriteBulkString("spec")
		w.WriteMap(1)
		w.WriteBulkString("index")
		w.WriteInt(int64(ks.BeginIndex))
	}

	w.WriteBulkString("find_keys")
	w.WriteMap(2)
	w.WriteBulkString("type")
	switch {
	case ks.FindUnknown:
		w.WriteBulkString("unknown")
		w.WriteBulkString("spec")
		w.WriteMap(0)
	case ks.Keynum:
		w.WriteBulkString("keynum")
		w.WriteBulkString("spec")
		w.WriteMap(3)
		w.WriteBulkString("keynumidx")
		w.WriteInt(int64(ks.KeynumIdx))
		w.WriteBulkString("firstkey")
		w.WriteInt(int64(ks.FirstKey))
		w.WriteBulkString("keystep")
		w.WriteInt(int64(ks.KeyStep))
	default:
		w.WriteBulkString("range")
		w.WriteBulkString("spec")
		w.WriteMap(3)
		w.WriteBulkString("lastkey")
		w.WriteInt(int64(ks.RangeLast))
		w.WriteBulkString("keystep")
		w.WriteInt(int64(ks.RangeStep))
		w.WriteBulkString("limit")
		w.WriteInt(int64(ks.RangeLimit))
	}
}

func writeKeyFlags(w *resp.Writer, f KeyFlag) {
	w.WriteSet(popcount(uint64(f)))
	for i := 0; i < numKeyFlags; i++ {
		if b := KeyFlag(1) << i; f&b != 0 {
			w.WriteSimple(b.Name())
		}
	}
}

// docs answers COMMAND DOCS [name ...]: a map from name to documentation,
// for every command when no name is given; unknown names are left out.
func (r *replier) docs(names [][]byte) {
	if len(names) == 0 {
		top := r.topLevel()
		r.w.WriteMap(len(top))
		for _, s := range top {
			r.w.WriteBulkString(s.Name)
			r.writeDocs(s)
		}
		return
	}
	found := make([]*Spec, 0, len(names))
	for _, n := range names {
		if s := r.t.LookupFull(n); r.visible(s) {
			found = append(found, s)
		}
	}
	r.w.WriteMap(len(found))
	for _, s := range found {
		r.w.WriteBulkString(s.Name)
		r.writeDocs(s)
	}
}

func (r *replier) writeDocs(s *Spec) {
	w := r.w
	n := 1 // group is always present
	if s.Summary != "" {
		n++
	}
	if s.Since != "" {
		n++
	}
	subs := r.subs(s)
	if len(s.Subcommands) > 0 {
		n++
	}
	w.WriteMap(n)
	if s.Summary != "" {
		w.WriteBulkString("summary")
		w.WriteBulkString(s.Summary)
	}
	if s.Since != "" {
		w.WriteBulkString("since")
		w.WriteBulkString(s.Since)
	}
	w.WriteBulkString("group")
	w.WriteBulkString(s.Group)
	if len(s.Subcommands) > 0 {
		w.WriteBulkString("subcommands")
		w.WriteMap(len(subs))
		for _, sub := range subs {
			w.WriteBulkString(sub.Name)
			r.writeDocs(sub)
		}
	}
}

// getKeys answers COMMAND GETKEYS and GETKEYSANDFLAGS for the command line
// in argv.
func (r *replier) getKeys(argv [][]byte, withFlags bool) {
	s := r.t.Lookup(argv[0])
	if s != nil && len(argv) > 1 && len(s.Subcommands) > 0 {
		s = r.t.LookupSub(s, argv[1])
	}
	if !r.visible(s) {
		r.w.WriteError(ErrInvalidCommand.Error())
		return
	}
	refs, err := s.KeysAndFlags(argv)
	if err != nil {
		r.w.WriteError(err.Error())
		return
	}
	r.w.WriteArray(len(refs))
	for _, k := range refs {
		if !withFlags {
			r.w.WriteBulk(argv[k.Pos])
			continue
		}
		r.w.WriteArray(2)
		r.w.WriteBulk(argv[k.Pos])
		writeKeyFlags(r.w, k.Flags)
	}
}

// errSyntax is Redis's shared syntax error.
const errSyntax = "ERR syntax error"

// list answers COMMAND LIST [FILTERBY MODULE name|ACLCAT cat|PATTERN pat]:
// the full names of commands and subcommands.
func (r *replier) list(opts [][]byte) {
	filter := func(*Spec) bool { return true }
	for i := 0; i < len(opts); i++ {
		more := len(opts) - 1 - i
		if !cstrEqualFold(opts[i], "filterby") || more != 2 {
			r.w.WriteError(errSyntax)
			return
		}
		arg := opts[i+2]
		switch {
		case cstrEqualFold(opts[i+1], "module"):
			// Redoubt loads no modules: no command belongs to one.
			filter = func(*Spec) bool { return false }
		case cstrEqualFold(opts[i+1], "aclcat"):
			cat, _ := CategoryByName(cString(arg, len(arg)))
			filter = func(s *Spec) bool { return cat != 0 && s.Categories&cat != 0 }
		case cstrEqualFold(opts[i+1], "pattern"):
			filter = func(s *Spec) bool { return glob.Match(arg, []byte(s.Name), true) }
		default:
			r.w.WriteError(errSyntax)
			return
		}
		i += 2
	}
	var names []string
	for _, s := range r.topLevel() {
		if filter(s) {
			names = append(names, s.Name)
		}
		for _, sub := range r.subs(s) {
			if filter(sub) {
				names = append(names, sub.Name)
			}
		}
	}
	r.w.WriteArray(len(names))
	for _, n := range names {
		r.w.WriteBulkString(n)
	}
}

func (r *replier) help(name []byte) {
	lines := [...]string{
		"(no subcommand)",
		"    Return details about all Redis commands.",
		"COUNT",
		"    Return the total number of commands in this Redis server.",
		"LIST",
		"    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>",
		"    Return the keys and the access flags from a full Redis command.",
		"HELP",
		"    Prints this help.",
	}
	r.w.WriteArray(len(lines) + 1)
	r.w.WriteSimple(upperName(name) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		r.w.WriteSimple(l)
	}
}

func popcount(x uint64) int { return bits.OnesCount64(x) }

// upperName is a command name as Redis echoes it in errors and help:
// up to the first NUL, ASCII letters in upper case (C's toupper).
func upperName(b []byte) string {
	s := []byte(cString(b, len(b)))
	for i, c := range s {
		if 'a' <= c && c <= 'z' {
			s[i] = c - ('a' - 'A')
		}
	}
	return string(s)
}
