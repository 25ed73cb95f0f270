// Package cluster reaches a real Redis Cluster for an instance whose
// backend is one: the slot map, learnt from the nodes and kept current
// (on every MOVED, on a node's failure, and periodically), and one
// pipelined upstream backend per master node. Routing a client's command
// to its slot's node is the server's; this package says which node that
// is.
package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/upstream"
)

// Options configure a Cluster.
type Options struct {
	// Seeds are nodes to learn the topology from; each carries the
	// credentials (and TLS settings) every node is reached with.
	Seeds []upstream.Target
	// Pool, MaxReply and Name configure each node's backend as in
	// upstream.Options.
	Pool     int
	MaxReply int64
	Name     string
	Logger   *slog.Logger
	// OnHealth is told when a node's backend goes down (err says why)
	// or comes back.
	OnHealth func(node string, up bool, err error)
	// Refresh is how often the topology is read when nothing happens;
	// 0: DefaultRefresh.
	Refresh time.Duration
}

// DefaultRefresh is how often the topology is read when nothing prompts
// it: often enough that a master which stopped answering without closing
// its connections (paused, partitioned) is seen replaced soon after the
// cluster fails it over.
const DefaultRefresh = 2 * time.Second

// Refresh timing: how soon after a MOVED or a node's failure the topology
// is read again, and how often while a master is down (until a replica
// takes over).
const (
	minRefreshGap  = 50 * time.Millisecond
	downRefresh    = 250 * time.Millisecond
	maxDownRefresh = 5 * time.Second // reads that keep failing back off to this
	refreshTimeout = 2 * time.Second
)

// ErrNoTopology: no node answered with the cluster's slot map.
var ErrNoTopology = errors.New("no node of the cluster answered with its slot map")

// Node is one master of the cluster, with its backend connections.
type Node struct {
	Addr    string
	Backend *upstream.Backend
	first   atomic.Int32 // the lowest slot it owns; -1: none
	slots   atomic.Int32 // how many slots it owns
	num     int          // its number: nodes are numbered from 1 as they are met, never reused
}

// Num is the node's number: 1 for the first node met, and so on; a
// node keeps it as long as Redoubt runs, whatever slots it serves.
func (n *Node) Num() int { return n.num }

// ByNum returns the node numbered num, or nil.
func (c *Cluster) ByNum(num int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.num == num {
			return n
		}
	}
	return nil
}

// Cluster is the topology of one Redis Cluster and a backend per node.
type Cluster struct {
	opts     Options
	template upstream.Target // how every node is reached, but for its address
	log      *slog.Logger
	slots    [Slots]atomic.Pointer[Node]
	epoch    atomic.Uint64 // bumped on every change of the slot map

	mu      sync.Mutex
	nodes   map[string]*Node // every node met, by address
	closed  bool
	masters atomic.Pointer[[]*Node] // owners of slots, by lowest slot

	refreshes atomic.Int64 // topology reads started
	// refreshedUpTo is the number of the last topology read that ended
	// (under mu); refreshed is closed when the next one ends.
	refreshedUpTo int64
	refreshed     chan struct{}
	lastErr       atomic.Pointer[string]
	hint          atomic.Pointer[string] // the node of the last MOVED: asked first
	numbered      int                    // nodes numbered so far (under mu)
	trigger       chan struct{}
	quit          chan struct{}
	ctx           context.Context // cancelled by Close
	cancel        context.CancelFunc
}

// New reads the topology from the seeds and connects to every master. A
// cluster that cannot be reached does not fail New (clients get errors
// until it answers); the first error is returned with the Cluster.
func New(opts Options) (*Cluster, error) {
	if len(opts.Seeds) == 0 {
		return nil, errors.New("a cluster backend needs at least one seed node")
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		opts:      opts,
		template:  opts.Seeds[0],
		log:       opts.Logger.With("cluster", Describe(opts.Seeds)),
		nodes:     map[string]*Node{},
		refreshed: make(chan struct{}),
		trigger:   make(chan struct{}, 1),
		quit:      make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.masters.Store(&[]*Node{})
	seeds := make([]upstream.Target, len(opts.Seeds))
	for i, t := range opts.Seeds {
		seeds[i] = c.target(t.Addr)
	}
	c.opts.Seeds = seeds
	err := c.refresh()
	go c.refresher()
	return c, err
}

// Route returns the master that serves slot, or nil when none does.
func (c *Cluster) Route(slot int) *Node { return c.slots[slot].Load() }

// Epoch changes whenever the slot map does.
func (c *Cluster) Epoch() uint64 { return c.epoch.Load() }

// Masters returns the nodes that own slots, ordered by their lowest slot.
func (c *Cluster) Masters() []*Node { return *c.masters.Load() }

// First is the lowest slot the node owned at the last refresh; -1: none.
func (n *Node) First() int { return int(n.first.Load()) }

// Moved records a MOVED redirection (slot is served by addr from now
// on), and reads the whole topology again soon: a slot seldom moves
// alone. It returns the node, nil if addr is not one of the cluster's
// masters (see Node).
func (c *Cluster) Moved(slot int, addr string) *Node {
	n := c.Node(addr)
	if n == nil || slot < 0 || slot >= Slots {
		c.Refresh()
		return n
	}
	if c.slots[slot].Swap(n) != n {
		c.epoch.Add(1)
	}
	c.hint.Store(&addr)
	c.Refresh()
	return n
}

// Node returns the master at addr (a redirection's target). An address
// the last topology read did not name is looked for in a fresh read, and
// nil is returned if it is not there: the nodes' password goes only to
// the cluster's own nodes, never to an address a reply merely names (a
// script may answer with any error text).
func (c *Cluster) Node(addr string) *Node {
	if n := c.known(addr); n != nil {
		return n
	}
	want := c.refreshes.Load() + 1 // a read that starts after now
	deadline := time.After(2 * refreshTimeout)
	for {
		c.mu.Lock()
		done, wait := c.refreshedUpTo, c.refreshed
		c.mu.Unlock()
		if done >= want {
			return c.known(addr)
		}
		c.Refresh()
		select {
		case <-wait:
		case <-deadline:
			return nil
		case <-c.quit:
			return nil
		}
	}
}

// known returns the node at addr if the topology named it.
func (c *Cluster) known(addr string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[addr]
}

// newNode connects to the master at addr (a backend that cannot connect
// yet keeps trying by itself).
func (c *Cluster) newNode(addr string) *Node {
	be, err := upstream.New(upstream.Options{
		Target:   c.target(addr),
		Pool:     c.opts.Pool,
		MaxReply: c.opts.MaxReply,
		Name:     c.opts.Name,
		Logger:   c.opts.Logger,
		OnHealth: func(up bool, err error) { c.health(addr, up, err) },
	})
	if err != nil {
		c.log.Warn("cluster node unavailable", "node", addr, "err", err)
	}
	n := &Node{Addr: addr, Backend: be}
	n.first.Store(-1)
	return n
}

// target is how the node at addr is reached: as the first seed, with
// its credentials and TLS settings, at another address.
func (c *Cluster) target(addr string) upstream.Target {
	t := c.template
	t.Network = "tcp"
	t.Addr = addr
	t.DB = 0
	if t.TLS != nil && t.TLS.ServerName == "" {
		t.TLS = t.TLS.Clone()
		t.TLS.ServerName, _, _ = net.SplitHostPort(addr)
	}
	return t
}

// health passes a node's health on, and reads the topology again: a
// master that failed is replaced by one of its replicas.
func (c *Cluster) health(addr string, up bool, err error) {
	if c.opts.OnHealth != nil {
		c.opts.OnHealth(addr, up, err)
	}
	c.Refresh()
}

// Refresh asks for the topology to be read again soon.
func (c *Cluster) Refresh() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// refresher reads the topology when asked and periodically: often while
// a master is down, so a failover is seen as soon as it happens.
func (c *Cluster) refresher() {
	last := time.Now()
	failures := 0
	for {
		wait := c.opts.Refresh
		if !c.allUp() {
			wait = min(downRefresh<<min(failures, 8), maxDownRefresh)
		}
		timer := time.NewTimer(wait)
		select {
		case <-c.quit:
			timer.Stop()
			return
		case <-c.trigger:
			timer.Stop()
			// Many MOVEDs at once make one refresh.
			if gap := minRefreshGap - time.Since(last); gap > 0 {
				select {
				case <-time.After(gap):
				case <-c.quit:
					return
				}
			}
		case <-timer.C:
		}
		last = time.Now()
		if err := c.refresh(); err != nil {
			if failures == 0 {
				c.log.Warn("reading the cluster's topology", "err", err)
			}
			failures++
		} else {
			if failures > 0 {
				c.log.Info("the cluster's topology is read again", "failed_reads", failures)
			}
			failures = 0
		}
	}
}

// allUp reports whether every master's backend answers.
func (c *Cluster) allUp() bool {
	ms := c.Masters()
	if len(ms) == 0 {
		return false
	}
	for _, n := range ms {
		if !n.Backend.Up() {
			return false
		}
	}
	return true
}

// refresh reads the slot map from a node — a master that is up first,
// then the others, then the seeds — and applies it.
func (c *Cluster) refresh() error {
	n := c.refreshes.Add(1)
	defer func() {
		c.mu.Lock()
		c.refreshedUpTo = n
		close(c.refreshed)
		c.refreshed = make(chan struct{})
		c.mu.Unlock()
	}()
	var candidates []upstream.Target
	seen := map[string]bool{}
	add := func(t upstream.Target) {
		if !seen[t.Addr] {
			seen[t.Addr] = true
			candidates = append(candidates, t)
		}
	}
	// The node a MOVED named knows the slots it was given first: the
	// others may not have heard yet.
	if h := c.hint.Swap(nil); h != nil && c.known(*h) != nil {
		add(c.target(*h))
	}
	ms := c.Masters()
	for _, up := range []bool{true, false} {
		for _, n := range ms {
			if n.Backend.Up() == up {
				add(c.target(n.Addr))
			}
		}
	}
	for _, s := range c.opts.Seeds {
		add(s)
	}
	var errs []error
	for _, t := range candidates {
		shards, err := c.readTopology(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Addr, err))
			continue
		}
		c.apply(shards)
		c.lastErr.Store(nil)
		return nil
	}
	err := fmt.Errorf("%w: %w", ErrNoTopology, errors.Join(errs...))
	msg := err.Error()
	c.lastErr.Store(&msg)
	return err
}

// readTopology asks one node for the slot map: CLUSTER SHARDS (Redis 7),
// else CLUSTER SLOTS.
func (c *Cluster) readTopology(t upstream.Target) ([]shard, error) {
	tls := t.TLS != nil
	ctx, cancel := context.WithTimeout(c.ctx, refreshTimeout)
	defer cancel()
	vals, err := upstream.Do(ctx, t, [][]byte{[]byte("CLUSTER"), []byte("SHARDS")})
	if err != nil {
		return nil, err
	}
	if vals[0].Type != '-' {
		return parseShards(vals[0], tls)
	}
	vals, err = upstream.Do(ctx, t, [][]byte{[]byte("CLUSTER"), []byte("SLOTS")})
	if err != nil {
		return nil, err
	}
	if vals[0].Type == '-' {
		return nil, fmt.Errorf("CLUSTER SLOTS: %s", vals[0].Str)
	}
	host, _, _ := net.SplitHostPort(t.Addr)
	return parseSlots(vals[0], host)
}

// apply installs a slot map: every master gets a node (connected the
// first time), every slot its master; slots no master serves are left
// without one (their commands get CLUSTERDOWN).
func (c *Cluster) apply(shards []shard) {
	// New masters are connected to first, without the lock: a dial may
	// take its whole timeout.
	fresh := map[string]*Node{}
	for _, sh := range shards {
		if c.known(sh.master) == nil && fresh[sh.master] == nil {
			fresh[sh.master] = c.newNode(sh.master)
		}
	}
	owner := make([]*Node, Slots)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		for _, n := range fresh {
			n.Backend.Close()
		}
		return
	}
	for _, sh := range shards { // in the topology's order: numbers follow it
		n := fresh[sh.master]
		if n == nil || c.nodes[sh.master] == n {
			continue
		}
		if c.nodes[sh.master] != nil {
			n.Backend.Close() // another read added it meanwhile
			continue
		}
		c.numbered++
		n.num = c.numbered
		c.nodes[sh.master] = n
	}
	var masters []*Node
	counts := map[*Node]int{}
	firsts := map[*Node]int{}
	for _, sh := range shards {
		n := c.nodes[sh.master]
		for _, r := range sh.ranges {
			for s := r[0]; s <= r[1]; s++ {
				owner[s] = n
			}
		}
	}
	for s, n := range owner {
		if n == nil {
			continue
		}
		if counts[n] == 0 {
			masters = append(masters, n)
			firsts[n] = s
		}
		counts[n]++
	}
	for _, n := range c.nodes {
		first, k := -1, counts[n]
		if k > 0 {
			first = firsts[n]
		}
		n.first.Store(int32(first))
		n.slots.Store(int32(k))
	}
	c.mu.Unlock()
	changed := false
	for s, n := range owner {
		if c.slots[s].Swap(n) != n {
			changed = true
		}
	}
	slices.SortFunc(masters, func(a, b *Node) int { return cmp.Compare(a.First(), b.First()) })
	c.masters.Store(&masters)
	if changed {
		c.epoch.Add(1)
		addrs := make([]string, len(masters))
		for i, n := range masters {
			addrs[i] = fmt.Sprintf("%s(%d slots)", n.Addr, n.slots.Load())
		}
		c.log.Info("cluster topology", "masters", addrs)
	}
}

// Close stops reading the topology and closes every node's connections.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	nodes := make([]*Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	c.mu.Unlock()
	// The refresher is not waited for: a read in progress is cancelled,
	// and a node it connects to meanwhile is closed when it sees closed.
	close(c.quit)
	c.cancel()
	for _, n := range nodes {
		n.Backend.Close()
	}
}

// NodeStats are one node's figures for INFO.
type NodeStats struct {
	Addr  string
	Slots int
	upstream.Stats
}

// Stats are the cluster's figures for INFO.
type Stats struct {
	Seeds     string
	Covered   int // slots with a master
	Refreshes int64
	LastError string
	Nodes     []NodeStats // the masters, by lowest slot
}

// Stats reports the cluster's figures.
func (c *Cluster) Stats() Stats {
	st := Stats{Seeds: Describe(c.opts.Seeds), Refreshes: c.refreshes.Load()}
	if e := c.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	for s := range c.slots {
		if c.slots[s].Load() != nil {
			st.Covered++
		}
	}
	for _, n := range c.Masters() {
		st.Nodes = append(st.Nodes, NodeStats{Addr: n.Addr, Slots: int(n.slots.Load()), Stats: n.Backend.Stats()})
	}
	return st
}

// Describe writes seeds as a cluster URL, without the password.
func Describe(seeds []upstream.Target) string {
	if len(seeds) == 0 {
		return ""
	}
	d := "redis-cluster://"
	if seeds[0].TLS != nil {
		d = "rediss-cluster://"
	}
	if seeds[0].Username != "" {
		d += seeds[0].Username + "@"
	}
	for i, s := range seeds {
		if i > 0 {
			d += ","
		}
		d += s.Addr
	}
	return d
}
