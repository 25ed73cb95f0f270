package aof

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"redoubt/internal/datadir"
)

// File names, as Redis 7 names the parts of a multi-part AOF.
const (
	// Prefix starts the name of every file of the AOF (Redis's default
	// appendfilename).
	Prefix = "appendonly.aof"
	// ManifestName names the manifest, the commit point of the AOF.
	ManifestName = Prefix + ".manifest"
	// LegacyName is a single-file AOF of Redis 6 and earlier. Found
	// without a manifest, it becomes the base (Redis 7 does the same).
	LegacyName = Prefix

	baseRDBSuffix = ".base.rdb"
	baseAOFSuffix = ".base.aof"
	incrSuffix    = ".incr.aof"
	tmpSuffix     = ".tmp"

	maxManifestSize = 1 << 20 // a manifest names a few files
)

// Kind is the type of a file in the manifest.
type Kind byte

// Kinds of files, as the manifest's "type" field spells them.
const (
	KindBase Kind = 'b' // the snapshot the incremental files apply to
	KindIncr Kind = 'i' // commands appended after the base
)

// Entry is one file named by the manifest.
type Entry struct {
	Name string
	Seq  int64
	Kind Kind
}

// Manifest lists the files of the AOF: at most one base, then the
// incremental files in the order they are replayed. The last incremental
// file is the one appended to.
type Manifest struct {
	Base  *Entry
	Incrs []Entry
}

// baseName and incrName build the names of new files.
func baseName(seq int64, rdb bool) string {
	if rdb {
		return Prefix + "." + strconv.FormatInt(seq, 10) + baseRDBSuffix
	}
	return Prefix + "." + strconv.FormatInt(seq, 10) + baseAOFSuffix
}

func incrName(seq int64) string {
	return Prefix + "." + strconv.FormatInt(seq, 10) + incrSuffix
}

// isOurs reports whether name has the form of a file this package creates
// (base, incremental, or one of their temporary files). Only such files
// are ever garbage-collected.
func isOurs(name string) bool {
	rest, ok := strings.CutPrefix(name, Prefix+".")
	if !ok {
		return false
	}
	if rest == "manifest"+tmpSuffix {
		return true
	}
	rest = strings.TrimSuffix(rest, tmpSuffix)
	for _, suf := range []string{baseRDBSuffix, baseAOFSuffix, incrSuffix} {
		if n, ok := strings.CutSuffix(rest, suf); ok {
			_, err := strconv.ParseUint(n, 10, 63)
			return err == nil
		}
	}
	return false
}

// lastIncr returns the incremental file appended to.
func (m *Manifest) lastIncr() Entry { return m.Incrs[len(m.Incrs)-1] }

// names returns every file the manifest references.
func (m *Manifest) names() []string {
	var out []string
	if m.Base != nil {
		out = append(out, m.Base.Name)
	}
	for _, e := range m.Incrs {
		out = append(out, e.Name)
	}
	return out
}

// nextBaseSeq and nextIncrSeq number new files.
func (m *Manifest) nextBaseSeq() int64 {
	if m.Base == nil {
		return 1
	}
	return m.Base.Seq + 1
}

func (m *Manifest) nextIncrSeq() int64 {
	if len(m.Incrs) == 0 {
		return 1
	}
	return m.lastIncr().Seq + 1
}

// clone returns a deep copy.
func (m *Manifest) clone() *Manifest {
	c := &Manifest{Incrs: append([]Entry(nil), m.Incrs...)}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	return c
}

// Marshal encodes the manifest in Redis 7's format, one line a file:
//
//	file appendonly.aof.1.base.rdb seq 1 type b
//	file appendonly.aof.1.incr.aof seq 1 type i
func (m *Manifest) Marshal() []byte {
	var b bytes.Buffer
	line := func(e Entry) {
		fmt.Fprintf(&b, "file %s seq %d type %c\n", e.Name, e.Seq, e.Kind)
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, e := range m.Incrs {
		line(e)
	}
	return b.Bytes()
}

// ParseManifest decodes a manifest. It accepts what Redis 7 writes:
// lines of key/value pairs (file, seq, type, in any order), '#' comments,
// and history entries (type h), which are ignored. Names must be plain
// file names; names with spaces (quoted by Redis) are not supported.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, errors.New("manifest does not end with a newline (truncated?)")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		e, hist, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: %w", i+1, err)
		}
		switch {
		case hist:
		case e.Kind == KindBase:
			if m.Base != nil {
				return nil, fmt.Errorf("manifest line %d: a second base file", i+1)
			}
			m.Base = &e
		default:
			if n := len(m.Incrs); n > 0 && e.Seq <= m.Incrs[n-1].Seq {
				return nil, fmt.Errorf("manifest line %d: incremental files out of order", i+1)
			}
			m.Incrs = append(m.Incrs, e)
		}
	}
	if m.Base == nil && len(m.Incrs) == 0 {
		return nil, errors.New("manifest names no file")
	}
	seen := map[string]bool{}
	for _, n := range m.names() {
		if seen[n] {
			return nil, fmt.Errorf("manifest names %s twice", n)
		}
		seen[n] = true
	}
	return m, nil
}

func parseEntry(line string) (e Entry, hist bool, err error) {
	f := strings.Fields(line)
	if len(f)%2 != 0 {
		return e, false, fmt.Errorf("odd number of fields in %q", line)
	}
	var haveSeq, haveType bool
	for i := 0; i < len(f); i += 2 {
		switch k, v := f[i], f[i+1]; k {
		case "file":
			if err := datadir.ValidName(v); err != nil || strings.ContainsAny(v, "\"'\\") {
				return e, false, fmt.Errorf("bad file name %q", v)
			}
			e.Name = v
		case "seq":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return e, false, fmt.Errorf("bad seq %q", v)
			}
			e.Seq, haveSeq = n, true
		case "type":
			if len(v) != 1 || !strings.Contains("bih", v) {
				return e, false, fmt.Errorf("bad type %q", v)
			}
			e.Kind, haveType = Kind(v[0]), true
		default: // unknown keys are tolerated, as Redis does
		}
	}
	if e.Name == "" || !haveSeq || !haveType {
		return e, false, fmt.Errorf("incomplete entry %q", line)
	}
	return e, e.Kind == 'h', nil
}

// errNoManifest: the directory holds no AOF yet.
var errNoManifest = errors.New("no manifest")

// readManifest reads the manifest of fsys. With no manifest it returns
// errNoManifest, or, when a Redis 6 single-file AOF is present, a
// manifest naming it as the base (not yet written).
func readManifest(fsys FS) (*Manifest, error) {
	f, err := openRead(fsys, ManifestName)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if _, err := fsys.Stat(LegacyName); err == nil {
			return &Manifest{Base: &Entry{Name: LegacyName, Seq: 1, Kind: KindBase}}, nil
		}
		return nil, errNoManifest
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxManifestSize+1)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", ManifestName, err)
	}
	if buf.Len() > maxManifestSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", ManifestName, maxManifestSize)
	}
	m, err := ParseManifest(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", fsys.Path(), ManifestName, err)
	}
	return m, nil
}

// writeManifest replaces the manifest atomically and durably; renamed is
// as for writeAtomic.
func writeManifest(fsys FS, m *Manifest) (renamed bool, err error) {
	renamed, err = writeAtomic(fsys, ManifestName, m.Marshal())
	if err != nil {
		return renamed, fmt.Errorf("writing %s: %w", ManifestName, err)
	}
	return true, nil
}
