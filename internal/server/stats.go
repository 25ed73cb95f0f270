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

	latency [latencyBuckets]atomic.Int64 // its sum is the sum of cmds' nanos
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

// statBatch gathers a connection's figures over one batch of pipelined
// commands, so the shared counters — cache lines every core writes — are
// touched once a batch instead of once a command.
type statBatch struct {
	n      int
	ids    [8]int32
	calls  [8]int32
	failed [8]int32
	nanos  [8]int64
	lat    [latencyBuckets]int32
	latSet uint32 // the buckets of lat in use
}

// ran records, for the batch, one call of spec that took d; weight is
// how many calls of its kind this timing stands for (fastSample for a
// sampled @fast command, else 1), in usec and the histogram.
func (c *conn) ran(spec *command.Spec, d time.Duration, failed bool, weight int) {
	b := c.batchStats()
	i := b.slot(c, int32(spec.ID))
	b.calls[i]++
	if failed {
		b.failed[i]++
	}
	if weight == 0 {
		return // not timed
	}
	b.nanos[i] += int64(d) * int64(weight)
	k := latencyBucket(d)
	b.lat[k] += int32(weight)
	b.latSet |= 1 << k
}

// called records, for the batch, a call Redoubt does not time.
func (c *conn) called(spec *command.Spec) {
	if c.s.stats.on {
		b := c.batchStats()
		b.calls[b.slot(c, int32(spec.ID))]++
	}
}

// batchStats returns the connection's statBatch, made at its first
// measured command (an idle connection holds none).
func (c *conn) batchStats() *statBatch {
	if c.sb == nil {
		c.sb = new(statBatch)
	}
	return c.sb
}

// slot returns the batch's entry for command id, making room by flushing
// when eight commands are in use.
func (b *statBatch) slot(c *conn, id int32) int {
	for i := range b.n {
		if b.ids[i] == id {
			return i
		}
	}
	if b.n == len(b.ids) {
		c.flushStats()
	}
	i := b.n
	b.n++
	b.ids[i], b.calls[i], b.failed[i], b.nanos[i] = id, 0, 0, 0
	return i
}

// flushStats adds the batch's figures to the instance's.
func (c *conn) flushStats() {
	b := c.sb
	if b == nil || (b.n == 0 && b.latSet == 0) {
		return
	}
	st := c.s.stats
	for i := range b.n {
		cs := &st.cmds[b.ids[i]]
		cs.calls.Add(int64(b.calls[i]))
		if b.nanos[i] != 0 {
			cs.nanos.Add(b.nanos[i])
		}
		if b.failed[i] != 0 {
			cs.failed.Add(int64(b.failed[i]))
		}
	}
	b.n = 0
	for set := b.latSet; set != 0; set &= set - 1 {
		k := bits.TrailingZeros32(set)
		st.latency[k].Add(int64(b.lat[k]))
		b.lat[k] = 0
	}
	b.latSet = 0
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

// latencySum is the total of the latency histogram, in nanoseconds.
func (st *stats) latencySum() int64 {
	var n int64
	for i := range st.cmds {
		n += st.cmds[i].nanos.Load()
	}
	return n
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

// fastSample: while the slow-log threshold is at least a millisecond,
// one @fast command (O(1) or O(log N): GET, SET, INCR …) in fastSample is
// timed, and stands for the others in usec and the latency histogram.
// Reading the clock is most of what monitoring costs a pipeline of such
// commands; they are not the ones that take milliseconds.
const fastSample = 8

// untimed is clock's answer for a command that is not timed.
const untimed = -1

// clock returns the start of a measured command in nanoseconds of the
// monotonic clock, 0 when statistics are off, or untimed. Within a batch
// of pipelined commands the end of one timed command is the start of the
// next, so a command reads the clock once (a pipelined command's time
// then includes parsing it from the buffer, a fraction of a microsecond).
func (c *conn) clock(spec *command.Spec) int64 {
	if !c.s.stats.on {
		return 0
	}
	if c.sampledFast(spec) {
		c.fastN++
		if c.fastN%fastSample != 0 {
			c.clockAt = 0 // the next timed command reads the clock afresh
			return untimed
		}
	}
	if c.clockAt != 0 {
		return c.clockAt
	}
	return c.s.nanotime()
}

// sampledFast reports whether spec is timed one call in fastSample: a
// @fast command while the slow log cannot want it (threshold ≥ 1 ms).
func (c *conn) sampledFast(spec *command.Spec) bool {
	return spec.Flags&command.FlagFast != 0 && !c.s.slow.Enabled(time.Millisecond-time.Nanosecond)
}

// nanotime is the monotonic clock, in nanoseconds since the instance
// started: one clock read, where time.Now reads two clocks.
func (s *Server) nanotime() int64 { return int64(time.Since(s.start)) }

// measure records a command the front door ran, started at start, whose
// reply begins at mark in the output.
func (c *conn) measure(spec *command.Spec, args [][]byte, start int64, mark int) {
	st := c.s.stats
	if !st.on {
		return
	}
	if start == untimed {
		c.ran(spec, 0, c.failedAfter(mark), 0)
		return
	}
	now := c.s.nanotime()
	c.clockAt = now
	d := time.Duration(now - start)
	weight := 1
	if c.sampledFast(spec) {
		weight = fastSample
	}
	c.ran(spec, d, c.failedAfter(mark), weight)
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
