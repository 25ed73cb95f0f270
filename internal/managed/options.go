package managed

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Options configures a managed redis-server.
type Options struct {
	// Dir is the instance directory: it exists, is owned by us and is not
	// writable by group or others (Start refuses it otherwise). The
	// caller has locked it; the lock file in it is left alone.
	Dir string
	// Binary is the redis-server executable; "": found on PATH.
	Binary string
	// Databases is the number of databases; 0: 16.
	Databases int
	// MaxMemory bounds the data in bytes; 0: no limit.
	MaxMemory int64
	// MaxMemoryPolicy is one of Redis's policies ("noeviction",
	// "allkeys-lru", …); "": noeviction.
	MaxMemoryPolicy string
	// AppendOnly turns on the append-only file.
	AppendOnly bool
	// AppendFsync is "always", "everysec" or "no"; "": everysec.
	AppendFsync string
	// Logger receives the server's output and the supervisor's events;
	// nil: discarded.
	Logger *slog.Logger
	// StartTimeout bounds how long Start waits for the server to answer;
	// 0: DefaultStartTimeout.
	StartTimeout time.Duration
	// OnState, when set, is called from the supervisor goroutine when
	// the server goes down (up false, err its exit status) and when a
	// restarted server answers again (up true, err nil). It is not
	// called for the first start (Start's result says that) nor for the
	// exit Stop causes. It must return quickly (the supervisor waits for
	// it) and must not call Stop.
	OnState func(up bool, err error)

	// extraConfig is appended to the generated configuration: tests use
	// it to make the server fail.
	extraConfig []string
}

// Defaults and limits of a managed server.
const (
	DefaultDatabases    = 16
	DefaultStartTimeout = 10 * time.Second
	DefaultPolicy       = "noeviction"
	DefaultAppendFsync  = "everysec"
)

// ErrDirPermissions says the instance directory is open to group or others.
var ErrDirPermissions = errors.New("is writable by group or others")

// validPolicy reports whether p is a maxmemory policy Redis knows (the
// "lfu" ones since 4.0).
func validPolicy(p string) bool {
	switch p {
	case "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
		"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl":
		return true
	}
	return false
}

// validFsync reports whether f is a value of appendfsync.
func validFsync(f string) bool { return f == "always" || f == "everysec" || f == "no" }

// normalize fills in the defaults, checks every value and the directory,
// and returns the completed copy.
func (o Options) normalize() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Databases == 0 {
		o.Databases = DefaultDatabases
	}
	if o.MaxMemoryPolicy == "" {
		o.MaxMemoryPolicy = DefaultPolicy
	}
	if o.AppendFsync == "" {
		o.AppendFsync = DefaultAppendFsync
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	switch {
	case o.Databases < 1:
		return o, fmt.Errorf("managed: databases %d: must be at least 1", o.Databases)
	case o.MaxMemory < 0:
		return o, fmt.Errorf("managed: maxmemory %d: must not be negative", o.MaxMemory)
	case !validPolicy(o.MaxMemoryPolicy):
		return o, fmt.Errorf("managed: unknown maxmemory policy %q", o.MaxMemoryPolicy)
	case !validFsync(o.AppendFsync):
		return o, fmt.Errorf("managed: appendfsync %q: want always, everysec or no", o.AppendFsync)
	case o.StartTimeout < 0:
		return o, fmt.Errorf("managed: negative start timeout %v", o.StartTimeout)
	}
	if o.Binary == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			return o, fmt.Errorf("managed: %w", err)
		}
		o.Binary = p
	}
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return o, fmt.Errorf("managed: redis-server %q: %w", o.Binary, err)
	}
	o.Binary = bin
	return o, o.checkDir()
}

// checkDir makes Dir absolute and checks that it is a directory that only
// we can write to.
func (o *Options) checkDir() error {
	if o.Dir == "" {
		return errors.New("managed: no instance directory")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("managed: instance directory: %w", err)
	}
	o.Dir = dir
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("managed: instance directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("managed: instance directory %s: not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("managed: instance directory %s (mode %v): %w", dir, fi.Mode().Perm(), ErrDirPermissions)
	}
	return nil
}
