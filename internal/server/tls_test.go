package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/monitor"
	"redoubt/internal/testutil"
	"redoubt/internal/tlsconf"
)

// tlsInstance is an instance with a plain and a TLS listener on loopback,
// the nopass default user, and certificate files in a directory of its own.
type tlsInstance struct {
	s              *Server
	rec            *monitor.Recorder
	plain, tlsAddr string
	ca             *testutil.CA
	dir            string
	certFile       string
	keyFile        string
	caFile         string
	clientCert     string // a client certificate signed by the CA
	clientKey      string
	clock          *fakeClock // tlsconf's clock: file checks and validity
}

func startTLSInstance(t *testing.T, clientAuth string) *tlsInstance {
	t.Helper()
	dir := t.TempDir()
	in := &tlsInstance{
		ca:         testutil.NewCA(t, "Redoubt Server Test CA"),
		dir:        dir,
		certFile:   filepath.Join(dir, "server.pem"),
		keyFile:    filepath.Join(dir, "server.key"),
		caFile:     filepath.Join(dir, "ca.pem"),
		clientCert: filepath.Join(dir, "client.pem"),
		clientKey:  filepath.Join(dir, "client.key"),
		clock:      newFakeClock(time.Now().Unix()),
	}
	cert, key := in.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 1, Client: false})
	testutil.WriteFileAtomic(t, in.certFile, cert)
	testutil.WriteFileAtomic(t, in.keyFile, key)
	testutil.WriteFileAtomic(t, in.caFile, in.ca.PEM)
	cert, key = in.ca.Issue(t, testutil.CertSpec{CN: "client", Serial: 100, Client: true})
	testutil.WriteFileAtomic(t, in.clientCert, cert)
	testutil.WriteFileAtomic(t, in.clientKey, key)

	o := tlsconf.Options{CertFile: in.certFile, KeyFile: in.keyFile, ClientAuth: clientAuth}
	if clientAuth != tlsconf.ClientAuthNone {
		o.CAFile = in.caFile
	}
	conf, err := tlsconf.New(o, nil, tlsconf.WithClock(in.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	opts, rec := secureOpts(func(sec *Security) {
		sec.TLS = conf
		sec.TLSListen = []string{"127.0.0.1:0"}
	})
	opts.Listen = []string{"127.0.0.1:0"}
	in.s, in.rec = startServer(t, opts), rec
	addrs := in.s.Addrs()
	in.plain, in.tlsAddr = addrs[0], addrs[1]
	return in
}

// clientConfig trusts the instance's CA and, with cert, presents the
// client certificate.
func (in *tlsInstance) clientConfig(t *testing.T, withCert bool) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(in.ca.PEM)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if withCert {
		c, err := tls.LoadX509KeyPair(in.clientCert, in.clientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}

// dialTLS connects over TLS and completes the handshake.
func (in *tlsInstance) dialTLS(t *testing.T, cfg *tls.Config) (*client, *tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tc, err := tls.DialWithDialer(d, "tcp", in.tlsAddr, cfg)
	if err != nil {
		return nil, nil, err
	}
	return newClient(t, tc), tc, nil
}

// redisCLI runs redis-cli and returns its output and whether it exited 0.
func redisCLI(t *testing.T, cli string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("redis-cli %q did not finish: %s", args, out)
	}
	return strings.TrimSpace(string(out)), err == nil
}

func requireRedisCLITLS(t *testing.T) string {
	t.Helper()
	cli := testutil.RequireTool(t, "redis-cli")
	out, _ := exec.Command(cli, "--help").CombinedOutput()
	if !strings.Contains(string(out), "--tls") {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-cli was built without TLS")
		}
		t.Skip("redis-cli was built without TLS")
	}
	return cli
}

// TestTLSRedisCLI: the real redis-cli reaches one instance over TLS on the
// TLS listener and in plain text on the plain one; the wrong protocol on
// either port gets nothing, so each listener speaks only its own.
func TestTLSRedisCLI(t *testing.T) {
	cli := requireRedisCLITLS(t)
	in := startTLSInstance(t, tlsconf.ClientAuthNone)
	_, tlsPort, _ := net.SplitHostPort(in.tlsAddr)
	_, plainPort, _ := net.SplitHostPort(in.plain)
	tlsArgs := []string{"--tls", "--cacert", in.caFile}
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"tls on the tls port", append(tlsArgs, "-p", tlsPort), true},
		{"plain on the plain port", []string{"-p", plainPort}, true},
		{"plain on the tls port", []string{"-p", tlsPort}, false},
		{"tls on the plain port", append(tlsArgs, "-p", plainPort), false},
		{"tls with an unknown CA", []string{"--tls", "-p", tlsPort}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"-h", "127.0.0.1"}, tt.args...), "PING")
			out, exited0 := redisCLI(t, cli, args...)
			if got := out == "PONG" && exited0; got != tt.ok {
				t.Fatalf("redis-cli %q: %q (exit 0: %v), want success %v", args, out, exited0, tt.ok)
			}
		})
	}
}

// TestTLSClientCertRequired: under client auth "require", redis-cli
// without a client certificate is refused, with one it is served.
func TestTLSClientCertRequired(t *testing.T) {
	cli := requireRedisCLITLS(t)
	in := startTLSInstance(t, tlsconf.ClientAuthRequire)
	_, port, _ := net.SplitHostPort(in.tlsAddr)
	base := []string{"--tls", "--cacert", in.caFile, "-h", "127.0.0.1", "-p", port}
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"without a client certificate", base, false},
		{"with a client certificate", append(base, "--cert", in.clientCert, "--key", in.clientKey), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.args...), "PING")
			out, exited0 := redisCLI(t, cli, args...)
			if got := out == "PONG" && exited0; got != tt.ok {
				t.Fatalf("redis-cli %q: %q (exit 0: %v), want success %v", args, out, exited0, tt.ok)
			}
		})
	}
	// The same holds for a Go client: the handshake or the first read fails.
	c, _, err := in.dialTLS(t, in.clientConfig(t, false))
	if err == nil {
		_ = c.nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = c.nc.Write([]byte("*1\r\n$4\r\nPING\r\n")); err == nil {
			_, err = c.rd.ReadRaw()
		}
	}
	if err == nil {
		t.Fatal("a Go client without a certificate was served")
	}
}

// startLaxTLS is an unhardened Go TLS listener serving the instance's
// certificate with TLS 1.0 allowed: the target that shows an old client
// does get through where nothing stops it.
func startLaxTLS(t *testing.T, in *tlsInstance) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(in.certFile, in.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte("+PONG\r\n"))
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestTLSOldVersionRefused: a TLS 1.1 (or 1.0) client completes its
// handshake with an unhardened Go TLS server but is refused by Redoubt;
// the same client allowed TLS 1.2 or 1.3 is served.
func TestTLSOldVersionRefused(t *testing.T) {
	in := startTLSInstance(t, tlsconf.ClientAuthNone)
	lax := startLaxTLS(t, in)
	tests := []struct {
		name    string
		addr    string
		version uint16
		ok      bool
	}{
		{"unhardened server: tls 1.1", lax, tls.VersionTLS11, true},
		{"tls 1.1", in.tlsAddr, tls.VersionTLS11, false},
		{"tls 1.0", in.tlsAddr, tls.VersionTLS10, false},
		{"tls 1.2", in.tlsAddr, tls.VersionTLS12, true},
		{"tls 1.3", in.tlsAddr, tls.VersionTLS13, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := in.clientConfig(t, false)
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tt.version
			tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tt.addr, cfg)
			if !tt.ok {
				if err == nil {
					tc.Close()
					t.Fatalf("handshake succeeded with version %x", tc.ConnectionState().Version)
				}
				// The server's alert, not a client-side refusal.
				if !strings.Contains(err.Error(), "remote error: tls: protocol version not supported") {
					t.Fatalf("handshake failed with %v, want the server's protocol_version alert", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			c := newClient(t, tc)
			if v := tc.ConnectionState().Version; v != tt.version {
				t.Fatalf("negotiated %x, want %x", v, tt.version)
			}
			if got := c.do("PING"); got != "+PONG\r\n" {
				t.Fatalf("PING = %q", got)
			}
		})
	}
}

// TestTLSRotation: a certificate written over the files is served to new
// connections once tlsconf's check interval has passed on its clock, and
// a connection established before keeps working with the old one.
func TestTLSRotation(t *testing.T) {
	in := startTLSInstance(t, tlsconf.ClientAuthNone)
	cfg := in.clientConfig(t, false)
	serial := func(tc *tls.Conn) int64 { return tc.ConnectionState().PeerCertificates[0].SerialNumber.Int64() }
	old, oldTC, err := in.dialTLS(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := old.do("SET", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET = %q", got)
	}
	cert, key := in.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2, Client: false})
	testutil.WriteFileAtomic(t, in.certFile, cert)
	testutil.WriteFileAtomic(t, in.keyFile, key)
	steps := []struct {
		name    string
		advance time.Duration
		want    int64
	}{
		{"before the check interval the old certificate is served", 0, 1},
		{"after the check interval the new certificate is served", tlsconf.DefaultCheckInterval + time.Millisecond, 2},
	}
	for _, st := range steps {
		in.clock.Add(st.advance)
		c, tc, err := in.dialTLS(t, cfg)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := serial(tc); got != st.want {
			t.Fatalf("%s: serial %d, want %d", st.name, got, st.want)
		}
		if got := c.do("GET", "k"); got != "$1\r\nv\r\n" {
			t.Fatalf("%s: GET = %q", st.name, got)
		}
	}
	if got := old.do("GET", "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("established connection after the rotation: GET = %q", got)
	}
	if got := serial(oldTC); got != 1 {
		t.Fatalf("established connection serial %d, want 1", got)
	}
}

// countingConn counts the bytes the server sent.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestTLSAllowlistBeforeHandshake: a peer outside the allowlist is closed
// at accept, before the handshake: its ClientHello gets not a byte back.
// From an allowed address the same client completes the handshake.
func TestTLSAllowlistBeforeHandshake(t *testing.T) {
	in := startTLSInstance(t, tlsconf.ClientAuthNone)
	tests := []struct {
		from string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", false},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			before := in.rec.Count(monitor.AllowlistDenied)
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}, Timeout: 5 * time.Second}
			raw, err := d.Dial("tcp", in.tlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			cc := &countingConn{Conn: raw}
			tc := tls.Client(cc, in.clientConfig(t, false))
			t.Cleanup(func() { tc.Close() })
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			err = tc.Handshake()
			denied := in.rec.Count(monitor.AllowlistDenied) - before
			if tt.ok {
				if err != nil || denied != 0 {
					t.Fatalf("allowed address: handshake %v, %d allowlist_denied events", err, denied)
				}
				return
			}
			if err == nil {
				t.Fatal("handshake succeeded from outside the allowlist")
			}
			if n := cc.n.Load(); n != 0 {
				t.Fatalf("server sent %d bytes to a peer outside the allowlist", n)
			}
			if denied != 1 {
				t.Fatalf("%d allowlist_denied events, want 1", denied)
			}
		})
	}
}
