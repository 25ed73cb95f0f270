package server

import (
	"context"
	"fmt"

	"redoubt/internal/cluster"
	"redoubt/internal/monitor"
	"redoubt/internal/upstream"
)

// BackendKind is what serves an instance's data.
type BackendKind string

// The backends of an instance.
const (
	// BackendEmbedded is Redoubt's own engine (the default).
	BackendEmbedded BackendKind = "embedded"
	// BackendRedis is a real redis-server reached over TCP, TLS or a
	// unix socket.
	BackendRedis BackendKind = "redis"
	// BackendManaged is a redis-server Redoubt starts itself, reached only
	// over a unix socket inside the instance directory.
	BackendManaged BackendKind = "managed"
	// BackendCluster is a real Redis Cluster: Seeds are some of its
	// nodes, each with the credentials every node is reached with.
	BackendCluster BackendKind = "cluster"
)

// Backend configures an instance's backend. The zero value is the
// embedded engine.
type Backend struct {
	Kind   BackendKind
	Target upstream.Target // BackendRedis: where the backend is
	// Seeds are BackendCluster's nodes to learn the topology from.
	Seeds []upstream.Target
	// Pool is how many shared connections per protocol version (RESP2,
	// RESP3) serve the clients without connection state; 0: DefaultPool.
	Pool int
	// MaxReply bounds one reply from the backend; a bigger one is
	// refused to its client and discarded. 0: DefaultMaxReply.
	MaxReply int64
	// RedisServer is the redis-server binary of a managed backend; "":
	// found on PATH.
	RedisServer string
}

// Defaults of a proxied backend.
const (
	DefaultPool     = 2
	DefaultMaxReply = 512 << 20
)

// managedServer is the redis-server of a managed instance.
type managedServer interface {
	Target() upstream.Target
	Stop(ctx context.Context) error
}

// openBackend connects a gateway instance to its backend (starting it
// first when it is managed). A backend that is down does not stop the
// instance: clients get errors until it answers.
func (s *Server) openBackend(opts Options) error {
	b := opts.Backend
	switch b.Kind {
	case "", BackendEmbedded:
		return nil
	case BackendRedis:
	case BackendCluster:
		return s.openCluster(opts)
	case BackendManaged:
		if s.store == nil {
			return fmt.Errorf("a managed backend needs a data directory")
		}
		p, err := s.startManaged(opts)
		if err != nil {
			return err
		}
		s.managed = p
		b.Target = p.Target()
		s.opts.Backend.Target = b.Target
	default:
		return fmt.Errorf("unknown backend %q", b.Kind)
	}
	be, err := upstream.New(upstream.Options{
		Target:   b.Target,
		Pool:     b.Pool,
		MaxReply: b.MaxReply,
		Name:     "redoubt-" + opts.Name,
		Logger:   s.log,
		OnHealth: s.backendHealth,
	})
	if err != nil {
		s.log.Error("backend unavailable at start; clients get errors until it answers", "backend", b.Target.String(), "err", err)
		s.event(monitor.BackendDown, b.Target.String(), "", err.Error())
	}
	s.gw = be
	return nil
}

// backendHealth records the backend going down or coming back.
func (s *Server) backendHealth(up bool, err error) {
	if up {
		s.event(monitor.BackendUp, s.gw.Target(), "", "")
		return
	}
	s.event(monitor.BackendDown, s.gw.Target(), "", err.Error())
}

// closeBackend closes the backend connections and stops a managed
// redis-server.
func (s *Server) closeBackend(ctx context.Context) {
	if s.gw != nil {
		s.gw.Close()
	}
	if s.cl != nil {
		s.cl.Close()
	}
	if s.managed != nil {
		if err := s.managed.Stop(ctx); err != nil {
			s.log.Error("stopping the managed redis-server", "err", err)
		}
	}
}

// proxied reports whether a real redis-server or cluster serves the data.
func (s *Server) proxied() bool { return s.gw != nil || s.cl != nil }

// openCluster connects a cluster instance to its nodes.
func (s *Server) openCluster(opts Options) error {
	b := opts.Backend
	cl, err := cluster.New(cluster.Options{
		Seeds:    b.Seeds,
		Pool:     b.Pool,
		MaxReply: b.MaxReply,
		Name:     "redoubt-" + opts.Name,
		Logger:   s.log,
		OnHealth: func(node string, up bool, err error) {
			if up {
				s.event(monitor.BackendUp, node, "", "")
				return
			}
			s.event(monitor.BackendDown, node, "", err.Error())
		},
	})
	if cl == nil {
		return err
	}
	if err != nil {
		s.log.Error("cluster unavailable at start; clients get errors until it answers", "cluster", cluster.Describe(b.Seeds), "err", err)
		s.event(monitor.BackendDown, cluster.Describe(b.Seeds), "", err.Error())
	}
	s.cl = cl
	return nil
}

// gatewayCommands are the commands a gateway instance answers itself:
// the connection, introspection and security ones. Transactions,
// blocking commands and pub/sub are the backend's.
func (s *Server) gatewayCommands() map[string]connHandler {
	all := s.baseCommands()
	delete(all, "bgrewriteaof")
	all["client|unblock"] = gwClientUnblock
	// The backend's own users (its password hash among them) are not the
	// clients' business: Redoubt's accounts are what ACL LIST shows.
	for _, name := range []string{"acl|getuser", "acl|dryrun"} {
		all[name] = func(c *conn, args [][]byte) {
			c.replyError("ERR '" + name + "' is not supported through Redoubt: its accounts are in its configuration, and ACL LIST shows them")
		}
	}
	return all
}

// ManagedTarget is the address and credentials of the redis-server a
// managed instance runs, for the scanner; false for other instances.
func (s *Server) ManagedTarget() (upstream.Target, bool) {
	if s.managed == nil {
		return upstream.Target{}, false
	}
	return s.managed.Target(), true
}
