package aof

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/datadir"
	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openDir opens a fresh data directory for a test.
func openDir(t testing.TB, path string) *datadir.Dir {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "data")
	}
	d, err := datadir.Open(path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// errInjected is the error injected faults return.
var errInjected = errors.New("injected fault")

// faultFS wraps an FS: every operation is counted and logged, can be
// made to fail, and hook runs before each.
type faultFS struct {
	FS
	mu    sync.Mutex
	fail  map[string]error // "op" or "op:name" -> error
	ops   []string
	hook  func(n int, op string) // before the n-th operation (1-based)
	count map[string]int
}

func newFaultFS(inner FS) *faultFS {
	return &faultFS{FS: inner, fail: map[string]error{}, count: map[string]int{}}
}

func (f *faultFS) setFail(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, key)
	} else {
		f.fail[key] = err
	}
}

func (f *faultFS) calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[op]
}

// check records the operation and returns its injected error.
func (f *faultFS) check(op, name string) error {
	f.mu.Lock()
	f.ops = append(f.ops, op+":"+name)
	f.count[op]++
	n, hook := len(f.ops), f.hook
	err := f.fail[op+":"+name]
	if err == nil {
		err = f.fail[op]
	}
	f.mu.Unlock()
	if hook != nil {
		hook(n, op+":"+name)
	}
	return err
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	if err := f.check("open", name); err != nil {
		return nil, err
	}
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, name: name}, nil
}

func (f *faultFS) Rename(o, n string) error {
	if err := f.check("rename", n); err != nil {
		return err
	}
	return f.FS.Rename(o, n)
}

func (f *faultFS) Remove(name string) error {
	if err := f.check("remove", name); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

func (f *faultFS) SyncDir() error {
	if err := f.check("syncdir", ""); err != nil {
		return err
	}
	return f.FS.SyncDir()
}

type faultFile struct {
	File
	fs   *faultFS
	name string
}

// Write fails after writing half of p: a partial write, the worst case.
func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.check("write", f.name); err != nil {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.check("sync", f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(n int64) error {
	if err := f.fs.check("truncate", f.name); err != nil {
		return err
	}
	return f.File.Truncate(n)
}

// collector gathers replayed commands as strings "SET k v".
type collector struct{ cmds []string }

func (c *collector) cmd(args [][]byte) error {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	c.cmds = append(c.cmds, strings.Join(parts, " "))
	return nil
}

// load replays fsys and returns the commands.
func load(t testing.TB, fsys FS) ([]string, *LoadInfo) {
	t.Helper()
	var c collector
	info, err := Load(fsys, quiet(), nil, c.cmd)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c.cmds, info
}

// openWriter loads and opens fsys.
func openWriter(t testing.TB, fsys FS, opts Options) *Writer {
	t.Helper()
	_, info := load(t, fsys)
	if opts.Log == nil {
		opts.Log = quiet()
	}
	w, err := Open(fsys, info, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return w
}

func set(i int) [][]byte {
	return [][]byte{[]byte("SET"), []byte(fmt.Sprintf("key:%d", i)), []byte(fmt.Sprintf("value:%d", i))}
}

func setStr(i int) string { return fmt.Sprintf("SET key:%d value:%d", i, i) }

func encode(cmds ...[][]byte) []byte {
	var b []byte
	for _, c := range cmds {
		b = resp.AppendCommand(b, c...)
	}
	return b
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, what, cond)
}

// writeAOF writes a manifest naming one incremental file with data.
func writeAOF(t testing.TB, dir string, data []byte) string {
	t.Helper()
	name := incrName(1)
	m := &Manifest{Incrs: []Entry{{Name: name, Seq: 1, Kind: KindIncr}}}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), m.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func seqStrs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, setStr(i))
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// logger returns a logger writing text to w.
func logger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
