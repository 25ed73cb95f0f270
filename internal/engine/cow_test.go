package engine

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/rdb"
)

// TestSnapshotIsPointInTime starts a snapshot, then interleaves its
// chunks with random writes of every kind (FLUSHDB, SWAPDB, expiry,
// eviction-free deletes, in-place changes of collections): what the
// snapshot emits must be the data as it was when it began.
func TestSnapshotIsPointInTime(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			env := newEnv(t)
			for _, line := range propagationScript(r) {
				if line != "MULTI" {
					env.run(strings.Fields(line)...)
				}
			}
			env.e.Lock()
			// Keys already past their time are emitted with it; a loader
			// drops them. Compare everything the dicts hold.
			want := dumpAll(env.e)
			snap := env.e.BeginSnapshot()
			env.e.Unlock()
			var got []string
			script := propagationScript(r)
			for more := true; more; {
				var err error
				more, err = snap.Next(1+r.IntN(4), func(ent *rdb.Entry) error {
					at := int64(-1)
					if ent.Expires {
						at = ent.ExpireAt
					}
					got = append(got, render(ent.DB, string(ent.Key), ent.Value, at))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for range r.IntN(6) {
					if len(script) == 0 {
						break
					}
					if line := script[0]; line != "MULTI" {
						env.run(strings.Fields(line)...)
					}
					script = script[1:]
					if r.IntN(8) == 0 {
						env.advance(time.Duration(r.IntN(2000)) * time.Millisecond)
						env.e.Lock()
						env.e.activeExpireCycle(time.Second)
						env.e.Unlock()
					}
				}
			}
			env.e.Lock()
			snap.Close()
			env.e.Unlock()
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("snapshot differs from the data when it began\n want %v\n got  %v", want, got)
			}
		})
	}
}

// dumpAll is dump including keys past their expiry.
func dumpAll(e *Engine) []string {
	var out []string
	for _, db := range e.dbs {
		db.keys.Range(func(k string, v *Value) bool {
			out = append(out, render(db.id, k, exportValue(v), db.expireAt([]byte(k))))
			return true
		})
	}
	slices.Sort(out)
	return out
}
