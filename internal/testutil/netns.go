//go:build linux

package testutil

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Netns is a network namespace joined to the test's namespace by a veth
// pair: a peer that is not on loopback, for the rules that treat such
// peers differently (strict RESP, bans, password enforcement). Host is
// the address on the test's side, Peer the one inside the namespace;
// both come from 10.213.0.0/16, a range only these tests use.
type Netns struct {
	Name string
	Host netip.Addr
	Peer netip.Addr
	path string
}

var netnsSeq atomic.Int32

// NewNetns creates a namespace and its veth pair, removed when the test
// ends. It needs root and iproute2: without them the test is skipped, or
// fails under CI=true.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	ip := RequireTool(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("network namespace tests need root")
		}
		t.Skip("network namespace tests need root")
	}
	n := int(netnsSeq.Add(1))
	id := (os.Getpid()*7 + n) % 250
	name := fmt.Sprintf("rdbt%d_%d", os.Getpid()%100000, n)
	hostIf, peerIf := fmt.Sprintf("rdh%d_%d", os.Getpid()%10000, n), fmt.Sprintf("rdp%d_%d", os.Getpid()%10000, n)
	ns := &Netns{
		Name: name,
		Host: netip.AddrFrom4([4]byte{10, 213, byte(id), 1}),
		Peer: netip.AddrFrom4([4]byte{10, 213, byte(id), 2}),
		path: "/var/run/netns/" + name,
	}
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(ip, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		_ = exec.Command(ip, "netns", "del", name).Run()
		_ = exec.Command(ip, "link", "del", hostIf).Run()
	})
	run("netns", "add", name)
	run("link", "add", hostIf, "type", "veth", "peer", "name", peerIf)
	run("link", "set", peerIf, "netns", name)
	run("addr", "add", ns.Host.String()+"/30", "dev", hostIf)
	run("link", "set", hostIf, "up")
	run("-n", name, "addr", "add", ns.Peer.String()+"/30", "dev", peerIf)
	run("-n", name, "link", "set", peerIf, "up")
	run("-n", name, "link", "set", "lo", "up")
	return ns
}

// Dial connects to addr from inside the namespace. The socket is created
// on a thread that joined the namespace; the thread is then discarded, so
// no other goroutine ever runs in the namespace.
func (ns *Netns) Dial(addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with the goroutine.
		f, err := os.Open(ns.path)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("setns: %w", err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}
