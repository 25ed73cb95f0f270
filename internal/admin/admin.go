// Package admin runs the admin listener: an HTTP server, on loopback by
// default, that serves Prometheus metrics at /metrics (optionally behind
// a bearer token). It refuses requests whose Host header names anything
// but an IP address, localhost or the listener's own host, so a web page
// cannot reach it through DNS rebinding.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the admin listener.
type Options struct {
	Listen string      // HOST:PORT
	TLS    *tls.Config // nil: plain HTTP
	// MetricsToken, when set, must be sent as "Authorization: Bearer …"
	// to read /metrics.
	MetricsToken string
	Gatherer     prometheus.Gatherer
	Logger       *slog.Logger
}

// Server is a running admin listener.
type Server struct {
	opts  Options
	log   *slog.Logger
	srv   *http.Server
	ln    net.Listener
	token [32]byte // SHA-256 of MetricsToken, compared in constant time
	host  string   // the listener's host, allowed in Host headers
	done  chan struct{}
}

// Start listens and serves until Shutdown.
func Start(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, err
	}
	if opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &Server{opts: opts, log: opts.Logger.With("listener", "admin"), ln: ln, host: strings.ToLower(host), done: make(chan struct{})}
	if opts.MetricsToken != "" {
		s.token = sha256.Sum256([]byte(opts.MetricsToken))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics())
	s.srv = &http.Server{
		Handler:           s.guard(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin listener stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the listener, letting requests in flight finish until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// guard refuses requests that name a host other than an IP address,
// localhost or the listener's host (DNS rebinding), and sets the headers
// every answer carries.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if !s.hostAllowed(r.Host) {
			http.Error(w, "misdirected request: the Host header does not name this server", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || host == s.host
}

func (s *Server) metrics() http.Handler {
	h := promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.MetricsToken != "" {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(tok))
			if !ok || subtle.ConstantTimeCompare(sum[:], s.token[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="redoubt metrics"`)
				http.Error(w, "unauthorized: /metrics needs the bearer token (admin.metrics_token_file)", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
