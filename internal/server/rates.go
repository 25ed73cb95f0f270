package server

import (
	"sync"
	"time"
)

// rateSamples is how many samples the instantaneous rates average, taken
// every sampleInterval, as Redis does (16 samples, every 100 ms).
const (
	rateSamples    = 16
	sampleInterval = 100 * time.Millisecond
)

// rates are INFO's instantaneous_ops_per_sec and kbps: the mean of the
// last samples of how fast the totals grew.
type rates struct {
	mu            sync.Mutex
	n, next       int
	ops, in, out  [rateSamples]float64
	last          time.Time
	lastOps       int64
	lastIn, lastO int64
}

// sample records the totals at now.
func (r *rates) sample(now time.Time, ops, in, out int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() {
		if d := now.Sub(r.last).Seconds(); d > 0 {
			r.ops[r.next] = float64(ops-r.lastOps) / d
			r.in[r.next] = float64(in-r.lastIn) / d
			r.out[r.next] = float64(out-r.lastO) / d
			r.next = (r.next + 1) % rateSamples
			r.n = min(r.n+1, rateSamples)
		}
	}
	r.last, r.lastOps, r.lastIn, r.lastO = now, ops, in, out
}

// get returns the mean ops/s and bytes/s read and written.
func (r *rates) get() (ops, in, out float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0, 0, 0
	}
	for i := range r.n {
		ops += r.ops[i]
		in += r.in[i]
		out += r.out[i]
	}
	n := float64(r.n)
	return ops / n, in / n, out / n
}

// sampleRates takes one sample of the instance's totals.
func (s *Server) sampleRates() {
	t := s.totals()
	s.rates.sample(time.Now(), t.commandsProcessed.Load(), t.netInputBytes.Load(), t.netOutputBytes.Load())
}

// OpsPerSec is the instance's recent commands per second.
func (s *Server) OpsPerSec() float64 {
	ops, _, _ := s.rates.get()
	return ops
}
