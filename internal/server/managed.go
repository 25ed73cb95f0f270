package server

import (
	"fmt"

	"redoubt/internal/managed"
	"redoubt/internal/monitor"
)

// startManaged starts the managed redis-server of an instance in the
// instance's data directory, with the instance's memory and persistence
// parameters. Its going down and coming back are events.
func (s *Server) startManaged(opts Options) (managedServer, error) {
	p := opts.Persistence
	mo := managed.Options{
		Dir:             opts.DataDir,
		Binary:          opts.Backend.RedisServer,
		Databases:       opts.Databases,
		MaxMemory:       opts.Memory.MaxMemory,
		MaxMemoryPolicy: opts.Memory.Policy.String(),
		AppendOnly:      p.Enabled,
		AppendFsync:     p.Fsync.String(),
		Logger:          s.log,
		OnState: func(up bool, err error) {
			if up {
				s.event(monitor.BackendUp, "managed redis-server", "", "restarted")
				return
			}
			s.event(monitor.BackendDown, "managed redis-server", "", fmt.Sprint(err))
		},
	}
	proc, err := managed.Start(mo)
	if err != nil {
		return nil, fmt.Errorf("managed redis-server: %w", err)
	}
	s.log.Info("managed redis-server started", "pid", proc.Pid(), "version", proc.Version())
	return proc, nil
}
