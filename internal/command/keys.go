package command

import "errors"

// Errors of key extraction, worded as Redis 7's COMMAND GETKEYS words them.
var (
	// ErrInvalidCommand: no such command (or it is unavailable).
	ErrInvalidCommand = errors.New("ERR Invalid command specified")
	// ErrNoKeys: the command never takes keys.
	ErrNoKeys = errors.New("ERR The command has no key arguments")
	// ErrKeysArity: the argument count does not fit the command's arity.
	ErrKeysArity = errors.New("ERR Invalid number of arguments specified for command")
	// ErrInvalidKeyArgs: the arguments that locate the keys are malformed.
	ErrInvalidKeyArgs = errors.New("ERR Invalid arguments specified for command")
)

// KeyRef is one key found in a command's arguments.
type KeyRef struct {
	Pos   int     // index into the arguments
	Flags KeyFlag // how the command uses the key (0 when Redis does not say)
}

// Keys returns the indexes of the arguments that are keys; args[0] is the
// command name (for a subcommand spec args[0] and args[1] are the container
// and the subcommand). Keys are found as Redis 7 finds them: from the key
// specs, or by the command's own procedure where Redis uses one. Keys never
// panics, whatever args hold.
func (s *Spec) Keys(args [][]byte) ([]int, error) {
	refs, err := s.KeysAndFlags(args)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(refs))
	for i, r := range refs {
		out[i] = r.Pos
	}
	return out, nil
}

// HasKeys reports whether the command can take keys at all: it has a key
// spec that is not marked not_key, or a procedure that finds its keys.
func (s *Spec) HasKeys() bool {
	if s.getkeys != gkNone {
		return true
	}
	for i := range s.KeySpecs {
		if s.KeySpecs[i].KeyFlags&KeyNotKey == 0 {
			return true
		}
	}
	return false
}

// KeysAndFlags is Keys with the key-spec flags of each key, as COMMAND
// GETKEYSANDFLAGS reports them. The errors are ErrNoKeys, ErrKeysArity and
// ErrInvalidKeyArgs; a command flagged no_mandatory_keys gets an empty
// result instead of ErrInvalidKeyArgs.
func (s *Spec) KeysAndFlags(args [][]byte) ([]KeyRef, error) {
	if !s.HasKeys() {
		return nil, ErrNoKeys
	}
	if !s.ArityOK(len(args)) {
		return nil, ErrKeysArity
	}
	refs := s.findKeys(args)
	if len(refs) == 0 {
		if s.Flags&FlagNoMandatoryKeys != 0 {
			return []KeyRef{}, nil
		}
		return nil, ErrInvalidKeyArgs
	}
	return refs, nil
}

// findKeys follows Redis's getKeysFromCommandWithSpecs: key specs first
// when they are reliable (some spec is a key and none has variable flags),
// the command's procedure when the specs fail or are not reliable.
func (s *Spec) findKeys(args [][]byte) []KeyRef {
	var all KeyFlag
	hasKeySpec := false
	for i := range s.KeySpecs {
		all |= s.KeySpecs[i].KeyFlags
		hasKeySpec = hasKeySpec || s.KeySpecs[i].KeyFlags&KeyNotKey == 0
	}
	if hasKeySpec && all&KeyVariableFlags == 0 {
		if refs, ok := s.keysFromSpecs(args); ok {
			return refs
		}
	}
	return s.getkeys.run(args)
}

// keysFromSpecs is Redis's getKeysUsingKeySpecs; ok is false when a spec
// cannot be applied (unknown type, bad or out-of-range key count).
func (s *Spec) keysFromSpecs(args [][]byte) (refs []KeyRef, ok bool) {
	argc := len(args)
	for k := range s.KeySpecs {
		ks := &s.KeySpecs[k]
		if ks.KeyFlags&KeyNotKey != 0 {
			continue
		}
		first := 0
		switch {
		case ks.BeginUnknown:
			return nil, false
		case ks.BeginKeyword != "":
			first = keywordSearch(args, ks.BeginKeyword, ks.KeywordFrom)
			if first == 0 {
				continue // keyword absent: this spec has no keys
			}
		default:
			first = ks.BeginIndex
		}

		var last, step int
		switch {
		case ks.FindUnknown:
			return nil, false
		case ks.Keynum:
			step = ks.KeyStep
			idx := first + ks.KeynumIdx
			if ks.KeynumIdx >= argc || idx < 0 || idx >= argc {
				return nil, false
			}
			n, ok := parseInt64(args[idx])
			if !ok || n < 0 {
				return nil, false
			}
			first += ks.FirstKey
			// Redis keeps the count in a C int: only its low 32 bits count.
			last = first + int(int32(n)) - 1
		default:
			step = ks.RangeStep
			switch {
			case ks.RangeLast >= 0:
				last = first + ks.RangeLast
			case ks.RangeLimit <= 0:
				last = argc + ks.RangeLast
			default:
				last = first + ((argc-first)/ks.RangeLimit + ks.RangeLast)
			}
		}
		if last >= argc || last < first || first >= argc || first < 0 || step <= 0 {
			return nil, false
		}
		for i := first; i <= last; i += step {
			refs = append(refs, KeyRef{Pos: i, Flags: ks.KeyFlags})
		}
		if ks.KeyFlags&KeyIncomplete != 0 {
			// The spec found keys but may have missed some: Redis then
			// asks the command's own procedure instead.
			return nil, false
		}
	}
	return refs, true
}

// keywordSearch finds keyword among args as a keyword begin-search does:
// from index from (counted from the end when negative) towards the end (or
// the start), never looking at args[0] or, searching forward, at the last
// argument. It returns the index after the keyword, or 0.
func keywordSearch(args [][]byte, keyword string, from int) int {
	argc := len(args)
	start, end := from, argc-1
	if from <= 0 {
		start, end = argc+from, 0
	}
	for i := start; i != end; {
		if i >= argc || i < 1 {
			break
		}
		if cstrEqualFold(args[i], keyword) {
			return i + 1
		}
		if start <= end {
			i++
		} else {
			i--
		}
	}
	return 0
}

// getkeysProc names the command-specific key finders of Redis 7.0 (the
// getkeys_proc of its command table).
type getkeysProc uint8

const (
	gkNone         getkeysProc = iota
	gkSet                      // SET: one key, flags depend on GET
	gkBitfield                 // BITFIELD: one key, flags depend on the operations
	gkSort                     // SORT: the key and an optional STORE destination
	gkSortRO                   // SORT_RO: the key
	gkMigrate                  // MIGRATE: one key or the KEYS list
	gkGeoradius                // GEORADIUS[BYMEMBER]: the key and STORE/STOREDIST
	gkXread                    // XREAD[GROUP]: the streams after STREAMS
	gkNumkeys1                 // numkeys at 1, keys from 2 (ZUNION, LMPOP, …)
	gkNumkeys2                 // numkeys at 2, keys from 3 (EVAL, BLMPOP, …)
	gkNumkeysStore             // destination at 1, numkeys at 2, keys from 3
)

// getkeysFor returns the key finder Redis 7.0 registers for a command.
func getkeysFor(name string) getkeysProc {
	switch name {
	case "set":
		return gkSet
	case "bitfield":
		return gkBitfield
	case "sort":
		return gkSort
	case "sort_ro":
		return gkSortRO
	case "migrate":
		return gkMigrate
	case "georadius", "georadiusbymember":
		return gkGeoradius
	case "xread", "xreadgroup":
		return gkXread
	case "zunion", "zinter", "zdiff", "zintercard", "sintercard", "lmpop", "zmpop":
		return gkNumkeys1
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "blmpop", "bzmpop":
		return gkNumkeys2
	case "zunionstore", "zinterstore", "zdiffstore":
		return gkNumkeysStore
	}
	return gkNone
}

func (p getkeysProc) run(args [][]byte) []KeyRef {
	switch p {
	case gkSet:
		return setKeys(args)
	case gkBitfield:
		return bitfieldKeys(args)
	case gkSort:
		return sortKeys(args)
	case gkSortRO:
		return []KeyRef{{Pos: 1, Flags: KeyRO | KeyAccess}}
	case gkMigrate:
		return migrateKeys(args)
	case gkGeoradius:
		return georadiusKeys(args)
	case gkXread:
		return xreadKeys(args)
	case gkNumkeys1:
		return numkeysKeys(args, 0, 1, 2, 1)
	case gkNumkeys2:
		return numkeysKeys(args, 0, 2, 3, 1)
	case gkNumkeysStore:
		return numkeysKeys(args, 1, 2, 3, 1)
	}
	return nil
}

// numkeysKeys is Redis's genericGetKeys: a count parsed with atoi, then
// that many keys, then the optional destination.
func numkeysKeys(args [][]byte, storeOfs, countOfs, firstOfs, step int) []KeyRef {
	argc := len(args)
	if countOfs >= argc || storeOfs >= argc {
		return nil
	}
	num := catoi(args[countOfs])
	if num < 1 || num > (argc-firstOfs)/step {
		return nil
	}
	refs := make([]KeyRef, 0, num+1)
	for i := 0; i < num; i++ {
		refs = append(refs, KeyRef{Pos: firstOfs + i*step})
	}
	if storeOfs > 0 {
		refs = append(refs, KeyRef{Pos: storeOfs})
	}
	return refs
}

func setKeys(args [][]byte) []KeyRef {
	for i := 3; i < len(args); i++ {
		if cstrEqualFold(args[i], "get") {
			return []KeyRef{{Pos: 1, Flags: KeyRW | KeyAccess | KeyUpdate}}
		}
	}
	return []KeyRef{{Pos: 1, Flags: KeyOW | KeyUpdate}}
}

func bitfieldKeys(args [][]byte) []KeyRef {
	readonly := true
	argc := len(args)
	for i := 2; i < argc; i++ {
		rem := argc - i - 1
		a := args[i]
		switch {
		case cstrEqualFold(a, "get") && rem >= 2:
			i += 2
			continue
		case (cstrEqualFold(a, "set") || cstrEqualFold(a, "incrby")) && rem >= 3:
			readonly = false
		case cstrEqualFold(a, "overflow") && rem >= 1:
			i++
			continue
		default:
			readonly = false // a syntax error: assume it writes
		}
		break
	}
	if readonly {
		return []KeyRef{{Pos: 1, Flags: KeyRO | KeyAccess}}
	}
	return []KeyRef{{Pos: 1, Flags: KeyRW | KeyAccess | KeyUpdate}}
}

// sortKeys reproduces Redis's sortGetKeys, quirks included: options are
// skipped by name (LIMIT takes two arguments, GET and BY one), the last
// STORE wins, and the STORE destination is itself scanned as an option.
func sortKeys(args [][]byte) []KeyRef {
	refs := []KeyRef{{Pos: 1, Flags: KeyRO | KeyAccess}}
	store := -1
	argc := len(args)
	skips := [...]struct {
		name string
		skip int
	}{{"limit", 2}, {"get", 1}, {"by", 1}}
	for i := 2; i < argc; i++ {
		for _, sk := range skips {
			if cstrEqualFold(args[i], sk.name) {
				i += sk.skip
				break
			} else if cstrEqualFold(args[i], "store") && i+1 < argc {
				store = i + 1
				break
			}
		}
	}
	if store >= 0 {
		refs = append(refs, KeyRef{Pos: store, Flags: KeyOW | KeyUpdate})
	}
	return refs
}

func migrateKeys(args [][]byte) []KeyRef {
	argc := len(args)
	first, num := 3, 1
	if argc > 6 {
		skips := [...]struct {
			name string
			skip int
		}{{"copy", 0}, {"replace", 0}, {"auth", 1}, {"auth2", 2}}
	scan:
		for i := 6; i < argc; i++ {
			if cstrEqualFold(args[i], "keys") {
				if len(args[3]) > 0 {
					return nil // KEYS needs an empty key argument
				}
				first, num = i+1, argc-i-1
				break scan
			}
			for _, sk := range skips {
				if cstrEqualFold(args[i], sk.name) {
					i += sk.skip
					break
				}
			}
		}
	}
	if first+num > argc {
		return nil
	}
	refs := make([]KeyRef, 0, num)
	for i := 0; i < num; i++ {
		refs = append(refs, KeyRef{Pos: first + i, Flags: KeyRW | KeyAccess | KeyDelete})
	}
	return refs
}

func georadiusKeys(args [][]byte) []KeyRef {
	stored := -1
	for i := 5; i < len(args); i++ {
		if (cstrEqualFold(args[i], "store") || cstrEqualFold(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	refs := []KeyRef{{Pos: 1}}
	if stored >= 0 {
		refs = append(refs, KeyRef{Pos: stored})
	}
	return refs
}

func xreadKeys(args [][]byte) []KeyRef {
	argc := len(args)
	streams := -1
loop:
	for i := 1; i < argc; i++ {
		a := args[i]
		switch {
		case cstrEqualFold(a, "block"), cstrEqualFold(a, "count"):
			i++
		case cstrEqualFold(a, "group"):
			i += 2
		case cstrEqualFold(a, "noack"):
		case cstrEqualFold(a, "streams"):
			streams = i
			break loop
		default:
			break loop
		}
	}
	if streams == -1 {
		return nil
	}
	num := argc - streams - 1
	if num == 0 || num%2 != 0 {
		return nil
	}
	num /= 2
	refs := make([]KeyRef, 0, num)
	for i := streams + 1; i < argc-num; i++ {
		refs = append(refs, KeyRef{Pos: i})
	}
	return refs
}

// cstrEqualFold compares a wire argument with a lower-case ASCII word the
// way C's strcasecmp sees it: the argument ends at its first NUL byte and
// only ASCII letters fold.
func cstrEqualFold(arg []byte, word string) bool {
	for i, c := range arg {
		if c == 0 {
			arg = arg[:i]
			break
		}
	}
	if len(arg) != len(word) {
		return false
	}
	for i := range arg {
		if lower(arg[i]) != lower(word[i]) {
			return false
		}
	}
	return true
}

// parseInt64 parses a whole argument as a signed decimal the way Redis's
// string2ll does: no spaces, no "+", no leading zeros, no overflow.
func parseInt64(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		if v > 1<<64-1-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// catoi is C's atoi as glibc implements it: (int)strtol(s, NULL, 10) on the
// argument up to its first NUL. Leading white space and a sign are
// accepted, parsing stops at the first non-digit, overflow saturates to the
// long range and the result keeps the low 32 bits.
func catoi(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (1<<63-d)/10 {
			over = true
			continue
		}
		v = v*10 + d
	}
	if !neg && v > 1<<63-1 {
		over = true
	}
	var l int64
	switch {
	case over && neg:
		l = -1 << 63
	case over:
		l = 1<<63 - 1
	case neg:
		l = -int64(v)
	default:
		l = int64(v)
	}
	return int(int32(l))
}
