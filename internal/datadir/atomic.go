//go:build unix

package datadir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TempSuffix ends the names of the temporary files of CreateAtomic, which
// are "<name>.<16 hex digits>.tmp". One left behind by a crash is garbage:
// its owner may remove it (IsTemp tells them apart).
const TempSuffix = ".tmp"

// AtomicFile is a file being written under a temporary name in the
// directory, which Commit renames to its final name durably: after a
// crash the final name holds either the old contents or all of the new.
type AtomicFile struct {
	d    *Dir
	f    *os.File
	name string // final name
	tmp  string
	done bool
}

// CreateAtomic starts writing name atomically. The caller writes through
// the AtomicFile and then calls Commit, or Abort to give up (Abort after
// Commit does nothing, so `defer a.Abort()` is the usual form).
func (d *Dir) CreateAtomic(name string) (*AtomicFile, error) {
	if err := checkName(name); err != nil {
		return nil, d.pathErr("create", name, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand documents it)
	tmp := name + "." + hex.EncodeToString(rnd[:]) + TempSuffix
	if err := ValidName(tmp); err != nil { // too long, at worst
		return nil, d.pathErr("create", tmp, err)
	}
	f, err := d.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return nil, err
	}
	return &AtomicFile{d: d, f: f, name: name, tmp: tmp}, nil
}

// IsTemp reports whether name has the form of a temporary file of
// CreateAtomic for some final name.
func IsTemp(name string) bool {
	base, ok := strings.CutSuffix(name, TempSuffix)
	if !ok {
		return false
	}
	i := strings.LastIndexByte(base, '.')
	if i < 1 || len(base)-i-1 != 16 {
		return false
	}
	_, err := hex.DecodeString(base[i+1:])
	return err == nil
}

// Write writes to the temporary file.
func (a *AtomicFile) Write(p []byte) (int, error) { return a.f.Write(p) }

// TempName returns the name of the temporary file.
func (a *AtomicFile) TempName() string { return a.tmp }

// Commit fsyncs and closes the temporary file, renames it to the final
// name and fsyncs the directory. On error the temporary file is removed
// (unless the rename happened: then only the directory fsync failed and
// the new file stays in place, not yet known to be durable).
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New("datadir: atomic file already committed or aborted")
	}
	a.done = true
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.d.Rename(a.tmp, a.name)
	}
	if err != nil {
		_ = a.d.Remove(a.tmp)
		return fmt.Errorf("datadir: writing %s: %w", a.name, err)
	}
	if err := a.d.SyncDir(); err != nil {
		return fmt.Errorf("datadir: writing %s: %w", a.name, err)
	}
	return nil
}

// Abort closes and removes the temporary file. It does nothing after
// Commit or a previous Abort.
func (a *AtomicFile) Abort() error {
	if a.done {
		return nil
	}
	a.done = true
	a.f.Close()
	return a.d.Remove(a.tmp)
}

// WriteFileAtomic replaces name with data atomically and durably: a
// temporary file in the directory is written, fsynced and renamed over
// name, and the directory is fsynced.
func (d *Dir) WriteFileAtomic(name string, data []byte) error {
	a, err := d.CreateAtomic(name)
	if err != nil {
		return err
	}
	defer a.Abort()
	if _, err := a.Write(data); err != nil {
		return fmt.Errorf("datadir: writing %s: %w", name, err)
	}
	return a.Commit()
}
