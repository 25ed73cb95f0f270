package managed

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Limits of the output kept from a server.
const (
	maxLineBytes = 4096        // a longer line is cut (the rest is read and dropped)
	tailLines    = 20          // lines quoted in the error of a failed start
	tailWait     = time.Second // for the output of a process that has exited
)

// redacted replaces the password wherever the server prints it: a bad
// configuration line is echoed back, and the ACL rule holds the password.
const redacted = "[password redacted]"

// output forwards what one server process writes, line by line, to the
// logger at Info, and keeps the last lines for an error message.
type output struct {
	log      *slog.Logger
	pid      int
	password string
	done     chan struct{} // closed at the end of the output

	mu   sync.Mutex
	tail []string // at most tailLines, oldest first
}

func newOutput(log *slog.Logger, pid int, password string) *output {
	return &output{log: log, pid: pid, password: password, done: make(chan struct{})}
}

// run reads r to its end and closes it. The pipe is drained whatever the
// lines hold, so the server never blocks writing to it.
func (o *output) run(r io.ReadCloser) {
	defer close(o.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLineBytes)
	var line []byte
	cut := false
	for {
		frag, more, err := br.ReadLine()
		if len(line)+len(frag) <= maxLineBytes {
			line = append(line, frag...)
		} else {
			line = append(line, frag[:maxLineBytes-len(line)]...)
			cut = true
		}
		if err != nil {
			if len(line) > 0 {
				o.emit(string(line), cut)
			}
			return
		}
		if !more {
			o.emit(string(line), cut)
			line, cut = line[:0], false
		}
	}
}

func (o *output) emit(line string, cut bool) {
	line = redact(line, o.password, cut)
	o.log.Info(line, "redis-server", o.pid)
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tail) == tailLines {
		o.tail = append(o.tail[:0], o.tail[1:]...)
	}
	o.tail = append(o.tail, line)
}

// last returns the last lines, after waiting up to wait for the output to
// end: when the process has exited, the reader may be a few lines behind.
func (o *output) last(wait time.Duration) string {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-o.done:
	case <-t.C:
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tail) == 0 {
		return "(none)"
	}
	return strings.Join(o.tail, "\n")
}

// redact hides the password in line. A line cut short may end with the
// start of the password: that is hidden too.
func redact(line, password string, cut bool) string {
	if password == "" {
		return line
	}
	line = strings.ReplaceAll(line, password, redacted)
	if cut {
		for n := len(password) - 1; n > 0; n-- {
			if strings.HasSuffix(line, password[:n]) {
				return line[:len(line)-n] + redacted
			}
		}
	}
	return line
}
