package eventlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DirName is the event directory inside an instance's data directory.
const DirName = "events"

// Modes of what the Log creates.
const (
	DirMode  = 0o700 // the event directory
	FileMode = 0o600 // event files
)

// File names: events-<number>.jsonl, the number with at least eight
// digits, one more for each new file. Only the canonical spelling of a
// number is an event file, so two names never denote one number.
const (
	filePrefix = "events-"
	fileSuffix = ".jsonl"
)

// Errors about an event file itself.
var (
	errNotRegular = errors.New("is not a regular file")
	errHardLinked = errors.New("has more than one hard link")
)

// FileName returns the name of event file number n.
func FileName(n uint64) string { return fmt.Sprintf("%s%08d%s", filePrefix, n, fileSuffix) }

// parseFileName returns the number of an event file name.
func parseFileName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, filePrefix)
	if !ok {
		return 0, false
	}
	if digits, ok = strings.CutSuffix(digits, fileSuffix); !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 || FileName(n) != name {
		return 0, false
	}
	return n, true
}

// FS is the directory a Log writes in. datadir.Dir implements it: every
// operation is relative to a descriptor it holds, and no symlink is
// followed. Names are plain file names (one path component).
type FS interface {
	// OpenFile opens name with the os.O_* flags (and perm when it creates
	// it), never following a symlink, without blocking on a FIFO.
	OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error)
	// Remove removes name (a symlink itself, never its target).
	Remove(name string) error
	// SyncDir fsyncs the directory.
	SyncDir() error
	// ReadDir lists the directory; only the names of its entries are used.
	ReadDir() ([]fs.DirEntry, error)
	// Stat describes name without following a symlink, like os.Lstat.
	Stat(name string) (fs.FileInfo, error)
}

// pathFS is the FS of a directory named by its path, for a Log without
// Options.FS and for the readers (Verify, Walk, Query). Each operation
// resolves the path again: a directory swapped for a symlink on the way is
// followed. Only the last component, the file, is never followed.
type pathFS struct{ dir string }

func (p pathFS) path(name string) string { return filepath.Join(p.dir, name) }

func (p pathFS) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(p.path(name), flag|openFlags, perm)
}

func (p pathFS) Remove(name string) error              { return os.Remove(p.path(name)) }
func (p pathFS) SyncDir() error                        { return syncDir(p.dir) }
func (p pathFS) ReadDir() ([]fs.DirEntry, error)       { return os.ReadDir(p.dir) }
func (p pathFS) Stat(name string) (fs.FileInfo, error) { return os.Lstat(p.path(name)) }

// fileInfo describes one event file.
type fileInfo struct {
	num     uint64
	name    string
	size    int64
	mtime   time.Time
	regular bool
}

// listFiles returns the event files of dir, oldest (lowest number)
// first. Other names are ignored. What it reports comes from lstat: a
// symlink is listed, not regular.
func listFiles(dir string) ([]fileInfo, error) { return listFilesIn(pathFS{dir}) }

// listFilesIn is listFiles on an FS. The entries are described by
// fsys.Stat, never by fs.DirEntry.Info, which stats by path.
func listFilesIn(fsys FS) ([]fileInfo, error) {
	ents, err := fsys.ReadDir()
	if err != nil {
		return nil, err
	}
	var files []fileInfo
	for _, de := range ents {
		n, ok := parseFileName(de.Name())
		if !ok {
			continue
		}
		fi := fileInfo{num: n, name: de.Name()}
		if info, err := fsys.Stat(de.Name()); err == nil {
			fi.size, fi.mtime, fi.regular = info.Size(), info.ModTime(), info.Mode().IsRegular()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		} else {
			continue // removed meanwhile
		}
		files = append(files, fi)
	}
	slices.SortFunc(files, func(a, b fileInfo) int {
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	})
	return files, nil
}

// openFile opens an event file without following a symlink and checks
// it is a regular file (with one link, if written).
func openFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return openIn(pathFS{filepath.Dir(path)}, filepath.Base(path), flag, perm)
}

// openIn is openFile on an FS.
func openIn(fsys FS, name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := fsys.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s %w", f.Name(), errNotRegular)
	case flag&(os.O_WRONLY|os.O_RDWR) != 0 && links(fi) > 1:
		err = fmt.Errorf("%s %w", f.Name(), errHardLinked)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// unwritable says why the existing file name cannot be appended to
// (not a regular file, or hard-linked), or returns nil.
func unwritable(fsys FS, name string) error {
	fi, err := fsys.Stat(name)
	switch {
	case err != nil:
		return nil // the open will tell
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s %w", name, errNotRegular)
	case links(fi) > 1:
		return fmt.Errorf("%s %w", name, errHardLinked)
	}
	return nil
}

// syncDir fsyncs a directory, so that files created or removed in it
// stay so after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// rawLine is one line of an event file as read, before parsing.
type rawLine struct {
	no       int    // from 1
	off      int64  // of its first byte in the file
	data     []byte // without the newline; valid only during the callback
	complete bool   // ended by a newline (false: the file ends inside it)
	long     bool   // longer than MaxLine; data is empty
}

// scanLines calls fn with each line of r, reading at most MaxLine bytes
// of a line into memory. It stops early when fn returns false, and
// returns only read errors.
func scanLines(r io.Reader, fn func(*rawLine) bool) error {
	br := bufio.NewReaderSize(r, MaxLine+1)
	var off int64
	for no := 1; ; no++ {
		ln := rawLine{no: no, off: off}
		b, err := br.ReadSlice('\n')
		off += int64(len(b))
		for errors.Is(err, bufio.ErrBufferFull) {
			ln.long = true
			b, err = br.ReadSlice('\n')
			off += int64(len(b))
		}
		switch {
		case err == nil:
			ln.complete = true
			if !ln.long {
				ln.data = b[:len(b)-1]
			}
		case err == io.EOF:
			if len(b) == 0 && !ln.long {
				return nil
			}
			if !ln.long {
				ln.data = b
			}
		default:
			return err
		}
		if !fn(&ln) || err == io.EOF {
			return nil
		}
	}
}

// firstEntry reads the first line of an event file; ok is false when the
// file is empty, unreadable or does not start with a sound entry.
func firstEntry(path string) (e Entry, ok bool) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return Entry{}, false
	}
	defer f.Close()
	_ = scanLines(f, func(ln *rawLine) bool {
		if ln.complete && !ln.long {
			var lerr *lineError
			e, _, lerr = parseLine(ln.data)
			ok = lerr == nil
		}
		return false
	})
	return e, ok
}
