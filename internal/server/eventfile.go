package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"redoubt/internal/eventlog"
	"redoubt/internal/monitor"
)

// The instance's event file: every event the instance records is also
// appended to a hash-chained log in <data>/events (internal/eventlog).
// Appending never blocks the data path: when the writer falls behind or
// the disk fails, events are counted as dropped, and the gap is itself an
// entry once writing works again. INFO security and the metrics report
// the file's state.

// EventFiles configures the rotation and retention of the event file;
// zero fields take eventlog's defaults.
type EventFiles struct {
	MaxFileSize int64
	MaxFiles    int
	MaxAge      time.Duration
}

// openEventFile opens the instance's event log in <data>/events. Every
// file operation goes through the data directory's descriptor (a
// datadir sub-directory), so a data directory swapped for a symlink while
// the instance runs cannot lead its events elsewhere. An instance without
// a data directory has no event file.
func (s *Server) openEventFile(opts Options) {
	if opts.DataDir == "" || s.store == nil {
		return
	}
	var fsys eventlog.FS
	sub, err := s.store.dir.Sub(eventlog.DirName)
	if err != nil {
		// Reported as a failing event file (INFO, metrics), never a
		// reason not to serve.
		s.log.Error("the event directory cannot be opened; events are counted, logged and dropped", "err", err)
		fsys = failingFS{err}
	} else {
		s.evdir = sub
		fsys = sub
	}
	l, err := eventlog.Open(eventlog.Options{
		FS:          fsys,
		Dir:         filepath.Join(opts.DataDir, eventlog.DirName),
		Instance:    opts.Name,
		MaxFileSize: opts.EventFiles.MaxFileSize,
		MaxFiles:    opts.EventFiles.MaxFiles,
		MaxAge:      opts.EventFiles.MaxAge,
		Logger:      s.log,
		Now:         opts.Now,
	})
	if err != nil {
		s.log.Error("the event file cannot be opened; events are logged and counted only", "err", err)
		return
	}
	s.evlog = l
}

// failingFS stands for an event directory that could not be opened.
type failingFS struct{ err error }

func (f failingFS) OpenFile(string, int, fs.FileMode) (*os.File, error) { return nil, f.err }
func (f failingFS) Remove(string) error                                 { return f.err }
func (f failingFS) SyncDir() error                                      { return f.err }
func (f failingFS) ReadDir() ([]fs.DirEntry, error)                     { return nil, f.err }
func (f failingFS) Stat(string) (fs.FileInfo, error)                    { return nil, f.err }

// closeEventFile writes what is queued and closes the file, giving up at
// ctx's end: a stuck disk does not hold the shutdown (the writer ends by
// itself when the disk answers).
func (s *Server) closeEventFile(ctx context.Context) {
	if s.evlog == nil {
		return
	}
	err := s.evlog.CloseContext(ctx)
	if errors.Is(err, eventlog.ErrClosed) {
		return
	}
	if err != nil {
		s.log.Error("closing the event file", "err", err)
	}
	// The head, written where the file is not, lets an operator check
	// later that no entry was cut from its end (events verify --head).
	st := s.evlog.Stats()
	s.log.Info("event file closed", "seq", st.Seq, "head", st.Head, "dropped", st.Dropped)
	if s.evdir != nil && err == nil {
		_ = s.evdir.Close()
	}
}

// RecordEvent records an event that concerns this instance but did not
// happen on its connections (a scan finding, a change by an operator):
// counted, logged and written to its event file like its own.
func (s *Server) RecordEvent(ev monitor.Event) {
	ev.Instance = s.opts.Name
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	s.countsMu.Lock()
	s.counts[ev.Type]++
	s.countsMu.Unlock()
	s.events.Record(ev)
	s.appendEvent(ev)
}

// appendEvent appends ev to the event file without waiting.
func (s *Server) appendEvent(ev monitor.Event) {
	if s.evlog == nil {
		return
	}
	s.evlog.Append(eventlog.Entry{
		Time: ev.Time, Type: string(ev.Type), Instance: ev.Instance,
		Addr: ev.Addr, Account: ev.Account, Detail: ev.Detail, Fields: ev.Fields,
	})
}

// EventFileStats reports the event file's state; false when the instance
// has none.
func (s *Server) EventFileStats() (eventlog.Stats, bool) {
	if s.evlog == nil {
		return eventlog.Stats{}, false
	}
	return s.evlog.Stats(), true
}

// eventFileInfo writes the event file's lines of INFO security.
func (s *Server) eventFileInfo(kv func(string, any)) {
	st, ok := s.EventFileStats()
	if !ok {
		kv("eventlog_enabled", 0)
		return
	}
	kv("eventlog_enabled", 1)
	kv("eventlog_written", st.Written)
	kv("eventlog_dropped", st.Dropped)
	kv("eventlog_write_errors", st.WriteErrors)
	failing := 0
	if st.Failing {
		failing = 1
	}
	kv("eventlog_failing", failing)
	if st.LastError != "" {
		kv("eventlog_last_error", st.LastError)
	}
	kv("eventlog_seq", st.Seq)
	kv("eventlog_head", st.Head)
	kv("eventlog_files", st.Files)
	kv("eventlog_bytes", st.Bytes)
}

// eventFileMetrics adds the event file's figures to a scrape.
func (s *Server) eventFileMetrics(ch chan<- prometheus.Metric) {
	st, ok := s.EventFileStats()
	if !ok {
		return
	}
	m := s.metrics
	ch <- prometheus.MustNewConstMetric(m.evWritten, prometheus.CounterValue, float64(st.Written))
	ch <- prometheus.MustNewConstMetric(m.evDropped, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(m.evErrors, prometheus.CounterValue, float64(st.WriteErrors))
	failing := 0.0
	if st.Failing {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(m.evFailing, prometheus.GaugeValue, failing)
	ch <- prometheus.MustNewConstMetric(m.evBytes, prometheus.GaugeValue, float64(st.Bytes))
}
