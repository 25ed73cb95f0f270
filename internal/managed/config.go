package managed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SocketName is the unix socket of the server, inside the instance
// directory.
const SocketName = "redis.sock"

// version is a redis-server release.
type version struct{ major, minor, patch int }

// minMajor is the oldest release Start accepts: REPLICAOF, which must be
// disabled, appeared in 5.0.
const minMajor = 5

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

// atLeast reports whether v is release w or a later one.
func (v version) atLeast(w version) bool {
	if v.major != w.major {
		return v.major > w.major
	}
	if v.minor != w.minor {
		return v.minor > w.minor
	}
	return v.patch >= w.patch
}

// parseVersion reads the output of `redis-server --version`:
// "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 …".
func parseVersion(out string) (version, error) {
	for _, f := range strings.Fields(out) {
		s, ok := strings.CutPrefix(f, "v=")
		if !ok {
			continue
		}
		parts := strings.SplitN(s, ".", 3)
		if len(parts) != 3 {
			break
		}
		var n [3]int
		for i, p := range parts {
			x, err := strconv.Atoi(p)
			if err != nil || x < 0 {
				return version{}, fmt.Errorf("bad version %q", s)
			}
			n[i] = x
		}
		return version{n[0], n[1], n[2]}, nil
	}
	return version{}, fmt.Errorf("no version in %q", strings.TrimSpace(out))
}

// probeVersion runs `binary --version` with the child's environment.
func probeVersion(binary string, timeout time.Duration) (version, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--version")
	cmd.Env = childEnv()
	out, err := cmd.Output()
	if err != nil {
		return version{}, fmt.Errorf("managed: %s --version: %w", binary, err)
	}
	v, err := parseVersion(string(out))
	if err != nil {
		return version{}, fmt.Errorf("managed: %s --version: %w", binary, err)
	}
	if v.major < minMajor {
		return v, fmt.Errorf("managed: %s is redis %v; the managed backend needs %d.0 or later", binary, v, minMajor)
	}
	return v, nil
}

// childEnv is the whole environment of the server: PATH, nothing else.
func childEnv() []string { return []string{"PATH=" + os.Getenv("PATH")} }

// denied is a command the server's only user may not run, with the
// release that introduced it (a rule naming an unknown command is a
// configuration error).
type denied struct {
	name  string
	since version
}

// deniedCommands lists what could reach outside the directory, change the
// backend's security or stop it. See the package documentation.
func deniedCommands() []denied {
	return []denied{
		{"config", version{}},        // dir + dbfilename write anywhere; turns off every other setting
		{"debug", version{}},         // crashes, sleeps, reloads, edits memory
		{"module", version{4, 0, 0}}, // loads a shared object: code execution
		{"replicaof", version{5, 0, 0}},
		{"slaveof", version{}},  // dials out and replaces the data set
		{"sync", version{}},     // streams the whole data set, takes the
		{"psync", version{}},    // connection over as a replica link
		{"replconf", version{}}, // replication handshake
		{"migrate", version{}},  // dials any host:port from the backend
		{"monitor", version{}},  // sees every client's commands
		{"shutdown", version{}}, // stops the backend (Redoubt uses SIGTERM)
		{"failover", version{6, 2, 0}},
		{"acl", version{6, 0, 0}}, // rewrites the password and the rules
		{"cluster", version{}},
	}
}

// deniedSubcommands are refused too where ACL rules can remove a
// subcommand (7.0 and later).
func deniedSubcommands() []string {
	return []string{"client|pause"} // stops every client of the backend
}

// config is the configuration fed to `redis-server -` on its standard
// input: the password never touches the disk or a command line.
func config(o Options, v version, password string) string {
	lines := []string{
		"port 0", // no TCP listener at all
		"unixsocket " + quote(SocketName),
		"unixsocketperm 700",
		"dir " + quote(o.Dir),
		"protected-mode yes",
		"daemonize no",
		"supervised no",
		`logfile ""`,
		`save ""`,
		"appendonly " + yesNo(o.AppendOnly),
		"appendfsync " + o.AppendFsync,
		"databases " + strconv.Itoa(o.Databases),
		"maxmemory " + strconv.FormatInt(o.MaxMemory, 10),
		"maxmemory-policy " + o.MaxMemoryPolicy,
	}
	if v.atLeast(version{6, 2, 0}) {
		lines = append(lines, "sanitize-dump-payload clients")
	}
	if v.atLeast(version{7, 0, 0}) {
		lines = append(lines,
			"enable-protected-configs no",
			"enable-debug-command no",
			"enable-module-command no")
	}
	lines = append(lines, authConfig(v, password)...)
	lines = append(lines, o.extraConfig...)
	return strings.Join(lines, "\n") + "\n"
}

// authConfig is the login and the command restrictions: one ACL rule for
// the default user from 6.0, requirepass and rename-command before.
func authConfig(v version, password string) []string {
	if !v.atLeast(version{6, 0, 0}) {
		lines := []string{"requirepass " + password}
		for _, d := range deniedCommands() {
			if v.atLeast(d.since) {
				lines = append(lines, "rename-command "+d.name+` ""`)
			}
		}
		return lines
	}
	rule := []string{"user", "default", "reset", "on", ">" + password, "~*"}
	if v.atLeast(version{6, 2, 0}) {
		rule = append(rule, "&*") // pub/sub channels have rules from 6.2
	}
	rule = append(rule, "+@all")
	for _, d := range deniedCommands() {
		if v.atLeast(d.since) {
			rule = append(rule, "-"+d.name)
		}
	}
	if v.atLeast(version{7, 0, 0}) {
		for _, s := range deniedSubcommands() {
			rule = append(rule, "-"+s)
		}
	}
	return []string{strings.Join(rule, " ")}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// quote writes s as a double-quoted string of a Redis configuration file:
// backslash and double quote escaped, and every byte outside printable
// ASCII as \xHH, so no value can end its line or add an argument.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
