package server

import "redoubt/internal/upstream"

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
)

// Backend configures an instance's backend. The zero value is the
// embedded engine.
type Backend struct {
	Kind   BackendKind
	Target upstream.Target // BackendRedis: where the backend is
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
