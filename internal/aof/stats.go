package aof

import (
	"strconv"
	"sync"
	"time"
)

// Stats is the state of a Writer for INFO persistence and metrics.
type Stats struct {
	Policy            Policy
	CurrentSize       int64 // aof_current_size: base and incremental files, bytes written
	BaseSize          int64 // aof_base_size: the base file
	RewriteBaseSize   int64 // aof_rewrite_base_size: CurrentSize after the last rewrite or at Open
	BufferLength      int64 // aof_buffer_length: appended, not written yet
	PendingFsyncBytes int64 // written, not fsynced yet
	FsyncLag          time.Duration
	LastFsync         time.Time
	DelayedFsyncs     int64 // aof_delayed_fsync: fsyncs slower than two seconds
	Writes            int64
	Fsyncs            int64
	BytesWritten      int64

	LastWriteErr string // "" when the last write and fsync succeeded (aof_last_write_status:ok)
	Failing      bool   // writes refused until a retry succeeds

	RewriteInProgress      bool          // aof_rewrite_in_progress
	CurrentRewriteDuration time.Duration // aof_current_rewrite_time_sec
	LastRewriteDuration    time.Duration // aof_last_rewrite_time_sec
	LastRewriteErr         string        // "" when the last rewrite succeeded (aof_last_bgrewrite_status:ok)
	Rewrites               int64         // aof_rewrites
	RewritesFailed         int64
}

// statsState holds the counters behind Stats.
type statsState struct {
	mu           sync.Mutex
	baseSize     int64
	closedIncrs  int64 // bytes of the incremental files before the current one
	curBase      int64 // size of the current file at stream position curStart
	curStart     uint64
	rewriteBase  int64
	lastSync     time.Time
	delayed      int64
	writes       int64
	syncs        int64
	bytes        int64
	lastWriteErr string
	rwStart      time.Time
	rwLast       time.Duration
	rwErr        string
	rwCount      int64
	rwFailed     int64
}

func (s *statsState) addWrite(n int) {
	s.mu.Lock()
	s.writes++
	s.bytes += int64(n)
	s.mu.Unlock()
}

func (s *statsState) addSync(d time.Duration) {
	s.mu.Lock()
	s.syncs++
	s.lastSync = time.Now()
	if d > slowFsync {
		s.delayed++
	}
	s.mu.Unlock()
}

func (s *statsState) setLastWriteErr(e *Error) {
	s.mu.Lock()
	if e == nil {
		s.lastWriteErr = ""
	} else {
		s.lastWriteErr = e.Error()
	}
	s.mu.Unlock()
}

func (s *statsState) rewriteStarted(t time.Time) {
	s.mu.Lock()
	s.rwStart = t
	s.mu.Unlock()
}

// switched records the move to a new incremental file at position start.
func (s *statsState) switched(oldSize int64, start uint64) {
	s.mu.Lock()
	s.closedIncrs += oldSize
	s.curBase, s.curStart = 0, start
	s.mu.Unlock()
}

// rewritten records the new base and the incremental files it kept.
func (s *statsState) rewritten(baseSize, closedIncrs int64, written uint64) {
	s.mu.Lock()
	s.baseSize, s.closedIncrs = baseSize, closedIncrs
	s.rewriteBase = s.currentLocked(written)
	s.mu.Unlock()
}

func (s *statsState) rewriteEnded(err error, d time.Duration) {
	s.mu.Lock()
	s.rwStart = time.Time{}
	s.rwLast = d
	if err != nil {
		s.rwErr = err.Error()
		s.rwFailed++
	} else {
		s.rwErr = ""
		s.rwCount++
	}
	s.mu.Unlock()
}

func (s *statsState) currentLocked(written uint64) int64 {
	return s.baseSize + s.closedIncrs + s.curBase + int64(written-s.curStart)
}

// sizes returns the current size and the size after the last rewrite.
func (s *statsState) sizes(written uint64) (cur, rewriteBase int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentLocked(written), s.rewriteBase
}

// Stats returns the Writer's state.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	appended := w.appended
	w.mu.Unlock()
	written, synced := w.written.Load(), w.synced.Load()
	s := &w.st
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Policy:          w.opts.Fsync,
		CurrentSize:     s.currentLocked(written),
		BaseSize:        s.baseSize,
		RewriteBaseSize: s.rewriteBase,
		BufferLength:    int64(appended - written),
		LastFsync:       s.lastSync,
		DelayedFsyncs:   s.delayed,
		Writes:          s.writes,
		Fsyncs:          s.syncs,
		BytesWritten:    s.bytes,
		LastWriteErr:    s.lastWriteErr,
		Failing:         w.failure.Load() != nil,

		RewriteInProgress:   !s.rwStart.IsZero(),
		LastRewriteDuration: s.rwLast,
		LastRewriteErr:      s.rwErr,
		Rewrites:            s.rwCount,
		RewritesFailed:      s.rwFailed,
	}
	if w.opts.Fsync != FsyncNo && written > synced {
		st.PendingFsyncBytes = int64(written - synced)
		st.FsyncLag = time.Since(s.lastSync)
	}
	if st.RewriteInProgress {
		st.CurrentRewriteDuration = time.Since(s.rwStart)
	}
	return st
}

// AppendInfo appends the aof_* lines of INFO persistence, as Redis 7
// names them, to b (aof_enabled is the caller's).
func (s Stats) AppendInfo(b []byte) []byte {
	kv := func(k string, v int64) {
		b = append(b, k...)
		b = append(b, ':')
		b = strconv.AppendInt(b, v, 10)
		b = append(b, "\r\n"...)
	}
	status := func(k, errText string) {
		b = append(b, k...)
		if errText == "" {
			b = append(b, ":ok\r\n"...)
		} else {
			b = append(b, ":err\r\n"...)
		}
	}
	kv("aof_rewrite_in_progress", bool01(s.RewriteInProgress))
	kv("aof_last_rewrite_time_sec", secOrMinus(s.LastRewriteDuration, s.Rewrites+s.RewritesFailed > 0))
	kv("aof_current_rewrite_time_sec", secOrMinus(s.CurrentRewriteDuration, s.RewriteInProgress))
	status("aof_last_bgrewrite_status", s.LastRewriteErr)
	kv("aof_rewrites", s.Rewrites)
	status("aof_last_write_status", s.LastWriteErr)
	kv("aof_current_size", s.CurrentSize)
	kv("aof_base_size", s.BaseSize)
	kv("aof_rewrite_base_size", s.RewriteBaseSize)
	kv("aof_buffer_length", s.BufferLength)
	kv("aof_pending_fsync_bytes", s.PendingFsyncBytes)
	kv("aof_fsync_lag_ms", s.FsyncLag.Milliseconds())
	kv("aof_delayed_fsync", s.DelayedFsyncs)
	return b
}

func bool01(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

func secOrMinus(d time.Duration, valid bool) int64 {
	if !valid {
		return -1
	}
	return int64(d / time.Second)
}
