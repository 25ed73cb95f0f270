package keystats

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults for a zero Config field.
const (
	DefaultSampleEvery  = 16
	DefaultWindow       = time.Second
	DefaultHotThreshold = 1000 // estimated operations per second
	DefaultMaxTracked   = 1024
	DefaultTopN         = 10
	DefaultBigBytes     = 1 << 20
	DefaultBigElements  = 10000
	DefaultBigMax       = 20
	DefaultMaxKeyBytes  = 128
)

// Limits on Config fields; Validate rejects values outside them.
const (
	MaxSampleEvery = 1 << 16
	MinWindow      = 10 * time.Millisecond
	MaxWindow      = time.Hour
	MinMaxTracked  = 16
	MaxMaxTracked  = 1 << 20
	MaxTopN        = 100
	MaxBigMax      = 1000
	MinMaxKeyBytes = 16
	MaxMaxKeyBytes = 64 << 10
)

// Config sets up a Stats. A zero field takes its default.
type Config struct {
	// SampleEvery is N: Sample does real work for about 1 call in N.
	// 1 samples every call.
	SampleEvery int
	// Window is the period over which sampled keys are counted (default 1s).
	Window time.Duration
	// HotThreshold is the estimated rate, in operations per second, at or
	// above which a key is hot.
	HotThreshold int64
	// MaxTracked is K, the most keys counted in one window; it bounds the
	// memory an attacker sending unique keys can make us use.
	MaxTracked int
	// TopN is the most hot keys Top reports.
	TopN int
	// BigBytes: a value of more bytes than this is big. Negative disables.
	BigBytes int64
	// BigElements: a collection of more elements than this is big.
	// Negative disables.
	BigElements int64
	// BigMax is the most big keys Big reports.
	BigMax int
	// MaxKeyBytes is the longest key name kept; longer names are cut (the
	// full length is reported beside them).
	MaxKeyBytes int
	// Now is the clock (default time.Now); tests inject a fake one.
	Now func() time.Time
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SampleEvery, DefaultSampleEvery)
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	def64(&c.HotThreshold, DefaultHotThreshold)
	def(&c.MaxTracked, DefaultMaxTracked)
	def(&c.TopN, DefaultTopN)
	def64(&c.BigBytes, DefaultBigBytes)
	def64(&c.BigElements, DefaultBigElements)
	def(&c.BigMax, DefaultBigMax)
	def(&c.MaxKeyBytes, DefaultMaxKeyBytes)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("keystats: invalid config")

// Validate reports every field out of its range (zero fields take their
// defaults and are valid), joined into one error wrapping ErrConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
		}
	}
	check(c.SampleEvery >= 1 && c.SampleEvery <= MaxSampleEvery,
		"sample every %d: want 1 to %d", c.SampleEvery, MaxSampleEvery)
	check(c.Window >= MinWindow && c.Window <= MaxWindow,
		"window %v: want %v to %v", c.Window, MinWindow, MaxWindow)
	check(c.HotThreshold >= 1, "hot threshold %d: want at least 1", c.HotThreshold)
	check(c.MaxTracked >= MinMaxTracked && c.MaxTracked <= MaxMaxTracked,
		"max tracked %d: want %d to %d", c.MaxTracked, MinMaxTracked, MaxMaxTracked)
	check(c.TopN >= 1 && c.TopN <= MaxTopN, "top %d: want 1 to %d", c.TopN, MaxTopN)
	check(c.BigMax >= 1 && c.BigMax <= MaxBigMax, "big max %d: want 1 to %d", c.BigMax, MaxBigMax)
	check(c.MaxKeyBytes >= MinMaxKeyBytes && c.MaxKeyBytes <= MaxMaxKeyBytes,
		"max key bytes %d: want %d to %d", c.MaxKeyBytes, MinMaxKeyBytes, MaxMaxKeyBytes)
	return errors.Join(errs...)
}

// settings is a validated Config with the values the hot path derives from
// it. It is immutable; Reconfigure swaps in a new one.
type settings struct {
	Config
	// limit: a call is sampled when a random uint32 is below it, which
	// happens with probability 1/SampleEvery.
	limit uint64
	// minCount is the sampled count in one window at which a key is hot:
	// count × SampleEvery / Window ≥ HotThreshold.
	minCount uint32
	// logMiss is ln(1 - 1/SampleEvery), for Sampler's gaps.
	logMiss float64
}

func newSettings(c Config) (*settings, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	need := math.Ceil(float64(c.HotThreshold) * c.Window.Seconds() / float64(c.SampleEvery))
	return &settings{
		Config:   c,
		limit:    (1 << 32) / uint64(c.SampleEvery),
		minCount: uint32(max(1, min(need, math.MaxUint32))),
		logMiss:  math.Log1p(-1 / float64(c.SampleEvery)),
	}, nil
}

// rate returns the estimated operations per second of a key sampled count
// times in one window.
func (s *settings) rate(count uint32) int64 {
	return int64(math.Round(float64(count) * float64(s.SampleEvery) / s.Window.Seconds()))
}
