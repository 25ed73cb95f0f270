package aof

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"redoubt/internal/datadir"
)

// File is what the package needs of an open file. *os.File implements it;
// tests wrap it to inject failures.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
}

// FS is the directory the append-only file lives in. Names are plain file
// names inside it. DirFS adapts a *datadir.Dir (the production FS, which
// confines every operation to the instance's data directory); tests wrap
// an FS to make any step fail.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldname, newname string) error
	Remove(name string) error
	SyncDir() error
	ReadDir() ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	// Path returns the directory's path, for messages.
	Path() string
}

// DirFS returns the FS of a data directory.
func DirFS(d *datadir.Dir) FS { return dirFS{d} }

type dirFS struct{ d *datadir.Dir }

func (f dirFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	file, err := f.d.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a typed nil *os.File in an interface
	}
	return file, nil
}

func (f dirFS) Rename(o, n string) error              { return f.d.Rename(o, n) }
func (f dirFS) Remove(name string) error              { return f.d.Remove(name) }
func (f dirFS) SyncDir() error                        { return f.d.SyncDir() }
func (f dirFS) ReadDir() ([]fs.DirEntry, error)       { return f.d.ReadDir() }
func (f dirFS) Stat(name string) (fs.FileInfo, error) { return f.d.Stat(name) }
func (f dirFS) Path() string                          { return f.d.Path() }

// fileMode is the mode of every file the package creates.
const fileMode = 0o600

// openRead opens name for reading.
func openRead(fsys FS, name string) (File, error) {
	return fsys.OpenFile(name, os.O_RDONLY, 0)
}

// writeAtomic replaces name with data: temp file, write, fsync, close,
// rename, fsync the directory. Each step can fail on its own (and is made
// to, in tests). On an error before the rename the temp file is removed
// and renamed is false; renamed with an error means only the directory
// fsync failed: after a crash name may hold the old or the new data.
func writeAtomic(fsys FS, name string, data []byte) (renamed bool, err error) {
	tmp := name + tmpSuffix
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return false, err
	}
	return true, fsys.SyncDir()
}

// fileSize returns the size of name, 0 if it does not exist.
func fileSize(fsys FS, name string) (int64, error) {
	fi, err := fsys.Stat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	return fi.Size(), nil
}
