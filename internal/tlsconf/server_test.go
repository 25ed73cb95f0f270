package tlsconf

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// ioTimeout bounds every network step of the tests so a bug fails instead
// of hanging.
const ioTimeout = 10 * time.Second

// newConfig makes a Config on the fixture's clock and log.
func (f *fixture) newConfig(t testing.TB, o Options) *Config {
	t.Helper()
	c, err := New(o, slog.New(slog.NewTextHandler(f.log, nil)), WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startServer runs a TLS listener on a loopback port that answers every
// command with +PONG, except WHO, answered with the PeerSummary.
func startServer(t testing.TB, c *Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	tl := tls.NewListener(ln, c.TLS())
	wg.Go(func() {
		for {
			nc, err := tl.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				serve(c, nc.(*tls.Conn))
				mu.Lock()
				delete(conns, nc)
				mu.Unlock()
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for nc := range conns {
			_ = nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serve answers RESP arrays and inline commands until the client leaves.
func serve(c *Config, tc *tls.Conn) {
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(ioTimeout))
	r := bufio.NewReader(tc)
	for {
		name, err := readCommand(r)
		if err != nil {
			return
		}
		reply := "+PONG\r\n"
		if strings.EqualFold(name, "WHO") {
			reply = "+" + c.PeerSummary(tc.ConnectionState()) + "\r\n"
		}
		if _, err := tc.Write([]byte(reply)); err != nil {
			return
		}
	}
}

// readCommand reads one RESP array of bulk strings or one inline command
// and returns the command name.
func readCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		name, _, _ := strings.Cut(line, " ")
		return name, nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 64 {
		return "", fmt.Errorf("bad array header %q", line)
	}
	var name string
	for i := 0; i < n; i++ {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return "", err
		}
		arg, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if i == 0 {
			name = strings.TrimRight(arg, "\r\n")
		}
	}
	return name, nil
}

// clientConfig trusts ca and presents the given certificate, if any.
func clientConfig(t testing.TB, ca *testutil.CA, certPEM, keyPEM []byte) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	cc := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if certPEM != nil {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		// Always present it, even when the server asks for another CA, so
		// that the server's verification is what gets tested.
		cc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}
	}
	return cc
}

// client is one established test connection.
type client struct {
	conn *tls.Conn
	r    *bufio.Reader
}

// connect dials, completes the handshake and one WHO round trip, which is
// where a server refusing a TLS 1.3 client certificate shows.
func connect(addr string, cc *tls.Config) (*client, string, error) {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, "", err
	}
	tc := tls.Client(nc, cc)
	_ = tc.SetDeadline(time.Now().Add(ioTimeout))
	cl := &client{conn: tc, r: bufio.NewReader(tc)}
	who, err := cl.who()
	if err != nil {
		_ = tc.Close()
		return nil, "", err
	}
	return cl, who, nil
}

// who asks the server for its summary of this connection.
func (cl *client) who() (string, error) {
	if _, err := cl.conn.Write([]byte("WHO\r\n")); err != nil {
		return "", err
	}
	line, err := cl.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "+") {
		return "", errors.New("unexpected reply " + strconv.Quote(line))
	}
	return strings.TrimRight(line[1:], "\r\n"), nil
}

// serial is the serial of the server certificate this connection saw.
func (cl *client) serial() *big.Int {
	return cl.conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// serverSerial connects once and returns the serial of the server
// certificate, failing the test when the connection fails.
func serverSerial(t testing.TB, addr string, cc *tls.Config) int64 {
	t.Helper()
	cl, _, err := connect(addr, cc)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cl.conn.Close()
	return cl.serial().Int64()
}
