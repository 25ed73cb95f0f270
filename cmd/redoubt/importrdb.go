package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"time"

	"redoubt/internal/aof"
	"redoubt/internal/config"
	"redoubt/internal/datadir"
	"redoubt/internal/rdb"
)

// importStats counts what an RDB file holds, as the instance will load it.
type importStats struct {
	Keys, Expiring, Expired int64
	DBs                     map[int]int64
}

// rdbValidator checks each key of a dump the way the instance's loader
// (engine.LoadEntry) will take it, so an import that succeeds also starts.
type rdbValidator struct {
	databases int
	now       int64 // unix ms; keys expired by then are counted, not loaded
	st        importStats
}

func (v *rdbValidator) Entry(e *rdb.Entry) error {
	if e.DB < 0 || e.DB >= v.databases {
		return fmt.Errorf("key %q is in database %d, but the instance has %d databases (--databases)", e.Key, e.DB, v.databases)
	}
	if z, ok := e.Value.(rdb.ZSet); ok {
		for _, m := range z {
			if math.IsNaN(m.Score) {
				return fmt.Errorf("key %q: sorted set member %q has a NaN score", e.Key, m.Member)
			}
		}
	}
	if e.Expires && e.ExpireAt <= v.now {
		v.st.Expired++
		return nil
	}
	v.st.Keys++
	v.st.DBs[e.DB]++
	if e.Expires {
		v.st.Expiring++
	}
	return nil
}

// validateRDB reads a whole RDB file through v; r is read to the file's
// end-of-file record and checksum.
func validateRDB(r io.Reader, v *rdbValidator) error {
	v.st = importStats{DBs: map[int]int64{}}
	return rdb.Read(r, v)
}

// rdbVersion reads the version from an RDB header ("REDIS0011"), or 0.
func rdbVersion(f *os.File) int {
	var b [9]byte
	if _, err := f.ReadAt(b[:], 0); err != nil || string(b[:5]) != "REDIS" {
		return 0
	}
	n, _ := strconv.Atoi(string(b[5:]))
	return n
}

// importRDB is `redoubt import-rdb [--force] [--databases N] --data DIR
// FILE.rdb`: it makes a Redis dump the starting data of an instance, as
// the base of a new append-only file in its data directory.
//
// The file is read whole first (every key, the checksum; a type Redoubt
// does not hold, such as a stream, fails naming the type, the key and
// the offset) before anything in the directory changes. The directory is
// locked (so the instance must be stopped), and the dump becomes the base
// through a rewrite of the AOF: the bytes are validated again as they are
// copied (the file may have changed since), written to a temporary file,
// fsynced and renamed, and the manifest naming it replaces the old one
// atomically. A crash leaves the old AOF or the new one.
func importRDB(args []string, stdout, stderr io.Writer) int {
	set := flag.NewFlagSet("redoubt import-rdb", flag.ContinueOnError)
	set.SetOutput(stderr)
	force := set.Bool("force", false, "replace the data the directory already holds")
	dbs := set.Int("databases", 0, "databases of the instance; a key in a higher one is refused (default 16, or the instance's)")
	tf := addTargetFlags(set)
	set.Usage = func() {
		fmt.Fprintln(stderr, "Usage: redoubt import-rdb [--force] [--databases N] --data DIR FILE.rdb\n"+
			"       redoubt import-rdb [--force] --config FILE [--instance NAME] FILE.rdb")
		fmt.Fprintln(stderr, "\nMakes a Redis dump.rdb (RDB 9–11) the starting data of a stopped instance.")
		set.PrintDefaults()
	}
	// Flags may come after the file name too.
	var files []string
	for rest := args; ; {
		if err := set.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if set.NArg() == 0 {
			break
		}
		files = append(files, set.Arg(0))
		rest = set.Args()[1:]
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "redoubt import-rdb: "+format+"\n", a...)
		return code
	}
	if len(files) != 1 {
		return fail(exitUsage, "give exactly one RDB file (got %d)", len(files))
	}
	tgt, err := tf.resolve()
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if *dbs != 0 {
		if *dbs < 1 || *dbs > config.MaxDatabases {
			return fail(exitUsage, "--databases must be from 1 to %d", config.MaxDatabases)
		}
		tgt.Databases = *dbs
	}
	if !tgt.AppendOnly {
		return fail(exitFailed, "the instance has appendonly: false: it would not load the imported data")
	}

	path := files[0]
	f, err := os.Open(path)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fail(exitFailed, "%s is not a regular file", path)
	}
	t0 := time.Now()
	v := &rdbValidator{databases: tgt.Databases, now: time.Now().UnixMilli()}
	if err := validateRDB(bufio.NewReaderSize(f, 1<<20), v); err != nil {
		return fail(exitFailed, "%s cannot be imported: %v", path, err)
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := datadir.Open(tgt.Data, log)
	if err != nil {
		if errors.Is(err, datadir.ErrInUse) {
			return fail(exitFailed, "%v: stop the instance first", err)
		}
		return fail(exitFailed, "%v", err)
	}
	defer dir.Close()
	fsys := aof.DirFS(dir)
	info, err := aof.Load(fsys, log, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}, func([][]byte) error { return nil })
	if err != nil {
		return fail(exitFailed, "the append-only file already in %s cannot be read (%v); move its files away first", dir.Path(), err)
	}
	if !info.Fresh && (info.Manifest.Base != nil || info.Size > 0) && !*force {
		return fail(exitFailed, "%s already holds an append-only file (%d bytes); --force replaces it", dir.Path(), info.Size)
	}
	w, err := aof.Open(fsys, info, aof.Options{Log: log, Fsync: aof.FsyncAlways, RewritePercent: -1})
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	rw, err := w.StartRewrite()
	if err != nil {
		w.Close()
		return fail(exitFailed, "%v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		rw.Abort()
		w.Close()
		return fail(exitFailed, "%v", err)
	}
	// The base is exactly the bytes validated on the way: the file may
	// have changed since the first pass.
	again := &rdbValidator{databases: tgt.Databases, now: v.now}
	err = rw.Finish(aof.BaseRDB, func(out io.Writer) error {
		if err := validateRDB(io.TeeReader(bufio.NewReaderSize(f, 1<<20), out), again); err != nil {
			return fmt.Errorf("%s changed while it was imported: %w", path, err)
		}
		return nil
	})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	st := again.st
	fmt.Fprintf(stdout, "imported %s (RDB version %d) into %s in %v: %d keys (%d with a TTL) in %d databases",
		path, rdbVersion(f), dir.Path(), time.Since(t0).Round(time.Millisecond), st.Keys, st.Expiring, len(st.DBs))
	if st.Expired > 0 {
		fmt.Fprintf(stdout, "; %d keys already expired are not loaded", st.Expired)
	}
	fmt.Fprintln(stdout)
	if !tgt.FromConfig {
		fmt.Fprintf(stdout, "start the instance with its data directory set to %s and appendonly on (the default)\n", dir.Path())
	}
	return exitOK
}
