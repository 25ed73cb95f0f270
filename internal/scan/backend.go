package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"redoubt/internal/config"
	"redoubt/internal/guard"
	"redoubt/internal/managed"
	"redoubt/internal/resp"
	"redoubt/internal/upstream"
)

// minVersion is the first Redis release that closes the cross-protocol
// attack (CVE-2016-10517: a web page makes a browser send HTTP to Redis,
// whose POST and Host: lines it then ran as commands).
const minVersion = "3.2.7"

// maxEvidence bounds a backend's error text quoted in evidence.
const maxEvidence = 160

// The replies of the authenticated probe, in the order probeCommands
// sends them.
const (
	rInfo = iota
	rProtected
	rBind
	rDebug
	rModule
	rDryConfig
	rDryModule
	rModuleCfg
	rProtectedCfg
	rNodes // only when the node is a cluster seed
)

// probeCommands is everything the scanner sends on its logged-in
// connection to a backend node. Every command only reads: INFO server
// (the version and TCP port), CONFIG GET of protected-mode, bind,
// enable-module-command and enable-protected-configs (one name each, as
// Redis before 7 takes one), DEBUG HELP (a help text), MODULE LIST, ACL
// DRYRUN (asks whether the account may run CONFIG SET or MODULE LOAD,
// running neither; Redis 7+) and, on a cluster seed, CLUSTER NODES. The
// scanner never sends CONFIG SET, MODULE LOAD or any other command that
// changes the backend.
func probeCommands(user string, seed bool) [][][]byte {
	if user == "" {
		user = "default"
	}
	cmd := func(args ...string) [][]byte {
		out := make([][]byte, len(args))
		for i, a := range args {
			out[i] = []byte(a)
		}
		return out
	}
	cmds := [][][]byte{
		rInfo:         cmd("INFO", "server"),
		rProtected:    cmd("CONFIG", "GET", "protected-mode"),
		rBind:         cmd("CONFIG", "GET", "bind"),
		rDebug:        cmd("DEBUG", "HELP"),
		rModule:       cmd("MODULE", "LIST"),
		rDryConfig:    cmd("ACL", "DRYRUN", user, "CONFIG", "SET", "dir", "/nonexistent"),
		rDryModule:    cmd("ACL", "DRYRUN", user, "MODULE", "LOAD", "/nonexistent.so"),
		rModuleCfg:    cmd("CONFIG", "GET", "enable-module-command"),
		rProtectedCfg: cmd("CONFIG", "GET", "enable-protected-configs"),
	}
	if seed {
		cmds = append(cmds, cmd("CLUSTER", "NODES"))
	}
	return cmds
}

// prober probes backend nodes, at most cap(sem) at once.
type prober struct {
	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{}
}

// job is one backend node to probe.
type job struct {
	inst   string
	target upstream.Target
	seed   bool // a cluster seed: read CLUSTER NODES
	// anonOnly: the scanner has no credentials (a managed server it did
	// not start): only the probe without a password is made.
	anonOnly bool
}

// backend probes the backend of one instance: nothing for the embedded
// engine, the server for redis and managed, every node for a cluster.
func (p *prober) backend(ctx context.Context, inst config.Instance, live map[string]upstream.Target) []Finding {
	b := inst.Backend
	switch b.Kind {
	case config.BackendRedis:
		fs, _ := p.node(ctx, job{inst: inst.Name, target: b.Target})
		return fs
	case config.BackendManaged:
		if t, ok := live[inst.Name]; ok {
			fs, _ := p.node(ctx, job{inst: inst.Name, target: t})
			return fs
		}
		return p.managedOffline(ctx, inst)
	case config.BackendCluster:
		return p.cluster(ctx, inst)
	}
	return nil
}

// managedOffline probes a managed server that this process did not
// start, through its socket: only whether it answers without a password,
// since its password is made anew at each start.
func (p *prober) managedOffline(ctx context.Context, inst config.Instance) []Finding {
	sock := filepath.Join(inst.Data, managed.SocketName)
	note := Finding{ID: RuleBackendUnverified, Severity: Info, Instance: inst.Name, Node: "unix://" + sock,
		Title:  "the managed backend was not fully checked",
		Remedy: "the server runs the full checks on its managed redis-server (at start-up, on schedule, from the console)"}
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		note.Evidence = "no managed redis-server is running (no socket " + sock + "): Redoubt starts it hardened, on a unix socket only"
		return []Finding{note}
	}
	fs, _ := p.node(ctx, job{inst: inst.Name, target: upstream.Target{Network: "unix", Addr: sock}, anonOnly: true})
	note.Evidence = "its password is made when Redoubt starts it, so only a connection without a password was tried"
	return append(fs, note)
}

// cluster probes the seeds, then the other nodes the seeds name.
func (p *prober) cluster(ctx context.Context, inst config.Instance) []Finding {
	b := inst.Backend
	seeds := b.Seeds
	if len(seeds) == 0 {
		seeds = []upstream.Target{b.Target}
	}
	seen := map[string]bool{}
	var (
		mu   sync.Mutex
		out  []Finding
		more []string
		wg   sync.WaitGroup
	)
	for _, s := range seeds[:min(len(seeds), maxClusterNodes)] {
		if seen[s.Addr] {
			continue
		}
		seen[s.Addr] = true
		wg.Go(func() {
			fs, peers := p.node(ctx, job{inst: inst.Name, target: nodeTarget(s, s.Addr), seed: true})
			mu.Lock()
			out, more = append(out, fs...), append(more, peers...)
			mu.Unlock()
		})
	}
	wg.Wait()
	skipped := 0
	for _, addr := range more {
		if seen[addr] {
			continue
		}
		if len(seen) >= maxClusterNodes {
			skipped++
			continue
		}
		seen[addr] = true
		wg.Go(func() {
			fs, _ := p.node(ctx, job{inst: inst.Name, target: nodeTarget(seeds[0], addr)})
			mu.Lock()
			out = append(out, fs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if skipped > 0 {
		out = append(out, Finding{ID: RuleBackendUnverified, Severity: Info, Instance: inst.Name,
			Title:    "some cluster nodes were not probed",
			Evidence: fmt.Sprintf("the cluster names %d more nodes than the %d probed", skipped, maxClusterNodes),
			Remedy:   "nothing to do; the scanner bounds its work"})
	}
	return out
}

// nodeTarget is how the cluster node at addr is reached: with the
// seed's credentials and TLS settings, the TLS server name being the
// node's host unless one is configured (as the cluster router does).
func nodeTarget(seed upstream.Target, addr string) upstream.Target {
	t := seed
	t.Network, t.Addr, t.DB = "tcp", addr, 0
	if t.TLS != nil && t.TLS.ServerName == "" {
		t.TLS = t.TLS.Clone()
		t.TLS.ServerName, _, _ = net.SplitHostPort(addr)
	}
	return t
}

// node probes one backend node within the timeout: one connection
// logged in as Redoubt is, one without credentials. It returns the
// findings and, for a cluster seed, the addresses of the other nodes.
func (p *prober) node(ctx context.Context, j job) ([]Finding, []string) {
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	t := j.target
	n := &nodeScan{inst: j.inst, node: t.String(), user: t.Username}
	p.log.Debug("scan: probing backend", "instance", j.inst, "node", n.node)

	anonT := t
	anonT.Username, anonT.Password = "", ""
	var (
		wg               sync.WaitGroup
		vals, anon       []resp.Value
		err, anonErr     error
		hostClass        guard.Class
		hostWhy, hostErr string
	)
	wg.Go(func() {
		anon, anonErr = upstream.Do(ctx, anonT, [][]byte{[]byte("PING")})
	})
	if !j.anonOnly {
		wg.Go(func() { vals, err = upstream.Do(ctx, t, probeCommands(t.Username, j.seed)...) })
	}
	wg.Go(func() { hostClass, hostWhy, hostErr = classifyTarget(ctx, t) })
	wg.Wait()
	if anonErr != nil && (j.anonOnly || err != nil && !isAuthErr(err)) {
		why := firstErr(err, anonErr).Error()
		if ctx.Err() != nil {
			why = fmt.Sprintf("no reply within %v (%s)", p.timeout, why)
		}
		n.add(RuleBackendUnreachable, High, "the backend cannot be reached",
			clip(why), "check the backend's address and that it is up; until it answers nothing else about it can be checked")
		return n.out, nil
	}
	n.remote = hostErr == "" && !hostClass.Local()
	n.reachability(j, vals, hostClass, hostWhy, hostErr)
	n.anonymous(anon, anonErr)
	switch {
	case j.anonOnly:
	case err != nil && isAuthErr(err):
		n.add(RuleBackendLoginFailed, High, "the backend refuses Redoubt's credentials",
			clip(err.Error()), "set the backend's password (password_file) and user name (url) to an account of the backend")
	case err != nil:
		n.unknown("logged-in probe: " + clip(err.Error()))
	case isErr(vals[rInfo], "NOAUTH"):
		n.add(RuleBackendLoginFailed, High, "the backend requires a password Redoubt does not have",
			"INFO answered "+errText(vals[rInfo]), "set the backend's password in the backend's password_file")
	default:
		n.version(vals[rInfo])
		n.protectedMode(vals[rProtected])
		n.dangerous(vals)
	}
	var peers []string
	if j.seed && err == nil && len(vals) > rNodes {
		peers = clusterPeers(vals[rNodes], t.Addr)
	}
	n.finish()
	return n.out, peers
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return errors.New("no reply")
}

// isAuthErr reports whether upstream.Do failed at its AUTH.
func isAuthErr(err error) bool { return strings.HasPrefix(err.Error(), "AUTH: ") }

// nodeScan gathers the findings about one node.
type nodeScan struct {
	inst, node, user string
	out              []Finding
	unknowns         []string // checks that could not be made
	exposed          []string // why clients could reach the node
	noPass           *Finding // added at finish, its severity by exposure
	// remote: Redoubt reaches the node at an address that is not
	// loopback or a unix socket, so Redis 7's "local" does not apply to
	// it.
	remote bool
	major  int // the release's major number; 0 when unknown
}

func (n *nodeScan) add(id string, sev Severity, title, evidence, remedy string) {
	n.out = append(n.out, Finding{ID: id, Severity: sev, Instance: n.inst, Node: n.node,
		Title: title, Evidence: evidence, Remedy: remedy})
}

func (n *nodeScan) unknown(what string) { n.unknowns = append(n.unknowns, what) }

// finish adds the findings that depend on several checks.
func (n *nodeScan) finish() {
	if len(n.exposed) > 0 {
		n.add(RuleBackendReachable, Medium, "clients could reach the backend without going through Redoubt",
			strings.Join(n.exposed, "; "),
			"bind the backend to 127.0.0.1 or a unix socket on Redoubt's host (or firewall it to Redoubt's address); the managed backend is never reachable from the network")
	}
	if n.noPass != nil {
		if len(n.exposed) > 0 {
			n.noPass.Severity = Critical
			n.noPass.Evidence += "; and it is reachable from the network"
		}
		n.out = append(n.out, *n.noPass)
	}
	if len(n.unknowns) > 0 {
		n.add(RuleBackendUnverified, Info, "some checks of the backend could not be made",
			strings.Join(n.unknowns, "; "),
			"nothing to fix if the backend refuses these commands on purpose (a restricted account or renamed commands)")
	}
}

// anonymous judges the PING sent without credentials.
func (n *nodeScan) anonymous(vals []resp.Value, err error) {
	if err != nil {
		n.unknown("PING without a password: " + clip(err.Error()))
		return
	}
	v := vals[0]
	f := Finding{ID: RuleBackendNoPassword, Severity: High, Instance: n.inst, Node: n.node,
		Title:  "the backend answers without a password",
		Remedy: "set requirepass (or an ACL user with a long random password and `user default off`) on the backend and give it to Redoubt"}
	switch {
	case v.Type == resp.TypeSimple && string(v.Str) == "PONG":
		f.Evidence = "PING sent without AUTH was answered PONG"
	case isErr(v, "DENIED"):
		f.Evidence = "PING sent without AUTH was refused by protected mode only (DENIED): the backend has no password, and loopback clients get in"
	case isErr(v, "NOAUTH"), isErr(v, "WRONGPASS"):
		return
	default:
		n.unknown("PING without a password answered " + errText(v))
		return
	}
	n.noPass = &f
}

// version checks INFO server's redis_version.
func (n *nodeScan) version(info resp.Value) {
	if info.Type == resp.TypeError {
		n.unknown("version: INFO answered " + errText(info))
		return
	}
	v := infoField(string(info.Str), "redis_version")
	old, ok := olderThan(v, minVersion)
	if ver, ok := parseVersion(v); ok {
		n.major = max(ver[0], 1)
	}
	switch {
	case !ok:
		n.unknown(fmt.Sprintf("version: INFO server gave no readable redis_version (%q)", clip(v)))
	case old:
		n.add(RuleBackendOldVersion, High, "the backend's Redis is older than "+minVersion,
			fmt.Sprintf("INFO server: redis_version %s; before %s a web page can make a browser send commands to it (CVE-2016-10517)", v, minVersion),
			"upgrade the backend to a supported Redis release")
	}
}

// protectedMode checks CONFIG GET protected-mode.
func (n *nodeScan) protectedMode(v resp.Value) {
	val, ok := configValue(v, "protected-mode")
	switch {
	case v.Type == resp.TypeError:
		n.unknown("protected-mode: CONFIG GET answered " + errText(v))
	case !ok:
		n.unknown("protected-mode: CONFIG GET returned no value (Redis before 3.2 has no protected mode)")
	case strings.EqualFold(val, "no"):
		n.add(RuleBackendProtectedOff, Medium, "protected mode is off on the backend",
			"CONFIG GET protected-mode: no; without a password the backend would answer every network client",
			"set protected-mode yes on the backend")
	}
}

// dangerous judges CONFIG, DEBUG and MODULE for Redoubt's account.
func (n *nodeScan) dangerous(vals []resp.Value) {
	user := n.user
	if user == "" {
		user = "default"
	}
	n.config(vals, user)
	if enabled(vals[rDebug]) {
		n.add(RuleBackendDebug, High, "DEBUG is enabled on the backend",
			"DEBUG HELP answered "+describe(vals[rDebug])+" (DEBUG can crash the server, dump memory and change its state)",
			"set enable-debug-command no (Redis 7) or refuse DEBUG to Redoubt's account (-debug)")
	} else if !refused(vals[rDebug]) {
		n.unknown("DEBUG HELP answered " + errText(vals[rDebug]))
	}
	n.module(vals)
}

// config judges CONFIG: CONFIG SET allowed (by ACL DRYRUN, or taken to
// be when CONFIG GET answers and DRYRUN cannot tell) is high, or medium
// when Redis 7's enable-protected-configs still guards dir and
// dbfilename; CONFIG GET alone is medium.
func (n *nodeScan) config(vals []resp.Value, user string) {
	get := vals[rProtected].Type != resp.TypeError
	dry := dryRun(vals[rDryConfig])
	if dry == dryDenied || dry == dryUnknown && !get {
		if get {
			n.add(RuleBackendConfigRead, Medium, "CONFIG GET is allowed on the backend",
				fmt.Sprintf("CONFIG GET answered for user %q, though CONFIG SET is denied; CONFIG GET shows requirepass and masterauth", user),
				"refuse CONFIG GET to Redoubt's account too (-config)")
		}
		return
	}
	evidence := fmt.Sprintf("ACL DRYRUN: user %q may run CONFIG SET", user)
	if dry == dryUnknown {
		evidence = fmt.Sprintf("CONFIG GET answered for user %q and ACL DRYRUN could not tell about CONFIG SET (%s), so it is taken to be allowed (the scanner never runs it)",
			user, clip(dryText(vals[rDryConfig])))
	}
	sev := High
	allowed, known, val := n.option(vals[rProtectedCfg])
	if known && !allowed {
		sev = Medium
		evidence += "; enable-protected-configs " + val + " still keeps dir and dbfilename from being changed"
	} else {
		evidence += "; with CONFIG SET dir and dbfilename whoever holds the backend's credentials writes files where the backend runs (enable-protected-configs: " + val + ")"
	}
	n.add(RuleBackendConfig, sev, "CONFIG SET is allowed on the backend", evidence,
		"refuse CONFIG to Redoubt's account (an ACL user with -@dangerous +info, or rename-command CONFIG \"\")")
}

// module judges MODULE: MODULE LIST answers, ACL DRYRUN does not deny
// MODULE LOAD, and Redis 7's enable-module-command lets Redoubt's
// connection run it (Redis before 7 has no such switch).
func (n *nodeScan) module(vals []resp.Value) {
	list := vals[rModule]
	switch {
	case !enabled(list):
		if !refused(list) {
			n.unknown("MODULE LIST answered " + errText(list))
		}
		return
	case dryRun(vals[rDryModule]) == dryDenied:
		return
	}
	allowed, known, val := n.option(vals[rModuleCfg])
	switch {
	case known && !allowed:
		return
	case !known && n.major >= 7:
		n.unknown("MODULE LIST answers but enable-module-command cannot be read: CONFIG GET answered " + errText(vals[rModuleCfg]))
		return
	case !known && n.major == 0:
		n.unknown("MODULE LIST answers but neither the version nor enable-module-command can be read")
		return
	}
	n.add(RuleBackendModule, High, "MODULE LOAD is enabled on the backend",
		"MODULE LIST answered "+describe(list)+" and enable-module-command is "+val+"; MODULE LOAD runs any shared library on the backend's host",
		"set enable-module-command no (Redis 7) or refuse MODULE to Redoubt's account (-module)")
}

// option reads a Redis 7 enable-* option from its CONFIG GET reply:
// whether it lets Redoubt's connection do what it guards ("yes", or
// "local" unless Redoubt reaches the node from another host), whether
// it could be read, and its value for evidence. A release before 7 has
// no such option and guards nothing.
func (n *nodeScan) option(v resp.Value) (allowed, known bool, val string) {
	if v.Type == resp.TypeError {
		return false, false, "unreadable"
	}
	if (v.Type == resp.TypeArray || v.Type == resp.TypeMap) && len(v.Elems) == 0 {
		return true, true, "absent (before Redis 7)"
	}
	if (v.Type != resp.TypeArray && v.Type != resp.TypeMap) || len(v.Elems) < 2 {
		return false, false, "unreadable"
	}
	val = strings.ToLower(string(v.Elems[1].Str))
	switch val {
	case "yes":
		return true, true, val
	case "local":
		return !n.remote, true, val
	}
	return false, true, val
}

// reachability finds why clients could reach the node around Redoubt:
// the address Redoubt dials is not loopback, or the node listens on
// every interface or on a non-loopback address (CONFIG GET bind, unless
// INFO says it has no TCP port).
func (n *nodeScan) reachability(j job, vals []resp.Value, class guard.Class, why, lookupErr string) {
	switch {
	case lookupErr != "":
		n.unknown("address: " + lookupErr)
	case !class.Local():
		n.exposed = append(n.exposed, "Redoubt reaches it at "+why)
	}
	if j.anonOnly || len(vals) <= rBind || isErr(vals[rInfo], "NOAUTH") {
		return
	}
	if port := infoField(string(vals[rInfo].Str), "tcp_port"); vals[rInfo].Type != resp.TypeError && port == "0" {
		return // no TCP listener at all (the managed backend)
	}
	bind, ok := configValue(vals[rBind], "bind")
	if !ok {
		if vals[rBind].Type == resp.TypeError {
			n.unknown("bind: CONFIG GET answered " + errText(vals[rBind]))
		}
		return
	}
	if open := openBind(bind); len(open) > 0 {
		n.exposed = append(n.exposed, fmt.Sprintf("it listens on bind %q (%s)", bind, strings.Join(open, ", ")))
	}
}

// classifyTarget returns the class of the address Redoubt dials and a
// description of it; a host name is looked up, and its most exposed
// address counts. The last result is why the lookup failed.
func classifyTarget(ctx context.Context, t upstream.Target) (guard.Class, string, string) {
	if t.Network == "unix" {
		return guard.Unix, "", ""
	}
	host, _, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return guard.Public, "", "cannot split " + strconv.Quote(t.Addr)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		class := guard.ClassifyAddr(a)
		return class, fmt.Sprintf("%s, a %s address", t.Addr, class), ""
	}
	if strings.EqualFold(host, "localhost") {
		return guard.Loopback, "", ""
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return guard.Loopback, "", fmt.Sprintf("cannot look up %s: %v", host, err)
	}
	worst := guard.Loopback
	for _, a := range addrs {
		worst = min(worst, guard.ClassifyAddr(a))
	}
	return worst, fmt.Sprintf("%s (%s resolves to a %s address)", t.Addr, host, worst), ""
}

// openBind returns the entries of a bind setting that clients beyond
// loopback could use: "*", "::*", 0.0.0.0, ::, any address that is not
// loopback; an empty setting (Redis before 7 without bind) listens on
// every interface. A leading '-' (an address that may be missing) is
// ignored.
func openBind(bind string) []string {
	fields := strings.Fields(bind)
	if len(fields) == 0 {
		return []string{"no bind: every interface"}
	}
	var open []string
	for _, f := range fields {
		a := strings.TrimPrefix(f, "-")
		switch {
		case a == "*" || a == "::*" || a == "0.0.0.0" || a == "::":
			open = append(open, f+": every interface")
		case strings.EqualFold(a, "localhost"):
		default:
			ip, err := netip.ParseAddr(a)
			if err != nil {
				open = append(open, f+": a host name")
			} else if class := guard.ClassifyAddr(ip); !class.Local() {
				open = append(open, fmt.Sprintf("%s: a %s address", f, class))
			}
		}
	}
	return open
}

// clusterPeers reads the node addresses of a CLUSTER NODES reply, except
// nodes without an address or still in handshake. A node whose IP is
// empty (not yet known to itself) is at the seed's host.
func clusterPeers(v resp.Value, seedAddr string) []string {
	if v.Type == resp.TypeError {
		return nil
	}
	seedHost, _, _ := net.SplitHostPort(seedAddr)
	var out []string
	for line := range strings.SplitSeq(string(v.Str), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.Contains(f[2], "noaddr") || strings.Contains(f[2], "handshake") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		addr, _, _ = strings.Cut(addr, ",")
		i := strings.LastIndexByte(addr, ':')
		if i < 0 {
			continue
		}
		host, port := strings.Trim(addr[:i], "[]"), addr[i+1:]
		if host == "" {
			host = seedHost
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			continue
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out
}

// The verdicts of ACL DRYRUN.
const (
	dryUnknown = iota // not available: before Redis 7, or ACL refused
	dryAllowed
	dryDenied
)

func dryRun(v resp.Value) int {
	switch {
	case v.Type == resp.TypeSimple && string(v.Str) == "OK":
		return dryAllowed
	case (v.Type == resp.TypeBulk || v.Type == resp.TypeVerbatim) && strings.Contains(string(v.Str), "no permissions"):
		return dryDenied
	}
	return dryUnknown
}

func dryText(v resp.Value) string {
	if v.Type == resp.TypeError {
		return string(v.Str)
	}
	return "no verdict"
}

// enabled reports whether a harmless form of a dangerous command (DEBUG
// HELP, MODULE LIST) shows the command runs: it answered, or answered an
// error only a running command gives (old releases without HELP).
func enabled(v resp.Value) bool {
	if v.Type != resp.TypeError {
		return true
	}
	s := strings.ToLower(string(v.Str))
	return strings.Contains(s, "syntax error") || strings.Contains(s, "unknown subcommand")
}

// refused reports whether an error says the command may not run: no
// permission, renamed away, or disabled (Redis 7's enable-*-command).
func refused(v resp.Value) bool {
	if v.Type != resp.TypeError {
		return false
	}
	s := strings.ToLower(string(v.Str))
	return strings.HasPrefix(s, "noperm") || strings.Contains(s, "unknown command") || strings.Contains(s, "not allowed")
}

// describe says what kind of reply a command gave, never its content.
func describe(v resp.Value) string {
	switch v.Type {
	case resp.TypeArray, resp.TypeSet:
		return fmt.Sprintf("with %d entries", len(v.Elems))
	case resp.TypeError:
		return errText(v)
	}
	return "normally"
}

// configValue reads the value of a CONFIG GET name reply.
func configValue(v resp.Value, name string) (string, bool) {
	if (v.Type != resp.TypeArray && v.Type != resp.TypeMap) || len(v.Elems) < 2 || !strings.EqualFold(string(v.Elems[0].Str), name) {
		return "", false
	}
	return string(v.Elems[1].Str), true
}

// infoField returns one field of an INFO text.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), name+":"); ok {
			return v
		}
	}
	return ""
}

// olderThan reports whether version v ("3.2.6", "7.0.15") is older than
// w; false as the second result when v is not a version.
func olderThan(v, w string) (bool, bool) {
	a, ok := parseVersion(v)
	b, okW := parseVersion(w)
	if !ok || !okW {
		return false, false
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i], true
		}
	}
	return false, true
}

func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) > 6 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func isErr(v resp.Value, prefix string) bool {
	return v.Type == resp.TypeError && strings.HasPrefix(string(v.Str), prefix)
}

// errText quotes an error reply's first line, shortened.
func errText(v resp.Value) string {
	if v.Type != resp.TypeError {
		return "a " + strconv.QuoteRune(rune(v.Type)) + " reply"
	}
	line, _, _ := strings.Cut(string(v.Str), "\n")
	return strconv.Quote(clip(line))
}

func clip(s string) string {
	if len(s) <= maxEvidence {
		return s
	}
	return s[:maxEvidence] + "…"
}
