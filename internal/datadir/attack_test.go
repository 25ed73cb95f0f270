//go:build unix

package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An attack plants something under the name of one of our files, then
// the instance writes that file. Each case first shows that a naive
// os.OpenFile(filepath.Join(dir, name)) is fooled, then that Dir is not.
type attack struct {
	name string
	// plant prepares dir (the data directory) and outside (a directory
	// the attacker wants to reach) and returns the victim path whose
	// contents must not change.
	plant func(t *testing.T, dir, outside string) (victim string)
	want  error // what Dir's open reports
	naive bool  // run the naive open (false for a FIFO: it would block)
}

const planted = "appendonly.aof"

var attacks = []attack{
	{"symlink to a file outside", func(t *testing.T, dir, outside string) string {
		victim := filepath.Join(outside, "authorized_keys")
		writeFile(t, victim, "precious")
		symlink(t, victim, filepath.Join(dir, planted))
		return victim
	}, ErrSymlink, true},
	{"dangling symlink to a path outside", func(t *testing.T, dir, outside string) string {
		victim := filepath.Join(outside, "cron.d-job")
		symlink(t, victim, filepath.Join(dir, planted))
		return victim
	}, ErrSymlink, true},
	{"symlink to another file inside", func(t *testing.T, dir, outside string) string {
		victim := filepath.Join(dir, "other.rdb")
		writeFile(t, victim, "precious")
		symlink(t, "other.rdb", filepath.Join(dir, planted))
		return victim
	}, ErrSymlink, true},
	{"relative symlink climbing out", func(t *testing.T, dir, outside string) string {
		victim := filepath.Join(outside, "victim")
		writeFile(t, victim, "precious")
		rel, err := filepath.Rel(dir, victim)
		if err != nil {
			t.Fatal(err)
		}
		symlink(t, rel, filepath.Join(dir, planted))
		return victim
	}, ErrSymlink, true},
	{"hard link to a file outside", func(t *testing.T, dir, outside string) string {
		victim := filepath.Join(outside, "victim")
		writeFile(t, victim, "precious")
		if err := os.Link(victim, filepath.Join(dir, planted)); err != nil {
			t.Skip("hard link:", err)
		}
		return victim
	}, ErrHardLinked, true},
	{"fifo", func(t *testing.T, dir, outside string) string {
		mkfifo(t, filepath.Join(dir, planted))
		return ""
	}, nil, false},
}

func TestSymlinkAttacks(t *testing.T) {
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			root := t.TempDir()
			dirPath, outside := filepath.Join(root, "data"), filepath.Join(root, "outside")
			mkdir(t, outside, 0o755)
			d := mustOpen(t, dirPath)
			victim := at.plant(t, dirPath, outside)
			before := readOrMissing(victim)

			if at.naive {
				// The attack works against the naive open.
				f, err := os.OpenFile(filepath.Join(dirPath, planted), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					t.Fatalf("naive open: %v", err)
				}
				f.WriteString("*1\r\n$4\r\nPWNED\r\n")
				f.Close()
				if readOrMissing(victim) == before {
					t.Fatalf("naive open did not reach the victim %s", victim)
				}
				restore(t, victim, before)
			}

			// Dir refuses, in every mode of opening.
			for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR | os.O_CREATE | os.O_TRUNC} {
				done := make(chan error, 1)
				go func() {
					f, err := d.OpenFile(planted, flag, 0o600)
					if err == nil {
						f.Close()
					}
					done <- err
				}()
				var err error
				select {
				case err = <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("OpenFile(flag %#x) blocked", flag)
				}
				if at.want == ErrHardLinked && flag == os.O_RDONLY {
					if err != nil {
						t.Fatalf("reading a hard-linked file: %v", err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("OpenFile(flag %#x) followed the plant", flag)
				}
				if at.want != nil && !errors.Is(err, at.want) {
					t.Fatalf("OpenFile(flag %#x) = %v, want %v", flag, err, at.want)
				}
			}
			if got := readOrMissing(victim); got != before {
				t.Fatalf("victim changed to %q", got)
			}
			// Replacing the name atomically replaces the plant itself.
			if err := d.WriteFileAtomic(planted, []byte("ours")); err != nil {
				t.Fatal(err)
			}
			if got := readOrMissing(victim); got != before {
				t.Fatalf("victim changed to %q by WriteFileAtomic", got)
			}
			if b, err := d.ReadFile(planted, 10); err != nil || string(b) != "ours" {
				t.Fatalf("ReadFile = %q %v", b, err)
			}
			// Remove removes a plant, never its target.
			if err := d.Remove(planted); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStatDoesNotFollow: Stat reports a planted symlink as a symlink.
func TestStatDoesNotFollow(t *testing.T) {
	d := mustOpen(t, filepath.Join(t.TempDir(), "data"))
	symlink(t, "/etc/passwd", filepath.Join(d.Path(), "x"))
	fi, err := d.Stat("x")
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("Stat = %v, %v", fi, err)
	}
}

// TestDirSwappedAfterOpen: once open, renaming the directory away and
// planting a symlink at its path changes nothing: operations go through
// the descriptor.
func TestDirSwappedAfterOpen(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "data")
	d := mustOpen(t, path)
	if err := os.Rename(path, filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(root, "outside")
	mkdir(t, outside, 0o755)
	symlink(t, outside, path)
	if err := d.WriteFileAtomic("f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); !os.IsNotExist(err) {
		t.Fatalf("file landed in the swapped-in directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "moved", "f")); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readOrMissing(p string) string {
	if p == "" {
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "<missing>"
	}
	return string(b)
}

func restore(t *testing.T, p, s string) {
	t.Helper()
	if s == "<missing>" {
		os.Remove(p)
		return
	}
	writeFile(t, p, s)
}
