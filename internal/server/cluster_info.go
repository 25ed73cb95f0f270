package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// INFO of a cluster instance shows one logical server: the front door's
// sections are Redoubt's, the backend section tells the cluster's
// health node by node, and the data sections add up the masters' —
// numbers summed (keys, memory, commands), anything else as the first
// master says it.

// clusterInfo asks every master for INFO everything, at the same time,
// and merges the sections.
func (s *Server) clusterInfo() map[string]string {
	ms := s.cl.Masters()
	all := make([]map[string]string, len(ms))
	var wg sync.WaitGroup
	for i, n := range ms {
		up, err := n.Backend.Shared(2, 0)
		if err != nil {
			continue
		}
		wg.Go(func() { all[i] = infoOf(up) })
	}
	wg.Wait()
	merged := map[string]string{}
	for _, name := range []string{"memory", "persistence", "replication", "cpu",
		"commandstats", "errorstats", "latencystats", "modules", "keyspace"} {
		var parts []string
		for _, m := range all {
			if m != nil {
				parts = append(parts, m[name])
			}
		}
		merged[name] = mergeInfoSection(name, parts)
	}
	return merged
}

// mergeInfoSection adds up one section of several nodes' INFO: a field
// that counts or measures (keys, bytes, commands, CPU seconds) is summed,
// and so are the numbers of a field of key=value pairs (a keyspace line,
// commandstats); times, ratios, averages, identifiers, settings and
// negative sentinels are the first master's; a *_human field is written
// again from its summed field. Lines about one node's replicas are
// dropped: replicas are not part of the one server clients see.
func mergeInfoSection(name string, parts []string) string {
	type field struct {
		key, val string
	}
	var order []string
	fields := map[string]*field{}
	for _, p := range parts {
		for _, line := range strings.Split(p, "\r\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || (name == "replication" && (strings.HasPrefix(k, "slave") || strings.HasPrefix(k, "master_"))) {
				continue
			}
			f := fields[k]
			if f == nil {
				fields[k] = &field{k, v}
				order = append(order, k)
				continue
			}
			// A commandstats, errorstats or keyspace line is named after
			// a command, an error or a database, not after what it
			// measures: its pairs decide (cmdstat_expiretime adds up).
			if additiveInfoField(k) || name == "commandstats" || name == "errorstats" || name == "keyspace" {
				f.val = sumInfoValue(f.val, v)
			}
		}
	}
	if name == "commandstats" {
		for _, f := range fields {
			f.val = perCallAgain(f.val)
		}
	}
	var b strings.Builder
	for _, k := range order {
		f := fields[k]
		if base, ok := strings.CutSuffix(k, "_human"); ok && fields[base] != nil {
			if n, err := strconv.ParseUint(fields[base].val, 10, 64); err == nil {
				f.val = humanBytes(n)
			}
		}
		fmt.Fprintf(&b, "%s:%s\r\n", f.key, f.val)
	}
	return b.String()
}

// perCallAgain sets usec_per_call of a summed commandstats line to its
// usec divided by its calls.
func perCallAgain(line string) string {
	pairs := strings.Split(line, ",")
	var usec, calls float64
	at := -1
	for i, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "usec":
			usec, _ = strconv.ParseFloat(v, 64)
		case "calls":
			calls, _ = strconv.ParseFloat(v, 64)
		case "usec_per_call":
			at = i
		}
	}
	if at < 0 {
		return line
	}
	per := 0.0
	if calls > 0 {
		per = usec / calls
	}
	pairs[at] = "usec_per_call=" + strconv.FormatFloat(per, 'f', 2, 64)
	return strings.Join(pairs, ",")
}

// additiveInfoField reports whether an INFO field adds up across nodes.
func additiveInfoField(key string) bool {
	if strings.HasPrefix(key, "last_") || strings.Contains(key, "_last_") && !strings.Contains(key, "changes_since") {
		return false
	}
	for _, w := range []string{"time", "ratio", "avg", "frag", "version", "_id", "pid", "port", "hz", "_perc", "human"} {
		if strings.Contains(key, w) {
			return false
		}
	}
	return true
}

// sumInfoValue adds two values of one INFO field where they are numbers
// (not negative: -1 stands for "none"), else keeps the first.
func sumInfoValue(a, b string) string {
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil && x >= 0 && y >= 0 {
			return strconv.FormatInt(x+y, 10)
		}
		return a
	}
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil && x >= 0 && y >= 0 {
			return strconv.FormatFloat(x+y, 'f', 6, 64)
		}
		return a
	}
	if !strings.Contains(a, "=") {
		return a
	}
	// key=value pairs, as keyspace's "keys=1,expires=0,avg_ttl=0"
	pa, pb := strings.Split(a, ","), strings.Split(b, ",")
	if len(pa) != len(pb) {
		return a
	}
	for i := range pa {
		ka, va, ok1 := strings.Cut(pa[i], "=")
		kb, vb, ok2 := strings.Cut(pb[i], "=")
		if !ok1 || !ok2 || ka != kb {
			return a
		}
		if additiveInfoField(ka) && ka != "avg_ttl" && !strings.HasPrefix(ka, "usec_per") {
			pa[i] = ka + "=" + sumInfoValue(va, vb)
		}
	}
	return strings.Join(pa, ",")
}

// clusterSection is INFO's backend section of a cluster instance.
func (s *Server) clusterSection(kv func(string, any)) {
	st := s.cl.Stats()
	kv("backend", string(BackendCluster))
	kv("backend_target", st.Seeds)
	up := 0
	for _, n := range st.Nodes {
		if n.Up {
			up++
		}
	}
	status := "up"
	switch {
	case st.Covered < 16384 || up == 0:
		status = "down"
	case up < len(st.Nodes):
		status = "degraded"
	}
	kv("backend_status", status)
	kv("cluster_slots_served", st.Covered)
	kv("cluster_masters", len(st.Nodes))
	kv("cluster_masters_up", up)
	kv("cluster_topology_refreshes", st.Refreshes)
	if st.LastError != "" {
		kv("cluster_topology_error", strings.ReplaceAll(st.LastError, "\n", "; "))
	}
	for i, n := range st.Nodes {
		state := "down"
		if n.Up {
			state = "up"
		}
		kv("master"+strconv.Itoa(i), fmt.Sprintf("addr=%s,slots=%d,status=%s,version=%s,shared_connections=%d,dedicated_connections=%d,connects=%d,connection_failures=%d",
			n.Addr, n.Slots, state, n.Version, n.Shared, n.Dedicated, n.Dials, n.Failures))
	}
}
