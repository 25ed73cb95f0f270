package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Replies the flood sorts (Redoubt's texts; see internal/server/authn.go).
const (
	wrongPassPrefix = "WRONGPASS"
	busyPrefix      = "ERR too many authentications in progress"
)

// authOpts are the flags of the auth subcommand.
type authOpts struct {
	addr, user, pass string
	pid              int
	phases           string
	dur              time.Duration
	workers          int
	clients          int
	floodUser        string
	floodConns       int
	wrong            int64
	floodRate        int
	srcFrom, srcTo   int
	fast             time.Duration
	logPath          string
}

// runAuth measures (a) AUTH with the right password once the account has
// logged in (the fast verifier), on fresh and on open connections, with the
// server's CPU time per AUTH; and (b) the GET throughput of authenticated
// clients without and then during a flood of wrong-password AUTHs for an
// account that has never logged in, sent from many loopback addresses.
func runAuth(args []string) error {
	var o authOpts
	fs := flag.NewFlagSet("auth", flag.ExitOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:6379", "server address (loopback only)")
	fs.StringVar(&o.user, "user", "", "account with the right password (empty: AUTH <password>)")
	fs.StringVar(&o.pass, "pass", "", "its password (required)")
	fs.IntVar(&o.pid, "pid", 0, "server process id, for its CPU time (required)")
	fs.StringVar(&o.phases, "phase", "a,b", "phases to run: a (AUTH rate), b (flood), or both")
	fs.DurationVar(&o.dur, "duration", 5*time.Second, "length of each measurement")
	fs.IntVar(&o.workers, "workers", 8, "concurrent AUTH loops in phase a")
	fs.IntVar(&o.clients, "clients", 50, "authenticated GET clients in phase b")
	fs.StringVar(&o.floodUser, "flood-user", "victim", "account the flood guesses at (one that has never logged in)")
	fs.IntVar(&o.floodConns, "flood-conns", 500, "flood connections, spread over the source addresses")
	fs.Int64Var(&o.wrong, "wrong", 200000, "at most this many wrong-password AUTHs (the flood also stops after -duration)")
	fs.IntVar(&o.floodRate, "flood-rate", 0, "wrong-password AUTHs per second in all (0: as fast as the server answers)")
	fs.IntVar(&o.srcFrom, "src-from", 2, "flood source addresses start at 127.0.0.<src-from>")
	fs.IntVar(&o.srcTo, "src-to", 250, "… and end at 127.0.0.<src-to>")
	fs.DurationVar(&o.fast, "fast", 10*time.Millisecond, "a WRONGPASS faster than this was refused without a password check (locked)")
	fs.StringVar(&o.logPath, "log", "", "the server's log (Redoubt, --log-level warn or lower): count its auth events exactly")
	fs.Parse(args)
	if o.pid <= 0 || o.pass == "" {
		return errors.New("auth: -pid and -pass are required")
	}
	if err := checkLoopback(o.addr); err != nil {
		return err
	}
	if err := raiseNoFile(uint64(o.floodConns+o.clients+o.workers) + 256); err != nil {
		return err
	}
	// The first success runs argon2id and installs the fast verifier.
	c, err := login(o.addr, netip.Addr{}, o.user, o.pass)
	if err != nil {
		return fmt.Errorf("auth: first login: %w", err)
	}
	c.close()

	var out []string
	for ph := range strings.SplitSeq(o.phases, ",") {
		switch strings.TrimSpace(ph) {
		case "a":
			kv, err := authRates(o)
			if err != nil {
				return err
			}
			out = append(out, kv...)
		case "b":
			kv, err := authFlood(o)
			if err != nil {
				return err
			}
			out = append(out, kv...)
		default:
			return fmt.Errorf("auth: unknown phase %q", ph)
		}
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}

// authRates runs phase a: AUTH with the right password in o.workers loops
// for o.dur, first each on a fresh connection (connect, AUTH, close), then
// repeated on open connections; it reports AUTH/s and the server's CPU time
// per AUTH for both.
func authRates(o authOpts) ([]string, error) {
	var kv []string
	for _, fresh := range []bool{true, false} {
		name := "conn"
		if fresh {
			name = "fresh"
		}
		n, cpu, err := authLoop(o, fresh)
		if err != nil {
			return nil, fmt.Errorf("auth (%s): %w", name, err)
		}
		rate := float64(n) / o.dur.Seconds()
		us := float64(cpu.Microseconds()) / float64(max(n, 1))
		fmt.Fprintf(os.Stderr, "auth %s: %d AUTH in %s = %.0f/s, server CPU %s = %.1f µs/AUTH\n",
			name, n, o.dur, rate, cpu, us)
		kv = append(kv, fmt.Sprintf("auth_%s_per_s=%.0f auth_%s_cpu_us=%.1f", name, rate, name, us))
	}
	return kv, nil
}

func authLoop(o authOpts, fresh bool) (int64, time.Duration, error) {
	var done atomic.Int64
	var firstErr atomic.Value
	conns := make([]*client, o.workers)
	if !fresh {
		for i := range conns {
			c, err := login(o.addr, netip.Addr{}, o.user, o.pass)
			if err != nil {
				return 0, 0, err
			}
			conns[i] = c
		}
		defer func() {
			for _, c := range conns {
				c.close()
			}
		}()
	}
	cpu0, err := cpuTime(o.pid)
	if err != nil {
		return 0, 0, err
	}
	end := time.Now().Add(o.dur)
	var wg sync.WaitGroup
	for i := range o.workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				var err error
				if fresh {
					var c *client
					if c, err = login(o.addr, netip.Addr{}, o.user, o.pass); err == nil {
						c.close()
					}
				} else {
					var r reply
					if r, err = conns[i].auth(o.user, o.pass); err == nil && r.kind != '+' {
						err = fmt.Errorf("%w: %s", errNotOK, r)
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	cpu1, err := cpuTime(o.pid)
	if err != nil {
		return 0, 0, err
	}
	if e, _ := firstErr.Load().(error); e != nil {
		return 0, 0, e
	}
	return done.Load(), cpu1 - cpu0, nil
}

// floodCounts sorts the flood's replies.
type floodCounts struct {
	sent, checked, locked, busy, other, closed atomic.Int64
	firstLock                                  atomic.Int64  // ns after the flood started; 0: none
	elapsed                                    time.Duration // set when the flood has ended
}

// authFlood runs phase b: GET throughput of o.clients authenticated
// clients for o.dur without a flood, then during one.
func authFlood(o authOpts) ([]string, error) {
	srcs, err := srcRange(o.srcFrom, o.srcTo)
	if err != nil {
		return nil, err
	}
	key := "loadtool:flood:key"
	setup, err := login(o.addr, netip.Addr{}, o.user, o.pass)
	if err != nil {
		return nil, err
	}
	r, err := setup.do("SET", key, "0123456789abcdef")
	setup.close()
	if err != nil || r.kind != '+' {
		return nil, fmt.Errorf("auth: SET %s: %v %v", key, r, err)
	}
	getters := make([]*client, o.clients)
	for i := range getters {
		if getters[i], err = login(o.addr, netip.Addr{}, o.user, o.pass); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, c := range getters {
			c.close()
		}
	}()

	base, baseSecs, baseCPU, err := getLoad(o, getters, key, nil)
	if err != nil {
		return nil, err
	}
	var fc floodCounts
	flooded, floodSecs, floodCPU, err := getLoad(o, getters, key, func(stop <-chan struct{}, start time.Time) {
		flood(o, srcs, &fc, stop, start)
	})
	if err != nil {
		return nil, err
	}
	minSec := slices.Min(floodSecs)
	lockAt, preLock := "none", "n/a"
	if ns := fc.firstLock.Load(); ns > 0 {
		at := time.Duration(ns).Seconds()
		lockAt = strconv.FormatFloat(at, 'f', 2, 64)
		// The whole seconds before the first lock: argon2id still runs.
		if n := min(int(at), len(floodSecs)); n > 0 {
			preLock = strconv.FormatFloat(mean(floodSecs[:n]), 'f', 0, 64)
		}
	} else {
		preLock = strconv.FormatFloat(flooded, 'f', 0, 64)
	}
	fmt.Fprintf(os.Stderr, "get without flood: %.0f ops/s (per second %v), server CPU %.0f%%\n", base, round(baseSecs), baseCPU)
	fmt.Fprintf(os.Stderr, "get during flood:  %.0f ops/s (per second %v), server CPU %.0f%%\n", flooded, round(floodSecs), floodCPU)
	fmt.Fprintf(os.Stderr, "flood: %d AUTH sent: %d WRONGPASS slower than -fast, %d WRONGPASS faster (on the wire; a loaded server blurs the two), %d busy, %d other, %d connections closed; first fast WRONGPASS after %ss\n",
		fc.sent.Load(), fc.checked.Load(), fc.locked.Load(), fc.busy.Load(), fc.other.Load(), fc.closed.Load(), lockAt)
	ratio := 0.0
	if base > 0 {
		ratio = flooded / base
	}
	server := "srv_failed=n/a srv_locked=n/a srv_throttled=n/a"
	if o.logPath != "" {
		ev, err := serverEvents(o, srcs[0])
		if err != nil {
			return nil, err
		}
		server = fmt.Sprintf("srv_failed=%d srv_locked=%d srv_throttled=%d", ev["auth_failed"], ev["auth_refused"], ev["auth_throttled"])
		fmt.Fprintf(os.Stderr, "server log: %d AUTH refused after a password check, %d refused by a lock, %d throttled\n",
			ev["auth_failed"], ev["auth_refused"], ev["auth_throttled"])
	}
	return []string{server, fmt.Sprintf("get_base_per_s=%.0f get_flood_per_s=%.0f get_ratio=%.2f get_flood_min_sec=%.0f get_prelock_per_s=%s cpu_base_pct=%.0f cpu_flood_pct=%.0f flood_sent=%d wire_slow=%d wire_fast=%d flood_busy=%d flood_other=%d flood_closed=%d flood_per_s=%.0f wire_first_fast_s=%s",
		base, flooded, ratio, minSec, preLock, baseCPU, floodCPU,
		fc.sent.Load(), fc.checked.Load(), fc.locked.Load(), fc.busy.Load(), fc.other.Load(), fc.closed.Load(),
		float64(fc.sent.Load())/min(fc.elapsed, o.dur).Seconds(), lockAt)}, nil
}

// getLoad runs GET on every getter for o.dur (less if side returns
// earlier), with side running alongside when it is not nil. It returns the
// overall GET/s, the GET/s of each whole second, and the server's CPU use
// in percent of one core.
func getLoad(o authOpts, getters []*client, key string, side func(stop <-chan struct{}, start time.Time)) (float64, []float64, float64, error) {
	var ops atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	cpu0, err := cpuTime(o.pid)
	if err != nil {
		return 0, nil, 0, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range getters {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := c.do("GET", key)
				if err == nil && r.kind != '$' {
					err = fmt.Errorf("GET: %s", r)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					halt()
					return
				}
				ops.Add(1)
			}
		})
	}
	var sideDone chan struct{}
	if side != nil {
		sideDone = make(chan struct{})
		go func() {
			defer close(sideDone)
			side(stop, start)
		}()
	}
	var secs []float64
	tick := time.NewTicker(time.Second)
	last := int64(0)
	timer := time.NewTimer(o.dur)
loop:
	for {
		select {
		case <-tick.C:
			n := ops.Load()
			secs = append(secs, float64(n-last))
			last = n
		case <-timer.C:
			break loop
		case <-sideDone:
			sideDone = nil
			break loop
		case <-stop:
			break loop
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	total := ops.Load()
	cpu1, err := cpuTime(o.pid)
	halt()
	wg.Wait()
	if sideDone != nil {
		<-sideDone
	}
	if err != nil {
		return 0, nil, 0, err
	}
	if e, _ := firstErr.Load().(error); e != nil {
		return 0, nil, 0, e
	}
	if len(secs) == 0 {
		secs = []float64{float64(total) / elapsed.Seconds()}
	}
	return float64(total) / elapsed.Seconds(), secs, 100 * (cpu1 - cpu0).Seconds() / elapsed.Seconds(), nil
}

// flood sends wrong-password AUTHs for o.floodUser from o.floodConns
// connections spread over srcs, each password different, until stop or
// o.wrong attempts; replies are sorted into fc by kind and time.
func flood(o authOpts, srcs []netip.Addr, fc *floodCounts, stop <-chan struct{}, start time.Time) {
	end := start.Add(o.dur)
	var tokens chan struct{}
	if o.floodRate > 0 {
		tokens = make(chan struct{}, o.floodConns)
		go pace(o.floodRate, tokens, stop, end)
	}
	var wg sync.WaitGroup
	for i := range o.floodConns {
		src := srcs[i%len(srcs)]
		wg.Go(func() {
			var c *client
			defer func() {
				if c != nil {
					c.close()
				}
			}()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				if time.Now().After(end) || fc.sent.Load() >= o.wrong {
					return
				}
				if tokens != nil {
					select {
					case <-tokens:
					case <-stop:
						return
					}
				}
				if c == nil {
					var err error
					if c, err = dial(o.addr, src, time.Second); err != nil {
						fc.closed.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					_ = c.nc.SetDeadline(end.Add(time.Second))
				}
				if fc.sent.Add(1) > o.wrong {
					fc.sent.Add(-1)
					return
				}
				t0 := time.Now()
				r, err := c.auth(o.floodUser, "wrong-"+strconv.Itoa(i)+"-"+strconv.Itoa(k))
				lat := time.Since(t0)
				switch {
				case err != nil:
					fc.sent.Add(-1) // no answer: not counted as an attempt
					fc.closed.Add(1)
					c.close()
					c = nil
				case r.kind == '-' && strings.HasPrefix(r.line, wrongPassPrefix):
					if lat < o.fast {
						fc.locked.Add(1)
						fc.firstLock.CompareAndSwap(0, int64(time.Since(start)))
					} else {
						fc.checked.Add(1)
					}
				case r.kind == '-' && strings.HasPrefix(r.line, busyPrefix):
					fc.busy.Add(1)
				default:
					fc.other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	fc.elapsed = time.Since(start)
}

// pace puts rate tokens a second into tokens until stop or end; tokens
// nobody takes in time are dropped (the flood is slower than asked).
func pace(rate int, tokens chan<- struct{}, stop <-chan struct{}, end time.Time) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	start, issued := time.Now(), int64(0)
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			if now.After(end) {
				return
			}
			due := int64(now.Sub(start).Seconds() * float64(rate))
			for ; issued < due; issued++ {
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
		}
	}
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func round(xs []float64) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

// serverEvents counts the AUTH events in Redoubt's log. Its security events
// are logged at most once a second per type, each line carrying the count
// of lines suppressed before it; so after a quiet second the tool causes
// one more event of each type (a wrong password for o.user from an address
// the flood did not use, and one more flood attempt from floodSrc) to
// flush the counts, and leaves those two out. On the now idle server the
// last attempt's time tells how it was refused: at once when locked, after
// a password check otherwise, and after a delay of at least 100 ms when
// throttled.
func serverEvents(o authOpts, floodSrc netip.Addr) (map[string]int64, error) {
	time.Sleep(1100 * time.Millisecond)
	spare := netip.AddrFrom4([4]byte{127, 0, 0, 251})
	var last time.Duration
	for _, t := range []struct {
		src        netip.Addr
		user, pass string
	}{{spare, o.user, "not-the-password"}, {floodSrc, o.floodUser, "wrong-last"}} {
		c, err := dial(o.addr, t.src, time.Second)
		if err != nil {
			return nil, err
		}
		_ = c.nc.SetDeadline(time.Now().Add(15 * time.Second))
		t0 := time.Now()
		_, err = c.auth(t.user, t.pass)
		last = time.Since(t0)
		c.close()
		if err != nil {
			return nil, err
		}
	}
	time.Sleep(200 * time.Millisecond)
	data, err := os.ReadFile(o.logPath)
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for l := range strings.Lines(string(data)) {
		if !strings.Contains(l, `msg="security event"`) {
			continue
		}
		var typ string
		n := int64(1)
		for f := range strings.FieldsSeq(l) {
			if v, ok := strings.CutPrefix(f, "event="); ok {
				typ = v
			} else if v, ok := strings.CutPrefix(f, "suppressed="); ok {
				if k, err := strconv.ParseInt(v, 10, 64); err == nil {
					n += k
				}
			}
		}
		counts[typ] += n
	}
	counts["auth_failed"]-- // the spare address's wrong password
	switch {
	case last < o.fast:
		counts["auth_refused"]--
	case last >= 100*time.Millisecond:
		counts["auth_throttled"]--
		counts["auth_failed"]--
	default:
		counts["auth_failed"]--
	}
	return counts, nil
}
