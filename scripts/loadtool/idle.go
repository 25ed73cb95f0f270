package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// runIdle opens n connections, authenticates each, waits until all are
// authenticated and the server has settled, and reports how much the
// server's resident set grew per connection.
func runIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:6379", "server address (loopback only)")
	n := fs.Int("n", 10000, "connections to open")
	user := fs.String("user", "", "AUTH user name (empty: AUTH <password>)")
	pass := fs.String("pass", "", "AUTH password (empty: no AUTH)")
	pid := fs.Int("pid", 0, "server process id, for its RSS (required)")
	conc := fs.Int("conc", 64, "connections opened at once")
	settle := fs.Duration("settle", 2*time.Second, "wait after the last AUTH before reading RSS")
	timeout := fs.Duration("timeout", 120*time.Second, "give up opening after this long")
	fs.Parse(args)
	if *pid <= 0 || *n <= 0 || *conc <= 0 {
		return fmt.Errorf("idle: -pid and -n are required and -n, -conc must be positive")
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}
	if err := raiseNoFile(uint64(*n) + 256); err != nil {
		return err
	}
	before, err := rssKiB(*pid)
	if err != nil {
		return err
	}

	conns := make([]*client, *n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(*timeout)
	start := time.Now()
	var wg sync.WaitGroup
	for range min(*conc, *n) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) || time.Now().After(deadline) {
					return
				}
				c, err := login(*addr, netip.Addr{}, *user, *pass)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	opened := time.Since(start)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("idle: %d of %d connections failed (first: %v)", f, *n, firstErr.Load())
	}
	time.Sleep(*settle)
	after, err := rssKiB(*pid)
	if err != nil {
		return err
	}
	// Every connection must still be there: one PING on each.
	var dead int
	for _, c := range conns {
		if r, err := c.do("PING"); err != nil || r.kind != '+' {
			dead++
		}
	}
	if dead > 0 {
		return fmt.Errorf("idle: %d connections did not answer PING after the measurement", dead)
	}
	per := float64(after-before) / float64(*n)
	fmt.Fprintf(os.Stderr, "idle: %d connections authenticated in %.1fs; RSS %d → %d KiB\n",
		*n, opened.Seconds(), before, after)
	fmt.Printf("conns=%d rss_before_kib=%d rss_after_kib=%d kib_per_conn=%.2f open_secs=%.1f\n",
		*n, before, after, per, opened.Seconds())
	return nil
}
