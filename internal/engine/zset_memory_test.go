package engine

import (
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestZSetMemoryPerMember measures the live heap of a skiplist-encoded
// sorted set per member (members like redis-benchmark's
// "element:000000123456") and checks it and the memory() estimate. It
// uses 100k members, or 1M with ZSET_MEMORY_1M=1.
func TestZSetMemoryPerMember(t *testing.T) {
	n := 100_000
	if os.Getenv("ZSET_MEMORY_1M") != "" {
		n = 1_000_000
	}
	members := make([]string, n)
	for i := range members {
		members[i] = "element:" + leftPad(strconv.Itoa(i), 12)
	}
	before := liveHeap()
	z := &zset{}
	for i, m := range members {
		z.insert(float64(i%100_000), string([]byte(m))) // the set owns its copy
	}
	after := liveHeap()
	per := float64(after-before) / float64(n)
	est := float64(z.memory()) / float64(n)
	t.Logf("%d members: %.1f heap bytes per member (memory() estimates %.1f)", n, per, est)
	if per > 140 {
		t.Errorf("%.1f bytes per member, want at most 140", per)
	}
	if est < per*0.75 || est > per*1.25 {
		t.Errorf("memory() estimate %.1f per member is off the measured %.1f by more than 25%%", est, per)
	}
	runtime.KeepAlive(z)
	runtime.KeepAlive(members)
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
