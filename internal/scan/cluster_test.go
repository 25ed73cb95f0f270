package scan

import (
	"slices"
	"testing"

	"redoubt/internal/testutil"
)

// TestClusterBackend probes a real Redis Cluster named by one seed: the
// scanner learns the other nodes from CLUSTER NODES and probes each.
// The test cluster's nodes share a password and allow CONFIG to the
// default user, so every node has a backend-config-enabled finding.
func TestClusterBackend(t *testing.T) {
	c := testutil.StartCluster(t, 3, 1)
	seed := c.Nodes[0].Addr
	fs := backendFindings(t, backendConfig(t, "redis-cluster://"+seed, c.Password))
	var nodes []string
	for _, f := range fs {
		switch f.ID {
		case RuleBackendConfig:
			nodes = append(nodes, f.Node)
		default:
			t.Errorf("unexpected finding %+v", f)
		}
	}
	var want []string
	for _, n := range c.Nodes {
		want = append(want, "redis://"+n.Addr)
	}
	slices.Sort(nodes)
	slices.Sort(want)
	if !slices.Equal(nodes, want) {
		t.Fatalf("backend-config-enabled on %q, want every node %q", nodes, want)
	}
	noSecret(t, fs, c.Password)
}
