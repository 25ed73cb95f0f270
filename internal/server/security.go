package server

import (
	"fmt"
	"strings"
	"time"

	"redoubt/internal/acl"
	"redoubt/internal/auth"
	"redoubt/internal/command"
	"redoubt/internal/guard"
	"redoubt/internal/monitor"
	"redoubt/internal/tlsconf"
)

// Defaults of the perimeter, as the issue and Redis set them.
const (
	DefaultMaxClients  = 10000
	DefaultPerAddress  = 1000
	DefaultAuthTimeout = 10 * time.Second
	// StepUpValidity is how long a REDOUBT STEPUP lasts on a connection.
	StepUpValidity = 5 * time.Minute
)

// Security is an instance's front door: who may connect, who they are and
// what they may run. The zero value is not useful; DefaultSecurity gives
// the loopback-only defaults.
type Security struct {
	Public      bool             // the instance declares a public endpoint
	StrictRESP  bool             // refuse inline commands from non-local peers
	NoGuard     bool             // turn the cross-protocol guard off (benchmarks only)
	Allowlist   *guard.Allowlist // admitted networks; nil: loopback only
	Bans        guard.BanOptions // cross-protocol attempts before a ban
	MaxClients  int              // connections at once; 0: DefaultMaxClients
	PerAddress  int              // connections from one address; 0: unlimited
	AuthTimeout time.Duration    // an unauthenticated connection is closed after it
	IdleTimeout time.Duration    // 0: never, as Redis's timeout 0

	TLS       *tlsconf.Config // certificate for TLSListen
	TLSListen []string        // listeners that speak TLS

	// Accounts are the instance's users. Without any, Redis's default
	// user applies: "default", on, no password, every command (except
	// the refused ones), every key and channel.
	Accounts []Account
	// Disabled commands are refused on top of the dangerous ones
	// (full names: "flushall", "config|get"); Enabled ones are allowed
	// again although they are dangerous.
	Disabled []string
	Enabled  []string

	Lockout auth.LockoutOptions
}

// Account is one user of an instance: its compiled ACL rules, its password
// hashes, and the commands that need a second factor.
type Account struct {
	User   *acl.User
	Hashes []*auth.Hash
	StepUp []string // full command names that need REDOUBT STEPUP
	TOTP   []byte   // TOTP secret for STEPUP; nil: STEPUP impossible
}

// DefaultSecurity returns the defaults of a fresh instance: loopback-only
// allowlist, strict RESP, cross-protocol bans, 10,000 clients, a 10 s
// authentication timeout, and no accounts (the nopass default user).
func DefaultSecurity() Security {
	return Security{
		StrictRESP:  true,
		Bans:        guard.DefaultBanOptions(),
		MaxClients:  DefaultMaxClients,
		PerAddress:  DefaultPerAddress,
		AuthTimeout: DefaultAuthTimeout,
		Lockout:     auth.DefaultLockoutOptions(),
	}
}

// neverEnabled are dangerous commands no configuration can allow on the
// wire: each one can point a file outside the instance directory, hand
// the data to another server, or load code.
func neverEnabled(name string) bool {
	switch name {
	case "config|set", "config|rewrite", "debug", "module", "module|load", "module|loadex",
		"replicaof", "slaveof", "sync", "psync", "replconf", "migrate":
		return true
	}
	return false
}

// policy is Security compiled for the data path. A running instance swaps
// the whole policy atomically on reload; connections notice the change at
// their next command.
type policy struct {
	sec       Security
	allow     *guard.Allowlist
	disabled  []bool // by spec ID
	accounts  map[string]*account
	deflt     *account // the account a new connection starts as; nil: must AUTH
	needsAuth bool
}

// account is an Account ready for checks.
type account struct {
	Account
	name   string
	open   bool   // every command, key and channel: no per-command check
	stepup []bool // by spec ID
}

// compilePolicy checks sec against the command table and compiles it.
func compilePolicy(sec Security, tab *command.Table) (*policy, error) {
	p := &policy{
		sec:      sec,
		allow:    sec.Allowlist,
		disabled: make([]bool, tab.Len()),
		accounts: map[string]*account{},
	}
	if p.allow == nil {
		a, err := guard.NewAllowlist(guard.DefaultGroups())
		if err != nil {
			return nil, err
		}
		p.allow = a
	}
	enabled := map[string]bool{}
	for _, name := range sec.Enabled {
		name = strings.ToLower(name)
		spec := lookupFull(tab, name)
		if spec == nil {
			return nil, fmt.Errorf("enabled command %q: no such command", name)
		}
		if neverEnabled(spec.Name) {
			return nil, fmt.Errorf("command %q can never be enabled: it can reach files or servers outside the instance", name)
		}
		enabled[spec.Name] = true
	}
	for _, spec := range tab.ByID {
		if spec.Has(command.FlagDangerous) && !enabled[spec.Name] && !(spec.Parent != nil && enabled[spec.Parent.Name]) {
			p.disabled[spec.ID] = true
		}
	}
	for _, name := range sec.Disabled {
		spec := lookupFull(tab, strings.ToLower(name))
		if spec == nil {
			return nil, fmt.Errorf("disabled command %q: no such command", name)
		}
		p.disabled[spec.ID] = true
		for _, sub := range spec.Subcommands {
			p.disabled[sub.ID] = true
		}
	}
	if len(sec.Accounts) == 0 {
		u, err := acl.Compile("default", []string{"on", "nopass", "~*", "&*", "+@all"}, tab)
		if err != nil {
			return nil, err
		}
		sec.Accounts = []Account{{User: u}}
	}
	for _, a := range sec.Accounts {
		acct := &account{Account: a, name: a.User.Name, stepup: make([]bool, tab.Len())}
		acct.open = a.User.Unrestricted()
		for _, name := range a.StepUp {
			spec := lookupFull(tab, strings.ToLower(name))
			if spec == nil {
				return nil, fmt.Errorf("account %q: step-up command %q: no such command", acct.name, name)
			}
			acct.stepup[spec.ID] = true
			for _, sub := range spec.Subcommands {
				acct.stepup[sub.ID] = true
			}
			acct.open = false
		}
		if _, dup := p.accounts[acct.name]; dup {
			return nil, fmt.Errorf("account %q is defined twice", acct.name)
		}
		p.accounts[acct.name] = acct
	}
	if d := p.accounts["default"]; d != nil && d.User.Enabled && d.User.NoPass {
		p.deflt = d
	}
	p.needsAuth = p.deflt == nil
	return p, nil
}

// lookupFull finds "name" or "parent|sub" in the table.
func lookupFull(tab *command.Table, name string) *command.Spec {
	if strings.Contains(name, "|") {
		return tab.LookupFull([]byte(name))
	}
	return tab.Lookup([]byte(name))
}

// disabledError is the reply to a refused command. The name is the one
// the table knows ("config|set"), so the message is the same however the
// client spelled it.
func disabledError(spec *command.Spec) string {
	name := strings.ReplaceAll(spec.Name, "|", " ")
	return "ERR command '" + strings.ToUpper(name) + "' is disabled on this instance; change it in the admin console"
}

// Reload applies a new front door to the running instance without a
// restart: allowlists, bans, limits, accounts and disabled commands.
// Listen addresses do not change. Connections from addresses the new
// allowlist no longer admits are closed; the others stay, and each one
// picks up the new rules of its account at its next command (a
// connection whose account is gone or disabled is closed then).
func (s *Server) Reload(sec Security) error {
	sec.TLSListen = s.opts.Security.TLSListen
	if sec.TLS == nil {
		sec.TLS = s.opts.Security.TLS
	}
	p, err := compilePolicy(sec, s.table)
	if err != nil {
		return fmt.Errorf("instance %s: %w", s.opts.Name, err)
	}
	s.bans.SetOptions(sec.Bans)
	s.perAddr.SetMax(sec.PerAddress)
	s.pol.Store(p)
	for _, c := range s.sortedConns() {
		if c.class != guard.Unix && !p.allow.Allows(c.peer) {
			s.event(monitor.AllowlistClosed, c.raddr, "", "")
			c.kill()
		}
	}
	return nil
}
