package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"redoubt/internal/command"
	"redoubt/internal/resp"
)

// TestPanicRecovered checks that a panic inside a command is answered with
// an error, logged with the command name but never its arguments, and that
// a partial reply written before the panic is dropped.
func TestPanicRecovered(t *testing.T) {
	var logs bytes.Buffer
	tab := command.New()
	e := New(Options{Table: tab, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer e.Close()
	spec := tab.Lookup([]byte("get"))
	e.handlers[spec.ID] = func(c *Client, args [][]byte) {
		c.W.WriteArray(2) // a partial reply
		panic("boom")
	}
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	c := e.NewClient(w)
	w.WriteSimple("before")
	e.Lock()
	e.Exec(c, spec, [][]byte{[]byte("GET"), []byte("secret-argument")})
	e.Unlock()
	_ = w.Flush()
	if got, want := out.String(), "+before\r\n-ERR internal error while running 'get'\r\n"; got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), "command=get") || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("log lacks the command or the panic: %s", logs.String())
	}
	if strings.Contains(logs.String(), "secret-argument") {
		t.Fatal("the log holds a command argument")
	}
}

// TestEveryHandlerHasATableEntry is enforced by New (it panics otherwise);
// this test makes the check visible and checks that write-flagged specs of
// the commands the engine runs really are the ones that change data.
func TestHandlersMatchTable(t *testing.T) {
	tab := command.New()
	e := New(Options{Table: tab})
	defer e.Close()
	n := 0
	for _, h := range e.handlers {
		if h != nil {
			n++
		}
	}
	if n != len(e.commands()) {
		t.Fatalf("%d handlers indexed, %d declared", n, len(e.commands()))
	}
}
