package eventlog

import (
	"fmt"
	"os"
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
	Unconfirmed Kind = "unconfirmed"  // VerifyHead: only an entry after the trusted head accounts for the start of the log
)

// knownKind returns k if it is one of the kinds above, else Removed: a
// kind read from a file is not trusted.
func knownKind(k string) Kind {
	switch kk := Kind(k); kk {
	case Edited, BadLine, Removed, Reordered, ChainBroken, Torn, Unreadable, Unconfirmed:
		return kk
	}
	return Removed
}

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
	PrunedBy  uint64 // seq of the events_pruned entry that records it (Pruned only)
	HeadSeq   uint64 // VerifyHead: seq of the entry with the trusted head; 0 if it is not in the log
	Recovered int    // files left with a torn last line by a crash, each recorded by an entry after it
	Problems  int    // damages found; a damaged log has at least one
	First     *Problem
	OK        bool // no damage
}

// prunedRec is what an events_pruned entry records about a removed file.
type prunedRec struct {
	hash    string // last_hash: the hash the remaining chain starts after
	file    string
	seq     uint64 // of the events_pruned entry itself
	vouched bool   // at or before the trusted head (always without one, or when it is not found)
	damage  Kind   // the log up to the removed file's end was already damaged ("": sound)
	detail  string // the damage, as the Log found it
}

// readPruned returns the record of a sound events_pruned entry, and the
// last_seq it is for; ok is false without a readable last_seq (a removed
// file that held no entry).
func readPruned(e *Entry) (seq uint64, rec prunedRec, ok bool) {
	s, err := strconv.ParseUint(e.Fields["last_seq"], 10, 64)
	if err != nil {
		return 0, prunedRec{}, false
	}
	rec = prunedRec{hash: e.Fields["last_hash"], file: e.Fields["file"], seq: e.Seq, vouched: true}
	if d := e.Fields["damage"]; d != "" {
		rec.damage, rec.detail = knownKind(d), e.Fields["damage_detail"]
	}
	return s, rec, true
}

// verifier follows the chain across files. See Verify.
type verifier struct {
	rep    Report
	fileIx int
	open   func(name string) (*os.File, error)

	have     bool // an entry was seen: prevSeq and prevHash hold
	prevSeq  uint64
	prevHash string
	resync   bool // the line before was unreadable: take the next entry as is

	gap   *Problem // a forward jump of seq, decided at the next entry
	gapAt uint64   // the seq expected at the jump

	torn   []*Problem // torn last lines, each excused by an events_recovered entry right after them
	start  *Problem   // the first entry of the log, checked at the end
	startE Entry

	pruned   map[uint64]prunedRec // last_seq → what retention recorded
	minSeq   uint64               // the lowest seq of a sound entry
	head     string               // VerifyHead: the trusted head, lowercase
	headSeen bool                 // the entry with the trusted head was read
}

func newVerifier(fsys FS) *verifier {
	return &verifier{
		pruned: map[uint64]prunedRec{},
		open:   func(name string) (*os.File, error) { return openIn(fsys, name, os.O_RDONLY, 0) },
	}
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
func Verify(dir string) (Report, error) { return VerifyHead(dir, "") }

// VerifyHead is Verify with a head kept elsewhere: the hash of an entry
// the server reported (Stats.Head, INFO) or a copy of it. Report.HeadSeq
// says where it is in the log (0: not there, so entries were cut off from
// its end or the log was rewritten). The chain has no key, so entries
// after the head prove nothing: an events_pruned entry after it does not
// account for the start of the log, which is then reported as
// Unconfirmed (verify again with a newer head). head "" is Verify.
func VerifyHead(dir, head string) (Report, error) {
	fsys := pathFS{dir}
	files, err := listFilesIn(fsys)
	if err != nil {
		return Report{}, fmt.Errorf("eventlog: %w", err)
	}
	v := newVerifier(fsys)
	v.head = strings.ToLower(head)
	for i, fi := range files {
		v.fileIx = i
		v.rep.Files++
		v.file(fi.name)
	}
	v.finish()
	return v.rep, nil
}

// file checks one file.
func (v *verifier) file(name string) {
	f, err := v.open(name)
	if err != nil {
		v.unreadable(name, err)
		return
	}
	defer f.Close()
	err = scanLines(f, func(ln *rawLine) bool {
		pos := &Problem{File: name, Line: ln.no, Offset: ln.off, fileIdx: v.fileIx}
		if !ln.complete {
			pos.Kind, pos.Detail = Torn, fmt.Sprintf("the file ends inside a line at offset %d", ln.off)
			v.torn = append(v.torn, pos)
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

// endTorn settles the torn last lines of the files before e, the next
// sound entry (nil: a line that is not one, or the end). Each must be
// named, at its offset, by an events_recovered entry among those that
// follow it before any other entry: the Log writes one for each file it
// leaves behind damaged. An events_recovered entry naming something else
// (a file retention removed since) leaves them waiting.
func (v *verifier) endTorn(e *Entry) {
	if len(v.torn) == 0 {
		return
	}
	if e != nil && e.Type == TypeRecovered {
		for i, t := range v.torn {
			if e.Fields["file"] == t.File && e.Fields["offset"] == strconv.FormatInt(t.Offset, 10) {
				v.rep.Recovered++
				v.torn = append(v.torn[:i], v.torn[i+1:]...)
				break
			}
		}
		return
	}
	for _, t := range v.torn {
		v.problem(t)
	}
	v.torn = v.torn[:0]
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
	vouched := !v.headSeen // the trusted head is this entry or comes later: its hash covers e
	if v.head != "" && e.Hash == v.head && !v.headSeen {
		v.headSeen, v.rep.HeadSeq = true, e.Seq
	}
	if e.Type == TypePruned {
		if s, rec, ok := readPruned(&e); ok {
			rec.vouched = vouched
			v.pruned[s] = rec
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
	default:
		if kind, detail := follows(v.prevSeq, v.prevHash, e); kind != "" {
			pos.Kind, pos.Detail = kind, detail
			if kind == Removed {
				if pos.Line == 1 {
					pos.Detail += " (a file was removed, or entries cut from the end of the one before)"
				}
				v.gap, v.gapAt = pos, v.prevSeq+1
			} else {
				v.problem(pos)
			}
		}
	}
	v.have, v.resync, v.prevSeq, v.prevHash = true, false, e.Seq, e.Hash
}

// follows says how e fails to follow the entry seq, hash: "" when it does.
func follows(seq uint64, hash string, e *Entry) (Kind, string) {
	switch {
	case e.Seq == seq+1:
		if e.Prev != hash {
			return ChainBroken, fmt.Sprintf("prev is not the hash of seq %d", seq)
		}
		return "", ""
	case e.Seq > seq+1:
		if e.Seq == seq+2 {
			return Removed, fmt.Sprintf("seq %d is missing", seq+1)
		}
		return Removed, fmt.Sprintf("seq %d–%d are missing", seq+1, e.Seq-1)
	}
	return Reordered, fmt.Sprintf("seq %d follows seq %d", e.Seq, seq)
}

// finish settles what waited for the end: a jump of seq at the last entry,
// torn last lines, and the start of the log.
func (v *verifier) finish() {
	if v.gap != nil {
		v.problem(v.gap)
		v.gap = nil
	}
	v.endTorn(nil)
	if s := v.start; s != nil {
		kind, detail, by := judgeStart(&v.startE, v.pruned, v.minSeq, v.rep.HeadSeq)
		if kind != "" {
			s.Kind, s.Detail = kind, detail
			v.problem(s)
		} else if by != nil {
			v.rep.Pruned, v.rep.PrunedBy = true, by.seq
		}
	}
	v.rep.OK = v.rep.Problems == 0
}

// judgeStart says whether e, the first entry of a log, is where the log
// may start: the first entry ever (seq 1 after ZeroHash), or the one
// after files retention removed, as an events_pruned entry records, with
// no damage recorded before them. by is that record, when there is one,
// whether it accounts for the start or not. minSeq is the lowest seq in
// the log; headSeq that of a trusted head, when one was given and found
// (records after it are not vouched for).
func judgeStart(e *Entry, pruned map[uint64]prunedRec, minSeq, headSeq uint64) (kind Kind, detail string, by *prunedRec) {
	if e.Seq == 1 {
		if e.Prev == ZeroHash {
			return "", "", nil
		}
		return ChainBroken, "seq 1 does not start the chain", nil
	}
	if rec, ok := pruned[e.Seq-1]; ok && rec.hash == e.Prev {
		switch {
		case headSeq != 0 && !rec.vouched:
			return Unconfirmed, fmt.Sprintf("the log starts at seq %d; only the %s entry seq %d, after the trusted head (seq %d), "+
				"records the removal of seq 1–%d: retention since the head, or a forgery (verify with a newer head)",
				e.Seq, TypePruned, rec.seq, headSeq, e.Seq-1), &rec
		case rec.damage != "":
			return rec.damage, fmt.Sprintf("the log was already damaged when retention removed %s (%s entry seq %d): %s",
				rec.file, TypePruned, rec.seq, rec.detail), &rec
		}
		return "", "", &rec
	}
	if minSeq < e.Seq {
		return Reordered, fmt.Sprintf("the log starts at seq %d and seq %d comes later (files or lines out of order)", e.Seq, minSeq), nil
	}
	// The nearest removal retention recorded before the start, if any.
	var last uint64
	var lastRec prunedRec
	for s, rec := range pruned {
		if s < e.Seq-1 && s >= last {
			last, lastRec = s, rec
		}
	}
	if last > 0 {
		return Removed, fmt.Sprintf("the log starts at seq %d, but retention recorded removing %s up to seq %d: seq %d–%d are missing",
			e.Seq, lastRec.file, last, last+1, e.Seq-1), nil
	}
	return Removed, fmt.Sprintf("the log starts at seq %d and no %s entry records the removal of seq 1–%d",
		e.Seq, TypePruned, e.Seq-1), nil
}
