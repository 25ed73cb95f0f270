// Command redoubt runs a security-hardened Redis-compatible server: one
// process serving every instance of its configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/config"
	"redoubt/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// shutdownGrace bounds how long in-flight commands may take at shutdown.
const shutdownGrace = 10 * time.Second

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "passwd":
			return passwd(args[1:], os.Stdin, stdout, stderr)
		case "check-aof":
			return checkAOF(args[1:], stdout, stderr)
		case "import-rdb":
			return importRDB(args[1:], stdout, stderr)
		case "scan":
			return scanCmd(args[1:], stdout, stderr)
		case "events":
			return events(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("redoubt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	threads := fs.Int("threads", 0, "OS threads running Go code (GOMAXPROCS); default half the CPUs, at least 1, or the GOMAXPROCS environment variable")
	fs.Usage = func() { usage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "redoubt: unexpected argument %q (see redoubt --help)\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "redoubt: --log-level: %v\n", err)
		return 2
	}
	cfg, code := sf.load(stderr)
	if cfg == nil {
		return code
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	runtime.GOMAXPROCS(threadCount(*threads, os.Getenv("GOMAXPROCS"), runtime.NumCPU()))

	table := command.New()
	shared := newShared(log)
	shared.monitoring = serverMonitoring(cfg.Monitoring)
	shared.eventFiles = server.EventFiles(cfg.Monitoring.Events)
	var servers []*server.Server
	// stopAll shuts every instance down at once, so each has the whole
	// grace period to finish its commands.
	stopAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(func() {
				if err := s.Shutdown(ctx); err != nil {
					log.Warn("shutdown cut short", "instance", s.Name(), "err", err)
				}
			})
		}
		wg.Wait()
	}
	for _, inst := range cfg.Instances {
		opts, err := shared.options(inst, table)
		if err != nil {
			log.Error("cannot start", "instance", inst.Name, "err", err)
			stopAll()
			return 1
		}
		s, err := server.New(opts)
		if err != nil {
			log.Error("cannot start", "err", err)
			stopAll()
			return 1
		}
		if err := s.Start(); err != nil {
			log.Error("cannot start", "err", err)
			stopAll()
			return 1
		}
		servers = append(servers, s)
	}
	scanner := newScanning(log, shared.events, cfg, servers)
	scanCtx, stopScans := context.WithCancel(context.Background())
	scansDone := make(chan struct{})
	go func() {
		defer close(scansDone)
		scanner.run(scanCtx, cfg.Monitoring.ScanInterval)
	}()
	stopScanner := func() {
		stopScans()
		<-scansDone
	}
	adm, err := startAdmin(cfg.Admin, servers, log, scanner)
	if err != nil {
		log.Error("cannot start the admin listener", "listen", cfg.Admin.Listen, "err", err)
		stopScanner()
		stopAll()
		return 1
	}
	if adm != nil {
		log.Info("admin listener ready", "addr", adm.Addr(), "metrics", "/metrics")
	}
	log.Info("redoubt ready", "version", server.Version, "instances", len(servers))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	got := <-sig
	for got == syscall.SIGHUP {
		if c := reload(log, shared, servers, sf); c != nil {
			scanner.cfg.Store(c)
		}
		got = <-sig
	}
	log.Info("shutting down", "signal", got.String())
	signal.Stop(sig)
	stopScanner()
	if adm != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = adm.Shutdown(ctx)
		cancel()
	}
	stopAll()
	log.Info("bye")
	return 0
}

// threadCount decides GOMAXPROCS. Every instance runs its commands under
// one lock, as Redis runs them on one thread, so extra threads only help
// with socket reads and writes; beyond half the CPUs they mostly spin and
// take cycles from the applications that share the host. An explicit
// --threads wins, then the GOMAXPROCS environment variable.
func threadCount(flagValue int, env string, cpus int) int {
	if flagValue > 0 {
		return flagValue
	}
	if n, err := strconv.Atoi(env); err == nil && n > 0 {
		return n
	}
	return max(1, cpus/2)
}

// serverFlags are the flags that choose the configuration: the server
// and `redoubt scan` share them.
type serverFlags struct {
	listen, data, cfgPath, adminListen *string
	upstream, upstreamPass             *string
	backend                            *config.Backend // from upstream, set by load
}

func addServerFlags(fs *flag.FlagSet) *serverFlags {
	return &serverFlags{
		listen:       fs.String("listen", "", "listen address HOST:PORT of the default instance (default "+config.DefaultListen+")"),
		data:         fs.String("data", "", "data directory of the default instance (default ./data/default)"),
		cfgPath:      fs.String("config", "", "YAML configuration file; flags override it"),
		adminListen:  fs.String("admin-listen", "", "admin listener HOST:PORT for /metrics and the console, or off (default "+config.DefaultAdminListen+")"),
		upstream:     fs.String("upstream", "", "backend of the default instance: redis://[user@]host[:port][/db], rediss://…, unix:///path[?db=N], a Redis Cluster redis-cluster://[user@]host:port[,host:port…] (rediss-cluster:// for TLS), managed or embedded (default embedded); never a password: see --upstream-password-file and "+config.UpstreamPasswordEnv),
		upstreamPass: fs.String("upstream-password-file", "", "file whose first line is the --upstream password (mode 0600 or stricter)"),
	}
}

// load reads the configuration the flags name and applies the flags to
// it. On failure it prints why and returns nil and the exit code.
func (f *serverFlags) load(stderr io.Writer) (*config.Config, int) {
	backend, err := config.FlagBackend(*f.upstream, *f.upstreamPass, os.Getenv(config.UpstreamPasswordEnv))
	if err != nil {
		fmt.Fprintf(stderr, "redoubt: %v\n", err)
		return nil, 2
	}
	f.backend = backend
	cfg := config.Default()
	file := "flags"
	if *f.cfgPath != "" {
		if cfg, err = config.Load(*f.cfgPath); err != nil {
			fmt.Fprintf(stderr, "redoubt: configuration errors:\n%v\n", err)
			return nil, 1
		}
		file = *f.cfgPath
	}
	if err := f.override(cfg, file); err != nil {
		fmt.Fprintf(stderr, "redoubt: configuration errors:\n%v\n", err)
		return nil, 1
	}
	return cfg, 0
}

// override applies the flags to the configuration and finishes it.
func (f *serverFlags) override(cfg *config.Config, file string) error {
	cfg.Override(*f.listen, *f.data)
	cfg.OverrideAdmin(*f.adminListen)
	if f.backend != nil {
		if err := cfg.OverrideBackend(*f.backend); err != nil {
			return err
		}
	}
	return cfg.Finish(file)
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `redoubt %s — a security-hardened Redis-compatible server

Usage:
  redoubt [flags]
  redoubt passwd [--stdin]   print an argon2id hash of a password for password_hash
  redoubt check-aof [--fix] --data DIR
                             check the append-only file of a stopped instance; --fix
                             truncates a damaged last file (a copy is kept as .bak)
  redoubt import-rdb [--force] [--databases N] --data DIR FILE.rdb
                             make a Redis dump.rdb (RDB 9–11) the starting data of a
                             stopped instance
  redoubt scan [flags] [--json] [--fail-on SEVERITY]
                             scan the configuration and its backends for risks
  redoubt events verify --data DIR
                             check the hash chain of an instance's event log
                             (redoubt events list prints it; see redoubt events --help)
  (check-aof and import-rdb also take --config FILE [--instance NAME]
  instead of --data; each has its own --help)

With no flags, one instance named "default" listens on %s with its data
in ./data/default. A configuration file can declare several instances; they
share nothing (keys, connections, files). Flags override the file and apply
to the instance named "default".

In front of an existing Redis (the password from a file or the environment,
never the command line):
  %s=… redoubt --upstream redis://10.0.0.5:6379
  redoubt --upstream managed     (Redoubt runs redis-server itself)
  redoubt --upstream redis-cluster://10.0.0.5:7000,10.0.0.6:7000 --upstream-password-file F
                                 (one endpoint for a whole Redis Cluster)

Flags:
`, server.Version, config.DefaultListen, config.UpstreamPasswordEnv)
	width := len("help")
	fs.VisitAll(func(f *flag.Flag) { width = max(width, len(f.Name)) })
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  --%-*s %s\n", width, f.Name, f.Usage)
	})
	fmt.Fprintf(w, "  --%-*s %s\n", width, "help", "print this help")
	fmt.Fprintln(w, "\nConfiguration keys (YAML):")
	for _, k := range config.Keys() {
		fmt.Fprintf(w, "  %-22s %s\n", k[0], k[1])
	}
	fmt.Fprintln(w, `
Example:
  instances:
    - name: default
      listen: ["127.0.0.1:6379"]
      data: ./data/default
    - name: sessions
      listen: ["127.0.0.1:6380", "unix:/run/redoubt/sessions.sock"]
      data: ./data/sessions

Signals: SIGINT and SIGTERM stop accepting, finish in-flight commands and
exit 0. SIGHUP reloads the configuration file: allowlists, bans, limits,
accounts, disabled commands and TLS certificates change without a restart;
connections from addresses no longer allowed are closed, the others stay.`)
}
