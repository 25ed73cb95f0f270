package server

import (
	"strings"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

// sampleAll is monitoring that samples every command, so the tests are
// exact.
func sampleAll() *Monitoring {
	m := DefaultMonitoring()
	m.HotKeySample = 1
	m.HotKeyRate = 100
	m.BigKeyBytes = 1 << 20
	m.BigKeyElements = 1000
	return &m
}

// TestHotAndBigKeysEmbedded: a key read thousands of times a second is
// listed by REDOUBT HOTKEYS, keys of many others are not; a 2 MiB string
// and a 5,000-element list are listed by REDOUBT BIGKEYS, small ones are
// not; the metrics count them without names.
func TestHotAndBigKeysEmbedded(t *testing.T) {
	s := startServer(t, Options{Monitoring: sampleAll()})
	cl := dial(t, s.Addrs()[0])
	cl.do("SET", "big:str", strings.Repeat("x", 2<<20))
	args := []string{"RPUSH", "big:list"}
	for i := range 5000 {
		args = append(args, itoa(i))
	}
	cl.do(args...)
	cl.do("SET", "small", "1")
	// Pipelined so the rate is far above 100/s whatever the machine.
	var pipe []byte
	for i := range 3000 {
		pipe = resp.AppendCommand(pipe, []byte("GET"), []byte("hot:key"))
		pipe = resp.AppendCommand(pipe, []byte("GET"), []byte("cold:"+itoa(i)))
	}
	for range 3 {
		cl.send(string(pipe))
		for range 6000 {
			cl.reply()
		}
	}
	hot := ""
	testutil.WaitFor(t, 10*time.Second, "hot:key in REDOUBT HOTKEYS", func() bool {
		cl.send(string(resp.AppendCommand(nil, []byte("GET"), []byte("hot:key"))))
		cl.reply()
		hot = cl.do("REDOUBT", "HOTKEYS")
		return strings.Contains(hot, "hot:key")
	})
	if strings.Contains(hot, "cold:") {
		t.Errorf("a cold key is listed hot: %q", hot)
	}
	big := cl.do("REDOUBT", "BIGKEYS")
	for _, want := range []string{"big:str", "big:list"} {
		if !strings.Contains(big, want) {
			t.Errorf("REDOUBT BIGKEYS lacks %s: %q", want, big)
		}
	}
	if strings.Contains(big, "small") || strings.Contains(big, "hot:key") {
		t.Errorf("a small key is listed big: %q", big)
	}
	m := gather(t, s)
	if v := value(m["redoubt_big_keys"], nil); v != 2 {
		t.Errorf("redoubt_big_keys = %v, want 2", v)
	}
	if v := value(m["redoubt_hot_key_detections_total"], nil); v < 1 {
		t.Errorf("redoubt_hot_key_detections_total = %v", v)
	}
}

// TestHotKeysNeedAdmin: key names are for admins: an account without
// @admin gets NOPERM.
func TestHotKeysNeedAdmin(t *testing.T) {
	s, _ := withAccounts(t, nil)
	c := dial(t, s.Addrs()[0])
	if got := c.do("AUTH", "reader", appPassword); got != "+OK\r\n" {
		t.Fatalf("AUTH: %q", got)
	}
	for _, sub := range []string{"HOTKEYS", "BIGKEYS"} {
		if got := c.do("REDOUBT", sub); !strings.HasPrefix(got, "-NOPERM") {
			t.Errorf("REDOUBT %s as a read-only account: %q", sub, got)
		}
	}
}

// TestHotKeysGateway: a gateway instance samples keys on their way to the
// backend.
func TestHotKeysGateway(t *testing.T) {
	s, _ := startGateway(t)
	s.keys = newKeyStats(sampleAll())
	cl := dial(t, s.Addrs()[0])
	testutil.WaitFor(t, 10*time.Second, "gw:hot in REDOUBT HOTKEYS", func() bool {
		var pipe []byte
		for range 500 {
			pipe = resp.AppendCommand(pipe, []byte("INCR"), []byte("gw:hot"))
		}
		cl.send(string(pipe))
		for range 500 {
			cl.reply()
		}
		return strings.Contains(cl.do("REDOUBT", "HOTKEYS"), "gw:hot")
	})
}
