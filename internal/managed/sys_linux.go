package managed

import (
	"fmt"
	"path"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr makes the child die with Redoubt. Pdeathsig fires when the
// thread that forked the child ends, so the supervisor goroutine, which
// forks every child, stays locked to its thread while a child may live.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// shortSocketPath opens dir (O_PATH: it reads nothing) and names the
// socket through the descriptor: connect(2) resolves /proc/self/fd/N to
// the directory itself, whatever the length of its path.
func shortSocketPath(dir string) (string, int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", -1, fmt.Errorf("managed: open %s: %w", dir, err)
	}
	return path.Join("/proc/self/fd", strconv.Itoa(fd), SocketName), fd, nil
}

func closeFD(fd int) error { return unix.Close(fd) }
