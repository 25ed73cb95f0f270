package aof

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/resp"
)

// Policy is the appendfsync setting.
type Policy int

// Fsync policies, as Redis's appendfsync.
const (
	// FsyncEverySec writes on Commit and fsyncs once a second in the
	// background: a crash of the machine loses at most about two seconds.
	FsyncEverySec Policy = iota
	// FsyncAlways writes and fsyncs before Commit returns.
	FsyncAlways
	// FsyncNo writes on Commit and leaves flushing to the OS.
	FsyncNo
)

func (p Policy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	default:
		return "everysec"
	}
}

// ParsePolicy parses "always", "everysec" or "no".
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(s) {
	case "always":
		return FsyncAlways, nil
	case "everysec":
		return FsyncEverySec, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("aof: unknown appendfsync policy %q (always, everysec or no)", s)
}

// Defaults of Options.
const (
	DefaultRewritePercent = 100      // auto-aof-rewrite-percentage
	DefaultRewriteMinSize = 64 << 20 // auto-aof-rewrite-min-size
	DefaultWriteThreshold = 4 << 20  // buffered bytes that wake the background writer
	DefaultInterval       = time.Second
	slowFsync             = 2 * time.Second // an fsync this slow is counted, as Redis's aof_delayed_fsync
	maxRetainedBuffer     = 16 << 20        // a larger idle buffer is released
	// maxUnsynced bounds the bytes kept in memory until they are fsynced
	// (for the retry after a failure) under everysec: past it the
	// background goroutine fsyncs early.
	maxUnsynced = 32 << 20
)

// Options configure a Writer. The zero value is everysec with Redis's
// defaults.
type Options struct {
	Log   *slog.Logger
	Fsync Policy
	// RewritePercent and RewriteMinSize drive NeedsRewrite
	// (auto-aof-rewrite-percentage, auto-aof-rewrite-min-size). 0 means
	// the default; a negative RewritePercent disables automatic rewrites.
	RewritePercent int
	RewriteMinSize int64
	// WriteThreshold is the number of buffered bytes at which Append
	// wakes the background goroutine to write them (everysec and no), for
	// callers that do not Commit. 0 means DefaultWriteThreshold.
	WriteThreshold int
	// Interval is the period of the background goroutine: the fsync of
	// everysec, and the retry after a failure. 0 means one second.
	Interval time.Duration
	// OnError, if set, is called with the error when the writer enters
	// the failed state, and with nil when it recovers. It runs on the
	// goroutine that saw the change, with no lock of the Writer held, and
	// must not block.
	OnError func(err error)
}

// Error is the failed state of a Writer: a write or an fsync of the AOF
// failed. Until a retry succeeds the caller refuses write commands with
// Reply().
type Error struct {
	Op   string // "write", "fsync" or "truncate"
	File string // full path
	Err  error
	At   time.Time
}

func (e *Error) Error() string {
	return fmt.Sprintf("aof: %s %s: %v", e.Op, e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Reply is the error a client gets for a write command while the AOF is
// failing, with Redis's MISCONF prefix.
func (e *Error) Reply() string {
	return "MISCONF Errors writing to the AOF file: " + errText(e.Err)
}

// errText is the innermost error text ("no space left on device").
func errText(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("aof: writer closed")

// Writer appends commands to the AOF. See the package documentation for
// the calls the server makes and under which lock.
//
// Bytes flow through three positions of one logical stream, counted from
// the Writer's creation: appended (in memory), written (handed to the OS)
// and synced (fsynced). Append returns the stream position after the
// command, which Commit waits for.
type Writer struct {
	fsys FS
	log  *slog.Logger
	opts Options

	mu       sync.Mutex
	store    []byte // bytes [dropped, appended) of the stream are store[head:]
	head     int
	dropped  uint64
	appended uint64
	rw       *Rewrite // the rewrite in progress
	closed   bool

	written atomic.Uint64
	synced  atomic.Uint64
	failure atomic.Pointer[Error]
	// repairing is set while repair retries in the failed state.
	repairing atomic.Bool

	// writeMu serializes writes, the switch to a new incremental file and
	// the repair after a failure; syncMu serializes fsyncs. Order:
	// writeMu, then syncMu, then mu. file, fileStart, fileBase and
	// manifest change only with writeMu and syncMu both held.
	writeMu   sync.Mutex
	syncMu    sync.Mutex
	file      File
	fileName  string
	fileStart uint64 // stream position of the file's byte fileBase
	fileBase  int64
	manifest  *Manifest
	// Numbers never reused, even by a failed attempt's orphan.
	nextIncr, nextBase int64

	st statsState

	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// Open opens the AOF of fsys for appending, after Load has replayed it
// (loaded is what Load returned: Open checks the file it appends to is
// the one Load read, so a torn tail cannot be appended to). For a fresh
// directory it creates the first incremental file and the manifest; for a
// Redis 6 single-file AOF it adds an incremental file after it. Files of
// the AOF that the manifest does not name (left by a crash during a
// rewrite) are removed. Close the Writer when done.
func Open(fsys FS, loaded *LoadInfo, opts Options) (*Writer, error) {
	if loaded == nil {
		return nil, errors.New("aof: Open needs the LoadInfo of a Load of the same directory")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.RewritePercent == 0 {
		opts.RewritePercent = DefaultRewritePercent
	}
	if opts.RewriteMinSize <= 0 {
		opts.RewriteMinSize = DefaultRewriteMinSize
	}
	if opts.WriteThreshold <= 0 {
		opts.WriteThreshold = DefaultWriteThreshold
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	w := &Writer{fsys: fsys, log: opts.Log, opts: opts, kick: make(chan struct{}, 1), done: make(chan struct{})}
	if err := w.openFiles(loaded); err != nil {
		return nil, err
	}
	w.st.lastSync = time.Now()
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// openFiles sets up the manifest and the file to append to.
func (w *Writer) openFiles(loaded *LoadInfo) error {
	m, err := readManifest(w.fsys)
	switch {
	case errors.Is(err, errNoManifest):
		if !loaded.Fresh {
			return errors.New("aof: the manifest disappeared since Load")
		}
		m = &Manifest{}
	case err != nil:
		return fmt.Errorf("aof: %w", err)
	case loaded.Fresh || loaded.Manifest == nil || string(m.Marshal()) != string(loaded.Manifest.Marshal()):
		return errors.New("aof: the AOF changed since Load; Load it again")
	}
	w.nextBase, w.nextIncr = m.nextBaseSeq(), m.nextIncrSeq()
	if len(m.Incrs) == 0 { // fresh, or a Redis 6 AOF as the base
		e := Entry{Name: incrName(w.nextIncr), Seq: w.nextIncr, Kind: KindIncr}
		w.nextIncr++
		f, err := w.fsys.OpenFile(e.Name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, fileMode)
		if err != nil {
			return fmt.Errorf("aof: creating %s: %w", e.Name, err)
		}
		f.Close()
		m.Incrs = append(m.Incrs, e)
		if _, err := writeManifest(w.fsys, m); err != nil {
			return fmt.Errorf("aof: %w", err)
		}
		loaded.LastIncrSize = 0
	}
	w.manifest = m
	w.removeOrphans()

	last := m.lastIncr()
	f, err := w.fsys.OpenFile(last.Name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("aof: opening %s: %w", last.Name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("aof: %w", err)
	}
	if fi.Size() != loaded.LastIncrSize {
		f.Close()
		return fmt.Errorf("aof: %s is %d bytes, Load read %d; Load it again", last.Name, fi.Size(), loaded.LastIncrSize)
	}
	w.file, w.fileName, w.fileBase = f, last.Name, fi.Size()
	var closedIncrs int64
	for _, e := range m.Incrs[:len(m.Incrs)-1] {
		n, err := fileSize(w.fsys, e.Name)
		if err != nil {
			f.Close()
			return fmt.Errorf("aof: %w", err)
		}
		closedIncrs += n
	}
	if m.Base != nil {
		if w.st.baseSize, err = fileSize(w.fsys, m.Base.Name); err != nil {
			f.Close()
			return fmt.Errorf("aof: %w", err)
		}
	}
	w.st.closedIncrs, w.st.curBase = closedIncrs, fi.Size()
	w.st.rewriteBase = w.st.baseSize + closedIncrs + fi.Size()
	return nil
}

// removeOrphans removes the files of the AOF that the manifest does not
// name: the leftovers of a rewrite a crash interrupted.
func (w *Writer) removeOrphans() {
	ents, err := w.fsys.ReadDir()
	if err != nil {
		w.log.Warn("aof: listing the data directory", "err", err)
		return
	}
	keep := map[string]bool{}
	for _, n := range w.manifest.names() {
		keep[n] = true
	}
	for _, e := range ents {
		if n := e.Name(); isOurs(n) && !keep[n] {
			if err := w.fsys.Remove(n); err != nil {
				w.log.Warn("aof: removing a leftover file", "file", n, "err", err)
			} else {
				w.log.Info("aof: removed a leftover file", "file", n)
			}
		}
	}
}

// Append adds a command to the in-memory buffer and returns the stream
// position after it, for Commit. It does no I/O and never blocks on the
// disk; call it under the engine lock, right after the command changed
// the data, so the order of the log is the order of execution. Append
// buffers even while the Writer has failed (the change is already in
// memory; it reaches the file when the fault clears): refusing write
// commands is the caller's job, with Err.
func (w *Writer) Append(args ...[]byte) uint64 {
	w.mu.Lock()
	n := len(w.store)
	w.store = resp.AppendCommand(w.store, args...)
	return w.appendedLocked(n)
}

// AppendRaw adds pre-encoded RESP commands (for example a whole MULTI …
// EXEC block, which then cannot be split by a rewrite) and returns the
// stream position after them. p must hold complete commands.
func (w *Writer) AppendRaw(p []byte) uint64 {
	w.mu.Lock()
	n := len(w.store)
	w.store = append(w.store, p...)
	return w.appendedLocked(n)
}

// appendedLocked accounts the bytes appended after store[n:] and unlocks.
func (w *Writer) appendedLocked(n int) uint64 {
	w.appended += uint64(len(w.store) - n)
	seq := w.appended
	pending := seq - w.written.Load()
	retained := seq - w.dropped
	w.mu.Unlock()
	if (pending >= uint64(w.opts.WriteThreshold) || retained >= maxUnsynced) && w.opts.Fsync != FsyncAlways {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return seq
}

// Position returns the stream position after everything appended so far.
func (w *Writer) Position() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appended
}

// Commit returns once the bytes up to position seq are as durable as the
// policy promises: written to the OS and fsynced (always), written to the
// OS (everysec, no: a crash of the process loses nothing, a crash of the
// machine what was not fsynced yet). The server calls it, with no engine
// lock held, before it sends the replies of a batch of commands, with the
// largest position Append returned for the batch. Concurrent Commits
// share writes and fsyncs (group commit): one system call serves every
// connection waiting.
//
// An error (a *Error, or ErrClosed) means the bytes are not durable: the
// client must not be told its write succeeded; answer with the error's
// Reply instead. The change stays in memory and is retried.
func (w *Writer) Commit(seq uint64) error {
	if w.reached(seq) {
		return nil
	}
	if err := w.write(seq); err != nil {
		return err
	}
	if w.opts.Fsync != FsyncAlways {
		return nil
	}
	return w.sync(seq)
}

// Flush commits everything appended so far.
func (w *Writer) Flush() error { return w.Commit(w.Position()) }

// reached reports whether position seq is durable under the policy.
func (w *Writer) reached(seq uint64) bool {
	if w.opts.Fsync == FsyncAlways {
		return w.synced.Load() >= seq
	}
	return w.written.Load() >= seq
}

// Err returns the failed state, or nil when the Writer is healthy. The
// server checks it (it is cheap: one atomic load) before running a write
// command, and refuses the command with Err().Reply() when it is not nil.
// After Close it reports an error wrapping ErrClosed.
func (w *Writer) Err() *Error { return w.failure.Load() }

// write writes the buffer up to at least seq.
func (w *Writer) write(seq uint64) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if w.written.Load() >= seq {
		return nil
	}
	return w.writeLocked()
}

// writeLocked writes everything appended, switching to the new
// incremental file at the boundary of a rewrite. writeMu is held. It
// refuses in the failed state, except during repair.
func (w *Writer) writeLocked() error {
	for {
		if err := w.stateErr(); err != nil && !w.repairing.Load() {
			return err
		}
		w.mu.Lock()
		start, end := w.written.Load(), w.appended
		if rw := w.rw; rw != nil && !rw.switched && rw.failed == nil && start == rw.boundary && end > start {
			w.mu.Unlock()
			if err := w.switchLocked(rw); err != nil {
				return err
			}
			continue
		} else if rw != nil && !rw.switched && rw.failed == nil && start < rw.boundary && end > rw.boundary {
			end = rw.boundary
		}
		chunk := w.store[w.head+int(start-w.dropped) : w.head+int(end-w.dropped)]
		w.mu.Unlock()
		if len(chunk) == 0 {
			return nil
		}
		if _, err := w.file.Write(chunk); err != nil {
			// A partial write is undone by the repair (truncation to
			// the last position known good) before anything else is
			// written.
			return w.fail("write", err)
		}
		w.written.Store(end)
		w.st.addWrite(len(chunk))
		if w.opts.Fsync == FsyncNo {
			w.mu.Lock()
			w.dropLocked(end)
			w.mu.Unlock()
		}
	}
}

// stateErr is the error that stops writing: failed or closed.
func (w *Writer) stateErr() error {
	if e := w.failure.Load(); e != nil {
		return e
	}
	return nil
}

// sync fsyncs the current file if position seq is not synced yet.
func (w *Writer) sync(seq uint64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced.Load() >= seq {
		return nil
	}
	if err := w.stateErr(); err != nil {
		return err
	}
	return w.syncLocked()
}

// syncLocked fsyncs the current file and marks what was written before
// as synced. syncMu is held.
func (w *Writer) syncLocked() error {
	target := w.written.Load()
	if w.synced.Load() >= target {
		return nil
	}
	t0 := time.Now()
	if err := w.file.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty
		// pages: what was written since the last good fsync is rewritten
		// from memory by the repair.
		return w.fail("fsync", err)
	}
	w.st.addSync(time.Since(t0))
	if target > w.synced.Load() {
		w.synced.Store(target)
	}
	w.mu.Lock()
	w.dropLocked(target)
	w.mu.Unlock()
	return nil
}

// dropLocked releases the bytes before position pos, which the file no
// longer needs to be rewritten from. mu is held.
func (w *Writer) dropLocked(pos uint64) {
	if pos <= w.dropped {
		return
	}
	w.head += int(pos - w.dropped)
	w.dropped = pos
	switch {
	case w.head == len(w.store):
		// Drained: nothing is being written from the store, reuse it.
		if cap(w.store) > maxRetainedBuffer {
			w.store = nil
		}
		w.store, w.head = w.store[:0], 0
	case w.head > 1<<20 && w.head > len(w.store)/2:
		// A new array: a write in progress may still read the old one.
		live := w.store[w.head:]
		w.store = append(make([]byte, 0, max(2*len(live), 64<<10)), live...)
		w.head = 0
	}
}

// fail enters the failed state (the first failure wins) and returns it.
func (w *Writer) fail(op string, err error) error {
	e := &Error{Op: op, File: filepath.Join(w.fsys.Path(), w.fileName), Err: err, At: time.Now()}
	if w.repairing.Load() {
		return e // a failed retry: repair records it, the state stays failed
	}
	if !w.failure.CompareAndSwap(nil, e) {
		return w.failure.Load()
	}
	w.st.setLastWriteErr(e)
	w.log.Error("aof: "+op+" failed: writes are refused until it succeeds again (retried every "+
		w.opts.Interval.String()+")", "file", e.File, "err", err)
	if w.opts.OnError != nil {
		w.opts.OnError(e)
	}
	return e
}

// loop is the background goroutine: everysec's fsync, writes of a big
// buffer, and the retry after a failure.
func (w *Writer) loop() {
	defer w.wg.Done()
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-w.kick:
			if w.Err() == nil {
				pos := w.Position()
				if w.write(pos) == nil && w.opts.Fsync == FsyncEverySec && w.retainedBytes() >= maxUnsynced {
					// Under a heavy write load, fsync before the second is
					// up rather than hold more than maxUnsynced in memory.
					_ = w.sync(pos)
				}
			}
		case <-t.C:
			if w.Err() != nil {
				w.repair()
				continue
			}
			pos := w.Position()
			if w.write(pos) != nil || w.opts.Fsync == FsyncNo {
				continue
			}
			_ = w.sync(pos)
		}
	}
}

// repair retries after a failure: it truncates the file to the last
// position that is known good (synced, or written under FsyncNo), writes
// everything since again from memory and fsyncs. Only when all of that
// succeeds does the Writer leave the failed state.
func (w *Writer) repair() {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	prev := w.failure.Load()
	if prev == nil {
		return
	}
	w.mu.Lock()
	good := w.dropped
	w.mu.Unlock()
	w.syncMu.Lock()
	err := w.file.Truncate(w.fileBase + int64(good-w.fileStart))
	w.syncMu.Unlock()
	if err != nil {
		w.retryFailed(prev, &Error{Op: "truncate", File: prev.File, Err: err, At: time.Now()})
		return
	}
	w.written.Store(good)
	w.repairing.Store(true)
	defer w.repairing.Store(false)
	if err := w.writeLocked(); err != nil {
		w.retryFailed(prev, err)
		return
	}
	w.syncMu.Lock()
	err = w.syncLocked()
	w.syncMu.Unlock()
	if err != nil {
		w.retryFailed(prev, err)
		return
	}
	w.failure.Store(nil)
	w.st.setLastWriteErr(nil)
	w.log.Info("aof: writes and fsyncs succeed again; accepting writes", "file", prev.File,
		"failed_for", time.Since(prev.At).Round(time.Millisecond))
	if w.opts.OnError != nil {
		w.opts.OnError(nil)
	}
}

// retryFailed keeps the Writer failed after a retry failed with err.
func (w *Writer) retryFailed(prev *Error, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Op: prev.Op, File: prev.File, Err: err, At: time.Now()}
	}
	w.failure.Store(e) // still failed, with the latest error
	w.st.setLastWriteErr(e)
	w.log.Warn("aof: retry failed; writes still refused", "err", err)
}

// Close writes and fsyncs what is buffered (whatever the policy), stops
// the background goroutine and closes the file. It returns the error if
// the bytes could not be made durable. A rewrite in progress is
// abandoned.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.mu.Unlock()
	close(w.done)
	w.wg.Wait()
	if w.Err() != nil {
		w.repair()
	}
	err := w.stateErr()
	if err == nil {
		pos := w.Position()
		if err = w.write(pos); err == nil {
			w.syncMu.Lock()
			err = w.syncLocked()
			w.syncMu.Unlock()
		}
	}
	w.writeMu.Lock()
	w.syncMu.Lock()
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	w.failure.CompareAndSwap(nil, &Error{Op: "close", File: w.fileName, Err: ErrClosed, At: time.Now()})
	w.syncMu.Unlock()
	w.writeMu.Unlock()
	return err
}

// retainedBytes is how many appended bytes are still kept in memory.
func (w *Writer) retainedBytes() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appended - w.dropped
}
