package acl

import (
	"redoubt/internal/command"
	"redoubt/internal/glob"
)

// Check decides whether u may run the command line args, whose spec is
// spec (for a subcommand, the subcommand's spec; args[0] is the command
// name). It follows Redis 7.0's ACLCheckAllUserCommandPerm: the command,
// then each key the command's key specs find in args, then the Pub/Sub
// channels of PUBLISH, SPUBLISH, SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE are
// checked against the root selector and then against each "(…)" selector;
// one selector allowing all three allows the command. When all refuse, the
// denial reported is Redis's: the highest reason (channel over key over
// command) among the selectors, and among equal reasons the latest
// argument.
//
// Like Redis, Check expects args whose length fits spec's arity (as
// command.Table.Resolve ensures); a line that does not fit is denied with
// ReasonCommand. Check does not allocate when it allows a command to a
// user with allkeys, or a command whose keys are found by plain key
// specs (GET, MSET, COPY …) or is SET.
func (u *User) Check(spec *command.Spec, args [][]byte) Denial {
	if len(args) == 0 || !spec.ArityOK(len(args)) {
		return Denial{Reason: ReasonCommand, Object: spec.Name}
	}
	var kc keyCache
	relevant, last := ReasonCommand, 0
	for _, s := range u.sels {
		r, pos := s.check(spec, args, &kc)
		if r == ReasonNone {
			return Denial{}
		}
		if r > relevant || (r == relevant && pos > last) {
			relevant, last = r, pos
		}
	}
	d := Denial{Reason: relevant, Pos: last}
	if relevant == ReasonCommand {
		d.Object = spec.Name
	} else {
		d.Object = string(args[last])
	}
	return d
}

// Error returns the error reply Redis 7.0 gives to a denied command,
// without the leading '-', or "" when d allows. The key and channel
// variants do not name the key or channel (Redis 7.0 does not either).
// Redis answers a refused EXEC with "EXECABORT Transaction discarded
// because of: " followed by this text, as it does for any refused EXEC.
func (d Denial) Error(spec *command.Spec, args [][]byte) string {
	switch d.Reason {
	case ReasonNone:
		return ""
	case ReasonKey:
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	case ReasonChannel:
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
	return "NOPERM this user has no permissions to run the '" + spec.Name + "' command"
}

// DryRun returns the text ACL DRYRUN replies with (a bulk string) for a
// denied command, or "" when d allows (ACL DRYRUN then replies +OK).
func (d Denial) DryRun(spec *command.Spec, args [][]byte) string {
	switch d.Reason {
	case ReasonNone:
		return ""
	case ReasonKey:
		return "This user has no permissions to access the '" + cstr(args, d.Pos) + "' key"
	case ReasonChannel:
		return "This user has no permissions to access the '" + cstr(args, d.Pos) + "' channel"
	}
	return "This user has no permissions to run the '" + spec.Name + "' command"
}

// cstr is args[i] as C's "%s" prints it: up to its first NUL.
func cstr(args [][]byte, i int) string {
	if i < 0 || i >= len(args) {
		return ""
	}
	return string(cut(args[i]))
}

// check is Redis's ACLSelectorCheckCmd: the reason a selector refuses the
// command and the argument index of the refused key or channel.
func (s *selector) check(spec *command.Spec, args [][]byte, kc *keyCache) (Reason, int) {
	if !s.allCommands && spec.Flags&command.FlagNoAuth == 0 && !s.hasCmd(spec.ID) &&
		!s.firstArgOK(spec, args) {
		return ReasonCommand, 0
	}
	if !s.allKeys && spec.HasKeys() {
		if pos, ok := s.checkKeys(spec, args, kc); !ok {
			return ReasonKey, pos
		}
	}
	if !s.allChannels {
		if pos, ok := s.checkChannels(spec, args); !ok {
			return ReasonChannel, pos
		}
	}
	return ReasonNone, 0
}

// firstArgOK reports whether a +cmd|arg rule allows this first argument.
func (s *selector) firstArgOK(spec *command.Spec, args [][]byte) bool {
	allowed := s.firstArgs[spec.ID]
	if len(allowed) == 0 || len(args) < 2 {
		return false
	}
	idx := 1
	if spec.Parent != nil {
		idx = 2
	}
	if idx >= len(args) {
		return false
	}
	arg := cut(args[idx])
	for _, a := range allowed {
		if asciiEqualFoldBytes(arg, a) {
			return true
		}
	}
	return false
}

// checkKey is Redis's ACLSelectorCheckKey for a selector without allkeys:
// the access flag needs a read pattern, insert, delete and update need a
// write pattern (both when both are present), and a key the command
// describes with neither matches any pattern.
func (s *selector) checkKey(key []byte, flags command.KeyFlag) bool {
	var need perm
	if flags&command.KeyAccess != 0 {
		need |= permRead
	}
	if flags&(command.KeyInsert|command.KeyDelete|command.KeyUpdate) != 0 {
		need |= permWrite
	}
	for i := range s.keys {
		p := &s.keys[i]
		if p.perm&need == need && glob.Match(p.pattern, key, false) {
			return true
		}
	}
	return false
}

// checkKeys checks every key of the command line, in the order Redis finds
// them, and returns the position of the first refused key.
func (s *selector) checkKeys(spec *command.Spec, args [][]byte, kc *keyCache) (int, bool) {
	if !kc.done {
		kc.find(spec, args)
	}
	if kc.refs == nil {
		for _, r := range kc.ranges[:kc.n] {
			for i := r.first; i <= r.last; i += r.step {
				if !s.checkKey(args[i], r.flags) {
					return i, false
				}
			}
		}
		return 0, true
	}
	for _, r := range kc.refs {
		if !s.checkKey(args[r.Pos], r.Flags) {
			return r.Pos, false
		}
	}
	return 0, true
}

// checkChannels checks the channels of the commands Redis 7.0 checks
// channels for. PSUBSCRIBE's arguments are patterns: each must equal one
// of the selector's channel patterns literally.
func (s *selector) checkChannels(spec *command.Spec, args [][]byte) (int, bool) {
	start, stop, literal := 1, len(args), false
	switch spec.Name {
	case "publish", "spublish":
		stop = min(2, len(args))
	case "subscribe", "ssubscribe":
	case "psubscribe":
		literal = true
	default:
		return 0, true
	}
	for i := start; i < stop; i++ {
		if !s.channelOK(args[i], literal) {
			return i, false
		}
	}
	return 0, true
}

func (s *selector) channelOK(ch []byte, literal bool) bool {
	if literal {
		ch = cut(ch) // Redis compares with strcmp
	}
	for _, p := range s.channels {
		if literal {
			if string(p) == string(ch) {
				return true
			}
		} else if glob.Match(p, ch, false) {
			return true
		}
	}
	return false
}

// maxRanges is how many key specs the allocation-free key finder handles.
const maxRanges = 4

// keyRange is the keys one key spec finds: args[first..last] by step.
type keyRange struct {
	first, last, step int
	flags             command.KeyFlag
}

// keyCache holds the keys of one command line between selectors, as
// Redis's aclKeyResultCache does. Plain key specs (a begin index and a
// range, as GET, MSET and COPY have) and SET are resolved into ranges
// without allocating; everything else asks spec.KeysAndFlags.
type keyCache struct {
	done   bool
	n      int
	ranges [maxRanges]keyRange
	refs   []command.KeyRef // non-nil when KeysAndFlags was used
}

func (kc *keyCache) find(spec *command.Spec, args [][]byte) {
	kc.done = true
	if spec.Name == "set" && spec.Parent == nil {
		// SET's key flags depend on GET (Redis's setGetKeys).
		f := command.KeyOW | command.KeyUpdate
		for _, a := range args[3:] {
			if asciiEqualFoldBytes(cut(a), "get") {
				f = command.KeyRW | command.KeyAccess | command.KeyUpdate
				break
			}
		}
		kc.ranges[0] = keyRange{first: 1, last: 1, step: 1, flags: f}
		kc.n = 1
		return
	}
	if kc.plainRanges(spec, len(args)) {
		return
	}
	kc.n = 0
	refs, err := spec.KeysAndFlags(args)
	if err != nil || refs == nil {
		refs = []command.KeyRef{} // no keys: nothing to check
	}
	kc.refs = refs
}

// plainRanges resolves key specs that need no argument parsing, as
// Redis's getKeysUsingKeySpecs does; it reports false (and the caller asks
// KeysAndFlags) for any other spec or when a range does not fit args.
func (kc *keyCache) plainRanges(spec *command.Spec, argc int) bool {
	var all command.KeyFlag
	n := 0
	for i := range spec.KeySpecs {
		ks := &spec.KeySpecs[i]
		all |= ks.KeyFlags
		if ks.KeyFlags&command.KeyNotKey != 0 {
			continue
		}
		if ks.BeginUnknown || ks.BeginKeyword != "" || ks.BeginIndex <= 0 ||
			ks.FindUnknown || ks.Keynum || ks.KeyFlags&(command.KeyIncomplete|command.KeyVariableFlags) != 0 ||
			n == maxRanges {
			return false
		}
		first, step := ks.BeginIndex, ks.RangeStep
		var last int
		switch {
		case ks.RangeLast >= 0:
			last = first + ks.RangeLast
		case ks.RangeLimit <= 0:
			last = argc + ks.RangeLast
		default:
			last = first + ((argc-first)/ks.RangeLimit + ks.RangeLast)
		}
		if last >= argc || last < first || first >= argc || step <= 0 {
			return false
		}
		kc.ranges[n] = keyRange{first: first, last: last, step: step, flags: ks.KeyFlags}
		n++
	}
	if n == 0 || all&command.KeyVariableFlags != 0 {
		return false
	}
	kc.n = n
	return true
}
