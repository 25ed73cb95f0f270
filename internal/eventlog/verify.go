package eventlog

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kind names a kind of damage Verify finds.
type Kind string

// The kinds of damage.
const (
	Edited      Kind = "edited"       // a line does not match its own hash
	BadLine     Kind = "bad line"     // not an event line: not JSON, a field missing or wrong, too long
	Removed     Kind = "removed"      // entries are missing: seq jumps forward
	Reordered   Kind = "reordered"    // seq goes back, or two entries are swapped
	ChainBroken Kind = "chain broken" // seq follows but prev is not the hash of the entry before
	Torn        Kind = "torn"         // a file ends inside a line (a crash mid-write, or truncation)
	Unreadable  Kind = "unreadable"   // an event file cannot be opened or read
)

// Problem is one damage found by Verify.
type Problem struct {
	File   string // name of the event file
	Line   int    // from 1; 0 for the file as a whole
	Offset int64  // of the line in the file
	Seq    uint64 // seq of the line, when it could be read
	Kind   Kind
	Detail string

	fileIdx int // for ordering problems by position
}

func (p *Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, " line %d", p.Line)
	}
	if p.Seq > 0 {
		fmt.Fprintf(&b, " (seq %d)", p.Seq)
	}
	fmt.Fprintf(&b, ": %s", p.Kind)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	return b.String()
}

// before reports whether p comes before q in the log.
func (p *Problem) before(q *Problem) bool {
	if p.fileIdx != q.fileIdx {
		return p.fileIdx < q.fileIdx
	}
	return p.Line < q.Line
}

// Report is the result of Verify.
type Report struct {
	Files     int    // event files read
	Entries   int    // lines that read as entries
	FirstSeq  uint64 // seq of the first entry
	LastSeq   uint64 // seq of the last entry
	Head      string // hash of the last entry: compare it with the head the server reports
	Pruned    bool   // the entries before FirstSeq were removed by retention, as recorded in the log
	Recovered int    // files left with a torn last line by a crash, each recorded by the next entry
	Problems  int    // damages found; a damaged log has at least one
	First     *Problem
	OK        bool // no damage
}

// verifier follows the chain across files. See Verify.
type verifier struct {
	rep    Report
	fileIx int

	have     bool // an entry was seen: prevSeq and prevHash hold
	prevSeq  uint64
	prevHash string
	resync   bool // the line before was unreadable: take the next entry as is

	gap   *Problem // a forward jump of seq, decided at the next entry
	gapAt uint64   // the seq expected at the jump

	torn   *Problem // a torn last line, excused by an events_recovered entry next
	start  *Problem // the first entry of the log, checked at the end
	startE Entry

	pruned map[uint64]string // last_seq → last_hash of the files retention removed
	minSeq uint64            // the lowest seq of a sound entry
}

func (v *verifier) problem(p *Problem) {
	v.rep.Problems++
	if v.rep.First == nil || p.before(v.rep.First) {
		v.rep.First = p
	}
}

// Verify reads every event file of dir, oldest first, and checks each
// line's hash, the order of seq and the chain of hashes across files. It
// reports the first damage in the order of the log and counts the others,
// and never stops at one. The error is only for a directory it cannot
// read; damaged files are problems in the Report. A missing directory is
// an error wrapping fs.ErrNotExist; an empty one is sound.
//
// Verify reads a running log safely, but a write in progress may show as
// a torn last line: verify again.
func Verify(dir string) (Report, error) {
	files, err := listFiles(dir)
	if err != nil {
		return Report{}, fmt.Errorf("eventlog: %w", err)
	}
	v := &verifier{pruned: map[uint64]string{}}
	for i, fi := range files {
		v.fileIx = i
		v.rep.Files++
		v.file(filepath.Join(dir, fi.name), fi.name)
	}
	v.finish()
	return v.rep, nil
}

// file checks one file.
func (v *verifier) file(path, name string) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		v.unreadable(name, err)
		return
	}
	defer f.Close()
	err = scanLines(f, func(ln *rawLine) bool {
		pos := &Problem{File: name, Line: ln.no, Offset: ln.off, fileIdx: v.fileIx}
		if !ln.complete {
			pos.Kind, pos.Detail = Torn, fmt.Sprintf("the file ends inside a line at offset %d", ln.off)
			v.torn = pos
			return false
		}
		v.line(pos, ln)
		return true
	})
	if err != nil {
		v.unreadable(name, err)
	}
}

func (v *verifier) unreadable(name string, err error) {
	v.endTorn(nil)
	v.problem(&Problem{File: name, Kind: Unreadable, Detail: err.Error(), fileIdx: v.fileIx})
	v.resync = true
}

// endTorn settles a torn last line of the file before: e, the first entry
// after it, must be the events_recovered entry the Log writes when it
// leaves such a file behind. e is nil when no entry follows.
func (v *verifier) endTorn(e *Entry) {
	t := v.torn
	if t == nil {
		return
	}
	v.torn = nil
	if e != nil && e.Type == TypeRecovered && e.Fields["file"] == t.File &&
		e.Fields["offset"] == strconv.FormatInt(t.Offset, 10) {
		v.rep.Recovered++
		return
	}
	v.problem(t)
}

// line checks one complete line.
func (v *verifier) line(pos *Problem, ln *rawLine) {
	if ln.long {
		v.endTorn(nil)
		pos.Kind, pos.Detail = BadLine, fmt.Sprintf("longer than %d bytes", MaxLine)
		v.problem(pos)
		v.resync = true
		return
	}
	e, decoded, lerr := parseLine(ln.data)
	if lerr != nil {
		v.endTorn(nil)
		pos.Kind, pos.Detail = lerr.kind, lerr.msg
		if decoded {
			pos.Seq = e.Seq
		}
		v.problem(pos)
		if decoded {
			// An edited line keeps the hash the next entry names: follow
			// the chain past it without checking it again.
			v.have, v.prevSeq, v.prevHash, v.resync = true, e.Seq, e.Hash, false
		} else {
			v.resync = true
		}
		return
	}
	pos.Seq = e.Seq
	v.rep.Entries++
	if v.minSeq == 0 || e.Seq < v.minSeq {
		v.minSeq = e.Seq
	}
	v.endTorn(&e)
	if e.Type == TypePruned {
		if s, err := strconv.ParseUint(e.Fields["last_seq"], 10, 64); err == nil {
			v.pruned[s] = e.Fields["last_hash"]
		}
	}
	v.chain(pos, &e)
	v.rep.LastSeq, v.rep.Head = e.Seq, e.Hash
	if v.rep.FirstSeq == 0 {
		v.rep.FirstSeq = e.Seq
	}
}

// chain checks e against the entry before and moves on to it.
func (v *verifier) chain(pos *Problem, e *Entry) {
	if g := v.gap; g != nil {
		v.gap = nil
		if e.Seq == v.gapAt {
			// The missing seq comes right after the jump: two entries
			// swapped. The later one is already behind us; keep it.
			g.Kind = Reordered
			g.Detail = fmt.Sprintf("seq %d comes before seq %d", g.Seq, e.Seq)
			v.problem(g)
			return
		}
		v.problem(g)
	}
	switch {
	case !v.have:
		v.start, v.startE = pos, *e
	case v.resync:
	case e.Seq == v.prevSeq+1:
		if e.Prev != v.prevHash {
			pos.Kind = ChainBroken
			pos.Detail = fmt.Sprintf("prev is not the hash of seq %d", v.prevSeq)
			v.problem(pos)
		}
	case e.Seq > v.prevSeq+1:
		pos.Kind = Removed
		if e.Seq == v.prevSeq+2 {
			pos.Detail = fmt.Sprintf("seq %d is missing", v.prevSeq+1)
		} else {
			pos.Detail = fmt.Sprintf("seq %d–%d are missing", v.prevSeq+1, e.Seq-1)
		}
		if pos.Line == 1 {
			pos.Detail += " (a file was removed, or entries cut from the end of the one before)"
		}
		v.gap, v.gapAt = pos, v.prevSeq+1
	default:
		pos.Kind = Reordered
		pos.Detail = fmt.Sprintf("seq %d follows seq %d", e.Seq, v.prevSeq)
		v.problem(pos)
	}
	v.have, v.resync, v.prevSeq, v.prevHash = true, false, e.Seq, e.Hash
}

// finish settles what waited for the end: a jump of seq at the last entry,
// a torn last line, and the start of the log, which is either the first
// entry ever (seq 1 after ZeroHash) or the one after files retention
// removed and recorded.
func (v *verifier) finish() {
	if v.gap != nil {
		v.problem(v.gap)
		v.gap = nil
	}
	v.endTorn(nil)
	if s := v.start; s != nil {
		e := v.startE
		switch {
		case e.Seq == 1 && e.Prev == ZeroHash:
		case e.Seq > 1 && v.pruned[e.Seq-1] == e.Prev:
			v.rep.Pruned = true
		case e.Seq == 1:
			s.Kind, s.Detail = ChainBroken, "seq 1 does not start the chain"
			v.problem(s)
		case v.minSeq < e.Seq:
			s.Kind = Reordered
			s.Detail = fmt.Sprintf("the log starts at seq %d and seq %d comes later (files or lines out of order)", e.Seq, v.minSeq)
			v.problem(s)
		default:
			s.Kind = Removed
			s.Detail = fmt.Sprintf("the log starts at seq %d and no %s entry records the removal of seq 1–%d",
				e.Seq, TypePruned, e.Seq-1)
			v.problem(s)
		}
	}
	v.rep.OK = v.rep.Problems == 0
}
