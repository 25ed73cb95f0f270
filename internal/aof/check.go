package aof

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File statuses of a check.
const (
	StatusOK      = "ok"
	StatusTorn    = "torn"    // ends in a torn write: Load truncates it by itself
	StatusCorrupt = "corrupt" // bad bytes: Load refuses
	StatusRDB     = "rdb"     // an RDB base: not checked here
)

// FileReport is the result of checking one file.
type FileReport struct {
	Name      string
	Kind      Kind
	Size      int64
	Commands  int64
	ValidSize int64 // bytes up to the end of the last valid command
	Status    string
	Problem   string // for torn and corrupt files
	Offset    int64  // where the problem starts
	Backup    string // name of the copy made before fixing
	Fixed     bool   // truncated at ValidSize
}

// Report is the result of Check.
type Report struct {
	Dir   string
	Files []FileReport
	OK    bool // every file can be loaded as it is, with no torn tail
}

// String renders the report for the check-aof subcommand.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AOF in %s:\n", r.Dir)
	for _, f := range r.Files {
		fmt.Fprintf(&b, "  %-32s %-7s %12d bytes", f.Name, f.Status, f.Size)
		if f.Status != StatusRDB {
			fmt.Fprintf(&b, " %10d commands", f.Commands)
		}
		if f.Problem != "" {
			fmt.Fprintf(&b, "\n    %s at offset %d; valid up to %d (%d bytes after it)",
				f.Problem, f.Offset, f.ValidSize, f.Size-f.ValidSize)
		}
		if f.Fixed {
			fmt.Fprintf(&b, "\n    fixed: truncated to %d bytes; the original is kept as %s", f.ValidSize, f.Backup)
		}
		b.WriteByte('\n')
	}
	if r.OK {
		b.WriteString("AOF is valid\n")
	}
	return b.String()
}

// Check verifies every file of the AOF of fsys without replaying it (an
// RDB base is only named: its loader checks it). Run it with the data
// directory locked and the instance stopped (the check-aof subcommand
// opens the datadir.Dir, which fails while the instance runs).
//
// With fix, a torn or corrupt last incremental file (the one appended
// to, where a crash or a bad disk write lands) is first copied to
// "<name>.bak" (or "<name>.bak.N", the first free name), fsynced, and
// then truncated at the end of its last valid command: the commands after
// that offset are lost, and the report says how many bytes. Damage in any
// other file is not fixed: the commands of the later files were logged
// against a data set that included the lost ones, so truncating would
// replay them against a different state; Check returns an error saying so
// and the operator restores a backup.
func Check(fsys FS, fix bool) (*Report, error) {
	rep := &Report{Dir: fsys.Path()}
	m, err := readManifest(fsys)
	if errors.Is(err, errNoManifest) {
		rep.OK = true
		return rep, checkNoOrphans(fsys)
	}
	if err != nil {
		return rep, fmt.Errorf("aof: %w", err)
	}
	files := m.names()
	rep.OK = true
	for i, name := range files {
		isBase := m.Base != nil && i == 0
		last := i == len(files)-1
		fr := FileReport{Name: name, Kind: KindIncr, Status: StatusOK}
		if isBase {
			fr.Kind = KindBase
			isRDB, size, err := sniffRDB(fsys, name)
			if err != nil {
				return rep, fmt.Errorf("aof: %s: %w", filepath.Join(fsys.Path(), name), err)
			}
			if isRDB {
				fr.Status, fr.Size, fr.ValidSize = StatusRDB, size, size
				rep.Files = append(rep.Files, fr)
				continue
			}
		}
		res, err := scanFile(fsys, name, nil, last && (!isBase || name == LegacyName))
		if err != nil {
			return rep, err
		}
		fr.Size, fr.Commands, fr.ValidSize = res.Size, res.Commands, res.Good
		switch {
		case res.Corrupt != nil:
			fr.Status, fr.Problem, fr.Offset = StatusCorrupt, res.Corrupt.Reason, res.Corrupt.Offset
		case res.Torn:
			fr.Status, fr.Problem, fr.Offset = StatusTorn, "torn write (incomplete last command)", res.Good
		}
		if fr.Status != StatusOK {
			rep.OK = false
		}
		rep.Files = append(rep.Files, fr)
	}
	if !fix || rep.OK {
		return rep, nil
	}
	for i := range rep.Files {
		fr := &rep.Files[i]
		if fr.Status != StatusCorrupt && fr.Status != StatusTorn {
			continue
		}
		if i != len(rep.Files)-1 {
			return rep, fmt.Errorf("aof: %s is damaged at offset %d and is not the last file of the AOF: "+
				"it cannot be fixed without breaking the files after it; restore it from a backup",
				filepath.Join(fsys.Path(), fr.Name), fr.Offset)
		}
		if err := fixFile(fsys, fr); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// fixFile backs fr up and truncates it at its last valid command.
func fixFile(fsys FS, fr *FileReport) error {
	full := filepath.Join(fsys.Path(), fr.Name)
	backup, err := backupFile(fsys, fr.Name)
	if err != nil {
		return fmt.Errorf("aof: backing up %s: %w", full, err)
	}
	fr.Backup = backup
	f, err := fsys.OpenFile(fr.Name, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("aof: fixing %s: %w", full, err)
	}
	err = f.Truncate(fr.ValidSize)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("aof: truncating %s at offset %d: %w", full, fr.ValidSize, err)
	}
	fr.Fixed = true
	return nil
}

// backupFile copies name to the first free of name.bak, name.bak.1, …
// and makes the copy durable.
func backupFile(fsys FS, name string) (string, error) {
	src, err := openRead(fsys, name)
	if err != nil {
		return "", err
	}
	defer src.Close()
	for i := 0; i < 1000; i++ {
		bak := name + ".bak"
		if i > 0 {
			bak += "." + strconv.Itoa(i)
		}
		dst, err := fsys.OpenFile(bak, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(dst, src)
		if err == nil {
			err = dst.Sync()
		}
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = fsys.SyncDir()
		}
		if err != nil {
			_ = fsys.Remove(bak)
			return "", err
		}
		return bak, nil
	}
	return "", errors.New("no free backup name")
}
