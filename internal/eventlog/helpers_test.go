package eventlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a fake Now for tests: every call is one millisecond later.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// openLog opens a Log on dir with a fake clock, closed when the test ends.
func openLog(t testing.TB, opts Options) *Log {
	t.Helper()
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN appends n entries of type "test" and waits until they are written.
func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := range n {
		l.Append(Entry{Type: "test", Addr: "10.0.0.1:" + strconv.Itoa(i), Detail: "entry " + strconv.Itoa(i)})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
}

// writeLog makes a closed log in a new directory with n entries in files
// of at most maxSize bytes, and returns the directory.
func writeLog(t testing.TB, n int, maxSize int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "events")
	l := openLog(t, Options{Dir: dir, MaxFileSize: maxSize, MaxFiles: 1000, Instance: "test"})
	appendN(t, l, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// names returns the event files of dir, oldest first.
func names(t testing.TB, dir string) []string {
	t.Helper()
	files, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.name)
	}
	return out
}

// lines returns the lines of an event file, newlines kept.
func lines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))
}

// writeLines replaces an event file.
func writeLines(t testing.TB, path string, ls [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(ls, nil), FileMode); err != nil {
		t.Fatal(err)
	}
}

// entries returns every sound entry of dir.
func entries(t testing.TB, dir string) []Entry {
	t.Helper()
	es, err := Query(dir, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// mustVerify verifies dir and fails the test on an error.
func mustVerify(t testing.TB, dir string) Report {
	t.Helper()
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
