package server

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"redoubt/internal/monitor"
)

// Prometheus metrics. The data path keeps plain atomic counters (stats.go,
// the connection counters, the event counts); a scrape reads them, so
// exposing metrics costs the data path nothing more.

// metricDescs are the descriptions of an instance's metrics; every one
// carries the constant label instance.
type metricDescs struct {
	clients, received, rejectedConns, netIn, netOut          *prometheus.Desc
	commands, cmdRejected, cmdFailed, cmdSeconds, latency    *prometheus.Desc
	roundTrip                                                *prometheus.Desc
	errors, events, backendUp, nodeUp, memUsed, memMax, keys *prometheus.Desc
	aofEnabled, aofFailing, aofSize, aofFsyncs, aofDelayed   *prometheus.Desc
	aofRewrites, aofRewriteFailures, errorReplies            *prometheus.Desc
	hotKeys, hotDetections, bigKeys, bigDetections, sampled  *prometheus.Desc
	slowlogLen                                               *prometheus.Desc
	evWritten, evDropped, evErrors, evFailing, evBytes       *prometheus.Desc
}

func newMetricDescs(instance string) *metricDescs {
	l := prometheus.Labels{"instance": instance}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_"+name, help, labels, l)
	}
	return &metricDescs{
		clients:            d("connected_clients", "Client connections open now."),
		received:           d("connections_received_total", "Client connections accepted."),
		rejectedConns:      d("connections_rejected_total", "Client connections refused by the network gate (allowlist, bans, limits)."),
		netIn:              d("net_input_bytes_total", "Bytes read from clients."),
		netOut:             d("net_output_bytes_total", "Bytes written to clients."),
		commands:           d("commands_total", "Commands run or forwarded, by command.", "command"),
		cmdRejected:        d("commands_rejected_total", "Commands refused before they ran (rules, disabled, arity, authentication), by command.", "command"),
		cmdFailed:          d("commands_failed_total", "Commands that answered an error while running, by command.", "command"),
		cmdSeconds:         d("commands_duration_seconds_total", "Time spent running commands in the embedded engine, by command.", "command"),
		latency:            d("command_latency_seconds", "Time to run one command in the embedded engine."),
		roundTrip:          d("backend_roundtrip_seconds", "Gateway and cluster: time from a client's first request to the backend until every reply of its pipeline is in (a blocking command's wait excluded)."),
		errors:             d("errors_total", "Error replies by type (the first word of the error, as Redis's errorstats).", "type"),
		errorReplies:       d("error_replies_total", "Error replies of every type, those of a backend included."),
		events:             d("security_events_total", "Security events by type.", "type"),
		backendUp:          d("backend_up", "1 when the backend answers (a cluster: every master), 0 when it does not."),
		nodeUp:             d("backend_node_up", "1 when a cluster master answers.", "node"),
		memUsed:            d("memory_used_bytes", "Dataset size as the engine estimates it (used_memory)."),
		memMax:             d("memory_max_bytes", "maxmemory; 0 for no limit."),
		keys:               d("keys", "Keys by database.", "db"),
		aofEnabled:         d("aof_enabled", "1 when the append-only file is on."),
		aofFailing:         d("aof_failing", "1 while the append-only file cannot be written (writes are refused)."),
		aofSize:            d("aof_size_bytes", "Size of the append-only file (base and incremental files)."),
		aofFsyncs:          d("aof_fsyncs_total", "fsync calls on the append-only file."),
		aofDelayed:         d("aof_delayed_fsyncs_total", "fsyncs slower than two seconds."),
		aofRewrites:        d("aof_rewrites_total", "Rewrites of the append-only file."),
		aofRewriteFailures: d("aof_rewrite_failures_total", "Rewrites that failed."),
		hotKeys:            d("hot_keys", "Keys found hot in the last sampling window (names: REDOUBT HOTKEYS)."),
		hotDetections:      d("hot_key_detections_total", "Times a key was found hot at the end of a sampling window."),
		bigKeys:            d("big_keys", "Keys in the big-key list (names: REDOUBT BIGKEYS)."),
		bigDetections:      d("big_key_detections_total", "Sampled commands whose key was over a big-key threshold."),
		sampled:            d("keys_sampled_total", "Commands whose key was sampled for hot and big keys."),
		slowlogLen:         d("slowlog_length", "Entries in the slow log."),
		evWritten:          d("eventlog_written_total", "Entries written to the event file."),
		evDropped:          d("eventlog_dropped_total", "Events that did not reach the event file (queue full, disk failing)."),
		evErrors:           d("eventlog_write_errors_total", "Failed writes or fsyncs of the event file."),
		evFailing:          d("eventlog_failing", "1 while the event file cannot be written."),
		evBytes:            d("eventlog_bytes", "Size of the event files kept."),
	}
}

// eventTypes are the security event types always exported, zero included,
// so a dashboard sees the series before the first attack.
var eventTypes = []monitor.Type{
	monitor.CrossProtocol, monitor.InlineRefused, monitor.AllowlistDenied, monitor.AllowlistClosed,
	monitor.BanRefused, monitor.Banned, monitor.MaxClients, monitor.AddressLimit, monitor.AuthTimeout,
	monitor.AuthFailed, monitor.AuthThrottled, monitor.AuthLocked, monitor.AuthUnlocked, monitor.AuthRefused,
	monitor.CommandRefused, monitor.StepUp, monitor.StepUpFailed, monitor.BackendDown, monitor.BackendUp,
}

// Collector returns the instance's Prometheus collector.
func (s *Server) Collector() prometheus.Collector { return (*collector)(s) }

type collector Server

// Describe sends no descriptions: the collector is unchecked, as its
// series (commands, error types, nodes) appear while it runs.
func (*collector) Describe(chan<- *prometheus.Desc) {}

func (col *collector) Collect(ch chan<- prometheus.Metric) {
	s := (*Server)(col)
	m := s.metrics
	// A label value a backend chose (a cluster node's address) may be
	// anything: it is made valid UTF-8, and a series that still cannot
	// be built is left out rather than failing the whole scrape.
	send := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		for i, l := range labels {
			labels[i] = strings.ToValidUTF8(l, "\uFFFD")
		}
		if m, err := prometheus.NewConstMetric(d, t, v, labels...); err == nil {
			ch <- m
		}
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		send(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { send(d, prometheus.GaugeValue, v, labels...) }
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}

	t := s.totals()
	gauge(m.clients, float64(s.clientCount()))
	counter(m.received, s.connectionsReceived.Load())
	counter(m.rejectedConns, s.rejectedConnections.Load())
	counter(m.netIn, t.netInputBytes.Load())
	counter(m.netOut, t.netOutputBytes.Load())
	counter(m.errorReplies, t.errorReplies.Load())

	st := s.stats
	for _, spec := range s.table.ByID {
		cs := &st.cmds[spec.ID]
		calls, rej, failed := cs.calls.Load(), cs.rejected.Load(), cs.failed.Load()
		if calls == 0 && rej == 0 && failed == 0 {
			continue
		}
		counter(m.commands, calls, spec.Name)
		counter(m.cmdRejected, rej, spec.Name)
		counter(m.cmdFailed, failed, spec.Name)
		send(m.cmdSeconds, prometheus.CounterValue, float64(cs.nanos.Load())/1e9, spec.Name)
	}
	if st.on {
		h, sum := &st.latency, st.latencySum()
		d := m.latency
		if s.proxied() {
			h, sum, d = &st.rtt, st.rttSum.Load(), m.roundTrip
		}
		buckets := map[float64]uint64{}
		var total uint64
		for i := range latencyBuckets - 1 {
			total += uint64(h[i].Load())
			buckets[latencyBound(i)] = total
		}
		total += uint64(h[latencyBuckets-1].Load())
		ch <- prometheus.MustNewConstHistogram(d, total, float64(sum)/1e9, buckets)
	}
	if s.keys != nil {
		kc := s.keyCounts()
		gauge(m.hotKeys, float64(kc.HotKeys))
		counter(m.hotDetections, int64(kc.HotDetections))
		gauge(m.bigKeys, float64(kc.BigKeys))
		counter(m.bigDetections, int64(kc.BigDetections))
		counter(m.sampled, int64(kc.Sampled))
	}
	if !s.proxied() {
		gauge(m.slowlogLen, float64(s.slow.Len()))
	}
	errs := st.errorCounts()
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		counter(m.errors, errs[k], k)
	}

	s.countsMu.Lock()
	events := maps.Clone(s.counts)
	s.countsMu.Unlock()
	for _, et := range eventTypes {
		if _, ok := events[et]; !ok {
			events[et] = 0
		}
	}
	for _, k := range slices.Sorted(maps.Keys(events)) {
		counter(m.events, events[k], string(k))
	}

	switch {
	case s.cl != nil:
		cs := s.cl.Stats()
		all := cs.Covered == 16384 && len(cs.Nodes) > 0
		for _, n := range cs.Nodes {
			gauge(m.nodeUp, b2f(n.Up), n.Addr)
			all = all && n.Up
		}
		gauge(m.backendUp, b2f(all))
	case s.gw != nil:
		gauge(m.backendUp, b2f(s.gw.Stats().Up))
	default:
		s.eng.Lock()
		used := max(s.eng.UsedMemory(), 0)
		mem := s.eng.Memory()
		ks := s.eng.Keyspace()
		s.eng.Unlock()
		gauge(m.memUsed, float64(used))
		gauge(m.memMax, float64(mem.MaxMemory))
		for _, db := range ks {
			gauge(m.keys, float64(db.Keys), strconv.Itoa(db.ID))
		}
		s.aofMetrics(gauge, counter)
	}

	s.eventFileMetrics(ch)
}

func (s *Server) aofMetrics(gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, int64, ...string)) {
	m := s.metrics
	if s.store == nil || s.store.aof == nil {
		gauge(m.aofEnabled, 0)
		return
	}
	a := s.store.aof.Stats()
	gauge(m.aofEnabled, 1)
	failing := 0.0
	if a.Failing || s.aofFailed.Load() {
		failing = 1
	}
	gauge(m.aofFailing, failing)
	gauge(m.aofSize, float64(a.CurrentSize))
	counter(m.aofFsyncs, a.Fsyncs)
	counter(m.aofDelayed, a.DelayedFsyncs)
	counter(m.aofRewrites, a.Rewrites)
	counter(m.aofRewriteFailures, a.RewritesFailed)
}
