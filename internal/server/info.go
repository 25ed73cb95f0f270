package server

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
)

func cmdInfo(c *conn, args [][]byte) {
	c.flushStats() // the commands before this one in its pipeline count
	want := map[string]bool{}
	all := false
	if len(args) == 1 {
		want["default"] = true
	}
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	if want["all"] || want["everything"] {
		all = true
	}
	// The sections INFO knows, in Redis's order; dflt marks the ones
	// INFO without arguments sends.
	sections := []infoSec{
		{"server", true}, {"clients", true}, {"memory", true}, {"persistence", true},
		{"stats", true}, {"replication", true}, {"cpu", true}, {"security", true},
		{"commandstats", false}, {"errorstats", true}, {"keyspace", true},
	}
	var b bytes.Buffer
	var remote map[string]string
	if c.s.proxied() {
		sections = gatewaySections(sections, want, all)
	}
	chosen := sections[:0]
	needRemote := false
	for _, sec := range sections {
		if all || want[sec.name] || (want["default"] && sec.dflt) {
			chosen = append(chosen, sec)
			needRemote = needRemote || (c.s.proxied() && !localSection(sec.name))
		}
	}
	// The backend is asked only for the sections it holds.
	switch {
	case needRemote && c.s.gw != nil:
		remote = c.s.backendInfo()
	case needRemote && c.s.cl != nil:
		remote = c.s.clusterInfo()
	}
	for _, sec := range chosen {
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + strings.ToUpper(sec.name[:1]) + sec.name[1:] + "\r\n")
		if c.s.proxied() && !localSection(sec.name) {
			if sec.name == "commandstats" || sec.name == "errorstats" {
				// The backend's figures, with the front door's own
				// (refusals, the commands Redoubt answers) added.
				var local bytes.Buffer
				c.s.infoSection(c, &local, sec.name)
				b.WriteString(mergeInfoSection(sec.name, []string{c.s.backendOnly(remote[sec.name]), local.String()}))
				continue
			}
			b.WriteString(remote[sec.name])
			continue
		}
		c.s.infoSection(c, &b, sec.name)
	}
	c.w.WriteVerbatim("txt", b.String())
}

// backendOnly drops from a backend's commandstats the commands Redoubt
// answers itself: the backend counts only Redoubt's own use of them (its
// INFO, CLIENT SETNAME when it connects), never a client's.
func (s *Server) backendOnly(section string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(section, "\r\n") {
		if name, ok := strings.CutPrefix(line, "cmdstat_"); ok {
			name, _, _ = strings.Cut(name, ":")
			if spec := s.lookupName(name); spec != nil && s.handlers[spec.ID] != nil {
				continue
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// infoSec is an INFO section; dflt marks the ones INFO without
// arguments sends.
type infoSec struct {
	name string
	dflt bool
}

func (s *Server) infoSection(c *conn, b *bytes.Buffer, name string) {
	kv := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	switch name {
	case "server":
		kv("redis_version", CompatVersion)
		kv("redoubt_version", Version)
		kv("redis_mode", "standalone")
		kv("os", runtime.GOOS+" "+runtime.GOARCH)
		kv("arch_bits", strconv.IntSize)
		kv("go_version", runtime.Version())
		kv("process_id", os.Getpid())
		kv("instance", s.opts.Name)
		kv("tcp_port", s.tcpPort())
		up := s.uptimeSeconds()
		kv("uptime_in_seconds", up)
		kv("uptime_in_days", up/86400)
		if exe, err := os.Executable(); err == nil {
			kv("executable", exe)
		}
	case "clients":
		kv("connected_clients", s.clientCount())
		if s.proxied() {
			kv("blocked_clients", s.gwBlockedClients())
			break
		}
		kv("blocked_clients", s.eng.BlockedClients())
	case "memory":
		// used_memory is the engine's estimate of its dataset, from the
		// data structures (what maxmemory limits); the Go heap and the
		// RSS are reported beside it, as measured.
		c.lock()
		used := uint64(max(s.eng.UsedMemory(), 0))
		mem := s.eng.Memory()
		c.unlock()
		s.notePeak(used)
		kv("used_memory", used)
		kv("used_memory_human", humanBytes(used))
		rss := rssBytes()
		kv("used_memory_rss", rss)
		kv("used_memory_rss_human", humanBytes(rss))
		peak := s.peakMemory.Load()
		kv("used_memory_peak", peak)
		kv("used_memory_peak_human", humanBytes(peak))
		kv("used_memory_dataset", used)
		kv("used_memory_go_heap", heapBytes())
		kv("maxmemory", mem.MaxMemory)
		kv("maxmemory_human", humanBytes(uint64(mem.MaxMemory)))
		kv("maxmemory_policy", mem.Policy.String())
		if used > 0 {
			kv("mem_fragmentation_ratio", strconv.FormatFloat(float64(rss)/float64(used), 'f', 2, 64))
		}
		kv("mem_allocator", "go")
	case "persistence":
		s.persistenceInfo(kv)
		c.lock()
		kv("rdb_changes_since_last_save", s.eng.Stats().Dirty)
	case "stats":
		c.lock()
		es := s.eng.Stats()
		t := s.totals()
		kv("total_connections_received", s.connectionsReceived.Load())
		kv("total_commands_processed", t.commandsProcessed.Load())
		ops, in, out := s.rates.get()
		kv("instantaneous_ops_per_sec", int64(ops+0.5))
		kv("total_net_input_bytes", t.netInputBytes.Load())
		kv("total_net_output_bytes", t.netOutputBytes.Load())
		kv("instantaneous_input_kbps", strconv.FormatFloat(in/1024, 'f', 2, 64))
		kv("instantaneous_output_kbps", strconv.FormatFloat(out/1024, 'f', 2, 64))
		kv("rejected_connections", s.rejectedConnections.Load())
		kv("expired_keys", es.ExpiredKeys)
		kv("evicted_keys", es.EvictedKeys)
		kv("pubsub_channels", s.pubsubChannelCount())
		kv("pubsub_patterns", s.pubsubPatternCount())
		kv("pubsubshard_channels", s.pubsubShardChannelCount())
		kv("keyspace_hits", es.KeyspaceHits)
		kv("keyspace_misses", es.KeyspaceMisses)
		kv("total_error_replies", t.errorReplies.Load())
	case "replication":
		kv("role", "master")
		kv("connected_slaves", 0)
	case "cpu":
		// Process-wide figures are not split per instance.
		kv("goroutines", runtime.NumGoroutine())
	case "security":
		s.infoSecurity(c, kv)
	case "backend":
		if s.cl != nil {
			s.clusterSection(kv)
			break
		}
		s.backendSection(kv)
	case "commandstats":
		s.stats.commandstats(s, b)
	case "errorstats":
		s.stats.errorstats(b)
	case "keyspace":
		c.lock()
		for _, db := range s.eng.Keyspace() {
			fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=0\r\n", db.ID, db.Keys, db.Expires)
		}
	}
}

func (s *Server) tcpPort() int {
	for _, a := range s.Addrs() {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			if p, err := strconv.Atoi(a[i+1:]); err == nil && p > 0 {
				return p
			}
		}
	}
	return 0
}

func (s *Server) uptimeSeconds() int64 {
	return int64(s.eng.Uptime().Seconds())
}

// heapBytes reports the bytes of live and not yet collected heap objects.
func heapBytes() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		return sample[0].Value.Uint64()
	}
	return 0
}

// rssBytes reads the process's resident set size from /proc.
func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func humanBytes(n uint64) string {
	const unit = 1024
	switch {
	case n < unit:
		return strconv.FormatUint(n, 10) + "B"
	case n < unit*unit:
		return fmt.Sprintf("%.2fK", float64(n)/unit)
	case n < unit*unit*unit:
		return fmt.Sprintf("%.2fM", float64(n)/(unit*unit))
	default:
		return fmt.Sprintf("%.2fG", float64(n)/(unit*unit*unit))
	}
}

// notePeak records the highest used_memory seen.
func (s *Server) notePeak(used uint64) {
	for {
		p := s.peakMemory.Load()
		if used <= p || s.peakMemory.CompareAndSwap(p, used) {
			return
		}
	}
}
