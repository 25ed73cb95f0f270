package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"redoubt/internal/testutil"
)

// gather scrapes the instance's collector and returns the families by
// name.
func gather(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collector())
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value returns the value of the family's series whose labels include
// want (label → value), or -1.
func value(f *dto.MetricFamily, want map[string]string) float64 {
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsFollowTheWire: each figure Prometheus reads moves with what
// clients do — commands by name, errors by type, the latency histogram,
// clients, a cross-protocol attempt, keys and memory.
func TestMetricsFollowTheWire(t *testing.T) {
	// A slow-log threshold under 1 ms times every command (stats.go), so
	// the histogram counts exactly.
	m := DefaultMonitoring()
	m.SlowlogSlowerThan = 0
	s := startServer(t, Options{Name: "m1", Monitoring: &m})
	before := gather(t, s)
	if v := value(before["redoubt_security_events_total"], map[string]string{"type": "cross_protocol", "instance": "m1"}); v != 0 {
		t.Fatalf("cross_protocol before any attempt = %v, want a zero series", v)
	}
	cl := dial(t, s.Addrs()[0])
	for i := range 5 {
		cl.do("SET", "k"+itoa(i), "v")
	}
	cl.do("GET", "k1")
	cl.do("LPUSH", "k1", "x") // WRONGTYPE
	cl.do("CONFIG", "SET", "maxmemory", "1")

	// A browser's cross-protocol request on the Redis port.
	nc, err := net.Dial("tcp", s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(nc, "POST / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.ReadAll(nc)
	nc.Close()

	got := gather(t, s)
	checks := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"redoubt_commands_total", map[string]string{"command": "set"}, 5},
		{"redoubt_commands_total", map[string]string{"command": "get"}, 1},
		{"redoubt_commands_failed_total", map[string]string{"command": "lpush"}, 1},
		{"redoubt_commands_rejected_total", map[string]string{"command": "config|set"}, 1},
		{"redoubt_errors_total", map[string]string{"type": "WRONGTYPE"}, 1},
		{"redoubt_errors_total", map[string]string{"type": "ERR"}, 1},
		{"redoubt_command_latency_seconds", nil, 7}, // set×5, get, lpush
		{"redoubt_connected_clients", map[string]string{"instance": "m1"}, 1},
		{"redoubt_security_events_total", map[string]string{"type": "cross_protocol"}, 1},
		{"redoubt_keys", map[string]string{"db": "0"}, 5},
		{"redoubt_aof_enabled", nil, 0},
	}
	for _, c := range checks {
		if v := value(got[c.family], c.labels); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, v, c.want)
		}
	}
	if v := value(got["redoubt_memory_used_bytes"], nil); v <= 0 {
		t.Errorf("redoubt_memory_used_bytes = %v", v)
	}
	h := got["redoubt_command_latency_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleSum() <= 0 || len(h.GetBucket()) != latencyBuckets-1 {
		t.Errorf("latency histogram: sum %v, %d buckets", h.GetSampleSum(), len(h.GetBucket()))
	}
	for name := range got {
		if !strings.HasPrefix(name, "redoubt_") {
			t.Errorf("metric %s does not start with redoubt_", name)
		}
	}
}

// TestMetricsGatewayBackendUp: a gateway instance reports its backend up,
// then down once the redis-server is gone.
func TestMetricsGatewayBackendUp(t *testing.T) {
	s, r := startGateway(t)
	cl := dial(t, s.Addrs()[0])
	cl.do("SET", "a", "1")
	if v := value(gather(t, s)["redoubt_backend_up"], nil); v != 1 {
		t.Fatalf("backend_up = %v with the backend running", v)
	}
	if v := value(gather(t, s)["redoubt_commands_total"], map[string]string{"command": "set"}); v != 1 {
		t.Errorf("commands_total{set} = %v, want 1", v)
	}
	// One round trip per command a client waits for; a BLPOP's wait is
	// not one.
	cl.do("GET", "a")
	before := value(gather(t, s)["redoubt_backend_roundtrip_seconds"], nil)
	if before < 2 {
		t.Errorf("redoubt_backend_roundtrip_seconds has %v round trips after SET and GET", before)
	}
	cl.do("RPUSH", "l", "x")
	cl.do("BLPOP", "l", "1")
	if n := value(gather(t, s)["redoubt_backend_roundtrip_seconds"], nil); n != before+1 {
		t.Errorf("round trips went from %v to %v for RPUSH and BLPOP, want +1", before, n)
	}
	r.Stop()
	testutil.WaitFor(t, 10*time.Second, "backend_up to drop", func() bool {
		cl.do("GET", "a") // a command notices the broken connection
		return value(gather(t, s)["redoubt_backend_up"], nil) == 0
	})
}

// TestFastCommandsSampled: under the default 10 ms slow-log threshold a
// @fast command is timed one call in fastSample, and that timing stands
// for the others: 800 GETs count 800 calls, 800 in the histogram, and
// some time; a @slow command (SET) is timed every call.
func TestFastCommandsSampled(t *testing.T) {
	s := startServer(t, Options{})
	cl := dial(t, s.Addrs()[0])
	for range 800 {
		cl.do("GET", "k")
	}
	for range 3 {
		cl.do("SET", "k", "v")
	}
	got := gather(t, s)
	if v := value(got["redoubt_commands_total"], map[string]string{"command": "get"}); v != 800 {
		t.Errorf("commands_total{get} = %v, want 800", v)
	}
	if v := value(got["redoubt_commands_duration_seconds_total"], map[string]string{"command": "get"}); v <= 0 {
		t.Errorf("commands_duration_seconds_total{get} = %v, want the sampled time", v)
	}
	if v := value(got["redoubt_command_latency_seconds"], nil); v != 803 {
		t.Errorf("latency histogram counts %v, want 800 GETs (100 timed × 8) + 3 SETs", v)
	}
}
