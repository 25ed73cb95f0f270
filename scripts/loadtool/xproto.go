package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runXproto measures the GET throughput of clients without and then
// during a flood of cross-protocol attempts: connections from many
// loopback addresses that each send the start of a browser's HTTP POST,
// as a web page attacking a Redis port does. Every attempt is an event
// (cross_protocol, then ban_refused once its address is banned), so the
// flood also measures whether writing events slows the data path.
func runXproto(args []string) error {
	var o authOpts
	var n int64
	var conc int
	fs := flag.NewFlagSet("xproto", flag.ExitOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "server address (loopback only)")
	fs.IntVar(&o.pid, "pid", 0, "server process id, for its CPU time (required)")
	fs.DurationVar(&o.dur, "duration", 5*time.Second, "length of the measurement without the flood; the flood phase lasts until -n attempts (at most 10 × -duration)")
	fs.IntVar(&o.clients, "clients", 50, "GET clients")
	fs.Int64Var(&n, "n", 100000, "cross-protocol attempts")
	fs.IntVar(&conc, "conc", 32, "concurrent attempts")
	fs.IntVar(&o.srcFrom, "src-from", 2, "attempts come from 127.0.0.<src-from>")
	fs.IntVar(&o.srcTo, "src-to", 250, "… to 127.0.0.<src-to>")
	fs.Parse(args)
	if o.pid <= 0 {
		return errors.New("xproto: -pid is required")
	}
	if err := checkLoopback(o.addr); err != nil {
		return err
	}
	if err := raiseNoFile(uint64(o.clients+conc) + 256); err != nil {
		return err
	}
	srcs, err := srcRange(o.srcFrom, o.srcTo)
	if err != nil {
		return err
	}
	setup, err := dial(o.addr, netip.Addr{}, 5*time.Second)
	if err != nil {
		return err
	}
	if r, err := setup.do("SET", "xproto:key", "value"); err != nil || r.kind != '+' {
		return fmt.Errorf("xproto: SET: %v %s", err, r)
	}
	setup.close()
	var getters []*client
	defer func() {
		for _, c := range getters {
			c.close()
		}
	}()
	for range o.clients {
		c, err := dial(o.addr, netip.Addr{}, 5*time.Second)
		if err != nil {
			return err
		}
		getters = append(getters, c)
	}
	before, _, cpuBefore, err := getLoad(o, getters, "xproto:key", nil)
	if err != nil {
		return fmt.Errorf("xproto: GET alone: %w", err)
	}
	var attempts, failed atomic.Int64
	var floodTime time.Duration
	side := func(stop <-chan struct{}, start time.Time) {
		end := start.Add(10 * o.dur)
		var wg sync.WaitGroup
		for w := range conc {
			wg.Go(func() {
				for i := w; ; i += conc {
					select {
					case <-stop:
						return
					default:
					}
					if attempts.Add(1) > n || time.Now().After(end) {
						return
					}
					if !attempt(o.addr, srcs[i%len(srcs)]) {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		floodTime = time.Since(start)
	}
	o.dur = 10 * o.dur
	during, secs, cpuDuring, err := getLoad(o, getters, "xproto:key", side)
	if err != nil {
		return fmt.Errorf("xproto: GET during the flood: %w", err)
	}
	low := during
	for _, s := range secs {
		low = min(low, s)
	}
	fmt.Fprintf(os.Stderr, "GET alone %.0f/s (cpu %.0f%%); during %d attempts in %v: %.0f/s (cpu %.0f%%), lowest second %.0f\n",
		before, cpuBefore, min(attempts.Load(), n), floodTime.Round(time.Millisecond), during, cpuDuring, low)
	fmt.Printf("get_before=%.0f get_during=%.0f get_lowest_second=%.0f attempts=%d attempts_unanswered=%d flood_secs=%.2f\n",
		before, during, low, min(attempts.Load(), n), failed.Load(), floodTime.Seconds())
	return nil
}

// attempt sends one cross-protocol request from src and waits until the
// server closes the connection; false when it could not connect or the
// server kept the connection open for 5 s.
func attempt(addr string, src netip.Addr) bool {
	c, err := dial(addr, src, 5*time.Second)
	if err != nil {
		return false
	}
	defer c.close()
	_ = c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c.nc, "POST / HTTP/1.1\r\nHost: 127.0.0.1:6379\r\nContent-Type: text/plain\r\n\r\n")
	_, err = io.Copy(io.Discard, c.nc)
	return err == nil || !strings.Contains(err.Error(), "timeout")
}
