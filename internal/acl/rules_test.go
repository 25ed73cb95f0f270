package acl

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/command"
)

func mustCompile(t testing.TB, tab *command.Table, rules ...string) *User {
	t.Helper()
	u, err := CompileOptions{AllowPlain: true}.Compile("u", rules, tab)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCompileFresh(t *testing.T) {
	tab := command.New()
	u := mustCompile(t, tab)
	if u.Enabled || u.NoPass || len(u.Hashes) != 0 {
		t.Fatalf("fresh user: %+v", u)
	}
	if got, want := u.Describe(), "user u off resetchannels -@all"; got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	get := tab.LookupFull([]byte("get"))
	if d := u.Check(get, bargs("get", "k")); d.Reason != ReasonCommand || d.Object != "get" {
		t.Fatalf("fresh user may GET: %+v", d)
	}
	auth := tab.LookupFull([]byte("auth"))
	if d := u.Check(auth, bargs("auth", "u", "p")); !d.Allowed() {
		t.Fatalf("AUTH is no_auth and always allowed: %+v", d)
	}
}

func TestCompileErrors(t *testing.T) {
	tab := command.New()
	tests := []struct {
		name  string
		rules []string
		index int
		rule  string
		msg   string
		reply string
	}{
		{"unknown word", []string{"on", "foo"}, 1, "foo", msgSyntax,
			"ERR Error in ACL SETUSER modifier 'foo': Syntax error"},
		{"unknown command", []string{"+nosuch"}, 0, "+nosuch", msgUnknown, ""},
		{"negative first-arg", []string{"~*", "-select|0"}, 1, "-select|0", msgUnknown, ""},
		{"first-arg of a subcommand", []string{"+config|get|x"}, 0, "+config|get|x", msgFirstArgSub, ""},
		{"key after allkeys", []string{"allkeys", "~x"}, 1, "~x", msgKeyAfterAll, ""},
		{"channel after allchannels", []string{"&*", "&x"}, 1, "&x", msgChanAfterAll, ""},
		{"unmatched selector", []string{"on", "(~x", "+get"}, 1, "(~x", msgUnmatched,
			"ERR Unmatched parenthesis in acl selector starting at '(~x'."},
		{"bad rule in spread selector", []string{"on", "(~x", "bad)"}, 1, "(~x bad)", msgSyntax, ""},
		{"plain password", []string{">secret"}, 0, ">secret", msgPlain, ""},
		{"plain removal", []string{"<secret"}, 0, "<secret", msgPlain, ""},
		{"sha256 hash", []string{"#" + strings.Repeat("a", 64)}, 0, "#" + strings.Repeat("a", 64), msgSHA256, ""},
		{"bad hash", []string{"#$2y$10$abc"}, 0, "#$2y$10$abc", msgBadHash, ""},
		{"remove absent hash", []string{"!" + argon2Example}, 0, "!" + argon2Example, msgNoSuchPass, ""},
		{"NUL byte", []string{"on\x00"}, 0, "on\x00", msgSyntax, ""},
		{"unknown role", []string{"role:root"}, 0, "role:root", msgSyntax, ""},
		{"unbalanced quote in selector", []string{`(~a "b)`}, 0, `(~a "b)`, msgSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile("u", tt.rules, tab)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *RuleError", err)
			}
			if re.Index != tt.index || re.Rule != tt.rule || re.Msg != tt.msg {
				t.Fatalf("got %+v, want index %d rule %q msg %q", re, tt.index, tt.rule, tt.msg)
			}
			if tt.reply != "" && re.Reply() != tt.reply {
				t.Fatalf("Reply = %q, want %q", re.Reply(), tt.reply)
			}
			if !strings.Contains(re.Error(), strconv.Quote(tt.rule)) {
				t.Fatalf("Error %q does not name the rule", re.Error())
			}
		})
	}
}

func TestCompileUsername(t *testing.T) {
	tab := command.New()
	for _, name := range []string{"", "a b", "a\x00", "a\tb"} {
		if _, err := Compile(name, nil, tab); !errors.Is(err, ErrUsername) {
			t.Errorf("Compile(%q) = %v, want ErrUsername", name, err)
		}
	}
}

func TestCompilePasswords(t *testing.T) {
	tab := command.New()
	h2 := strings.Replace(argon2Example, "c2FsdHNhbHQ", "b3RoZXJzYWx0", 1)
	tests := []struct {
		name   string
		rules  []string
		hashes []string
		nopass bool
	}{
		{"add", []string{"#" + argon2Example}, []string{argon2Example}, false},
		{"no duplicates", []string{"#" + argon2Example, "#" + argon2Example}, []string{argon2Example}, false},
		{"two", []string{"#" + argon2Example, "#" + h2}, []string{argon2Example, h2}, false},
		{"remove", []string{"#" + argon2Example, "#" + h2, "!" + argon2Example}, []string{h2}, false},
		{"nopass clears", []string{"#" + argon2Example, "nopass"}, nil, true},
		{"hash clears nopass", []string{"nopass", "#" + argon2Example}, []string{argon2Example}, false},
		{"resetpass", []string{"nopass", "#" + argon2Example, "resetpass"}, nil, false},
		{"reset", []string{"nopass", "#" + argon2Example, "reset"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Compile("u", tt.rules, tab)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(u.Hashes, tt.hashes) || u.NoPass != tt.nopass {
				t.Fatalf("Hashes %q NoPass %v, want %q %v", u.Hashes, u.NoPass, tt.hashes, tt.nopass)
			}
			if strings.Contains(u.Describe(), "$argon2id$") {
				t.Fatalf("Describe shows a hash: %s", u.Describe())
			}
		})
	}
	t.Run("plain allowed in tests", func(t *testing.T) {
		u := mustCompile(t, tab, ">a", ">b", ">a", "<b")
		if !slices.Equal(u.Passwords, []string{"a"}) || strings.Contains(u.Describe(), " >a") {
			t.Fatalf("Passwords %q, Describe %q", u.Passwords, u.Describe())
		}
	})
}

func TestSplitRules(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"on nopass ~* +@all", []string{"on", "nopass", "~*", "+@all"}, false},
		{"  on\t>p  ", []string{"on", ">p"}, false},
		{"on (~app:* +get) (+set %W~w:*) off", []string{"on", "(~app:* +get)", "(+set %W~w:*)", "off"}, false},
		{"(~a) ()", []string{"(~a)", "()"}, false},
		{`"~a b" '+get'`, []string{"~a b", "+get"}, false},
		{`"\x41\n"`, []string{"A\n"}, false},
		{"on (~a", nil, true},
		{`on "unbalanced`, nil, true},
		{"", []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SplitRules(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if !tt.err && !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelectorsAndReset(t *testing.T) {
	tab := command.New()
	tests := []struct {
		rules []string
		want  string
	}{
		{[]string{"on", "(~a +get)", "(", "+set", "~b)"}, "user u on resetchannels -@all (~a resetchannels -@all +get) (~b resetchannels -@all +set)"},
		{[]string{"(~a +get)", "clearselectors", "~c"}, "user u off ~c resetchannels -@all"},
		{[]string{"on", "nopass", "~*", "&*", "+@all", "(~x)", "reset"}, "user u off sanitize-payload resetchannels -@all"},
		{[]string{"skip-sanitize-payload", "allkeys", "allchannels", "allcommands"}, "user u off skip-sanitize-payload ~* &* +@all"},
		{[]string{"%R~a", "%W~a", "%W~b", "%RW~c", "~d"}, "user u off ~a %W~b ~c ~d resetchannels -@all"},
		{[]string{"+@all", "-config|set", "-select", "+select|0"}, "user u off resetchannels +@all -config|set -select +select|0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.rules, " "), func(t *testing.T) {
			if got := mustCompile(t, tab, tt.rules...).Describe(); got != tt.want {
				t.Fatalf("Describe =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

// TestRoles checks what each role allows, and that role:read-only allows
// no command that may write a key or that Redis flags as writing.
func TestRoles(t *testing.T) {
	tab := command.New()
	for _, role := range []string{RoleAdmin, RoleReadWrite, RoleReadOnly, "ROLE:Read-Only"} {
		t.Run(role, func(t *testing.T) {
			u := mustCompile(t, tab, role)
			s := u.sels[0]
			if !s.allKeys || !s.allChannels {
				t.Fatal("roles give every key and channel")
			}
			for _, spec := range tab.ByID {
				allowed := s.allCommands || s.hasCmd(spec.ID)
				switch {
				case strings.EqualFold(role, RoleAdmin):
					if !allowed {
						t.Errorf("%s refuses %s", role, spec.Name)
					}
				case role == RoleReadWrite:
					if allowed != (spec.Categories&(command.CatAdmin|command.CatDangerous) == 0) {
						t.Errorf("%s: %s allowed=%v", role, spec.Name, allowed)
					}
				default:
					if allowed && writes(spec) {
						t.Errorf("%s allows %s, which writes", role, spec.Name)
					}
				}
			}
		})
	}
	ro := mustCompile(t, tab, RoleReadOnly)
	for _, name := range []string{"get", "mget", "hgetall", "scan", "xread", "subscribe", "psubscribe", "multi", "exec", "ping", "auth", "client|setname"} {
		if !ro.sels[0].hasCmd(tab.LookupFull([]byte(name)).ID) {
			t.Errorf("%s refuses %s", RoleReadOnly, name)
		}
	}
	for _, name := range []string{"set", "del", "publish", "eval_ro", "keys", "flushall", "config|get", "client|kill", "sort", "pfadd", "xreadgroup", "getex"} {
		if ro.sels[0].hasCmd(tab.LookupFull([]byte(name)).ID) {
			t.Errorf("%s allows %s", RoleReadOnly, name)
		}
	}
	// A role inside a selector stays inside it.
	u := mustCompile(t, tab, "~k*", "+get", "("+RoleReadOnly+")")
	if u.sels[0].allKeys || !u.sels[1].allKeys {
		t.Fatal("role leaked out of its selector")
	}
}

// writes reports whether a command may change a key: Redis flags it write,
// or one of its key specs inserts, deletes or overwrites. PFCOUNT's RW
// spec (it may rewrite its cached cardinality) is the one exception Redis
// itself counts as reading.
func writes(spec *command.Spec) bool {
	if spec.Flags&command.FlagWrite != 0 {
		return true
	}
	for _, ks := range spec.KeySpecs {
		if ks.KeyFlags&(command.KeyInsert|command.KeyDelete|command.KeyUpdate|command.KeyOW|command.KeyRM) != 0 {
			return true
		}
		if ks.KeyFlags&command.KeyRW != 0 && spec.Name != "pfcount" {
			return true
		}
	}
	return false
}
