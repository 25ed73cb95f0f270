package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// infoFields parses INFO lines "name:a=1,b=2" (or "name:1") of one
// section into name → field → value.
func infoFields(text string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		f := map[string]string{}
		if !strings.Contains(val, "=") {
			f[""] = val // a plain value
		}
		for _, kv := range strings.Split(val, ",") {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		out[name] = f
	}
	return out
}

// TestCommandstatsErrorstatsMatchRedis runs one sequence of commands —
// successes, errors while running, refusals before running, unknown
// commands, a transaction — on a real redis-server and on Redoubt, and
// compares the calls, rejected_calls and failed_calls of INFO
// commandstats and every count of INFO errorstats.
func TestCommandstatsErrorstatsMatchRedis(t *testing.T) {
	r := testutil.StartRedis(t)
	s := startServer(t, Options{})
	seq := [][]string{
		{"SET", "k", "v"}, {"SET", "k", "v2"}, {"GET", "k"}, {"GET", "missing"},
		{"LPUSH", "k", "x"}, // WRONGTYPE while running
		{"GET"},             // arity: rejected
		{"SET", "k"},        // arity: rejected
		{"FOOBAR", "x"},     // unknown: an error, no command
		{"INCR", "k"},       // ERR not an integer
		{"SELECT", "99"},    // ERR DB index out of range
		{"HSET", "h", "f", "v"}, {"HGET", "h", "f"}, {"HGETALL", "h"},
		{"MULTI"}, {"INCR", "n"}, {"SET", "n2", "1"}, {"EXEC"},
		{"MULTI"}, {"GET"}, {"EXEC"}, // EXECABORT after a refusal in the queue
		{"CLIENT", "NOSUCH"}, // unknown subcommand
		{"OBJECT", "ENCODING", "k"},
		{"ZADD", "z", "notafloat", "m"},
	}
	run := func(addr string) (cmd, errs map[string]map[string]string) {
		cl := dial(t, addr)
		for _, c := range seq {
			cl.do(c...)
		}
		return infoFields(cl.do("INFO", "commandstats")), infoFields(cl.do("INFO", "errorstats"))
	}
	wantCmd, wantErr := run(r.Addr)
	gotCmd, gotErr := run(s.Addrs()[0])
	names := map[string]bool{}
	for _, c := range seq {
		names["cmdstat_"+strings.ToLower(c[0])] = true
	}
	names["cmdstat_client|nosuch"] = true
	names["cmdstat_object|encoding"] = true
	for name := range names {
		w, g := wantCmd[name], gotCmd[name]
		for _, f := range []string{"calls", "rejected_calls", "failed_calls"} {
			if w[f] != g[f] {
				t.Errorf("%s %s: redis %q, redoubt %q", name, f, w[f], g[f])
			}
		}
	}
	if len(wantErr) == 0 {
		t.Fatal("redis-server reported no errorstats: the sequence made no errors")
	}
	for name, w := range wantErr {
		if g := gotErr[name]; g["count"] != w["count"] {
			t.Errorf("%s: redis %q, redoubt %q", name, w["count"], g["count"])
		}
	}
	for name := range gotErr {
		if wantErr[name] == nil {
			t.Errorf("%s: only Redoubt has it (%v)", name, gotErr[name])
		}
	}
}

// TestCommandstatsRefusals: the front door's refusals — a disabled
// command and an account's rules — are rejected calls with their error
// types, as Redis counts ACL denials.
func TestCommandstatsRefusals(t *testing.T) {
	s := startServer(t, Options{})
	cl := dial(t, s.Addrs()[0])
	if got := cl.do("CONFIG", "SET", "maxmemory", "1"); !strings.HasPrefix(got, "-") {
		t.Fatalf("CONFIG SET: %q", got)
	}
	cl.do("SET", "a", "1")
	cmd := infoFields(cl.do("INFO", "commandstats"))
	if got := cmd["cmdstat_config|set"]["rejected_calls"]; got != "1" {
		t.Errorf("config|set rejected_calls = %q, want 1 (%v)", got, cmd)
	}
	if got := cmd["cmdstat_set"]["calls"]; got != "1" {
		t.Errorf("set calls = %q, want 1", got)
	}
	if us := cmd["cmdstat_set"]["usec"]; us == "" {
		t.Errorf("set has no usec: %v", cmd["cmdstat_set"])
	}
	errs := infoFields(cl.do("INFO", "errorstats"))
	if len(errs) != 1 || errs["errorstat_ERR"]["count"] != "1" {
		t.Errorf("errorstats = %v, want errorstat_ERR:count=1", errs)
	}
}

// TestStatsOff: with monitoring off no per-command figure is kept.
func TestStatsOff(t *testing.T) {
	s := startServer(t, Options{Monitoring: &Monitoring{Off: true}})
	cl := dial(t, s.Addrs()[0])
	cl.do("SET", "a", "1")
	if got := cl.do("INFO", "commandstats"); strings.Contains(got, "cmdstat_") {
		t.Errorf("commandstats with monitoring off: %q", got)
	}
}

// TestInstantaneousOps: while a client sends commands, INFO stats shows
// instantaneous_ops_per_sec well above zero; once it stops, the figure
// falls back to the rate of the INFO polls alone.
func TestInstantaneousOps(t *testing.T) {
	s := startServer(t, Options{})
	cl := dial(t, s.Addrs()[0])
	field := func() int {
		n, _ := strconv.Atoi(infoFields(cl.do("INFO", "stats"))["instantaneous_ops_per_sec"][""])
		return n
	}
	peak := 0
	testutil.WaitFor(t, 10*time.Second, "instantaneous_ops_per_sec above 4000", func() bool {
		for range 500 {
			cl.do("INCR", "n")
		}
		peak = field()
		return peak > 4000
	})
	// Polled every 5 ms, INFO alone makes at most 200 commands a second.
	testutil.WaitFor(t, 10*time.Second, "instantaneous_ops_per_sec to fall", func() bool {
		return field() < peak/10
	})
}
