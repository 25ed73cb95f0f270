// Package managed runs the redis-server of an instance whose backend is
// "managed": one real redis-server per instance, started, hardened and
// supervised by Redoubt, reachable only by Redoubt.
//
// # Reachable only over a socket in the instance directory
//
// The server listens on no TCP port at all ("port 0"; INFO reports
// tcp_port:0), only on the unix socket redis.sock inside the instance
// directory, created with mode 0700 ("unixsocketperm 700") in a directory
// that Start refuses when group or others may write to it. The server's
// working directory is the instance directory (both cmd.Dir and the "dir"
// directive), and the socket is configured by its relative name, so the
// server binds it there whatever the length of the directory's path:
// redis-server 7.0.15 binds "unixsocket redis.sock" relative to "dir" and
// removes it on a clean shutdown.
//
// Redoubt dials Dir/redis.sock when that path fits in a socket address
// (at most 99 bytes; Linux allows 107). Otherwise Start opens the
// directory with O_PATH|O_DIRECTORY|O_CLOEXEC, keeps the descriptor N
// until Stop, and dials /proc/self/fd/N/redis.sock, which connect(2)
// resolves through the descriptor on Linux (no symlink is created, and a
// rename of the directory does not break it). Such an address is valid
// only inside this process and only until Stop.
//
// A socket left by a crashed server is removed before every start; the
// check uses Lstat, never follows a symlink and refuses anything that is
// not a socket (ErrNotSocket) rather than delete it.
//
// # A password only Redoubt knows
//
// The password is 32 bytes from crypto/rand, hex-encoded, and new at each
// Start (the supervisor's restarts keep it). The whole configuration is
// fed to `redis-server -` on its standard input, so the password is never
// written to disk nor shown in a command line or in the environment (the
// child's environment is PATH alone). Redis echoes a bad configuration
// line in its error, so every line of its output is redacted before it is
// logged or quoted in an error.
//
// # What the backend refuses
//
// From 6.0 the login is one ACL rule: "user default reset on >PASSWORD ~*
// &* +@all" minus the commands that could reach outside the directory,
// change the backend's security, or stop it:
//
//   - CONFIG: "dir" plus "dbfilename" writes a file anywhere; it also
//     undoes every setting here;
//   - DEBUG and MODULE: crashes, memory edits, loading a shared object;
//   - REPLICAOF, SLAVEOF, SYNC, PSYNC, REPLCONF, FAILOVER: replication
//     dials out, replaces the data set, or streams all of it out;
//   - MIGRATE: dials any host from the backend;
//   - MONITOR: shows every client's commands to one of them (Redoubt
//     shares backend connections between clients);
//   - SHUTDOWN: stops the backend (Redoubt stops it with SIGTERM);
//   - ACL: rewrites the password and this rule; CLUSTER: unused here;
//   - CLIENT PAUSE (7.0 and later, where a rule can remove a
//     subcommand): it stops the backend for every client. The other CLIENT
//     subcommands are kept: Redoubt's connections use them, and Redoubt's
//     own policy decides what a client may send.
//
// SAVE, BGSAVE, BGREWRITEAOF, EVAL, FUNCTION and SCRIPT stay allowed at the
// backend: they only write inside the directory, Redoubt's policy refuses
// them on the wire by default, and an operator may enable them.
//
// Redis 7.0 and later also get "enable-protected-configs no",
// "enable-debug-command no" and "enable-module-command no", so even a
// rule mistake cannot reopen those; 6.2 and later get
// "sanitize-dump-payload clients" (RESTORE payloads from clients are
// checked deeply; the server's own files are trusted). Before 6.2 the rule
// has no "&*" (channels had no rules) and FAILOVER did not exist.
//
// Before 6.0 there are no ACLs: "requirepass" and `rename-command X ""`
// for each command above that the release has (CLIENT PAUSE cannot be
// renamed alone and stays). Releases before 5.0 are refused.
//
// Automatic snapshots are off (save ""): the data is persistent when
// AppendOnly is set, and a cache otherwise; an explicit SAVE still writes
// dump.rdb in the directory, which the next start loads.
//
// # Supervision
//
// Start waits until the server answers AUTH and PING (polling, up to
// StartTimeout); if the server exits first, the error holds its last lines
// of output. A supervisor goroutine then waits for the process. When it
// dies without Stop, the supervisor logs a warning with the exit status,
// calls OnState(false, err), and starts it again with the same password
// and socket after a back-off of 100 ms doubling to 5 s (back to 100 ms
// after a run of 30 s or more); OnState(true, nil) follows once the new
// server answers, however long it takes to load its data. Stop sends
// SIGTERM, waits, and sends SIGKILL when its context ends.
//
// The child gets Pdeathsig SIGKILL, so it dies with Redoubt. Pdeathsig is
// tied to the thread that forked the child, not the process, so the
// supervisor goroutine, which forks every child, keeps its thread locked
// (runtime.LockOSThread) for as long as a child may run: the Go runtime
// can never retire that thread under a live child.
//
// The server's standard output and error are forwarded to the logger at
// Info, one record per line with the attribute "redis-server" = its pid.
package managed
