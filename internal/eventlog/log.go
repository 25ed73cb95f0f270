package eventlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxFileSize = 16 << 20
	DefaultMaxFiles    = 10
	DefaultQueueSize   = 8192
	DefaultSyncEvery   = time.Second
)

// Limits of the writer.
const (
	batchMax     = 1024      // entries taken from the queue at once
	bufMax       = 256 << 10 // bytes of lines kept before one write
	retainEvery  = time.Minute
	maxCreateTry = 4 // names taken by someone else before create gives up
)

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("eventlog: closed")

// Options configure a Log. Only Dir is required.
type Options struct {
	Dir         string        // the event directory, e.g. <instance data dir>/events; created 0700 (without FS)
	FS          FS            // the event directory itself, e.g. a datadir.Dir from Sub; nil: Dir, by path (see below)
	Instance    string        // the instance of the Log's own entries and of entries that name none
	MaxFileSize int64         // a file that reaches this size is closed and a new one started (DefaultMaxFileSize)
	MaxFiles    int           // retention: closed files kept beside the current one (DefaultMaxFiles)
	MaxAge      time.Duration // retention: closed files last written longer ago are removed (0: no age limit)
	QueueSize   int           // entries waiting for the writer before new ones are dropped (DefaultQueueSize)
	SyncEvery   time.Duration // fsync interval while there are unsynced writes, and retry interval while failing (DefaultSyncEvery)
	Logger      *slog.Logger  // nil: no log lines
	Now         func() time.Time
}

// With FS set, every file operation of the Log goes through it (create,
// open, read, remove, fsync of the directory, listing) and Dir only names
// the directory in messages: a directory swapped for a symlink while the
// Log runs changes nothing. The Log owns FS: when its writer has finished
// (after Close, or in the background after CloseContext gave up) it closes
// FS if FS has a Close method; the caller must not close it. If Open
// fails, FS is left to the caller.
//
// Without FS the Log works by path, resolving Dir again for each
// operation; it refuses a Dir that is a symlink when it reads the
// directory, but a directory on the way swapped later is followed. A
// server uses FS; the path is for tests and tools.

// Stats describe the state of a Log, for metrics and INFO.
type Stats struct {
	Written     uint64 // entries written since Open, the Log's own included
	Dropped     uint64 // caller entries lost: queue full, or the file unwritable
	WriteErrors uint64 // failed writes, fsyncs and opens
	LastError   string // the last of them, "" if none
	Failing     bool   // the last attempt to write failed; retried every SyncEvery
	Seq         uint64 // seq of the last entry written (0: none yet)
	Head        string // its hash: what Verify reports as Head if nothing was cut off since
	Files       int    // event files in the directory
	Bytes       int64  // their total size
	Queued      int    // entries waiting for the writer
}

// Log is an open event log. Append may be called from any goroutine;
// one goroutine owned by the Log writes.
type Log struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu     sync.RWMutex // held for reading by Append while it queues, for writing by Close
	closed bool
	queue  chan Entry

	flushc  chan chan error
	done    chan struct{} // closed when the writer has finished
	dropped atomic.Uint64

	statMu sync.Mutex
	stats  Stats

	closeErr    error  // set by the writer before done is closed
	beforeWrite func() // tests: called by the writer before each batch
}

// Open starts a Log writing to opts.Dir, continuing the chain of the
// files already there. It fails only on invalid options: trouble with the
// directory or its files never stops the caller; it is logged, shown by
// Stats and retried every SyncEvery.
func Open(opts Options) (*Log, error) { return open(opts, nil) }

func open(opts Options, beforeWrite func()) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("eventlog: no directory")
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = DefaultSyncEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		opts:        opts,
		log:         log,
		now:         opts.Now,
		queue:       make(chan Entry, opts.QueueSize),
		flushc:      make(chan chan error),
		done:        make(chan struct{}),
		beforeWrite: beforeWrite,
	}
	w := &writer{l: l, opts: &l.opts, fs: opts.FS, hash: ZeroHash, bufHash: ZeroHash}
	if w.fs == nil {
		w.fs = pathFS{opts.Dir}
	}
	go w.run()
	return l, nil
}

// Append queues e for writing and returns at once: it never waits for the
// disk or the writer. When the queue is full (or the Log is closed) e is
// dropped and counted; the writer records the count in the log itself
// with an events_dropped entry at its next write, so the gap is part of
// the chain. A zero Time is set to now, an empty Type to TypeUnknown;
// strings longer than the limits are cut. Append copies Fields. e must not hold a secret: the Log writes
// exactly what it is given.
func (l *Log) Append(e Entry) {
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	sanitize(&e)
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.queue <- e:
	default:
		l.dropped.Add(1)
	}
}

// Flush waits until every entry appended before it was written (or
// dropped) and fsynced. While the log is failing it tries once more at
// once, and returns the error if that fails too.
func (l *Log) Flush() error {
	reply := make(chan error, 1)
	select {
	case l.flushc <- reply:
		return <-reply
	case <-l.done:
		return ErrClosed
	}
}

// Close writes what is queued, fsyncs and closes the file. Later Appends
// are dropped. It returns the error that kept the last writes from the
// disk, if any. It waits for the disk as long as it takes: see
// CloseContext.
func (l *Log) Close() error { return l.CloseContext(context.Background()) }

// CloseContext is Close that stops waiting when ctx ends, as when the
// disk under the files stops answering, and returns ctx.Err(). The Log is
// closed all the same (later Appends are dropped); its writer finishes
// what it was doing in the background, writes what is queued, and ends,
// with its goroutine, when the disk answers. A later Close waits for it.
func (l *Log) CloseContext(ctx context.Context) error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		return l.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the current state of the Log.
func (l *Log) Stats() Stats {
	l.statMu.Lock()
	s := l.stats
	l.statMu.Unlock()
	s.Dropped = l.dropped.Load()
	s.Queued = len(l.queue)
	return s
}

// Dir returns the event directory.
func (l *Log) Dir() string { return l.opts.Dir }
