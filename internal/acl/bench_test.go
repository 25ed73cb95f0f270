package acl

import (
	"testing"

	"redoubt/internal/command"
)

// BenchmarkCheck measures Check on the hot path: a 20-rule user with five
// key patterns and an allkeys user, allowed and denied.
func BenchmarkCheck(b *testing.B) {
	tab := command.New()
	users := []struct {
		name string
		u    *User
	}{
		{"patterns", benchUser(b, tab)},
		{"allkeys", mustCompile(b, tab, "on", "~*", "&*", "+@all", "-@admin")},
		{"selectors", mustCompile(b, tab, "on", "-@all", "+get", "~ro:*", "(+@write ~queue:*)", "(+@all %R~cache:* %W~app:*)")},
	}
	lines := []string{
		"get app:1",
		"set app:1 value",
		"mset app:1 v1 cache:2 v2 session:3 v3 queue:x v4",
		"set cache:1 v get",
		"get secret:1",
		"flushall",
	}
	for _, u := range users {
		for _, l := range lines {
			spec, args := line(b, tab, l)
			b.Run(u.name+"/"+l, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					u.u.Check(spec, args)
				}
			})
		}
	}
}

// BenchmarkCompile measures compiling a 20-rule user.
func BenchmarkCompile(b *testing.B) {
	tab := command.New()
	rules := []string{"on", "#" + argon2Example, "resetchannels", "&news.*",
		"-@all", "+@read", "+@write", "+@connection", "+@transaction", "-@dangerous", "-@admin",
		"-flushdb", "+select|0", "-keys",
		"~app:*", "%R~cache:*", "%W~cache:*", "~session:?*", "%R~ro:*", "%W~queue:[a-z]*"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("u", rules, tab); err != nil {
			b.Fatal(err)
		}
	}
}
