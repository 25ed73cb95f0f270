package aof

import (
	"errors"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes as the last incremental file: Load never
// panics, fails only with a *CorruptError, and what it keeps (after a
// torn-tail truncation) loads again to the same commands with no change.
func FuzzLoad(f *testing.F) {
	data, _, _ := tornFixture()
	f.Add(data)
	f.Add(data[:len(data)-5])
	f.Add(append(append([]byte{}, data...), 0, 0, 0))
	f.Add([]byte("*1\r\n$4\r\nPING\r\nPING\r\n"))
	f.Add([]byte("*2\r\n$5\r\nMULTI\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := openDir(t, "")
		writeAOF(t, d.Path(), b)
		var c collector
		var info *LoadInfo
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			info, err = Load(DirFS(d), quiet(), nil, c.cmd)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Load hangs on %q", b)
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Load = %v", err)
			}
			return
		}
		again, info2 := load(t, DirFS(d))
		if !equal(again, c.cmds) || info2.Truncated != nil || info2.Size != info.Size {
			t.Fatalf("second load differs: %q vs %q (%+v)", again, c.cmds, info2.Truncated)
		}
	})
}
