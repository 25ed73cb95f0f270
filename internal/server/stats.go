package server

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"redoubt/internal/command"
)

// cmdStat is one command's figures, as INFO commandstats shows them.
type cmdStat struct {
	calls    atomic.Int64
	nanos    atomic.Int64 // time spent running it (embedded engine)
	failed   atomic.Int64 // calls that answered an error
	rejected atomic.Int64 // calls refused before they ran
}

// latencyBuckets is the number of latency histogram buckets: bucket i
// counts durations below 2^i µs, the last one everything longer.
const latencyBuckets = 24

// maxErrorTypes bounds the error types counted one by one, as Redis
// bounds errorstats; further types are counted under "OTHER".
const maxErrorTypes = 128

// Monitoring configures an instance's operational figures; the security
// counters and events are kept whatever it says.
type Monitoring struct {
	// Off turns off per-command statistics, the latency histogram, the
	// slow log and hot/big key sampling.
	Off bool
	// SlowlogSlowerThan is the least duration the slow log records;
	// negative turns it off, 0 records every command.
	SlowlogSlowerThan time.Duration
	SlowlogMaxLen     int
	HotKeyRate        int   // estimated ops/s from which a key is hot
	HotKeySample      int   // sample one command in HotKeySample
	BigKeyBytes       int64 // a value at least this large is big
	BigKeyElements    int   // a collection with this many elements is big
}

// DefaultMonitoring is what an instance gets when Options.Monitoring is nil.
func DefaultMonitoring() Monitoring {
	return Monitoring{
		SlowlogSlowerThan: 10 * time.Millisecond,
		SlowlogMaxLen:     128,
		HotKeyRate:        1000,
		HotKeySample:      16,
		BigKeyBytes:       1 << 20,
		BigKeyElements:    10000,
	}
}

// stats are an instance's operational figures: per-command counters,
// errors by type and the command latency histogram. The counters are
// atomics indexed by the command table's IDs, so the data path never
// takes a lock for them; error types, rarer, share a small map.
type stats struct {
	on   bool // per-command figures and latency are kept
	cmds []cmdStat

	latency [latencyBuckets]atomic.Int64
	latSum  atomic.Int64 // nanoseconds
	// rtt is a gateway's or cluster's round trips to the backend: from a
	// client's first request until every reply of its pipeline is in.
	rtt    [latencyBuckets]atomic.Int64
	rttSum atomic.Int64

	errMu sync.Mutex
	errs  map[string]int64
}

func newStats(table *command.Table, on bool) *stats {
	return &stats{on: on, cmds: make([]cmdStat, table.Len()), errs: map[string]int64{}}
}

// ran records one call of spec that took d; failed reports an error reply.
func (st *stats) ran(spec *command.Spec, d time.Duration, failed bool) {
	if !st.on {
		return
	}
	cs := &st.cmds[spec.ID]
	cs.calls.Add(1)
	cs.nanos.Add(int64(d))
	if failed {
		cs.failed.Add(1)
	}
	st.latency[latencyBucket(d)].Add(1)
	st.latSum.Add(int64(d))
}

// called records a call whose time Redoubt does not measure (a proxied
// command: the backend runs it).
func (st *stats) called(spec *command.Spec) {
	if st.on {
		st.cmds[spec.ID].calls.Add(1)
	}
}

// rejectedCall records a call refused before it ran (rules, disabled
// command, step-up, authentication).
func (st *stats) rejectedCall(spec *command.Spec) {
	if st.on {
		st.cmds[spec.ID].rejected.Add(1)
	}
}

// roundTrip records one round trip to the backend.
func (st *stats) roundTrip(d time.Duration) {
	if !st.on {
		return
	}
	st.rtt[latencyBucket(d)].Add(1)
	st.rttSum.Add(int64(d))
}

func latencyBucket(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	return min(bits.Len64(us), latencyBuckets-1)
}

// latencyBound is the upper bound of bucket i, in seconds.
func latencyBound(i int) float64 { return float64(uint64(1)<<i) / 1e6 }

// errorType is the error code Redis's errorstats counts: the first word
// of the message when it is upper case, else "ERR".
func errorType(msg []byte) string {
	word := msg
	if i := bytes.IndexAny(msg, " \r\n"); i >= 0 {
		word = msg[:i]
	}
	if len(word) == 0 || len(word) > 32 {
		return "ERR"
	}
	for _, b := range word {
		if !(b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			return "ERR"
		}
	}
	return string(word)
}

// failedWith counts one error reply by type.
func (st *stats) failedWith(msg []byte) {
	t := errorType(msg)
	st.errMu.Lock()
	if _, ok := st.errs[t]; !ok && len(st.errs) >= maxErrorTypes {
		t = "OTHER"
	}
	st.errs[t]++
	st.errMu.Unlock()
}

// errorCounts returns the error counts by type.
func (st *stats) errorCounts() map[string]int64 {
	st.errMu.Lock()
	defer st.errMu.Unlock()
	out := make(map[string]int64, len(st.errs))
	for k, v := range st.errs {
		out[k] = v
	}
	return out
}

// reset clears the figures, as CONFIG RESETSTAT does.
func (st *stats) reset() {
	for i := range st.cmds {
		cs := &st.cmds[i]
		cs.calls.Store(0)
		cs.nanos.Store(0)
		cs.failed.Store(0)
		cs.rejected.Store(0)
	}
	for i := range st.latency {
		st.latency[i].Store(0)
		st.rtt[i].Store(0)
	}
	st.latSum.Store(0)
	st.rttSum.Store(0)
	st.errMu.Lock()
	clear(st.errs)
	st.errMu.Unlock()
}

// arityRejected returns the spec of a known command refused for its
// number of arguments (Redis counts it in rejected_calls), or nil.
func (s *Server) arityRejected(args [][]byte) *command.Spec {
	spec := s.table.Lookup(args[0])
	if spec != nil && len(spec.Subcommands) > 0 && len(args) > 1 {
		spec = s.table.LookupSub(spec, args[1])
	}
	if spec == nil || spec.ArityOK(len(args)) || !s.available(spec) {
		return nil
	}
	return spec
}

// clock returns the start time of a measured command, or the zero time
// when statistics are off (reading the clock is then skipped too).
func (s *Server) clock() time.Time {
	if !s.stats.on {
		return time.Time{}
	}
	return time.Now()
}

// measure records a command the front door ran, started at start, whose
// reply begins at mark in the output.
func (c *conn) measure(spec *command.Spec, args [][]byte, start time.Time, mark int) {
	st := c.s.stats
	if !st.on {
		return
	}
	d := time.Since(start)
	st.ran(spec, d, c.failedAfter(mark))
	if c.s.slow.Enabled(d) {
		c.slowlogAdd(spec, args, d)
	}
}

// commandstats writes INFO commandstats in Redis's format.
// In a gateway or cluster instance, the commands the backend runs show
// only their refusals: the backend's own commandstats count their calls.
func (st *stats) commandstats(s *Server, b *bytes.Buffer) {
	for _, spec := range s.table.ByID {
		cs := &st.cmds[spec.ID]
		calls, rej, failed := cs.calls.Load(), cs.rejected.Load(), cs.failed.Load()
		if s.proxied() && s.handlers[spec.ID] == nil {
			calls, failed = 0, 0
		}
		if calls == 0 && rej == 0 && failed == 0 {
			continue
		}
		usec := cs.nanos.Load() / 1000
		per := 0.0
		if calls > 0 {
			per = float64(cs.nanos.Load()) / 1000 / float64(calls)
		}
		fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			spec.Name, calls, usec, per, rej, failed)
	}
}

// errorstats writes INFO errorstats in Redis's format, sorted by type.
func (st *stats) errorstats(b *bytes.Buffer) {
	errs := st.errorCounts()
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", strings.ToUpper(k), errs[k])
	}
}
