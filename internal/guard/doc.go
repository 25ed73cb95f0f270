// Package guard holds the rules of Redoubt's network gate, apart from
// any network code: the server asks, guard answers.
//
// At accept, before a single byte of the connection is read, the server
// checks in this order, and closes the connection at the first refusal:
//
//  1. the ban list (Bans.Banned): addresses that repeated cross-protocol
//     attempts are refused for a while;
//  2. the allowlist (Allowlist.Allows): only the networks of the
//     instance's groups may connect; the default group admits 127.0.0.1
//     and ::1;
//  3. the instance's maximum of clients (the server's own count);
//  4. the per-address limit (AddrCounter.Acquire, with Release when the
//     connection ends).
//
// Unix-socket peers skip the checks by address: they have none. Bans and
// the per-address limit key IPv6 peers by /64, so an attacker cannot
// escape either by picking a new address in its own network.
//
// In the stream, before anything of the connection runs, the
// cross-protocol detector looks at every inline line (DetectLine) and at
// the name of every RESP command (DetectCommandName). A browser tricked
// into posting to the Redis port sends an HTTP request whose body can
// hold Redis commands; every HTTP request line, header line and status
// line is caught, not only Redis's "POST" and "Host:". The server then
// closes the connection, records an event every time, logs through a
// LogLimiter (at most once per interval per key), and calls
// Bans.Attempt, which bans an address that repeats. Loopback and unix
// peers are never banned (Class.Local): a victim's browser shares
// loopback with the local applications. Strict RESP, which refuses every
// inline command from peers that are not local, runs after the detector.
//
// Listen addresses are classified by ClassifyListen so that start-up can
// refuse a public address the instance did not declare.
package guard
