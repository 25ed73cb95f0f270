package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// rewriteLoad writes every data type on keys of its own prefix until
// stop is closed: strings, counters, lists, hashes, sets, sorted sets,
// TTLs set and removed, deletions.
func rewriteLoad(c *redis.Client, prefix string, seed uint64, stop <-chan struct{}) error {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	key := func(kind string) string { return prefix + kind + ":" + strconv.Itoa(rng.IntN(300)) }
	val := func() string { return strings.Repeat(strconv.Itoa(rng.IntN(10)), 20+rng.IntN(150)) }
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		p := c.Pipeline()
		for range 20 {
			switch rng.IntN(16) {
			case 0:
				p.Set(ctx, key("s"), val(), 0)
			case 1:
				p.Append(ctx, key("s"), "+")
			case 2:
				p.IncrBy(ctx, key("n"), int64(rng.IntN(100)-50))
			case 3:
				p.RPush(ctx, key("l"), val(), rng.IntN(1000))
			case 4:
				p.LPop(ctx, key("l"))
			case 5:
				p.LTrim(ctx, key("l"), 0, 20)
			case 6:
				p.HSet(ctx, key("h"), "f"+strconv.Itoa(rng.IntN(20)), val())
			case 7:
				p.HDel(ctx, key("h"), "f"+strconv.Itoa(rng.IntN(20)))
			case 8:
				p.SAdd(ctx, key("S"), rng.IntN(50), "m"+strconv.Itoa(rng.IntN(50)))
			case 9:
				p.SPop(ctx, key("S"))
			case 10:
				p.ZAdd(ctx, key("z"), redis.Z{Score: rng.Float64() * 100, Member: "m" + strconv.Itoa(rng.IntN(40))})
			case 11:
				p.ZIncrBy(ctx, key("z"), 0.25, "m"+strconv.Itoa(rng.IntN(40)))
			case 12:
				p.ZRem(ctx, key("z"), "m"+strconv.Itoa(rng.IntN(40)))
			case 13:
				p.Expire(ctx, key([]string{"s", "l", "h", "S", "z"}[rng.IntN(5)]), time.Duration(1000+rng.IntN(5000))*time.Second)
			case 14:
				p.Persist(ctx, key([]string{"s", "h"}[rng.IntN(2)]))
			case 15:
				p.Del(ctx, key([]string{"s", "n", "l", "h", "S", "z"}[rng.IntN(6)]))
			}
		}
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
}

// TestRewriteUnderLoad rewrites the append-only file again and again
// (automatically past 1 MiB, and by BGREWRITEAOF) while clients write
// every data type in two databases, then compares the whole dataset read
// over the network with what a restart loads from the RDB base (written
// while keys changed) and the incremental tail: after a SIGKILL, a
// SIGKILL during one more rewrite, and a clean restart.
func TestRewriteUnderLoad(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "d")
	in := newDurInstance(t, bin, data, "    auto_aof_rewrite_min_size: 1mb\n    auto_aof_rewrite_percentage: 100\n"+
		"    enabled_commands: [bgrewriteaof]\n")
	// More threads than the default one, so the snapshot's chunks really
	// interleave with the writes.
	in.env = []string{"GOMAXPROCS=4"}
	in.start()
	ctx := context.Background()
	dbs := []int{0, 3}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		c := in.client(dbs[i%2])
		wg.Go(func() {
			errs[i] = rewriteLoad(c, fmt.Sprintf("w%d:", i), uint64(i)+uint64(time.Now().UnixNano()), stop)
		})
	}
	admin := in.client(0)
	bgrewrites := 0
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(400 * time.Millisecond) {
		err := admin.Do(ctx, "BGREWRITEAOF").Err()
		switch {
		case err == nil:
			bgrewrites++
		case !strings.Contains(err.Error(), "already in progress"):
			t.Fatalf("BGREWRITEAOF: %v", err)
		}
	}
	// The last rewrite before the comparison also runs under the load,
	// so the base the restart reads was written while keys changed.
	rewritesDone := func() int {
		n, _ := strconv.Atoi(durInfo(t, admin, "persistence")["aof_rewrites"])
		return n
	}
	n0 := rewritesDone()
	testutil.WaitFor(t, 30*time.Second, "a rewrite under load", func() bool {
		if err := admin.Do(ctx, "BGREWRITEAOF").Err(); err == nil {
			bgrewrites++
		}
		return rewritesDone() > n0+1
	})
	close(stop)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
	}
	testutil.WaitFor(t, 30*time.Second, "the last rewrite to end", func() bool {
		return durInfo(t, admin, "persistence")["aof_rewrite_in_progress"] == "0"
	})
	info := durInfo(t, admin, "persistence")
	rewrites, _ := strconv.Atoi(info["aof_rewrites"])
	if rewrites < 1 || info["aof_last_bgrewrite_status"] != "ok" || info["aof_last_write_status"] != "ok" {
		t.Fatalf("INFO persistence after the load: aof_rewrites:%s aof_last_bgrewrite_status:%s aof_last_write_status:%s",
			info["aof_rewrites"], info["aof_last_bgrewrite_status"], info["aof_last_write_status"])
	}
	if _, manifest := incrFile(t, data); !regexp.MustCompile(`file appendonly\.aof\.\d+\.base\.rdb seq \d+ type b`).MatchString(manifest) {
		t.Fatalf("the manifest names no RDB base:\n%s", manifest)
	}
	before := map[int]map[string]keyState{}
	keys := 0
	for _, db := range dbs {
		before[db] = dumpAll(t, in.client(db))
		keys += len(before[db])
	}
	at := time.Now()
	if keys < 1000 {
		t.Fatalf("only %d keys after the load", keys)
	}

	for _, restart := range []string{"after SIGKILL", "after SIGKILL during a rewrite", "after a clean restart"} {
		switch restart {
		case "after SIGKILL":
			in.kill()
		case "after SIGKILL during a rewrite":
			if err := in.client(0).Do(ctx, "BGREWRITEAOF").Err(); err != nil {
				t.Fatalf("BGREWRITEAOF: %v", err)
			}
			in.kill()
		default:
			in.stop()
		}
		in.start()
		m := regexp.MustCompile(`msg="aof: loaded" .*files=(\d+)`).FindStringSubmatch(in.logs.String())
		if m == nil || m[1] == "1" {
			t.Errorf("%s: the load did not read a base and a tail: %v", restart, m)
		}
		for _, db := range dbs {
			compareDatasets(t, fmt.Sprintf("%s, db %d", restart, db), before[db], dumpAll(t, in.client(db)), time.Since(at)+2*time.Second)
		}
	}
	in.stop()
	t.Logf("%d rewrites (%d by BGREWRITEAOF) under load; %d keys of every type in 2 databases compared after 3 restarts",
		rewrites, bgrewrites, keys)
}

// listTree lists every path under root, with its mode.
func listTree(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIsolationOfDataDirectories checks that an instance owns its data
// directory alone: a second process on the same directory, a symlink, a
// directory others may write and a file are refused with a clear message;
// a missing directory is created 0700, and no file is created outside it.
func TestIsolationOfDataDirectories(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) (data string, after func())
		want  string // in the refusal
	}{
		{"second process on the same directory", func(t *testing.T, root string) (string, func()) {
			data := filepath.Join(root, "d")
			first := newDurInstance(t, bin, data, "")
			first.start()
			if err := first.client(0).Set(context.Background(), "k", "first", 0).Err(); err != nil {
				t.Fatal(err)
			}
			return data, func() {
				// The first one still serves, its data untouched.
				if v, err := first.client(0).Get(context.Background(), "k").Result(); err != nil || v != "first" {
					t.Errorf("the first instance after the second was refused: %q %v", v, err)
				}
				first.stop()
			}
		}, "data directory is in use by another instance"},
		{"symlink", func(t *testing.T, root string) (string, func()) {
			real := filepath.Join(root, "real")
			if err := os.Mkdir(real, 0o700); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(root, "d")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link, func() {
				if ents, _ := os.ReadDir(real); len(ents) != 0 {
					t.Errorf("files were created through the symlink: %v", ents)
				}
			}
		}, "is a symlink"},
		{"world-writable", func(t *testing.T, root string) (string, func()) {
			return mkdirMode(t, filepath.Join(root, "d"), 0o777), nil
		}, "is writable by group or others"},
		{"group-writable", func(t *testing.T, root string) (string, func()) {
			return mkdirMode(t, filepath.Join(root, "d"), 0o770), nil
		}, "is writable by group or others"},
		{"a file", func(t *testing.T, root string) (string, func()) {
			data := filepath.Join(root, "d")
			if err := os.WriteFile(data, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return data, nil
		}, "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			data, after := tt.setup(t, root)
			in := newDurInstance(t, bin, data, "")
			logs := in.refused()
			if !strings.Contains(logs, tt.want) || !strings.Contains(logs, data) {
				t.Errorf("the refusal does not say %q and name %s:\n%s", tt.want, data, logs)
			}
			if after != nil {
				after()
			}
		})
	}

	t.Run("created 0700, nothing outside", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "parent")
		if err := os.Mkdir(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(parent, "marker"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(parent, "d")
		in := newDurInstance(t, bin, data, "    auto_aof_rewrite_min_size: 64kb\n    enabled_commands: [bgrewriteaof]\n")
		before := listTree(t, parent)
		in.start()
		c := in.client(0)
		ctx := context.Background()
		fillStrings(t, c, "k", 5000, 100) // past the 64 KiB rewrite threshold
		if err := c.Do(ctx, "BGREWRITEAOF").Err(); err != nil && !strings.Contains(err.Error(), "already in progress") {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 30*time.Second, "a rewrite", func() bool {
			i := durInfo(t, c, "persistence")
			return i["aof_rewrites"] != "0" && i["aof_rewrite_in_progress"] == "0"
		})
		in.stop()
		fi, err := os.Lstat(data)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("data directory: %v %v, want a directory of mode 0700", fi.Mode(), err)
		}
		files := 0
		for p, mode := range listTree(t, parent) {
			switch {
			case before[p] != 0:
				if before[p] != mode {
					t.Errorf("%s changed mode: %v, was %v", p, mode, before[p])
				}
			case p == "d":
			case p == filepath.Join("d", "events"):
				// The event file's directory (internal/eventlog).
				if !mode.IsDir() || mode.Perm() != 0o700 {
					t.Errorf("%s has mode %v, want a directory of mode 0700", p, mode)
				}
			case strings.HasPrefix(p, "d"+string(filepath.Separator)):
				files++
				if !mode.IsRegular() || mode.Perm()&0o077 != 0 {
					t.Errorf("%s has mode %v, want a regular file others cannot read", p, mode)
				}
			default:
				t.Errorf("%s was created outside the data directory", p)
			}
		}
		if files < 4 { // manifest, base, incremental file, lock
			t.Errorf("only %d files in the data directory", files)
		}
		if ents, _ := os.ReadDir(in.wd); len(ents) != 0 {
			t.Errorf("files were created in the working directory: %v", ents)
		}
		if ents, _ := os.ReadDir(filepath.Dir(in.cfg)); len(ents) != 1 {
			t.Errorf("files were created beside the configuration: %v", ents)
		}
	})
}

// mkdirMode creates a directory with exactly mode, whatever the umask.
func mkdirMode(t *testing.T, p string, mode fs.FileMode) string {
	t.Helper()
	if err := os.Mkdir(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// tmpfs mounts a tmpfs of the given size on a new directory for the
// test. It needs root (and CAP_SYS_ADMIN): without them the test is
// skipped, or fails under CI=true, which runs as root with the
// capabilities the network namespace tests already need.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	mount := testutil.RequireTool(t, "mount")
	umount := testutil.RequireTool(t, "umount")
	need := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		need("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command(mount, "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		need("mount -t tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(umount, dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			_ = exec.Command(umount, "-l", dir).Run()
		}
	})
	return dir
}

// TestFaultDiskFullOnTmpfs runs the real binary on a 2 MiB tmpfs and
// fills it: writes must stop with MISCONF naming the error, reads go on,
// INFO and the log say so; once space is freed, writes resume by
// themselves, and after a restart every acknowledged write is there.
func TestFaultDiskFullOnTmpfs(t *testing.T) {
	bin := buildBinary(t)
	mnt := tmpfs(t, "2m")
	data := filepath.Join(mnt, "d")
	in := newDurInstance(t, bin, data, "    appendfsync: always\n")
	in.start()
	ctx := context.Background()
	c := in.client(0)
	val := strings.Repeat("x", 8<<10) // every write needs new pages
	var acked []string
	for i := range 20 {
		k := "pre:" + strconv.Itoa(i)
		if err := c.Set(ctx, k, val, 0).Err(); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, k)
	}
	filler := filepath.Join(mnt, "filler")
	testutil.FillDisk(t, filler)

	const want = "MISCONF Errors writing to the AOF file: no space left on device"
	var last error
	refusedAfter := 0
	testutil.WaitFor(t, 15*time.Second, "writes to be refused", func() bool {
		k := "during:" + strconv.Itoa(refusedAfter)
		refusedAfter++
		last = c.Set(ctx, k, val, 0).Err()
		if last == nil {
			acked = append(acked, k) // written in space still free
		}
		return last != nil && strings.HasPrefix(last.Error(), "MISCONF")
	})
	if last.Error() != want {
		t.Errorf("refusal %q, want %q", last, want)
	}
	if v, err := c.Get(ctx, "pre:0").Result(); err != nil || v != val {
		t.Errorf("GET while the disk is full: %v", err)
	}
	if s := durInfo(t, c, "persistence")["aof_last_write_status"]; s != "err" {
		t.Errorf("aof_last_write_status:%s while the disk is full, want err", s)
	}
	if l := in.logs.String(); !strings.Contains(l, "aof: write failed") || !strings.Contains(l, "no space left on device") {
		t.Errorf("the log does not report the failed write:\n%s", l)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "writes to be accepted again", func() bool {
		return c.Set(ctx, "after", val, 0).Err() == nil
	})
	acked = append(acked, "after")
	if s := durInfo(t, c, "persistence")["aof_last_write_status"]; s != "ok" {
		t.Errorf("aof_last_write_status:%s after space was freed, want ok", s)
	}
	in.stop()
	in.start()
	c = in.client(0)
	for _, k := range acked {
		if v, err := c.Get(ctx, k).Result(); err != nil || v != val {
			t.Fatalf("acknowledged %s after restart: %d bytes, %v", k, len(v), err)
		}
	}
	in.stop()
	t.Logf("%d acknowledged 8 KiB writes checked after a full disk and a restart (refused after %d attempts)",
		len(acked), refusedAfter)
}
