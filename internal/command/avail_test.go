package command

import (
	"bytes"
	"strings"
	"testing"

	"redoubt/internal/resp"
)

func run(tab *Table, avail func(*Spec) bool, args ...string) string {
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	tab.Command(w, b, avail)
	_ = w.Flush()
	return out.String()
}

// TestCommandAvail: specs the backend cannot run are treated as unknown.
func TestCommandAvail(t *testing.T) {
	tab := New()
	hidden := func(s *Spec) bool {
		return s.Name != "get" && s.Name != "config|set" && s.Name != "object" && s.Name != "command|docs"
	}
	all := run(tab, nil, "COMMAND", "COUNT")
	if all != ":241\r\n" { // Redis's 240 and REDOUBT
		t.Fatalf("COUNT = %q", all)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"COMMAND", "COUNT"}, ":239\r\n"}, // get and object hidden
		{[]string{"COMMAND", "INFO", "get", "config|set", "object|encoding"}, "*3\r\n$-1\r\n$-1\r\n$-1\r\n"},
		{[]string{"COMMAND", "GETKEYS", "GET", "k"}, "-ERR Invalid command specified\r\n"},
		{[]string{"COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"}, "-ERR Invalid command specified\r\n"},
		{[]string{"COMMAND", "DOCS", "x"}, "-ERR unknown subcommand 'DOCS'. Try COMMAND HELP.\r\n"},
		{[]string{"COMMAND", "LIST", "FILTERBY", "PATTERN", "get"}, "*0\r\n"},
	} {
		if got := run(tab, hidden, tc.args...); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
	cfg := run(tab, hidden, "COMMAND", "INFO", "config")
	if strings.Contains(cfg, "config|set") || !strings.Contains(cfg, "config|get") {
		t.Errorf("config's subcommands not filtered: %q", cfg)
	}
	list := run(tab, hidden, "COMMAND", "LIST")
	if strings.Contains(list, "$3\r\nget\r\n") || strings.Contains(list, "config|set") ||
		strings.Contains(list, "object|") {
		t.Errorf("LIST shows hidden specs")
	}
}

// TestCommandHostile: odd arguments get Redis's errors, never a panic.
func TestCommandHostile(t *testing.T) {
	tab := New()
	for _, args := range [][]string{
		{"COMMAND", "GETKEYS", ""}, {"COMMAND", "GETKEYS", "\x00"}, {"COMMAND", "INFO", strings.Repeat("|", 100)},
		{"COMMAND", "DOCS", "", "|", "a|b|c"}, {"COMMAND", "LIST", "FILTERBY", "PATTERN", strings.Repeat("*a", 2000)},
		{"COMMAND", "GETKEYS", "EVAL", "s", "2147483647", "k"}, {"COMMAND", "GETKEYSANDFLAGS", "ZUNIONSTORE", "d", "-2147483648", "a"},
		{"COMMAND", "unknown\x00sub"},
	} {
		got := run(tab, nil, args...)
		if got == "" || !(got[0] == '*' || got[0] == '-' || got[0] == '%') {
			t.Errorf("%q: %q", args, got)
		}
	}
	if got := run(tab, nil, "COMMAND", "unknown\x00sub"); got != "-ERR unknown subcommand 'unknown'. Try COMMAND HELP.\r\n" {
		t.Errorf("NUL in subcommand: %q", got)
	}
}
