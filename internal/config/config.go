// Package config reads Redoubt's YAML configuration: a list of instances,
// each with its own listen addresses and data directory. Loading collects
// every error, each with its line, before it fails.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"redoubt/internal/aof"
	"redoubt/internal/command"
	"redoubt/internal/engine"
	"redoubt/internal/guard"
)

// Defaults for the instance a bare `redoubt` runs.
const (
	DefaultInstance  = "default"
	DefaultListen    = "127.0.0.1:6379"
	DefaultDataRoot  = "./data"
	DefaultDatabases = 16
	MaxDatabases     = 1024
)

// Config is the whole configuration.
type Config struct {
	Instances  []Instance
	Admin      Admin      // the admin listener (monitoring.go)
	Monitoring Monitoring // statistics, slow log, scanner, event files
}

// Instance is one independent instance: nothing is shared with the others
// (keys, connections, files).
type Instance struct {
	Name      string
	Listen    []string // "host:port" or "unix:/path"
	Data      string   // data directory
	Databases int
	Memory    engine.MemoryOptions // maxmemory and maxmemory_policy
	// Persistence is the append-only file (appendonly, appendfsync …).
	Persistence Persistence
	// Backend is what serves the data (see backend.go).
	Backend Backend

	// The front door (see security.go).
	Public      bool
	StrictRESP  bool
	NoGuard     bool             // cross_protocol_guard: false
	Allowlist   *guard.Allowlist // nil: loopback only
	Bans        guard.BanOptions
	MaxClients  int
	PerAddress  int
	AuthTimeout time.Duration
	IdleTimeout time.Duration
	TLS         *TLS
	Accounts    []Account
	Disabled    []string // full command names
	Enabled     []string

	Line int // where the instance starts in the file, for messages
}

// newInstance returns an instance with every default set.
func newInstance(name string) Instance {
	return Instance{
		Name:        name,
		Databases:   DefaultDatabases,
		StrictRESP:  true,
		Bans:        guard.DefaultBanOptions(),
		MaxClients:  DefaultMaxClients,
		PerAddress:  DefaultPerAddress,
		AuthTimeout: DefaultAuthTimeout,
		Persistence: Persistence{Enabled: true, Fsync: aof.FsyncEverySec},
		Backend:     Backend{Kind: BackendEmbedded},
	}
}

// Keys documents every configuration key, for --help and docs/config.md.
func Keys() [][2]string {
	return append([][2]string{
		{"instances", "list of instances; each one shares nothing with the others"},
		{"instances[].name", "instance name: letters, digits, '-' and '_' (required, unique)"},
		{"instances[].listen", "list of addresses: \"host:port\" or \"unix:/path\" (default 127.0.0.1:6379 for \"default\")"},
		{"instances[].data", "data directory, owned by this instance alone (default ./data/<name>)"},
		{"instances[].databases", "number of databases, SELECT 0..n-1 (default 16)"},
	}, slices.Concat(dataKeys(), backendKeys(), securityKeys(), monitoringKeys())...)
}

// Error is one configuration error at a line of the file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Default returns the configuration of a bare `redoubt`: one instance named
// "default" on 127.0.0.1:6379 with data in ./data/default.
func Default() *Config {
	inst := newInstance(DefaultInstance)
	inst.Listen = []string{DefaultListen}
	inst.Data = filepath.Join(DefaultDataRoot, DefaultInstance)
	return &Config{Instances: []Instance{inst}, Admin: DefaultAdmin(), Monitoring: DefaultMonitoring()}
}

// Load reads and validates a configuration file. The error joins every
// problem found, each with its line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates configuration text; name labels messages.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line := yamlErrLine(err)
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "line "+strconv.Itoa(line)+": ")
		return nil, Error{File: name, Line: line, Msg: msg}
	}
	p := &parser{file: name}
	cfg := &Config{Admin: DefaultAdmin(), Monitoring: DefaultMonitoring()}
	if len(root.Content) > 0 {
		p.top(root.Content[0], cfg)
	}
	if len(p.errs) == 0 {
		p.errs = append(p.errs, cfg.validate(name)...)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return cfg, nil
}

type parser struct {
	file string
	errs []error
	tab  *command.Table // built when command names need checking
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, Error{File: p.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) top(n *yaml.Node, cfg *Config) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "the configuration must be a mapping with an \"instances\" list")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "instances":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "instances must be a list")
				continue
			}
			for _, item := range v.Content {
				if inst, ok := p.instance(item); ok {
					cfg.Instances = append(cfg.Instances, inst)
				}
			}
		case "admin":
			cfg.Admin = p.admin(v)
		case "monitoring":
			cfg.Monitoring = p.monitoring(v)
		default:
			p.errorf(k, "unknown key %q", k.Value)
		}
	}
}

func (p *parser) instance(n *yaml.Node) (Instance, bool) {
	inst := newInstance("")
	inst.Line = n.Line
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "an instance must be a mapping")
		return inst, false
	}
	before := len(p.errs)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			inst.Name = p.str(v)
		case "listen":
			switch v.Kind {
			case yaml.ScalarNode:
				inst.Listen = []string{v.Value}
			case yaml.SequenceNode:
				for _, a := range v.Content {
					inst.Listen = append(inst.Listen, p.str(a))
				}
			default:
				p.errorf(v, "listen must be an address or a list of addresses")
			}
		case "data":
			inst.Data = p.str(v)
		case "databases":
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 || n > MaxDatabases {
				p.errorf(v, "databases must be a whole number from 1 to %d", MaxDatabases)
			}
			inst.Databases = n
		default:
			if !p.securityKey(&inst, k, v) && !p.dataKey(&inst, k, v) && !p.backendKey(&inst, k, v) {
				p.errorf(k, "unknown instance key %q", k.Value)
			}
		}
	}
	if inst.Name == "" {
		p.errorf(n, "an instance needs a name")
	} else if !validName(inst.Name) {
		p.errorf(n, "instance name %q may hold only letters, digits, '-' and '_'", inst.Name)
	}
	return inst, len(p.errs) == before
}

func (p *parser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "expected a single value")
		return ""
	}
	return n.Value
}

func validName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// OverrideAdmin applies --admin-listen ("off" turns the listener off);
// an empty value changes nothing.
func (c *Config) OverrideAdmin(listen string) {
	switch listen {
	case "":
	case "off":
		c.Admin.Listen, c.Admin.Off = "", true
	default:
		c.Admin.Listen, c.Admin.Off = listen, false
	}
}

// Override applies command-line flags to the "default" instance, adding it
// when the file has none. Empty values change nothing.
func (c *Config) Override(listen, data string) {
	if listen == "" && data == "" {
		return
	}
	i := c.index(DefaultInstance)
	if i < 0 {
		c.Instances = append(c.Instances, newInstance(DefaultInstance))
		i = len(c.Instances) - 1
	}
	if listen != "" {
		c.Instances[i].Listen = []string{listen}
	}
	if data != "" {
		c.Instances[i].Data = data
	}
}

func (c *Config) index(name string) int {
	for i, inst := range c.Instances {
		if inst.Name == name {
			return i
		}
	}
	return -1
}

// Finish fills defaults (listen address of the default instance, data
// directories) and checks the whole configuration again; call it after
// Override.
func (c *Config) Finish(file string) error {
	for i := range c.Instances {
		inst := &c.Instances[i]
		if len(inst.Listen) == 0 && inst.Name == DefaultInstance {
			inst.Listen = []string{DefaultListen}
		}
		if inst.Data == "" {
			inst.Data = filepath.Join(DefaultDataRoot, inst.Name)
		}
		if inst.Databases == 0 {
			inst.Databases = DefaultDatabases
		}
	}
	return errors.Join(c.validate(file)...)
}

// validate checks what concerns several instances: unique names, listen
// addresses and data directories.
func (c *Config) validate(file string) []error {
	var errs []error
	bad := func(inst Instance, format string, args ...any) {
		errs = append(errs, Error{File: file, Line: inst.Line, Msg: fmt.Sprintf(format, args...)})
	}
	if len(c.Instances) == 0 {
		errs = append(errs, Error{File: file, Msg: "no instances configured"})
	}
	names, addrs, dirs := map[string]string{}, map[string]string{}, map[string]string{}
	if err := CheckAdmin(c.Admin); err != nil {
		errs = append(errs, Error{File: file, Line: c.Admin.Line, Msg: err.Error()})
	} else if !c.Admin.Off {
		addrs[c.Admin.Listen] = "the admin listener"
	}
	for _, inst := range c.Instances {
		if prev, dup := names[inst.Name]; dup {
			bad(inst, "instance name %q is used twice (%s)", inst.Name, prev)
		}
		names[inst.Name] = inst.Name
		if len(inst.Listen) == 0 && inst.Name != DefaultInstance {
			bad(inst, "instance %q has no listen address", inst.Name)
		}
		listen := inst.Listen
		if inst.TLS != nil {
			listen = append(slices.Clip(listen), inst.TLS.Listen...)
		}
		for _, a := range listen {
			if err := checkAddr(a); err != nil {
				bad(inst, "instance %q: listen %q: %v", inst.Name, a, err)
				continue
			}
			if prev, dup := addrs[a]; dup {
				if prev == "the admin listener" {
					bad(inst, "instance %q and the admin listener both listen on %s", inst.Name, a)
				} else {
					bad(inst, "instances %q and %q both listen on %s", prev, inst.Name, a)
				}
			}
			addrs[a] = inst.Name
		}
		if len(inst.Listen) > 0 || inst.TLS != nil {
			for _, msg := range checkExposure(inst) {
				bad(inst, "instance %q: %s", inst.Name, msg)
			}
		}
		if inst.Data != "" {
			abs, err := filepath.Abs(inst.Data)
			if err == nil {
				if prev, dup := dirs[abs]; dup {
					bad(inst, "instances %q and %q share the data directory %s", prev, inst.Name, inst.Data)
				}
				dirs[abs] = inst.Name
			}
		}
	}
	return errs
}

func checkAddr(a string) error {
	if path, ok := strings.CutPrefix(a, "unix:"); ok {
		if path == "" {
			return errors.New("empty socket path")
		}
		return nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("a host is required (0.0.0.0 must be written out)")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("port must be from 0 to 65535")
	}
	return nil
}

// yamlErrLine extracts the line from a YAML syntax error ("yaml: line 3: …").
func yamlErrLine(err error) int {
	s := err.Error()
	i := strings.Index(s, "line ")
	if i < 0 {
		return 0
	}
	s = s[i+5:]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[:j])
	return n
}
