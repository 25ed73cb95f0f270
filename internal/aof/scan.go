package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"redoubt/internal/resp"
)

// CorruptError reports a file of the AOF that cannot be replayed: bad
// bytes before its end, or an end in the middle of a command where that
// cannot come from a crash (any file but the last one appended to).
type CorruptError struct {
	File   string // full path
	Offset int64  // where the first bad command starts
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("aof: %s is corrupt at offset %d: %s; "+
		"run `redoubt check-aof --fix` to see the damage and truncate the file at the last valid command "+
		"(a copy is kept as .bak; the commands after that offset are lost)", e.File, e.Offset, e.Reason)
}

// readBufferSize is the read size of a replay: large reads keep the
// system calls per command negligible.
const readBufferSize = 256 << 10

// scanResult is what a scan of one file of commands found.
type scanResult struct {
	Name     string
	Size     int64
	Good     int64 // offset after the last command applied (outside an open MULTI)
	Commands int64
	Torn     bool          // the file ends in the middle of a command or of a MULTI block
	Corrupt  *CorruptError // non-nil: cannot be replayed past Good
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// scanFile reads the commands of name and gives each to deliver (nil:
// count only). Commands between MULTI and EXEC are held back and given,
// MULTI and EXEC included, once EXEC is read, so a transaction cut by a
// crash is never replayed. canTear says whether an incomplete end is a
// torn write (the last file) rather than corruption. The error is an I/O
// error or deliver's; what the file holds is in the result.
func scanFile(fsys FS, name string, deliver func([][]byte) error, canTear bool) (scanResult, error) {
	res := scanResult{Name: name}
	f, err := openRead(fsys, name)
	if err != nil {
		return res, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	res.Size = fi.Size()
	full := filepath.Join(fsys.Path(), name)
	corrupt := func(off int64, reason string) {
		res.Corrupt = &CorruptError{File: full, Offset: off, Reason: reason}
	}

	cr := &countReader{r: bufio.NewReaderSize(io.LimitReader(f, res.Size), readBufferSize)}
	rd := resp.NewReader(cr, resp.DefaultLimits())
	var tx txBuffer
	end := int64(0) // offset after the last complete command
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			if !errors.Is(err, io.EOF) && !resp.IsProtocolError(err) {
				return res, fmt.Errorf("aof: reading %s: %w", full, err)
			}
			end = cr.n - int64(rd.Buffered())
			break
		}
		start := end
		end = cr.n - int64(rd.Buffered())
		if rd.Inline() {
			corrupt(start, "not a RESP array (inline text)")
			return res, nil
		}
		switch {
		case isCmd(args, "multi"):
			if tx.open {
				corrupt(start, "MULTI inside MULTI")
				return res, nil
			}
			tx.begin(start, args)
		case tx.open:
			tx.add(args)
			if isCmd(args, "exec") {
				if err := tx.flush(deliver); err != nil {
					return res, replayErr(full, start, err)
				}
				res.Good, res.Commands = end, res.Commands+int64(tx.count)
				tx.reset()
			}
		default:
			if deliver != nil {
				if err := deliver(args); err != nil {
					return res, replayErr(full, start, err)
				}
			}
			res.Good, res.Commands = end, res.Commands+1
		}
	}
	if end == res.Size && !tx.open {
		return res, nil // clean end
	}
	torn := end == res.Size // only an unfinished MULTI block
	if !torn {
		torn, err = isTornTail(f, end, res.Size)
		if err != nil {
			return res, fmt.Errorf("aof: reading %s: %w", full, err)
		}
	}
	switch {
	case !torn:
		corrupt(end, "invalid command")
	case !canTear:
		corrupt(res.Good, "unexpected end of file (only the last incremental file may end in a torn write)")
	default:
		res.Torn = true
	}
	return res, nil
}

func replayErr(file string, off int64, err error) error {
	return fmt.Errorf("aof: replaying %s at offset %d: %w", file, off, err)
}

// isCmd reports whether args is the command name (lower case), with any
// case.
func isCmd(args [][]byte, name string) bool {
	return len(args) > 0 && len(args[0]) == len(name) && bytes.EqualFold(args[0], []byte(name))
}

// txBuffer holds the commands of a MULTI block until its EXEC. The
// reader's argument slices are reused by its next call, so they are
// copied into one arena.
type txBuffer struct {
	open  bool
	start int64
	arena []byte
	offs  []int // per argument: end offset in arena
	lens  []int // per command: number of arguments
	count int
}

func (t *txBuffer) begin(start int64, args [][]byte) {
	t.reset()
	t.open, t.start = true, start
	t.add(args)
}

func (t *txBuffer) add(args [][]byte) {
	for _, a := range args {
		t.arena = append(t.arena, a...)
		t.offs = append(t.offs, len(t.arena))
	}
	t.lens = append(t.lens, len(args))
	t.count++
}

func (t *txBuffer) flush(deliver func([][]byte) error) error {
	if deliver == nil {
		return nil
	}
	var args [][]byte
	i, prev := 0, 0
	for _, n := range t.lens {
		args = args[:0]
		for range n {
			args = append(args, t.arena[prev:t.offs[i]:t.offs[i]])
			prev = t.offs[i]
			i++
		}
		if err := deliver(args); err != nil {
			return err
		}
	}
	return nil
}

func (t *txBuffer) reset() {
	t.open, t.count = false, 0
	t.arena, t.offs, t.lens = t.arena[:0], t.offs[:0], t.lens[:0]
}

// isTornTail reports whether the bytes of f from off to size look like a
// write cut by a crash: a proper prefix of one RESP command, followed by
// nothing or by zero bytes only (a file system may extend a file before
// its data reaches the disk), or zero bytes only. Anything else, notably a
// complete but invalid command, is corruption.
func isTornTail(f io.ReaderAt, off, size int64) (bool, error) {
	z, err := lastNonZero(f, off, size)
	if err != nil {
		return false, err
	}
	if z == off {
		return true, nil
	}
	var first [1]byte
	if _, err := f.ReadAt(first[:], off); err != nil {
		return false, err
	}
	if first[0] != '*' {
		return false, nil
	}
	rd := resp.NewReader(bufio.NewReaderSize(io.NewSectionReader(f, off, z-off), readBufferSize), resp.DefaultLimits())
	_, err = rd.ReadCommand()
	switch {
	case err == nil, resp.IsProtocolError(err):
		return false, nil
	case errors.Is(err, io.EOF):
		return rd.Buffered() > 0, nil
	default:
		return false, err
	}
}

// lastNonZero returns the offset after the last non-zero byte in
// [off, size), or off if there is none.
func lastNonZero(f io.ReaderAt, off, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > off; {
		start := max(off, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return off, nil
}
