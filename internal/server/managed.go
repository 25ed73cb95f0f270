package server

import "errors"

// startManaged starts the managed redis-server of an instance.
func (s *Server) startManaged(opts Options) (managedServer, error) {
	return nil, errors.New("managed backend: not built yet")
}
