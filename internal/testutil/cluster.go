package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster limits. The node timeout is short so that a killed master is
// failed over in about two seconds; the waits leave room for a loaded
// 2-core machine running the race detector.
const (
	clusterSlots       = 16384
	clusterNodeTimeout = "1000" // ms: PFAIL after 1 s, failover starts at most ~1 s later
	clusterBusOffset   = 10000  // Redis's default cluster bus port is the client port + 10000
	clusterUpTimeout   = 30 * time.Second
	clusterCmdTimeout  = 60 * time.Second // redis-cli --cluster create or reshard
	clusterLogTail     = 30               // lines of each node's log in a failure message
)

// Cluster is a real Redis Cluster started for one test. All nodes listen
// on 127.0.0.1 and share Password (requirepass and masterauth).
type Cluster struct {
	Password string
	Nodes    []*ClusterNode // all nodes, masters first as created
	// TLS is set when the nodes speak only TLS (StartTLSCluster); nil
	// for a plain-text cluster.
	TLS *ClusterTLS

	cli string // redis-cli

	mu      sync.Mutex
	clients map[string]*redis.Client // per node address, for Do
	owners  []string                 // slot -> master id, when the nodes last agreed
}

// ClusterTLS is how the nodes of a TLS cluster are reached. Every node
// has the same server certificate (for 127.0.0.1, ::1 and localhost) and
// the same client certificate for its links to the others (replication
// and the cluster bus); each requires a client certificate signed by CA.
type ClusterTLS struct {
	CA     *CA
	CAFile string // CA's certificate, PEM
	// CertFile and KeyFile are the nodes' client certificate, which
	// redis-cli and the helpers' go-redis clients use too.
	CertFile, KeyFile string
	// Config is a client's configuration: CA as the only root, the
	// client certificate, TLS 1.2 or later.
	Config *tls.Config
}

// ClusterNode is one redis-server of a Cluster.
type ClusterNode struct {
	Addr string // 127.0.0.1:Port
	Port int    // the cluster bus is Port+10000; in a TLS cluster Port is the TLS port and there is no other
	Dir  string // its working directory: nodes.conf and redis.log
	ID   string // its cluster node id (CLUSTER MYID), stable across failovers

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been waited for
}

// StartCluster starts masters+masters*replicasPerMaster redis-server nodes,
// joins them with redis-cli --cluster create, and waits until every node
// agrees on the slots and the roles and every replica has synced, so that a
// test which kills a master gets a failover. The nodes are killed when the
// test ends. A missing redis-server or redis-cli skips the test, or fails
// it under CI=true. Extra arguments are passed to every node as
// "--name value" pairs.
func StartCluster(t testing.TB, masters, replicasPerMaster int, extra ...string) *Cluster {
	t.Helper()
	return startCluster(t, masters, replicasPerMaster, false, extra)
}

// StartTLSCluster is StartCluster for a cluster that speaks only TLS:
// every node has no plain-text port, a TLS port (Addr) that requires a
// client certificate, and TLS on its replication link and cluster bus.
// Cluster.TLS has the CA that signed the nodes' certificates; the
// helpers (Do, Client, NodeClient, Reshard, …) use TLS by themselves.
func StartTLSCluster(t testing.TB, masters, replicasPerMaster int, extra ...string) *Cluster {
	t.Helper()
	return startCluster(t, masters, replicasPerMaster, true, extra)
}

func startCluster(t testing.TB, masters, replicasPerMaster int, useTLS bool, extra []string) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("StartCluster: redis-cli --cluster create needs at least 3 masters, not %d", masters)
	}
	bin := RequireTool(t, "redis-server")
	c := &Cluster{
		Password: randomPassword(t),
		cli:      RequireTool(t, "redis-cli"),
		clients:  map[string]*redis.Client{},
	}
	if useTLS {
		c.TLS = newClusterTLS(t)
		extra = slices.Concat(c.TLS.serverArgs(), extra)
	}
	t.Cleanup(c.stop)
	start := time.Now()
	for range masters * (1 + replicasPerMaster) {
		c.Nodes = append(c.Nodes, c.startNode(t, bin, extra))
	}

	args := []string{"--cluster", "create"}
	args = append(args, c.Seeds()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicasPerMaster), "--cluster-yes")
	if out, err := c.redisCLI(context.Background(), args...); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s\n%s", err, out, c.logs())
	}
	if err := poll(clusterUpTimeout, func() error { return c.ready(masters, replicasPerMaster) }); err != nil {
		t.Fatalf("the cluster did not come up in %v: %v\n%s", clusterUpTimeout, err, c.logs())
	}
	kind := "cluster"
	if useTLS {
		kind = "TLS cluster"
	}
	t.Logf("%s of %d masters and %d replicas up in %v", kind, masters, masters*replicasPerMaster,
		time.Since(start).Round(time.Millisecond))
	return c
}

// newClusterTLS makes a CA and the nodes' certificates, in files.
func newClusterTLS(t testing.TB) *ClusterTLS {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := NewCA(t, "cluster CA")
	srvCert, srvKey := ca.Issue(t, CertSpec{CN: "cluster node", Serial: 2})
	cliCert, cliKey := ca.Issue(t, CertSpec{CN: "cluster node client", Serial: 3, Client: true})
	pair, err := tls.X509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	write("server.pem", srvCert)
	write("server.key", srvKey)
	return &ClusterTLS{
		CA:       ca,
		CAFile:   write("ca.pem", ca.PEM),
		CertFile: write("client.pem", cliCert),
		KeyFile:  write("client.key", cliKey),
		Config:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
}

// serverArgs are a node's TLS arguments. A node presents the server
// certificate to those that connect to it and the client one when it
// connects to another node: a certificate carries one of the two uses,
// and OpenSSL checks it.
func (ct *ClusterTLS) serverArgs() []string {
	dir := filepath.Dir(ct.CAFile)
	return []string{
		"--tls-cluster", "yes", "--tls-replication", "yes", "--tls-auth-clients", "yes",
		"--tls-cert-file", filepath.Join(dir, "server.pem"), "--tls-key-file", filepath.Join(dir, "server.key"),
		"--tls-client-cert-file", ct.CertFile, "--tls-client-key-file", ct.KeyFile,
		"--tls-ca-cert-file", ct.CAFile,
	}
}

// clientConfig is the TLS configuration of the helpers' clients; nil
// for a plain-text cluster.
func (c *Cluster) clientConfig() *tls.Config {
	if c.TLS == nil {
		return nil
	}
	return c.TLS.Config.Clone()
}

func randomPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// startNode starts one cluster-enabled redis-server. Both its port and its
// bus port must be free; another process may take either between the check
// and the start, so a node that does not answer is retried on new ports.
func (c *Cluster) startNode(t testing.TB, bin string, extra []string) *ClusterNode {
	t.Helper()
	var lastErr error
	for range 10 {
		port := freePortPair(t)
		dir := t.TempDir()
		n := &ClusterNode{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Port: port,
			Dir:  dir,
			done: make(chan struct{}),
		}
		ports := []string{"--port", strconv.Itoa(port)}
		if c.TLS != nil {
			// With tls-cluster the bus port is the TLS port + 10000.
			ports = []string{"--port", "0", "--tls-port", strconv.Itoa(port)}
		}
		n.cmd = exec.Command(bin, slices.Concat(ports, []string{
			"--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", clusterNodeTimeout,
			// A replica always stands for election, however long its
			// link to the master has been down, and replicas stay with
			// the master redis-cli gave them.
			"--cluster-replica-validity-factor", "0",
			"--cluster-allow-replica-migration", "no",
			// The first sync starts at once, not after the default 5 s.
			"--repl-diskless-sync-delay", "0",
			"--requirepass", c.Password, "--masterauth", c.Password,
			"--dir", dir, "--save", "", "--appendonly", "no",
			"--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no",
		}, extra)...)
		if err := n.cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		go func() {
			_ = n.cmd.Wait()
			close(n.done)
		}()
		lastErr = poll(10*time.Second, func() error {
			select {
			case <-n.done:
				return errExited
			default:
			}
			id, err := c.do(n.Addr, "CLUSTER", "MYID")
			if err == nil {
				n.ID = fmt.Sprint(id)
			}
			return err
		})
		if lastErr == nil {
			return n
		}
		n.Kill()
		log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
		lastErr = fmt.Errorf("%s: %w\n%s", n.Addr, lastErr, tail(log, clusterLogTail))
	}
	t.Fatalf("redis-server (cluster node) did not start: %v", lastErr)
	return nil
}

// errExited ends a wait for a process that is gone; poll stops on it.
var errExited = errors.New("redis-server exited")

// freePortPair returns a port P in [20000,40000) such that both P and
// P+10000 were free on 127.0.0.1 a moment ago.
func freePortPair(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + mrand.IntN(20000)
		a, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+clusterBusOffset)))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free pair of ports P, P+10000 on 127.0.0.1")
	return 0
}

// Kill sends SIGKILL to the node and waits for it to exit. It may be
// called more than once.
func (n *ClusterNode) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.done
}

// String returns the node's address, for messages.
func (n *ClusterNode) String() string { return n.Addr }

// Alive reports whether the node's process is still running.
func (n *ClusterNode) Alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// stop kills every node and closes the clients of Do.
func (c *Cluster) stop() {
	for _, n := range c.Nodes {
		n.Kill()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.clients {
		_ = cl.Close()
	}
	clear(c.clients)
}

// Seeds returns the addresses of all nodes, killed ones included.
func (c *Cluster) Seeds() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Client returns a cluster-aware go-redis client seeded with the live
// nodes, closed when the test ends: the oracle that tests compare a proxy
// with. A client made after a failover or a reshard starts from the new
// slot map.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	var seeds []string
	for _, n := range c.alive() {
		seeds = append(seeds, n.Addr)
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:       seeds,
		Password:    c.Password,
		DialTimeout: time.Second,
		TLSConfig:   c.clientConfig(),
	})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// NodeClient returns a go-redis client of one node (not cluster-aware:
// it sees MOVED and ASK), owned by the Cluster; do not close it.
func (c *Cluster) NodeClient(addr string) *redis.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[addr]; ok {
		return cl
	}
	// No retries and short timeouts: the waits poll, and a killed node
	// must fail at once rather than after go-redis's back-off.
	cl := redis.NewClient(&redis.Options{
		Addr:            addr,
		Password:        c.Password,
		MaxRetries:      -1,
		DialTimeout:     time.Second,
		ReadTimeout:     5 * time.Second,
		PoolSize:        4,
		DisableIdentity: true,
		TLSConfig:       c.clientConfig(),
	})
	c.clients[addr] = cl
	return cl
}

// do sends one command to one node. A Redis error reply (MOVED, ASK,
// CLUSTERDOWN, …) is an error like a network one.
func (c *Cluster) do(addr string, args ...string) (any, error) {
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.NodeClient(addr).Do(ctx, a...).Result()
}

// Do sends one command to the node at addr and returns its reply as text:
// a string as it is, an integer in decimal, a nil reply as "", anything
// else as fmt.Sprint prints it. A Redis error reply is returned as its
// text ("MOVED 866 127.0.0.1:…"), so that routing tests can look at it;
// a network error fails the test. Call it from the test's goroutine.
func (c *Cluster) Do(t testing.TB, addr string, args ...string) string {
	t.Helper()
	v, err := c.do(addr, args...)
	var rerr redis.Error
	switch {
	case errors.Is(err, redis.Nil):
		return ""
	case errors.As(err, &rerr):
		return err.Error()
	case err != nil:
		t.Fatalf("%s %q: %v", addr, args, err)
	}
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	default:
		return fmt.Sprint(v)
	}
}

// nodeLine is one line of CLUSTER NODES, as one node sees the cluster.
type nodeLine struct {
	id       string
	addr     string // host:port, without the @bus part
	flags    []string
	masterID string // "-" for a master
	slots    [][2]int
}

func (l nodeLine) master() bool { return slices.Contains(l.flags, "master") }
func (l nodeLine) failed() bool {
	return slices.Contains(l.flags, "fail") || slices.Contains(l.flags, "fail?")
}
func (l nodeLine) pending() bool {
	return slices.Contains(l.flags, "handshake") || slices.Contains(l.flags, "noaddr")
}

// parseNodes parses CLUSTER NODES. Slots being migrated ("[1234->-id]")
// are skipped: they still belong to the range they are listed in.
func parseNodes(text string) ([]nodeLine, error) {
	var out []nodeLine
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("short CLUSTER NODES line %q", line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		l := nodeLine{id: f[0], addr: addr, flags: strings.Split(f[2], ","), masterID: f[3]}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				continue
			}
			lo, hi, isRange := strings.Cut(s, "-")
			if !isRange {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a > b || b >= clusterSlots {
				return nil, fmt.Errorf("bad slot range %q in %q", s, line)
			}
			l.slots = append(l.slots, [2]int{a, b})
		}
		out = append(out, l)
	}
	return out, nil
}

// view is one node's CLUSTER NODES.
func (c *Cluster) view(n *ClusterNode) ([]nodeLine, error) {
	v, err := c.do(n.Addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, fmt.Errorf("%s CLUSTER NODES: %w", n.Addr, err)
	}
	return parseNodes(fmt.Sprint(v))
}

// canonical prints a view without what legitimately differs between
// nodes (the myself flag, link states, epochs, fail reports), so that two
// nodes that agree on the members, the roles and the slots print the same.
func canonical(lines []nodeLine) string {
	s := make([]string, len(lines))
	for i, l := range lines {
		role := "slave"
		if l.master() {
			role = "master"
		}
		s[i] = fmt.Sprint(l.id, " ", l.addr, " ", role, " ", l.masterID, " ", l.slots)
	}
	slices.Sort(s)
	return strings.Join(s, "\n")
}

// slotOwners maps each slot to the id of the master that serves it in a
// view; "" for an unassigned slot.
func slotOwners(lines []nodeLine) []string {
	owners := make([]string, clusterSlots)
	for _, l := range lines {
		for _, r := range l.slots {
			for s := r[0]; s <= r[1]; s++ {
				owners[s] = l.id
			}
		}
	}
	return owners
}

func (c *Cluster) alive() []*ClusterNode {
	var out []*ClusterNode
	for _, n := range c.Nodes {
		if n.Alive() {
			out = append(out, n)
		}
	}
	return out
}

func (c *Cluster) byID(id string) *ClusterNode {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// agreed checks that every live node reports cluster_state:ok, serves all
// slots, and sees the same members, roles and slot map as the others, with
// no member still in handshake. It returns that common view.
func (c *Cluster) agreed() ([]nodeLine, error) {
	var first []nodeLine
	var firstText string
	live := c.alive()
	if len(live) == 0 {
		return nil, errors.New("no node is running")
	}
	for _, n := range live {
		info, err := c.do(n.Addr, "CLUSTER", "INFO")
		if err != nil {
			return nil, fmt.Errorf("%s CLUSTER INFO: %w", n.Addr, err)
		}
		if !strings.Contains(fmt.Sprint(info), "cluster_state:ok") {
			return nil, fmt.Errorf("%s: cluster_state is not ok", n.Addr)
		}
		lines, err := c.view(n)
		if err != nil {
			return nil, err
		}
		if len(lines) != len(c.Nodes) {
			return nil, fmt.Errorf("%s knows %d nodes of %d", n.Addr, len(lines), len(c.Nodes))
		}
		for _, l := range lines {
			if l.pending() {
				return nil, fmt.Errorf("%s: node %s is still %v", n.Addr, l.addr, l.flags)
			}
		}
		if i := slices.Index(slotOwners(lines), ""); i >= 0 {
			return nil, fmt.Errorf("%s: slot %d has no master", n.Addr, i)
		}
		text := canonical(lines)
		if first == nil {
			first, firstText = lines, text
		} else if text != firstText {
			return nil, fmt.Errorf("%s and %s disagree:\n%s\n--\n%s", live[0].Addr, n.Addr, firstText, text)
		}
	}
	c.mu.Lock()
	c.owners = slotOwners(first)
	c.mu.Unlock()
	return first, nil
}

// ready checks a new cluster: agreed, the expected number of masters
// each with its replicas, and every replica's link to its master up.
func (c *Cluster) ready(masters, replicasPerMaster int) error {
	lines, err := c.agreed()
	if err != nil {
		return err
	}
	replicas := map[string]int{}
	nMasters := 0
	for _, l := range lines {
		if l.master() {
			nMasters++
		} else {
			replicas[l.masterID]++
		}
	}
	if nMasters != masters {
		return fmt.Errorf("%d masters, want %d", nMasters, masters)
	}
	for _, l := range lines {
		if l.master() && replicas[l.id] != replicasPerMaster {
			return fmt.Errorf("master %s has %d replicas, want %d", l.addr, replicas[l.id], replicasPerMaster)
		}
	}
	return c.synced(lines, false)
}

// synced checks that every live replica's link to its master is up and,
// when offsets is set, that it has applied everything its master wrote.
func (c *Cluster) synced(lines []nodeLine, offsets bool) error {
	for _, l := range lines {
		n := c.byID(l.id)
		if l.master() || n == nil || !n.Alive() {
			continue
		}
		info, err := c.do(n.Addr, "INFO", "replication")
		if err != nil {
			return fmt.Errorf("%s INFO replication: %w", n.Addr, err)
		}
		r := infoFields(fmt.Sprint(info))
		if r["master_link_status"] != "up" {
			return fmt.Errorf("replica %s: master_link_status:%s", n.Addr, r["master_link_status"])
		}
		if !offsets {
			continue
		}
		m := c.byID(l.masterID)
		if m == nil {
			return fmt.Errorf("replica %s: unknown master %s", n.Addr, l.masterID)
		}
		minfo, err := c.do(m.Addr, "INFO", "replication")
		if err != nil {
			return fmt.Errorf("%s INFO replication: %w", m.Addr, err)
		}
		if mo, ro := infoFields(fmt.Sprint(minfo))["master_repl_offset"], r["slave_repl_offset"]; mo != ro {
			return fmt.Errorf("replica %s at offset %s, its master %s at %s", n.Addr, ro, m.Addr, mo)
		}
	}
	return nil
}

// infoFields parses the "name:value" lines of INFO.
func infoFields(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// WaitSynced waits until every replica has applied all its master's
// writes: after it, killing a master loses none of the writes made before.
func (c *Cluster) WaitSynced(t testing.TB, timeout time.Duration) {
	t.Helper()
	err := poll(timeout, func() error {
		lines, err := c.agreed()
		if err != nil {
			return err
		}
		return c.synced(lines, true)
	})
	if err != nil {
		t.Fatalf("replicas did not catch up in %v: %v", timeout, err)
	}
}

// Masters returns the nodes that are masters now, in the order of Nodes,
// as the first live node sees the cluster; a failed or killed master is
// left out.
func (c *Cluster) Masters(t testing.TB) []*ClusterNode {
	t.Helper()
	lines := c.mustView(t)
	var out []*ClusterNode
	for _, n := range c.Nodes {
		for _, l := range lines {
			if l.id == n.ID && l.master() && !l.failed() && n.Alive() {
				out = append(out, n)
			}
		}
	}
	return out
}

// MasterOf returns the node that serves slot, as the first live node sees
// the cluster, or nil when no node serves it.
func (c *Cluster) MasterOf(t testing.TB, slot int) *ClusterNode {
	t.Helper()
	if slot < 0 || slot >= clusterSlots {
		t.Fatalf("MasterOf: slot %d out of range", slot)
	}
	return c.byID(slotOwners(c.mustView(t))[slot])
}

// SlotMasters returns the master of every slot (nil for a slot no master
// serves), from one node's view.
func (c *Cluster) SlotMasters(t testing.TB) []*ClusterNode {
	t.Helper()
	owners := slotOwners(c.mustView(t))
	out := make([]*ClusterNode, len(owners))
	for slot, id := range owners {
		out[slot] = c.byID(id)
	}
	return out
}

func (c *Cluster) mustView(t testing.TB) []nodeLine {
	t.Helper()
	live := c.alive()
	if len(live) == 0 {
		t.Fatal("no cluster node is running")
	}
	lines, err := c.view(live[0])
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// WaitFailover waits until, on every live node, killed serves no slot,
// every slot is served and cluster_state is ok, all nodes agreeing. It
// returns the node that now serves the first slot killed served when the
// nodes last agreed (at start-up, or after a reshard or a wait), or nil if
// it served none then.
func (c *Cluster) WaitFailover(t testing.TB, killed *ClusterNode, timeout time.Duration) *ClusterNode {
	t.Helper()
	c.mu.Lock()
	before := c.owners
	c.mu.Unlock()
	err := poll(timeout, func() error {
		lines, err := c.agreed()
		if err != nil {
			return err
		}
		if i := slices.Index(slotOwners(lines), killed.ID); i >= 0 {
			return fmt.Errorf("slot %d is still served by the killed %s", i, killed.Addr)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no failover of %s in %v: %v\n%s", killed.Addr, timeout, err, c.logs())
	}
	if i := slices.Index(before, killed.ID); i >= 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.byID(c.owners[i])
	}
	return nil
}

// Reshard moves slots slots from one master to another with redis-cli
// --cluster reshard, keys included, and waits until all nodes agree on
// the new slot map.
func (c *Cluster) Reshard(t testing.TB, from, to *ClusterNode, slots int) {
	t.Helper()
	if err := c.ReshardAsync(t, from, to, slots)(); err != nil {
		t.Fatal(err)
	}
}

// ReshardAsync starts Reshard in the background, for a test that runs a
// load during the move; the returned function waits for the move and for
// the nodes to agree, and returns what went wrong. The move is cancelled
// when the test ends.
func (c *Cluster) ReshardAsync(t testing.TB, from, to *ClusterNode, slots int) (wait func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clusterCmdTimeout)
	var cliErr error // written before finished is closed
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		out, err := c.redisCLI(ctx, "--cluster", "reshard", from.Addr,
			"--cluster-from", from.ID, "--cluster-to", to.ID,
			"--cluster-slots", strconv.Itoa(slots), "--cluster-yes")
		if err != nil {
			cliErr = fmt.Errorf("redis-cli --cluster reshard %s -> %s: %w\n%s", from.Addr, to.Addr, err, tail(out, clusterLogTail))
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	var result error
	var once sync.Once
	return func() error {
		once.Do(func() {
			<-finished
			if result = cliErr; result != nil {
				return
			}
			if err := poll(clusterUpTimeout, func() error { _, err := c.agreed(); return err }); err != nil {
				result = fmt.Errorf("after the reshard the nodes did not agree in %v: %w", clusterUpTimeout, err)
			}
		})
		return result
	}
}

// redisCLI runs redis-cli with the cluster's password (and TLS
// settings) and returns its combined output.
func (c *Cluster) redisCLI(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, clusterCmdTimeout)
	defer cancel()
	all := []string{"-a", c.Password, "--no-auth-warning"}
	if c.TLS != nil {
		all = append(all, "--tls", "--cacert", c.TLS.CAFile, "--cert", c.TLS.CertFile, "--key", c.TLS.KeyFile)
	}
	all = append(all, args...)
	return exec.CommandContext(ctx, c.cli, all...).CombinedOutput()
}

// logs returns the tail of every node's log, for a failure message.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		log, err := os.ReadFile(filepath.Join(n.Dir, "redis.log"))
		if err != nil {
			fmt.Fprintf(&b, "--- %s: %v\n", n.Addr, err)
			continue
		}
		fmt.Fprintf(&b, "--- %s (%s) redis.log, last %d lines:\n%s\n", n.Addr, n.ID, clusterLogTail, tail(log, clusterLogTail))
	}
	return b.String()
}

// tail returns the last n lines of text.
func tail(text []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(text, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// poll calls check every 20 ms until it returns nil or errExited, or the
// timeout passes; it returns check's last error.
func poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || errors.Is(err, errExited) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Slot returns the cluster hash slot of key as Redis computes it: CRC16
// (XMODEM) modulo 16384 of the key, or of its hash tag — the bytes between
// the first "{" and the first "}" after it, when there are any.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % clusterSlots)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), bit by bit:
// tests hash few keys, so a table would be clutter.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
