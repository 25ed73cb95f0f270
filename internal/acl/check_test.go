package acl

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"redoubt/internal/command"
)

// line resolves a command line given as words.
func line(t testing.TB, tab *command.Table, words string) (*command.Spec, [][]byte) {
	t.Helper()
	args := bargs(strings.Fields(words)...)
	spec, msg := tab.Resolve(args, func(*command.Spec) bool { return true })
	if spec == nil {
		t.Fatalf("%s: %s", words, msg)
	}
	return spec, args
}

func TestCheck(t *testing.T) {
	tab := command.New()
	tests := []struct {
		rules  string
		cmd    string
		reason Reason
		object string
	}{
		{"+@all ~*", "get k", ReasonNone, ""},
		{"-@all +get ~*", "set k v", ReasonCommand, "set"},
		{"+@all -config|set ~*", "config get x", ReasonNone, ""},
		{"+@all -config|set ~*", "config set x y", ReasonCommand, "config|set"},
		{"-@all +config|get", "config get x", ReasonNone, ""},
		{"-@all +config|get", "config set x y", ReasonCommand, "config|set"},
		{"-@all +config -config|set", "config resetstat", ReasonNone, ""},
		{"+@all -select +select|0", "select 0", ReasonNone, ""},
		{"+@all -select +select|0", "select 1", ReasonCommand, "select"},
		{"-@all +hello", "hello 3", ReasonNone, ""},
		{"-@all", "auth u p", ReasonNone, ""},
		{"+@all %R~r:* %W~w:*", "get r:1", ReasonNone, ""},
		{"+@all %R~r:* %W~w:*", "get w:1", ReasonKey, "w:1"},
		{"+@all %R~r:* %W~w:*", "set w:1 v", ReasonNone, ""},
		{"+@all %R~r:* %W~w:*", "set w:1 v get", ReasonKey, "w:1"},
		{"+@all %R~r:* %W~w:*", "copy r:1 w:1", ReasonNone, ""},
		{"+@all %R~r:* %W~w:*", "copy w:1 r:1", ReasonKey, "w:1"},
		{"+@all %R~r:* %W~w:*", "lmove r:1 w:1 left left", ReasonKey, "r:1"},
		{"+@all %R~r:* %W~w:*", "exists w:1", ReasonNone, ""},
		{"+@all %R~r:* %W~w:*", "mset w:1 v r:1 v", ReasonKey, "r:1"},
		{"+@all %R~r:* %W~w:*", "sort r:1 store w:1", ReasonNone, ""},
		{"+@all %R~r:* %W~w:*", "eval s 2 r:1 w:1", ReasonKey, "r:1"},
		{"+@all ~k*", "mget k1 x k2 y", ReasonKey, "x"},
		{"+@all ~* &ch*", "publish ch1 m", ReasonNone, ""},
		{"+@all ~* &ch*", "publish x m", ReasonChannel, "x"},
		{"+@all ~* &ch*", "subscribe ch1 x y", ReasonChannel, "x"},
		{"+@all ~* &ch*", "psubscribe ch*", ReasonNone, ""},
		{"+@all ~* &ch*", "psubscribe ch1", ReasonChannel, "ch1"},
		{"+@all ~* &ch*", "pubsub numsub x", ReasonNone, ""},
		{"+@all ~* &ch*", "unsubscribe x", ReasonNone, ""},
		// The reported denial is the most specific among the selectors.
		{"-@all +get ~k* (+set ~w:*)", "set w:1 v", ReasonNone, ""},
		{"-@all +get ~k* (+set ~w:*)", "set k1 v", ReasonKey, "k1"},
		{"-@all +get ~k* (+set ~w:*)", "get x", ReasonKey, "x"},
		{"-@all +get ~k* (+set ~w:*)", "del k1", ReasonCommand, "del"},
		{"+@all ~a ~b (~b ~c)", "mget a c", ReasonKey, "c"},
		{"+@all ~a ~c (~b ~c)", "mget a b c", ReasonKey, "b"},
		{"+@all ~a (~b) (&ch)", "mget a b", ReasonKey, "b"},
		{"+@all ~* &x (~k) (%R~* &* +publish)", "publish ch m", ReasonNone, ""},
		{"+@all ~* (&x) (+@all ~*)", "publish ch m", ReasonChannel, "ch"},
		{"~* &* +@all", "get k extra", ReasonCommand, "get"}, // arity
	}
	for _, tt := range tests {
		t.Run(tt.rules+" / "+tt.cmd, func(t *testing.T) {
			rules, err := SplitRules(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			u := mustCompile(t, tab, rules...)
			var spec *command.Spec
			var args [][]byte
			if tt.cmd == "get k extra" {
				spec, args = tab.LookupFull([]byte("get")), bargs("get", "k", "extra")
			} else {
				spec, args = line(t, tab, tt.cmd)
			}
			d := u.Check(spec, args)
			if d.Reason != tt.reason || d.Object != tt.object {
				t.Fatalf("Check = %+v, want %v %q", d, tt.reason, tt.object)
			}
			if d.Reason != ReasonNone && d.Reason != ReasonCommand && string(args[d.Pos]) != d.Object {
				t.Fatalf("Pos %d is not %q", d.Pos, d.Object)
			}
		})
	}
}

func TestDenialTexts(t *testing.T) {
	tab := command.New()
	spec, args := line(t, tab, "config get x\x00y")
	tests := []struct {
		d              Denial
		errText, dry   string
		allowed        bool
		reason, object string
	}{
		{Denial{}, "", "", true, "", ""},
		{Denial{Reason: ReasonCommand, Object: "config|get"},
			"NOPERM this user has no permissions to run the 'config|get' command",
			"This user has no permissions to run the 'config|get' command", false, "command", "config|get"},
		{Denial{Reason: ReasonKey, Pos: 2, Object: "x\x00y"},
			"NOPERM this user has no permissions to access one of the keys used as arguments",
			"This user has no permissions to access the 'x' key", false, "key", "x\x00y"},
		{Denial{Reason: ReasonChannel, Pos: 2, Object: "x\x00y"},
			"NOPERM this user has no permissions to access one of the channels used as arguments",
			"This user has no permissions to access the 'x' channel", false, "channel", "x\x00y"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			if got := tt.d.Error(spec, args); got != tt.errText {
				t.Errorf("Error = %q", got)
			}
			if got := tt.d.DryRun(spec, args); got != tt.dry {
				t.Errorf("DryRun = %q", got)
			}
			if tt.d.Allowed() != tt.allowed || tt.d.Reason.String() != tt.reason {
				t.Errorf("Allowed %v Reason %q", tt.d.Allowed(), tt.d.Reason)
			}
		})
	}
}

// TestPlainRangesMatchKeysAndFlags checks the allocation-free key finder
// against command.Spec.KeysAndFlags on generated lines of every command.
func TestPlainRangesMatchKeysAndFlags(t *testing.T) {
	tab := command.New()
	rng := rand.New(rand.NewPCG(1, 2))
	cases := append(templateCases(tab), tableCases(tab, rng)...)
	for i := 0; i < 3; i++ {
		cases = append(cases, tableCases(tab, rng)...)
	}
	fast := 0
	for _, c := range cases {
		if !c.spec.HasKeys() {
			continue
		}
		var kc keyCache
		kc.find(c.spec, c.args)
		if kc.refs != nil {
			continue
		}
		fast++
		var got []command.KeyRef
		for _, r := range kc.ranges[:kc.n] {
			for i := r.first; i <= r.last; i += r.step {
				got = append(got, command.KeyRef{Pos: i, Flags: r.flags})
			}
		}
		want, err := c.spec.KeysAndFlags(c.args)
		if err != nil {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: fast %v, KeysAndFlags %v (%v)", showArgs(c.args), got, want, err)
		}
	}
	if fast < 500 {
		t.Fatalf("only %d lines took the fast path", fast)
	}
}

// TestCheckAllocs checks that allowed commands cost no allocation for an
// allkeys user and for a user with key patterns (GET, SET, MSET).
func TestCheckAllocs(t *testing.T) {
	tab := command.New()
	users := map[string]*User{
		"allkeys":  mustCompile(t, tab, "on", "~*", "&*", "+@all", "-@admin"),
		"patterns": benchUser(t, tab),
	}
	for name, u := range users {
		for _, cmd := range []string{"get app:1", "set app:1 v", "set app:1 v get", "mset app:1 v cache:2 v", "hget app:1 f", "ping"} {
			t.Run(name+" "+cmd, func(t *testing.T) {
				spec, args := line(t, tab, cmd)
				if d := u.Check(spec, args); !d.Allowed() {
					t.Fatalf("denied: %+v", d)
				}
				if n := testing.AllocsPerRun(100, func() { u.Check(spec, args) }); n != 0 {
					t.Fatalf("%v allocations", n)
				}
			})
		}
	}
}

// benchUser has 20 rules, five of them key patterns.
func benchUser(t testing.TB, tab *command.Table) *User {
	return mustCompile(t, tab, "on", "#"+argon2Example, "resetchannels", "&news.*",
		"-@all", "+@read", "+@write", "+@connection", "+@transaction", "-@dangerous", "-@admin",
		"-flushdb", "+select|0", "-keys",
		"~app:*", "%R~cache:*", "%W~cache:*", "~session:?*", "%R~ro:*", "%W~queue:[a-z]*")
}

func TestUnrestricted(t *testing.T) {
	tab := command.New()
	tests := []struct {
		rules []string
		want  bool
	}{
		{[]string{RoleAdmin}, true},
		{[]string{"allcommands", "allkeys", "allchannels", "(~x)"}, true},
		{[]string{"+@all", "-get", "~*", "&*"}, false},
		{[]string{"+@all", "-get", "+get", "~*", "&*"}, false}, // Redis's ALLCOMMANDS flag is gone too
		{[]string{"+@all", "~*"}, false},
		{[]string{"+@all", "&*", "%RW~*"}, false},
		{[]string{RoleReadWrite}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.rules, " "), func(t *testing.T) {
			if got := mustCompile(t, tab, tt.rules...).Unrestricted(); got != tt.want {
				t.Fatalf("Unrestricted = %v", got)
			}
		})
	}
}
