// Package engine is Redoubt's embedded Redis-compatible engine: databases,
// keyspace, data types and expiry. It runs commands that the server has
// already parsed, checked for arity and admitted by policy.
//
// Concurrency: one mutex guards all data of an engine, as Redis's single
// thread does. The server takes it once per batch of pipelined commands
// (Lock/Unlock) and calls Exec for each command while holding it.
package engine

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// Handler runs one command. args[0] is the command name; the arity has
// been checked. Handlers write exactly one reply to c.W.
type Handler func(c *Client, args [][]byte)

// Options configure an engine.
type Options struct {
	Databases int // number of databases, 16 by default
	Logger    *slog.Logger
	Table     *command.Table
	Memory    MemoryOptions // maxmemory and its policy
}

// Engine is one instance's embedded data store.
type Engine struct {
	mu       sync.Mutex
	dbs      []*DB
	handlers []Handler // indexed by command.Spec.ID
	table    *command.Table
	log      *slog.Logger
	now      func() time.Time
	start    time.Time

	// Memory (memory.go, evict.go); under mu.
	used       int64 // estimated bytes of the dataset
	maxmemory  int64 // 0: no limit
	policy     Policy
	lruClock   uint32 // seconds, 24 bits: the access clock under LRU
	lfuMinutes uint32 // minutes, 16 bits: the decay clock under LFU
	evicted    int64
	evictNext  int // next database for random eviction
	pool       []candidate

	prop     propState     // the append-only feed (propagate.go); under mu
	snap     *Snapshot     // a running point-in-time snapshot (cow.go); under mu
	blocking blockRegistry // clients blocked on keys (blocking.go); under mu
	watches  watchRegistry // WATCHed keys (multi.go); under mu

	// Statistics; written under mu, read atomically by INFO.
	dirty        int64 // changes since start
	expiredKeys  atomic.Int64
	keyspaceHits atomic.Int64
	keyspaceMiss atomic.Int64

	stop chan struct{}
	done chan struct{}
}

// New returns an engine with empty databases and starts its active expiry.
// Close stops it.
func New(opts Options) *Engine {
	if opts.Databases <= 0 {
		opts.Databases = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Table == nil {
		opts.Table = command.New()
	}
	e := &Engine{
		table: opts.Table,
		log:   opts.Logger,
		now:   time.Now,
		start: time.Now(),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for i := 0; i < opts.Databases; i++ {
		e.dbs = append(e.dbs, newDB(i))
	}
	e.SetMemory(opts.Memory)
	e.prop.db = -1
	e.handlers = make([]Handler, e.table.Len())
	for name, h := range e.commands() {
		spec := e.table.Lookup([]byte(name))
		if spec == nil {
			if i := strings.IndexByte(name, '|'); i > 0 {
				if parent := e.table.Lookup([]byte(name[:i])); parent != nil {
					spec = e.table.LookupSub(parent, []byte(name[i+1:]))
				}
			}
		}
		if spec == nil {
			panic(fmt.Sprintf("engine: handler for %q has no entry in the command table", name))
		}
		e.handlers[spec.ID] = h
	}
	go e.activeExpireLoop()
	return e
}

// Close stops background work.
func (e *Engine) Close() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
		<-e.done
	}
}

// Lock takes the engine's lock for a batch of commands.
func (e *Engine) Lock() { e.mu.Lock() }

// Unlock releases the lock taken by Lock.
func (e *Engine) Unlock() { e.mu.Unlock() }

// Supports reports whether the engine can run spec; the server answers
// commands it cannot run as unknown.
func (e *Engine) Supports(spec *command.Spec) bool {
	if spec.ID < len(e.handlers) && e.handlers[spec.ID] != nil {
		return true
	}
	for _, sub := range spec.Subcommands {
		if e.Supports(sub) {
			return true
		}
	}
	return false
}

// Databases reports the number of databases.
func (e *Engine) Databases() int { return len(e.dbs) }

// Exec runs one command for c. The caller holds the lock (see Lock) and
// has checked arity and policy. A panic inside a handler is recovered,
// logged with the command name only (never its arguments, which may hold
// secrets) and answered with an error, and the client's reply is kept
// well formed.
func (e *Engine) Exec(c *Client, spec *command.Spec, args [][]byte) {
	h := e.handlers[spec.ID]
	if !e.admitMemory() && spec.Flags&command.FlagDenyOOM != 0 {
		c.W.WriteError(errOOM)
		return
	}
	mark := c.W.Buffered()
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("command panicked", "command", spec.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.W.Truncate(mark)
			c.W.WriteError("ERR internal error while running '" + spec.Name + "'")
		}
	}()
	e.logged(c, spec, h, args)
	e.afterExec(c, spec, args)
}

// Client is one connection's state inside the engine.
type Client struct {
	W *resp.Writer
	// Raw, when the server sets it for the command it runs, is that
	// command's RESP bytes as they arrived: logged as they are instead of
	// encoded again. It must match the arguments exactly, or be nil.
	Raw []byte

	db *DB
	e  *Engine

	blk blockState // a blocking command (blocking.go)
	tx  txState    // WATCH and EXEC (multi.go)
}

// NewClient returns the engine state of a new connection, on database 0.
func (e *Engine) NewClient(w *resp.Writer) *Client {
	return &Client{W: w, db: e.dbs[0], e: e}
}

// DB reports the client's selected database.
func (c *Client) DB() int { return c.db.id }

// Select switches the client to database i; the caller checks the range.
func (c *Client) Select(i int) { c.db = c.e.dbs[i] }

// nowMs is the engine clock in milliseconds.
func (e *Engine) nowMs() int64 { return e.now().UnixMilli() }

// activeExpireLoop removes expired keys that nobody reads, sampling keys
// with a time to live ten times a second as Redis's active expiry does.
func (e *Engine) activeExpireLoop() {
	defer close(e.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.mu.Lock()
			e.refreshClock()
			e.activeExpireCycle(25 * time.Millisecond)
			e.mu.Unlock()
		}
	}
}

// activeExpireCycle samples 20 keys with a TTL per database and deletes the
// expired ones, repeating while more than a quarter of a sample had expired
// and the time budget lasts. The caller holds the lock.
func (e *Engine) activeExpireCycle(budget time.Duration) {
	if e.prop.loading {
		return
	}
	deadline := time.Now().Add(budget)
	now := e.nowMs()
	for _, db := range e.dbs {
		for db.expires.Len() > 0 && time.Now().Before(deadline) {
			expired := 0
			sample := min(20, db.expires.Len())
			for i := 0; i < sample; i++ {
				key, when, ok := db.expires.Random()
				if ok && *when <= now {
					db.expireKey(e, key)
					expired++
				}
			}
			if expired*4 <= sample {
				break
			}
		}
	}
}
