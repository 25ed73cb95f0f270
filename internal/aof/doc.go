// Package aof is the append-only file of an instance: the log of every
// command that changed data, replayed at start-up.
//
// # Layout
//
// The AOF is multi-part, as in Redis 7, in the instance's data directory
// (every file operation goes through an FS, in production DirFS of the
// instance's *datadir.Dir):
//
//	appendonly.aof.manifest      names the files below; the commit point
//	appendonly.aof.3.base.rdb    the base: a snapshot written by a rewrite
//	                             (or appendonly.aof.3.base.aof: commands)
//	appendonly.aof.5.incr.aof    commands after the base, in RESP
//	appendonly.aof.6.incr.aof    the file appended to (always the last)
//
// The manifest has Redis 7's format, one line a file, base first, then the
// incremental files in replay order:
//
//	file appendonly.aof.3.base.rdb seq 3 type b
//	file appendonly.aof.5.incr.aof seq 5 type i
//	file appendonly.aof.6.incr.aof seq 6 type i
//
// so a Redis 7 appendonlydir copied into a data directory loads (given an
// RDB loader for its base), and a Redis 6 single appendonly.aof found
// without a manifest becomes the base. Incremental files hold each command
// as a RESP array of bulk strings, exactly as Redis writes them; a base
// starting with "REDIS" is an RDB snapshot, which this package treats as
// an opaque blob: it names, creates atomically and removes base files,
// and hands their bytes to the caller's loader.
//
// # Using it (for the engine integration)
//
// Start-up, once per instance:
//
//	dir, err := datadir.Open(path, log)         // locked; see package datadir
//	fsys := aof.DirFS(dir)
//	info, err := aof.Load(fsys, log, loadRDB, replay) // replay into the engine
//	w, err := aof.Open(fsys, info, aof.Options{Log: log, Fsync: aof.FsyncEverySec})
//
// replay gets each command's arguments (valid during the call only) and
// runs it against the engine with no client, as Redis's fake client does;
// a MULTI … EXEC block arrives whole, after its EXEC was read. Load
// returns a *CorruptError for damage it must not repair (print it: it
// names the file and offset and says to run `redoubt check-aof --fix`,
// which calls Check).
//
// Command path, per command that changed data:
//
//   - before running a write command: if e := w.Err(); e != nil, refuse it
//     with e.Reply() ("MISCONF Errors writing to the AOF file: …");
//   - under the engine lock, right after the command changed the data:
//     seq := w.Append(args...) (or AppendRaw of pre-encoded commands),
//     translated as Redis does (relative expiry to PEXPIREAT, SELECT when
//     the database changes, a transaction as one AppendRaw of MULTI … EXEC
//     so no rewrite boundary splits it). Append does no I/O;
//   - after the batch ran, without the engine lock, before writing the
//     replies: err := w.Commit(maxSeqOfTheBatch). With always it returns
//     once the bytes are fsynced (concurrent Commits share one fsync:
//     group commit); with everysec and no once they are written to the OS.
//     If it fails, answer the batch's write commands with the error's
//     Reply instead of their normal reply: they are in memory but not
//     durable.
//
// A write or fsync that fails puts the Writer in the failed state: Err
// returns it, OnError and the log report it, INFO shows
// aof_last_write_status:err, and it is retried every second (Interval):
// the file is truncated to the last position known to be on disk and
// everything since is written again from memory and fsynced, so the
// retry's success proves the data is on disk even where the kernel
// forgot the dirty pages of the failed fsync. Then writes are accepted
// again.
//
// Rewrite (compaction), from a timer polling w.NeedsRewrite() or from
// BGREWRITEAOF:
//
//	engine.Lock()
//	rw, err := w.StartRewrite()   // marks the boundary in the stream; no I/O
//	view := engine.Snapshot()     // the point-in-time view, same critical section
//	engine.Unlock()
//	go func() {
//		err := rw.Finish(aof.BaseRDB, view.WriteRDB) // or rw.Abort()
//	}()
//
// Commands appended after StartRewrite go to a new incremental file (the
// switch happens on the next write); Finish writes the base, then
// replaces the manifest atomically and removes the old files. A crash at
// any step leaves a directory that loads to the same data (the old files
// or the new ones, never a mix). Stats feeds INFO persistence
// (Stats.AppendInfo writes Redis's aof_* lines). Close at shutdown
// writes and fsyncs what is buffered.
//
// # Crash safety of the files
//
// Only the last incremental file can end in a torn write: every other
// file was fsynced before the manifest named its successor. Load
// truncates such a tail (the file ends inside a command, possibly
// followed by zero bytes, or inside a MULTI block) with a warning naming
// the file and offset. Bad bytes anywhere else are refused with the file
// and the offset. RESP has no checksums: a corrupted length that reaches
// past the end of the last file looks like a torn write, as it does to
// Redis.
package aof
