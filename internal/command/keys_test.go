package command

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func splitArgs(line string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(line) {
		if f == `""` {
			f = ""
		}
		out = append(out, []byte(f))
	}
	return out
}

func TestKeys(t *testing.T) {
	tab := New()
	for _, tc := range []struct {
		line string
		want []int
		err  error
	}{
		{"GET k", []int{1}, nil},
		{"SET k v GET", []int{1}, nil},
		{"MSET a 1 b 2", []int{1, 3}, nil},
		{"DEL a b c", []int{1, 2, 3}, nil},
		{"ZUNIONSTORE d 2 a b", []int{1, 3, 4}, nil},
		{"ZUNIONSTORE d 1x a b", []int{3, 1}, nil}, // the spec fails, atoi accepts "1x"
		{"ZUNIONSTORE d -1 a", nil, ErrInvalidKeyArgs},
		{"ZUNIONSTORE d 99999999999999999999 a", nil, ErrInvalidKeyArgs},
		{"ZUNIONSTORE d 4294967297 a", []int{1, 3}, nil}, // Redis keeps the count in a C int
		{"EVAL s 2 a b c", []int{3, 4}, nil},
		{"EVAL s 0", []int{}, nil}, // no_mandatory_keys
		{"XREAD COUNT 2 STREAMS a b 0 0", []int{4, 5}, nil},
		{"XREAD COUNT 1 a", nil, ErrInvalidKeyArgs},
		{"XREAD STREAMS a b c", []int{2}, nil},
		{"LMPOP 2 a b LEFT", []int{2, 3}, nil},
		{"SORT k BY x STORE d", []int{1, 5}, nil},
		{"SORT_RO k BY x", []int{1}, nil},
		{`MIGRATE h 1 "" 0 5 KEYS a b`, []int{7, 8}, nil},
		{"MIGRATE h 1 k 0 5 KEYS a b", nil, ErrInvalidKeyArgs},
		{"GEORADIUS k 0 0 1 m STORE d", []int{1, 7}, nil},
		{"OBJECT ENCODING k", []int{2}, nil},
		{"PING", nil, ErrNoKeys},
		{"SSUBSCRIBE ch", nil, ErrNoKeys},
		{"GET", nil, ErrKeysArity},
		{"GET a b", nil, ErrKeysArity},
	} {
		args := splitArgs(tc.line)
		s := tab.Lookup(args[0])
		if len(s.Subcommands) > 0 {
			s = tab.LookupSub(s, args[1])
		}
		got, err := s.Keys(args)
		if !errors.Is(err, tc.err) || (tc.err == nil && !equalInts(got, tc.want)) {
			t.Errorf("%s: got %v, %v; want %v, %v", tc.line, got, err, tc.want, tc.err)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKeysAndFlags(t *testing.T) {
	tab := New()
	s := tab.Lookup([]byte("set"))
	for line, want := range map[string]KeyFlag{
		"SET k v":          KeyOW | KeyUpdate,
		"SET k v gEt":      KeyRW | KeyAccess | KeyUpdate,
		"SET k v get\x00x": KeyRW | KeyAccess | KeyUpdate, // C compares up to the NUL
	} {
		refs, err := s.KeysAndFlags(bytes.Split([]byte(line), []byte(" ")))
		if err != nil || len(refs) != 1 || refs[0].Pos != 1 || refs[0].Flags != want {
			t.Errorf("%q: %v %v", line, refs, err)
		}
	}
}

func TestNumberParsing(t *testing.T) {
	for in, want := range map[string]int{
		"12": 12, " \t12x": 12, "-3": -3, "+4": 4, "x": 0, "": 0, "4294967297": 1,
		"99999999999999999999": -1, "-99999999999999999999": 0, "2147483648": -2147483648,
		"9223372036854775808": -1, "1\x002": 1,
	} {
		if got := catoi([]byte(in)); got != want {
			t.Errorf("catoi(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]bool{
		"0": true, "12": true, "-12": true, "-0": false, "012": false, "+1": false, " 1": false,
		"9223372036854775807": true, "9223372036854775808": false, "-9223372036854775808": true,
		"-9223372036854775809": false, "": false, "-": false, "1x": false,
	} {
		if _, ok := parseInt64([]byte(in)); ok != want {
			t.Errorf("parseInt64(%q) ok = %v", in, ok)
		}
	}
}

// FuzzKeys checks that Keys never panics and returns indexes inside args,
// for any spec and any arguments. An input is one command line, arguments
// separated by newlines; id picks a spec when the name is unknown.
func FuzzKeys(f *testing.F) {
	for i, line := range getkeysSamples {
		f.Add(uint16(i), []byte(strings.ReplaceAll(line, " ", "\n")))
	}
	f.Add(uint16(0), []byte("EVAL\ns\n-9223372036854775808\nk"))
	f.Add(uint16(1), []byte("XREADGROUP\nGROUP\nSTREAMS\nSTREAMS\nSTREAMS"))
	tab := New()
	f.Fuzz(func(t *testing.T, id uint16, line []byte) {
		args := bytes.Split(line, []byte("\n"))
		s := tab.Lookup(args[0])
		if s != nil && len(s.Subcommands) > 0 && len(args) > 1 {
			s = tab.LookupSub(s, args[1])
		}
		if s == nil {
			s = tab.ByID[int(id)%tab.Len()]
		}
		keys, err := s.Keys(args)
		if err != nil {
			return
		}
		if len(keys) > len(args)*(len(s.KeySpecs)+1) {
			t.Fatalf("%s: %d keys from %d arguments", s.Name, len(keys), len(args))
		}
		for _, k := range keys {
			if k < 1 || k >= len(args) {
				t.Fatalf("%s: key index %d outside 1..%d", s.Name, k, len(args)-1)
			}
		}
	})
}
