package server

import (
	"redoubt/internal/command"
	"redoubt/internal/keystats"
)

// Hot and big keys, found by sampling one command in Monitoring's
// HotKeySample (internal/keystats). A sampled command's first key is
// counted for the hot-key estimate; in the embedded engine its size is
// read too (bytes, elements) for the big-key list. Key names are shown
// only to accounts allowed REDOUBT HOTKEYS/BIGKEYS (@admin) and to the
// console; metrics carry counts only.

func newKeyStats(m *Monitoring) *keystats.Stats {
	if m.Off {
		return nil
	}
	cfg := keystats.Config{
		SampleEvery:  m.HotKeySample,
		HotThreshold: int64(m.HotKeyRate),
		BigBytes:     m.BigKeyBytes,
		BigElements:  int64(m.BigKeyElements),
	}
	ks, err := keystats.New(cfg)
	if err != nil {
		// The configuration's limits are checked when it is read; a
		// value outside them here falls back to the defaults.
		ks, _ = keystats.New(keystats.Config{})
	}
	return ks
}

// firstKey returns the command's first key, or nil.
func firstKey(spec *command.Spec, args [][]byte) []byte {
	if k := spec.FirstKey; k > 0 && k < len(args) {
		return args[k]
	}
	return nil
}

// sampleKey counts a command's key for hot-key detection; with engine
// (the caller holds the engine lock) a sampled key's size is read too.
func (c *conn) sampleKey(spec *command.Spec, args [][]byte, engine bool) {
	key := firstKey(spec, args)
	if key == nil || !c.keySampler.Sample(c.s.keys, key) || !engine {
		return
	}
	if b, el, ok := c.s.eng.KeySize(int(c.db.Load()), key); ok {
		c.s.keys.ObserveSize(key, spec.Name, int(b), int(el))
	}
}

func cmdRedoubtHotKeys(c *conn, _ [][]byte) {
	top := c.s.keys.Top()
	c.w.WriteArray(len(top))
	for _, k := range top {
		c.w.WriteArray(4)
		c.w.WriteBulkString(k.Key)
		c.w.WriteInt(k.OpsPerSec)
		c.w.WriteInt(int64(k.Samples))
		c.w.WriteInt(k.LastSeen.Unix())
	}
}

func cmdRedoubtBigKeys(c *conn, _ [][]byte) {
	big := c.s.keys.Big()
	c.w.WriteArray(len(big))
	for _, k := range big {
		c.w.WriteArray(6)
		c.w.WriteBulkString(k.Key)
		c.w.WriteInt(k.Bytes)
		c.w.WriteInt(k.Elements)
		c.w.WriteBulkString(k.Cmd)
		c.w.WriteInt(int64(k.Count))
		c.w.WriteInt(k.LastSeen.Unix())
	}
}

// keyCounts are the hot/big key figures without names, for INFO and
// metrics.
func (s *Server) keyCounts() keystats.Counters { return s.keys.Counters() }
