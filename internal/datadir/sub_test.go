//go:build unix

package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSub: Sub creates the subdirectory 0700, and its Dir works inside it.
func TestSub(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	d := mustOpen(t, path)
	s, err := d.Sub("events")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != filepath.Join(path, "events") {
		t.Fatalf("Path = %s", s.Path())
	}
	if fi, err := os.Lstat(s.Path()); err != nil || !fi.IsDir() || fi.Mode().Perm() != DirMode {
		t.Fatalf("%v %v", fi, err)
	}
	if err := s.WriteFileAtomic("f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(path, "events", "f")); err != nil || string(b) != "x" {
		t.Fatalf("%q %v", b, err)
	}
	if names := entryNames(t, s); names != "f" {
		t.Fatalf("ReadDir = %s", names)
	}
	if _, err := d.Stat("f"); !IsNotExist(err) {
		t.Fatalf("the file is in the parent: %v", err)
	}
	// A second Sub opens the existing directory; a Sub of a Sub works.
	s2, err := d.Sub("events")
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	ss, err := s.Sub("deeper")
	if err != nil {
		t.Fatal(err)
	}
	ss.Close()
	// Closing the parent leaves the Sub usable; closing the Sub leaves the
	// parent's lock alone.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat("f"); err != nil {
		t.Fatalf("Stat after the parent's Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncDir(); !errors.Is(err, ErrClosed) {
		t.Fatalf("SyncDir after Close = %v", err)
	}
	if _, err := d.Sub("events"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sub after Close = %v", err)
	}
}

// TestSubRefuses: a symlink, a file, a directory writable by others, and
// bad names are refused, and nothing is created through a symlink.
func TestSubRefuses(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, data, outside string)
		want  error
	}{
		{"symlink to a directory", func(t *testing.T, data, outside string) {
			symlink(t, outside, filepath.Join(data, "events"))
		}, ErrSymlink},
		{"dangling symlink", func(t *testing.T, data, outside string) {
			symlink(t, filepath.Join(outside, "missing"), filepath.Join(data, "events"))
		}, ErrSymlink},
		{"file", func(t *testing.T, data, outside string) {
			writeFile(t, filepath.Join(data, "events"), "x")
		}, ErrNotDir},
		{"writable by others", func(t *testing.T, data, outside string) {
			mkdir(t, filepath.Join(data, "events"), 0o777)
		}, ErrPermissions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			data, outside := filepath.Join(root, "data"), filepath.Join(root, "outside")
			mkdir(t, outside, 0o755)
			d := mustOpen(t, data)
			tt.plant(t, data, outside)
			s, err := d.Sub("events")
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Sub = %v, want %v", err, tt.want)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("created through the plant: %v", ents)
			}
		})
	}
	d := mustOpen(t, filepath.Join(t.TempDir(), "data"))
	for _, name := range []string{"", ".", "..", "a/b", LockName} {
		if s, err := d.Sub(name); !errors.Is(err, ErrBadName) {
			if err == nil {
				s.Close()
			}
			t.Errorf("Sub(%q) = %v, want ErrBadName", name, err)
		}
	}
}

// TestSubSwappedAfterOpen: once open, swapping the data directory (or the
// subdirectory) for a symlink changes nothing for the Sub.
func TestSubSwappedAfterOpen(t *testing.T) {
	for _, swap := range []string{"data", "data/events"} {
		t.Run(swap, func(t *testing.T) {
			root := t.TempDir()
			data := filepath.Join(root, "data")
			d := mustOpen(t, data)
			s, err := d.Sub("events")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			path := filepath.Join(root, swap)
			if err := os.Rename(path, path+".moved"); err != nil {
				t.Fatal(err)
			}
			outside := filepath.Join(root, "outside")
			mkdir(t, outside, 0o755)
			if swap == "data" {
				mkdir(t, filepath.Join(outside, "events"), 0o700)
				symlink(t, outside, data)
			} else {
				symlink(t, outside, path)
			}
			f, err := s.OpenFile("f", os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := s.SyncDir(); err != nil {
				t.Fatal(err)
			}
			var found []string
			_ = filepath.WalkDir(outside, func(p string, e os.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					found = append(found, p)
				}
				return nil
			})
			if len(found) != 0 {
				t.Fatalf("written in the swapped-in directory: %v", found)
			}
			if _, err := os.Stat(filepath.Join(path+".moved", "f")); swap == "data/events" && err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(root, "data.moved", "events", "f")); swap == "data" && err != nil {
				t.Fatal(err)
			}
		})
	}
}
