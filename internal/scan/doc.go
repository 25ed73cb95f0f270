// Package scan is Redoubt's security scanner: it reads a configuration
// and probes the backends it names, and reports each risk it finds as a
// Finding with a stable rule id, a severity, the instance (and backend
// node) concerned, the evidence and the remedy. The server runs it at
// start-up, on a schedule and on demand; `redoubt scan` runs it before
// Redoubt is put in front of a Redis.
//
// # Rules from the configuration
//
//   - no-password: an instance with no accounts, or an enabled nopass
//     account. Critical when it listens on a public address, high on a
//     private or link-local one, low on loopback and unix sockets only.
//   - weak-password: an enabled account whose password is its own name
//     or one of the 19 most common passwords (commonPasswords). The
//     configuration holds argon2id hashes only, so each guess is a full
//     derivation: at most 20 guesses per hash, fewer for hashes dearer
//     than the default parameters, at least one; a Scanner remembers
//     each verdict, so a scheduled scan repeats none. Critical, high or
//     medium by exposure.
//   - allowlist-open: an allowlist group admits 0.0.0.0/0 or ::/0 (or
//     the groups together admit a whole family). High, medium or low by
//     exposure.
//   - public-no-tls: a public (or unclassifiable) address among the
//     plain-text listen addresses. High. The configuration's own checks
//     refuse this; the rule guards a configuration made another way.
//   - admin-plaintext: the admin listener on a non-loopback address
//     without admin.tls. High when public, medium otherwise.
//   - data-dir-writable: the data directory is writable by others (high)
//     or by its group (medium), or a directory above it is, without the
//     sticky bit (same severities: whoever may write there can swap the
//     data directory). A directory that does not exist yet is fine.
//   - backend-weak-password: the password Redoubt logs in to a redis or
//     cluster backend with (known in clear) is the user name or a common
//     password (high) or shorter than 12 characters (medium).
//
// # Rules from probing a backend
//
// Each node of a redis, managed or cluster backend (the seeds, then every
// node CLUSTER NODES names, at most 128) gets two connections within
// Options.Timeout: one without credentials that sends PING, and one
// logged in as Redoubt is that sends only commands that read (see
// probeCommands): INFO server; CONFIG GET of protected-mode, bind,
// enable-module-command and enable-protected-configs; DEBUG HELP; MODULE
// LIST; ACL DRYRUN for CONFIG SET and for MODULE LOAD (a question:
// nothing runs) and, on a cluster seed, CLUSTER NODES. Nothing that
// changes the backend is ever sent. The nodes are probed eight at a
// time; a scan is bounded by the timeout per node and its context.
//
//   - backend-unreachable (high): neither connection got a reply.
//   - backend-login-failed (high): the backend refuses Redoubt's
//     credentials, or needs some and the configuration has none.
//   - backend-no-password: PING without credentials is answered PONG, or
//     refused by protected mode only (DENIED). Critical when the node is
//     also reachable from the network (backend-reachable), else high.
//   - backend-old-version (high): redis_version older than 3.2.7, which
//     lets a web page talk to Redis through a browser (CVE-2016-10517).
//   - backend-protected-mode-off (medium): CONFIG GET protected-mode says
//     no.
//   - backend-config-enabled: ACL DRYRUN says Redoubt's account may run
//     CONFIG SET, or CONFIG GET answers and DRYRUN cannot tell (before
//     Redis 7, or ACL refused). High, or medium when Redis 7's
//     enable-protected-configs still keeps dir and dbfilename from being
//     changed. backend-config-readable (medium): CONFIG GET answers
//     though DRYRUN says CONFIG SET is denied (CONFIG GET shows
//     requirepass and masterauth).
//   - backend-debug-enabled (high): DEBUG HELP answers (Redis 7 gates
//     the whole of DEBUG with enable-debug-command, so this is exact;
//     "local" counts, the scanner and Redoubt dialing from loopback).
//   - backend-module-enabled (high): MODULE LIST answers, DRYRUN does not
//     deny MODULE LOAD, and enable-module-command is yes, or local for a
//     node Redoubt reaches on loopback, or absent (before Redis 7, where
//     nothing gates MODULE LOAD). Redis 7 answers MODULE LIST even with
//     MODULE LOAD disabled, hence the CONFIG GET.
//   - backend-reachable (medium): Redoubt dials the node at an address
//     that is not loopback or a unix socket, or the node listens on
//     every interface or a non-loopback address (CONFIG GET bind; a node
//     with INFO tcp_port 0 has no TCP listener).
//   - backend-unverified (info): what could not be checked and why, for
//     instance CONFIG refused to a restricted account: evidence, not a
//     risk.
//
// A managed backend is probed fully only through Options.Managed, the
// running server's target, since its password is made at each start;
// otherwise its socket, if any, only gets the PING without credentials.
//
// No finding ever holds a password, token or hash: evidence names
// settings, versions, addresses and error replies, and says which kind
// of guess matched a password, never the password.
package scan
