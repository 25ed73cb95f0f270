//go:build !unix

package datadir

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// The confinement of this package rests on openat(2) with O_NOFOLLOW and
// flock(2); other systems get a Dir that refuses to open.

// LockName is the lock file Open creates inside the directory.
const LockName = "redoubt.lock"

// Modes of what Open creates.
const (
	DirMode  = 0o700
	FileMode = 0o600
)

// TempSuffix ends the names of the temporary files of CreateAtomic.
const TempSuffix = ".tmp"

// Sentinel errors, as on unix.
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

var errUnsupported = errors.New("datadir: data directories need a unix system: " + errors.ErrUnsupported.Error())

// Dir is an open data directory; on this system none can be opened.
type Dir struct{ path string }

// AtomicFile is a file written atomically.
type AtomicFile struct{}

// Open fails on this system.
func Open(path string, log *slog.Logger) (*Dir, error) { return nil, errUnsupported }

// ValidName reports whether name is a plain file name.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return ErrBadName
	}
	return nil
}

// IsTemp reports whether name is a temporary file of CreateAtomic.
func IsTemp(name string) bool { return strings.HasSuffix(name, TempSuffix) }

// IsNotExist reports whether err says a file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func (d *Dir) Path() string                                        { return d.path }
func (d *Dir) Close() error                                        { return nil }
func (d *Dir) Sub(string) (*Dir, error)                            { return nil, errUnsupported }
func (d *Dir) OpenFile(string, int, fs.FileMode) (*os.File, error) { return nil, errUnsupported }
func (d *Dir) Open(string) (*os.File, error)                       { return nil, errUnsupported }
func (d *Dir) Create(string) (*os.File, error)                     { return nil, errUnsupported }
func (d *Dir) ReadFile(string, int64) ([]byte, error)              { return nil, errUnsupported }
func (d *Dir) Rename(string, string) error                         { return errUnsupported }
func (d *Dir) Remove(string) error                                 { return errUnsupported }
func (d *Dir) SyncDir() error                                      { return errUnsupported }
func (d *Dir) ReadDir() ([]fs.DirEntry, error)                     { return nil, errUnsupported }
func (d *Dir) Stat(string) (fs.FileInfo, error)                    { return nil, errUnsupported }
func (d *Dir) CreateAtomic(string) (*AtomicFile, error)            { return nil, errUnsupported }
func (d *Dir) WriteFileAtomic(string, []byte) error                { return errUnsupported }
func (a *AtomicFile) Write([]byte) (int, error)                    { return 0, errUnsupported }
func (a *AtomicFile) TempName() string                             { return "" }
func (a *AtomicFile) Commit() error                                { return errUnsupported }
func (a *AtomicFile) Abort() error                                 { return nil }
