package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// rdbMagic starts every RDB file. A base file that starts with it goes to
// the base callback; any other base is replayed as commands.
var rdbMagic = []byte("REDIS")

// LoadInfo describes what Load found and did. Pass it to Open.
type LoadInfo struct {
	Fresh        bool      // the directory held no AOF: nothing was replayed
	Manifest     *Manifest // what was replayed (nil when Fresh)
	Commands     int64     // commands replayed, base in AOF format included
	BaseSize     int64     // bytes of the base file
	Size         int64     // bytes of all the files, after any truncation
	LastIncrSize int64     // bytes of the file Open appends to
	Truncated    *Truncation
	Duration     time.Duration
}

// Truncation records a torn tail that Load cut off.
type Truncation struct {
	File    string // full path
	Offset  int64  // the file's new size: where the torn command started
	Removed int64  // bytes removed
}

// Load replays the AOF of fsys: the base file through base (an RDB,
// given as a stream) or, when the base holds commands, through cmd; then
// every command of the incremental files through cmd, in order. The
// argument slices given to cmd are valid only during the call. A
// transaction (MULTI … EXEC) is given to cmd only once its EXEC has been
// read, MULTI and EXEC included.
//
// A torn tail of the last incremental file (a crash in the middle of a
// write: the file ends inside a command or inside a MULTI block, possibly
// followed by zero bytes) is truncated where the torn command started,
// with a warning naming the file and the offset. Any other defect fails
// with a *CorruptError naming the file and the offset and telling the
// user to run `redoubt check-aof --fix`. An error of base or cmd stops
// the load and is returned wrapped with the file and offset.
//
// Load is meant for start-up, before Open; the file layer reads about 10
// million commands a second on one core (BenchmarkLoad), the engine's
// work comes on top.
func Load(fsys FS, log *slog.Logger, base func(r io.Reader) error, cmd func(args [][]byte) error) (*LoadInfo, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t0 := time.Now()
	info := &LoadInfo{}
	m, err := readManifest(fsys)
	if errors.Is(err, errNoManifest) {
		if err := checkNoOrphans(fsys); err != nil {
			return nil, err
		}
		info.Fresh = true
		return info, nil
	}
	if err != nil {
		return nil, fmt.Errorf("aof: %w", err)
	}
	info.Manifest = m
	files := m.names()
	for i, name := range files {
		isBase := m.Base != nil && i == 0
		last := i == len(files)-1
		res, err := loadFile(fsys, name, isBase, last, base, cmd)
		if err != nil {
			return nil, err
		}
		if res.Corrupt != nil {
			return nil, res.Corrupt
		}
		if res.Torn {
			tr, err := truncateTail(fsys, res)
			if err != nil {
				return nil, err
			}
			log.Warn("aof: truncated a torn write at the end of the append-only file",
				"file", tr.File, "offset", tr.Offset, "removed_bytes", tr.Removed)
			info.Truncated = tr
			res.Size = res.Good
		}
		info.Commands += res.Commands
		info.Size += res.Size
		if isBase {
			info.BaseSize = res.Size
		}
		if last {
			info.LastIncrSize = res.Size
		}
	}
	info.Duration = time.Since(t0)
	log.Info("aof: loaded", "dir", fsys.Path(), "files", len(files), "commands", info.Commands,
		"bytes", info.Size, "duration", info.Duration)
	return info, nil
}

// loadFile replays one file. A base in RDB format goes to base whole.
func loadFile(fsys FS, name string, isBase, last bool, base func(io.Reader) error,
	cmd func([][]byte) error) (scanResult, error) {
	full := filepath.Join(fsys.Path(), name)
	if isBase {
		isRDB, size, err := sniffRDB(fsys, name)
		if err != nil {
			return scanResult{}, fmt.Errorf("aof: %s: %w", full, err)
		}
		if isRDB {
			if base == nil {
				return scanResult{}, fmt.Errorf("aof: %s is an RDB snapshot and no RDB loader was given", full)
			}
			f, err := openRead(fsys, name)
			if err != nil {
				return scanResult{}, fmt.Errorf("aof: %w", err)
			}
			defer f.Close()
			if err := base(bufio.NewReaderSize(f, readBufferSize)); err != nil {
				return scanResult{}, fmt.Errorf("aof: loading base %s: %w", full, err)
			}
			return scanResult{Name: name, Size: size, Good: size}, nil
		}
	}
	// Only the file being appended to can end in a torn write; a Redis 6
	// single-file AOF was one too.
	canTear := last && (!isBase || name == LegacyName)
	res, err := scanFile(fsys, name, cmd, canTear)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("aof: %s is named by %s but missing: %w", full, ManifestName, err)
		}
		return res, err
	}
	return res, nil
}

// sniffRDB reports whether name starts with the RDB magic, and its size.
func sniffRDB(fsys FS, name string) (bool, int64, error) {
	f, err := openRead(fsys, name)
	if err != nil {
		return false, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, 0, err
	}
	var b [5]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, 0, err
	}
	return bytes.Equal(b[:n], rdbMagic), fi.Size(), nil
}

// truncateTail cuts res.Name at res.Good, durably.
func truncateTail(fsys FS, res scanResult) (*Truncation, error) {
	full := filepath.Join(fsys.Path(), res.Name)
	f, err := fsys.OpenFile(res.Name, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("aof: truncating torn tail of %s: %w", full, err)
	}
	err = f.Truncate(res.Good)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("aof: truncating torn tail of %s at offset %d: %w", full, res.Good, err)
	}
	return &Truncation{File: full, Offset: res.Good, Removed: res.Size - res.Good}, nil
}

// checkNoOrphans fails when files of an AOF exist without a manifest:
// they may hold data, and guessing their order could lose it.
func checkNoOrphans(fsys FS) error {
	ents, err := fsys.ReadDir()
	if err != nil {
		return fmt.Errorf("aof: %w", err)
	}
	for _, e := range ents {
		if isOurs(e.Name()) && !isTemp(e.Name()) {
			return fmt.Errorf("aof: %s holds %s but no %s; refusing to guess the order of the files: "+
				"restore the manifest, or move the files away to start empty",
				fsys.Path(), e.Name(), ManifestName)
		}
	}
	return nil
}

func isTemp(name string) bool {
	return len(name) > len(tmpSuffix) && name[len(name)-len(tmpSuffix):] == tmpSuffix
}
