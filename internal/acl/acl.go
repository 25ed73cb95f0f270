// Package acl compiles Redis 7 ACL rules into fast per-user lookups.
//
// The rule strings are the ones Redis 7.0 accepts in ACL SETUSER and in
// redis.conf "user" lines, with the same meaning: a user compiled here
// allows exactly the commands, keys and channels the same rules allow in a
// redis-server 7.0 (the oracle test checks this against a real server with
// ACL DRYRUN). Passwords are the exception: Redoubt stores only argon2id
// hashes, so the plain-text and SHA-256 password rules are refused.
//
// Compile builds a User; User.Check decides one command line; Describe
// renders the rules back without secrets; Log is the ACL LOG.
package acl

import (
	"errors"
	"fmt"
	"strings"

	"redoubt/internal/command"
)

// Reason says why a command was denied. The values follow Redis's ACL_DENIED_*
// codes, whose order decides which denial is reported when every selector
// of a user refuses a command.
type Reason uint8

// Denial reasons. The zero Reason means allowed.
const (
	ReasonNone    Reason = iota // allowed
	ReasonCommand               // the command (or subcommand) is not allowed
	ReasonKey                   // a key does not match the key patterns
	ReasonAuth                  // a failed AUTH (ACL LOG only; Check never returns it)
	ReasonChannel               // a Pub/Sub channel does not match the channel patterns
)

// String returns the name ACL LOG uses for r: "command", "key", "auth",
// "channel", or "" for ReasonNone.
func (r Reason) String() string {
	switch r {
	case ReasonCommand:
		return "command"
	case ReasonKey:
		return "key"
	case ReasonAuth:
		return "auth"
	case ReasonChannel:
		return "channel"
	}
	return ""
}

// Denial is the verdict of User.Check. The zero value means allowed.
type Denial struct {
	Reason Reason
	// Pos is the index in args of the key or channel that was refused
	// (0 for ReasonCommand).
	Pos int
	// Object is what ACL LOG records: the full command name ("config|get")
	// for ReasonCommand, the key or channel for the others.
	Object string
}

// Allowed reports whether d is the zero Denial.
func (d Denial) Allowed() bool { return d.Reason == ReasonNone }

// ErrUsername is returned by Compile for a user name that is empty or holds
// white space or NUL bytes (Redis refuses the latter two as well).
var ErrUsername = errors.New("acl: usernames can't be empty or contain spaces or null characters")

// RuleError reports a rule that cannot be applied. Index is the position of
// the offending rule in the list given to Compile or SplitRules (for a
// selector spread over several rules, the position of its first part; -1
// when SplitRules finds unbalanced quotes in the whole string); Rule
// is the rule as Redis reports it (a spread selector joined with spaces);
// Msg is Redis's wording where Redis has one.
type RuleError struct {
	Index int
	Rule  string
	Msg   string

	paren bool // an unmatched parenthesis: Redis words the reply differently
}

// Error names the rule and its index.
func (e *RuleError) Error() string {
	return fmt.Sprintf("acl: rule %d %q: %s", e.Index, e.Rule, e.Msg)
}

// Reply is the error reply Redis 7.0 gives to ACL SETUSER for this rule,
// without the leading '-': the rule as C's "%s" prints it (up to a NUL
// byte), with CR and LF turned into spaces as Redis's addReplyErrorFormat
// does.
func (e *RuleError) Reply() string {
	var s string
	if e.paren {
		s = "ERR Unmatched parenthesis in acl selector starting at '" + cutString(e.Rule) + "'."
	} else {
		s = "ERR Error in ACL SETUSER modifier '" + cutString(e.Rule) + "': " + e.Msg
	}
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

func cutString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// Redis's messages for rules it refuses (ACLSetUserStringError).
const (
	msgSyntax       = "Syntax error"
	msgUnknown      = "Unknown command or category name in ACL"
	msgKeyAfterAll  = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
	msgChanAfterAll = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
	msgNoSuchPass   = "The password you are trying to remove from the user does not exist"
	msgFirstArgSub  = "Allowing first-arg of a subcommand is not supported"
	msgUnmatched    = "Unmatched parenthesis in acl selector"

	// Redoubt's own refusals of password rules.
	msgPlain = "plain-text passwords are not accepted: Redoubt stores only argon2id hashes; " +
		"hash the password with `redoubt passwd` and give the result as #<hash>"
	msgSHA256 = "SHA-256 password hashes are not accepted: an unsalted fast hash is cheap to brute-force, " +
		"and Redoubt stores only argon2id hashes; hash the password with `redoubt passwd`"
	msgBadHash = "the password hash must be an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash); " +
		"make one with `redoubt passwd`"
	// A NUL byte makes a rule a syntax error (Redis reads most rules as
	// C strings, so "on\x00junk" is "on" to it).
	msgNUL = msgSyntax
)

// User is one account's compiled rules. A User is read-only after Compile
// and safe for concurrent use.
type User struct {
	Name    string
	Enabled bool // "on": the user may authenticate
	NoPass  bool // "nopass": any password authenticates
	// Hashes are the argon2id PHC strings of the user's passwords, as given
	// by #<hash> rules, in order.
	Hashes []string
	// Passwords are plain-text passwords from >pass rules; only
	// CompileOptions.AllowPlain (tests) ever fills it.
	Passwords []string

	sanitize sanitizeFlag
	tab      *command.Table
	// sels[0] is the root selector (the rules outside parentheses); the
	// others are the selectors "(…)" in the order they were added.
	sels []*selector
}

// sanitizeFlag records the sanitize-payload rules, which Redis accepts and
// shows in ACL LIST; Redoubt has no RESTORE payload sanitising to switch.
type sanitizeFlag uint8

const (
	sanitizeUnset sanitizeFlag = iota
	sanitizeOn
	sanitizeSkip
)
