// Package eventlog writes security events to a tamper-evident file: JSON
// lines, hash-chained, rotated by size, with retention, written by one
// goroutine so that recording an event never waits for the disk.
//
// # Files
//
// The events of an instance live in one directory (by convention
// <data dir>/events, created 0700) as files named events-NNNNNNNN.jsonl
// (FileName; at least eight digits), numbered from 1, one more for each
// new file; only the newest is written. A file is created with
// O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, and the directory fsynced, so a
// name is never reused and a file is never renamed. Files are opened
// without following symlinks, only regular files are read, and a file
// with a second hard link is never written. Other names in the
// directory are ignored.
//
// A server gives the Log the directory as an FS (Options.FS: a
// datadir.Dir from Sub, holding a descriptor of <data>/events): every
// create, open, removal, listing and fsync is relative to it, so a data
// directory swapped for a symlink while the instance runs cannot lead the
// events elsewhere. Without FS the Log works by path (tests, tools), and
// Verify, Walk and Query, which only read, always do.
//
// # Lines and the chain
//
// Each line is one Entry, encoded by encoding/json with its fields in this
// order (empty addr, account, detail and fields left out):
//
//	{"seq":7,"time":"2026-01-02T03:04:05.123456789Z","type":"auth_failed","instance":"default",
//	 "addr":"10.0.0.5:51234","account":"app","prev":"<64 hex>","hash":"<64 hex>"}
//
// hash is the lowercase hex SHA-256 of the line's bytes from the opening
// brace up to, not including, the `,"hash":` that ends it; those bytes
// end with prev, the hash of the entry before (ZeroHash for seq 1). So
// the hash covers every field and the link to the previous entry, and it
// is checked against the bytes as written, never against a re-encoding.
// seq starts at 1 and grows by exactly 1 from entry to entry, across
// files: the first entry of a file follows the last of the one before.
// A line is at most MaxLine bytes; Append cuts long strings so that every
// line fits, and gives an entry without a type the type "unknown"
// (TypeUnknown), so the Log never writes a line Verify rejects.
//
// Verify reads the files in order and names the first line that breaks
// this: a line that does not match its hash (Edited), one that is not an
// entry (BadLine), a jump of seq (Removed: lines, a middle file, or the
// end of a file), a step back or a swap (Reordered), a prev that is not
// the hash before (ChainBroken), a file that ends inside a line (Torn).
//
// # Retention
//
// When a file reaches MaxFileSize the next entry starts a new one. Closed
// files beyond MaxFiles, or last written more than MaxAge ago, are
// removed oldest first, never one in the middle. Before removing a file
// the Log writes and fsyncs an events_pruned entry with the file's name
// and the last_seq and last_hash of the file's own last sound entry (none
// if it held none). Verify accepts a log that does not start at seq 1
// only if such an entry, itself in the chain, accounts for the start: the
// first entry left must follow last_seq and last_hash. Removing the oldest
// file by hand is reported as Removed, and so is a file removed in the
// middle once retention reaches it.
//
// Retention never makes damage disappear. When the log up to the end of
// the file it removes is not sound (its start not accounted for, damage in
// the file itself, a torn last line no events_recovered entry names), the
// events_pruned entry says so (damage, damage_detail) and every later one
// carries it on; Verify reports the start of a log accounted for by such
// an entry as damaged, with the damage as recorded. A damaged or torn
// file in the way does not stop retention.
//
// # Crashes and damage
//
// Open never refuses to start. It continues the chain from the last sound
// entry. When the files from the one holding it on are clean (every line
// sound, ending in a newline; an empty file, left by a crash right after
// it was created, is clean), the newest is appended to. Each damaged one
// (a torn last line after a crash, an edited line, not a regular file) is
// left untouched, and the next file starts with one events_recovered
// entry for each, oldest first, naming the file and the offset where its
// damage starts: a crash while the Log writes those entries leaves one
// more torn file, named in turn at the next start. Verify accepts a file
// torn at exactly the offset an events_recovered entry names, among those
// that follow it before any other entry (one entry excuses one file), and
// still reports any other damage.
//
// # Writing
//
// Append puts the entry on a queue of QueueSize and returns; when the
// queue is full the entry is dropped and counted. The writer takes
// entries in batches, writes each batch with one write(2), fsyncs every
// SyncEvery while there are unsynced writes, and rotates and prunes. A
// failed write, fsync or open sets Failing, is counted in Stats and logged
// once (not once per entry); the lines of the failed write count as lost and
// a partial line is cut off at the next attempt (when even that fails, the
// file is left as after a crash: see above). While failing, entries
// are dropped and counted, and every SyncEvery the writer tries again;
// when it succeeds, as when space is freed on a full disk, its first
// entry is an events_dropped entry with the number of entries lost, so
// every gap is itself recorded in the chain. A failed fsync may lose
// lines the kernel had accepted; that loss is not counted.
//
// # What the chain proves, and what not
//
// The chain has no secret key. It shows that the files were changed after
// being written by anyone who did not recompute every hash from the
// change to the end: an edit, a removed or reordered line, a removed file
// anywhere but at the end. It cannot show that the newest entries (or
// newest files) were cut off, or that someone with write access rewrote
// the chain from some entry on. For those, compare the Head and LastSeq
// Verify reports with the head the server reports (Stats.Head, INFO) or a
// copy kept elsewhere: VerifyHead and `redoubt events verify --head HASH`
// do so. Entries after that head prove nothing either: VerifyHead accepts
// the start of the log only from an events_pruned entry at or before it
// (else the start is Unconfirmed: verify with a newer head).
//
// # Closing
//
// Close writes what is queued and waits for the disk. CloseContext gives
// up waiting when its context ends (a disk that stopped answering must not
// hold a shutdown); the writer then finishes in the background and its
// goroutine ends when the disk answers. The Log closes its FS when the
// writer ends.
//
// # Secrets
//
// The Log writes exactly what it is given and nothing else: callers must
// never pass a password, a token or an AUTH argument in any field.
package eventlog
