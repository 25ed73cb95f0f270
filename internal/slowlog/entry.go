package slowlog

import (
	"strconv"
	"strings"
	"time"
)

// Redis's limits on what an entry keeps of a command (SLOWLOG_ENTRY_MAX_ARGC
// and SLOWLOG_ENTRY_MAX_STRING in slowlog.h).
const (
	// MaxArgs is the most arguments an entry keeps, the command name
	// included. A longer command keeps MaxArgs-1 arguments followed by
	// "... (N more arguments)", N counting the one that marker replaces.
	MaxArgs = 32
	// MaxArgBytes is the longest argument an entry keeps whole. A longer one
	// keeps its first MaxArgBytes bytes followed by "... (M more bytes)".
	MaxArgBytes = 128
)

// The markers Redis writes in place of what it leaves out.
const (
	moreArgsPrefix  = "... ("
	moreArgsSuffix  = " more arguments)"
	moreBytesSuffix = " more bytes)"
)

// Entry is one slow command, with the fields of a SLOWLOG GET reply in their
// order: ID, Time.Unix(), Duration.Microseconds(), Args, Addr, Name.
type Entry struct {
	ID       int64         // unique, increasing from 0
	Time     time.Time     // when the command was logged; Redis shows Unix seconds
	Duration time.Duration // execution time; Redis shows whole microseconds
	Args     []string      // the command, truncated as Redis truncates it
	Addr     string        // client address, "ip:port"
	Name     string        // client name, "" when it has none
}

// newEntry builds an entry's Args, Addr and Name from the caller's buffers.
// Everything it keeps is copied into one string, which the fields slice.
func newEntry(args [][]byte, addr, name string) Entry {
	n := min(len(args), MaxArgs)
	more := len(args) - MaxArgs + 1 // arguments the marker stands for
	size := len(addr) + len(name)
	for i := 0; i < n; i++ {
		switch a := args[i]; {
		case i == MaxArgs-1 && more > 1:
			size += len(moreArgsPrefix+moreArgsSuffix) + digits(more)
		case len(a) > MaxArgBytes:
			size += MaxArgBytes + len(moreArgsPrefix+moreBytesSuffix) + digits(len(a)-MaxArgBytes)
		default:
			size += len(a)
		}
	}
	var b strings.Builder
	b.Grow(size)
	var ends [MaxArgs + 2]int
	var num [20]byte
	for i := 0; i < n; i++ {
		switch a := args[i]; {
		case i == MaxArgs-1 && more > 1:
			b.WriteString(moreArgsPrefix)
			b.Write(strconv.AppendInt(num[:0], int64(more), 10))
			b.WriteString(moreArgsSuffix)
		case len(a) > MaxArgBytes:
			b.Write(a[:MaxArgBytes])
			b.WriteString(moreArgsPrefix)
			b.Write(strconv.AppendInt(num[:0], int64(len(a)-MaxArgBytes), 10))
			b.WriteString(moreBytesSuffix)
		default:
			b.Write(a)
		}
		ends[i] = b.Len()
	}
	b.WriteString(addr)
	ends[n] = b.Len()
	b.WriteString(name)
	ends[n+1] = b.Len()

	s := b.String()
	e := Entry{Args: make([]string, n)}
	from := 0
	for i := range e.Args {
		e.Args[i] = s[from:ends[i]]
		from = ends[i]
	}
	e.Addr = s[from:ends[n]]
	e.Name = s[ends[n]:ends[n+1]]
	return e
}

// digits returns the length of n >= 0 in decimal.
func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}
