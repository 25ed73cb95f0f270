package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Limits of an allowlist.
const (
	// MaxGroupEntries is the most entries one group may hold.
	MaxGroupEntries = 1000
	// MaxGroupNameLen is the longest group name, in bytes.
	MaxGroupNameLen = 64
	// DefaultGroupName names the group DefaultGroups returns.
	DefaultGroupName = "default"
)

// Group is a named list of allowlist entries. An entry is an IPv4 or IPv6
// address ("10.0.0.1", "2001:db8::1") or a CIDR prefix ("10.0.0.0/8",
// "2001:db8::/32"). An IPv4-mapped IPv6 entry means the IPv4 address or
// prefix it carries ("::ffff:10.0.0.1" is 10.0.0.1, "::ffff:10.0.0.0/104"
// is 10.0.0.0/8). Surrounding spaces are ignored.
type Group struct {
	Name    string
	Entries []string
}

// EntryError is one problem of the groups given to NewAllowlist. It names
// the group and, when the problem is one entry, the entry, so that a
// configuration loader can point at the line it came from.
type EntryError struct {
	Group      string // the group's name as given (may be empty)
	GroupIndex int    // the group's position in the list, from 0
	Index      int    // the entry's position in the group, from 0; -1: the group itself
	Entry      string // the entry as given; "" when Index is -1
	Msg        string // what is wrong
}

// Error returns the problem with the group and entry it concerns.
func (e *EntryError) Error() string {
	g := "allowlist group " + strconv.Quote(e.Group)
	if e.Group == "" {
		g = "allowlist group #" + strconv.Itoa(e.GroupIndex+1)
	}
	if e.Index < 0 {
		return g + ": " + e.Msg
	}
	return g + ": entry " + strconv.Itoa(e.Index+1) + " " + strconv.Quote(e.Entry) + ": " + e.Msg
}

// range4 is an inclusive range of IPv4 addresses.
type range4 struct{ lo, hi uint32 }

// u128 is an IPv6 address as a number.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// next returns a+1, and false when a is the largest value.
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

func u128Of(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// range6 is an inclusive range of IPv6 addresses.
type range6 struct{ lo, hi u128 }

// Allowlist is a compiled set of groups: the networks whose peers may
// connect. An Allowlist is immutable and safe for concurrent use; a
// server swaps the whole Allowlist atomically when it reloads. The nil
// *Allowlist admits nobody.
type Allowlist struct {
	groups []Group
	v4     []range4 // sorted, disjoint, not adjacent
	v6     []range6 // sorted, disjoint, not adjacent
	open   []string // groups with an entry that covers a whole family
}

// DefaultGroups returns the allowlist of a fresh instance: one group
// named "default" that admits 127.0.0.1 and ::1.
func DefaultGroups() []Group {
	return []Group{{Name: DefaultGroupName, Entries: []string{"127.0.0.1", "::1"}}}
}

// NewAllowlist checks and compiles groups. It reports every problem, not
// only the first, as errors joined with errors.Join, each an *EntryError:
// an empty, over-long or duplicate group name (names are letters, digits,
// '.', '_' and '-', and compared without regard to case), a group of more
// than MaxGroupEntries entries (entries beyond the limit are not checked),
// and an entry that is not an address or a prefix. A prefix with bits set
// after its length ("10.0.0.1/24") is refused rather than masked: it
// usually means a single host was meant, and widening it silently would
// admit up to a whole network. Zones ("fe80::1%eth0") are refused too;
// link-local entries match on every interface. IPv6 entries match only
// IPv6 peers: to admit everyone, list both 0.0.0.0/0 and ::/0.
//
// No groups, or only empty ones, give an Allowlist that admits no peer.
func NewAllowlist(groups []Group) (*Allowlist, error) {
	var errs []error
	fail := func(gi int, g Group, i int, entry, msg string) {
		errs = append(errs, &EntryError{Group: g.Name, GroupIndex: gi, Index: i, Entry: entry, Msg: msg})
	}
	al := &Allowlist{groups: cloneGroups(groups)}
	seen := make(map[string]int, len(groups))
	for gi, g := range groups {
		if msg := checkGroupName(g.Name); msg != "" {
			fail(gi, g, -1, "", msg)
		} else if prev, dup := seen[strings.ToLower(g.Name)]; dup {
			fail(gi, g, -1, "", fmt.Sprintf("group name already used by group #%d %q", prev+1, groups[prev].Name))
		} else {
			seen[strings.ToLower(g.Name)] = gi
		}
		entries := g.Entries
		if len(entries) > MaxGroupEntries {
			errs = append(errs, &EntryError{Group: g.Name, GroupIndex: gi, Index: MaxGroupEntries, Entry: entries[MaxGroupEntries],
				Msg: fmt.Sprintf("the group has %d entries; at most %d are allowed", len(entries), MaxGroupEntries)})
			entries = entries[:MaxGroupEntries]
		}
		open := false
		for i, e := range entries {
			p, msg := parseEntry(e)
			if msg != "" {
				fail(gi, g, i, e, msg)
				continue
			}
			if p.Bits() == 0 {
				open = true
			}
			if p.Addr().Is4() {
				lo := binary.BigEndian.Uint32(p.Addr().AsSlice())
				al.v4 = append(al.v4, range4{lo, lo | uint32(uint64(1)<<(32-p.Bits())-1)})
			} else {
				lo := u128Of(p.Addr())
				al.v6 = append(al.v6, range6{lo, lastOf(lo, p.Bits())})
			}
		}
		if open {
			al.open = append(al.open, g.Name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	al.v4 = merge4(al.v4)
	al.v6 = merge6(al.v6)
	return al, nil
}

// checkGroupName returns what is wrong with a group name, or "".
func checkGroupName(name string) string {
	switch {
	case name == "":
		return "the group has no name"
	case len(name) > MaxGroupNameLen:
		return fmt.Sprintf("the group name is longer than %d bytes", MaxGroupNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "the group name may hold only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

// parseEntry parses one allowlist entry into a masked, unmapped prefix,
// or returns what is wrong with it.
func parseEntry(s string) (netip.Prefix, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, "empty entry"
	}
	if strings.IndexByte(s, '%') >= 0 {
		return netip.Prefix{}, "zones are not supported; write the address without %zone"
	}
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, "not an IPv4 or IPv6 address or CIDR prefix"
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, "not an IPv4 or IPv6 address or CIDR prefix"
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Sprintf("the address has bits set after the /%d prefix; write %s for the network, or %s for the single address",
			p.Bits(), m, p.Addr().Unmap())
	}
	// A masked prefix holding an IPv4-mapped address is /96 or longer:
	// a shorter one would have the ffff of the mapping in its host bits.
	if a := p.Addr(); a.Is4In6() {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96), ""
	}
	return p, ""
}

// lastOf returns the last address of the IPv6 prefix lo/bits.
func lastOf(lo u128, bits int) u128 {
	host := 128 - bits
	switch {
	case host == 0:
		return lo
	case host >= 64:
		return u128{lo.hi | (^uint64(0) >> (128 - host)), ^uint64(0)}
	}
	return u128{lo.hi, lo.lo | (^uint64(0) >> (64 - host))}
}

// merge4 sorts ranges and joins those that overlap or touch.
func merge4(rs []range4) []range4 {
	slices.SortFunc(rs, func(a, b range4) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (out[n-1].hi == ^uint32(0) || r.lo <= out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// merge6 sorts ranges and joins those that overlap or touch.
func merge6(rs []range6) []range6 {
	slices.SortFunc(rs, func(a, b range6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 {
			next, ok := out[n-1].hi.next()
			if !ok || !next.less(r.lo) {
				if out[n-1].hi.less(r.hi) {
					out[n-1].hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// Allows reports whether a peer at a may connect. An IPv4-mapped IPv6
// address is judged as its IPv4 address and a zone is ignored. It does
// not allocate. The zero netip.Addr and the nil *Allowlist allow nothing.
func (al *Allowlist) Allows(a netip.Addr) bool {
	if al == nil {
		return false
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		x := binary.BigEndian.Uint32(b[:])
		rs := al.v4
		// Find the first range whose hi is >= x.
		i, j := 0, len(rs)
		for i < j {
			h := int(uint(i+j) >> 1)
			if rs[h].hi < x {
				i = h + 1
			} else {
				j = h
			}
		}
		return i < len(rs) && rs[i].lo <= x
	}
	if !a.Is6() {
		return false
	}
	x := u128Of(a)
	rs := al.v6
	i, j := 0, len(rs)
	for i < j {
		h := int(uint(i+j) >> 1)
		if rs[h].hi.less(x) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i < len(rs) && !x.less(rs[i].lo)
}

// Groups returns a copy of the groups the Allowlist was made from, as
// given, for display.
func (al *Allowlist) Groups() []Group {
	if al == nil {
		return nil
	}
	return cloneGroups(al.groups)
}

// Open reports whether the Allowlist admits every IPv4 or every IPv6
// address, by one entry (0.0.0.0/0, ::/0) or by several together.
func (al *Allowlist) Open() bool {
	if al == nil {
		return false
	}
	return len(al.v4) == 1 && al.v4[0] == range4{0, ^uint32(0)} ||
		len(al.v6) == 1 && al.v6[0] == range6{u128{}, u128{^uint64(0), ^uint64(0)}}
}

// OpenGroups returns the names of the groups with an entry that admits
// a whole address family (0.0.0.0/0 or ::/0), for a scanner's finding.
func (al *Allowlist) OpenGroups() []string {
	if al == nil {
		return nil
	}
	return slices.Clone(al.open)
}

func cloneGroups(gs []Group) []Group {
	if gs == nil {
		return nil
	}
	out := make([]Group, len(gs))
	for i, g := range gs {
		out[i] = Group{Name: g.Name, Entries: slices.Clone(g.Entries)}
	}
	return out
}
