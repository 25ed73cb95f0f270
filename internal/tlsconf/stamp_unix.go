//go:build unix

package tlsconf

import (
	"os"
	"syscall"
)

// fileID returns the device and inode of a file, so that a file replaced by
// rename is seen as changed even with the same size and mtime.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) // the field types differ by platform
	}
	return 0, 0
}
