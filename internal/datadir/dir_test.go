//go:build unix

package datadir

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func mustOpen(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := Open(path, quiet())
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenCreates0700(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "data")
	d := mustOpen(t, path)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != fs.ModeDir|0o700 {
		t.Fatalf("mode %v, want drwx------", fi.Mode())
	}
	if d.Path() != path {
		t.Fatalf("Path() = %q", d.Path())
	}
	// The lock file holds our pid.
	b, err := os.ReadFile(filepath.Join(path, LockName))
	if err != nil || !strings.Contains(string(b), itoa(os.Getpid())) {
		t.Fatalf("lock file %q, %v", b, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestOpenRefuses covers every data directory that is out of place.
func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) string // returns the path to Open
		want  error
	}{
		{"symlink to a good directory", func(t *testing.T, root string) string {
			real := filepath.Join(root, "real")
			mkdir(t, real, 0o700)
			link := filepath.Join(root, "data")
			symlink(t, real, link)
			return link
		}, ErrSymlink},
		{"dangling symlink", func(t *testing.T, root string) string {
			link := filepath.Join(root, "data")
			symlink(t, filepath.Join(root, "nowhere"), link)
			return link
		}, ErrSymlink},
		{"symlink with trailing slash", func(t *testing.T, root string) string {
			real := filepath.Join(root, "real")
			mkdir(t, real, 0o700)
			symlink(t, real, filepath.Join(root, "data"))
			return filepath.Join(root, "data") + "/"
		}, ErrSymlink},
		{"world-writable", func(t *testing.T, root string) string {
			p := filepath.Join(root, "data")
			mkdir(t, p, 0o777)
			return p
		}, ErrPermissions},
		{"group-writable", func(t *testing.T, root string) string {
			p := filepath.Join(root, "data")
			mkdir(t, p, 0o770)
			return p
		}, ErrPermissions},
		{"world-writable sticky", func(t *testing.T, root string) string {
			p := filepath.Join(root, "data")
			mkdir(t, p, os.ModeSticky|0o777)
			return p
		}, ErrPermissions},
		{"a regular file", func(t *testing.T, root string) string {
			p := filepath.Join(root, "data")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, ErrNotDir},
		{"not ours", func(t *testing.T, root string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			p := filepath.Join(root, "data")
			mkdir(t, p, 0o700)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return p
		}, ErrNotOwner},
		{"filesystem root", func(t *testing.T, root string) string { return "/" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			d, err := Open(path, quiet())
			if err == nil {
				d.Close()
				t.Fatalf("Open(%s) succeeded", path)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Open(%s) = %v, want %v", path, err, tt.want)
			}
			if !strings.Contains(err.Error(), strings.TrimSuffix(path, "/")) {
				t.Fatalf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestOpenAccepts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) string
	}{
		{"existing 0700", func(t *testing.T, root string) string {
			p := filepath.Join(root, "data")
			mkdir(t, p, 0o700)
			return p
		}},
		{"existing 0755 (readable by others: warning only)", func(t *testing.T, root string) string {
			p := filepath.Join(root, "data")
			mkdir(t, p, 0o755)
			return p
		}},
		{"parent reached through a symlink", func(t *testing.T, root string) string {
			real := filepath.Join(root, "real")
			mkdir(t, real, 0o755)
			symlink(t, real, filepath.Join(root, "via"))
			return filepath.Join(root, "via", "data")
		}},
		{"relative path with dots", func(t *testing.T, root string) string {
			mkdir(t, filepath.Join(root, "x"), 0o755)
			return filepath.Join(root, "x", "..", "data", ".")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			d := mustOpen(t, path)
			if err := d.WriteFileAtomic("f", []byte("x")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTwoOpensConflict(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "data")
	d := mustOpen(t, path)
	symlink(t, root, filepath.Join(t.TempDir(), "alias"))
	for _, other := range []string{path, path + "/", filepath.Join(root, ".", "data")} {
		_, err := Open(other, quiet())
		if !errors.Is(err, ErrInUse) {
			t.Fatalf("second Open(%s) = %v, want ErrInUse", other, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || !strings.Contains(msg, "in use") ||
			!strings.Contains(msg, "pid "+itoa(os.Getpid())) {
			t.Fatalf("unclear error %q", msg)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	d2 := mustOpen(t, path)
	d2.Close()
}

// TestLockAcrossProcesses holds the directory in a child process (this
// test binary re-executed) and checks the parent cannot open it.
func TestLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("DATADIR_LOCK_CHILD"); dir != "" {
		d, err := Open(dir, quiet())
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		buf := make([]byte, 1)
		os.Stdin.Read(buf) // hold until the parent closes stdin
		d.Close()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockAcrossProcesses$")
	cmd.Env = append(os.Environ(), "DATADIR_LOCK_CHILD="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	line := make([]byte, 64)
	n, _ := out.Read(line)
	if !strings.HasPrefix(string(line[:n]), "locked") {
		t.Fatalf("child: %q", line[:n])
	}
	_, err = Open(path, quiet())
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "pid "+itoa(cmd.Process.Pid)) {
		t.Fatalf("Open while the child holds it = %v", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// Polling, not sleeping: the lock is gone once the child exited.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := Open(path, quiet())
		if err == nil {
			d.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Open after the child exited: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadNames(t *testing.T) {
	d := mustOpen(t, filepath.Join(t.TempDir(), "data"))
	bad := []string{"", ".", "..", "a/b", "../x", "/etc/passwd", "x/", "a\x00b", LockName}
	ops := map[string]func(name string) error{
		"OpenFile":        func(n string) error { _, err := d.OpenFile(n, os.O_RDWR|os.O_CREATE, 0o600); return err },
		"Create":          func(n string) error { _, err := d.Create(n); return err },
		"Open":            func(n string) error { _, err := d.Open(n); return err },
		"Stat":            func(n string) error { _, err := d.Stat(n); return err },
		"Remove":          func(n string) error { return d.Remove(n) },
		"RenameFrom":      func(n string) error { return d.Rename(n, "ok") },
		"RenameTo":        func(n string) error { return d.Rename("ok", n) },
		"WriteFileAtomic": func(n string) error { return d.WriteFileAtomic(n, []byte("x")) },
		"ReadFile":        func(n string) error { _, err := d.ReadFile(n, 10); return err },
	}
	if err := d.WriteFileAtomic("ok", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for op, f := range ops {
		for _, name := range bad {
			t.Run(op+"/"+strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
				if err := f(name); !errors.Is(err, ErrBadName) {
					t.Fatalf("%s(%q) = %v, want ErrBadName", op, name, err)
				}
			})
		}
	}
}

func TestOperations(t *testing.T) {
	d := mustOpen(t, filepath.Join(t.TempDir(), "data"))
	f, err := d.Create("b")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("hello")
	f.Close()
	if err := d.WriteFileAtomic("a", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFileAtomic("a", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, err := d.ReadFile("a", 100); err != nil || string(b) != "two" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := d.ReadFile("b", 2); err == nil {
		t.Fatal("ReadFile over the limit succeeded")
	}
	fi, err := d.Stat("a")
	if err != nil || fi.Size() != 3 || fi.Mode() != 0o600 || fi.IsDir() {
		t.Fatalf("Stat = %v %v", fi, err)
	}
	if err := d.Rename("b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := d.SyncDir(); err != nil {
		t.Fatal(err)
	}
	names := entryNames(t, d)
	if names != "a,c" {
		t.Fatalf("ReadDir = %s (no temp files, no lock file expected)", names)
	}
	if err := d.Remove("c"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat("c"); !IsNotExist(err) {
		t.Fatalf("Stat after Remove = %v", err)
	}
	// A CreateAtomic that is aborted leaves nothing behind.
	a, err := d.CreateAtomic("z")
	if err != nil {
		t.Fatal(err)
	}
	if !IsTemp(a.TempName()) || IsTemp("z") || IsTemp("z.tmp") {
		t.Fatal("IsTemp")
	}
	a.Write([]byte("partial"))
	a.Abort()
	if names := entryNames(t, d); names != "a" {
		t.Fatalf("after Abort: %s", names)
	}
	d.Close()
	if _, err := d.Open("a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close = %v", err)
	}
	if err := d.SyncDir(); !errors.Is(err, ErrClosed) {
		t.Fatalf("SyncDir after Close = %v", err)
	}
}

func entryNames(t *testing.T, d *Dir) string {
	t.Helper()
	ents, err := d.ReadDir()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
}
