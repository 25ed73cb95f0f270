//go:build unix

package eventlog

import (
	"io/fs"
	"syscall"
)

// Flags added to every open: never follow a symlink planted under the
// name of an event file, and never block on a FIFO planted there.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC

// links returns the number of hard links of a file, 1 when unknown.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
