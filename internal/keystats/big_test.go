package keystats

import (
	"fmt"
	"strings"
	"testing"
)

func TestBigKeys(t *testing.T) {
	type obs struct {
		key             string
		cmd             string
		bytes, elements int
	}
	tests := []struct {
		name string
		cfg  Config
		obs  []obs
		want string // "key:cmd:bytes:elements:count ..." ranked
	}{
		{"under both", Config{}, []obs{{"a", "GET", 1 << 20, 10000}}, ""},
		{"over bytes", Config{}, []obs{{"a", "GET", 1<<20 + 1, 0}}, "a:GET:1048577:0:1"},
		{"over elements", Config{}, []obs{{"h", "HGETALL", 0, 10001}}, "h:HGETALL:0:10001:1"},
		{"custom thresholds", Config{BigBytes: 100, BigElements: 10},
			[]obs{{"s", "SET", 101, 0}, {"l", "LRANGE", 50, 11}, {"no", "GET", 100, 10}},
			"l:LRANGE:50:11:1 s:SET:101:0:1"}, // 1.1 times over beats 1.01
		{"bytes disabled", Config{BigBytes: -1}, []obs{{"a", "GET", 1 << 30, 0}, {"h", "HLEN", 0, 20001}},
			"h:HLEN:0:20001:1"},
		{"elements disabled", Config{BigElements: -1}, []obs{{"h", "HLEN", 0, 1 << 30}}, ""},
		{"deduplicated, latest size and command", Config{},
			[]obs{{"a", "SET", 2 << 20, 0}, {"a", "GET", 3 << 20, 0}, {"a", "APPEND", 4 << 20, 0}},
			"a:APPEND:4194304:0:3"},
		{"ranked by how far over", Config{},
			[]obs{{"twice", "GET", 2 << 20, 0}, {"thrice", "SMEMBERS", 0, 30000}, {"once", "GET", 1<<20 + 1, 0}},
			"thrice:SMEMBERS:0:30000:1 twice:GET:2097152:0:1 once:GET:1048577:0:1"},
		{"a shrinking key moves down", Config{},
			[]obs{{"a", "GET", 5 << 20, 0}, {"b", "GET", 3 << 20, 0}, {"a", "GET", 2 << 20, 0}},
			"b:GET:3145728:0:1 a:GET:2097152:0:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStats(t, tt.cfg)
			for _, o := range tt.obs {
				s.ObserveSize([]byte(o.key), o.cmd, o.bytes, o.elements)
			}
			var got []string
			for _, b := range s.Big() {
				got = append(got, fmt.Sprintf("%s:%s:%d:%d:%d", b.Key, b.Cmd, b.Bytes, b.Elements, b.Count))
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("big\n got %q\nwant %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestBigKeysBounded(t *testing.T) {
	s, c := newStats(t, Config{BigMax: 3, MaxKeyBytes: 16})
	cmd := []byte("GET")
	key := []byte(strings.Repeat("k", 100))
	for i := 1; i <= 10; i++ {
		key[0] = byte('0' + i%10) // the caller reuses its buffers
		cmd[0] = 'G'
		s.ObserveSize(key, string(cmd), i<<20+1, 0)
		c.Advance(1)
	}
	big := s.Big()
	if len(big) != 3 {
		t.Fatalf("%d big keys, max 3", len(big))
	}
	for i, b := range big {
		wantKey := string(rune('0'+(10-i)%10)) + strings.Repeat("k", 15)
		if b.Key != wantKey || b.KeyLen != 100 || b.Bytes != int64(10-i)<<20+1 || b.Cmd != "GET" {
			t.Errorf("big[%d] = %+v", i, b)
		}
		if !b.FirstSeen.Equal(b.LastSeen) {
			t.Errorf("big[%d] seen once but first %v last %v", i, b.FirstSeen, b.LastSeen)
		}
	}
	// A key smaller than every one kept is counted but not listed.
	s.ObserveSize([]byte("small"), "GET", 2<<20, 0)
	if cn := s.Counters(); cn.BigDetections != 11 || cn.BigKeys != 3 {
		t.Errorf("counters %+v", cn)
	}
}
