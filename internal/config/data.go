package config

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"redoubt/internal/aof"
	"redoubt/internal/engine"
)

// dataKeys documents the keys about the data an instance keeps.
func dataKeys() [][2]string {
	return [][2]string{
		{"instances[].maxmemory", "memory limit of the dataset: bytes or a size such as 100mb, 2gb (1k = 1000, 1kb = 1024; default 0 = no limit)"},
		{"instances[].appendonly", "keep an append-only file in the data directory, replayed at start (default true)"},
		{"instances[].appendfsync", "when the file is fsynced: always (before each reply), everysec (default; written to the OS before each reply), no"},
		{"instances[].auto_aof_rewrite_percentage", "rewrite the file when it has grown by this percentage since the last rewrite (default 100; 0 never)"},
		{"instances[].auto_aof_rewrite_min_size", "and is at least this large (default 64mb)"},
		{"instances[].maxmemory_policy", "what to do at the limit: noeviction (default: refuse writes with an OOM error), allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl"},
	}
}

// dataKey parses one data key of an instance; it reports whether k was one.
func (p *parser) dataKey(inst *Instance, k, v *yaml.Node) bool {
	switch k.Value {
	case "maxmemory":
		inst.Memory.MaxMemory = p.size(v)
	case "appendonly":
		inst.Persistence.Enabled = p.boolean(v)
	case "appendfsync":
		pol, err := aof.ParsePolicy(p.str(v))
		if err != nil {
			p.errorf(v, "appendfsync must be always, everysec or no")
		}
		inst.Persistence.Fsync = pol
	case "auto_aof_rewrite_percentage":
		inst.Persistence.RewritePercent = p.count(v, 0, 1<<20)
		if inst.Persistence.RewritePercent == 0 {
			inst.Persistence.RewritePercent = -1 // never
		}
	case "auto_aof_rewrite_min_size":
		inst.Persistence.RewriteMinSize = p.size(v)
	case "maxmemory_policy":
		pol, ok := engine.ParsePolicy(p.str(v))
		if !ok {
			p.errorf(v, "unknown maxmemory_policy %q", v.Value)
		}
		inst.Memory.Policy = pol
	default:
		return false
	}
	return true
}

// size parses a memory size as Redis does: a number of bytes with an
// optional unit k, kb, m, mb, g, gb (k = 1000, kb = 1024), case-insensitive.
func (p *parser) size(n *yaml.Node) int64 {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "expected a size such as 100mb")
		return 0
	}
	v, ok := ParseSize(n.Value)
	if !ok {
		p.errorf(n, "expected a size such as 100mb, got %q", n.Value)
	}
	return v
}

// ParseSize parses a memory size such as "100mb" or "1073741824".
func ParseSize(s string) (int64, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}

// Persistence is an instance's append-only file settings.
type Persistence struct {
	Enabled        bool
	Fsync          aof.Policy
	RewritePercent int   // 0: the default (100); negative: never
	RewriteMinSize int64 // 0: the default (64 MiB)
}
