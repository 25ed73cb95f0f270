package eventlog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Walk calls fn with every sound entry of the event files in dir, oldest
// first, and stops at the first error fn returns, which it returns. It
// does not check the chain (Verify does): lines that are not sound
// entries, edited ones included, are skipped, and so are files that
// cannot be read.
func Walk(dir string, fn func(Entry) error) error {
	files, err := listFiles(dir)
	if err != nil {
		return fmt.Errorf("eventlog: %w", err)
	}
	for _, fi := range files {
		f, err := openFile(filepath.Join(dir, fi.name), os.O_RDONLY, 0)
		if err != nil {
			continue
		}
		var ferr error
		_ = scanLines(f, func(ln *rawLine) bool {
			if !ln.complete || ln.long {
				return true
			}
			e, _, lerr := parseLine(ln.data)
			if lerr != nil {
				return true
			}
			ferr = fn(e)
			return ferr == nil
		})
		f.Close()
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// Filter selects entries for Query. Zero fields select everything.
type Filter struct {
	Types    []string  // any of these types
	Instance string    // this instance
	Since    time.Time // at or after
	Until    time.Time // before
	Limit    int       // at most this many: the newest ones (0: no limit)
}

func (f *Filter) match(e *Entry) bool {
	switch {
	case len(f.Types) > 0 && !slices.Contains(f.Types, e.Type):
	case f.Instance != "" && e.Instance != f.Instance:
	case !f.Since.IsZero() && e.Time.Before(f.Since):
	case !f.Until.IsZero() && !e.Time.Before(f.Until):
	default:
		return true
	}
	return false
}

// Query returns the sound entries of dir that f selects, oldest first;
// with a Limit, the newest Limit of them (still oldest first). Like Walk
// it does not check the chain.
func Query(dir string, f Filter) ([]Entry, error) {
	var out []Entry
	next := 0 // with a Limit, out is a ring and next its oldest
	err := Walk(dir, func(e Entry) error {
		if !f.match(&e) {
			return nil
		}
		if f.Limit <= 0 || len(out) < f.Limit {
			out = append(out, e)
			return nil
		}
		out[next] = e
		next = (next + 1) % f.Limit
		return nil
	})
	if err != nil {
		return nil, err
	}
	if next > 0 {
		out = slices.Concat(out[next:], out[:next])
	}
	return out, nil
}
