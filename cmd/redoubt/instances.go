package main

import (
	"log/slog"

	"redoubt/internal/auth"
	"redoubt/internal/command"
	"redoubt/internal/config"
	"redoubt/internal/monitor"
	"redoubt/internal/server"
	"redoubt/internal/tlsconf"
)

// shared is what every instance of the process shares: the event
// recorder, the password verifier (one bounded argon2id pool for the
// whole process) and the TLS configurations by instance, kept for reload.
type shared struct {
	log      *slog.Logger
	events   *monitor.Recorder
	verifier *auth.Verifier
	tls      map[string]*tlsconf.Config
	// monitoring is what every instance measures (nil: the defaults).
	monitoring *server.Monitoring
	eventFiles server.EventFiles
}

func newShared(log *slog.Logger) *shared {
	return &shared{
		log:      log,
		events:   monitor.NewRecorder(log, nil),
		verifier: auth.NewVerifier(0, 0),
		tls:      map[string]*tlsconf.Config{},
	}
}

// options turns one configured instance into server options.
func (sh *shared) options(inst config.Instance, table *command.Table) (server.Options, error) {
	sec, err := sh.security(inst)
	if err != nil {
		return server.Options{}, err
	}
	return server.Options{
		Name:      inst.Name,
		Listen:    inst.Listen,
		DataDir:   inst.Data,
		Databases: inst.Databases,
		Memory:    inst.Memory,
		Persistence: server.Persistence{
			Enabled:        inst.Persistence.Enabled,
			Fsync:          inst.Persistence.Fsync,
			RewritePercent: inst.Persistence.RewritePercent,
			RewriteMinSize: inst.Persistence.RewriteMinSize,
		},
		Backend:    serverBackend(inst.Backend),
		Logger:     sh.log,
		Table:      table,
		Security:   &sec,
		Events:     sh.events,
		Verifier:   sh.verifier,
		Monitoring: sh.monitoring,
		EventFiles: sh.eventFiles,
	}, nil
}

// serverBackend maps an instance's configured backend to the server's.
func serverBackend(b config.Backend) server.Backend {
	return server.Backend{
		Kind:        server.BackendKind(b.Kind),
		Target:      b.Target,
		Seeds:       b.Seeds,
		Pool:        b.Pool,
		MaxReply:    b.MaxReply,
		RedisServer: b.RedisServer,
	}
}

// security maps an instance's configuration to its front door, loading
// (or reloading) its certificate.
func (sh *shared) security(inst config.Instance) (server.Security, error) {
	sec := server.Security{
		Public:      inst.Public,
		StrictRESP:  inst.StrictRESP,
		NoGuard:     inst.NoGuard,
		Allowlist:   inst.Allowlist,
		Bans:        inst.Bans,
		MaxClients:  inst.MaxClients,
		PerAddress:  inst.PerAddress,
		AuthTimeout: inst.AuthTimeout,
		IdleTimeout: inst.IdleTimeout,
		Disabled:    inst.Disabled,
		Enabled:     inst.Enabled,
		Lockout:     auth.DefaultLockoutOptions(),
	}
	for _, a := range inst.Accounts {
		sec.Accounts = append(sec.Accounts, server.Account{User: a.User, Hashes: a.Hashes, StepUp: a.StepUp, TOTP: a.TOTP})
	}
	if inst.TLS != nil {
		tc := sh.tls[inst.Name]
		if tc == nil {
			var err error
			if tc, err = tlsconf.New(inst.TLS.Options, sh.log.With("instance", inst.Name)); err != nil {
				return sec, err
			}
			sh.tls[inst.Name] = tc
		} else if err := tc.Reload(); err != nil {
			return sec, err
		}
		sec.TLS = tc
		sec.TLSListen = inst.TLS.Listen
	}
	return sec, nil
}

// reload reads the configuration file again and applies what can change
// without a restart to every running instance. A file with errors changes
// nothing. The flags (listen, data, backend) are applied again; a backend
// changes only with a restart.
func reload(log *slog.Logger, sh *shared, servers []*server.Server, sf *serverFlags) *config.Config {
	path := *sf.cfgPath
	if path == "" {
		log.Info("SIGHUP: no configuration file to reload")
		return nil
	}
	cfg, err := config.Load(path)
	if err == nil {
		err = sf.override(cfg, path)
	}
	if err != nil {
		log.Error("SIGHUP: configuration not reloaded", "err", err)
		return nil
	}
	byName := map[string]config.Instance{}
	for _, inst := range cfg.Instances {
		byName[inst.Name] = inst
	}
	for _, s := range servers {
		inst, ok := byName[s.Name()]
		if !ok {
			log.Warn("SIGHUP: instance removed from the file; it keeps running until restart", "instance", s.Name())
			continue
		}
		sec, err := sh.security(inst)
		if err == nil {
			err = s.Reload(sec)
		}
		if err == nil {
			s.SetMemory(inst.Memory)
		}
		if err != nil {
			log.Error("SIGHUP: instance not reloaded", "instance", s.Name(), "err", err)
			continue
		}
		log.Info("configuration reloaded", "instance", s.Name())
	}
	return cfg
}
