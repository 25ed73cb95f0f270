package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"redoubt/internal/acl"
	"redoubt/internal/auth"
	"redoubt/internal/command"
	"redoubt/internal/guard"
	"redoubt/internal/tlsconf"
	"redoubt/internal/totp"
)

// Defaults of an instance's front door.
const (
	DefaultMaxClients  = 10000
	DefaultPerAddress  = 1000
	DefaultAuthTimeout = 10 * time.Second
)

// TLS is an instance's TLS listeners and certificate.
type TLS struct {
	Listen  []string
	Options tlsconf.Options
}

// Account is one configured user: its compiled ACL rules (password hashes
// included, parsed), the commands that need step-up, its TOTP secret.
type Account struct {
	Name   string
	User   *acl.User
	Hashes []*auth.Hash
	StepUp []string
	TOTP   []byte
	Line   int
}

// securityKeys documents the instance keys of the front door.
func securityKeys() [][2]string {
	return [][2]string{
		{"instances[].public", "true to allow a public (non-private) listen address; needs TLS and a password (default false)"},
		{"instances[].strict_resp", "refuse inline commands from peers that are not loopback or a unix socket (default true)"},
		{"instances[].cross_protocol_guard", "close connections that send HTTP (default true; false only to measure its cost)"},
		{"instances[].allowlist", "named groups of addresses and CIDR ranges admitted (default: default: [127.0.0.1, ::1])"},
		{"instances[].bans.attempts", "cross-protocol attempts from one address before a ban (default 3)"},
		{"instances[].bans.window", "window in which they count (default 10m)"},
		{"instances[].bans.duration", "how long a ban lasts (default 15m)"},
		{"instances[].maxclients", "connections at once (default 10000)"},
		{"instances[].max_per_address", "connections at once from one address, 0 for no limit (default 1000)"},
		{"instances[].auth_timeout", "an unauthenticated connection is closed after it (default 10s)"},
		{"instances[].idle_timeout", "an idle client is closed after it, 0 for never (default 0)"},
		{"instances[].tls.listen", "addresses that speak TLS (plain and TLS listeners may coexist)"},
		{"instances[].tls.cert", "certificate file (PEM); a new file is picked up without restart"},
		{"instances[].tls.key", "private key file (PEM)"},
		{"instances[].tls.ca", "CA file for client certificates"},
		{"instances[].tls.client_auth", "none, optional or require (default none)"},
		{"instances[].tls.min_version", "1.2 or 1.3 (default 1.2)"},
		{"instances[].accounts[].name", "account (user) name; \"default\" is the account a connection starts as"},
		{"instances[].accounts[].password_hash", "argon2id hash from `redoubt passwd` (a list is allowed); never a plain password"},
		{"instances[].accounts[].role", "read-only, read-write or admin: a shorthand for rules"},
		{"instances[].accounts[].rules", "Redis ACL rules (\"~app:* +@read -@dangerous\"), applied after role"},
		{"instances[].accounts[].stepup", "commands that need REDOUBT STEPUP <totp> first"},
		{"instances[].accounts[].totp_secret_file", "file holding the account's base32 TOTP secret"},
		{"instances[].disabled_commands", "commands refused on top of the dangerous ones (FLUSHALL, KEYS …)"},
		{"instances[].enabled_commands", "dangerous commands allowed again (never CONFIG SET, DEBUG, MODULE …)"},
	}
}

// securityKey parses one instance key of the front door; it reports false
// for keys it does not know.
func (p *parser) securityKey(inst *Instance, k, v *yaml.Node) bool {
	switch k.Value {
	case "public":
		inst.Public = p.boolean(v)
	case "strict_resp":
		inst.StrictRESP = p.boolean(v)
	case "cross_protocol_guard":
		inst.NoGuard = !p.boolean(v)
	case "allowlist":
		p.allowlist(inst, v)
	case "bans":
		p.bans(inst, v)
	case "maxclients":
		inst.MaxClients = p.count(v, 1, 1<<20)
	case "max_per_address":
		inst.PerAddress = p.count(v, 0, 1<<20)
	case "auth_timeout":
		inst.AuthTimeout = p.duration(v, time.Second)
	case "idle_timeout":
		inst.IdleTimeout = p.duration(v, 0)
	case "tls":
		p.tls(inst, v)
	case "accounts":
		p.accounts(inst, v)
	case "disabled_commands":
		inst.Disabled = p.commands(v)
	case "enabled_commands":
		inst.Enabled = p.commands(v)
	default:
		return false
	}
	return true
}

func (p *parser) boolean(n *yaml.Node) bool {
	b, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.errorf(n, "expected true or false")
	}
	return b
}

func (p *parser) count(n *yaml.Node, lo, hi int) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < lo || v > hi {
		p.errorf(n, "expected a whole number from %d to %d", lo, hi)
	}
	return v
}

// duration parses "10s", "15m" or a bare number of seconds; least is the
// smallest value other than 0 allowed.
func (p *parser) duration(n *yaml.Node, least time.Duration) time.Duration {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "expected a duration such as 10s or 15m")
		return 0
	}
	if secs, err := strconv.Atoi(n.Value); err == nil {
		return p.checkDuration(n, time.Duration(secs)*time.Second, least)
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, "expected a duration such as 10s or 15m")
		return 0
	}
	return p.checkDuration(n, d, least)
}

func (p *parser) checkDuration(n *yaml.Node, d, least time.Duration) time.Duration {
	if d < 0 || d > 0 && d < least || d > 365*24*time.Hour {
		p.errorf(n, "duration %s out of range", d)
	}
	return d
}

func (p *parser) strings(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			out = append(out, p.str(e))
		}
		return out
	}
	p.errorf(n, "expected a value or a list")
	return nil
}

func (p *parser) allowlist(inst *Instance, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "allowlist must map group names to lists of addresses")
		return
	}
	lines := map[[2]string]int{} // group, entry → line
	var groups []guard.Group
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		g := guard.Group{Name: k.Value}
		if v.Kind == yaml.SequenceNode {
			for _, e := range v.Content {
				lines[[2]string{g.Name, e.Value}] = e.Line
			}
		}
		g.Entries = p.strings(v)
		groups = append(groups, g)
		lines[[2]string{g.Name, ""}] = k.Line
	}
	a, err := guard.NewAllowlist(groups)
	if err != nil {
		for _, e := range unjoin(err) {
			line := n.Line
			var ee *guard.EntryError
			if errors.As(e, &ee) {
				if l, ok := lines[[2]string{ee.Group, ee.Entry}]; ok {
					line = l
				} else if l, ok := lines[[2]string{ee.Group, ""}]; ok {
					line = l
				}
			}
			p.errs = append(p.errs, Error{File: p.file, Line: line, Msg: "allowlist: " + e.Error()})
		}
		return
	}
	inst.Allowlist = a
}

// unjoin splits an errors.Join result.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (p *parser) bans(inst *Instance, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "bans must be a mapping (attempts, window, duration)")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "attempts":
			inst.Bans.Attempts = p.count(v, 1, 1000)
		case "window":
			inst.Bans.Window = p.duration(v, time.Second)
		case "duration":
			inst.Bans.Duration = p.duration(v, time.Second)
		default:
			p.errorf(k, "unknown bans key %q", k.Value)
		}
	}
}

func (p *parser) tls(inst *Instance, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "tls must be a mapping")
		return
	}
	t := &TLS{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "listen":
			t.Listen = p.strings(v)
		case "cert":
			t.Options.CertFile = p.str(v)
		case "key":
			t.Options.KeyFile = p.str(v)
		case "ca":
			t.Options.CAFile = p.str(v)
		case "client_auth":
			t.Options.ClientAuth = p.str(v)
		case "min_version":
			t.Options.MinVersion = p.str(v)
		default:
			p.errorf(k, "unknown tls key %q", k.Value)
		}
	}
	if err := t.Options.Validate(); err != nil {
		p.errorf(n, "tls: %v", err)
	}
	if len(t.Listen) == 0 {
		p.errorf(n, "tls: no listen address")
	}
	inst.TLS = t
}

func (p *parser) commands(n *yaml.Node) []string {
	var out []string
	list := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		list = n.Content
	}
	for _, e := range list {
		name := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(p.str(e)), " ", "|"))
		if name == "" {
			continue
		}
		if p.table().LookupFull([]byte(name)) == nil && p.table().Lookup([]byte(name)) == nil {
			p.errorf(e, "unknown command %q", e.Value)
			continue
		}
		out = append(out, name)
	}
	return out
}

func (p *parser) table() *command.Table {
	if p.tab == nil {
		p.tab = command.New()
	}
	return p.tab
}

func (p *parser) accounts(inst *Instance, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "accounts must be a list")
		return
	}
	for _, item := range n.Content {
		if a, ok := p.account(item); ok {
			for _, o := range inst.Accounts {
				if o.Name == a.Name {
					p.errorf(item, "account %q is defined twice (line %d)", a.Name, o.Line)
				}
			}
			inst.Accounts = append(inst.Accounts, a)
		}
	}
}

func (p *parser) account(n *yaml.Node) (Account, bool) {
	a := Account{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "an account must be a mapping")
		return a, false
	}
	before := len(p.errs)
	var hashes []string
	var role, rules string
	rulesNode := n
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			a.Name = p.str(v)
		case "password_hash", "password_hashes":
			for _, h := range p.strings(v) {
				if _, err := auth.ParseHash(h); err != nil {
					p.errorf(v, "password_hash: %v (make one with `redoubt passwd`)", err)
					continue
				}
				hashes = append(hashes, h)
			}
		case "password", "requirepass":
			p.errorf(k, "a plain password may not be stored in the configuration; put the hash from `redoubt passwd` in password_hash")
		case "role":
			role = p.str(v)
			switch role {
			case "read-only", "read-write", "admin":
			default:
				p.errorf(v, "role must be read-only, read-write or admin")
			}
		case "rules":
			rules = p.str(v)
			rulesNode = v
		case "stepup":
			a.StepUp = p.commands(v)
		case "totp_secret_file":
			data, err := os.ReadFile(p.str(v))
			if err != nil {
				p.errorf(v, "totp_secret_file: %v", err)
				continue
			}
			secret, err := totp.ParseSecret(strings.TrimSpace(string(data)))
			if err != nil {
				p.errorf(v, "totp_secret_file %s: %v", v.Value, err)
				continue
			}
			a.TOTP = secret
		default:
			p.errorf(k, "unknown account key %q", k.Value)
		}
	}
	if a.Name == "" {
		p.errorf(n, "an account needs a name")
		return a, false
	}
	tokens := []string{"on"}
	if role != "" {
		tokens = append(tokens, "role:"+role)
	}
	list, err := acl.SplitRules(rules)
	if err != nil {
		p.errorf(rulesNode, "account %q: rules: %s", a.Name, redact(err.Error(), rules))
		return a, false
	}
	tokens = append(tokens, list...)
	for _, h := range hashes {
		tokens = append(tokens, "#"+h)
	}
	u, err := acl.Compile(a.Name, tokens, p.table())
	if err != nil {
		var re *acl.RuleError
		if errors.As(err, &re) && re.Index >= 0 && re.Index < len(tokens) {
			p.errorf(rulesNode, "account %q: rule %q: %s", a.Name, redact(re.Rule, rules), redact(re.Msg, rules))
		} else {
			p.errorf(rulesNode, "account %q: %s", a.Name, redact(err.Error(), rules))
		}
		return a, false
	}
	a.User = u
	for _, h := range u.Hashes {
		ph, err := auth.ParseHash(h)
		if err != nil {
			p.errorf(rulesNode, "account %q: %v", a.Name, err)
			continue
		}
		a.Hashes = append(a.Hashes, ph)
	}
	if len(a.StepUp) > 0 && a.TOTP == nil {
		p.errorf(n, "account %q: stepup needs a totp_secret_file", a.Name)
	}
	return a, len(p.errs) == before
}

// redact hides every plain-password rule (">secret", "<secret") of rules
// from msg, so no error message ever carries a password.
func redact(msg, rules string) string {
	for _, tok := range strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(rules)) {
		if len(tok) > 1 && (tok[0] == '>' || tok[0] == '<') {
			msg = strings.ReplaceAll(msg, tok[1:], "(hidden)")
		}
	}
	return msg
}

// checkExposure applies the rules of the internal network and password
// enforcement to one instance: a public address needs public: true, TLS
// and a password; any address beyond loopback and unix sockets needs an
// enabled account with a password and no password-less default account.
func checkExposure(inst Instance) []string {
	var problems []string
	type lis struct {
		addr string
		tls  bool
	}
	var all []lis
	for _, a := range inst.Listen {
		all = append(all, lis{a, false})
	}
	if inst.TLS != nil {
		for _, a := range inst.TLS.Listen {
			all = append(all, lis{a, true})
		}
	}
	local := true
	for _, l := range all {
		class, err := guard.ClassifyListen(l.addr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("listen %q: %v", l.addr, err))
			continue
		}
		if !class.Local() {
			local = false
		}
		if class == guard.Public {
			switch {
			case !inst.Public:
				problems = append(problems, fmt.Sprintf("listen %q is not a loopback, private or link-local address; declare public: true (with TLS and a password) to expose the instance", l.addr))
			case !l.tls:
				problems = append(problems, fmt.Sprintf("listen %q is public and must use TLS: move it under tls.listen", l.addr))
			}
		}
	}
	if local {
		return problems
	}
	hasPassword := false
	for _, a := range inst.Accounts {
		if a.User.Enabled && a.User.NoPass {
			problems = append(problems, fmt.Sprintf("account %q has no password (nopass) but the instance is reachable beyond loopback", a.Name))
		}
		if a.User.Enabled && len(a.Hashes) > 0 {
			hasPassword = true
		}
	}
	if !hasPassword {
		problems = append(problems, "the instance is reachable beyond loopback and unix sockets, so it needs an enabled account with a password (accounts: - name: default, password_hash: … from `redoubt passwd`)")
	}
	return problems
}
