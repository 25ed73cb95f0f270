package guard

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestAllowlistAllows(t *testing.T) {
	tests := []struct {
		name    string
		groups  []Group
		allow   []string
		deny    []string
		notOpen bool
	}{
		{
			name:   "default",
			groups: DefaultGroups(),
			allow:  []string{"127.0.0.1", "::1", "::ffff:127.0.0.1"},
			deny:   []string{"127.0.0.2", "10.0.0.1", "::2", "0.0.0.0", "::"},
		},
		{
			name:   "ipv4 prefixes and addresses",
			groups: []Group{{Name: "app", Entries: []string{"10.0.0.0/8", "192.168.1.7", "172.16.0.0/12"}}},
			allow:  []string{"10.0.0.0", "10.255.255.255", "10.1.2.3", "192.168.1.7", "172.16.0.1", "172.31.255.255", "::ffff:10.9.9.9"},
			deny:   []string{"9.255.255.255", "11.0.0.0", "192.168.1.6", "192.168.1.8", "172.32.0.0", "::ffff:11.0.0.0", "::a00:1"},
		},
		{
			name:   "ipv6",
			groups: []Group{{Name: "v6", Entries: []string{"2001:db8::/32", "fd00::1", "fe80::/10"}}},
			allow:  []string{"2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1", "fe80::1", "fe80::1%eth0"},
			deny:   []string{"2001:db9::", "2001:db7:ffff::", "fd00::2", "10.0.0.1", "::ffff:10.0.0.1"},
		},
		{
			name:   "mapped entries are IPv4",
			groups: []Group{{Name: "m", Entries: []string{"::ffff:10.0.0.1", "::ffff:192.168.0.0/112"}}},
			allow:  []string{"10.0.0.1", "::ffff:10.0.0.1", "192.168.0.1", "192.168.255.255"},
			deny:   []string{"10.0.0.2", "192.169.0.0"},
		},
		{
			name:   "mapped /96 is all of IPv4",
			groups: []Group{{Name: "m", Entries: []string{"::ffff:0:0/96"}}},
			allow:  []string{"0.0.0.0", "255.255.255.255", "8.8.8.8"},
			deny:   []string{"::1", "2001:db8::1"},
		},
		{
			name:   "whole space edges",
			groups: []Group{{Name: "edges", Entries: []string{"255.255.255.255", "0.0.0.0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}}},
			allow:  []string{"255.255.255.255", "0.0.0.0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
			deny:   []string{"255.255.255.254", "0.0.0.1", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"},
		},
		{
			name: "several groups, overlapping and adjacent",
			groups: []Group{
				{Name: "a", Entries: []string{"10.0.0.0/25", "10.0.0.128/25", "2001:db8::/64"}},
				{Name: "b", Entries: []string{"10.0.0.0/24", "10.0.1.0/24", " 10.0.2.5 ", "2001:db8:0:1::/64"}},
				{Name: "c", Entries: []string{"10.0.0.7"}},
				{Name: "empty"},
			},
			allow: []string{"10.0.0.0", "10.0.1.255", "10.0.2.5", "2001:db8::1", "2001:db8:0:1:ffff::"},
			deny:  []string{"10.0.2.4", "10.0.2.6", "9.255.255.255", "2001:db8:0:2::"},
		},
		{
			name:   "spaces around entries",
			groups: []Group{{Name: "s", Entries: []string{"  10.0.0.1\t"}}},
			allow:  []string{"10.0.0.1"},
		},
		{
			name:   "no groups admits nobody",
			groups: nil,
			deny:   []string{"127.0.0.1", "::1"},
		},
		{
			name:   "an empty group admits nobody",
			groups: []Group{{Name: "none"}},
			deny:   []string{"127.0.0.1", "::1"},
		},
		{
			name:   "whole spaces with more entries",
			groups: []Group{{Name: "all", Entries: []string{"::/0", "2001:db8::/32", "ffff::/16", "0.0.0.0/0", "10.0.0.0/8", "255.0.0.0/8"}}},
			allow:  []string{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::1", "0.0.0.0", "255.255.255.255"},
		},
		{
			name:   "open ipv4",
			groups: []Group{{Name: "world", Entries: []string{"0.0.0.0/0"}}},
			allow:  []string{"1.2.3.4", "255.255.255.255", "::ffff:1.2.3.4"},
			deny:   []string{"::1", "2001:db8::1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al, err := NewAllowlist(tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.allow {
				if !al.Allows(netip.MustParseAddr(s)) {
					t.Errorf("Allows(%s) = false, want true", s)
				}
			}
			for _, s := range tt.deny {
				if al.Allows(netip.MustParseAddr(s)) {
					t.Errorf("Allows(%s) = true, want false", s)
				}
			}
			if al.Allows(netip.Addr{}) {
				t.Error("Allows(zero Addr) = true")
			}
		})
	}
}

// entryErrors unpacks the joined errors of NewAllowlist.
func entryErrors(t *testing.T, err error) []*EntryError {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not joined errors", err)
	}
	var out []*EntryError
	for _, e := range joined.Unwrap() {
		var ee *EntryError
		if !errors.As(e, &ee) {
			t.Fatalf("error %v is not an *EntryError", e)
		}
		out = append(out, ee)
	}
	return out
}

func TestNewAllowlistErrors(t *testing.T) {
	type want struct {
		group, index int
		entry, msg   string
	}
	tests := []struct {
		name   string
		groups []Group
		want   []want
	}{
		{
			name:   "bad syntax",
			groups: []Group{{Name: "g", Entries: []string{"10.0.0.1", "10.0.0", "10.0.0.256", "2001:db8::g", "10.0.0.0/33", "::/129", "host.example", "", "   ", "10.0.0.0/", "/8", "010.0.0.1"}}},
			want: []want{
				{0, 1, "10.0.0", "not an IPv4"},
				{0, 2, "10.0.0.256", "not an IPv4"},
				{0, 3, "2001:db8::g", "not an IPv4"},
				{0, 4, "10.0.0.0/33", "not an IPv4"},
				{0, 5, "::/129", "not an IPv4"},
				{0, 6, "host.example", "not an IPv4"},
				{0, 7, "", "empty entry"},
				{0, 8, "   ", "empty entry"},
				{0, 9, "10.0.0.0/", "not an IPv4"},
				{0, 10, "/8", "not an IPv4"},
				{0, 11, "010.0.0.1", "not an IPv4"},
			},
		},
		{
			name:   "host bits set",
			groups: []Group{{Name: "g", Entries: []string{"10.0.0.1/24", "2001:db8::1/32", "::ffff:10.0.0.1/104"}}},
			want: []want{
				{0, 0, "10.0.0.1/24", "write 10.0.0.0/24 for the network, or 10.0.0.1 for the single address"},
				{0, 1, "2001:db8::1/32", "write 2001:db8::/32 for the network, or 2001:db8::1"},
				{0, 2, "::ffff:10.0.0.1/104", "bits set after the /104 prefix"},
			},
		},
		{
			name:   "zones",
			groups: []Group{{Name: "g", Entries: []string{"fe80::1%eth0", "fe80::%eth0/64"}}},
			want: []want{
				{0, 0, "fe80::1%eth0", "zones are not supported"},
				{0, 1, "fe80::%eth0/64", "zones are not supported"},
			},
		},
		{
			name: "group names",
			groups: []Group{
				{Name: "", Entries: []string{"10.0.0.1"}},
				{Name: "app"},
				{Name: "APP"},
				{Name: "has space"},
				{Name: strings.Repeat("x", MaxGroupNameLen+1)},
				{Name: strings.Repeat("y", MaxGroupNameLen)},
				{Name: "bad\nname"},
				{Name: "ok.name_1-2"},
			},
			want: []want{
				{0, -1, "", "no name"},
				{2, -1, "", `already used by group #2 "app"`},
				{3, -1, "", "only letters"},
				{4, -1, "", "longer than 64"},
				{6, -1, "", "only letters"},
			},
		},
		{
			name: "errors in several groups are all reported",
			groups: []Group{
				{Name: "a", Entries: []string{"bad1"}},
				{Name: "b", Entries: []string{"10.0.0.0/8", "bad2"}},
				{Name: "a", Entries: []string{"bad3"}},
			},
			want: []want{
				{0, 0, "bad1", "not an IPv4"},
				{1, 1, "bad2", "not an IPv4"},
				{2, -1, "", "already used"},
				{2, 0, "bad3", "not an IPv4"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al, err := NewAllowlist(tt.groups)
			if al != nil {
				t.Error("NewAllowlist returned an Allowlist with an error")
			}
			got := entryErrors(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.GroupIndex != w.group || g.Index != w.index || g.Entry != w.entry || !strings.Contains(g.Msg, w.msg) {
					t.Errorf("error %d = %+v, want group #%d index %d entry %q msg ~%q", i, *g, w.group, w.index, w.entry, w.msg)
				}
				if g.Group != tt.groups[w.group].Name {
					t.Errorf("error %d names group %q, want %q", i, g.Group, tt.groups[w.group].Name)
				}
			}
		})
	}
}

func TestEntryErrorMessage(t *testing.T) {
	tests := []struct {
		err  EntryError
		want string
	}{
		{EntryError{Group: "app", GroupIndex: 0, Index: 2, Entry: "10.0.0.1/24", Msg: "bad"},
			`allowlist group "app": entry 3 "10.0.0.1/24": bad`},
		{EntryError{Group: "app", GroupIndex: 1, Index: -1, Msg: "dup"}, `allowlist group "app": dup`},
		{EntryError{Group: "", GroupIndex: 4, Index: -1, Msg: "the group has no name"}, `allowlist group #5: the group has no name`},
		{EntryError{Group: "", GroupIndex: 0, Index: 0, Entry: "x\n", Msg: "m"}, `allowlist group #1: entry 1 "x\n": m`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAllowlistGroupSize(t *testing.T) {
	entries := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("10.%d.%d.1", i/256, i%256)
		}
		return out
	}
	tests := []struct {
		name    string
		n       int
		wantErr bool
	}{
		{"at the limit", MaxGroupEntries, false},
		{"one past the limit", MaxGroupEntries + 1, true},
		{"far past the limit", 5 * MaxGroupEntries, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries(tt.n)
			if tt.n > MaxGroupEntries+1 {
				es[MaxGroupEntries+1] = "not checked"
			}
			al, err := NewAllowlist([]Group{{Name: "big", Entries: es}})
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if !al.Allows(netip.MustParseAddr(es[len(es)-1])) {
					t.Error("last entry not admitted")
				}
				return
			}
			got := entryErrors(t, err)
			if len(got) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(got), err)
			}
			if got[0].Index != MaxGroupEntries || got[0].Entry != es[MaxGroupEntries] ||
				!strings.Contains(got[0].Msg, fmt.Sprintf("%d entries; at most %d", tt.n, MaxGroupEntries)) {
				t.Errorf("error = %+v", *got[0])
			}
		})
	}
}

func TestAllowlistGroupsAndOpen(t *testing.T) {
	tests := []struct {
		name       string
		groups     []Group
		open       bool
		openGroups []string
	}{
		{"default", DefaultGroups(), false, nil},
		{"ipv4 world", []Group{{Name: "a", Entries: []string{"10.0.0.0/8"}}, {Name: "w", Entries: []string{"0.0.0.0/0"}}}, true, []string{"w"}},
		{"ipv6 world", []Group{{Name: "w6", Entries: []string{"::/0"}}}, true, []string{"w6"}},
		{"mapped world", []Group{{Name: "m", Entries: []string{"::ffff:0.0.0.0/96"}}}, true, []string{"m"}},
		{"two halves", []Group{{Name: "lo", Entries: []string{"0.0.0.0/1"}}, {Name: "hi", Entries: []string{"128.0.0.0/1"}}}, true, nil},
		{"two ipv6 halves", []Group{{Name: "h", Entries: []string{"::/1", "8000::/1"}}}, true, nil},
		{"almost", []Group{{Name: "a", Entries: []string{"0.0.0.0/1", "128.0.0.0/2", "::/1"}}}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al, err := NewAllowlist(tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			if got := al.Open(); got != tt.open {
				t.Errorf("Open() = %v, want %v", got, tt.open)
			}
			if got := al.OpenGroups(); !slices.Equal(got, tt.openGroups) {
				t.Errorf("OpenGroups() = %v, want %v", got, tt.openGroups)
			}
			got := al.Groups()
			if len(got) != len(tt.groups) {
				t.Fatalf("Groups() = %v", got)
			}
			for i := range got {
				if got[i].Name != tt.groups[i].Name || !slices.Equal(got[i].Entries, tt.groups[i].Entries) {
					t.Errorf("Groups()[%d] = %v, want %v", i, got[i], tt.groups[i])
				}
			}
		})
	}
}

func TestAllowlistIsImmutable(t *testing.T) {
	in := []Group{{Name: "g", Entries: []string{"10.0.0.1"}}}
	al, err := NewAllowlist(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0].Name = "changed"
	in[0].Entries[0] = "10.0.0.2"
	out := al.Groups()
	out[0].Entries[0] = "10.0.0.3"
	out[0].Name = "changed too"
	if got := al.Groups(); got[0].Name != "g" || got[0].Entries[0] != "10.0.0.1" {
		t.Errorf("Groups() = %v after the caller changed its copies", got)
	}
	if !al.Allows(netip.MustParseAddr("10.0.0.1")) {
		t.Error("10.0.0.1 no longer admitted")
	}
}

func TestNilAllowlist(t *testing.T) {
	var al *Allowlist
	if al.Allows(netip.MustParseAddr("127.0.0.1")) || al.Open() || al.Groups() != nil || al.OpenGroups() != nil {
		t.Error("the nil Allowlist is not empty")
	}
}

// randomPrefix returns a random masked prefix, IPv4 or IPv6, with lengths
// spread over the whole range and addresses crowded into a small space so
// that prefixes overlap and touch.
func randomPrefix(r *rand.Rand) netip.Prefix {
	if r.IntN(2) == 0 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))})
		p, _ := a.Prefix(16 + r.IntN(17))
		if r.IntN(50) == 0 {
			p, _ = a.Prefix(r.IntN(9))
		}
		return p
	}
	var b [16]byte
	b[0], b[1], b[7], b[15] = 0x20, 0x01, byte(r.IntN(4)), byte(r.IntN(256))
	if r.IntN(10) == 0 {
		b[15] = 0xff
		for i := 8; i < 16; i++ {
			b[i] = 0xff
		}
	}
	p, _ := netip.AddrFrom16(b).Prefix(48 + r.IntN(81))
	return p
}

// randomProbe returns an address near the space randomPrefix uses.
func randomProbe(r *rand.Rand) netip.Addr {
	if r.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte{byte(9 + r.IntN(3)), 0, byte(r.IntN(5)), byte(r.IntN(256))})
	}
	var b [16]byte
	b[0], b[1], b[7], b[15] = 0x20, 0x01, byte(r.IntN(5)), byte(r.IntN(256))
	if r.IntN(4) == 0 {
		for i := 8; i < 16; i++ {
			b[i] = byte(r.IntN(256))
		}
	}
	return netip.AddrFrom16(b)
}

// TestAllowsMatchesPrefixes checks the merged ranges against the plain
// prefixes they were made from.
func TestAllowsMatchesPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			var prefixes []netip.Prefix
			var groups []Group
			for g := range 1 + r.IntN(4) {
				grp := Group{Name: fmt.Sprint("g", g)}
				for range r.IntN(30) {
					p := randomPrefix(r)
					prefixes = append(prefixes, p)
					grp.Entries = append(grp.Entries, p.String())
				}
				groups = append(groups, grp)
			}
			al, err := NewAllowlist(groups)
			if err != nil {
				t.Fatal(err)
			}
			for range 200 {
				a := randomProbe(r)
				want := slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
				if got := al.Allows(a); got != want {
					t.Fatalf("Allows(%s) = %v, want %v; prefixes %v", a, got, want, prefixes)
				}
			}
		})
	}
}

func TestAllowsDoesNotAllocate(t *testing.T) {
	al := benchAllowlist(t)
	addrs := []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::ffff:10.0.0.1"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1%eth0"),
	}
	for _, a := range addrs {
		if n := testing.AllocsPerRun(100, func() { al.Allows(a) }); n != 0 {
			t.Errorf("Allows(%s) allocates %v times", a, n)
		}
	}
}

// benchAllowlist returns 10 groups of 1000 random entries: IPv4 addresses
// and /24s, IPv6 addresses and /64s.
func benchAllowlist(tb testing.TB) *Allowlist {
	r := rand.New(rand.NewPCG(3, 4))
	groups := make([]Group, 10)
	for g := range groups {
		groups[g].Name = fmt.Sprint("group", g)
		for range MaxGroupEntries {
			var e string
			switch r.IntN(4) {
			case 0:
				e = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}).String()
			case 1:
				e = fmt.Sprintf("%d.%d.%d.0/24", r.IntN(256), r.IntN(256), r.IntN(256))
			case 2:
				e = fmt.Sprintf("2001:db8:%x:%x::%x", r.IntN(65536), r.IntN(65536), r.IntN(65536))
			default:
				e = fmt.Sprintf("2001:db8:%x:%x::/64", r.IntN(65536), r.IntN(65536))
			}
			groups[g].Entries = append(groups[g].Entries, e)
		}
	}
	al, err := NewAllowlist(groups)
	if err != nil {
		tb.Fatal(err)
	}
	return al
}

func BenchmarkAllows(b *testing.B) {
	al := benchAllowlist(b)
	r := rand.New(rand.NewPCG(5, 6))
	probes := make([]netip.Addr, 1024)
	for i := range probes {
		if i%2 == 0 {
			probes[i] = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		} else {
			probes[i] = netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%x::1", r.IntN(65536), r.IntN(65536)))
		}
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if al.Allows(probes[i%len(probes)]) {
			n++
		}
	}
	_ = n
}

func BenchmarkNewAllowlist(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	groups := make([]Group, 10)
	for g := range groups {
		groups[g].Name = fmt.Sprint("group", g)
		for range MaxGroupEntries {
			groups[g].Entries = append(groups[g].Entries, randomPrefix(r).String())
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewAllowlist(groups); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzAllowlistEntry(f *testing.F) {
	for _, s := range []string{
		"10.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.1", "::ffff:10.0.0.0/104",
		"10.0.0.1/24", "0.0.0.0/0", "::/0", "fe80::1%eth0", "", " 1.2.3.4 ", "::ffff:0:0/96", "1.2.3.4/32",
	} {
		f.Add(s, []byte{10, 0, 0, 1})
	}
	f.Add("2001:db8::/32", []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, entry string, probe []byte) {
		p, msg := parseEntry(entry)
		al, err := NewAllowlist([]Group{{Name: "f", Entries: []string{entry}}})
		if (msg == "") != (err == nil) {
			t.Fatalf("parseEntry(%q) = %q but NewAllowlist error %v", entry, msg, err)
		}
		if err != nil {
			return
		}
		if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("parseEntry(%q) = %v", entry, p)
		}
		first := p.Addr()
		if !al.Allows(first) {
			t.Fatalf("entry %q: first address %v not admitted", entry, first)
		}
		a, ok := netip.AddrFromSlice(probe)
		if !ok {
			return
		}
		want := p.Contains(a.Unmap())
		if got := al.Allows(a); got != want {
			t.Fatalf("entry %q: Allows(%v) = %v, want %v", entry, a, got, want)
		}
	})
}
