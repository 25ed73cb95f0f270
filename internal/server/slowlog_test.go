package server

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// slowArgs reads SLOWLOG GET -1 and returns each entry's arguments joined
// by spaces, oldest first, and its client name.
func slowArgs(t *testing.T, addr string) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	v, err := c.Do(t.Context(), "SLOWLOG", "GET", "-1").Slice()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(v) - 1; i >= 0; i-- {
		e := v[i].([]any)
		var parts []string
		for _, a := range e[3].([]any) {
			parts = append(parts, a.(string))
		}
		out = append(out, strings.Join(parts, " ")+" name="+e[5].(string))
	}
	return out
}

// TestSlowlogMatchesRedis: with slowlog-log-slower-than 0, Redoubt's slow
// log holds the same entries as a real redis-server's for one sequence:
// passwords redacted (AUTH, HELLO AUTH), long commands and arguments cut
// as Redis cuts them, the client name, commands inside MULTI/EXEC logged
// and EXEC itself not, SLOWLOG RESET and LEN.
func TestSlowlogMatchesRedis(t *testing.T) {
	r := testutil.StartRedis(t, "--slowlog-log-slower-than", "0")
	m := DefaultMonitoring()
	m.SlowlogSlowerThan = 0
	s := startServer(t, Options{Monitoring: &m})
	long := strings.Repeat("x", 300)
	many := []string{"RPUSH", "list"}
	for i := range 40 {
		many = append(many, "e"+itoa(i))
	}
	seq := [][]string{
		{"SLOWLOG", "RESET"},
		{"SET", "k", long},
		many,
		{"AUTH", "nosuchpassword"},
		{"HELLO", "2", "AUTH", "default", "wrongpass"},
		{"CLIENT", "SETNAME", "worker-1"},
		{"GET", "k"},
		{"MULTI"}, {"INCR", "n"}, {"EXEC"},
		{"SLOWLOG", "LEN"},
	}
	run := func(addr string) []string {
		cl := dial(t, addr)
		for _, c := range seq {
			cl.do(c...)
		}
		return slowArgs(t, addr)
	}
	want, got := run(r.Addr), run(s.Addrs()[0])
	if len(want) < 8 {
		t.Fatalf("redis-server logged only %d entries: %q", len(want), want)
	}
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("slow logs differ:\nredis:\n%s\nredoubt:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	for _, e := range got {
		if strings.Contains(e, "nosuchpassword") || strings.Contains(e, "wrongpass") {
			t.Errorf("a password reached the slow log: %q", e)
		}
	}
}

// TestSlowlogThreshold: under the default 10 ms threshold quick commands
// are not logged; SLOWLOG GET's count is checked as Redis checks it.
func TestSlowlogThreshold(t *testing.T) {
	s := startServer(t, Options{})
	cl := dial(t, s.Addrs()[0])
	for range 100 {
		cl.do("SET", "a", "b")
	}
	if got := cl.do("SLOWLOG", "LEN"); got != ":0\r\n" {
		t.Errorf("SLOWLOG LEN after quick commands = %q", got)
	}
	for _, tc := range []struct{ args []string }{{[]string{"SLOWLOG", "GET", "-2"}}, {[]string{"SLOWLOG", "GET", "x"}}} {
		if got := cl.do(tc.args...); got != "-ERR count should be greater than or equal to -1\r\n" {
			t.Errorf("%v = %q", tc.args, got)
		}
	}
}
