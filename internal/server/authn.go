package server

import (
	"bytes"
	"context"
	"errors"
	"time"

	"redoubt/internal/acl"
	"redoubt/internal/auth"
	"redoubt/internal/command"
	"redoubt/internal/monitor"
	"redoubt/internal/resp"
	"redoubt/internal/totp"
)

// Authentication and command policy on the data path: who the connection
// is, and whether it may run a command.

const (
	noAuthReply    = "NOAUTH Authentication required."
	wrongPassReply = "WRONGPASS invalid username-password pair or user is disabled."
	busyAuthReply  = "ERR too many authentications in progress, try again later"
	stepUpReply    = "NOPERM this command needs step-up authentication (REDOUBT STEPUP <code>)"
)

// permit checks a resolved command against the connection's account and
// the instance's disabled commands, answering the refusal itself.
func (c *conn) permit(spec *command.Spec, args [][]byte) bool {
	if p := c.s.pol.Load(); p != c.pol {
		if !c.repolicy(p) {
			return false
		}
	}
	if c.acct == nil {
		if spec.Has(command.FlagNoAuth) || spec.Name == "quit" {
			return true
		}
		c.refuse(spec, noAuthReply)
		return false
	}
	if c.pol.disabled[spec.ID] {
		c.s.commandsRefused.Add(1)
		c.s.event(monitor.CommandRefused, c.raddr, c.acct.name, spec.Name+": disabled")
		c.refuse(spec, disabledError(spec))
		return false
	}
	if c.acct.open || spec.Has(command.FlagNoAuth) || selfService(spec) {
		return true
	}
	if d := c.acct.User.Check(spec, args); !d.Allowed() {
		c.s.commandsRefused.Add(1)
		c.s.aclLog.AddDenial(d, acl.ContextTopLevel, c.acct.name, c.info())
		c.s.event(monitor.CommandRefused, c.raddr, c.acct.name, spec.Name+": "+d.Reason.String())
		c.refuse(spec, d.Error(spec, args))
		return false
	}
	if c.acct.stepup[spec.ID] && !c.s.now().Before(c.stepUpUntil) {
		c.s.commandsRefused.Add(1)
		c.s.event(monitor.CommandRefused, c.raddr, c.acct.name, spec.Name+": step-up needed")
		c.refuse(spec, stepUpReply)
		return false
	}
	return true
}

// refuse answers a command the policy refused. A refused EXEC ends the
// transaction, as Redis's rejectCommand does: "EXECABORT Transaction
// discarded because of: …", the queue and the WATCHes dropped.
func (c *conn) refuse(spec *command.Spec, msg string) {
	if spec.Name == "exec" {
		c.abortTx()
		msg = "EXECABORT Transaction discarded because of: " + msg
	}
	c.replyError(msg)
}

// selfService reports commands every account may run whatever its rules:
// they concern only the account itself (its name, its own ACL LOG, the
// category list, its step-up), as AUTH does.
func selfService(spec *command.Spec) bool {
	switch spec.Name {
	case "acl|whoami", "acl|log", "acl|cat", "acl|help", "redoubt|stepup", "redoubt|help":
		return true
	}
	return false
}

// repolicy moves the connection to a reloaded policy: its account is
// looked up again by name, and a connection whose account is gone or
// disabled is closed (as Redis does on ACL DELUSER).
func (c *conn) repolicy(p *policy) bool {
	c.pol = p
	if c.acct == nil {
		if p.deflt != nil {
			c.setAccount(p.deflt)
		}
		return true
	}
	a := p.accounts[c.acct.name]
	if a == nil || !a.User.Enabled {
		c.closeSilently()
		return false
	}
	c.setAccount(a)
	return true
}

func (c *conn) setAccount(a *account) {
	c.acct = a
	name := a.name
	c.user.Store(&name)
}

// resetAuth puts the connection back to the account a new connection gets
// (RESET, as Redis's clientSetDefaultAuth): the password-less default
// account if there is one, else unauthenticated with the pre-auth limits
// (but no new authentication deadline: the connection proved itself once).
func (c *conn) resetAuth() {
	c.stepUpUntil = time.Time{}
	if p := c.s.pol.Load(); p != c.pol {
		c.pol = p
	}
	if c.pol.deflt != nil {
		c.setAccount(c.pol.deflt)
		return
	}
	c.acct = nil
	c.user.Store(nil)
	c.rd.SetLimits(resp.PreAuthLimits())
}

// userName is the account name for CLIENT LIST, from any goroutine;
// "default" before authentication, as Redis shows it.
func (c *conn) userName() string {
	if p := c.user.Load(); p != nil {
		return *p
	}
	return "default"
}

func (c *conn) accountName() string {
	if c.acct == nil {
		return ""
	}
	return c.acct.name
}

// closeSilently drops the replies not yet written and ends the connection
// without another word.
func (c *conn) closeSilently() {
	c.w.Truncate(0)
	c.closeAfter = true
}

func cmdAuth(c *conn, args [][]byte) {
	if len(args) > 3 {
		c.replyError("ERR syntax error")
		return
	}
	user, pass := []byte("default"), args[1]
	if len(args) == 3 {
		user, pass = args[1], args[2]
	} else if d := c.pol.accounts["default"]; d != nil && d.User.Enabled && d.User.NoPass {
		c.replyError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if c.authenticate(user, pass) {
		c.w.WriteOK()
	}
}

// authenticate checks a user name and password, writing the error reply
// when they do not match. Every failure gets the same reply, whether the
// account exists, is disabled, is locked or the password is wrong; the
// throttling delay of an address with repeated failures is served here,
// on the connection's own goroutine, never holding the engine lock.
func (c *conn) authenticate(userArg, pass []byte) bool {
	s := c.s
	if p := s.pol.Load(); p != c.pol {
		c.repolicy(p)
	}
	name := string(userArg)
	acct := c.pol.accounts[name]
	lockName := name
	if acct == nil {
		lockName = "" // unknown accounts are counted per address only
	}
	delay, locked := s.lockout.Before(c.peer, lockName)
	if locked {
		s.authFailures.Add(1)
		s.event(monitor.AuthRefused, c.raddr, name, "locked")
		c.replyError(wrongPassReply)
		return false
	}
	if delay > 0 {
		s.event(monitor.AuthThrottled, c.raddr, name, delay.String())
		if !c.wait(delay) {
			return false
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultAuthTimeout)
	defer cancel()
	ok := false
	var err error
	switch {
	case acct == nil, !acct.User.Enabled:
		err = s.verifier.CheckUnknown(ctx, pass)
	case acct.User.NoPass:
		ok = true
	default:
		for _, h := range acct.Hashes {
			ok, err = s.verifier.Check(ctx, acct.name, h, pass)
			if ok || err != nil {
				break
			}
		}
	}
	if errors.Is(err, auth.ErrBusy) {
		c.replyError(busyAuthReply)
		return false
	}
	if ok {
		s.lockout.Success(c.peer, lockName)
		c.setAccount(acct)
		if !c.authDeadline.IsZero() {
			c.authDeadline = time.Time{}
			c.setReadDeadline(time.Time{})
		}
		c.rd.SetLimits(resp.DefaultLimits())
		return true
	}
	s.authFailures.Add(1)
	s.event(monitor.AuthFailed, c.raddr, name, "")
	s.aclLog.Add(acl.ReasonAuth, acl.ContextTopLevel, "AUTH", name, c.info())
	s.lockEvents(s.lockout.Failure(c.peer, lockName))
	c.replyError(wrongPassReply)
	return false
}

// lockEvents records the locks that started or ended.
func (s *Server) lockEvents(evs []auth.Event) {
	for _, ev := range evs {
		t := monitor.AuthLocked
		if ev.Kind == auth.Unlocked {
			t = monitor.AuthUnlocked
		}
		addr := ""
		if ev.Addr.IsValid() {
			addr = ev.Addr.String()
		}
		s.event(t, addr, ev.Account, ev.Scope.String()+" until "+ev.Until.UTC().Format(time.RFC3339))
	}
}

// wait pauses the connection for d, or less when the instance shuts down
// or the connection is killed. It reports whether the full time passed.
func (c *conn) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !c.killed.Load()
	case <-c.s.quit:
		return false
	}
}

// cmdRedoubt answers REDOUBT STEPUP <code> and REDOUBT HELP.
func cmdRedoubtStepUp(c *conn, args [][]byte) {
	s := c.s
	a := c.acct
	if a == nil || a.TOTP == nil {
		s.event(monitor.StepUpFailed, c.raddr, c.accountName(), "no second factor")
		c.replyError("ERR this account has no second factor; set one in the admin console")
		return
	}
	now := s.now()
	if !s.stepUps.Accept(a.name, a.TOTP, string(args[2]), now) {
		s.event(monitor.StepUpFailed, c.raddr, a.name, "")
		c.replyError("ERR invalid or reused step-up code")
		return
	}
	c.stepUpUntil = now.Add(StepUpValidity)
	s.event(monitor.StepUp, c.raddr, a.name, "")
	c.w.WriteOK()
}

func cmdRedoubtHelp(c *conn, args [][]byte) {
	lines := []string{
		"REDOUBT <subcommand> [<arg> ...]. Subcommands are:",
		"STEPUP <code>",
		"    Prove the account's second factor (a TOTP code) for the commands that need it,",
		"    for " + StepUpValidity.String() + " on this connection.",
		"HELP",
		"    Print this help.",
	}
	c.writeLines(lines)
}

// isWord reports whether arg equals word, ignoring case.
func isWord(arg []byte, word string) bool { return bytes.EqualFold(arg, []byte(word)) }

// stepUpGuard checks REDOUBT STEPUP codes: RFC 6238 TOTP with one step of
// clock skew, and a code is never accepted twice for one account.
type stepUpGuard struct {
	replay *totp.ReplayGuard
}

func newStepUpGuard() *stepUpGuard { return &stepUpGuard{replay: totp.NewReplayGuard()} }

// Accept reports whether code is the account's current, unused code.
func (g *stepUpGuard) Accept(account string, secret []byte, code string, now time.Time) bool {
	return g.replay.Validate(account, code, secret, now, totp.DefaultOptions())
}
