//go:build unix

package datadir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// checkName validates a name given to an operation: ValidName, and not
// the lock file.
func checkName(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if name == LockName {
		return fmt.Errorf("%w %q: reserved for the directory lock", ErrBadName, name)
	}
	return nil
}

// withFd runs f with the directory descriptor, or fails with ErrClosed.
func (d *Dir) withFd(f func(fd int) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return ErrClosed
	}
	return f(d.fd)
}

// OpenFile opens name in the directory with the os.O_* flags and, when it
// creates the file, perm. It never follows a symlink (error wrapping
// ErrSymlink), opens only regular files (ErrNotRegular), and refuses to
// open for writing a file with more than one hard link (ErrHardLinked);
// os.O_TRUNC applies only after those checks. The returned file is named
// by its full path.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, d.pathErr("open", name, err)
	}
	return d.openFile(name, flag, perm)
}

func (d *Dir) openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	var f *os.File
	err := d.withFd(func(dfd int) error {
		// O_NONBLOCK: a FIFO planted under our name must not block the
		// open; it is refused below, and the flag cleared for files.
		oflag := (flag &^ os.O_TRUNC) | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
		fd, err := openatRetry(dfd, name, oflag, uint32(perm.Perm()))
		if err != nil {
			return symlinkErr(dfd, name, err)
		}
		if err := checkOpened(fd, flag); err != nil {
			unix.Close(fd)
			return err
		}
		f = os.NewFile(uintptr(fd), filepath.Join(d.path, name))
		return nil
	})
	if err != nil {
		return nil, d.pathErr("open", name, err)
	}
	return f, nil
}

// checkOpened checks the file just opened and finishes the open:
// regular file, one link if written, then O_TRUNC and blocking mode.
func checkOpened(fd, flag int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ErrNotRegular
	}
	writing := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if writing && st.Nlink > 1 {
		return fmt.Errorf("%w (%d links)", ErrHardLinked, st.Nlink)
	}
	if flag&os.O_TRUNC != 0 && writing {
		if err := unix.Ftruncate(fd, 0); err != nil {
			return err
		}
	}
	return unix.SetNonblock(fd, false)
}

// symlinkErr turns the error of an O_NOFOLLOW open into ErrSymlink when
// name is a symlink. With O_CREAT|O_EXCL the kernel reports EEXIST for a
// symlink, which is kept: the name exists.
func symlinkErr(dfd int, name string, err error) error {
	if err != unix.ELOOP && err != unix.EMLINK && err != unix.ENOTDIR {
		return err
	}
	var st unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return ErrSymlink
	}
	return err
}

// Open opens name for reading.
func (d *Dir) Open(name string) (*os.File, error) {
	return d.OpenFile(name, os.O_RDONLY, 0)
}

// Create creates or truncates name for reading and writing, mode
// FileMode when created.
func (d *Dir) Create(name string) (*os.File, error) {
	return d.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FileMode)
}

// ReadFile returns the contents of name, failing if it is larger than
// limit bytes.
func (d *Dir) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", f.Name(), limit)
	}
	return b, nil
}

// Rename renames oldname to newname inside the directory, replacing
// newname if it exists. A symlink is renamed as itself, never followed.
// The change is durable only after SyncDir.
func (d *Dir) Rename(oldname, newname string) error {
	if err := checkName(oldname); err != nil {
		return d.pathErr("rename", oldname, err)
	}
	if err := checkName(newname); err != nil {
		return d.pathErr("rename", newname, err)
	}
	err := d.withFd(func(fd int) error { return unix.Renameat(fd, oldname, fd, newname) })
	if err != nil {
		return &os.LinkError{Op: "rename", Old: filepath.Join(d.path, oldname),
			New: filepath.Join(d.path, newname), Err: err}
	}
	return nil
}

// Remove removes the file (or the symlink itself) name. The change is
// durable only after SyncDir.
func (d *Dir) Remove(name string) error {
	if err := checkName(name); err != nil {
		return d.pathErr("remove", name, err)
	}
	err := d.withFd(func(fd int) error { return unix.Unlinkat(fd, name, 0) })
	if err != nil {
		return d.pathErr("remove", name, err)
	}
	return nil
}

// SyncDir fsyncs the directory, making creations, renames and removals
// durable.
func (d *Dir) SyncDir() error {
	err := d.withFd(func(fd int) error {
		for {
			err := unix.Fsync(fd)
			if err != unix.EINTR {
				return err
			}
		}
	})
	if err != nil {
		return &fs.PathError{Op: "fsync", Path: d.path, Err: err}
	}
	return nil
}

// ReadDir returns the entries of the directory sorted by name, without
// the lock file. Entries are reported as they are (a symlink is a
// symlink); use their names with the other methods.
func (d *Dir) ReadDir() ([]fs.DirEntry, error) {
	var ents []fs.DirEntry
	err := d.withFd(func(dfd int) error {
		fd, err := openatRetry(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), d.path)
		defer f.Close()
		ents, err = f.ReadDir(-1)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: d.path, Err: err}
	}
	ents = slices.DeleteFunc(ents, func(e fs.DirEntry) bool { return e.Name() == LockName })
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// Stat describes name without following a symlink (like os.Lstat). It
// fails with an error satisfying errors.Is(err, fs.ErrNotExist) when name
// does not exist.
func (d *Dir) Stat(name string) (fs.FileInfo, error) {
	if err := checkName(name); err != nil {
		return nil, d.pathErr("stat", name, err)
	}
	var st unix.Stat_t
	err := d.withFd(func(fd int) error { return unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return nil, d.pathErr("stat", name, err)
	}
	return &fileInfo{name: name, st: st}, nil
}

// fileInfo is fs.FileInfo over a stat(2) result.
type fileInfo struct {
	name string
	st   unix.Stat_t
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *fileInfo) Sys() any           { return &fi.st }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }

func (fi *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	if fi.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// IsNotExist reports whether err says a file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
