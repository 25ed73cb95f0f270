package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/aof"
	"redoubt/internal/datadir"
	"redoubt/internal/engine"
	"redoubt/internal/rdb"
	"redoubt/internal/resp"
)

// Persistence configures an instance's append-only file.
type Persistence struct {
	Enabled        bool       // appendonly
	Fsync          aof.Policy // appendfsync: always, everysec (default), no
	RewritePercent int        // auto-aof-rewrite-percentage; 0: 100, negative: never
	RewriteMinSize int64      // auto-aof-rewrite-min-size; 0: 64 MiB

	// wrapFS, set by tests, wraps the data directory's FS to inject
	// faults into the append-only file's writes and fsyncs.
	wrapFS func(aof.FS) aof.FS
}

// DefaultPersistence is an append-only file fsynced once a second.
func DefaultPersistence() Persistence { return Persistence{Enabled: true, Fsync: aof.FsyncEverySec} }

// store is the instance's durable state: its locked data directory and,
// when persistence is on, the append-only file.
type store struct {
	dir *datadir.Dir
	aof *aof.Writer // nil when appendonly is off

	mu        sync.Mutex // guards rewriting
	rewriting bool
	// scheduled: BGREWRITEAOF ran inside EXEC, which holds the engine
	// lock; the janitor starts the rewrite.
	scheduled atomic.Bool
}

// aofFeed hands the engine's changes to the append-only file and keeps
// the position of the last one, for the connections that wait for it.
// Both run under the engine lock. With persistence off w is nil and last
// stays 0.
type aofFeed struct {
	w    *aof.Writer
	last uint64
}

func (f *aofFeed) Command(args [][]byte) { f.last = f.w.Append(args...) }

func (f *aofFeed) RawCommand(frame []byte) { f.last = f.w.AppendRaw(frame) }

// openStore locks the data directory, replays the append-only file into
// the engine and opens it for appending.
func (s *Server) openStore(opts Options) error {
	if opts.DataDir == "" {
		return nil // tests that run without a directory
	}
	dir, err := datadir.Open(opts.DataDir, s.log)
	if err != nil {
		return err
	}
	s.store = &store{dir: dir}
	p := opts.Persistence
	if !p.Enabled {
		return nil
	}
	fsys := aof.DirFS(dir)
	if p.wrapFS != nil {
		fsys = p.wrapFS(fsys)
	}
	s.eng.Lock()
	s.eng.SetLoading(true)
	info, err := aof.Load(fsys, s.log, s.loadBase, s.replayer())
	s.eng.SetLoading(false)
	s.eng.Unlock()
	if err != nil {
		dir.Close()
		return err
	}
	w, err := aof.Open(fsys, info, aof.Options{
		Log:            s.log,
		Fsync:          p.Fsync,
		RewritePercent: p.RewritePercent,
		RewriteMinSize: p.RewriteMinSize,
		OnError:        s.aofError,
	})
	if err != nil {
		dir.Close()
		return err
	}
	s.store.aof = w
	s.feed.w = w
	s.eng.Lock()
	s.eng.SetFeed(&s.feed)
	s.eng.Unlock()
	return nil
}

// loadBase loads an RDB base (a snapshot, or an imported dump.rdb) into
// the engine. The caller holds the lock.
func (s *Server) loadBase(r io.Reader) error {
	return rdb.Read(r, rdb.HandlerFunc(s.eng.LoadEntry))
}

// replayer returns the function that runs each logged command on the
// engine, as Redis's fake client does: never blocking, replies dropped.
// MULTI and EXEC only mark a transaction's bounds in the file.
func (s *Server) replayer() func(args [][]byte) error {
	c := s.eng.NewClient(resp.NewWriter(nil))
	c.BeginExec()
	return func(args [][]byte) error {
		if len(args) == 0 {
			return nil
		}
		if bytes.EqualFold(args[0], []byte("multi")) || bytes.EqualFold(args[0], []byte("exec")) {
			return nil
		}
		spec, errReply := s.table.Resolve(args, s.eng.Supports)
		if spec == nil {
			return fmt.Errorf("command %q cannot be replayed: %s", args[0], errReply)
		}
		c.W.Reset()
		s.eng.Exec(c, spec, args)
		return nil
	}
}

// aofError reports the append-only file entering or leaving the failed
// state; the writer has logged it.
func (s *Server) aofError(err error) {
	if err != nil {
		s.aofFailed.Store(true)
	} else {
		s.aofFailed.Store(false)
	}
}

// durabilityRefusal is the error a write command gets while the
// append-only file cannot be written, or "".
func (s *Server) durabilityRefusal() string {
	if s.store == nil || s.store.aof == nil {
		return ""
	}
	if e := s.store.aof.Err(); e != nil {
		return e.Reply()
	}
	return ""
}

// maybeRewrite starts a background rewrite when the file has grown
// enough. Called from the janitor.
func (s *Server) maybeRewrite() {
	if s.store == nil || s.store.aof == nil {
		return
	}
	scheduled := s.store.scheduled.Swap(false)
	if !scheduled && !s.store.aof.NeedsRewrite() {
		return
	}
	switch err := s.startRewrite(); {
	case errors.Is(err, errRewriteRunning):
		if scheduled {
			s.store.scheduled.Store(true) // after the one running
		}
	case err != nil:
		s.log.Warn("append-only file rewrite not started", "err", err)
	}
}

var errRewriteRunning = errors.New("a rewrite is already running")

// startRewrite compacts the append-only file in the background: a new
// base is written from a point-in-time snapshot of the engine while
// writes go on to a new incremental file, then the manifest switches to
// them atomically.
func (s *Server) startRewrite() error {
	st := s.store
	st.mu.Lock()
	if st.rewriting {
		st.mu.Unlock()
		return errRewriteRunning
	}
	st.rewriting = true
	st.mu.Unlock()
	s.eng.Lock()
	rw, err := st.aof.StartRewrite()
	var snap *engine.Snapshot
	if err == nil {
		snap = s.eng.BeginSnapshot()
		// The new incremental file is replayed after the base from
		// database 0: its first command must be preceded by SELECT.
		s.eng.SetFeed(&s.feed)
	}
	s.eng.Unlock()
	if err != nil {
		st.mu.Lock()
		st.rewriting = false
		st.mu.Unlock()
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		start := time.Now()
		err := rw.Finish(aof.BaseRDB, func(out io.Writer) error { return writeSnapshot(out, snap) })
		s.eng.Lock()
		snap.Close()
		s.eng.Unlock()
		st.mu.Lock()
		st.rewriting = false
		st.mu.Unlock()
		if err != nil {
			s.log.Error("append-only file rewrite failed", "err", err)
			return
		}
		s.log.Info("append-only file rewritten", "took", time.Since(start).Round(time.Millisecond))
	}()
	return nil
}

// writeSnapshot writes the snapshot as an RDB file.
func writeSnapshot(out io.Writer, snap *engine.Snapshot) error {
	w, err := rdb.NewWriterOptions(out, rdb.WriterOptions{Version: 10, Producer: "redoubt " + Version})
	if err != nil {
		return err
	}
	for more := true; more; {
		if more, err = snap.Next(512, w.Write); err != nil {
			return err
		}
	}
	return w.Close()
}

// cmdBGRewriteAOF is BGREWRITEAOF (refused by the default policy; an
// operator may enable it).
func cmdBGRewriteAOF(c *conn, args [][]byte) {
	if c.s.store == nil || c.s.store.aof == nil {
		c.replyError("ERR Append only file is not enabled")
		return
	}
	if c.locked {
		// Inside EXEC: starting here would take the engine lock again
		// and split the transaction between two files.
		c.s.store.scheduled.Store(true)
		c.w.WriteSimple("Background append only file rewriting scheduled")
		return
	}
	switch err := c.s.startRewrite(); {
	case err == nil:
		c.w.WriteSimple("Background append only file rewriting started")
	case errors.Is(err, errRewriteRunning):
		c.replyError("ERR Background append only file rewriting already in progress")
	default:
		c.replyError("ERR " + err.Error())
	}
}

// closeStore writes and fsyncs what the append-only file holds and
// unlocks the data directory.
func (s *Server) closeStore() error {
	if s.store == nil {
		return nil
	}
	var err error
	if s.store.aof != nil {
		err = s.store.aof.Close()
	}
	if cerr := s.store.dir.Close(); err == nil {
		err = cerr
	}
	return err
}

// persistenceInfo is INFO persistence.
func (s *Server) persistenceInfo(kv func(string, any)) {
	kv("loading", 0)
	st := s.store
	if st == nil || st.aof == nil {
		kv("aof_enabled", 0)
		return
	}
	kv("aof_enabled", 1)
	for _, line := range bytes.Split(st.aof.Stats().AppendInfo(nil), []byte("\r\n")) {
		if k, v, ok := bytes.Cut(line, []byte(":")); ok {
			kv(string(k), string(v))
		}
	}
}

// appendfsyncName is the CONFIG GET appendfsync answer.
func (s *Server) appendfsyncName() string { return s.opts.Persistence.Fsync.String() }

// appendonlyName is the CONFIG GET appendonly answer.
func (s *Server) appendonlyName() string {
	if s.store != nil && s.store.aof != nil {
		return "yes"
	}
	return "no"
}
