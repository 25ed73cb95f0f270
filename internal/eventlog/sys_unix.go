//go:build unix

package eventlog

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// Flags added to every open by path: never follow a symlink planted under
// the name of an event file, and never block on a FIFO planted there.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC

// links returns the number of hard links of a file, 1 when unknown. The
// FileInfo comes from os (syscall.Stat_t) or from datadir (unix.Stat_t).
func links(fi fs.FileInfo) uint64 {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return uint64(st.Nlink)
	case *unix.Stat_t:
		return uint64(st.Nlink)
	}
	return 1
}
