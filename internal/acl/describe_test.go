package acl

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"redoubt/internal/command"
)

// recompile compiles the rules Describe shows for u.
func recompile(t testing.TB, u *User) *User {
	t.Helper()
	text, ok := strings.CutPrefix(u.Describe(), "user "+u.Name+" ")
	if !ok {
		t.Fatalf("Describe %q does not start with the user", u.Describe())
	}
	rules, err := SplitRules(text)
	if err != nil {
		t.Fatalf("SplitRules(%q): %v", text, err)
	}
	v, err := CompileOptions{AllowPlain: true}.Compile(u.Name, rules, u.tab)
	if err != nil {
		t.Fatalf("Describe %q does not compile: %v", u.Describe(), err)
	}
	return v
}

// samePerms reports whether two users have the same permissions.
func samePerms(a, b *User) bool {
	if a.Enabled != b.Enabled || a.NoPass != b.NoPass || a.sanitize != b.sanitize || len(a.sels) != len(b.sels) {
		return false
	}
	for i := range a.sels {
		x, y := *a.sels[i], *b.sels[i]
		// allCommands is a cache of "every bit set"; the bits decide.
		x.allCommands, y.allCommands = false, false
		// First arguments of an allowed command are kept but mean
		// nothing, and ACL LIST does not show them.
		x.firstArgs, y.firstArgs = liveFirstArgs(&x), liveFirstArgs(&y)
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func liveFirstArgs(s *selector) map[int][]string {
	var out map[int][]string
	for id, args := range s.firstArgs {
		if !s.hasCmd(id) {
			if out == nil {
				out = map[int][]string{}
			}
			out[id] = args
		}
	}
	return out
}

// TestDescribeRoundTrip compiles what Describe shows and checks that it
// gives the same permissions and the same description.
func TestDescribeRoundTrip(t *testing.T) {
	tab := command.New()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	var lists [][]string
	for _, r := range fixedRuleSets() {
		lists = append(lists, r)
	}
	for _, role := range []string{RoleAdmin, RoleReadOnly, RoleReadWrite} {
		lists = append(lists, []string{role, "(" + role + " -get)"})
	}
	for i := 0; i < 300; i++ {
		lists = append(lists, randomRules(tab, rng))
	}
	n := 0
	for _, rules := range lists {
		u, err := CompileOptions{AllowPlain: true}.Compile("u", rules, tab)
		if err != nil {
			continue
		}
		n++
		v := recompile(t, u)
		if !samePerms(u, v) || v.Describe() != u.Describe() {
			t.Errorf("rules %q:\n Describe %s\n again    %s", rules, u.Describe(), v.Describe())
		}
	}
	if n < 200 {
		t.Fatalf("only %d rule lists compiled", n)
	}
}

func TestDescribeNoSecrets(t *testing.T) {
	tab := command.New()
	u := mustCompile(t, tab, "on", "#"+argon2Example, ">plain", "~*", "+@all")
	d := u.Describe()
	if strings.ContainsAny(d, "#>") || strings.Contains(d, "plain") || strings.Contains(d, "argon2") {
		t.Fatalf("Describe leaks a secret: %s", d)
	}
	if want := "user u on ~* resetchannels +@all"; d != want {
		t.Fatalf("Describe = %q, want %q", d, want)
	}
	if d := mustCompile(t, tab, "on", "nopass", "~*", "&*", "+@all").Describe(); d != "user u on nopass ~* &* +@all" {
		t.Fatalf("Describe = %q", d)
	}
}
