package managed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxSocketPath is the longest socket path dialled directly. Linux's
// sun_path holds 107 bytes and a NUL; the margin is for other systems.
const maxSocketPath = 99

// ErrNotSocket says something other than a socket is in the way of the
// server's socket.
var ErrNotSocket = errors.New("exists and is not a socket")

// socketAddr returns the path Redoubt dials to reach the socket in dir.
// When dir/redis.sock is too long for a socket address it opens dir and
// returns a path through that descriptor (fd ≥ 0, closed by the caller
// when done); otherwise fd is -1.
func socketAddr(dir string) (addr string, fd int, err error) {
	p := filepath.Join(dir, SocketName)
	if len(p) <= maxSocketPath {
		return p, -1, nil
	}
	return shortSocketPath(dir)
}

// removeStaleSocket removes the socket a crashed server left in dir. It
// never follows a symlink, and it refuses to remove anything but a socket.
func removeStaleSocket(dir string) error {
	p := filepath.Join(dir, SocketName)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("managed: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("managed: %s is %s: it %w; remove it by hand", p, kind(fi.Mode()), ErrNotSocket)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("managed: stale socket: %w", err)
	}
	return nil
}

// kind names the type of a file for an error message.
func kind(m fs.FileMode) string {
	switch m.Type() {
	case 0:
		return "a regular file"
	case fs.ModeDir:
		return "a directory"
	case fs.ModeSymlink:
		return "a symlink"
	case fs.ModeNamedPipe:
		return "a FIFO"
	default:
		return "a special file (" + m.Type().String() + ")"
	}
}
