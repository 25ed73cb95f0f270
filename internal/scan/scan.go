package scan

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"redoubt/internal/config"
	"redoubt/internal/upstream"
)

// Limits of a scan.
const (
	// DefaultTimeout bounds each backend node's probe: its two
	// connections (dial, TLS, AUTH, replies) and the lookup of its host
	// name together.
	DefaultTimeout = 5 * time.Second
	// maxParallel is how many backend nodes are probed at once.
	maxParallel = 8
	// maxClusterNodes is how many nodes of one cluster are probed: the
	// seeds first, then the nodes CLUSTER NODES names.
	maxClusterNodes = 128
)

// Options is what one scan looks at.
type Options struct {
	// Config is the configuration to check; nil finds nothing.
	Config *config.Config
	// Timeout bounds the probe of each backend node (DefaultTimeout when
	// 0). The whole scan is bounded by its context as well.
	Timeout time.Duration
	// Logger receives a debug record per probe; nil discards them.
	Logger *slog.Logger
	// Managed maps an instance whose backend is managed to the running
	// redis-server's target (its socket and password), which only the
	// process that started it knows. An instance without an entry is
	// probed at <data>/redis.sock without credentials: only whether it
	// answers without a password.
	Managed map[string]upstream.Target
}

// Scanner runs scans. It remembers, between scans, the verdict of the
// slow argon2id guesses for each password hash, so a scheduled scan of an
// unchanged configuration costs only its probes. A Scanner is safe for
// concurrent use; the zero Scanner is not ready, use NewScanner.
type Scanner struct {
	mu sync.Mutex
	// verdicts maps instance, account and hash to "" (no guess matched)
	// or why the password is weak; a scan keeps only the keys it saw.
	verdicts map[string]string
}

// NewScanner returns a Scanner with nothing remembered.
func NewScanner() *Scanner { return &Scanner{verdicts: map[string]string{}} }

// Run scans once with a Scanner of its own.
func Run(ctx context.Context, opts Options) []Finding {
	return NewScanner().Run(ctx, opts)
}

// Run checks every instance of opts.Config and probes its backend, and
// returns the findings from the most to the least severe. It never
// fails: what could not be checked is itself a finding. It returns when
// every probe is done, each bounded by opts.Timeout, or soon after ctx
// ends.
func (s *Scanner) Run(ctx context.Context, opts Options) []Finding {
	cfg := opts.Config
	if cfg == nil {
		return nil
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		mu       sync.Mutex
		findings []Finding
		wg       sync.WaitGroup
	)
	add := func(fs ...Finding) {
		mu.Lock()
		findings = append(findings, fs...)
		mu.Unlock()
	}
	add(adminRules(cfg.Admin)...)
	for _, inst := range cfg.Instances {
		add(frontDoor(inst)...)
		add(dataDirRules(inst)...)
		add(backendPasswordRule(inst)...)
	}
	wg.Go(func() { add(s.weakPasswords(ctx, cfg.Instances)...) })
	p := &prober{timeout: opts.Timeout, log: opts.Logger, sem: make(chan struct{}, maxParallel)}
	for _, inst := range cfg.Instances {
		wg.Go(func() { add(p.backend(ctx, inst, opts.Managed)...) })
	}
	wg.Wait()
	sortFindings(findings)
	return findings
}

// Every runs a scan at once, then every interval until ctx ends, and
// hands each scan's findings to report; a scan that ctx cut short is not
// reported. It asks opts for the options of each scan, so a reloaded
// configuration is scanned next time. With an interval of 0 or less it
// scans once and returns.
func (s *Scanner) Every(ctx context.Context, interval time.Duration, opts func() Options, report func([]Finding)) {
	scan := func() {
		if ctx.Err() != nil {
			return
		}
		if fs := s.Run(ctx, opts()); ctx.Err() == nil {
			report(fs)
		}
	}
	scan()
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			scan()
		}
	}
}
