package scan

import (
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"redoubt/internal/config"
	"redoubt/internal/guard"
)

// exposure is how far an instance can be reached: the most exposed class
// among its listen addresses (plain and TLS). An address that cannot be
// classified counts as public, so the checks fail closed; an instance
// without addresses counts as loopback.
func exposure(inst config.Instance) guard.Class {
	worst := guard.Loopback
	for _, a := range listenAddrs(inst) {
		class, err := guard.ClassifyListen(a)
		if err != nil {
			class = guard.Public
		}
		worst = min(worst, class) // the classes go from Public (0) to Unix
	}
	return worst
}

func listenAddrs(inst config.Instance) []string {
	addrs := slices.Clone(inst.Listen)
	if inst.TLS != nil {
		addrs = append(addrs, inst.TLS.Listen...)
	}
	return addrs
}

// bySeverity picks a severity by exposure: public, private or
// link-local, loopback or unix.
func bySeverity(class guard.Class, public, private, local Severity) Severity {
	switch {
	case class == guard.Public:
		return public
	case class.Local():
		return local
	}
	return private
}

// reach describes an exposure in words, for evidence.
func reach(class guard.Class) string {
	switch class {
	case guard.Public:
		return "it listens on a public address"
	case guard.Private, guard.LinkLocal:
		return "it listens on a " + class.String() + " address"
	}
	return "it listens only on loopback or unix sockets"
}

// frontDoor applies the configuration rules of an instance's front door:
// no password, an open allowlist, a public address in plain text.
func frontDoor(inst config.Instance) []Finding {
	class := exposure(inst)
	var out []Finding
	var open []string
	if len(inst.Accounts) == 0 {
		open = append(open, "no accounts are configured, so every connection is the password-less default user")
	}
	for _, a := range inst.Accounts {
		if a.User == nil || !a.User.Enabled || !a.User.NoPass {
			continue
		}
		if a.Name == "default" {
			open = append(open, `account "default" has nopass, so every connection starts logged in`)
		} else {
			open = append(open, fmt.Sprintf("account %q has nopass, so AUTH %s with any password logs in", a.Name, a.Name))
		}
	}
	if len(open) > 0 {
		out = append(out, Finding{
			ID: RuleNoPassword, Severity: bySeverity(class, Critical, High, Low), Instance: inst.Name,
			Title:    "the instance can be used without a password",
			Evidence: strings.Join(open, "; ") + "; " + reach(class),
			Remedy:   "give every enabled account a password_hash from `redoubt passwd` and remove nopass (accounts: - name: default, password_hash: …)",
		})
	}
	if al := inst.Allowlist; al.Open() || len(al.OpenGroups()) > 0 {
		out = append(out, Finding{
			ID: RuleAllowlistOpen, Severity: bySeverity(class, High, Medium, Low), Instance: inst.Name,
			Title:    "the allowlist admits every address",
			Evidence: openAllowlist(inst.Allowlist) + "; " + reach(class),
			Remedy:   "list only the networks of the instance's clients in allowlist (CIDR ranges such as 10.1.0.0/16)",
		})
	}
	for _, a := range inst.Listen {
		if class, err := guard.ClassifyListen(a); err == nil && class != guard.Public {
			continue
		}
		out = append(out, Finding{
			ID: RulePublicNoTLS, Severity: High, Instance: inst.Name,
			Title:    "a public endpoint speaks plain text",
			Evidence: fmt.Sprintf("listen %q is public (or cannot be classified) and not under tls.listen: passwords and data cross the network in clear", a),
			Remedy:   "move the address under tls.listen with a certificate, or listen on a private address",
		})
	}
	return out
}

// openAllowlist says which groups admit a whole address family.
func openAllowlist(al *guard.Allowlist) string {
	var parts []string
	for _, g := range al.Groups() {
		if !slices.Contains(al.OpenGroups(), g.Name) {
			continue
		}
		var wide []string
		for _, e := range g.Entries {
			if p, err := netip.ParsePrefix(strings.TrimSpace(e)); err == nil && p.Bits() == 0 {
				wide = append(wide, p.String())
			}
		}
		parts = append(parts, fmt.Sprintf("group %q admits %s", g.Name, strings.Join(wide, " and ")))
	}
	if len(parts) == 0 {
		return "the groups together admit every IPv4 or every IPv6 address"
	}
	return strings.Join(parts, "; ")
}

// adminRules reports an admin listener beyond loopback without TLS: the
// console's passwords, sessions and metrics token would cross the
// network in clear.
func adminRules(a config.Admin) []Finding {
	if a.Off || a.TLS != nil || a.Listen == "" {
		return nil
	}
	class, err := guard.ClassifyListen(a.Listen)
	if err != nil {
		class = guard.Public
	}
	if class.Local() {
		return nil
	}
	return []Finding{{
		ID: RuleAdminPlaintext, Severity: bySeverity(class, High, Medium, Low),
		Title:    "the admin listener speaks plain HTTP beyond loopback",
		Evidence: fmt.Sprintf("admin.listen %q is a %s address without admin.tls: console logins, TOTP codes and the metrics token cross the network in clear", a.Listen, class),
		Remedy:   "set admin.tls.cert and admin.tls.key, or listen on 127.0.0.1 and reach the console through an SSH tunnel",
	}}
}

// dataDirRules reports a data directory, or any directory above it,
// that other users may write to. The directory itself: writable by
// others is high, by its group medium (Redoubt refuses to open either;
// a group is often the owner's own, but on a shared server it is not).
// A directory above it without the sticky bit: the same severities,
// since whoever may write there can rename the data directory away and
// put their own in its place while the instance is stopped. A directory
// that does not exist yet is no finding: Redoubt creates it 0700.
func dataDirRules(inst config.Instance) []Finding {
	if inst.Data == "" {
		return nil
	}
	abs, err := filepath.Abs(inst.Data)
	if err != nil {
		return nil
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return nil
	}
	if sev, who, ok := writable(fi.Mode(), false); ok {
		return []Finding{{
			ID: RuleDataDirWritable, Severity: sev, Instance: inst.Name,
			Title:    "the data directory can be written by " + who,
			Evidence: fmt.Sprintf("%s has mode %04o (writable by %s); Redoubt refuses to open it", abs, fi.Mode().Perm(), who),
			Remedy:   "chmod 700 " + abs,
		}}
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil {
			if sev, who, ok := writable(fi.Mode(), true); ok {
				return []Finding{{
					ID: RuleDataDirWritable, Severity: sev, Instance: inst.Name,
					Title: "a directory above the data directory can be written by " + who,
					Evidence: fmt.Sprintf("%s, above the data directory %s, has mode %04o (writable by %s, no sticky bit): they can replace the data directory while the instance is stopped",
						dir, abs, fi.Mode().Perm(), who),
					Remedy: "chmod go-w " + dir + ", or move the data directory under a directory only its owner may write",
				}}
			}
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// writable judges a directory's mode: whether others or its group may
// write to it, and how much that matters. A directory above the data
// directory with the sticky bit is safe: others may not rename what they
// do not own.
func writable(mode fs.FileMode, above bool) (Severity, string, bool) {
	if above && mode&fs.ModeSticky != 0 {
		return Info, "", false
	}
	switch perm := mode.Perm(); {
	case perm&0o002 != 0:
		return High, "others", true
	case perm&0o020 != 0:
		return Medium, "its group", true
	}
	return Info, "", false
}
