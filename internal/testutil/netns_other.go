//go:build !linux

package testutil

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

// Netns is a network namespace; they exist only on Linux.
type Netns struct {
	Name string
	Host netip.Addr
	Peer netip.Addr
}

// NewNetns skips the test: network namespaces exist only on Linux.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	t.Skip("network namespaces exist only on Linux")
	return nil
}

// Dial is never reached.
func (ns *Netns) Dial(addr string) (net.Conn, error) {
	return nil, errors.New("network namespaces exist only on Linux")
}
