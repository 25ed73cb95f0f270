package managed

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Readiness polling.
const (
	pollInterval = 20 * time.Millisecond
	probeTimeout = time.Second // one dial and exchange
)

// probe dials the socket, logs in and expects +OK to AUTH and +PONG to
// PING. A server still loading its data answers -LOADING, which is an
// error here: it is not ready yet.
func probe(addr, password string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	req := "*2\r\n$4\r\nAUTH\r\n$" + strconv.Itoa(len(password)) + "\r\n" + password + "\r\n" +
		"*1\r\n$4\r\nPING\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 512)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if got := strings.TrimRight(string(line), "\r\n"); got != want {
			return fmt.Errorf("reply %q, want %s", got, want)
		}
	}
	return nil
}
