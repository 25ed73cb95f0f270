// Package auth holds Redoubt's password secrets and the throttling around
// them (design rule 6): argon2id hashes in PHC string format with every
// parameter bounded before use, a password policy checked when a password
// is set, a Verifier that keeps AUTH cheap for applications that open many
// connections while running argon2id only in a bounded worker pool, and a
// Lockout that slows and then locks brute-force attempts per address and
// per account.
//
// A typical AUTH goes:
//
//	delay, locked := lockout.Before(addr, user)
//	// wait delay (cancellably); if locked, answer WRONGPASS without verifying
//	ok, err := verifier.Check(ctx, user, hash, pw) // or CheckUnknown for a missing user
//	// err (ErrBusy, ctx): answer an error, record nothing
//	// ok: lockout.Success(addr, user); !ok: events := lockout.Failure(addr, user)
//
// Nothing in this package logs, and no error it returns contains a
// password. Account rules (ACLs) are compiled elsewhere (internal/acl).
package auth
