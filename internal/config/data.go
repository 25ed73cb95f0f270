package config

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"redoubt/internal/engine"
)

// dataKeys documents the keys about the data an instance keeps.
func dataKeys() [][2]string {
	return [][2]string{
		{"instances[].maxmemory", "memory limit of the dataset: bytes or a size such as 100mb, 2gb (1k = 1000, 1kb = 1024; default 0 = no limit)"},
		{"instances[].maxmemory_policy", "what to do at the limit: noeviction (default: refuse writes with an OOM error), allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl"},
	}
}

// dataKey parses one data key of an instance; it reports whether k was one.
func (p *parser) dataKey(inst *Instance, k, v *yaml.Node) bool {
	switch k.Value {
	case "maxmemory":
		inst.Memory.MaxMemory = p.size(v)
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
