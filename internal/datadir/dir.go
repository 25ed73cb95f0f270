//go:build unix

// Package datadir gives an instance its own data directory and confines
// every file operation to it.
//
// # What Open accepts
//
// Open(path) cleans path and makes it absolute. The parent directories may
// be reached through symlinks (a deployment may mount /var/lib elsewhere)
// and are created with mode 0755 (less the umask) when missing; only the
// last component, the data directory itself, is created by Open, with mode
// 0700. That last component is "in place" only when it is a real directory:
//
//   - it is opened with O_NOFOLLOW|O_DIRECTORY relative to its parent, so a
//     symlink there (wherever it points, even to a good directory) is
//     refused with ErrSymlink;
//   - it must be owned by the effective user of the process (ErrNotOwner);
//   - it must not be writable by group or others (ErrPermissions). A
//     directory readable by group or others is accepted with a warning,
//     since the files in it hold all the data;
//   - a parent writable by group or others without the sticky bit is
//     accepted with a warning: whoever can write there can swap the
//     directory between two runs (never during one: every operation goes
//     through the descriptor Open holds).
//
// Once open, the directory is locked with flock(2) on the file LockName
// inside it, so a second Open of the same directory, from this process or
// another, fails with an error wrapping ErrInUse that names the directory
// and the pid written in the lock file. flock (not fcntl) locks belong to
// the open file description, so two Opens in one process conflict too.
// Close releases the lock.
//
// # Confinement
//
// Every operation takes a plain name: one path component, not empty, not
// "." or "..", without '/' or NUL (ValidName). Files are opened with
// openat(2) relative to the directory's descriptor with
// O_NOFOLLOW|O_CLOEXEC, so a symlink planted inside the directory is never
// followed, not even to another file inside it; opening one fails with an
// error wrapping ErrSymlink. Only regular files are opened (a FIFO or a
// device node planted under a file's name is refused without blocking),
// and a file with more than one hard link is never opened for writing (a
// hard link planted inside would otherwise let a write land in a file
// outside).
//
// Sub opens a subdirectory the same way (relative to the descriptor,
// without following a symlink, with the same checks as the data directory
// itself) and returns a Dir confined to it, for a component that keeps its
// files apart (the event log in <data>/events).
//
// os.Root (Go 1.24+) was considered and not used: it follows a symlink in
// the final component as long as the target stays inside the root, and
// the rule here is that no symlink is followed at all.
//
// All methods of Dir are safe for concurrent use.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// LockName is the lock file Open creates inside the directory. It holds
// the pid of the instance that owns the directory.
const LockName = "redoubt.lock"

// Modes of what Open creates.
const (
	DirMode    = 0o700 // the data directory
	parentMode = 0o755 // missing parents, less the umask
	FileMode   = 0o600 // files made by Create and WriteFileAtomic
)

// Sentinel errors; the errors returned wrap them with the path concerned.
var (
	ErrInUse       = errors.New("data directory is in use by another instance")
	ErrSymlink     = errors.New("is a symlink")
	ErrPermissions = errors.New("is writable by group or others")
	ErrNotOwner    = errors.New("is not owned by the current user")
	ErrNotDir      = errors.New("is not a directory")
	ErrNotRegular  = errors.New("is not a regular file")
	ErrHardLinked  = errors.New("has more than one hard link")
	ErrBadName     = errors.New("invalid file name")
	ErrClosed      = errors.New("data directory is closed")
)

// Dir is an open, locked data directory. Every file operation of an
// instance goes through its Dir.
type Dir struct {
	path string
	log  *slog.Logger

	mu     sync.RWMutex // held for reading by operations on fd, for writing by Close
	fd     int          // O_DIRECTORY descriptor; -1 once closed
	lockFd int          // flock'ed LockName
}

// Open opens (creating it if missing) and locks the data directory at
// path. See the package documentation for what it refuses.
func Open(path string, log *slog.Logger) (*Dir, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("datadir: %q: %w", path, err)
	}
	parent, base := filepath.Split(abs)
	if base == "" || base == "." || base == ".." {
		return nil, fmt.Errorf("datadir: %q: not usable as a data directory", abs)
	}
	if err := os.MkdirAll(parent, parentMode); err != nil {
		return nil, fmt.Errorf("datadir: creating parent of %s: %w", abs, err)
	}
	pfd, err := openRetry(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("datadir: opening %s: %w", parent, err)
	}
	defer unix.Close(pfd)
	warnParent(log, pfd, parent)

	fd, created, err := openDataDir(pfd, base)
	if err != nil {
		return nil, fmt.Errorf("datadir: %s %w", abs, err)
	}
	if err := checkDir(fd, created); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("datadir: %s %w", abs, err)
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&0o077 != 0 {
		log.Warn("data directory is readable by group or others", "dir", abs,
			"mode", fmt.Sprintf("%04o", st.Mode&0o7777))
	}
	d := &Dir{path: abs, log: log, fd: fd, lockFd: -1}
	if err := d.lock(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if created {
		log.Info("created data directory", "dir", abs)
	}
	return d, nil
}

// Sub opens the subdirectory name of d, creating it with mode DirMode
// when missing, relative to d's descriptor: like the data directory
// itself it must be a real directory (a symlink is refused with
// ErrSymlink, whatever it points to), owned by the effective user
// (ErrNotOwner) and not writable by group or others (ErrPermissions).
// The returned Dir holds its own descriptor and no lock: its methods
// work inside the subdirectory, and swapping a directory on its path
// afterwards, d's included, changes nothing. Close closes only its
// descriptor; closing d does not close it.
func (d *Dir) Sub(name string) (*Dir, error) {
	if err := checkName(name); err != nil {
		return nil, d.pathErr("open", name, err)
	}
	path := filepath.Join(d.path, name)
	var fd int
	var created bool
	var oerr error
	err := d.withFd(func(dfd int) error {
		fd, created, oerr = openDataDir(dfd, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("datadir: %s: %w", path, err)
	}
	if oerr != nil {
		return nil, fmt.Errorf("datadir: %s %w", path, oerr)
	}
	if err := checkDir(fd, created); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("datadir: %s %w", path, err)
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&0o077 != 0 {
		d.log.Warn("directory is readable by group or others", "dir", path,
			"mode", fmt.Sprintf("%04o", st.Mode&0o7777))
	}
	if created {
		d.log.Info("created directory", "dir", path)
	}
	return &Dir{path: path, log: d.log, fd: fd, lockFd: -1}, nil
}

// openDataDir opens base in the parent pfd without following a symlink,
// creating it 0700 when missing.
func openDataDir(pfd int, base string) (fd int, created bool, err error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	for range 2 {
		fd, err = openatRetry(pfd, base, flags, 0)
		if err == nil {
			return fd, created, nil
		}
		if err != unix.ENOENT {
			break
		}
		err = unix.Mkdirat(pfd, base, DirMode)
		if err != nil && err != unix.EEXIST {
			return -1, false, fmt.Errorf("cannot be created: %w", err)
		}
		created = err == nil
	}
	var st unix.Stat_t
	if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			return -1, false, ErrSymlink
		case unix.S_IFDIR:
		default:
			return -1, false, ErrNotDir
		}
	}
	return -1, false, fmt.Errorf("cannot be opened: %w", err)
}

// checkDir enforces ownership and permissions on the open directory. A
// directory Open just created gets exactly DirMode whatever the umask.
func checkDir(fd int, created bool) error {
	if created {
		if err := unix.Fchmod(fd, DirMode); err != nil {
			return fmt.Errorf("cannot be set to mode %04o: %w", DirMode, err)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return ErrNotDir
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w (owner uid %d, we run as uid %d)", ErrNotOwner, st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("%w (mode %04o; chmod 700 it)", ErrPermissions, st.Mode&0o7777)
	}
	return nil
}

// warnParent logs when the parent directory can be written by others
// without the sticky bit.
func warnParent(log *slog.Logger, pfd int, parent string) {
	var st unix.Stat_t
	if unix.Fstat(pfd, &st) != nil {
		return
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		log.Warn("parent of the data directory is writable by group or others: "+
			"they can replace the data directory while the instance is stopped",
			"dir", parent, "mode", fmt.Sprintf("%04o", st.Mode&0o7777))
	}
}

// lock takes the exclusive lock on LockName and records our pid in it.
func (d *Dir) lock() error {
	f, err := d.openFile(LockName, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("datadir: %s: lock file: %w", d.path, err)
	}
	lfd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return fmt.Errorf("datadir: %s: lock file: %w", d.path, err)
	}
	unix.CloseOnExec(lfd)
	if err := flockRetry(lfd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		owner := readPid(lfd)
		unix.Close(lfd)
		if err == unix.EWOULDBLOCK {
			return fmt.Errorf("datadir: %s: %w%s", d.path, ErrInUse, owner)
		}
		return fmt.Errorf("datadir: %s: locking %s: %w", d.path, LockName, err)
	}
	pid := strconv.Itoa(os.Getpid()) + "\n"
	if unix.Ftruncate(lfd, 0) == nil {
		_, _ = unix.Pwrite(lfd, []byte(pid), 0) // informative only
	}
	d.lockFd = lfd
	return nil
}

// readPid returns " (pid N)" from the lock file, or "".
func readPid(fd int) string {
	var b [32]byte
	n, err := unix.Pread(fd, b[:], 0)
	if err != nil || n == 0 {
		return ""
	}
	s := strings.TrimSpace(string(b[:n]))
	if _, err := strconv.Atoi(s); err != nil {
		return ""
	}
	return " (pid " + s + ")"
}

// Path returns the absolute path of the directory, for messages.
func (d *Dir) Path() string { return d.path }

// Close releases the lock and the directory (a Dir from Sub has no lock:
// only its descriptor is closed). Files and subdirectories opened through
// d stay usable; further operations on d fail with ErrClosed. Close is
// idempotent.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil
	}
	var errs []error
	if d.lockFd >= 0 {
		errs = append(errs, unix.Close(d.lockFd)) // releases the flock
		d.lockFd = -1
	}
	errs = append(errs, unix.Close(d.fd))
	d.fd = -1
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("datadir: closing %s: %w", d.path, err)
	}
	return nil
}

// ValidName reports whether name is a plain file name that operations of
// Dir accept: one non-empty path component, not "." or "..", without '/'
// or NUL.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w %q: must be a single path component", ErrBadName, name)
	}
	return nil
}

func openRetry(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func openatRetry(dirfd int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}

// pathErr wraps err with the operation and the full path of name.
func (d *Dir) pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: filepath.Join(d.path, name), Err: err}
}
