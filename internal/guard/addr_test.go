package guard

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestClassifyAddr(t *testing.T) {
	tests := []struct {
		addr string
		want Class
	}{
		{"127.0.0.1", Loopback},
		{"127.255.255.254", Loopback},
		{"127.1.2.3", Loopback},
		{"::1", Loopback},
		{"::ffff:127.0.0.1", Loopback},
		{"10.0.0.1", Private},
		{"10.255.255.255", Private},
		{"172.16.0.1", Private},
		{"172.31.255.255", Private},
		{"172.15.255.255", Public},
		{"172.32.0.0", Public},
		{"192.168.1.10", Private},
		{"192.169.0.1", Public},
		{"::ffff:10.1.2.3", Private},
		{"::ffff:192.168.0.1", Private},
		{"fc00::1", Private},
		{"fd12:3456:789a::1", Private},
		{"fe00::1", Public},
		{"100.64.0.1", Public}, // CGNAT: shared with the ISP's other customers
		{"100.127.255.255", Public},
		{"169.254.0.1", LinkLocal},
		{"169.254.255.255", LinkLocal},
		{"::ffff:169.254.1.1", LinkLocal},
		{"fe80::1", LinkLocal},
		{"fe80::1%eth0", LinkLocal},
		{"febf::1", LinkLocal},
		{"fec0::1", Public},
		{"0.0.0.0", Public},
		{"::", Public},
		{"::ffff:0.0.0.0", Public},
		{"8.8.8.8", Public},
		{"2001:4860:4860::8888", Public},
		{"224.0.0.1", Public},
		{"ff02::1", Public},
		{"::127.0.0.1", Public}, // IPv4-compatible, not mapped: not loopback
		{"64:ff9b::7f00:1", Public},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := ClassifyAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("ClassifyAddr(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	t.Run("zero", func(t *testing.T) {
		if got := ClassifyAddr(netip.Addr{}); got != Public {
			t.Errorf("ClassifyAddr(zero) = %v, want public", got)
		}
	})
}

func TestClass(t *testing.T) {
	tests := []struct {
		c     Class
		name  string
		local bool
	}{
		{Public, "public", false},
		{Private, "private", false},
		{LinkLocal, "link-local", false},
		{Loopback, "loopback", true},
		{Unix, "unix", true},
		{Class(42), "Class(42)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.c.Local(); got != tt.local {
				t.Errorf("Local() = %v, want %v", got, tt.local)
			}
		})
	}
	t.Run("zero is public", func(t *testing.T) {
		var c Class
		if c != Public {
			t.Errorf("zero Class = %v, want public", c)
		}
	})
}

func TestClassifyListen(t *testing.T) {
	tests := []struct {
		addr    string
		want    Class
		wantErr string // substring; "" means no error
	}{
		{"127.0.0.1:6379", Loopback, ""},
		{"[::1]:6379", Loopback, ""},
		{"localhost:6379", Loopback, ""},
		{"LocalHost:6379", Loopback, ""},
		{"10.0.0.5:6379", Private, ""},
		{"[fd00::5]:6379", Private, ""},
		{"[fe80::1%eth0]:6379", LinkLocal, ""},
		{"169.254.10.10:6379", LinkLocal, ""},
		{"203.0.113.7:6379", Public, ""},
		{"0.0.0.0:6379", Public, ""},
		{"[::]:6379", Public, ""},
		{":6379", Public, ""},
		{":0", Public, ""},
		{"127.0.0.1:65535", Loopback, ""},
		{"[::ffff:127.0.0.1]:6379", Loopback, ""},
		{"unix:/run/redoubt/redis.sock", Unix, ""},
		{"unix:relative.sock", Unix, ""},
		{"unix:", Public, "empty unix socket path"},
		{"redis.example.com:6379", Public, "literal IP"},
		{"myhost:6379", Public, "literal IP"},
		{"127.0.0.1", Public, "want host:port"},
		{"::1", Public, "want host:port"},
		{"", Public, "want host:port"},
		{"127.0.0.1:", Public, "port"},
		{"127.0.0.1:redis", Public, "port"},
		{"127.0.0.1:65536", Public, "port"},
		{"127.0.0.1:-1", Public, "port"},
		{"127.0.0.1:+1", Public, "port"},
		{"127.0.0.1:06379", Public, "port"},
		{"[127.0.0.1]:6379", Loopback, ""},
		{"1.2.3:6379", Public, "literal IP"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := ClassifyListen(tt.addr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ClassifyListen(%q) error: %v", tt.addr, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ClassifyListen(%q) error = %v, want one containing %q", tt.addr, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ClassifyListen(%q) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	t.Run("host name error wraps ErrHostName", func(t *testing.T) {
		_, err := ClassifyListen("db.internal:6379")
		if !errors.Is(err, ErrHostName) {
			t.Errorf("error %v does not wrap ErrHostName", err)
		}
	})
}

// pipeAddr is a net.Addr of a type Peer does not know.
type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

func TestPeer(t *testing.T) {
	var nilTCP *net.TCPAddr
	var nilUDP *net.UDPAddr
	tests := []struct {
		name      string
		in        net.Addr
		wantAddr  string // "" means the zero Addr
		wantClass Class
	}{
		{"tcp4 loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, "127.0.0.1", Loopback},
		{"tcp mapped", &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.9"), Port: 5000}, "10.0.0.9", Private},
		{"tcp 16-byte v4", &net.TCPAddr{IP: net.ParseIP("192.168.0.2").To16(), Port: 1}, "192.168.0.2", Private},
		{"tcp6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, "2001:db8::1", Public},
		{"tcp6 zone", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "fe80::1%eth0", LinkLocal},
		{"tcp6 loopback", &net.TCPAddr{IP: net.IPv6loopback, Port: 1}, "::1", Loopback},
		{"udp", &net.UDPAddr{IP: net.IPv4(8, 8, 8, 8), Port: 53}, "8.8.8.8", Public},
		{"unix", &net.UnixAddr{Name: "@", Net: "unix"}, "", Unix},
		{"unix unnamed", &net.UnixAddr{Net: "unix"}, "", Unix},
		{"nil", nil, "", Public},
		{"typed nil tcp", nilTCP, "", Public},
		{"typed nil udp", nilUDP, "", Public},
		{"other ip:port", pipeAddr("127.0.0.1:9"), "127.0.0.1", Loopback},
		{"other mapped", pipeAddr("[::ffff:10.0.0.1]:9"), "10.0.0.1", Private},
		{"other unparsable", pipeAddr("pipe"), "", Public},
		{"tcp no IP", &net.TCPAddr{Port: 1}, "", Public},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, class := Peer(tt.in)
			var want netip.Addr
			if tt.wantAddr != "" {
				want = netip.MustParseAddr(tt.wantAddr)
			}
			if addr != want || class != tt.wantClass {
				t.Errorf("Peer(%v) = %v, %v; want %v, %v", tt.in, addr, class, want, tt.wantClass)
			}
		})
	}
}

func TestPeerRealConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(done)
			return
		}
		done <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := <-done
	if !ok {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	addr, class := Peer(sc.RemoteAddr())
	if addr != netip.MustParseAddr("127.0.0.1") || class != Loopback {
		t.Errorf("Peer(%v) = %v, %v; want 127.0.0.1, loopback", sc.RemoteAddr(), addr, class)
	}
}

func FuzzClassifyListen(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1:6379", "[::1]:6379", ":6379", "localhost:1", "unix:/x", "unix:",
		"[fe80::1%eth0]:0", "host:6379", "[::ffff:1.2.3.4]:65535", "1.2.3.4:99999", "[]:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		c, err := ClassifyListen(addr)
		if err != nil {
			if c != Public {
				t.Fatalf("ClassifyListen(%q) = %v with error %v; want public", addr, c, err)
			}
			return
		}
		if c == Unix != strings.HasPrefix(addr, UnixPrefix) {
			t.Fatalf("ClassifyListen(%q) = %v", addr, c)
		}
	})
}
