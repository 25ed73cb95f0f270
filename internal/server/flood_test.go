package server

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/command"
	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
)

// floodPartial is what every flood connection sends: the start of an AUTH
// whose password announces 16,000 bytes (just under the pre-auth bulk
// limit) and delivers six. A server that allocated what is announced would
// hold 16 KB for each such connection.
const floodPartial = "*2\r\n$4\r\nAUTH\r\n$16000\r\nabcdef"

// maxHeapPerConn bounds the heap that one admitted flood connection may
// hold, counting both ends (the test's client sockets live in the same
// process). Measured under -race: about 11 KiB (the conn, reader, writer
// and engine client structs, the 512-byte reply buffer, both sockets, and
// a read buffer that has grown from 4 to 8 KiB for the 30 bytes pending).
// A server that allocated the announced 16,000-byte bulk would add 16 KiB
// on top of that and cross the bound; so would one that kept a copy of
// the partial command per read.
const maxHeapPerConn = 24 << 10

// maxStackPerConn bounds the goroutine stack growth per admitted
// connection (measured: 2-4 KiB; Go starts goroutines small and grows
// them by doubling, so a read path that needed deep stacks would show).
const maxStackPerConn = 16 << 10

// openFlood opens n connections to addr as fast as it can (a few dialers
// at once) and sends floodPartial on each. Write errors are ignored: a
// refused connection may be closed before its bytes arrive.
func openFlood(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	const dialers = 8
	for w := range dialers {
		wg.Go(func() {
			d := net.Dialer{Timeout: 5 * time.Second}
			for i := w; i < n; i += dialers {
				nc, err := d.Dial("tcp", addr)
				if err != nil {
					errs[i] = err
					continue
				}
				conns[i] = nc
				_, _ = io.WriteString(nc, floodPartial)
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nc := range conns {
			if nc != nil {
				nc.Close()
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("dial: %v", err)
	}
	return conns
}

// memInUse reports the heap and stack in use after a full collection.
func memInUse() (heap, stack uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// TestConnectionFlood: 2,000 connections opened at once, each stuck in the
// middle of a pre-auth command. With a limit above the flood every one is
// admitted (the flood reaches the server, so the limit below is what
// stops it); with MaxClients 500 no more than 500 are ever in, the others
// are refused at accept. Each admitted connection costs a bounded amount
// of memory, and the authentication timeout closes all of them.
func TestConnectionFlood(t *testing.T) {
	const (
		flood       = 2000
		authTimeout = 500 * time.Millisecond
	)
	tests := []struct {
		name        string
		maxClients  int
		wantRefused bool
	}{
		{"limit above the flood: all admitted", 10000, false},
		{"maxclients 500", 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := withAccounts(t, func(sec *Security, _ *command.Table) {
				sec.MaxClients = tt.maxClients
				sec.PerAddress = 0 // every flood connection comes from 127.0.0.1
				sec.AuthTimeout = authTimeout
			})
			addr := s.Addrs()[0]

			// Watch the number of clients while the flood runs.
			stop, watched := make(chan struct{}), make(chan int)
			go func() {
				peak := 0
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for {
					peak = max(peak, s.clientCount())
					select {
					case <-stop:
						watched <- peak
						return
					case <-tick.C:
					}
				}
			}()

			heap0, stack0 := memInUse()
			start := time.Now()
			conns := openFlood(t, addr, flood)
			testutil.WaitFor(t, 10*time.Second, "every flood connection to be accepted", func() bool {
				return s.connectionsReceived.Load() == flood
			})
			// The admitted connections must have read their partial
			// command before memory is measured.
			testutil.WaitFor(t, 5*time.Second, "the admitted connections to read", func() bool {
				return s.totals().netInputBytes.Load() >= int64(len(floodPartial))*int64(s.clientCount())
			})
			heap1, stack1 := memInUse()
			alive := s.clientCount()
			opened := time.Since(start)
			close(stop)
			peak := <-watched

			refused := int(s.rejectedConnections.Load())
			admitted := flood - refused
			t.Logf("opened %d connections in %v: %d admitted (peak %d at once, %d alive when measured), %d refused",
				flood, opened.Round(time.Millisecond), admitted, peak, alive, refused)
			if peak > tt.maxClients {
				t.Errorf("%d clients at once, limit %d", peak, tt.maxClients)
			}
			if got := refused > 0; got != tt.wantRefused {
				t.Errorf("%d connections refused, want refusals: %v", refused, tt.wantRefused)
			}
			if n := rec.Count(monitor.MaxClients); int(n) != refused {
				t.Errorf("%d maxclients events for %d refusals", n, refused)
			}
			if alive < 100 {
				t.Fatalf("only %d connections alive when memory was measured (opened in %v): too few to measure", alive, opened)
			}
			heapPer := (int64(heap1) - int64(heap0)) / int64(alive)
			stackPer := (int64(stack1) - int64(stack0)) / int64(alive)
			t.Logf("heap %d B and stack %d B per admitted connection", heapPer, stackPer)
			if heapPer > maxHeapPerConn {
				t.Errorf("heap grew %d B per admitted connection, bound %d", heapPer, maxHeapPerConn)
			}
			if stackPer > maxStackPerConn {
				t.Errorf("stacks grew %d B per admitted connection, bound %d", stackPer, maxStackPerConn)
			}

			// The authentication timeout closes every admitted connection.
			testutil.WaitFor(t, authTimeout+5*time.Second, "the auth timeout to close the flood", func() bool {
				return s.clientCount() == 0
			})
			if n := rec.Count(monitor.AuthTimeout); int(n) != admitted {
				t.Errorf("%d auth_timeout events, want %d", n, admitted)
			}
			// Every connection is closed; the only bytes any of them got
			// are the max-clients error.
			deadline := time.Now().Add(5 * time.Second)
			var silent, told int
			for i, nc := range conns {
				_ = nc.SetReadDeadline(deadline)
				b, err := io.ReadAll(nc)
				switch {
				case errors.Is(err, os.ErrDeadlineExceeded):
					t.Fatalf("connection %d still open after the auth timeout", i)
				case string(b) == "-ERR max number of clients reached\r\n":
					told++
				case len(b) == 0:
					silent++ // closed by the auth timeout, or reset at accept
				default:
					t.Fatalf("connection %d got %q", i, b)
				}
			}
			if told > refused {
				t.Errorf("%d max-clients replies for %d refusals", told, refused)
			}
			t.Logf("%d told max clients, %d closed silently", told, silent)
		})
	}
}

// TestSlowlorisPreAuth: a peer that announces a bulk just under the
// pre-auth limit and trickles its bytes cannot keep an unauthenticated
// connection past the authentication timeout, while on an instance that
// needs no authentication the same trickle keeps its connection, so the
// close is the timeout's doing. A bulk above the pre-auth limit is
// refused at once.
func TestSlowlorisPreAuth(t *testing.T) {
	const authTimeout = 500 * time.Millisecond
	secured, _ := withAccounts(t, func(sec *Security, _ *command.Table) { sec.AuthTimeout = authTimeout })
	open, _ := withAccounts(t, func(sec *Security, _ *command.Table) {
		sec.Accounts = nil // the nopass default user: nothing to authenticate
		sec.AuthTimeout = authTimeout
	})
	tests := []struct {
		name    string
		s       *Server
		header  string
		trickle bool
		want    string // "" the connection stays; "closed": closed without a reply
		within  time.Duration
	}{
		{"no auth needed: the trickle keeps its connection", open, "*2\r\n$4\r\nAUTH\r\n$16000\r\n", true, "", 0},
		{"$16000 trickled: closed at the auth timeout", secured, "*2\r\n$4\r\nAUTH\r\n$16000\r\n", true, "closed", authTimeout + 2*time.Second},
		{"$17000: refused at once", secured, "*2\r\n$4\r\nAUTH\r\n$17000\r\n", false, "-ERR Protocol error: unauthenticated bulk length\r\n", authTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, tt.s.Addrs()[0])
			start := time.Now()
			c.send(tt.header)
			stopTrickle := make(chan struct{})
			trickled := make(chan struct{})
			go func() {
				defer close(trickled)
				if !tt.trickle {
					return
				}
				tick := time.NewTicker(50 * time.Millisecond) // the attacker's pace
				defer tick.Stop()
				for range 100 {
					select {
					case <-stopTrickle:
						return
					case <-tick.C:
					}
					if _, err := c.nc.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
			defer func() { close(stopTrickle); <-trickled }()

			if tt.want == "" {
				// Read until well past the auth timeout: nothing comes
				// and the connection stays open.
				_ = c.nc.SetReadDeadline(time.Now().Add(3 * authTimeout))
				b, err := io.ReadAll(c.nc)
				if !errors.Is(err, os.ErrDeadlineExceeded) || len(b) > 0 {
					t.Fatalf("connection ended (%v, %q) after %v", err, b, time.Since(start))
				}
				return
			}
			_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c.nc)
			took := time.Since(start)
			if err != nil && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("not closed: %v after %v", err, took)
			}
			want := tt.want
			if want == "closed" {
				want = ""
				if took < authTimeout-50*time.Millisecond { // the server's clock starts at its accept
					t.Fatalf("closed after %v, before the auth timeout %v", took, authTimeout)
				}
			}
			if string(b) != want {
				t.Fatalf("got %q, want %q", b, want)
			}
			if took > tt.within {
				t.Fatalf("closed after %v, want within %v", took, tt.within)
			}
		})
	}
}
