package server

import (
	"bytes"
	"strings"

	"redoubt/internal/resp"
	"redoubt/internal/upstream"
)

// INFO of a gateway instance: the sections about the front door (server,
// clients, stats, security) are Redoubt's own, a "backend" section tells
// the backend's health, and the sections about the data (memory,
// persistence, replication, cpu, keyspace, commandstats …) are the
// backend's, as it answers them.

// localSection reports the sections a gateway instance answers itself.
func localSection(name string) bool {
	switch name {
	case "server", "clients", "stats", "security", "backend":
		return true
	}
	return false
}

// gatewaySections adds the backend section (before keyspace), and the
// sections only the backend knows that the client asked for, to the list.
func gatewaySections(sections []infoSec, want map[string]bool, all bool) []infoSec {
	out := make([]infoSec, 0, len(sections)+5)
	for _, s := range sections {
		if s.name == "keyspace" {
			out = append(out, infoSec{"backend", true})
		}
		out = append(out, s)
	}
	for _, name := range []string{"latencystats", "modules"} {
		if want[name] || (all && name != "modules") {
			out = append(out, infoSec{name, false})
		}
	}
	return out
}

// backendInfo asks the backend for INFO everything and splits it into
// sections by lower-case name. A backend that is down gives none.
func (s *Server) backendInfo() map[string]string {
	up, err := s.gw.Shared(2, 0)
	if err != nil {
		return map[string]string{}
	}
	return infoOf(up)
}

// infoOf asks INFO everything on a backend connection and splits the
// reply into sections by lower-case name.
func infoOf(up *upstream.Conn) map[string]string {
	sections := map[string]string{}
	sink := upstream.NewSink()
	up.Send(sink, resp.AppendCommand(nil, []byte("INFO"), []byte("everything")), 1, false)
	up.Flush()
	raw := sink.Wait(nil)
	v, err := resp.NewReader(bytes.NewReader(raw), resp.DefaultLimits()).ReadValue()
	if err != nil || (v.Type != resp.TypeBulk && v.Type != resp.TypeVerbatim) {
		return sections
	}
	text := string(v.Str)
	if v.Type == resp.TypeVerbatim && len(text) >= 4 {
		text = text[4:]
	}
	var name string
	var cur strings.Builder
	flush := func() {
		if name != "" {
			sections[name] = cur.String()
		}
		cur.Reset()
	}
	for _, line := range strings.Split(text, "\r\n") {
		if strings.HasPrefix(line, "# ") {
			flush()
			name = strings.ToLower(strings.TrimSpace(line[2:]))
			continue
		}
		if line != "" {
			cur.WriteString(line + "\r\n")
		}
	}
	flush()
	return sections
}

// backendSection is INFO's backend section.
func (s *Server) backendSection(kv func(string, any)) {
	st := s.gw.Stats()
	kind := s.opts.Backend.Kind
	kv("backend", string(kind))
	kv("backend_target", s.gw.Target())
	status := "down"
	if st.Up {
		status = "up"
	}
	kv("backend_status", status)
	if st.Version != "" {
		kv("backend_redis_version", st.Version)
	}
	kv("backend_shared_connections", st.Shared)
	kv("backend_dedicated_connections", st.Dedicated)
	kv("backend_connects", st.Dials)
	kv("backend_connection_failures", st.Failures)
	kv("backend_replies_too_large", st.RepliesTooLarge)
	if m, ok := s.managed.(interface {
		Pid() int
		Restarts() int64
	}); ok {
		kv("backend_pid", m.Pid())
		kv("backend_restarts", m.Restarts())
	}
}

// gwBlockedClients counts the clients waiting in a blocking command.
func (s *Server) gwBlockedClients() int {
	n := 0
	s.mu.Lock()
	for c := range s.conns {
		if c.blk.blocked.Load() {
			n++
		}
	}
	s.mu.Unlock()
	return n
}
