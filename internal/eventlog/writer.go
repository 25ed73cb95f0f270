package eventlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// writer is the state of the goroutine that writes a Log. Nothing else
// touches it.
type writer struct {
	l    *Log
	opts *Options
	fs   FS // opts.FS, or the directory by path

	ready   bool                // the directory was read and the chain resumed
	seq     uint64              // the head: seq and hash of the last entry on disk
	hash    string              //
	files   []fileInfo          // event files, oldest first; the last is f's when f != nil
	lastNum uint64              // the highest file number seen
	f       *os.File            // the current file; nil until one is opened or created
	size    int64               // bytes of f written in full
	recover []map[string]string // fields of the events_recovered entries the next new file starts with

	startKnown  bool   // startDamage holds: the start of the log was judged since the last resume
	startDamage Kind   // the log up to the oldest file's start is damaged ("": accounted for)
	startDetail string //

	buf      []byte // lines not yet written
	bufSeq   uint64 // the head counting the lines in buf
	bufHash  string //
	bufUser  uint64 // caller entries in buf
	bufLines uint64 // entries in buf
	bufDrop  uint64 // dropped entries counted by an events_dropped line in buf
	reported uint64 // dropped entries already counted in the log

	dirty       bool // written since the last fsync
	failing     bool
	lastErr     error
	written     uint64
	writeErrors uint64
	retainDue   bool
	nextRetain  time.Time
}

func (w *writer) path(name string) string { return filepath.Join(w.opts.Dir, name) }

func (w *writer) run() {
	defer close(w.l.done)
	defer w.closeFS()
	tick := time.NewTicker(w.opts.SyncEvery)
	defer tick.Stop()
	if err := w.ensure(); err != nil {
		w.fail(err)
	}
	w.retain()
	w.publish()
	batch := make([]Entry, 0, batchMax)
	for {
		select {
		case e, ok := <-w.l.queue:
			if !ok {
				w.shutdown()
				return
			}
			batch = w.take(append(batch[:0], e), batchMax)
			w.writeBatch(batch)
			clear(batch)
		case reply := <-w.l.flushc:
			// What was appended before Flush is queued now; what comes
			// later must not keep Flush waiting.
			for n := len(w.l.queue); n > 0; {
				batch = w.take(batch[:0], min(n, batchMax))
				if len(batch) == 0 {
					break
				}
				n -= len(batch)
				w.writeBatch(batch)
				clear(batch)
			}
			w.retry()
			if !w.failing {
				if err := w.sync(); err != nil {
					w.fail(err)
				}
			}
			if w.retainDue {
				w.retain()
			}
			w.publish()
			reply <- w.err()
		case <-tick.C:
			if w.failing {
				w.retry()
			} else if err := w.sync(); err != nil {
				w.fail(err)
			}
			if !w.l.now().Before(w.nextRetain) {
				w.retainDue = true
			}
		}
		if w.retainDue && !w.failing {
			w.retain()
		}
		w.publish()
	}
}

// take adds to batch what the queue holds, up to max entries in all,
// without waiting.
func (w *writer) take(batch []Entry, max int) []Entry {
	for len(batch) < max {
		select {
		case e, ok := <-w.l.queue:
			if !ok {
				return batch
			}
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

func (w *writer) err() error {
	if w.failing {
		return w.lastErr
	}
	return nil
}

// closeFS closes Options.FS when it can be closed: the Log owns it.
func (w *writer) closeFS() {
	if c, ok := w.opts.FS.(io.Closer); ok {
		if err := c.Close(); err != nil {
			w.l.log.Warn("event log: closing its directory", "dir", w.opts.Dir, "err", err)
		}
	}
}

// shutdown writes what is left, fsyncs and closes the file.
func (w *writer) shutdown() {
	w.retry()
	if !w.failing {
		if err := w.sync(); err != nil {
			w.fail(err)
		}
	}
	if w.f != nil {
		if err := w.f.Close(); err != nil && !w.failing {
			w.fail(err)
		}
		w.f = nil
	}
	w.publish()
	w.l.closeErr = w.err()
}

// writeBatch writes caller entries. While failing they are dropped: the
// retry every SyncEvery decides when writing works again.
func (w *writer) writeBatch(batch []Entry) {
	if w.l.beforeWrite != nil {
		w.l.beforeWrite()
	}
	if w.failing {
		w.l.dropped.Add(uint64(len(batch)))
		return
	}
	if err := w.ensure(); err != nil {
		w.fail(err)
		w.l.dropped.Add(uint64(len(batch)))
		return
	}
	if err := w.noteDropped(); err != nil {
		w.fail(err)
		w.l.dropped.Add(uint64(len(batch)))
		return
	}
	for i := range batch {
		if err := w.emit(&batch[i], true); err != nil {
			w.fail(err)
			w.l.dropped.Add(uint64(len(batch) - i - 1))
			return
		}
	}
	if err := w.commit(); err != nil {
		w.fail(err)
	}
}

// noteDropped adds an events_dropped entry when entries were lost since
// the last one.
func (w *writer) noteDropped() error {
	d := w.l.dropped.Load()
	if d <= w.reported+w.bufDrop {
		return nil
	}
	n := d - w.reported - w.bufDrop
	e := Entry{Type: TypeDropped, Time: w.l.now(), Fields: map[string]string{"count": strconv.FormatUint(n, 10)}}
	w.bufDrop += n
	return w.emit(&e, false)
}

// emit adds the line of e to the buffer, chained to the one before, and
// writes the buffer when it is large or the file is full. On error a
// caller entry is counted as dropped.
func (w *writer) emit(e *Entry, user bool) error {
	if err := w.ensure(); err != nil {
		if user {
			w.l.dropped.Add(1)
		}
		w.discard() // empty: nothing is buffered without a file
		return err
	}
	if !w.add(e) {
		// Cannot happen within the limits; drop the entry, not the log.
		if user {
			w.l.dropped.Add(1)
		}
		return nil
	}
	if user {
		w.bufUser++
	}
	if w.size+int64(len(w.buf)) >= w.opts.MaxFileSize {
		if err := w.commit(); err != nil {
			return err
		}
		return w.rotate()
	}
	if len(w.buf) >= bufMax {
		return w.commit()
	}
	return nil
}

// add encodes e into the buffer, chained to the line before; false if it
// cannot be encoded.
func (w *writer) add(e *Entry) bool {
	if e.Instance == "" {
		e.Instance = clip(w.opts.Instance, maxInstance)
	}
	e.Time = e.Time.UTC()
	if y := e.Time.Year(); y < 0 || y > 9999 {
		e.Time = w.l.now().UTC()
	}
	e.Seq, e.Prev = w.bufSeq+1, w.bufHash
	start := len(w.buf)
	buf, h, err := encode(w.buf, e)
	if err != nil {
		w.buf = buf[:start]
		return false
	}
	w.buf, w.bufSeq, w.bufHash = buf, e.Seq, h
	w.bufLines++
	return true
}

// commit writes the buffer. On failure the lines in it are lost: the
// head goes back to the last line on disk and the caller entries count as
// dropped. A partial write is cut off by the next retry.
func (w *writer) commit() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		if n > 0 {
			w.dirty = true
		}
		w.l.dropped.Add(w.bufUser)
		w.discard()
		return err
	}
	w.size += int64(n)
	w.files[len(w.files)-1].size = w.size
	w.seq, w.hash = w.bufSeq, w.bufHash
	w.written += w.bufLines
	w.reported += w.bufDrop
	w.buf, w.bufUser, w.bufLines, w.bufDrop = w.buf[:0], 0, 0, 0
	w.dirty = true
	return nil
}

// discard forgets the buffered lines: the head goes back to the disk's.
func (w *writer) discard() {
	w.bufSeq, w.bufHash = w.seq, w.hash
	w.buf, w.bufUser, w.bufLines, w.bufDrop = w.buf[:0], 0, 0, 0
}

func (w *writer) sync() error {
	if !w.dirty || w.f == nil {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.dirty = false
	return nil
}

// rotate closes the full current file; the next line starts a new one.
func (w *writer) rotate() error {
	err := w.sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	w.files[len(w.files)-1].mtime = w.l.now()
	w.retainDue = true
	return err
}

// fail records a failed write. Only the change to failing is logged: a
// full disk must not flood the log.
func (w *writer) fail(err error) {
	w.writeErrors++
	w.lastErr = err
	if !w.failing {
		w.failing = true
		w.l.log.Warn("event log cannot write: events are counted and dropped until it can",
			"dir", w.opts.Dir, "err", err)
	}
}

// retry tries to write again after a failure: it cuts a partial line
// off the current file (or, if that fails, leaves the file for a new one
// that records where its damage starts), writes an events_dropped entry
// and fsyncs. The log works again when all of that succeeds.
func (w *writer) retry() {
	if !w.failing {
		return
	}
	if w.f != nil {
		if err := w.f.Truncate(w.size); err != nil {
			w.abandon()
		}
	}
	err := w.ensure()
	if err == nil {
		err = w.noteDropped()
	}
	if err == nil {
		err = w.commit()
	}
	if err == nil {
		w.dirty = true // a successful fsync is the proof
		err = w.sync()
	}
	if err != nil {
		w.writeErrors++
		w.lastErr = err
		return
	}
	w.failing = false
	w.l.log.Info("event log writing again", "dir", w.opts.Dir, "dropped", w.l.dropped.Load())
}

// abandon leaves the current file as it is, when a partial write could
// not be cut off: the writer reads the directory again as after a crash,
// continues from the last sound line, and starts a new file whose first
// entry names the damage.
func (w *writer) abandon() {
	if w.f == nil {
		return
	}
	w.f.Close()
	w.f, w.ready = nil, false
}

// ensure resumes the chain if not done yet and opens or creates the
// current file.
func (w *writer) ensure() error {
	if !w.ready {
		if err := w.resume(); err != nil {
			return err
		}
	}
	if w.f == nil {
		return w.create()
	}
	return nil
}

// create starts the next event file. When files before were left
// damaged, it starts with one events_recovered entry for each, oldest
// first.
func (w *writer) create() error {
	if w.opts.FS == nil {
		if err := os.MkdirAll(w.opts.Dir, DirMode); err != nil {
			return err
		}
	}
	var f *os.File
	var name string
	var err error
	for range maxCreateTry {
		w.lastNum++
		name = FileName(w.lastNum)
		f, err = openIn(w.fs, name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, FileMode)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := w.fs.SyncDir(); err != nil {
		f.Close()
		return err
	}
	w.f, w.size, w.dirty = f, 0, false
	w.files = append(w.files, fileInfo{num: w.lastNum, name: name, mtime: w.l.now(), regular: true})
	if len(w.recover) == 0 {
		return nil
	}
	for _, fields := range w.recover {
		e := Entry{Type: TypeRecovered, Time: w.l.now(), Fields: fields}
		w.add(&e) // small: always fits
	}
	if err = w.commit(); err == nil {
		w.recover = nil
		return nil
	}
	// The file must start with the entries: remove it, try again later.
	w.f.Close()
	w.f = nil
	w.fs.Remove(name)
	w.files = w.files[:len(w.files)-1]
	return err
}

// resume reads the directory and continues the chain from the last sound
// entry. Every file from the one holding that entry on that is damaged
// (torn by a crash, edited, not a regular file; an empty file, left by a
// crash right after it was created, is not) is left as it is, and the
// next file starts with an events_recovered entry for each, naming the
// file and the offset where its damage starts. Without damage the newest
// file is appended to. Only failing to read the directory stops it.
func (w *writer) resume() error {
	if w.opts.FS == nil {
		dir := w.opts.Dir
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return err
		}
		if fi, err := os.Lstat(dir); err != nil {
			return err
		} else if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		} else if fi.Mode().Perm()&0o022 != 0 {
			w.l.log.Warn("event directory is writable by group or others", "dir", dir)
		}
	}
	files, err := listFilesIn(w.fs)
	if err != nil {
		return err
	}
	w.files, w.seq, w.hash, w.lastNum = files, 0, ZeroHash, 0
	w.recover, w.startKnown = nil, false
	w.retainDue = true
	if len(files) == 0 {
		w.bufSeq, w.bufHash, w.ready = w.seq, w.hash, true
		return nil
	}
	newest := files[len(files)-1]
	w.lastNum = newest.num
	type damaged struct {
		name string
		p    *Problem
	}
	var bad []damaged // newest first
	for i := len(files) - 1; i >= 0; i-- {
		fi := files[i]
		if fi.regular && fi.size == 0 {
			continue
		}
		v := checkFileIn(w.fs, fi.name)
		if p := fileDamage(v); p != nil {
			bad = append(bad, damaged{fi.name, p})
		}
		if v.rep.Entries > 0 {
			w.seq, w.hash = v.rep.LastSeq, v.rep.Head
			break
		}
	}
	w.bufSeq, w.bufHash = w.seq, w.hash
	if len(bad) == 0 {
		err := unwritable(w.fs, newest.name)
		if err == nil {
			var f *os.File
			if f, err = openIn(w.fs, newest.name, os.O_WRONLY|os.O_APPEND, 0); err == nil {
				st, serr := f.Stat()
				if serr == nil && st.Size() == newest.size {
					w.f, w.size, w.ready = f, st.Size(), true
					return nil
				}
				f.Close()
				if serr != nil {
					return serr
				}
				return errors.New("event file changed while being read")
			}
			if !errors.Is(err, errNotRegular) && !errors.Is(err, errHardLinked) {
				return err
			}
		}
		bad = append(bad, damaged{newest.name, &Problem{Kind: Unreadable, Detail: err.Error()}})
	}
	for i := len(bad) - 1; i >= 0; i-- {
		d := bad[i]
		w.recover = append(w.recover, map[string]string{
			"file": d.name, "offset": strconv.FormatInt(d.p.Offset, 10), "reason": string(d.p.Kind)})
		w.l.log.Warn("event file damaged: continuing in a new file; run redoubt events verify",
			"file", w.path(d.name), "line", d.p.Line, "damage", d.p.Kind, "detail", d.p.Detail)
	}
	w.ready = true
	return nil
}

// fileDamage returns the first damage checkFile found in a file, its
// torn last line included; nil if it is sound.
func fileDamage(v *verifier) *Problem {
	if v.rep.First != nil {
		return v.rep.First
	}
	if len(v.torn) > 0 {
		return v.torn[0]
	}
	return nil
}

// checkFile verifies one file on its own (its first entry is not checked
// against anything).
func checkFile(path, name string) *verifier {
	return checkFileIn(pathFS{filepath.Dir(path)}, name)
}

// checkFileIn is checkFile on an FS.
func checkFileIn(fsys FS, name string) *verifier {
	v := newVerifier(fsys)
	v.file(name)
	if v.gap != nil {
		v.problem(v.gap)
		v.gap = nil
	}
	return v
}

// retain removes the oldest closed files beyond MaxFiles or older than
// MaxAge. Before removing one it writes, and fsyncs, an events_pruned
// entry with the seq and hash the file ends with, so Verify can tell
// retention from a removed file.
func (w *writer) retain() {
	w.retainDue = false
	w.nextRetain = w.l.now().Add(retainEvery)
	if w.failing {
		return
	}
	if err := w.ensure(); err != nil { // after a rotation: the pruned entry starts the new file
		w.fail(err)
		return
	}
	if len(w.files) < 2 {
		return
	}
	now := w.l.now()
	for len(w.files) >= 2 {
		closed := len(w.files) - 1
		if gone := w.files[0]; closed <= w.opts.MaxFiles && (w.opts.MaxAge <= 0 || now.Sub(gone.mtime) <= w.opts.MaxAge) {
			return
		}
		if !w.prune() {
			return
		}
	}
}

// prune removes the oldest file after recording it; false if it could not.
//
// The events_pruned entry records the file's own last sound entry
// (last_seq, last_hash; none if it held none), which the rest of the log
// must follow for Verify to accept where the log then starts. Whatever
// was already wrong up to the file's end is recorded too (damage,
// damage_detail), and carried into every later events_pruned entry: that
// the log did not start where it should (the oldest files removed by
// hand), damage in the file itself, or a file's own end not followed by
// the next entry (a file after it removed by hand). So retention never
// turns damage into a sound log; Verify keeps reporting it.
func (w *writer) prune() bool {
	gone := w.files[0]
	if !w.startKnown {
		w.startDamage, w.startDetail = w.judgeLogStart()
		w.startKnown = true
	}
	v := checkFileIn(w.fs, gone.name)
	next, named := w.following(w.files[1:])
	damage, detail := w.startDamage, w.startDetail
	if damage == "" {
		if p := v.rep.First; p != nil {
			damage, detail = p.Kind, p.String()
		} else if len(v.torn) > 0 {
			if t := v.torn[0]; named[gone.name] != strconv.FormatInt(t.Offset, 10) {
				damage, detail = Torn, t.String()+" (no events_recovered entry names it)"
			}
		}
	}
	fields := map[string]string{"file": gone.name}
	if v.rep.Entries > 0 {
		fields["last_seq"], fields["last_hash"] = strconv.FormatUint(v.rep.LastSeq, 10), v.rep.Head
	}
	if damage != "" {
		fields["damage"], fields["damage_detail"] = string(damage), clip(detail, maxFieldValue)
	}
	// Where the log starts once the file is gone.
	after, afterDetail := damage, detail
	if after == "" && v.rep.Entries > 0 {
		nextE, at := Entry{Seq: w.bufSeq + 1, Prev: w.bufHash}, "the next entry" // the one below
		if next != nil {
			nextE, at = next.Entry, next.where
		}
		if kind, d := follows(v.rep.LastSeq, v.rep.Head, &nextE); kind != "" {
			after, afterDetail = kind, fmt.Sprintf("%s: %s: %s after the end of %s", at, kind, d, gone.name)
		}
	}
	e := Entry{Type: TypePruned, Time: w.l.now(), Fields: fields}
	err := w.emit(&e, false)
	if err == nil {
		err = w.commit()
	}
	if err == nil {
		err = w.sync()
	}
	if err != nil {
		w.fail(err)
		return false
	}
	if damage != "" && w.startDamage == "" {
		w.l.log.Warn("event retention removed a damaged file; the damage stays recorded in the log",
			"file", w.path(gone.name), "damage", damage, "detail", detail)
	}
	if err := w.fs.Remove(gone.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.l.log.Warn("event retention cannot remove a file", "file", w.path(gone.name), "err", err)
		return false
	}
	w.files = w.files[1:]
	w.startDamage, w.startDetail = after, afterDetail
	if after != "" && after != damage {
		w.l.log.Warn("event log: entries are missing before the oldest file left; recorded in the log",
			"detail", afterDetail)
	}
	if err := w.fs.SyncDir(); err != nil {
		w.fail(err)
		return false
	}
	return true
}

// located is an entry read from a file, with where it is, for messages.
type located struct {
	Entry
	where string // "<file> line <n> (seq <s>)"
}

func locate(e Entry, name string, line int) *located {
	return &located{Entry: e, where: fmt.Sprintf("%s line %d (seq %d)", name, line, e.Seq)}
}

// following reads files (those after the oldest) as Verify would until
// their first sound entry that is not events_recovered. It returns the
// first sound entry (nil: none yet, the next one written will be) and
// the file → offset named by the events_recovered entries that come
// before any other entry or unsound line (those excuse torn files before
// them). Empty files and torn lines are passed over, as Verify does.
func (w *writer) following(files []fileInfo) (first *located, named map[string]string) {
	named = map[string]string{}
	run := true // still in the leading run of events_recovered entries
	for _, fi := range files {
		if fi.regular && fi.size == 0 {
			continue
		}
		f, err := openIn(w.fs, fi.name, os.O_RDONLY, 0)
		if err != nil {
			run = false
		} else {
			_ = scanLines(f, func(ln *rawLine) bool {
				if !ln.complete {
					return false
				}
				var e Entry
				var lerr *lineError
				if !ln.long {
					e, _, lerr = parseLine(ln.data)
				}
				switch {
				case ln.long || lerr != nil:
					run = false
				case first == nil:
					first = locate(e, fi.name, ln.no)
					fallthrough
				default:
					if e.Type != TypeRecovered {
						run = false
					} else if run {
						named[e.Fields["file"]] = e.Fields["offset"]
					}
				}
				return run || first == nil
			})
			f.Close()
		}
		if first != nil && !run {
			break
		}
	}
	return first, named
}

// judgeLogStart reads the whole log, as Verify would, for where it starts
// and the events_pruned entries that account for it: the damage at the
// start, "" when it is accounted for. Only lines that name events_pruned
// are decoded past the first sound entry.
func (w *writer) judgeLogStart() (Kind, string) {
	var start *located
	pruned := map[uint64]prunedRec{}
	marker := []byte(`"type":"` + TypePruned + `"`)
	for _, fi := range w.files {
		f, err := openIn(w.fs, fi.name, os.O_RDONLY, 0)
		if err != nil {
			continue
		}
		_ = scanLines(f, func(ln *rawLine) bool {
			if !ln.complete || ln.long || (start != nil && !bytes.Contains(ln.data, marker)) {
				return true
			}
			e, _, lerr := parseLine(ln.data)
			if lerr != nil {
				return true
			}
			if start == nil {
				start = locate(e, fi.name, ln.no)
			}
			if e.Type == TypePruned {
				if s, rec, ok := readPruned(&e); ok {
					pruned[s] = rec
				}
			}
			return true
		})
		f.Close()
	}
	if start == nil {
		return "", ""
	}
	kind, detail, by := judgeStart(&start.Entry, pruned, start.Seq, 0)
	switch {
	case kind == "":
		return "", ""
	case by != nil && by.damage != "":
		return by.damage, by.detail // as first recorded: carried, not wrapped again
	}
	return kind, fmt.Sprintf("%s: %s: %s", start.where, kind, detail)
}

// publish copies the writer's state to the Stats.
func (w *writer) publish() {
	var total int64
	for _, f := range w.files {
		total += f.size
	}
	s := &w.l.stats
	w.l.statMu.Lock()
	s.Written, s.WriteErrors, s.Failing = w.written, w.writeErrors, w.failing
	s.Seq, s.Head = w.seq, w.hash
	s.Files, s.Bytes = len(w.files), total
	if w.lastErr != nil {
		s.LastError = w.lastErr.Error()
	}
	w.l.statMu.Unlock()
}
