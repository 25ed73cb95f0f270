package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"redoubt/internal/guard"
	"redoubt/internal/monitor"
)

// The network gate: what happens between accept and the first command.
// At accept, before a byte is read: the ban list, the allowlist, max
// clients and the per-address limit. In the stream, before a command
// runs: the cross-protocol detector and strict RESP.

// errCrossProtocol ends a connection that sent an HTTP line; nothing is
// answered.
var errCrossProtocol = errors.New("cross-protocol attempt")

// errInlineRefused ends a connection that sent an inline command under
// strict RESP, after one error reply.
var errInlineRefused = errors.New("inline command refused")

// inlineRefusedReply is the one error a refused inline command gets.
const inlineRefusedReply = "ERR inline commands are not accepted from your address (strict RESP); use a Redis client"

// admit decides at accept whether a connection may stay. It reports false
// after closing the connection and recording why.
func (s *Server) admit(nc net.Conn) (netip.Addr, guard.Class, bool) {
	addr, class := s.peerOf(nc)
	pol := s.pol.Load()
	refuse := func(t monitor.Type, reply string) (netip.Addr, guard.Class, bool) {
		s.rejectedConnections.Add(1)
		s.event(t, nc.RemoteAddr().String(), "", "")
		if reply != "" {
			_, _ = nc.Write([]byte("-" + reply + "\r\n"))
		}
		nc.Close()
		return addr, class, false
	}
	if class != guard.Unix {
		if s.bans.Banned(addr) {
			return refuse(monitor.BanRefused, "")
		}
		if !pol.allow.Allows(addr) {
			return refuse(monitor.AllowlistDenied, "")
		}
	}
	max := pol.sec.MaxClients
	if max <= 0 {
		max = DefaultMaxClients
	}
	if s.clientCount() >= max {
		return refuse(monitor.MaxClients, "ERR max number of clients reached")
	}
	if class != guard.Unix && !s.perAddr.Acquire(addr) {
		return refuse(monitor.AddressLimit, "ERR too many connections from your address")
	}
	return addr, class, true
}

// releaseAddr returns the connection's place in the per-address count.
func (c *conn) releaseAddr() {
	if c.class != guard.Unix && !c.addrReleased {
		c.addrReleased = true
		c.s.perAddr.Release(c.peer)
	}
}

// checkInline runs on every inline line before it is split or run: HTTP
// lines end the connection silently, and under strict RESP a non-local
// peer may not send inline commands at all. The bytes buffered after the
// line are checked too, line by line until a RESP frame starts, so an
// HTTP request is caught before any line of it runs.
func (c *conn) checkInline(line, pending []byte) error {
	if c.pol.sec.NoGuard {
		pending = nil
	} else if kind, ok := guard.DetectLine(line); ok {
		c.crossProtocol(kind.String())
		return errCrossProtocol
	}
	for len(pending) > 0 && pending[0] != '*' {
		i := bytes.IndexByte(pending, '\n')
		if i < 0 {
			break
		}
		l := bytes.TrimSuffix(pending[:i], []byte("\r"))
		if kind, ok := guard.DetectLine(l); ok {
			c.crossProtocol(kind.String())
			return errCrossProtocol
		}
		pending = pending[i+1:]
	}
	if c.pol.sec.StrictRESP && !c.class.Local() {
		c.s.event(monitor.InlineRefused, c.raddr, c.accountName(), "")
		return errInlineRefused
	}
	return nil
}

// crossProtocol records an attempt and bans the address when it repeats
// (never a local one: a victim's browser shares loopback with the local
// applications).
func (c *conn) crossProtocol(kind string) {
	s := c.s
	s.crossProtocolAttempts.Add(1)
	s.event(monitor.CrossProtocol, c.raddr, "", kind)
	if c.class != guard.Unix && s.bans.Attempt(c.peer, c.class) {
		s.event(monitor.Banned, c.raddr, "", "")
	}
}

// event records a security event of this instance and counts it for INFO.
func (s *Server) event(t monitor.Type, addr, account, detail string) {
	s.countsMu.Lock()
	s.counts[t]++
	s.countsMu.Unlock()
	ev := monitor.Event{Time: s.now(), Type: t, Instance: s.opts.Name, Addr: addr, Account: account, Detail: detail}
	s.events.Record(ev)
	s.appendEvent(ev)
}

// eventCount reports how many events of type t this instance recorded.
func (s *Server) eventCount(t monitor.Type) int64 {
	s.countsMu.Lock()
	defer s.countsMu.Unlock()
	return s.counts[t]
}

// infoSecurity writes INFO's security section: the front door's settings
// and counters, and the addresses banned now.
func (s *Server) infoSecurity(c *conn, kv func(string, any)) {
	p := s.pol.Load()
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	kv("auth_required", b2i(p.needsAuth))
	kv("accounts", len(p.accounts))
	kv("strict_resp", b2i(p.sec.StrictRESP))
	kv("public", b2i(p.sec.Public))
	kv("tls_listeners", len(p.sec.TLSListen))
	kv("allowlist_groups", len(p.allow.Groups()))
	kv("cross_protocol_attempts", s.crossProtocolAttempts.Load())
	kv("inline_refused", s.eventCount(monitor.InlineRefused))
	kv("allowlist_denied", s.eventCount(monitor.AllowlistDenied))
	kv("ban_refused", s.eventCount(monitor.BanRefused))
	kv("bans_total", s.eventCount(monitor.Banned))
	kv("auth_failures", s.authFailures.Load())
	kv("auth_locks", s.eventCount(monitor.AuthLocked))
	kv("auth_timeouts", s.eventCount(monitor.AuthTimeout))
	kv("commands_refused", s.commandsRefused.Load())
	s.eventFileInfo(kv)
	bans := s.bans.List()
	kv("banned_addresses", len(bans))
	for i, b := range bans {
		kv(fmt.Sprintf("ban%d", i), fmt.Sprintf("addr=%s,until=%d,attempts=%d", b.Addr, b.Until.Unix(), b.Attempts))
	}
}
