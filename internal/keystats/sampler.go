package keystats

import (
	"math"
	"math/rand/v2"
)

// Sampler chooses which of one goroutine's calls are sampled, for a caller
// that can keep one per connection: a call that is not sampled costs a
// decrement, against a random number for Stats.Sample. Each call is still
// sampled independently with probability 1/SampleEvery (the gaps between
// samples are drawn from the geometric distribution), so a client can neither
// time its commands around the samples nor, by opening many short
// connections, get more of them sampled. The zero value is ready; a Sampler
// is not safe for concurrent use.
type Sampler struct {
	skip    uint32 // calls to let pass before the next sample
	started bool
}

// Sample is Stats.Sample for the owner of sp: it counts key when this call is
// sampled and reports whether it was.
func (sp *Sampler) Sample(s *Stats, key []byte) bool {
	if sp.skip > 0 {
		sp.skip--
		return false
	}
	if s == nil {
		return false
	}
	set := s.set.Load()
	if !sp.started {
		// Memoryless: a gap drawn now is as good as one drawn long ago.
		sp.started = true
		if sp.skip = set.gap(); sp.skip > 0 {
			sp.skip--
			return false
		}
	}
	sp.skip = set.gap()
	s.count(set, key)
	return true
}

// gap draws how many calls pass unsampled before the next sample: the
// number of failures before a success of probability 1/SampleEvery.
func (set *settings) gap() uint32 {
	if set.SampleEvery == 1 {
		return 0
	}
	u := 1 - rand.Float64() // (0, 1]
	g := math.Floor(math.Log(u) / set.logMiss)
	return uint32(min(g, math.MaxUint32))
}
