package command

import (
	"strings"
	"testing"
)

func TestTableInvariants(t *testing.T) {
	tab := New()
	if tab.Len() != len(tab.ByID) || tab.Len() < 300 {
		t.Fatalf("Len %d, ByID %d", tab.Len(), len(tab.ByID))
	}
	seen := map[string]bool{}
	for id, s := range tab.ByID {
		if s.ID != id {
			t.Errorf("%s: ID %d at index %d", s.Name, s.ID, id)
		}
		if seen[s.Name] {
			t.Errorf("%s: duplicate name", s.Name)
		}
		seen[s.Name] = true
		if s.Name == "" || s.Name != strings.ToLower(s.Name) {
			t.Errorf("%q: name not lower case", s.Name)
		}
		if s.Arity == 0 {
			t.Errorf("%s: zero arity", s.Name)
		}
		if s.Group == "" {
			t.Errorf("%s: no group", s.Name)
		}
		if s.Since == "" {
			t.Errorf("%s: no since", s.Name)
		}
		parent, sub, isSub := strings.Cut(s.Name, "|")
		switch {
		case isSub:
			if s.Parent == nil || s.Parent.Name != parent || sub == "" || strings.Contains(sub, "|") {
				t.Errorf("%s: bad parent %v", s.Name, s.Parent)
			}
			if len(s.Subcommands) != 0 {
				t.Errorf("%s: nested subcommands", s.Name)
			}
			if tab.LookupSub(s.Parent, []byte(strings.ToUpper(sub))) != s {
				t.Errorf("%s: LookupSub misses it", s.Name)
			}
		default:
			if s.Parent != nil {
				t.Errorf("%s: top-level with parent", s.Name)
			}
			if s.Summary == "" {
				t.Errorf("%s: no summary", s.Name)
			}
			if tab.Lookup([]byte(strings.ToUpper(s.Name))) != s {
				t.Errorf("%s: Lookup misses it", s.Name)
			}
			for _, c := range s.Subcommands {
				if c.Parent != s {
					t.Errorf("%s: parent not set", c.Name)
				}
			}
		}
		if tab.LookupFull([]byte(s.Name)) != s {
			t.Errorf("%s: LookupFull misses it", s.Name)
		}
		for _, ks := range s.KeySpecs {
			var f KeyFlag
			for _, n := range ks.Flags {
				b, ok := KeyFlagByName(n)
				if !ok {
					t.Errorf("%s: unknown key flag %q", s.Name, n)
				}
				f |= b
			}
			if f != ks.KeyFlags || strings.Join(f.Names(), ",") != strings.Join(ks.Flags, ",") {
				t.Errorf("%s: key flags %v vs %v", s.Name, ks.Flags, ks.KeyFlags.Names())
			}
		}
	}
	all := tab.All()
	own := 0
	for _, s := range all {
		if s.Own() {
			own++
		}
	}
	if len(all)-own != 240 || own != 1 {
		t.Errorf("All: %d commands, %d of them Redoubt's own; want Redis 7.0's 240 and REDOUBT", len(all), own)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Name >= all[i].Name {
			t.Errorf("All not sorted at %s", all[i].Name)
		}
	}
}

func TestRedoubtFlags(t *testing.T) {
	tab := New()
	dangerous := []string{
		"config|set", "config|rewrite", "config|resetstat", "save", "bgsave", "bgrewriteaof",
		"debug", "module", "shutdown", "replicaof", "slaveof", "sync", "psync", "replconf",
		"migrate", "monitor", "failover", "acl|setuser", "acl|deluser", "acl|save", "acl|load",
		"eval", "eval_ro", "evalsha", "evalsha_ro", "script", "function", "fcall", "fcall_ro",
		"pfdebug", "pfselftest",
	}
	want := map[string]bool{}
	for _, n := range dangerous {
		want[n] = true
	}
	for _, fam := range []string{"module", "script", "function"} {
		for _, s := range tab.LookupFull([]byte(fam)).Subcommands {
			want[s.Name] = true
		}
	}
	connState := map[string]bool{}
	for _, n := range []string{"multi", "watch", "subscribe", "psubscribe", "ssubscribe", "select",
		"client|tracking", "client|reply"} {
		connState[n] = true
	}
	for _, s := range tab.ByID {
		if got := s.Has(FlagDangerous); got != want[s.Name] {
			t.Errorf("%s: dangerous %v, want %v", s.Name, got, want[s.Name])
		}
		wantCS := connState[s.Name] || s.Has(FlagBlocking)
		if got := s.Has(FlagConnState); got != wantCS {
			t.Errorf("%s: conn_state %v, want %v", s.Name, got, wantCS)
		}
	}
	for _, n := range []string{"blpop", "xread", "blmove", "bzmpop"} {
		if !tab.LookupFull([]byte(n)).Has(FlagConnState) {
			t.Errorf("%s: blocking command without conn_state", n)
		}
	}
}

func TestLookup(t *testing.T) {
	tab := New()
	get := tab.Lookup([]byte("get"))
	if get == nil || get.Name != "get" {
		t.Fatal("get missing")
	}
	for _, n := range []string{"GET", "Get", "gEt"} {
		if tab.Lookup([]byte(n)) != get {
			t.Errorf("Lookup(%q)", n)
		}
	}
	for _, n := range []string{"", "ge", "gett", "config|get", "get\x00", strings.Repeat("a", 100),
		"\u212Aeys"} {
		if s := tab.Lookup([]byte(n)); s != nil {
			t.Errorf("Lookup(%q) = %s", n, s.Name)
		}
	}
	cfg := tab.Lookup([]byte("CONFIG"))
	if s := tab.LookupSub(cfg, []byte("GeT")); s == nil || s.Name != "config|get" {
		t.Errorf("LookupSub(config, GeT) = %v", s)
	}
	for _, n := range []string{"", "nope", "get|x", strings.Repeat("x", 200)} {
		if s := tab.LookupSub(cfg, []byte(n)); s != nil {
			t.Errorf("LookupSub(config, %q) = %s", n, s.Name)
		}
	}
	if tab.LookupSub(get, []byte("x")) != nil || tab.LookupSub(nil, []byte("get")) != nil {
		t.Error("LookupSub on a plain command")
	}
	for name, want := range map[string]string{
		"config|get": "config|get", "CONFIG|GET": "config|get", "config": "config",
		"config|": "", "|get": "", "get|x": "", "config|get|x": "", "": "",
	} {
		s := tab.LookupFull([]byte(name))
		if (s == nil) != (want == "") || (s != nil && s.Name != want) {
			t.Errorf("LookupFull(%q) = %v, want %q", name, s, want)
		}
	}
}

func TestLookupAllocs(t *testing.T) {
	tab := New()
	cfg := tab.Lookup([]byte("config"))
	name, sub := []byte("ZRangeByScore"), []byte("GET")
	if n := testing.AllocsPerRun(100, func() {
		_ = tab.Lookup(name)
		_ = tab.LookupSub(cfg, sub)
		_ = tab.LookupFull(name)
	}); n != 0 {
		t.Fatalf("lookups allocate %v times", n)
	}
}

func BenchmarkLookup(b *testing.B) {
	tab := New()
	names := [][]byte{[]byte("GET"), []byte("set"), []byte("ZRangeByScore"), []byte("unknown-cmd")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = tab.Lookup(names[i%len(names)])
	}
}

func BenchmarkLookupSub(b *testing.B) {
	tab := New()
	cfg := tab.Lookup([]byte("config"))
	sub := []byte("GET")
	b.ReportAllocs()
	for b.Loop() {
		_ = tab.LookupSub(cfg, sub)
	}
}
