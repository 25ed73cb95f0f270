package acl

import (
	"strings"
	"testing"

	"redoubt/internal/command"
)

// FuzzCompile compiles arbitrary rule lists, as one redis.conf string and
// as raw ACL SETUSER arguments (one a line). Nothing may panic; a user
// that compiles must check every template line without panicking and
// deny what it denies consistently; its description must compile again
// to a user that decides every line the same way.
func FuzzCompile(f *testing.F) {
	for _, rules := range fixedRuleSets() {
		f.Add(strings.Join(rules, " "))
	}
	for _, s := range []string{
		"on nopass ~* &* +@all", "role:read-only", "(role:read-write -get) ~k*", "(~a", "( )", "(~'x' +get)",
		"%R %W~ %RW~* ~k* -@all +select|0 +config|get", "+client|id|x", "#" + argon2Example + " !" + argon2Example,
		">p\n<p\n<p", "~a b\n(~x\n+get)", "(+get\n(~d\ne)", "+@all -config|set\n\n&ch*", "on\x00\nallkeys",
		`"(~a" "+get)"`, `(~a "b)`, "reset clearselectors resetpass resetkeys resetchannels nocommands",
	} {
		f.Add(s)
	}
	tab := command.New()
	cases := templateCases(tab)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 4096 {
			return
		}
		if rules, err := SplitRules(in); err == nil {
			fuzzUser(t, tab, cases, rules, describable(in, rules))
		}
		fuzzUser(t, tab, cases, strings.Split(in, "\n"), false)
	})
}

// describable reports rules that Describe can show in a form SplitRules
// reads back: no quoting, and no ')' inside a selector but its last (a
// pattern ending in ')' would close the selector early, in Redis too).
func describable(in string, rules []string) bool {
	if strings.ContainsAny(in, "\"'\\\n\r\t\v\f") {
		return false
	}
	for _, r := range rules {
		if strings.HasPrefix(r, "(") && strings.Contains(r[1:len(r)-1], ")") {
			return false
		}
	}
	return true
}

func fuzzUser(t *testing.T, tab *command.Table, cases []cmdCase, rules []string, roundTrip bool) {
	u, err := CompileOptions{AllowPlain: true}.Compile("u", rules, tab)
	if err != nil {
		if _, ok := err.(*RuleError); !ok {
			t.Fatalf("%q: not a *RuleError: %v", rules, err)
		}
		return
	}
	verdicts := make([]Denial, len(cases))
	for i, c := range cases {
		verdicts[i] = u.Check(c.spec, c.args)
		_ = verdicts[i].Error(c.spec, c.args)
		_ = verdicts[i].DryRun(c.spec, c.args)
	}
	if !roundTrip {
		_ = u.Describe()
		return
	}
	v := recompile(t, u)
	for i, c := range cases {
		if d := v.Check(c.spec, c.args); d != verdicts[i] {
			t.Fatalf("%q: %q is %+v, after Describe %+v\n%s", rules, showArgs(c.args), verdicts[i], d, u.Describe())
		}
	}
}

// FuzzSplitRules checks that SplitRules never panics and that its
// selectors are whole: every rule starting with '(' ends with ')'.
func FuzzSplitRules(f *testing.F) {
	for _, s := range []string{"on (~a +get) off", "(~a", `"a b" 'c'`, "( ( )", `"\x41"`, "(a)(b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rules, err := SplitRules(in)
		if err != nil {
			return
		}
		for _, r := range rules {
			if strings.HasPrefix(r, "(") && !strings.HasSuffix(r, ")") {
				t.Fatalf("%q: open selector %q", in, r)
			}
		}
	})
}
