package keystats

import (
	"hash/maphash"
	"slices"
	"strings"
	"time"
)

// BigKey is a key seen with a value over a big-key threshold.
type BigKey struct {
	Key       string    // the name, cut to MaxKeyBytes
	KeyLen    int       // the name's full length
	Cmd       string    // the command of the latest observation
	Bytes     int64     // size in bytes at the latest observation (0: unknown)
	Elements  int64     // element count at the latest observation (0: unknown)
	Count     uint64    // observations over a threshold
	FirstSeen time.Time // first observation over a threshold
	LastSeen  time.Time // latest observation over a threshold
}

type bigEntry struct {
	BigKey
	hash  uint64
	score float64
}

// ObserveSize reports the size of key's value as a command wrote or read it:
// bytes (a string's or a reply's size) and elements (a collection's length),
// either 0 when unknown. A size under both thresholds costs two comparisons
// and no lock. A bigger one is recorded; key and cmd are copied when kept.
func (s *Stats) ObserveSize(key []byte, cmd string, bytes, elements int) {
	if s == nil {
		return
	}
	set := s.set.Load()
	score := set.bigScore(int64(bytes), int64(elements))
	if score == 0 {
		return
	}
	s.recordBig(set, key, cmd, int64(bytes), int64(elements), score)
}

// bigScore returns how many times over its threshold the larger of the two
// sizes is, or 0 when neither is over.
func (set *settings) bigScore(bytes, elements int64) float64 {
	var score float64
	if set.BigBytes > 0 && bytes > set.BigBytes {
		score = float64(bytes) / float64(set.BigBytes)
	}
	if set.BigElements > 0 && elements > set.BigElements {
		score = max(score, float64(elements)/float64(set.BigElements))
	}
	return score
}

func (s *Stats) recordBig(set *settings, key []byte, cmd string, bytes, elements int64, score float64) {
	h := maphash.Bytes(s.seed, key)
	now := set.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	set = s.set.Load() // Reconfigure stores under mu: this is the one in force
	s.bigDetections++
	i := slices.IndexFunc(s.big, func(e bigEntry) bool { return e.hash == h })
	switch {
	case i >= 0:
		e := &s.big[i]
		e.Bytes, e.Elements, e.score = bytes, elements, score
		e.Count++
		e.LastSeen = now
		if e.Cmd != cmd {
			e.Cmd = strings.Clone(cmd)
		}
	case len(s.big) < set.BigMax:
		s.big = append(s.big, newBigEntry(set, h, key, cmd, bytes, elements, score, now))
		i = len(s.big) - 1
	case score > s.big[len(s.big)-1].score:
		i = len(s.big) - 1
		s.big[i] = newBigEntry(set, h, key, cmd, bytes, elements, score, now)
	default:
		return // smaller than every key kept
	}
	// Restore the ranking: only entry i moved.
	for ; i > 0 && s.big[i].score > s.big[i-1].score; i-- {
		s.big[i], s.big[i-1] = s.big[i-1], s.big[i]
	}
	for ; i < len(s.big)-1 && s.big[i].score < s.big[i+1].score; i++ {
		s.big[i], s.big[i+1] = s.big[i+1], s.big[i]
	}
}

func newBigEntry(set *settings, h uint64, key []byte, cmd string, bytes, elements int64, score float64, now time.Time) bigEntry {
	return bigEntry{
		hash:  h,
		score: score,
		BigKey: BigKey{
			Key: keyName(set, key), KeyLen: len(key), Cmd: strings.Clone(cmd),
			Bytes: bytes, Elements: elements, Count: 1, FirstSeen: now, LastSeen: now,
		},
	}
}

// Big returns the big keys, the most over their thresholds first, with their
// names (which may be sensitive).
func (s *Stats) Big() []BigKey {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BigKey, len(s.big))
	for i, e := range s.big {
		out[i] = e.BigKey
	}
	return out
}
