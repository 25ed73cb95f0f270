package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/testutil"
)

// startWithConfig runs the built binary with a one-instance configuration
// (extra is appended to the instance) and returns a client of it.
func startWithConfig(t *testing.T, extra string) *redis.Client {
	t.Helper()
	bin := buildBinary(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(testutil.FreePort(t)))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "redoubt.yaml")
	body := "instances:\n  - name: default\n    listen: " + addr + "\n    data: " + filepath.Join(dir, "d") + "\n" + extra
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--config", cfg)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("redoubt log:\n%s", logs.String())
		}
	})
	testutil.WaitFor(t, 10*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// infoMemory returns the fields of INFO memory.
func infoMemory(t *testing.T, rdb *redis.Client) map[string]int64 {
	t.Helper()
	text, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(text, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// fillStrings writes n keys of size bytes in pipelines of 1000.
func fillStrings(t *testing.T, rdb *redis.Client, prefix string, n, size int) {
	t.Helper()
	ctx := context.Background()
	val := strings.Repeat("v", size)
	for i := 0; i < n; i += 1000 {
		p := rdb.Pipeline()
		for j := i; j < min(i+1000, n); j++ {
			p.Set(ctx, prefix+strconv.Itoa(j), val, 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatalf("pipeline at %d: %v", i, err)
		}
	}
}

// TestUsedMemoryAgainstRSS fills the real binary with about 150 MB of
// strings and hashes and checks the data-structure estimate that INFO
// reports as used_memory against what the process really holds: the
// growth of its RSS, which the Go collector lets run up to twice the live
// heap, so the estimate must lie between half and all of it (with a
// little room for measurement).
func TestUsedMemoryAgainstRSS(t *testing.T) {
	rdb := startWithConfig(t, "    appendonly: false\n")
	ctx := context.Background()
	before := infoMemory(t, rdb)
	fillStrings(t, rdb, "s:", 400_000, 200)
	for h := 0; h < 2000; h++ {
		p := rdb.Pipeline()
		for f := 0; f < 200; f++ {
			p.HSet(ctx, "h:"+strconv.Itoa(h), "field"+strconv.Itoa(f), strings.Repeat("x", 50))
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after := infoMemory(t, rdb)
	est := after["used_memory"] - before["used_memory"]
	rss := after["used_memory_rss"] - before["used_memory_rss"]
	heap := after["used_memory_go_heap"]
	t.Logf("estimate %d MB, RSS growth %d MB, Go heap %d MB", est>>20, rss>>20, heap>>20)
	if est < 100<<20 {
		t.Fatalf("estimate %d bytes for about 150 MB of data", est)
	}
	if ratio := float64(est) / float64(rss); ratio < 0.45 || ratio > 1.1 {
		t.Fatalf("estimate / RSS growth = %.2f, want 0.45–1.1", ratio)
	}
	if mu, err := rdb.MemoryUsage(ctx, "s:1").Result(); err != nil || mu < 200 || mu > 400 {
		t.Fatalf("MEMORY USAGE of a 200-byte string: %d, %v", mu, err)
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if u := infoMemory(t, rdb)["used_memory"]; u != 0 {
		t.Fatalf("used_memory %d after FLUSHALL", u)
	}
}

// TestMaxMemoryEvictsInTheBinary writes three times maxmemory into an
// allkeys-lru instance: the dataset stays under the limit, the recent keys
// are there, and the process's RSS stays bounded.
func TestMaxMemoryEvictsInTheBinary(t *testing.T) {
	const limit = 32 << 20
	// Without the append-only file: its unsynced bytes (up to a second
	// of writes) would be counted in the RSS this test bounds.
	rdb := startWithConfig(t, "    appendonly: false\n    maxmemory: 32mb\n    maxmemory_policy: allkeys-lru\n")
	ctx := context.Background()
	if got, err := rdb.ConfigGet(ctx, "maxmemory*").Result(); err != nil ||
		got["maxmemory"] != strconv.Itoa(limit) || got["maxmemory-policy"] != "allkeys-lru" {
		t.Fatalf("CONFIG GET maxmemory*: %v %v", got, err)
	}
	fillStrings(t, rdb, "k:", 300_000, 300) // about 110 MB written
	m := infoMemory(t, rdb)
	// Eviction runs before each command, as in Redis, so the last write
	// may leave the dataset a command's worth over the limit.
	if m["used_memory"] > limit+64<<10 {
		t.Fatalf("used_memory %d over maxmemory %d", m["used_memory"], limit)
	}
	if m["used_memory_rss"] > 4*limit+64<<20 {
		t.Fatalf("RSS %d MB with maxmemory 32 MB", m["used_memory_rss"]>>20)
	}
	if n, err := rdb.Exists(ctx, "k:299999").Result(); err != nil || n != 1 {
		t.Fatalf("the last key written is missing: %d %v", n, err)
	}
	info, _ := rdb.Info(ctx, "stats").Result()
	if !strings.Contains(info, "evicted_keys:") || strings.Contains(info, "evicted_keys:0\r\n") {
		t.Fatalf("INFO stats shows no eviction:\n%s", info)
	}
	n, _ := rdb.DBSize(ctx).Result()
	t.Logf("keys kept %d of 300000, used_memory %d MB, RSS %d MB", n, m["used_memory"]>>20, m["used_memory_rss"]>>20)
}
