package resp

// Limits bound what the reader accepts from the wire. Every length read from
// the wire is checked against them before a byte is allocated for it.
type Limits struct {
	MaxBulk   int64 // longest bulk string
	MaxArgs   int64 // most elements in one command or aggregate
	MaxInline int   // longest inline command line, and longest header line
	MaxDepth  int   // deepest nesting of aggregates in a value (commands are flat)
	// MaxValue bounds the bytes of one whole value read with ReadRaw
	// (a reply from a backend); 0: no bound beyond the others. A longer
	// value is discarded as it arrives and reported as ErrValueTooLarge.
	MaxValue int64

	// PreAuth selects Redis's "unauthenticated" error texts for
	// connections that have not authenticated yet.
	PreAuth bool
}

// Default limits, as Redis 7 has them (proto-max-bulk-len and the
// multibulk and inline limits of networking.c).
const (
	DefaultMaxBulk   = 512 << 20 // 512 MiB
	DefaultMaxArgs   = 1 << 20   // 1,048,576 elements
	DefaultMaxInline = 64 << 10  // 64 KiB
	DefaultMaxDepth  = 64        // nested aggregates in one reply

	// Before a connection has authenticated Redis accepts at most 10
	// arguments and 16 KiB a bulk string.
	PreAuthMaxBulk = 16 << 10
	PreAuthMaxArgs = 10
)

// DefaultLimits returns the limits for authenticated connections.
func DefaultLimits() Limits {
	return Limits{
		MaxBulk:   DefaultMaxBulk,
		MaxArgs:   DefaultMaxArgs,
		MaxInline: DefaultMaxInline,
		MaxDepth:  DefaultMaxDepth,
	}
}

// PreAuthLimits returns the tighter limits for connections that still have
// to authenticate.
func PreAuthLimits() Limits {
	return Limits{
		MaxBulk:   PreAuthMaxBulk,
		MaxArgs:   PreAuthMaxArgs,
		MaxInline: PreAuthMaxBulk,
		MaxDepth:  1,
		PreAuth:   true,
	}
}
