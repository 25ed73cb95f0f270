package slowlog

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// argv turns strings into a command as the server's reader hands it over.
func argv(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// numbered returns "RPUSH", "k", then values "3", "4", … up to n arguments.
func numbered(n int) []string {
	out := []string{"RPUSH", "k"}
	for i := 2; i < n; i++ {
		out = append(out, fmt.Sprint(i+1))
	}
	return out
}

func TestTruncation(t *testing.T) {
	long := strings.Repeat("x", 300)
	with := func(args []string, i int, s string) []string {
		args = slices.Clone(args)
		args[i] = s
		return args
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"empty command", nil, []string{}},
		{"empty argument", []string{"SET", "k", ""}, []string{"SET", "k", ""}},
		{"binary kept", []string{"SET", "k", "\x00\xff\r\n"}, []string{"SET", "k", "\x00\xff\r\n"}},
		{"128 bytes kept whole", []string{"SET", "k", strings.Repeat("a", 128)}, []string{"SET", "k", strings.Repeat("a", 128)}},
		{"129 bytes", []string{"SET", "k", strings.Repeat("a", 129)},
			[]string{"SET", "k", strings.Repeat("a", 128) + "... (1 more bytes)"}},
		{"300 bytes", []string{"SET", "k", long},
			[]string{"SET", "k", long[:128] + "... (172 more bytes)"}},
		{"long key and name", []string{long, long},
			[]string{long[:128] + "... (172 more bytes)", long[:128] + "... (172 more bytes)"}},
		{"31 arguments", numbered(31), numbered(31)},
		{"32 arguments kept", numbered(32), numbered(32)},
		{"33 arguments", numbered(33), append(numbered(31), "... (2 more arguments)")},
		{"40 arguments", numbered(40), append(numbered(31), "... (9 more arguments)")},
		{"40 arguments, a long one cut", with(numbered(40), 5, long),
			append(with(numbered(31), 5, long[:128]+"... (172 more bytes)"), "... (9 more arguments)")},
		{"long argument replaced by the marker", with(numbered(40), 31, long),
			append(numbered(31), "... (9 more arguments)")},
		{"long 32nd argument of 32 is cut", with(numbered(32), 31, long),
			with(numbered(32), 31, long[:128]+"... (172 more bytes)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newEntry(argv(tt.args...), "127.0.0.1:5000", "app")
			if !slices.Equal(got.Args, tt.want) {
				t.Errorf("args\n got %q\nwant %q", got.Args, tt.want)
			}
			if got.Addr != "127.0.0.1:5000" || got.Name != "app" {
				t.Errorf("addr %q name %q", got.Addr, got.Name)
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		name      string
		maxLen    int
		threshold time.Duration
		d         time.Duration
		want      bool
	}{
		{"zero logs everything", 128, 0, 0, true},
		{"negative disables", 128, -time.Microsecond, time.Hour, false},
		{"negative under a microsecond disables", 128, -500 * time.Nanosecond, time.Hour, false},
		{"equal is logged", 128, 10 * time.Millisecond, 10 * time.Millisecond, true},
		{"just under is not", 128, 10 * time.Millisecond, 10*time.Millisecond - time.Microsecond, false},
		{"microsecond resolution: 1999ns is 1µs", 128, 2 * time.Microsecond, 1999 * time.Nanosecond, false},
		{"microsecond resolution: 999ns is 0µs", 128, time.Microsecond, 999 * time.Nanosecond, false},
		{"threshold truncated to 1µs", 128, 1500 * time.Nanosecond, time.Microsecond, true},
		{"max len 0 disables", 0, 0, time.Hour, false},
		{"negative max len disables", -1, 0, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(tt.maxLen, tt.threshold)
			if got := l.Enabled(tt.d); got != tt.want {
				t.Errorf("Enabled(%v) = %v, want %v", tt.d, got, tt.want)
			}
			l.Add(tt.d, argv("PING"), "a:1", "", time.Unix(1, 0))
			if got := l.Len() == 1; got != tt.want {
				t.Errorf("Add(%v) logged = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
}

// ids returns the ids of l's entries, newest first.
func ids(l *Log, n int) []int64 {
	var out []int64
	for _, e := range l.Get(n) {
		out = append(out, e.ID)
	}
	return out
}

// addN logs n commands; each one's single argument is its number.
func addN(l *Log, n int) {
	for i := 0; i < n; i++ {
		l.Add(time.Second, argv(fmt.Sprint(i)), "a:1", "", time.Unix(int64(i), 0))
	}
}

func TestRing(t *testing.T) {
	tests := []struct {
		name   string
		maxLen int
		add    int
		get    int
		want   []int64
	}{
		{"empty", 3, 0, -1, nil},
		{"under max", 3, 2, -1, []int64{1, 0}},
		{"at max", 3, 3, -1, []int64{2, 1, 0}},
		{"wrapped", 3, 5, -1, []int64{4, 3, 2}},
		{"wrapped many times", 3, 100, -1, []int64{99, 98, 97}},
		{"count", 3, 5, 2, []int64{4, 3}},
		{"count 0", 3, 5, 0, nil},
		{"count over len", 3, 5, 10, []int64{4, 3, 2}},
		{"grows past the first allocation", 20, 25, -1,
			[]int64{24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5}},
		{"default count", DefaultMaxLen, 50, DefaultGetCount, []int64{49, 48, 47, 46, 45, 44, 43, 42, 41, 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(tt.maxLen, 0)
			addN(l, tt.add)
			if got := ids(l, tt.get); !slices.Equal(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
			if got, want := l.Len(), min(tt.add, tt.maxLen); got != want {
				t.Errorf("Len %d, want %d", got, want)
			}
			// Each entry still carries its own command.
			for _, e := range l.Get(-1) {
				if want := fmt.Sprint(e.ID); len(e.Args) != 1 || e.Args[0] != want {
					t.Errorf("entry %d has args %q", e.ID, e.Args)
				}
			}
		})
	}
}

func TestResetKeepsIDs(t *testing.T) {
	l := New(10, 0)
	addN(l, 3)
	l.Reset()
	if l.Len() != 0 || len(l.Get(-1)) != 0 {
		t.Fatalf("after Reset: Len %d", l.Len())
	}
	addN(l, 2)
	if got, want := ids(l, -1), []int64{4, 3}; !slices.Equal(got, want) {
		t.Errorf("ids after Reset %v, want %v", got, want)
	}
}

func TestSetMaxLen(t *testing.T) {
	l := New(10, 0)
	addN(l, 12) // ids 2..11 kept, wrapped
	l.SetMaxLen(3)
	if got, want := ids(l, -1), []int64{11, 10, 9}; !slices.Equal(got, want) {
		t.Fatalf("after shrinking: %v, want %v", got, want)
	}
	addN(l, 1)
	if got, want := ids(l, -1), []int64{12, 11, 10}; !slices.Equal(got, want) {
		t.Fatalf("after one more: %v, want %v", got, want)
	}
	l.SetMaxLen(5)
	addN(l, 1)
	if got, want := ids(l, -1), []int64{13, 12, 11, 10}; !slices.Equal(got, want) {
		t.Fatalf("after growing: %v, want %v", got, want)
	}

	// Length 0 disables the log and, as in Redis 7.4, spends no ids.
	l.SetMaxLen(0)
	if l.Len() != 0 || l.Enabled(time.Hour) || l.MaxLen() != 0 {
		t.Fatalf("max len 0: Len %d Enabled %v", l.Len(), l.Enabled(time.Hour))
	}
	addN(l, 3)
	l.SetMaxLen(2)
	addN(l, 1)
	if got, want := ids(l, -1), []int64{14}; !slices.Equal(got, want) {
		t.Fatalf("after re-enabling: %v, want %v", got, want)
	}

	// A shrink that keeps every entry still bounds the ring.
	l = New(100, 0)
	addN(l, 20)
	l.Reset()
	addN(l, 2)
	l.SetMaxLen(4)
	addN(l, 5)
	if got, want := ids(l, -1), []int64{26, 25, 24, 23}; !slices.Equal(got, want) {
		t.Fatalf("after a shrink under the count: %v, want %v", got, want)
	}
}

func TestSettings(t *testing.T) {
	l := New(128, 10*time.Millisecond)
	if l.MaxLen() != 128 || l.Threshold() != 10*time.Millisecond {
		t.Fatalf("MaxLen %d Threshold %v", l.MaxLen(), l.Threshold())
	}
	l.SetThreshold(-5 * time.Microsecond)
	if got := l.Threshold().Microseconds(); got != -5 {
		t.Errorf("CONFIG GET shows %d, want -5", got)
	}
	if l.Enabled(time.Hour) {
		t.Error("negative threshold still enabled")
	}
	l.SetThreshold(2500 * time.Nanosecond)
	if got := l.Threshold(); got != 2*time.Microsecond {
		t.Errorf("threshold %v, want 2µs", got)
	}
	if !l.Enabled(2*time.Microsecond) || l.Enabled(1999*time.Nanosecond) {
		t.Error("threshold of 2µs not applied")
	}
}

func TestEntryFields(t *testing.T) {
	l := New(10, 0)
	now := time.Unix(1700000000, 123)
	args := argv("SET", "key", "value")
	addr, name := []byte("10.0.0.1:6000"), []byte("worker")
	l.Add(1234567*time.Nanosecond, args, string(addr), string(name), now)

	// The caller reuses its buffers.
	for _, a := range args {
		copy(a, bytes.Repeat([]byte("#"), len(a)))
	}
	e := l.Get(1)[0]
	want := Entry{ID: 0, Time: now, Duration: 1234567 * time.Nanosecond,
		Args: []string{"SET", "key", "value"}, Addr: "10.0.0.1:6000", Name: "worker"}
	if e.ID != want.ID || !e.Time.Equal(want.Time) || e.Duration != want.Duration ||
		!slices.Equal(e.Args, want.Args) || e.Addr != want.Addr || e.Name != want.Name {
		t.Fatalf("entry %+v, want %+v", e, want)
	}
	if e.Time.Unix() != 1700000000 || e.Duration.Microseconds() != 1234 {
		t.Errorf("reply fields %d %d", e.Time.Unix(), e.Duration.Microseconds())
	}

	// What Get returns is the caller's to change.
	e.Args[0] = "DEL"
	if got := l.Get(1)[0].Args[0]; got != "SET" {
		t.Errorf("changing a returned entry changed the log: %q", got)
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	if l.Enabled(time.Hour) || l.Len() != 0 || l.Get(-1) != nil {
		t.Fatal("nil log not empty")
	}
	l.Add(time.Hour, argv("PING"), "", "", time.Now())
	l.Reset()
}

func TestEnabledDoesNotAllocate(t *testing.T) {
	l := New(128, 10*time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { _ = l.Enabled(time.Millisecond) }); n != 0 {
		t.Errorf("Enabled allocates %v times", n)
	}
}

func TestConcurrent(t *testing.T) {
	l := New(64, 0)
	const workers, per = 8, 500
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := argv("SET", "key", strings.Repeat("v", 200))
			for i := 0; i < per; i++ {
				if l.Enabled(time.Millisecond) {
					l.Add(time.Millisecond, buf, "127.0.0.1:1", "c", time.Now())
				}
				buf[1][0] = byte(i) // the caller reuses its buffer
				switch i % 100 {
				case 10:
					_ = l.Get(-1)
				case 20:
					_ = l.Len()
				case 30:
					l.SetMaxLen(1 + i%64)
				case 40:
					l.SetThreshold(0)
				case 50:
					if w == 0 {
						l.Reset()
					}
				}
			}
		}()
	}
	wg.Wait()
	got := ids(l, -1)
	if len(got) > 64 {
		t.Fatalf("%d entries over the max of 64", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] >= got[i-1] {
			t.Fatalf("ids not newest first: %v", got)
		}
	}
}

// TestAddAllocatesTwice checks that newEntry sizes its one buffer exactly:
// the buffer and the Args slice are the only allocations.
func TestAddAllocatesTwice(t *testing.T) {
	l := New(4, 0)
	for _, args := range [][][]byte{
		argv("PING"),
		argv(append(numbered(39), strings.Repeat("x", 1000))...),
		argv(append(numbered(32)[:31], strings.Repeat("y", 12345))...),
	} {
		if n := testing.AllocsPerRun(100, func() { l.Add(0, args, "127.0.0.1:1", "name", time.Time{}) }); n != 2 {
			t.Errorf("%d args: %v allocations, want 2", len(args), n)
		}
	}
}
