package server

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// Review tests of the cluster backend, against a real Redis Cluster. One
// cluster serves the subtests of TestClusterReview (a cluster takes
// seconds to start); each subtest starts its own Redoubt, so a slot map
// that one subtest leaves stale on purpose is no other's. Subtests that
// move slots look the owners up again rather than assume the first map.

// rvStart starts Redoubt in front of cl, with the default security
// policy; change adjusts the options.
func rvStart(t *testing.T, cl *testutil.Cluster, change func(*Options)) *Server {
	t.Helper()
	return startServer(t, rvOptions(cl, change))
}

// rvOptions are the options of an instance in front of cl.
func rvOptions(cl *testutil.Cluster, change func(*Options)) Options {
	var seeds []upstream.Target
	for _, a := range cl.Seeds() {
		seeds = append(seeds, upstream.Target{Network: "tcp", Addr: a, Password: cl.Password})
	}
	sec := DefaultSecurity()
	opts := Options{Security: &sec, Backend: Backend{Kind: BackendCluster, Seeds: seeds}}
	if change != nil {
		change(&opts)
	}
	return opts
}

// rvBulk encodes a bulk string.
func rvBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// rvBlocked returns a node's blocked_clients.
func rvBlocked(t *testing.T, cl *testutil.Cluster, n *testutil.ClusterNode) int {
	t.Helper()
	for _, line := range strings.Split(cl.Do(t, n.Addr, "INFO", "clients"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "blocked_clients:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}

// rvTag returns a hash tag whose keys are in slot.
func rvTag(slot int) string {
	for i := 0; ; i++ {
		tag := "t" + strconv.Itoa(i)
		if testutil.Slot(tag) == slot {
			return tag
		}
	}
}

// rvKey returns a key of slot: name{tag}.
func rvKey(name string, slot int) string { return name + "{" + rvTag(slot) + "}" }

// rvNode returns the cluster node at addr.
func rvNode(t *testing.T, cl *testutil.Cluster, addr string) *testutil.ClusterNode {
	t.Helper()
	for _, n := range cl.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("no node at %s", addr)
	return nil
}

// rvOtherMaster returns a live master other than n.
func rvOtherMaster(t *testing.T, cl *testutil.Cluster, n *testutil.ClusterNode) *testutil.ClusterNode {
	t.Helper()
	for _, m := range cl.Masters(t) {
		if m != n {
			return m
		}
	}
	t.Fatal("no other master")
	return nil
}

// rvMigrate starts moving slot from one master to another as redis-cli
// does — IMPORTING on to, MIGRATING on from — and moves the keys listed
// (all of the slot's keys when keys is nil). finish assigns the slot to
// to on every master, ending the move.
func rvMigrate(t *testing.T, cl *testutil.Cluster, slot int, from, to *testutil.ClusterNode, keys []string, finish bool) {
	t.Helper()
	ctx := context.Background()
	s := strconv.Itoa(slot)
	if got := cl.Do(t, to.Addr, "CLUSTER", "SETSLOT", s, "IMPORTING", from.ID); got != "OK" {
		t.Fatalf("SETSLOT IMPORTING: %s", got)
	}
	if got := cl.Do(t, from.Addr, "CLUSTER", "SETSLOT", s, "MIGRATING", to.ID); got != "OK" {
		t.Fatalf("SETSLOT MIGRATING: %s", got)
	}
	if keys == nil {
		var err error
		keys, err = cl.NodeClient(from.Addr).ClusterGetKeysInSlot(ctx, slot, 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(keys) > 0 {
		host, port, _ := net.SplitHostPort(to.Addr)
		args := []any{"MIGRATE", host, port, "", 0, 5000, "AUTH", cl.Password, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		if err := cl.NodeClient(from.Addr).Do(ctx, args...).Err(); err != nil {
			t.Fatalf("MIGRATE: %v", err)
		}
	}
	if finish {
		rvFinish(t, cl, slot, from, to)
	}
}

// rvFinish ends a move that rvMigrate started: the slot is to's, on
// every master.
func rvFinish(t *testing.T, cl *testutil.Cluster, slot int, from, to *testutil.ClusterNode) {
	t.Helper()
	s := strconv.Itoa(slot)
	order := []*testutil.ClusterNode{to, from}
	for _, m := range cl.Masters(t) {
		if m != to && m != from {
			order = append(order, m)
		}
	}
	for _, m := range order {
		if got := cl.Do(t, m.Addr, "CLUSTER", "SETSLOT", s, "NODE", to.ID); got != "OK" {
			t.Fatalf("SETSLOT NODE on %s: %s", m.Addr, got)
		}
	}
}

// rvSubNode returns the master where channel has its one subscriber.
func rvSubNode(t *testing.T, cl *testutil.Cluster, channel string) *testutil.ClusterNode {
	t.Helper()
	for _, m := range cl.Masters(t) {
		if strings.Contains(cl.Do(t, m.Addr, "PUBSUB", "NUMSUB", channel), channel+" 1") {
			return m
		}
	}
	t.Fatalf("%s has a subscriber on no master", channel)
	return nil
}

// rvOwner returns the node that really serves slot now.
func rvOwner(t *testing.T, cl *testutil.Cluster, slot int) *testutil.ClusterNode {
	t.Helper()
	n := cl.MasterOf(t, slot)
	if n == nil {
		t.Fatalf("slot %d has no master", slot)
	}
	return n
}

// rvFreeSlot returns a slot of node with no key, other than the ones in
// avoid.
func rvFreeSlot(t *testing.T, cl *testutil.Cluster, s *Server, node *testutil.ClusterNode, avoid ...int) int {
	t.Helper()
	ctx := context.Background()
	for _, m := range s.cl.Masters() {
		avoid = append(avoid, m.First()) // SCAN's cursors name nodes by them
	}
next:
	for slot := 1; slot < 16384; slot += 7 {
		for _, a := range avoid {
			if a == slot {
				continue next
			}
		}
		if n := s.cl.Route(slot); n == nil || n.Addr != node.Addr {
			continue
		}
		if cl.NodeClient(node.Addr).ClusterCountKeysInSlot(ctx, slot).Val() == 0 {
			return slot
		}
	}
	t.Fatalf("no free slot on %s", node.Addr)
	return -1
}
