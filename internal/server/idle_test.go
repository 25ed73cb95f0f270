package server

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"redoubt/internal/command"
)

// TestIdleTimeout: an authenticated connection that sends nothing for
// IdleTimeout is closed without a word, as Redis's timeout does; one that
// sends a command more often than that stays; with IdleTimeout 0 an idle
// connection stays however long it waits.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	tests := []struct {
		name      string
		timeout   time.Duration
		pingEvery time.Duration // 0: the client stays silent
		wantClose bool
	}{
		{"idle connection is closed", idle, 0, true},
		{"a PING every 100ms keeps it", idle, 100 * time.Millisecond, false},
		{"timeout 0 keeps an idle connection", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := withAccounts(t, func(sec *Security, _ *command.Table) { sec.IdleTimeout = tt.timeout })
			c := dial(t, s.Addrs()[0])
			if got := c.do("AUTH", "app", appPassword); got != "+OK\r\n" {
				t.Fatalf("AUTH = %q", got)
			}
			start := time.Now()
			if tt.pingEvery > 0 {
				// Ten PINGs over a second: more than three timeouts.
				tick := time.NewTicker(tt.pingEvery) // the client's pace
				defer tick.Stop()
				for i := range 10 {
					<-tick.C
					if got := c.do("PING"); got != "+PONG\r\n" {
						t.Fatalf("PING %d after %v: %q", i+1, time.Since(start), got)
					}
				}
				return
			}
			// Block on a read: the server either closes the connection or
			// the read gives up after three times the timeout.
			_ = c.nc.SetReadDeadline(time.Now().Add(3 * idle))
			readStart := time.Now()
			b, err := io.ReadAll(c.nc)
			took := time.Since(readStart)
			if tt.wantClose {
				if err != nil || len(b) > 0 {
					t.Fatalf("idle connection not closed silently: %v, %q after %v", err, b, took)
				}
				// The deadline was set just before the AUTH reply was
				// written, so the close comes at most a little earlier
				// than idle after the reply arrived.
				if took < idle-50*time.Millisecond {
					t.Fatalf("closed after %v, before the idle timeout %v", took, idle)
				}
				return
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) || len(b) > 0 {
				t.Fatalf("connection ended after %v idle: %v, %q", took, err, b)
			}
			_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got := c.do("PING"); got != "+PONG\r\n" {
				t.Fatalf("PING after %v idle: %q", took, got)
			}
		})
	}
}
