// Package keystats finds hot keys and big keys by sampling, the way
// camellia-redis-proxy's monitors do, at a cost the command path can pay on
// every call.
//
// Hot keys: the server calls [Stats.Sample], or [Sampler.Sample] with a
// Sampler kept per connection (cheaper), with each key a command touches.
// About one call in SampleEvery, chosen at random (no lock, no shared write),
// does real work: the key's 64-bit keyed hash is counted, under
// a mutex, in a map of at most MaxTracked counters for the current window.
// When the map is full a new key is counted the Misra-Gries ("frequent items")
// way: every counter loses one and those at zero are dropped. So memory stays
// bounded whatever keys an attacker sends, and counts are only ever
// underestimated: a flood of unique keys can hide a key whose rate is within
// (samples in the window)/(MaxTracked+1) of the threshold, but can never make
// a cold key look hot. At the end of each window the keys whose estimated rate
// (count × SampleEvery / Window) reaches HotThreshold become the hot list that
// [Stats.Top] returns until the next window ends. A key's name is copied only
// once its count reaches the hot level; other keys are held as hashes.
//
// Big keys: the server calls [Stats.ObserveSize] with the size of a value it
// wrote or read (usually for the commands Sample chose). A size under both
// thresholds costs two comparisons; a bigger one is recorded, deduplicated by
// key, in a list of at most BigMax keys ranked by how many times over its
// threshold the key is.
//
// Key names may be sensitive. [Stats.Counters] has no names and suits
// Prometheus; [Stats.Top] and [Stats.Big] return names, cut to MaxKeyBytes,
// and the caller decides who sees them.
//
// Time: there is no goroutine and nothing to close. Windows end lazily, when
// a sampled call or a reader (Top, Counters) sees the clock past the window;
// windows are aligned to the first one, and the clock is Config.Now.
package keystats

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Stats collects hot and big keys. It is safe for concurrent use. Sample,
// ObserveSize, Top, Big, Counters and Reset treat a nil *Stats as disabled,
// so a server without key statistics can call them unconditionally.
type Stats struct {
	// set is read without the lock on the fast paths and stored only under
	// mu, so code holding mu that loads it sees the settings in force.
	set  atomic.Pointer[settings]
	seed maphash.Seed // keyed hash: an attacker cannot aim at collisions

	mu sync.Mutex
	// The fields below are guarded by mu.
	start         time.Time       // start of the current window
	counts        map[uint64]slot // keys sampled in the current window
	hot           []HotKey        // hot keys of the last window that ended
	sampled       uint64
	windows       uint64
	hotDetections uint64
	big           []bigEntry // ranked, highest score first
	bigDetections uint64
}

// New returns a Stats for cfg, or an error from cfg.Validate.
func New(cfg Config) (*Stats, error) {
	set, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	s := &Stats{seed: maphash.MakeSeed()}
	s.set.Store(set)
	s.start = set.Now()
	s.counts = make(map[uint64]slot, set.MaxTracked)
	return s, nil
}

// Reconfigure applies a new config. Counting restarts with a new window (the
// rate of counts taken under the old settings would be wrong); the hot and
// big lists are cut to their new lengths. A nil cfg.Now keeps the clock.
func (s *Stats) Reconfigure(cfg Config) error {
	if cfg.Now == nil {
		cfg.Now = s.set.Load().Now
	}
	set, err := newSettings(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set.Store(set)
	s.start = set.Now()
	s.counts = make(map[uint64]slot, set.MaxTracked)
	if len(s.hot) > set.TopN {
		s.hot = s.hot[:set.TopN:set.TopN]
	}
	if len(s.big) > set.BigMax {
		s.big = s.big[:set.BigMax:set.BigMax]
	}
	return nil
}

// Config returns the config in force, defaults filled in.
func (s *Stats) Config() Config {
	return s.set.Load().Config
}

// Sample counts key, for about one call in SampleEvery, and reports whether
// it did; the caller may then measure the value's size for ObserveSize. A
// call that is not sampled costs a random number and a comparison: no lock,
// no allocation, no shared write. key is not retained. A caller that can keep
// a Sampler per connection should use Sampler.Sample, which is cheaper.
func (s *Stats) Sample(key []byte) bool {
	if s == nil {
		return false
	}
	set := s.set.Load()
	if uint64(rand.Uint32()) >= set.limit {
		return false
	}
	s.count(set, key)
	return true
}

// Counters are the totals, without key names, for metrics.
type Counters struct {
	Sampled       uint64 // calls Sample counted
	Windows       uint64 // windows ended
	Tracked       int    // keys counted in the current window (at most MaxTracked)
	HotKeys       int    // keys in the current hot list
	HotDetections uint64 // times a key was found hot at the end of a window
	BigKeys       int    // keys in the big-key list
	BigDetections uint64 // ObserveSize calls over a threshold
}

// Counters returns the totals since New or Reset, ending the window first if
// its time is up.
func (s *Stats) Counters() Counters {
	if s == nil {
		return Counters{}
	}
	set := s.set.Load()
	now := set.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	set = s.set.Load() // Reconfigure stores under mu: this is the one in force
	s.rotate(set, now)
	return Counters{
		Sampled:       s.sampled,
		Windows:       s.windows,
		Tracked:       len(s.counts),
		HotKeys:       len(s.hot),
		HotDetections: s.hotDetections,
		BigKeys:       len(s.big),
		BigDetections: s.bigDetections,
	}
}

// Reset forgets every key and zeroes the counters; a new window starts.
func (s *Stats) Reset() {
	if s == nil {
		return
	}
	set := s.set.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start = set.Now()
	clear(s.counts)
	s.hot, s.big = nil, nil
	s.sampled, s.windows, s.hotDetections, s.bigDetections = 0, 0, 0, 0
}

// keyName copies the part of key that is kept as its name.
func keyName(set *settings, key []byte) string {
	return string(key[:min(len(key), set.MaxKeyBytes)])
}
