package main

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"redoubt/internal/config"
	"redoubt/internal/monitor"
	"redoubt/internal/scan"
	"redoubt/internal/server"
	"redoubt/internal/upstream"
)

// scanning runs the security scanner inside the server: at start-up and
// every monitoring.scan_interval. Each finding that is new (or whose
// severity changed) since the previous scan is a scan_finding event, and
// one that went away is a scan_finding event saying so; the findings of
// the last scan are metrics.
type scanning struct {
	log     *slog.Logger
	events  monitor.Sink
	scanner *scan.Scanner
	cfg     atomic.Pointer[config.Config] // the configuration in force (SIGHUP swaps it)
	servers []*server.Server

	mu      sync.Mutex
	last    map[string]scan.Finding // by findingKey
	runs    int64
	lastRun time.Time

	findingsDesc, runsDesc, lastRunDesc *prometheus.Desc
}

func newScanning(log *slog.Logger, events monitor.Sink, cfg *config.Config, servers []*server.Server) *scanning {
	sc := &scanning{
		log:          log.With("component", "scanner"),
		events:       events,
		scanner:      scan.NewScanner(),
		servers:      servers,
		findingsDesc: prometheus.NewDesc("redoubt_scan_findings", "Findings of the last security scan, by instance, rule and severity.", []string{"instance", "rule", "severity"}, nil),
		runsDesc:     prometheus.NewDesc("redoubt_scan_runs_total", "Security scans run.", nil, nil),
		lastRunDesc:  prometheus.NewDesc("redoubt_scan_last_run_timestamp_seconds", "When the last security scan ended (Unix time).", nil, nil),
	}
	sc.cfg.Store(cfg)
	return sc
}

// run scans now and then every interval until ctx ends.
func (sc *scanning) run(ctx context.Context, interval time.Duration) {
	sc.scanner.Every(ctx, interval, sc.options, sc.report)
}

func (sc *scanning) options() scan.Options {
	managed := map[string]upstream.Target{}
	for _, s := range sc.servers {
		if t, ok := s.ManagedTarget(); ok {
			managed[s.Name()] = t
		}
	}
	return scan.Options{Config: sc.cfg.Load(), Logger: sc.log, Managed: managed}
}

// findingKey tells findings apart: one rule may find several things on
// one instance (two weak accounts, two plain-text addresses), which
// differ in their title or evidence.
func findingKey(f scan.Finding) string {
	return f.ID + "\x00" + f.Instance + "\x00" + f.Node + "\x00" + f.Title + "\x00" + f.Evidence
}

// report records the findings of one scan.
func (sc *scanning) report(fs []scan.Finding) {
	now := make(map[string]scan.Finding, len(fs))
	for _, f := range fs {
		now[findingKey(f)] = f
	}
	sc.mu.Lock()
	prev := sc.last
	sc.last = now
	sc.runs++
	sc.lastRun = time.Now()
	sc.mu.Unlock()
	for k, f := range now {
		if p, ok := prev[k]; ok && p.Severity == f.Severity {
			continue
		}
		sc.record(f.Instance, monitor.Event{Type: monitor.ScanFinding, Detail: f.ID + ": " + f.Title,
			Fields: map[string]string{"id": f.ID, "severity": f.Severity.String(), "node": f.Node, "evidence": f.Evidence, "remedy": f.Remedy}})
	}
	for k, p := range prev {
		if _, ok := now[k]; !ok {
			sc.record(p.Instance, monitor.Event{Type: monitor.ScanFinding, Detail: p.ID + ": resolved",
				Fields: map[string]string{"id": p.ID, "severity": "resolved", "node": p.Node}})
		}
	}
	worst, _ := scan.Worst(fs)
	sc.log.Info("security scan", "findings", len(fs), "worst", worst.String())
}

// record records a finding's event in its instance's event file; a
// finding of the whole process (the admin listener) goes to every
// instance's.
func (sc *scanning) record(instance string, ev monitor.Event) {
	found := false
	for _, s := range sc.servers {
		if instance == "" || s.Name() == instance {
			s.RecordEvent(ev)
			found = true
		}
	}
	if !found {
		ev.Instance = instance
		sc.events.Record(ev)
	}
}

// Findings returns the last scan's findings, most severe first.
func (sc *scanning) Findings() []scan.Finding {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := make([]scan.Finding, 0, len(sc.last))
	for _, f := range sc.last {
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		return findingKey(out[i]) < findingKey(out[j])
	})
	return out
}

func (sc *scanning) Describe(ch chan<- *prometheus.Desc) {
	ch <- sc.findingsDesc
	ch <- sc.runsDesc
	ch <- sc.lastRunDesc
}

func (sc *scanning) Collect(ch chan<- prometheus.Metric) {
	counts := map[[3]string]int{}
	for _, f := range sc.Findings() {
		counts[[3]string{f.Instance, f.ID, f.Severity.String()}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(sc.findingsDesc, prometheus.GaugeValue, float64(n), k[0], k[1], k[2])
	}
	sc.mu.Lock()
	runs, last := sc.runs, sc.lastRun
	sc.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(sc.runsDesc, prometheus.CounterValue, float64(runs))
	if !last.IsZero() {
		ch <- prometheus.MustNewConstMetric(sc.lastRunDesc, prometheus.GaugeValue, float64(last.UnixNano())/1e9)
	}
}
