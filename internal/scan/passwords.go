package scan

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"redoubt/internal/auth"
	"redoubt/internal/config"
)

// Bounds of the password guesses. The configuration holds argon2id
// hashes only, and each guess costs one full derivation (about 25 ms of
// one core and 19 MiB with the default parameters), so the scanner tries
// at most maxGuesses passwords per hash: the account's name, then the
// most common passwords. A hash whose parameters cost more than the
// default's gets proportionally fewer guesses, at least one, so that no
// hash costs more than guessBudget; the verdicts are remembered between
// scans.
const (
	maxGuesses = 20
	// guessBudget is maxGuesses derivations at the default parameters,
	// in KiB × passes.
	guessBudget = maxGuesses * 19 * 1024 * 2
	// minBackendPassword is the shortest backend password not reported:
	// the length `redoubt passwd` asks of Redoubt's own.
	minBackendPassword = 12
)

// commonPasswords are the passwords tried after the account's name, the
// likeliest first: the top of the breach lists, and Redis's own
// examples ("foobared" is redis.conf's requirepass example).
func commonPasswords() []string {
	return []string{
		"123456", "password", "123456789", "12345678", "12345", "qwerty",
		"111111", "1234567890", "admin", "redis", "foobared", "changeme",
		"letmein", "secret", "root", "default", "passw0rd", "Password1", "abc123",
	}
}

// guesses returns the candidates for an account: its name, then the
// common passwords, without repeats, at most n.
func guesses(account string, n int) []string {
	out := make([]string, 0, maxGuesses)
	if account != "" {
		out = append(out, account)
	}
	for _, p := range commonPasswords() {
		if p != account {
			out = append(out, p)
		}
	}
	return out[:min(len(out), n, maxGuesses)]
}

// guessCount is how many guesses a hash gets for its cost.
func guessCount(p auth.Params) int {
	cost := uint64(p.Memory) * uint64(p.Time)
	if cost == 0 {
		return maxGuesses
	}
	return int(max(1, min(maxGuesses, guessBudget/cost)))
}

// weakPasswords guesses the password of every enabled account of every
// instance. An account whose password is guessed is a finding; the
// evidence says which kind of guess matched, never the password.
func (s *Scanner) weakPasswords(ctx context.Context, instances []config.Instance) []Finding {
	seen := map[string]bool{}
	var out []Finding
	for _, inst := range instances {
		class := exposure(inst)
		for _, a := range inst.Accounts {
			if a.User == nil || !a.User.Enabled || a.User.NoPass {
				continue
			}
			for i, h := range a.Hashes {
				key := inst.Name + "\x00" + a.Name + "\x00" + h.String()
				seen[key] = true
				why, ok := s.verdict(ctx, key, a.Name, h)
				if !ok || why == "" {
					continue
				}
				which := "its password"
				if len(a.Hashes) > 1 {
					which = fmt.Sprintf("password %d of %d", i+1, len(a.Hashes))
				}
				out = append(out, Finding{
					ID: RuleWeakPassword, Severity: bySeverity(class, Critical, High, Medium), Instance: inst.Name,
					Title:    fmt.Sprintf("account %q has a password that is easy to guess", a.Name),
					Evidence: fmt.Sprintf("%s (password_hash, line %d) is %s; %s", which, a.Line, why, reach(class)),
					Remedy:   "set a new password with `redoubt passwd` (12 characters or more, not a common word) and replace the password_hash",
				})
			}
		}
	}
	s.mu.Lock()
	if ctx.Err() == nil { // an interrupted scan did not see every key
		for k := range s.verdicts {
			if !seen[k] {
				delete(s.verdicts, k)
			}
		}
	}
	s.mu.Unlock()
	return out
}

// verdict returns why the password of h is weak ("" when no guess
// matched), from the remembered verdicts or by guessing. It reports
// false when ctx ended before every guess was tried.
func (s *Scanner) verdict(ctx context.Context, key, account string, h *auth.Hash) (string, bool) {
	return s.verdictWith(ctx, key, account, h.Params, h.Verify)
}

// verdictWith is verdict with the hash's cost and its check apart.
func (s *Scanner) verdictWith(ctx context.Context, key, account string, p auth.Params, verify func([]byte) bool) (string, bool) {
	s.mu.Lock()
	why, ok := s.verdicts[key]
	s.mu.Unlock()
	if ok {
		return why, true
	}
	for i, g := range guesses(account, guessCount(p)) {
		if ctx.Err() != nil {
			return "", false
		}
		if verify([]byte(g)) {
			why = "one of the most common passwords"
			if i == 0 && g == account {
				why = "the account's own name"
			}
			break
		}
	}
	s.mu.Lock()
	s.verdicts[key] = why
	s.mu.Unlock()
	return why, true
}

// backendPasswordRule judges the password Redoubt uses to log in to a
// redis or cluster backend, which the configuration holds in clear: a
// common one or the user name is high, a short one medium. No password
// at all is the probe's business (backend-no-password).
func backendPasswordRule(inst config.Instance) []Finding {
	b := inst.Backend
	if b.Kind != config.BackendRedis && b.Kind != config.BackendCluster || b.Target.Password == "" {
		return nil
	}
	pw, user := b.Target.Password, b.Target.Username
	f := Finding{ID: RuleBackendWeakPassword, Instance: inst.Name, Node: b.Target.String(),
		Title:  "the backend's password is weak",
		Remedy: "set a long random password on the backend (openssl rand -hex 32) and in the backend's password_file"}
	common := strings.EqualFold(pw, user) || strings.EqualFold(pw, "default")
	for _, c := range commonPasswords() {
		common = common || strings.EqualFold(pw, c)
	}
	switch {
	case common:
		f.Severity = High
		f.Evidence = "the password Redoubt logs in to the backend with is its user name or one of the most common passwords"
	case utf8.RuneCountInString(pw) < minBackendPassword:
		f.Severity = Medium
		f.Evidence = fmt.Sprintf("the password Redoubt logs in to the backend with is shorter than %d characters", minBackendPassword)
	default:
		return nil
	}
	return []Finding{f}
}
