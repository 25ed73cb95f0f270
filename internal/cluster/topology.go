package cluster

import (
	"errors"
	"net"
	"strconv"

	"redoubt/internal/resp"
)

// shard is one master's part of the slot map: inclusive slot ranges.
type shard struct {
	master string // host:port
	ranges [][2]int
}

var errTopology = errors.New("the cluster's slot map does not parse")

// parseShards reads a CLUSTER SHARDS reply. A shard's master is the node
// whose role is master and which is not marked failed (after a failover
// the failed one may still be listed); tlsPort picks the nodes' TLS port.
func parseShards(v resp.Value, tlsPort bool) ([]shard, error) {
	if v.Type != resp.TypeArray && v.Type != resp.TypeSet {
		return nil, errTopology
	}
	var out []shard
	for _, sv := range v.Elems {
		fields := pairs(sv)
		if fields == nil {
			return nil, errTopology
		}
		slots, nodes := fields["slots"], fields["nodes"]
		var sh shard
		for i := 0; i+1 < len(slots.Elems); i += 2 {
			lo, hi := slots.Elems[i].Int, slots.Elems[i+1].Int
			if lo < 0 || hi >= Slots || lo > hi {
				return nil, errTopology
			}
			sh.ranges = append(sh.ranges, [2]int{int(lo), int(hi)})
		}
		if len(sh.ranges) == 0 {
			continue // a shard of replicas only, or an empty master
		}
		var failed string
		for _, nv := range nodes.Elems {
			nf := pairs(nv)
			if nf == nil || string(nf["role"].Str) != "master" {
				continue
			}
			port := nf["port"].Int
			if tp, ok := nf["tls-port"]; ok && tlsPort {
				port = tp.Int
			}
			host := string(nf["endpoint"].Str)
			if host == "" || host == "?" {
				host = string(nf["ip"].Str)
			}
			if host == "" || port <= 0 || port > 65535 {
				continue
			}
			addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
			if string(nf["health"].Str) == "fail" {
				failed = addr
				continue
			}
			sh.master = addr
			break
		}
		if sh.master == "" {
			sh.master = failed // no replica took over (yet)
		}
		if sh.master != "" {
			out = append(out, sh)
		}
	}
	if len(out) == 0 {
		return nil, errTopology
	}
	return out, nil
}

// pairs reads a map, or a RESP2 array of alternating names and values,
// by name; nil if v is neither.
func pairs(v resp.Value) map[string]resp.Value {
	if (v.Type != resp.TypeArray && v.Type != resp.TypeMap) || len(v.Elems)%2 != 0 {
		return nil
	}
	m := make(map[string]resp.Value, len(v.Elems)/2)
	for i := 0; i < len(v.Elems); i += 2 {
		m[string(v.Elems[i].Str)] = v.Elems[i+1]
	}
	return m
}

// parseSlots reads a CLUSTER SLOTS reply (Redis before 7): ranges with
// their master first. An empty ip means the node that answered (host).
func parseSlots(v resp.Value, host string) ([]shard, error) {
	if v.Type != resp.TypeArray {
		return nil, errTopology
	}
	byMaster := map[string]*shard{}
	var order []string
	for _, r := range v.Elems {
		if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
			return nil, errTopology
		}
		lo, hi := r.Elems[0].Int, r.Elems[1].Int
		if lo < 0 || hi >= Slots || lo > hi {
			return nil, errTopology
		}
		m := r.Elems[2]
		ip, port := string(m.Elems[0].Str), m.Elems[1].Int
		if ip == "" || ip == "?" {
			ip = host
		}
		if port <= 0 || port > 65535 {
			return nil, errTopology
		}
		addr := net.JoinHostPort(ip, strconv.FormatInt(port, 10))
		sh := byMaster[addr]
		if sh == nil {
			sh = &shard{master: addr}
			byMaster[addr] = sh
			order = append(order, addr)
		}
		sh.ranges = append(sh.ranges, [2]int{int(lo), int(hi)})
	}
	out := make([]shard, 0, len(order))
	for _, a := range order {
		out = append(out, *byMaster[a])
	}
	if len(out) == 0 {
		return nil, errTopology
	}
	return out, nil
}
