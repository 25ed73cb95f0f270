package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"redoubt/internal/admin"
	"redoubt/internal/config"
	"redoubt/internal/server"
	"redoubt/internal/tlsconf"
)

// serverMonitoring maps the configuration's monitoring section to an
// instance's options.
func serverMonitoring(m config.Monitoring) *server.Monitoring {
	slower := time.Duration(m.SlowlogSlowerThan) * time.Microsecond
	return &server.Monitoring{
		Off:               !m.Enabled,
		SlowlogSlowerThan: slower,
		SlowlogMaxLen:     m.SlowlogMaxLen,
		HotKeyRate:        m.HotKeyRate,
		HotKeySample:      m.HotKeySample,
		BigKeyBytes:       m.BigKeyBytes,
		BigKeyElements:    m.BigKeyElements,
	}
}

// startAdmin starts the admin listener with every instance's metrics, or
// returns nil when the configuration turns it off.
func startAdmin(cfg config.Admin, servers []*server.Server, log *slog.Logger, extra ...prometheus.Collector) (*admin.Server, error) {
	if cfg.Off {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "redoubt"}))
	for _, s := range servers {
		reg.MustRegister(s.Collector())
	}
	reg.MustRegister(extra...)
	opts := admin.Options{Listen: cfg.Listen, MetricsToken: cfg.MetricsToken, Gatherer: reg, Logger: log}
	if cfg.TLS != nil {
		tc, err := tlsconf.New(*cfg.TLS, log.With("listener", "admin"))
		if err != nil {
			return nil, err
		}
		opts.TLS = tc.TLS()
	}
	return admin.Start(opts)
}
