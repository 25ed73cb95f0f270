package server

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/guard"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
)

// The tests in this file talk to Redoubt from a real peer outside
// loopback: a network namespace joined by a veth pair. The kernel, not an
// injected classifier, decides the address the server sees.

// nsInstance is an instance listening on the namespace's host side and on
// loopback (for the test's own checks), with the one account "app".
type nsInstance struct {
	s    *Server
	rec  *monitor.Recorder
	host string // ns.Host:port, reached from the namespace
	lo   string // 127.0.0.1:port
}

// startNetnsInstance starts an instance on ns.Host and 127.0.0.1 whose
// allowlist admits the default loopback group and the peer's /30, with
// change applied on top.
func startNetnsInstance(t *testing.T, ns *testutil.Netns, change func(*Security)) nsInstance {
	t.Helper()
	tab := command.New()
	peerNet := netip.PrefixFrom(ns.Peer, 30).Masked().String()
	opts, rec := secureOpts(func(sec *Security) {
		sec.Allowlist = allowlist(t, guard.DefaultGroups()[0], guard.Group{Name: "peer", Entries: []string{peerNet}})
		sec.Accounts = []Account{testAccount(t, tab, "app", appPassword, "~*", "&*", "+@all")}
		if change != nil {
			change(sec)
		}
	})
	opts.Table = tab
	opts.Listen = []string{net.JoinHostPort(ns.Host.String(), "0"), "127.0.0.1:0"}
	s := startServer(t, opts)
	addrs := s.Addrs()
	return nsInstance{s: s, rec: rec, host: addrs[0], lo: addrs[1]}
}

// nsDial connects to addr from inside the namespace.
func nsDial(t *testing.T, ns *testutil.Netns, addr string) *client {
	t.Helper()
	nc, err := ns.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s from the namespace: %v", addr, err)
	}
	return newClient(t, nc)
}

// readToClose reads everything the server sends until it closes the
// connection (or 5 s pass, which fails the test).
func readToClose(t *testing.T, c *client) string {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c.nc)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v (read %q)", err, b)
	}
	return string(b)
}

// TestNetnsStrictRESP: a peer on another network may not send inline
// commands under strict RESP (one error, then the door), may send RESP,
// and an instance without strict RESP runs the same inline bytes from the
// same peer, so the refusal is strict RESP's doing.
func TestNetnsStrictRESP(t *testing.T) {
	ns := testutil.NewNetns(t)
	strict := startNetnsInstance(t, ns, func(sec *Security) { sec.StrictRESP = true })
	lax := startNetnsInstance(t, ns, func(sec *Security) { sec.StrictRESP = false })
	refused := "-" + inlineRefusedReply + "\r\n"
	tests := []struct {
		name      string
		inst      nsInstance
		send      string
		want      string // every byte the server sends
		wantClose bool   // the server closes after want
	}{
		{"strict: inline AUTH", strict, "AUTH app " + appPassword + "\r\n", refused, true},
		{"strict: inline PING", strict, "PING\r\n", refused, true},
		{"strict: inline PING after inline AUTH is never run", strict, "AUTH app " + appPassword + "\r\nPING\r\n", refused, true},
		{"strict: RESP AUTH and PING", strict, "*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$" + itoa(len(appPassword)) + "\r\n" + appPassword + "\r\n*1\r\n$4\r\nPING\r\n", "+OK\r\n+PONG\r\n", false},
		{"not strict: inline AUTH and PING run", lax, "AUTH app " + appPassword + "\r\nPING\r\n", "+OK\r\n+PONG\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.inst.rec.Count(monitor.InlineRefused)
			c := nsDial(t, ns, tt.inst.host)
			c.send(tt.send)
			if tt.wantClose {
				if got := readToClose(t, c); got != tt.want {
					t.Fatalf("server sent %q, want exactly %q and a close", got, tt.want)
				}
				if n := tt.inst.rec.Count(monitor.InlineRefused) - before; n != 1 {
					t.Fatalf("%d inline_refused events, want 1", n)
				}
				if ev := tt.inst.rec.Recent()[0]; !strings.HasPrefix(ev.Addr, ns.Peer.String()+":") {
					t.Fatalf("event %+v does not name the peer %s", ev, ns.Peer)
				}
				return
			}
			var got string
			for len(got) < len(tt.want) {
				got += c.reply()
			}
			if got != tt.want {
				t.Fatalf("replies %q, want %q", got, tt.want)
			}
			if got := c.do("PING"); got != "+PONG\r\n" {
				t.Fatalf("connection not usable afterwards: PING = %q", got)
			}
			if n := tt.inst.rec.Count(monitor.InlineRefused) - before; n != 0 {
				t.Fatalf("%d inline_refused events, want 0", n)
			}
		})
	}
}

// TestNetnsBans: a namespace peer that sends HTTP request lines is banned
// after three attempts and then closed at accept without a byte; with bans
// turned off the same peer is still served, so the close is the ban's
// doing. Loopback clients are served throughout.
func TestNetnsBans(t *testing.T) {
	ns := testutil.NewNetns(t)
	tests := []struct {
		name       string
		bans       guard.BanOptions
		wantBanned bool
	}{
		{"bans off: the peer is still served", guard.BanOptions{}, false},
		{"default bans: the peer is banned", guard.DefaultBanOptions(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := startNetnsInstance(t, ns, func(sec *Security) { sec.Bans = tt.bans })
			for i := range 3 {
				c := nsDial(t, ns, in.host)
				c.send("GET / HTTP/1.1\r\nHost: " + in.host + "\r\n\r\n")
				if !c.closedSilently() {
					t.Fatalf("attempt %d: HTTP request not closed silently", i+1)
				}
			}
			c := nsDial(t, ns, in.host)
			if tt.wantBanned {
				if !c.closedSilently() {
					t.Fatal("banned peer not closed at accept")
				}
				if n := in.rec.Count(monitor.BanRefused); n != 1 {
					t.Fatalf("%d ban_refused events, want 1", n)
				}
			} else if got := c.do("AUTH", "app", appPassword); got != "+OK\r\n" {
				t.Fatalf("peer without bans: AUTH = %q", got)
			}

			lo := dial(t, in.lo)
			if got := lo.do("AUTH", "app", appPassword); got != "+OK\r\n" {
				t.Fatalf("loopback AUTH = %q", got)
			}
			info := lo.do("INFO", "security")
			want := []string{"cross_protocol_attempts:3", "banned_addresses:0"}
			if tt.wantBanned {
				want = []string{"cross_protocol_attempts:3", "banned_addresses:1", "ban0:addr=" + ns.Peer.String() + "/32,", "ban_refused:1", "bans_total:1"}
			}
			for _, w := range want {
				if !strings.Contains(info, w) {
					t.Errorf("INFO security lacks %q:\n%s", w, info)
				}
			}
			if got := dial(t, in.lo).do("PING"); got != "-NOAUTH Authentication required.\r\n" {
				t.Fatalf("new loopback connection after the attempts: PING = %q", got)
			}
		})
	}
}

// TestNetnsAllowlist: redis-server listening on the host side of the veth
// answers the namespace peer, so the peer can reach such a listener; an
// instance whose allowlist leaves the peer out closes its connection at
// accept without reading or sending a byte, and records it.
func TestNetnsAllowlist(t *testing.T) {
	ns := testutil.NewNetns(t)
	// StartRedis checks readiness on 127.0.0.1, so bind both.
	r := testutil.StartRedis(t, "--bind", "127.0.0.1", ns.Host.String(), "--protected-mode", "no")
	_, redisPort, _ := net.SplitHostPort(r.Addr)
	admits := startNetnsInstance(t, ns, nil)
	loopOnly := startNetnsInstance(t, ns, func(sec *Security) { sec.Allowlist = nil })
	tests := []struct {
		name   string
		addr   string
		rec    *monitor.Recorder
		denied bool
		want   string // reply to PING when not denied
	}{
		{"redis-server answers the peer", net.JoinHostPort(ns.Host.String(), redisPort), nil, false, "+PONG\r\n"},
		{"redoubt admitting the peer answers it", admits.host, admits.rec, false, "-NOAUTH Authentication required.\r\n"},
		{"redoubt not admitting the peer closes at accept", loopOnly.host, loopOnly.rec, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := nsDial(t, ns, tt.addr)
			if tt.denied {
				// Nothing is sent: the server closes on its own.
				if !c.closedSilently() {
					t.Fatal("peer outside the allowlist not closed silently")
				}
				if n := tt.rec.Count(monitor.AllowlistDenied); n != 1 {
					t.Fatalf("%d allowlist_denied events, want 1", n)
				}
				if ev := tt.rec.Recent()[0]; !strings.HasPrefix(ev.Addr, ns.Peer.String()+":") {
					t.Fatalf("event %+v does not name the peer %s", ev, ns.Peer)
				}
				return
			}
			if got := c.do("PING"); got != tt.want {
				t.Fatalf("PING = %q, want %q", got, tt.want)
			}
			if tt.rec != nil && tt.rec.Count(monitor.AllowlistDenied) != 0 {
				t.Fatal("allowlist_denied recorded for an admitted peer")
			}
		})
	}
	// The denying instance still serves loopback.
	if got := dial(t, loopOnly.lo).do("PING"); got != "-NOAUTH Authentication required.\r\n" {
		t.Fatalf("loopback PING = %q", got)
	}
}
