package testutil

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestCluster starts a cluster of 3 masters and 3 replicas (one each) and runs what
// the cluster tests rely on: Slot agrees with CLUSTER KEYSLOT, keys written
// through the oracle read back, a reshard (also under a write load) moves
// slots, and a killed master is failed over with no write lost.
func TestCluster(t *testing.T) {
	c := StartCluster(t, 3, 1)
	ctx := context.Background()
	if m := c.Masters(t); len(c.Nodes) != 6 || !slices.Equal(m, c.Nodes[:3]) {
		t.Fatalf("nodes %v, masters %v: want 6 nodes, the first 3 the masters", c.Nodes, m)
	}

	t.Run("slot", func(t *testing.T) {
		for _, key := range []string{
			"", "foo", "{user}a", "{user}b", "user", "a{}b", "{}{x}", "foo{bar}{baz}",
			"foo{bar", "foo}bar{", "{{x}}", "}{y}", "123456789", "\x00\xff\r\n{\x01}", "ключ",
		} {
			want := c.Do(t, c.Nodes[0].Addr, "CLUSTER", "KEYSLOT", key)
			if got := strconv.Itoa(Slot(key)); got != want {
				t.Errorf("Slot(%q) = %s, CLUSTER KEYSLOT says %s", key, got, want)
			}
		}
		if Slot("{user}a") != Slot("{user}b") || Slot("{user}a") != Slot("user") {
			t.Error("keys with the hash tag {user} are in different slots")
		}
	})

	cl := c.Client(t)
	const nKeys = 1000
	key := func(i int) string { return fmt.Sprintf("key:%d", i) }
	for i := range nKeys {
		if err := cl.Set(ctx, key(i), i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key(i), err)
		}
	}
	readAll := func(t *testing.T, what string) {
		t.Helper()
		cl := c.Client(t) // a new client starts from the current slot map
		for i := range nKeys {
			if v, err := cl.Get(ctx, key(i)).Result(); err != nil || v != strconv.Itoa(i) {
				t.Fatalf("%s: GET %s = %q, %v", what, key(i), v, err)
			}
		}
	}
	readAll(t, "after the writes")

	// From now on the subtests depend on each other: each needs the one
	// before it to have passed.
	masters := c.Masters(t)
	from, to := masters[0], masters[1]
	var moved []int
	if !t.Run("reshard", func(t *testing.T) {
		var owned []int
		for s, id := range c.ownersNow(t) {
			if id == from.ID {
				owned = append(owned, s)
			}
		}
		c.Reshard(t, from, to, 100)
		owners := c.ownersNow(t)
		for _, s := range owned {
			if owners[s] == to.ID {
				moved = append(moved, s)
			} else if owners[s] != from.ID {
				t.Errorf("slot %d went to %s", s, owners[s])
			}
		}
		if len(moved) != 100 {
			t.Fatalf("%d of %s's slots moved to %s, want 100", len(moved), from.Addr, to.Addr)
		}
		for _, s := range moved[:3] {
			if got := c.MasterOf(t, s); got != to {
				t.Errorf("MasterOf(%d) = %v, want %s", s, got, to.Addr)
			}
		}
		readAll(t, "after the reshard")
	}) {
		return
	}

	if !t.Run("reshard under load", func(t *testing.T) {
		tags := make([]string, len(moved))
		for i, s := range moved {
			tags[i] = slotKey(s)
		}
		wait := c.ReshardAsync(t, to, from, 100)
		stop := make(chan struct{})
		var writes, failed atomic.Int64
		done := make(chan error, 1)
		go func() {
			// Keys in the slots on the move: the writer sees ASK and
			// MOVED, which the cluster client follows.
			var err error
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- err
					return
				default:
				}
				k := "load:{" + tags[i%len(tags)] + "}"
				if e := cl.Incr(ctx, k).Err(); e != nil {
					failed.Add(1)
					err = e
				}
				writes.Add(1)
			}
		}()
		err := wait()
		close(stop)
		lastErr := <-done
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d writes during the reshard, %d failed (last error: %v)", writes.Load(), failed.Load(), lastErr)
		if writes.Load() == 0 {
			t.Error("no write ran during the reshard")
		}
		readAll(t, "after the reshard under load")
	}) {
		return
	}

	t.Run("failover", func(t *testing.T) {
		c.WaitSynced(t, 10*time.Second)
		victim := c.Masters(t)[0]
		victim.Kill()
		begin := time.Now()
		promoted := c.WaitFailover(t, victim, 10*time.Second)
		t.Logf("failover of %s to %v in %v", victim.Addr, promoted, time.Since(begin).Round(time.Millisecond))
		if promoted == nil || promoted == victim {
			t.Fatalf("WaitFailover returned %v", promoted)
		}
		for _, m := range c.Masters(t) {
			if m == victim {
				t.Error("the killed node is still listed among the masters")
			}
		}
		readAll(t, "after the failover")
	})
}

// ownersNow is the slot map as the first live node sees it.
func (c *Cluster) ownersNow(t testing.TB) []string {
	t.Helper()
	return slotOwners(c.mustView(t))
}

// slotKey returns a hash tag that lands in slot.
func slotKey(slot int) string {
	for i := 0; ; i++ {
		if k := strconv.Itoa(i); Slot(k) == slot {
			return k
		}
	}
}
