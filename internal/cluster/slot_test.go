package cluster

import "testing"

// The expected slots are CLUSTER KEYSLOT's answers from redis-server 7.0.
func TestSlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 12739}, // CRC16/XMODEM's check value 0x31C3
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363},    // an empty tag does not count: the whole key
		{"foo{{bar}}zap", 4015}, // the tag is "{bar"
		{"foo{bar}{zap}", 5061}, // the first tag only: "bar"
		{"{}", 15257},
		{"", 0},
		{"a{b", 13340}, // no closing brace: the whole key
		{"}{a}", 15495},
		{"{a", 10276},
	}
	for _, tt := range tests {
		if got := Slot([]byte(tt.key)); got != tt.want {
			t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func FuzzSlot(f *testing.F) {
	for _, s := range []string{"", "{", "}", "{}", "a{b}c", "{{}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		s := Slot(key)
		if s < 0 || s >= Slots {
			t.Fatalf("Slot(%q) = %d", key, s)
		}
		// Keys with the same non-empty tag share the slot.
		wrapped := append(append([]byte("x{"), key...), '}')
		if len(key) > 0 && !containsBrace(key) && Slot(wrapped) != Slot(key) {
			t.Fatalf("tag %q: %d, key: %d", key, Slot(wrapped), Slot(key))
		}
	})
}

func containsBrace(b []byte) bool {
	for _, c := range b {
		if c == '{' || c == '}' {
			return true
		}
	}
	return false
}

// TestCRC16Table derives each entry of the table bit by bit.
func TestCRC16Table(t *testing.T) {
	for i := range 256 {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		if crc16Table[i] != crc {
			t.Fatalf("crc16Table[%d] = %#04x, want %#04x", i, crc16Table[i], crc)
		}
	}
}
