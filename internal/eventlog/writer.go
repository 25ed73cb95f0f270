package eventlog

import (
	"errors"
	"fmt"
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

	ready   bool              // the directory was read and the chain resumed
	seq     uint64            // the head: seq and hash of the last entry on disk
	hash    string            //
	files   []fileInfo        // event files, oldest first; the last is f's when f != nil
	lastNum uint64            // the highest file number seen
	f       *os.File          // the current file; nil until one is opened or created
	size    int64             // bytes of f written in full
	recover map[string]string // fields of the events_recovered entry the next new file starts with

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
		// Cannot happen within the limits; drop the entry, not the log.
		w.buf = buf[:start]
		if user {
			w.l.dropped.Add(1)
		}
		return nil
	}
	w.buf, w.bufSeq, w.bufHash = buf, e.Seq, h
	w.bufLines++
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

// create starts the next event file. When the file before was left
// damaged, its first entry says so.
func (w *writer) create() error {
	if err := os.MkdirAll(w.opts.Dir, DirMode); err != nil {
		return err
	}
	var f *os.File
	var name string
	var err error
	for range maxCreateTry {
		w.lastNum++
		name = FileName(w.lastNum)
		f, err = openFile(w.path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, FileMode)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := syncDir(w.opts.Dir); err != nil {
		f.Close()
		return err
	}
	w.f, w.size, w.dirty = f, 0, false
	w.files = append(w.files, fileInfo{num: w.lastNum, name: name, mtime: w.l.now(), regular: true})
	if w.recover == nil {
		return nil
	}
	e := Entry{Type: TypeRecovered, Time: w.l.now(), Fields: w.recover}
	if err := w.emit(&e, false); err == nil {
		if err = w.commit(); err == nil {
			w.recover = nil
			return nil
		}
	}
	// The file must start with the entry: remove it, try again later.
	w.f.Close()
	w.f = nil
	os.Remove(w.path(name))
	w.files = w.files[:len(w.files)-1]
	return err
}

// resume reads the directory and continues the chain from the last sound
// entry. A clean newest file is appended to; a damaged one (torn by a
// crash, edited, not a regular file) is left as it is, and the next file
// starts with an events_recovered entry naming the file and the offset
// where its damage starts. Only failing to read the directory stops it.
func (w *writer) resume() error {
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
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	w.files, w.seq, w.hash, w.lastNum = files, 0, ZeroHash, 0
	w.retainDue = true
	if len(files) == 0 {
		w.bufSeq, w.bufHash, w.ready = w.seq, w.hash, true
		return nil
	}
	newest := files[len(files)-1]
	w.lastNum = newest.num
	v := checkFile(w.path(newest.name), newest.name)
	found := v.rep.Entries > 0
	if found {
		w.seq, w.hash = v.rep.LastSeq, v.rep.Head
	}
	for i := len(files) - 2; i >= 0 && !found; i-- {
		if o := checkFile(w.path(files[i].name), files[i].name); o.rep.Entries > 0 {
			w.seq, w.hash, found = o.rep.LastSeq, o.rep.Head, true
		}
	}
	w.bufSeq, w.bufHash = w.seq, w.hash
	damage := v.rep.First
	if damage == nil {
		damage = v.torn
	}
	if damage == nil {
		f, err := openFile(w.path(newest.name), os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
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
		damage = &Problem{Kind: Unreadable, Detail: err.Error()}
	}
	w.recover = map[string]string{"file": newest.name, "offset": strconv.FormatInt(damage.Offset, 10), "reason": string(damage.Kind)}
	w.l.log.Warn("event file damaged: continuing in a new file; run redoubt events verify",
		"file", w.path(newest.name), "line", damage.Line, "damage", damage.Kind, "detail", damage.Detail)
	w.ready = true
	return nil
}

// checkFile verifies one file on its own (its first entry is not checked
// against anything).
func checkFile(path, name string) *verifier {
	v := &verifier{pruned: map[uint64]string{}}
	v.file(path, name)
	if v.gap != nil {
		v.problem(v.gap)
		v.gap = nil
	}
	return v
}

// retain removes the oldest closed files beyond MaxFiles or older than
// MaxAge. Before removing one it writes, and fsyncs, an events_pruned
// entry with the seq and hash the chain now starts after, so Verify can
// tell retention from a removed file.
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
func (w *writer) prune() bool {
	gone, next := w.files[0], w.files[1]
	var lastSeq uint64
	var lastHash string
	if e, ok := firstEntry(w.path(next.name)); ok {
		lastSeq, lastHash = e.Seq-1, e.Prev
	} else if len(w.files) == 2 && w.size == 0 && len(w.buf) == 0 {
		lastSeq, lastHash = w.seq, w.hash // the entry below starts the current file
	} else {
		w.l.log.Warn("event retention skipped: the file after the oldest does not start with a sound entry",
			"file", w.path(next.name))
		return false
	}
	e := Entry{Type: TypePruned, Time: w.l.now(), Fields: map[string]string{
		"file": gone.name, "last_seq": strconv.FormatUint(lastSeq, 10), "last_hash": lastHash,
	}}
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
	if err := os.Remove(w.path(gone.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.l.log.Warn("event retention cannot remove a file", "file", w.path(gone.name), "err", err)
		return false
	}
	w.files = w.files[1:]
	if err := syncDir(w.opts.Dir); err != nil {
		w.fail(err)
		return false
	}
	return true
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
