package upstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPort is the port of a redis:// or rediss:// URL that names none.
const DefaultPort = 6379

// MaxDB is the highest database number a URL may name.
const MaxDB = 1 << 20

// ErrURL is wrapped by every error of ParseURL. No such error ever holds
// the URL's password, nor any part of the URL that could be one.
var ErrURL = errors.New("bad backend URL")

// ParseURL parses the address of a backend:
//
//	redis://[user[:password]@]host[:port][/db]
//	rediss://[user[:password]@]host[:port][/db]   (TLS)
//	unix://[user[:password]@]/absolute/path[?db=N]
//	unix:/absolute/path[?db=N]
//
// The port defaults to 6379; an IPv6 host is written in brackets. The
// user information ends at the last '@', so a password may hold '/', '?',
// '#' or '@' unencoded; '%' escapes are decoded. A password is returned in
// Target.Password: whether one may appear in a URL is the caller's
// decision. A rediss:// target verifies the server's certificate against
// the system roots for the host name, TLS 1.2 at least.
func ParseURL(raw string) (Target, error) {
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f {
			return Target{}, urlErr("it may not hold spaces or control characters (percent-encode them)")
		}
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return Target{}, urlErr("it must start with redis://, rediss:// or unix:")
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss":
		hier, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return Target{}, urlErr("expected %s://host:port", strings.ToLower(scheme))
		}
		return parseTCP(strings.EqualFold(scheme, "rediss"), hier)
	case "unix":
		return parseUnix(rest)
	}
	if validScheme(scheme) {
		return Target{}, urlErr("unknown scheme %q: use redis://, rediss:// or unix:", scheme)
	}
	return Target{}, urlErr("it must start with redis://, rediss:// or unix:")
}

// ParseClusterURL parses the seed nodes of a Redis Cluster:
//
//	redis-cluster://[user[:password]@]host[:port][,host[:port]…]
//	rediss-cluster://…   (TLS)
//
// Every seed, and every node found from them, is reached with the same
// credentials and TLS settings. A cluster has only database 0: no path
// is allowed. The TLS server name is left empty, to be each node's host
// unless the configuration names one.
func ParseClusterURL(raw string) ([]Target, error) {
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f {
			return nil, urlErr("it may not hold spaces or control characters (percent-encode them)")
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	secure := strings.EqualFold(scheme, "rediss-cluster")
	if !ok || !secure && !strings.EqualFold(scheme, "redis-cluster") {
		return nil, urlErr("a cluster URL starts with redis-cluster:// or rediss-cluster://")
	}
	var t Target
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if err := userinfo(&t, rest[:at]); err != nil {
			return nil, err
		}
		rest = rest[at+1:]
	}
	if strings.ContainsAny(rest, "/?#") {
		return nil, urlErr("a cluster URL is a list of host:port: no database, query or fragment (a cluster has only database 0)")
	}
	var seeds []Target
	for _, hp := range strings.Split(rest, ",") {
		host, port, err := splitHostPort(hp)
		if err != nil {
			return nil, err
		}
		seed := t
		seed.Network = "tcp"
		seed.Addr = net.JoinHostPort(host, strconv.Itoa(port))
		if secure {
			seed.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		seeds = append(seeds, seed)
	}
	if len(seeds) > 64 {
		return nil, urlErr("more than 64 seed nodes")
	}
	return seeds, nil
}

// IsClusterURL reports whether s has a cluster URL's scheme.
func IsClusterURL(s string) bool {
	scheme, _, _ := strings.Cut(s, "://")
	return strings.EqualFold(scheme, "redis-cluster") || strings.EqualFold(scheme, "rediss-cluster")
}

func urlErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrURL}, args...)...)
}

// validScheme reports whether s looks like a URL scheme (RFC 3986), so
// that it can be named in an error without echoing anything else.
func validScheme(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// parseTCP parses what follows "redis://" or "rediss://".
func parseTCP(secure bool, hier string) (Target, error) {
	t := Target{Network: "tcp"}
	rest := hier
	if at := strings.LastIndexByte(hier, '@'); at >= 0 {
		if err := userinfo(&t, hier[:at]); err != nil {
			return Target{}, err
		}
		rest = hier[at+1:]
	}
	if strings.Contains(rest, "#") {
		return Target{}, urlErr("a fragment (#…) is not allowed")
	}
	if strings.Contains(rest, "?") {
		return Target{}, urlErr("query parameters are not allowed (the database goes in the path: redis://host:port/db)")
	}
	hostport, path, _ := strings.Cut(rest, "/")
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return Target{}, err
	}
	if path != "" {
		if t.DB, err = parseDB(path); err != nil {
			return Target{}, err
		}
	}
	t.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	if secure {
		t.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return t, nil
}

// parseUnix parses what follows "unix:": "///path", "//user@/path" or
// "/path", then an optional "?db=N".
func parseUnix(rest string) (Target, error) {
	t := Target{Network: "unix"}
	if hier, ok := strings.CutPrefix(rest, "//"); ok {
		rest = hier
		// A socket path may hold '@': only "user@/path" has user
		// information.
		if at := strings.LastIndex(hier, "@/"); at >= 0 && !strings.HasPrefix(hier, "/") {
			if err := userinfo(&t, hier[:at]); err != nil {
				return Target{}, err
			}
			rest = hier[at+1:]
		}
		if !strings.HasPrefix(rest, "/") {
			return Target{}, urlErr("a unix socket URL names no host: write unix:///absolute/path")
		}
	}
	if strings.Contains(rest, "#") {
		return Target{}, urlErr("a fragment (#…) is not allowed")
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	if !strings.HasPrefix(path, "/") {
		return Target{}, urlErr("the socket path must be absolute: unix:///absolute/path")
	}
	p, err := url.PathUnescape(path)
	if err != nil {
		return Target{}, urlErr("the socket path has an invalid %%-escape")
	}
	if p == "/" || strings.HasSuffix(p, "/") || strings.ContainsRune(p, 0) {
		return Target{}, urlErr("the socket path must name a file")
	}
	t.Addr = p
	if hasQuery {
		if t.DB, err = unixQuery(query); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// unixQuery parses the query of a unix socket URL: only db=N, once.
func unixQuery(query string) (int, error) {
	db, seen := 0, false
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "db" {
			if validScheme(k) {
				return 0, urlErr("unknown query parameter %q (only db=N is allowed)", k)
			}
			return 0, urlErr("only the query parameter db=N is allowed")
		}
		if seen {
			return 0, urlErr("db is given twice")
		}
		seen = true
		var err error
		if db, err = parseDB(v); err != nil {
			return 0, err
		}
	}
	return db, nil
}

// userinfo decodes "user[:password]" (what precedes the '@') into t.
func userinfo(t *Target, s string) error {
	user, pass, hasPass := strings.Cut(s, ":")
	var err error
	if t.Username, err = url.PathUnescape(user); err != nil {
		return urlErr("the user name has an invalid %%-escape")
	}
	if strings.ContainsFunc(t.Username, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return urlErr("the user name may not hold spaces or control characters")
	}
	if !hasPass {
		return nil
	}
	if t.Password, err = url.PathUnescape(pass); err != nil {
		return urlErr("the password has an invalid %%-escape")
	}
	if t.Password == "" {
		return urlErr("the password is empty (drop the ':' for none)")
	}
	return nil
}

// splitHostPort parses "host", "host:port", "[v6]" or "[v6]:port". Its
// errors never quote what they found: a URL without '@' may hold a
// password where the host or port should be.
func splitHostPort(s string) (string, int, error) {
	var host, port string
	hasPort := false
	if rest, ok := strings.CutPrefix(s, "["); ok {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", 0, urlErr("an IPv6 address has no closing ']'")
		}
		h, err := url.PathUnescape(rest[:end]) // a zone is written %25
		if err != nil {
			return "", 0, urlErr("the host has an invalid %%-escape")
		}
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return "", 0, urlErr("the address in brackets is not an IPv6 address")
		}
		host = h
		after := rest[end+1:]
		if after != "" {
			if port, hasPort = strings.CutPrefix(after, ":"); !hasPort {
				return "", 0, urlErr("expected ':port' after the IPv6 address")
			}
		}
	} else {
		host, port, hasPort = strings.Cut(s, ":")
		if strings.Contains(port, ":") {
			return "", 0, urlErr("an IPv6 address must be written in brackets: redis://[::1]:6379")
		}
		if !validHost(host) {
			if host == "" {
				return "", 0, urlErr("the host is empty")
			}
			return "", 0, urlErr("the host may hold only letters, digits, '.', '-' and '_'")
		}
	}
	if !hasPort {
		return host, DefaultPort, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || !digits(port) || n < 1 || n > 65535 {
		return "", 0, urlErr("the port must be a number from 1 to 65535")
	}
	return host, n, nil
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func parseDB(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || !digits(s) || n > MaxDB {
		return 0, urlErr("the database must be a whole number from 0 to %d", MaxDB)
	}
	return n, nil
}

// digits reports whether s is a non-empty run of ASCII digits (Atoi also
// takes a sign).
func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
