package guard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Class is the kind of network an address belongs to. The zero Class is
// Public, so an address that was never classified is treated as the most
// exposed one: every check fails closed.
type Class int

// The classes, from the most exposed to the most local.
const (
	// Public is every address not in another class, including the
	// unspecified addresses 0.0.0.0 and :: (a listener on them binds
	// every interface) and invalid ones.
	Public Class = iota
	// Private is RFC 1918 (10/8, 172.16/12, 192.168/16) and RFC 4193
	// (fc00::/7). The shared address space 100.64.0.0/10 (RFC 6598,
	// carrier-grade NAT) is not Private: it is shared among an ISP's
	// customers, so a peer there is not on the operator's network.
	Private
	// LinkLocal is 169.254/16 and fe80::/10.
	LinkLocal
	// Loopback is 127/8 and ::1.
	Loopback
	// Unix is a unix-domain socket.
	Unix
)

// String returns the class's name as it appears in logs and INFO.
func (c Class) String() string {
	switch c {
	case Public:
		return "public"
	case Private:
		return "private"
	case LinkLocal:
		return "link-local"
	case Loopback:
		return "loopback"
	case Unix:
		return "unix"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Local reports whether c is Loopback or Unix: a peer whose traffic may
// come from a browser on the same machine. Such peers are never banned
// (banning them would let any web page deny service to the local
// applications) and are exempt from strict RESP.
func (c Class) Local() bool {
	return c == Loopback || c == Unix
}

// ClassifyAddr returns the class of a. An IPv4-mapped IPv6 address
// (::ffff:10.0.0.1) is classified as the IPv4 address it carries; a zone
// is ignored. The zero netip.Addr is Public.
func ClassifyAddr(a netip.Addr) Class {
	a = a.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return Public
	case a.IsLoopback():
		return Loopback
	case a.IsPrivate():
		return Private
	case a.IsLinkLocalUnicast():
		return LinkLocal
	}
	return Public
}

// ErrHostName is wrapped by ClassifyListen's error for a listen address
// whose host is a name other than "localhost".
var ErrHostName = errors.New("host names cannot be classified; use a literal IP address")

// UnixPrefix starts a listen address that names a unix socket.
const UnixPrefix = "unix:"

// ClassifyListen returns the class of a listen address: "host:port" with
// a literal IPv4 or IPv6 host ("127.0.0.1:6379", "[::1]:6379",
// "[fe80::1%eth0]:6379"), "localhost:port" (Loopback), ":port" (Public:
// an empty host binds every interface) or "unix:/path" (Unix). The port
// must be a decimal number from 0 to 65535. Any other host name is an
// error wrapping ErrHostName: a name can resolve to any address, so only
// a literal address can be judged.
func ClassifyListen(addr string) (Class, error) {
	if path, ok := strings.CutPrefix(addr, UnixPrefix); ok {
		if path == "" {
			return Public, fmt.Errorf("listen address %q: empty unix socket path", addr)
		}
		return Unix, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Public, fmt.Errorf("listen address %q: want host:port or unix:/path", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (len(port) > 1 && port[0] == '0') || n > 65535 {
		return Public, fmt.Errorf("listen address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	switch {
	case host == "":
		return Public, nil
	case strings.EqualFold(host, "localhost"):
		return Loopback, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Public, fmt.Errorf("listen address %q: %w", addr, ErrHostName)
	}
	return ClassifyAddr(ip), nil
}

// Peer returns the address and class of a connection's remote address.
// A *net.UnixAddr is Unix with the zero netip.Addr; a *net.TCPAddr (or
// *net.UDPAddr) gives its IP, unmapped, and the IP's class. Any other
// net.Addr whose String is "ip:port" is parsed; anything else is the
// zero address and Public, so an unknown peer is never taken for a local
// one.
func Peer(a net.Addr) (addr netip.Addr, class Class) {
	switch a := a.(type) {
	case *net.UnixAddr:
		return netip.Addr{}, Unix
	case *net.TCPAddr:
		if a == nil {
			return netip.Addr{}, Public
		}
		addr = a.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		if a == nil {
			return netip.Addr{}, Public
		}
		addr = a.AddrPort().Addr().Unmap()
	case nil:
		return netip.Addr{}, Public
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, Public
		}
		addr = ap.Addr().Unmap()
	}
	return addr, ClassifyAddr(addr)
}
