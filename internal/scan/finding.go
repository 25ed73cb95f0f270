package scan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity is how much a finding matters, from Info to Critical. The
// zero Severity is Info.
type Severity int

// The severities, from the least to the most serious.
const (
	Info     Severity = iota // nothing is wrong, but a check could not be made
	Low                      // a weakness that needs another one to be exploited
	Medium                   // a weakness an attacker on the network can use
	High                     // data or credentials are at risk
	Critical                 // anyone who can connect owns the data
)

// String returns the severity's name: "info", "low", "medium", "high" or
// "critical".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// ParseSeverity parses a severity's name, in any case.
func ParseSeverity(name string) (Severity, error) {
	for s := Info; s <= Critical; s++ {
		if strings.EqualFold(name, s.String()) {
			return s, nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q: want info, low, medium, high or critical", name)
}

// MarshalText encodes the severity as its name, for JSON.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Critical {
		return nil, fmt.Errorf("scan: invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// The rule ids: stable names a finding is known by (in events, metrics,
// the console and scripts).
const (
	// The front door, from the configuration.
	RuleNoPassword      = "no-password"       // an instance anyone can use without a password
	RuleWeakPassword    = "weak-password"     // an account's password is its name or a very common one
	RuleAllowlistOpen   = "allowlist-open"    // an allowlist admits 0.0.0.0/0 or ::/0
	RulePublicNoTLS     = "public-no-tls"     // a public listen address in plain text
	RuleAdminPlaintext  = "admin-plaintext"   // the admin listener beyond loopback without TLS
	RuleDataDirWritable = "data-dir-writable" // the data directory or its parent writable by others

	// The backend: its configured password, then what a probe finds.
	RuleBackendWeakPassword = "backend-weak-password"      // the backend's password is short or common
	RuleBackendUnreachable  = "backend-unreachable"        // no connection within the timeout
	RuleBackendLoginFailed  = "backend-login-failed"       // Redoubt's credentials are refused
	RuleBackendOldVersion   = "backend-old-version"        // redis_version older than 3.2.7
	RuleBackendProtectedOff = "backend-protected-mode-off" // CONFIG GET protected-mode is "no"
	RuleBackendNoPassword   = "backend-no-password"        // PING without credentials is answered
	RuleBackendConfig       = "backend-config-enabled"     // CONFIG SET is allowed to Redoubt's account
	RuleBackendConfigRead   = "backend-config-readable"    // CONFIG GET works though CONFIG SET does not
	RuleBackendDebug        = "backend-debug-enabled"      // DEBUG answers
	RuleBackendModule       = "backend-module-enabled"     // MODULE answers
	RuleBackendReachable    = "backend-reachable"          // clients could reach the backend around Redoubt
	RuleBackendUnverified   = "backend-unverified"         // checks that could not be made (info)
)

// Finding is one risk the scanner found. No field ever holds a secret:
// no password, token or hash, nor anything derived from one.
type Finding struct {
	ID       string   `json:"id"`                 // a Rule… constant
	Severity Severity `json:"severity"`           // how much it matters
	Instance string   `json:"instance,omitempty"` // the instance; "" for the admin listener
	// Node is the backend node probed (its address, as Target.String()
	// gives it: never a password); "" for rules about Redoubt itself.
	Node     string `json:"node,omitempty"`
	Title    string `json:"title"`    // one line: what is wrong
	Evidence string `json:"evidence"` // what was seen, and where
	Remedy   string `json:"remedy"`   // how to fix it
}

// sortFindings orders findings from the most to the least severe, then
// by instance, node and rule, so that a report reads the same every time.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Instance, b.Instance),
			cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Evidence, b.Evidence))
	})
}

// Worst returns the highest severity among findings, and false when there
// are none.
func Worst(findings []Finding) (Severity, bool) {
	if len(findings) == 0 {
		return Info, false
	}
	w := Info
	for _, f := range findings {
		w = max(w, f.Severity)
	}
	return w, true
}

// AtLeast returns the findings of severity min or higher.
func AtLeast(findings []Finding, min Severity) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Severity >= min {
			out = append(out, f)
		}
	}
	return out
}
