//go:build !linux

package managed

import (
	"fmt"
	"syscall"
)

// Other systems have no Pdeathsig: a child outlives a Redoubt that is
// killed with SIGKILL, and the next Start removes its socket.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// Other systems have no /proc/self/fd to shorten a socket path.
func shortSocketPath(dir string) (string, int, error) {
	return "", -1, fmt.Errorf("managed: %s: path too long for a unix socket (at most %d bytes with %q)", dir, maxSocketPath, SocketName)
}

// closeFD is never given a descriptor here: shortSocketPath opens none.
func closeFD(int) error { return nil }
