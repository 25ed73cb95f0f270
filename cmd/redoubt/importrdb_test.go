package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// runImportRDB runs `redoubt import-rdb args…` in-process.
func runImportRDB(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"import-rdb"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// saveRedis makes redis-server write its dump.rdb and returns its path.
func saveRedis(t *testing.T, r *testutil.Redis, c *redis.Client) string {
	t.Helper()
	if err := c.Save(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(r.Dir, "dump.rdb")
}

// fillEveryType writes keys of every type Redoubt imports, in the
// encodings redis-server 7.0 picks for small and large values, with and
// without a TTL, in databases 0, 3 and 15.
func fillEveryType(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	many := func(prefix string, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}
	for _, db := range []int{0, 3, 15} {
		must(c.Do(ctx, "SELECT", db).Err())
		p := fmt.Sprintf("db%d:", db)
		must(c.Set(ctx, p+"int", "12345", 0).Err())
		must(c.Set(ctx, p+"neg", "-9223372036854775808", 0).Err())
		must(c.Set(ctx, p+"short", "hello", 0).Err())
		must(c.Set(ctx, p+"long", strings.Repeat("compressible ", 100), 0).Err())
		must(c.Set(ctx, p+"bin\x00\r\nkey", "\x00\xff\r\n", 0).Err())
		must(c.Set(ctx, p+"ttl", "soon", time.Hour).Err())
		must(c.RPush(ctx, p+"list:small", "a", "b", "1", "2").Err())
		must(c.RPush(ctx, p+"list:big", many("element-", 2000)...).Err())
		must(c.RPush(ctx, p+"list:plain", strings.Repeat("x", 10000), "y").Err())
		must(c.Expire(ctx, p+"list:small", 2*time.Hour).Err())
		must(c.SAdd(ctx, p+"set:int", 1, 2, 3, -7, 1<<40).Err())
		must(c.SAdd(ctx, p+"set:small", "a", "b", "c").Err())
		must(c.SAdd(ctx, p+"set:big", many("member-", 600)...).Err())
		must(c.ZAdd(ctx, p+"zset:small", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: -2, Member: "b"}).Err())
		zs := []redis.Z{{Score: 0, Member: "inf-"}}
		for i := range 300 {
			zs = append(zs, redis.Z{Score: float64(i) / 3, Member: "m" + strconv.Itoa(i)})
		}
		must(c.ZAdd(ctx, p+"zset:big", zs...).Err())
		must(c.Do(ctx, "ZADD", p+"zset:big", "+inf", "top", "-inf", "bottom").Err())
		must(c.HSet(ctx, p+"hash:small", "f1", "v1", "f2", "2").Err())
		fields := []any{}
		for i := range 700 {
			fields = append(fields, "field-"+strconv.Itoa(i), strconv.Itoa(i*i))
		}
		must(c.HSet(ctx, p+"hash:big", fields...).Err())
		must(c.Expire(ctx, p+"hash:big", 3*time.Hour).Err())
	}
	must(c.Do(ctx, "SELECT", 0).Err())
}

// dumpKey renders a key's type, value and TTL in a form two servers can
// be compared by (sets and hashes sorted; TTL rounded to minutes).
func dumpKey(t *testing.T, c *redis.Client, key string) string {
	t.Helper()
	ctx := context.Background()
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var val any
	switch typ {
	case "string":
		val, err = c.Get(ctx, key).Result()
	case "list":
		val, err = c.LRange(ctx, key, 0, -1).Result()
	case "set":
		var m []string
		m, err = c.SMembers(ctx, key).Result()
		slices.Sort(m)
		val = m
	case "zset":
		val, err = c.ZRangeWithScores(ctx, key, 0, -1).Result()
	case "hash":
		var h map[string]string
		h, err = c.HGetAll(ctx, key).Result()
		val = fmt.Sprint(h) // fmt sorts map keys
	default:
		t.Fatalf("key %q has type %s", key, typ)
	}
	if err != nil {
		t.Fatal(err)
	}
	ttl, err := c.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 0 {
		ttl = (ttl + 30*time.Second).Truncate(time.Minute)
	}
	return fmt.Sprintf("%s %q ttl=%v %v", typ, key, ttl, val)
}

// dumpDB renders every key of database db, sorted.
func dumpDB(t *testing.T, addr string, db int) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, Protocol: 2})
	defer c.Close()
	ctx := context.Background()
	var out []string
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		out = append(out, dumpKey(t, c, iter.Val()))
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// startOnDataDir runs the built binary on data directory data (16
// databases, appendonly on) and returns its address; it is stopped with
// SIGTERM by the returned function, and killed when the test ends.
func startOnDataDir(t *testing.T, bin, data string) (addr string, stop func()) {
	t.Helper()
	addr = net.JoinHostPort("127.0.0.1", itoa(testutil.FreePort(t)))
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--listen", addr, "--data", data)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("redoubt log:\n%s", logs.String())
		}
	})
	testutil.WaitFor(t, 20*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	return addr, func() {
		t.Helper()
		done = true
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("redoubt exit after SIGTERM: %v\n%s", err, logs.String())
		}
	}
}

// TestImportRDBFromRedis imports a dump written by a real redis-server
// and compares every key of every database afterwards.
func TestImportRDBFromRedis(t *testing.T) {
	bin := buildBinary(t)
	r := testutil.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Protocol: 2})
	defer c.Close()
	fillEveryType(t, c)
	dump := saveRedis(t, r, c)
	d := filepath.Join(t.TempDir(), "d")

	// Flags after the file name work too.
	code, out, errOut := runImportRDB(dump, "--data", d)
	if code != 0 || !strings.Contains(out, "RDB version 10") || !strings.Contains(out, "in 3 databases") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v %v", fi, err)
	}
	// The base is the dump, byte for byte.
	want, _ := os.ReadFile(dump)
	bases, _ := filepath.Glob(filepath.Join(d, "appendonly.aof.*.base.rdb"))
	if len(bases) != 1 {
		t.Fatalf("base files: %v", bases)
	}
	if got, _ := os.ReadFile(bases[0]); !bytes.Equal(got, want) {
		t.Fatal("the base differs from the dump")
	}
	// A second import refuses to replace the data without --force.
	if code, out, errOut := runImportRDB("--data", d, dump); code != 1 || !strings.Contains(errOut, "--force") {
		t.Fatalf("second import: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runImportRDB("--force", "--data", d, dump); code != 0 {
		t.Fatalf("import --force: exit %d\n%s%s", code, out, errOut)
	}

	addr, stop := startOnDataDir(t, bin, d)
	for db := range 16 {
		w, g := dumpDB(t, r.Addr, db), dumpDB(t, addr, db)
		if !slices.Equal(w, g) {
			t.Errorf("database %d: redis-server has %d keys, redoubt %d", db, len(w), len(g))
			for i := range max(len(w), len(g)) {
				var a, b string
				if i < len(w) {
					a = w[i]
				}
				if i < len(g) {
					b = g[i]
				}
				if a != b {
					t.Errorf("first difference:\nredis:   %.300s\nredoubt: %.300s", a, b)
					break
				}
			}
		}
	}
	if n := len(dumpDB(t, addr, 3)); n != 16 {
		t.Fatalf("database 3 holds %d keys, want 16", n)
	}
	// Running: the directory is locked against another import.
	if code, _, errOut := runImportRDB("--force", "--data", d, dump); code != 1 || !strings.Contains(errOut, "in use") {
		t.Fatalf("import into a running instance: exit %d\n%s", code, errOut)
	}
	stop()
	if code, out, errOut := runCheckAOF("--data", d); code != 0 || !strings.Contains(out, "base.rdb") {
		t.Fatalf("check-aof after the import: exit %d\n%s%s", code, out, errOut)
	}
}

// TestImportRDBRefusals: what the instance cannot load is refused before
// the data directory is touched, with an error naming the cause.
func TestImportRDBRefusals(t *testing.T) {
	r := testutil.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Protocol: 2})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "plain", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "events", Values: []any{"f", "v"}}).Err(); err != nil {
		t.Fatal(err)
	}
	dump := saveRedis(t, r, c)
	d := filepath.Join(t.TempDir(), "d")
	code, out, errOut := runImportRDB("--data", d, dump)
	if code != 1 || !strings.Contains(errOut, "type stream") || !strings.Contains(errOut, `key "events"`) ||
		!strings.Contains(errOut, "offset") {
		t.Fatalf("stream: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(d); err == nil {
		t.Fatal("a refused import created the data directory")
	}

	// A key beyond the instance's databases.
	if err := c.Del(ctx, "events").Err(); err != nil {
		t.Fatal(err)
	}
	c5 := redis.NewClient(&redis.Options{Addr: r.Addr, DB: 5, Protocol: 2})
	defer c5.Close()
	if err := c5.Set(ctx, "in5", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	dump = saveRedis(t, r, c)
	code, out, errOut = runImportRDB("--databases", "4", "--data", d, dump)
	if code != 1 || !strings.Contains(errOut, `key "in5" is in database 5`) {
		t.Fatalf("database 5 of 4: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runImportRDB("--databases", "6", "--data", d, dump); code != 0 || !strings.Contains(out, "2 keys") {
		t.Fatalf("database 5 of 6: exit %d\n%s%s", code, out, errOut)
	}

	// A damaged file, and usage errors.
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-3] ^= 0xff
	broken := filepath.Join(t.TempDir(), "broken.rdb")
	if err := os.WriteFile(broken, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"checksum", []string{"--force", "--data", d, broken}, 1, "CRC-64"},
		{"not a file", []string{"--data", d, t.TempDir()}, 1, "not a regular file"},
		{"no file", []string{"--data", d}, 2, "exactly one RDB file"},
		{"two files", []string{"--data", d, dump, dump}, 2, "exactly one RDB file"},
		{"no directory", []string{dump}, 2, "--data DIR"},
		{"databases", []string{"--databases", "0x", "--data", d, dump}, 2, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runImportRDB(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}
