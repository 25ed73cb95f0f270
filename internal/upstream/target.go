// Package upstream reaches a real redis-server for an instance whose
// backend is not the embedded engine: a small pool of pipelined
// connections shared by every client, dedicated connections for clients
// that hold connection state, and the backend's health.
package upstream

import (
	"crypto/tls"
	"strconv"
	"strings"
	"time"
)

// Target is where a backend is and how to log in to it. It holds the
// backend's password: never log a Target, log Target.String().
type Target struct {
	Network  string      // "tcp" or "unix"
	Addr     string      // host:port, or the socket path
	TLS      *tls.Config // nil: plain text
	Username string      // "" : the default user
	Password string      // "" : no AUTH
	DB       int         // the database clients start in

	DialTimeout time.Duration // 0: DefaultDialTimeout
}

// DefaultDialTimeout bounds connecting and logging in to a backend.
const DefaultDialTimeout = 5 * time.Second

// String describes the target without its password.
func (t Target) String() string {
	scheme := "redis"
	switch {
	case t.Network == "unix":
		scheme = "unix"
	case t.TLS != nil:
		scheme = "rediss"
	}
	s := scheme + "://"
	if t.Username != "" {
		s += t.Username + "@"
	}
	s += t.Addr
	if t.DB != 0 && t.Network != "unix" {
		s += "/" + strconv.Itoa(t.DB)
	}
	if t.DB != 0 && t.Network == "unix" {
		s += "?db=" + strconv.Itoa(t.DB)
	}
	return s
}

// redactAuthError makes an error reply to a handshake fit for errors,
// logs and INFO: a server that does not know AUTH (renamed away) quotes
// the command's arguments — the password — in its "unknown command"
// error, so the quote is cut, and the password is replaced wherever else
// it appears.
func (t Target) redactAuthError(msg []byte) string {
	s := string(msg)
	if i := strings.Index(s, ", with args beginning with"); i >= 0 {
		s = s[:i]
	}
	if t.Password != "" {
		s = strings.ReplaceAll(s, t.Password, "(redacted)")
	}
	return s
}
