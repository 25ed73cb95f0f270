package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"redoubt/internal/upstream"
)

// The kinds of backend (Backend.Kind).
const (
	BackendEmbedded = "embedded" // Redoubt's own engine (the default)
	BackendRedis    = "redis"    // a redis-server reached by URL
	BackendManaged  = "managed"  // a redis-server Redoubt runs itself
	BackendCluster  = "cluster"  // a Redis Cluster reached through seed nodes
)

// Limits of a proxied backend's settings.
const (
	MaxPool          = 16
	MinMaxReply      = 1 << 10
	MaxMaxReply      = 4 << 30
	maxPasswordBytes = 64 << 10
)

// Backend is what serves an instance's data. Its Target may hold a
// password: log Target.String(), never the Backend or the Target with %#v.
type Backend struct {
	Kind        string            // BackendEmbedded, BackendRedis, BackendManaged or BackendCluster
	Target      upstream.Target   // BackendRedis: where it is and how to log in; BackendCluster: how every node is
	Seeds       []upstream.Target // BackendCluster: the nodes to learn the topology from
	Pool        int               // shared connections per protocol version; 0: the server's default
	MaxReply    int64             // largest reply from the backend; 0: the server's default
	RedisServer string            // BackendManaged: the redis-server binary; "": on PATH
	Line        int               // where it is configured, 0 for flags
}

// backendKeys documents the backend keys of an instance.
func backendKeys() [][2]string {
	return [][2]string{
		{"instances[].backend", "what serves the data: embedded (default), managed (a redis-server Redoubt runs), a URL redis://[user@]host[:port][/db], rediss://… or unix:///path[?db=N], a Redis Cluster redis-cluster://[user@]host:port[,host:port…] (rediss-cluster:// for TLS), or a mapping of the keys below"},
		{"instances[].backend.type", "embedded, redis, managed or cluster (default: from the url's scheme when url is set, else embedded)"},
		{"instances[].backend.url", "redis: redis://, rediss:// (TLS) or unix:// URL of the redis-server; cluster: redis-cluster:// or rediss-cluster:// with some of the cluster's nodes"},
		{"instances[].backend.password_file", "file whose first line is the backend's password; must not be readable by group or others"},
		{"instances[].backend.password_env", "environment variable holding the backend's password (instead of password_file)"},
		{"instances[].backend.tls.ca_file", "rediss:// or rediss-cluster:// only: CA file (PEM) to verify the backend (default: the system roots)"},
		{"instances[].backend.tls.cert_file", "rediss:// or rediss-cluster:// only: client certificate (PEM), with key_file"},
		{"instances[].backend.tls.key_file", "rediss:// or rediss-cluster:// only: client private key (PEM)"},
		{"instances[].backend.tls.server_name", "rediss:// or rediss-cluster:// only: name to verify in the backend's certificate (default: the URL's host)"},
		{"instances[].backend.pool_size", "redis, managed or cluster: shared connections per protocol version (per node for a cluster), 1 to 16 (default 2)"},
		{"instances[].backend.max_reply_size", "redis, managed or cluster: largest reply from the backend, 1kb to 4gb (default 512mb)"},
		{"instances[].backend.redis_server", "managed only: the redis-server binary (default: found on PATH)"},
	}
}

// backendKey parses an instance's backend key; it reports whether k was one.
func (p *parser) backendKey(inst *Instance, k, v *yaml.Node) bool {
	if k.Value != "backend" {
		return false
	}
	inst.Backend = p.backend(v)
	inst.Backend.Line = k.Line
	return true
}

func (p *parser) backend(n *yaml.Node) Backend {
	switch n.Kind {
	case yaml.ScalarNode:
		b, err := ParseBackend(n.Value)
		if err != nil {
			p.errorf(n, "backend: %v", err)
		}
		return b
	case yaml.MappingNode:
		return p.backendMap(n)
	}
	p.errorf(n, "backend must be embedded, managed, a URL or a mapping")
	return Backend{Kind: BackendEmbedded}
}

// ParseBackend parses the short form of a backend: "embedded", "managed"
// or a URL (see upstream.ParseURL). Its errors never hold a password.
func ParseBackend(s string) (Backend, error) {
	switch s {
	case BackendEmbedded, BackendManaged:
		return Backend{Kind: s}, nil
	case BackendRedis:
		return Backend{Kind: BackendEmbedded}, errors.New("a redis backend needs its URL: redis://host:port")
	case BackendCluster:
		return Backend{Kind: BackendEmbedded}, errors.New("a cluster backend needs its nodes: redis-cluster://host:port,host:port")
	}
	if upstream.IsClusterURL(s) {
		seeds, err := upstream.ParseClusterURL(s)
		if err != nil {
			return Backend{Kind: BackendEmbedded}, err
		}
		return Backend{Kind: BackendCluster, Target: seeds[0], Seeds: seeds}, nil
	}
	t, err := upstream.ParseURL(s)
	if err != nil {
		return Backend{Kind: BackendEmbedded}, fmt.Errorf("expected embedded, managed or a URL: %w", err)
	}
	return Backend{Kind: BackendRedis, Target: t}, nil
}

// backendMap parses the long form of a backend and checks its rules.
func (p *parser) backendMap(n *yaml.Node) Backend {
	b := Backend{}
	nodes := map[string]*yaml.Node{} // key → value, for lines and rules
	var tlsNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		nodes[k.Value] = v
		switch k.Value {
		case "type":
			if b.Kind = p.str(v); !validKind(b.Kind) {
				p.errorf(v, "backend type must be embedded, redis, managed or cluster")
			}
		case "url":
			var err error
			if raw := p.str(v); upstream.IsClusterURL(raw) {
				b.Seeds, err = upstream.ParseClusterURL(raw)
				if err == nil {
					b.Target = b.Seeds[0]
				}
			} else {
				b.Target, err = upstream.ParseURL(raw)
			}
			if err != nil {
				p.errorf(v, "backend url: %v", err)
			}
		case "password_file", "password_env", "redis_server":
			p.str(v)
		case "tls":
			tlsNode = v
		case "pool_size":
			b.Pool = p.count(v, 1, MaxPool)
		case "max_reply_size":
			if b.MaxReply = p.size(v); b.MaxReply < MinMaxReply || b.MaxReply > MaxMaxReply {
				p.errorf(v, "max_reply_size must be from 1kb to 4gb")
			}
		default:
			p.errorf(k, "unknown backend key %q", k.Value)
		}
	}
	if b.Kind == "" {
		b.Kind = BackendEmbedded
		switch {
		case b.Seeds != nil:
			b.Kind = BackendCluster
		case nodes["url"] != nil:
			b.Kind = BackendRedis
		}
	}
	if v := nodes["url"]; v != nil && (b.Kind == BackendCluster) != (b.Seeds != nil) && (b.Kind == BackendRedis || b.Kind == BackendCluster) {
		p.errorf(v, "backend url: a %s backend needs a %s URL", b.Kind, map[string]string{
			BackendRedis: "redis://, rediss:// or unix://", BackendCluster: "redis-cluster:// or rediss-cluster://"}[b.Kind])
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if kinds := backendKeyKinds(k.Value); kinds != nil && validKind(b.Kind) && !slices.Contains(kinds, b.Kind) {
			p.errorf(k, "backend: %s does not apply to %s backend%s", k.Value, article(b.Kind), kindHint(b.Kind, k.Value))
		}
	}
	if (b.Kind == BackendRedis || b.Kind == BackendCluster) && nodes["url"] == nil {
		p.errorf(n, "backend: a %s backend needs a url", b.Kind)
	}
	if b.Kind == BackendRedis || b.Kind == BackendCluster {
		p.backendPassword(&b, nodes)
		if tlsNode != nil {
			p.backendTLS(&b, tlsNode)
		}
		b.finishSeeds()
	}
	if v := nodes["redis_server"]; v != nil && v.Kind == yaml.ScalarNode && b.Kind == BackendManaged {
		path, err := exec.LookPath(v.Value)
		if err != nil {
			p.errorf(v, "backend redis_server: %v", err)
		}
		b.RedisServer = path
	}
	return b
}

// backendKeyKinds lists the kinds of backend a key applies to; nil for
// an unknown key.
func backendKeyKinds(key string) []string {
	switch key {
	case "type":
		return []string{BackendEmbedded, BackendRedis, BackendManaged, BackendCluster}
	case "url", "password_file", "password_env", "tls":
		return []string{BackendRedis, BackendCluster}
	case "pool_size", "max_reply_size":
		return []string{BackendRedis, BackendManaged, BackendCluster}
	case "redis_server":
		return []string{BackendManaged}
	}
	return nil
}

func validKind(kind string) bool {
	return kind == BackendEmbedded || kind == BackendRedis || kind == BackendManaged || kind == BackendCluster
}

// finishSeeds gives every seed of a cluster the credentials and TLS
// settings configured on Target.
func (b *Backend) finishSeeds() {
	for i := range b.Seeds {
		addr := b.Seeds[i].Addr
		b.Seeds[i] = b.Target
		b.Seeds[i].Addr = addr
	}
}

// article puts "a" or "an" before a kind of backend.
func article(kind string) string {
	if kind == BackendEmbedded {
		return "an " + kind
	}
	return "a " + kind
}

func kindHint(kind, key string) string {
	switch {
	case kind == BackendManaged && key == "url":
		return " (Redoubt starts redis-server itself on a unix socket in the data directory)"
	case kind == BackendEmbedded && key == "url":
		return " (set type: redis, or drop type)"
	}
	return ""
}

// backendPassword applies password_file or password_env to a redis
// backend; both are exclusive with each other and with a password in the
// URL.
func (p *parser) backendPassword(b *Backend, nodes map[string]*yaml.Node) {
	file, env := nodes["password_file"], nodes["password_env"]
	switch {
	case file != nil && env != nil:
		p.errorf(env, "backend: password_file and password_env are exclusive")
		return
	case (file != nil || env != nil) && b.Target.Password != "":
		n := file
		if n == nil {
			n = env
		}
		p.errorf(n, "backend: the url already holds a password; remove it from the url (password_file is safer)")
		return
	case file != nil:
		pw, err := ReadPasswordFile(file.Value)
		if err != nil {
			p.errorf(file, "backend password_file: %v", err)
		}
		b.Target.Password = pw
	case env != nil:
		pw := os.Getenv(env.Value)
		if env.Value == "" || pw == "" {
			p.errorf(env, "backend password_env: the environment variable %q is unset or empty", env.Value)
		}
		b.Target.Password = pw
	}
}

// backendTLS applies the tls block of a rediss:// backend.
func (p *parser) backendTLS(b *Backend, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "backend tls must be a mapping")
		return
	}
	if b.Target.TLS == nil {
		p.errorf(n, "backend tls needs a rediss:// or rediss-cluster:// url")
		return
	}
	cfg := b.Target.TLS
	var cert, key *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "ca_file":
			pem, err := os.ReadFile(p.str(v))
			if err != nil {
				p.errorf(v, "backend tls ca_file: %v", err)
				continue
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				p.errorf(v, "backend tls ca_file %s holds no PEM certificate", v.Value)
				continue
			}
			cfg.RootCAs = pool
		case "cert_file":
			cert = v
		case "key_file":
			key = v
		case "server_name":
			if cfg.ServerName = p.str(v); cfg.ServerName == "" {
				p.errorf(v, "backend tls server_name is empty")
			}
		default:
			p.errorf(k, "unknown backend tls key %q", k.Value)
		}
	}
	switch {
	case cert == nil && key == nil:
	case cert == nil:
		p.errorf(key, "backend tls key_file needs cert_file")
	case key == nil:
		p.errorf(cert, "backend tls cert_file needs key_file")
	default:
		pair, err := tls.LoadX509KeyPair(p.str(cert), p.str(key))
		if err != nil {
			p.errorf(cert, "backend tls cert_file/key_file: %v", err)
			return
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
}

// ReadPasswordFile reads a backend password: the file's first line,
// without its line ending. A file that group or others may read, or an
// empty password, is refused. Its errors never hold the file's content.
func ReadPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s may be read by group or others (mode %04o): chmod 600 it", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPasswordBytes+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxPasswordBytes {
		return "", fmt.Errorf("%s is larger than %d KiB", path, maxPasswordBytes>>10)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s holds no password on its first line", path)
	}
	return line, nil
}

// UpstreamPasswordEnv is the environment variable that holds the password
// of the --upstream backend.
const UpstreamPasswordEnv = "REDOUBT_UPSTREAM_PASSWORD"

// FlagBackend makes the backend given on the command line: upstream is
// "embedded", "managed" or a URL without a password (the command line is
// visible to every local user); the password comes from passwordFile or
// envPassword (the value of REDOUBT_UPSTREAM_PASSWORD), not both. It
// returns nil when upstream is empty.
func FlagBackend(upstream, passwordFile, envPassword string) (*Backend, error) {
	if upstream == "" {
		if passwordFile != "" {
			return nil, errors.New("--upstream-password-file needs --upstream")
		}
		return nil, nil
	}
	b, err := ParseBackend(upstream)
	if err != nil {
		return nil, fmt.Errorf("--upstream: %w", err)
	}
	if b.Target.Password != "" {
		return nil, fmt.Errorf("--upstream: a password in the URL is refused: the command line is visible to every local user: put the password in --upstream-password-file or %s", UpstreamPasswordEnv)
	}
	defer b.finishSeeds()
	if b.Kind != BackendRedis && b.Kind != BackendCluster {
		if passwordFile != "" {
			return nil, fmt.Errorf("--upstream-password-file does not apply to %s backend", article(b.Kind))
		}
		return &b, nil
	}
	switch {
	case passwordFile != "" && envPassword != "":
		return nil, fmt.Errorf("both --upstream-password-file and %s are set: use one", UpstreamPasswordEnv)
	case passwordFile != "":
		if b.Target.Password, err = ReadPasswordFile(passwordFile); err != nil {
			return nil, fmt.Errorf("--upstream-password-file: %w", err)
		}
	default:
		b.Target.Password = envPassword
	}
	return &b, nil
}

// OverrideBackend sets the backend of the "default" instance; call it
// after Override, which may add that instance.
func (c *Config) OverrideBackend(b Backend) error {
	i := c.index(DefaultInstance)
	if i < 0 {
		return fmt.Errorf("--upstream applies to the instance named %q and the configuration has none", DefaultInstance)
	}
	c.Instances[i].Backend = b
	return nil
}
