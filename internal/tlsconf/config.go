package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Config is the loaded TLS state of one instance. It serves the current
// certificate and CA, checks the files for changes on handshakes at most
// once per CheckInterval, and is safe for concurrent use.
type Config struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	min      uint16
	auth     tls.ClientAuthType
	outer    *tls.Config // returned by TLS; never modified after New

	cur       atomic.Pointer[state]
	lastCheck atomic.Int64 // c.now() in Unix nanoseconds at the last file check

	mu     sync.Mutex // serializes file checks and reloads; guards failed
	failed stamps     // files that last failed to load, to warn once per change
}

// state is one loaded certificate, key and CA. It is never modified once
// stored in Config.cur.
type state struct {
	cert   *tls.Certificate
	leaf   *x509.Certificate
	pool   *x509.CertPool // nil when client auth is none
	conf   *tls.Config    // served to handshakes through GetConfigForClient
	stamps stamps         // the files this state was read from
}

// NewOption adjusts a Config made by New.
type NewOption func(*Config)

// WithClock makes the Config read the time from now instead of time.Now:
// for the file check interval, certificate validity and the handshakes'
// own certificate checks.
func WithClock(now func() time.Time) NewOption {
	return func(c *Config) { c.now = now }
}

// New validates the options, loads the certificate, key and CA, and returns
// a Config, or an error that names the file at fault. A certificate that has
// already expired is refused. log may be nil.
func New(o Options, log *slog.Logger, opts ...NewOption) (*Config, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("tlsconf: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Config{opts: o, log: log, now: time.Now, interval: o.CheckInterval}
	for _, opt := range opts {
		opt(c)
	}
	if c.interval == 0 {
		c.interval = DefaultCheckInterval
	}
	c.min, _ = minVersion(o.MinVersion)
	c.auth, _ = clientAuthType(o.ClientAuth)
	st, err := c.load()
	if err != nil {
		return nil, err
	}
	c.cur.Store(st)
	c.lastCheck.Store(c.now().UnixNano())
	c.outer = c.base(st.pool)
	c.outer.GetConfigForClient = c.configForClient
	c.logLoaded("tls certificate loaded", st)
	return c, nil
}

// Options returns the options the Config was made with.
func (c *Config) Options() Options { return c.opts }

// TLS returns the server-side *tls.Config for the instance's listeners. It
// is shared by every connection and must not be modified. Each handshake
// gets the certificate and CA loaded at that moment.
func (c *Config) TLS() *tls.Config { return c.outer }

// Certificate returns the leaf certificate currently served.
func (c *Config) Certificate() *x509.Certificate { return c.cur.Load().leaf }

// Reload reads the certificate, key and CA files now, whether they changed
// or not, as on SIGHUP. When they do not load, the current certificate is
// kept and the error, naming the file, is returned for the caller to log.
func (c *Config) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastCheck.Store(c.now().UnixNano())
	before := c.statAll()
	st, err := c.load()
	if err != nil {
		c.failed = before
		return err
	}
	c.failed = stamps{}
	c.cur.Store(st)
	c.logLoaded("tls certificate reloaded", st)
	return nil
}

// base is a *tls.Config with the settings common to every handshake.
func (c *Config) base(pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:     c.min,
		CipherSuites:   cipherSuites(),
		GetCertificate: c.getCertificate,
		ClientAuth:     c.auth,
		ClientCAs:      pool,
		Time:           c.now,
		// Under client authentication every connection verifies its
		// certificate against the CA loaded now: no resumed sessions that
		// were verified against an older CA file.
		SessionTicketsDisabled: c.auth != tls.NoClientCert,
	}
}

// getCertificate serves the current certificate.
func (c *Config) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load().cert, nil
}

// configForClient checks the files when the interval has passed and returns
// the configuration of the current state, with its CA pool.
func (c *Config) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	c.maybeCheck()
	return c.cur.Load().conf, nil
}

// maybeCheck checks the files when at least the interval has passed since
// the last check. Only one handshake does the check; the others go on with
// the current state.
func (c *Config) maybeCheck() {
	now := c.now().UnixNano()
	last := c.lastCheck.Load()
	if now-last < int64(c.interval) || !c.lastCheck.CompareAndSwap(last, now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.check()
}

// check reloads when the files changed since the current state was loaded.
// A change that fails to load keeps the current state and is logged once.
// c.mu must be held.
func (c *Config) check() {
	now := c.statAll()
	if now == c.cur.Load().stamps || now == c.failed {
		return
	}
	st, err := c.load()
	if err != nil {
		c.failed = now
		c.log.Warn("tls reload failed; keeping the current certificate",
			"err", err, "serving_serial", c.cur.Load().leaf.SerialNumber.Text(16))
		return
	}
	c.failed = stamps{}
	c.cur.Store(st)
	c.logLoaded("tls certificate reloaded", st)
}

// logLoaded logs which certificate is now served; never the key.
func (c *Config) logLoaded(msg string, st *state) {
	c.log.Info(msg,
		"cert_file", c.opts.CertFile,
		"subject", st.leaf.Subject.String(),
		"serial", st.leaf.SerialNumber.Text(16),
		"not_after", st.leaf.NotAfter.UTC().Format(time.RFC3339),
		"ca_file", c.opts.CAFile)
}
