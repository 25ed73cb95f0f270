package keystats

import (
	"cmp"
	"hash/maphash"
	"slices"
	"time"
)

// HotKey is a key found hot in the last window that ended.
type HotKey struct {
	Key       string    // the name, cut to MaxKeyBytes
	KeyLen    int       // the name's full length
	OpsPerSec int64     // estimated: samples × SampleEvery / Window
	Samples   uint32    // times the key was sampled in the window (a lower bound)
	LastSeen  time.Time // when the key was last sampled
}

// slot counts one key in the current window.
type slot struct {
	count  uint32
	named  bool   // name is set: copied when count first reached minCount
	name   string // the key's name, cut to MaxKeyBytes
	keyLen int    // the key's full length
	last   int64  // Unix nanoseconds of the last sample
}

// count is the sampled path of Sample.
func (s *Stats) count(set *settings, key []byte) {
	h := maphash.Bytes(s.seed, key)
	now := set.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	set = s.set.Load() // Reconfigure stores under mu: this is the one in force
	s.rotate(set, now)
	s.sampled++
	e, ok := s.counts[h]
	switch {
	case ok:
		e.count++
	case len(s.counts) < set.MaxTracked:
		e = slot{count: 1, keyLen: len(key)}
	default:
		s.decrementAll()
		return
	}
	e.last = now.UnixNano()
	if !e.named && e.count >= set.minCount {
		e.named, e.name = true, keyName(set, key)
	}
	s.counts[h] = e
}

// decrementAll takes one from every counter and drops those at zero: the
// Misra-Gries step for a new key when the map is full (the new key is
// dropped too). The total of the counts shrinks by MaxTracked+1 each time, so
// over a window this costs O(1) per sample. Callers hold mu.
func (s *Stats) decrementAll() {
	for h, e := range s.counts {
		if e.count <= 1 {
			delete(s.counts, h)
			continue
		}
		e.count--
		s.counts[h] = e
	}
}

// rotate ends the current window if now is past it: keys counted at the hot
// level are detections, and become the hot list when that window is the last
// one that ended (not when later windows passed without any sample).
// Callers hold mu.
func (s *Stats) rotate(set *settings, now time.Time) {
	elapsed := now.Sub(s.start)
	if elapsed < set.Window {
		return
	}
	ended := elapsed / set.Window
	s.windows += uint64(ended)
	var hot []HotKey
	for _, e := range s.counts {
		if e.count < set.minCount {
			continue
		}
		s.hotDetections++
		if ended == 1 {
			hot = append(hot, HotKey{
				Key:       e.name,
				KeyLen:    e.keyLen,
				OpsPerSec: set.rate(e.count),
				Samples:   e.count,
				LastSeen:  time.Unix(0, e.last),
			})
		}
	}
	slices.SortFunc(hot, func(a, b HotKey) int {
		if c := cmp.Compare(b.Samples, a.Samples); c != 0 {
			return c
		}
		return b.LastSeen.Compare(a.LastSeen)
	})
	if len(hot) > set.TopN {
		hot = slices.Clip(hot[:set.TopN])
	}
	s.hot = hot
	clear(s.counts)
	s.start = s.start.Add(ended * set.Window)
}

// Top returns the hot keys of the last window that ended, hottest first,
// with their names (which may be sensitive).
func (s *Stats) Top() []HotKey {
	if s == nil {
		return nil
	}
	set := s.set.Load()
	now := set.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	set = s.set.Load() // Reconfigure stores under mu: this is the one in force
	s.rotate(set, now)
	return slices.Clone(s.hot)
}
