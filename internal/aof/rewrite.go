package aof

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Errors of rewrites.
var (
	ErrRewriteInProgress = errors.New("aof: a rewrite is already in progress")
	ErrRewriteAborted    = errors.New("aof: rewrite aborted")
)

// BaseFormat says what a rewrite's base file holds, which names it.
type BaseFormat int

// Base formats.
const (
	BaseRDB BaseFormat = iota // an RDB snapshot (appendonly.aof.N.base.rdb)
	BaseAOF                   // RESP commands (appendonly.aof.N.base.aof)
)

// Rewrite is a rewrite of the AOF in progress: StartRewrite marks its
// point in the stream, Finish writes the new base and switches to it.
type Rewrite struct {
	w        *Writer
	boundary uint64
	started  time.Time

	// Guarded by w.mu; set with writeMu held too.
	switched bool
	failed   error
	newIncr  Entry
	finished bool
}

// StartRewrite marks the point of a rewrite in the stream: every command
// appended before it must be in the point-in-time view of the data the
// caller will write as the new base, every command appended after it goes
// to a new incremental file. Call it under the engine lock, in the same
// critical section that takes the view. It does no I/O; the switch to
// the new incremental file happens on the next write (or in Finish).
// Then call Finish (or Abort) once, from any goroutine.
func (w *Writer) StartRewrite() (*Rewrite, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return nil, ErrClosed
	case w.rw != nil:
		return nil, ErrRewriteInProgress
	case w.failure.Load() != nil:
		return nil, fmt.Errorf("aof: no rewrite while writes fail: %w", w.failure.Load())
	}
	w.rw = &Rewrite{w: w, boundary: w.appended, started: time.Now()}
	w.st.rewriteStarted(w.rw.started)
	return w.rw, nil
}

// switchLocked ends the current incremental file at the rewrite's
// boundary (written must equal it) and starts a new one: fsync the old
// file, create the new one, and write a manifest naming the old files and
// the new one. A failure to fsync fails the Writer (and is retried); any
// other failure fails only the rewrite, and writing goes on in the old
// file. writeMu is held.
func (w *Writer) switchLocked(rw *Rewrite) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if err := w.syncLocked(); err != nil {
		return err
	}
	seq := w.nextIncr
	w.nextIncr++
	e := Entry{Name: incrName(seq), Seq: seq, Kind: KindIncr}
	f, err := w.fsys.OpenFile(e.Name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		w.rewriteFailed(rw, fmt.Errorf("aof: rewrite: creating %s: %w", e.Name, err))
		return nil
	}
	m := w.manifest.clone()
	m.Incrs = append(m.Incrs, e)
	if _, err := writeManifest(w.fsys, m); err != nil {
		// The new file stays (the manifest on disk may name it); Open
		// removes it if not.
		f.Close()
		w.rewriteFailed(rw, fmt.Errorf("aof: rewrite: %w", err))
		return nil
	}
	old := w.file
	oldSize := w.fileBase + int64(rw.boundary-w.fileStart)
	w.file, w.fileName, w.fileStart, w.fileBase, w.manifest = f, e.Name, rw.boundary, 0, m
	if err := old.Close(); err != nil {
		w.log.Warn("aof: closing the previous incremental file", "err", err)
	}
	w.st.switched(oldSize, rw.boundary)
	w.mu.Lock()
	rw.switched, rw.newIncr = true, e
	w.mu.Unlock()
	w.log.Info("aof: rewrite started; new commands go to a new incremental file", "file", e.Name)
	return nil
}

func (w *Writer) rewriteFailed(rw *Rewrite, err error) {
	w.mu.Lock()
	rw.failed = err
	w.mu.Unlock()
	w.log.Warn("aof: rewrite failed", "err", err)
}

// Finish writes the new base file with write (given a buffered writer;
// the caller's point-in-time view of the data, in format) and switches
// the AOF to it atomically: the base is written to a temporary file,
// fsynced and renamed, the directory fsynced, then a new manifest naming
// the new base and the incremental files since the boundary replaces the
// old one (temporary file, fsync, rename, fsync the directory), and only
// then are the old base and incremental files removed. A crash at any
// point leaves either the old AOF or the new one. Call it without the
// engine lock: it writes the whole data set. An error leaves the old AOF
// in force (with the incremental file started by the rewrite), and the
// Writer goes on appending.
func (r *Rewrite) Finish(format BaseFormat, write func(w io.Writer) error) (err error) {
	w := r.w
	defer func() { r.end(err) }()
	w.mu.Lock()
	if r.finished {
		w.mu.Unlock()
		return errors.New("aof: rewrite already finished")
	}
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.mu.Unlock()

	// 1. Switch to the new incremental file, if no write did yet.
	w.writeMu.Lock()
	w.mu.Lock()
	switched, failed := r.switched, r.failed
	w.mu.Unlock()
	if !switched && failed == nil {
		if err := w.writeLocked(); err != nil {
			w.writeMu.Unlock()
			return fmt.Errorf("aof: rewrite: %w", err)
		}
		w.mu.Lock()
		switched, failed = r.switched, r.failed
		w.mu.Unlock()
		if !switched && failed == nil {
			if err := w.switchLocked(r); err != nil {
				w.writeMu.Unlock()
				return fmt.Errorf("aof: rewrite: %w", err)
			}
			w.mu.Lock()
			failed = r.failed
			w.mu.Unlock()
		}
	}
	seq := w.nextBase
	w.nextBase++
	w.writeMu.Unlock()
	if failed != nil {
		return failed
	}

	// 2. The new base, complete and durable under its final name before
	// anything names it.
	name := baseName(seq, format == BaseRDB)
	size, err := writeBase(w.fsys, name, write)
	if err != nil {
		return fmt.Errorf("aof: rewrite: writing %s: %w", name, err)
	}

	// 3. The manifest: the commit point.
	w.writeMu.Lock()
	w.syncMu.Lock()
	w.mu.Lock()
	isClosed := w.closed
	w.mu.Unlock()
	if isClosed {
		w.syncMu.Unlock()
		w.writeMu.Unlock()
		_ = w.fsys.Remove(name)
		return ErrClosed
	}
	m := &Manifest{Base: &Entry{Name: name, Seq: seq, Kind: KindBase}}
	var closed int64
	for i, e := range w.manifest.Incrs {
		if e.Seq >= r.newIncr.Seq {
			m.Incrs = append(m.Incrs, w.manifest.Incrs[i:]...)
			break
		}
	}
	for _, e := range m.Incrs[:len(m.Incrs)-1] {
		n, _ := fileSize(w.fsys, e.Name)
		closed += n
	}
	renamed, err := writeManifest(w.fsys, m)
	if err != nil {
		w.syncMu.Unlock()
		w.writeMu.Unlock()
		if !renamed {
			_ = w.fsys.Remove(name)
		}
		return fmt.Errorf("aof: rewrite: %w", err)
	}
	old := w.manifest
	w.manifest = m
	w.st.rewritten(size, closed, w.written.Load())
	w.syncMu.Unlock()
	w.writeMu.Unlock()

	// 4. The old files are garbage now.
	keep := map[string]bool{}
	for _, n := range m.names() {
		keep[n] = true
	}
	for _, n := range old.names() {
		if !keep[n] {
			if err := w.fsys.Remove(n); err != nil {
				w.log.Warn("aof: removing a file the rewrite replaced", "file", n, "err", err)
			}
		}
	}
	_ = w.fsys.SyncDir()
	w.log.Info("aof: rewrite done", "base", name, "base_bytes", size,
		"duration", time.Since(r.started).Round(time.Millisecond))
	return nil
}

// writeBase writes name atomically through write and returns its size.
func writeBase(fsys FS, name string, write func(io.Writer) error) (int64, error) {
	tmp := name + tmpSuffix
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return 0, err
	}
	if err := fsys.SyncDir(); err != nil {
		_ = fsys.Remove(name) // named by no manifest yet
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Abort abandons the rewrite. If the switch to the new incremental file
// happened, the AOF keeps it (the manifest names the old files and it).
// Abort after Finish does nothing.
func (r *Rewrite) Abort() { r.end(ErrRewriteAborted) }

// end records the outcome of the rewrite, once.
func (r *Rewrite) end(err error) {
	w := r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	if w.rw == r {
		w.rw = nil
	}
	w.st.rewriteEnded(err, time.Since(r.started))
}

// NeedsRewrite reports whether the AOF should be rewritten, as Redis's
// auto-aof-rewrite: its total size (base and incremental files) is at
// least RewriteMinSize and has grown by RewritePercent since the last
// rewrite (or since Open). False while a rewrite runs, after a failure,
// or when RewritePercent is negative. The server polls it (cheap) from a
// timer, not from the command path.
func (w *Writer) NeedsRewrite() bool {
	if w.opts.RewritePercent < 0 || w.Err() != nil {
		return false
	}
	w.mu.Lock()
	busy := w.rw != nil || w.closed
	w.mu.Unlock()
	if busy {
		return false
	}
	cur, base := w.st.sizes(w.written.Load())
	if cur < w.opts.RewriteMinSize {
		return false
	}
	base = max(base, 1)
	return (cur-base)*100/base >= int64(w.opts.RewritePercent)
}
