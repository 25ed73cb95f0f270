package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"redoubt/internal/guard"
	"redoubt/internal/tlsconf"
)

// DefaultAdminListen is where the admin listener (metrics; the console)
// listens unless told otherwise.
const DefaultAdminListen = "127.0.0.1:7379"

// Admin is the admin listener: Prometheus metrics at /metrics (and the
// console). A non-loopback address follows the instances' rules: private
// addresses need TLS for a plain-text-free setup (the scanner reports
// them), public ones need public: true and TLS.
type Admin struct {
	Listen string // HOST:PORT; "" when Off
	Off    bool   // listen: off
	Public bool
	TLS    *tlsconf.Options // nil: plain HTTP
	// MetricsToken, when set, is the bearer token /metrics requires. It
	// is read from metrics_token_file and never logged.
	MetricsToken string
	Line         int
}

// Monitoring configures what Redoubt measures besides its security
// counters, which are always kept.
type Monitoring struct {
	// Enabled turns on per-command statistics, the latency histogram,
	// the slow log and hot/big key sampling (default true).
	Enabled bool
	// SlowlogSlowerThan is Redis's slowlog-log-slower-than, in
	// microseconds: negative turns the slow log off, 0 logs everything.
	SlowlogSlowerThan int64
	SlowlogMaxLen     int
	// HotKeyRate is the estimated ops/s from which a key is hot;
	// HotKeySample samples one command in that many.
	HotKeyRate   int
	HotKeySample int
	// BigKeyBytes and BigKeyElements: a value at least this large is big.
	BigKeyBytes    int64
	BigKeyElements int
	// ScanInterval is how often the scanner runs after start-up (0: only
	// at start-up and on demand).
	ScanInterval time.Duration
	// Events is the event file's rotation and retention.
	Events EventFiles
}

// EventFiles is the rotation and retention of an instance's event log.
type EventFiles struct {
	MaxFileSize int64         // rotate past this size
	MaxFiles    int           // rotated files kept
	MaxAge      time.Duration // rotated files older than this are removed; 0: no limit
}

// DefaultMonitoring is what a configuration without a monitoring section
// gets.
func DefaultMonitoring() Monitoring {
	return Monitoring{
		Enabled:           true,
		SlowlogSlowerThan: 10000,
		SlowlogMaxLen:     128,
		HotKeyRate:        1000,
		HotKeySample:      16,
		BigKeyBytes:       1 << 20,
		BigKeyElements:    10000,
		ScanInterval:      time.Hour,
		Events:            EventFiles{MaxFileSize: 16 << 20, MaxFiles: 10},
	}
}

// DefaultAdmin is the admin listener of a configuration without an admin
// section.
func DefaultAdmin() Admin { return Admin{Listen: DefaultAdminListen} }

func monitoringKeys() [][2]string {
	return [][2]string{
		{"admin.listen", "admin listener HOST:PORT for /metrics and the console, or off (default " + DefaultAdminListen + ")"},
		{"admin.public", "allow a public admin address (needs admin.tls)"},
		{"admin.tls.cert, admin.tls.key", "serve the admin listener over HTTPS"},
		{"admin.metrics_token_file", "file whose first line is the bearer token /metrics requires (mode 0600)"},
		{"monitoring.enabled", "per-command statistics, latency histogram, slow log, hot/big keys (default true)"},
		{"monitoring.slowlog_log_slower_than", "microseconds; negative turns the slow log off, 0 logs every command (default 10000)"},
		{"monitoring.slowlog_max_len", "entries the slow log keeps (default 128)"},
		{"monitoring.hotkey_rate", "estimated ops/s from which a key is hot (default 1000)"},
		{"monitoring.hotkey_sample", "sample one command in N for hot and big keys (default 16)"},
		{"monitoring.bigkey_size", "a value at least this large is a big key (default 1mb)"},
		{"monitoring.bigkey_elements", "a collection with at least this many elements is a big key (default 10000)"},
		{"monitoring.scan_interval", "how often the security scanner runs after start-up; 0: only at start-up and on demand (default 1h)"},
		{"monitoring.events.max_file_size", "rotate an instance's event file past this size (default 16mb)"},
		{"monitoring.events.max_files", "rotated event files kept per instance (default 10)"},
		{"monitoring.events.max_age", "rotated event files older than this are removed; 0: no age limit (default 0)"},
	}
}

func (p *parser) admin(n *yaml.Node) Admin {
	a := DefaultAdmin()
	a.Line = n.Line
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "admin must be a mapping")
		return a
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "listen":
			a.Listen = p.str(v)
			if a.Listen == "off" {
				a.Listen, a.Off = "", true
			}
		case "public":
			a.Public = p.boolean(v)
		case "tls":
			a.TLS = p.adminTLS(v)
		case "metrics_token_file":
			tok, err := ReadPasswordFile(p.str(v))
			if err != nil {
				p.errorf(v, "admin metrics_token_file: %v", err)
			}
			a.MetricsToken = tok
		default:
			p.errorf(k, "unknown admin key %q", k.Value)
		}
	}
	return a
}

func (p *parser) adminTLS(n *yaml.Node) *tlsconf.Options {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "admin tls must be a mapping with cert and key")
		return nil
	}
	o := &tlsconf.Options{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "cert":
			o.CertFile = p.str(v)
		case "key":
			o.KeyFile = p.str(v)
		case "min_version":
			o.MinVersion = p.str(v)
		default:
			p.errorf(k, "unknown admin tls key %q", k.Value)
		}
	}
	if err := o.Validate(); err != nil {
		p.errorf(n, "admin tls: %v", err)
	}
	return o
}

// CheckAdmin checks the admin listener's address against the exposure
// rules of instances.
func CheckAdmin(a Admin) error {
	if a.Off {
		return nil
	}
	class, err := guard.ClassifyListen(a.Listen)
	if err != nil {
		return err
	}
	if class == guard.Unix {
		return fmt.Errorf("admin listen %q: a unix socket is not supported; use HOST:PORT", a.Listen)
	}
	if class == guard.Public {
		if !a.Public {
			return fmt.Errorf("admin listen %q is not a loopback, private or link-local address; declare admin.public: true (with admin.tls) to expose it", a.Listen)
		}
		if a.TLS == nil {
			return fmt.Errorf("admin listen %q is public and must use TLS (admin.tls)", a.Listen)
		}
	}
	return nil
}

func (p *parser) monitoring(n *yaml.Node) Monitoring {
	m := DefaultMonitoring()
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "monitoring must be a mapping")
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "enabled":
			m.Enabled = p.boolean(v)
		case "slowlog_log_slower_than":
			m.SlowlogSlowerThan = int64(p.count(v, -1, 1<<31))
		case "slowlog_max_len":
			m.SlowlogMaxLen = p.count(v, 0, 1<<20)
		case "hotkey_rate":
			m.HotKeyRate = p.count(v, 1, 1<<30)
		case "hotkey_sample":
			m.HotKeySample = p.count(v, 1, 1<<16)
		case "bigkey_size":
			m.BigKeyBytes = p.size(v)
			if m.BigKeyBytes < 1 {
				p.errorf(v, "bigkey_size must be at least 1 byte")
			}
		case "bigkey_elements":
			m.BigKeyElements = p.count(v, 1, 1<<30)
		case "scan_interval":
			m.ScanInterval = p.duration(v, time.Minute)
		case "events":
			p.eventFiles(&m.Events, v)
		default:
			p.errorf(k, "unknown monitoring key %q", k.Value)
		}
	}
	return m
}

func (p *parser) eventFiles(e *EventFiles, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "monitoring.events must be a mapping")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "max_file_size":
			e.MaxFileSize = p.size(v)
			if e.MaxFileSize < 4096 {
				p.errorf(v, "max_file_size must be at least 4kb")
			}
		case "max_files":
			e.MaxFiles = p.count(v, 1, 100000)
		case "max_age":
			e.MaxAge = p.duration(v, time.Hour)
		default:
			p.errorf(k, "unknown monitoring.events key %q", k.Value)
		}
	}
}
