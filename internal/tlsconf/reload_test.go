package tlsconf

import (
	"bytes"
	"crypto/tls"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// noKeyMaterial fails the test when the log shows any line of a key.
func noKeyMaterial(t *testing.T, log string, keys ...[]byte) {
	t.Helper()
	if strings.Contains(log, "PRIVATE KEY") {
		t.Errorf("log shows a PEM key header:\n%s", log)
	}
	for _, k := range keys {
		for _, line := range bytes.Split(k, []byte("\n")) {
			if len(line) > 16 && !bytes.HasPrefix(line, []byte("-----")) && strings.Contains(log, string(line)) {
				t.Errorf("log shows key material %q", line)
			}
		}
	}
}

func TestRotation(t *testing.T) {
	f := newFixture(t)
	c := f.newConfig(t, f.options(""))
	addr := startServer(t, c)
	cc := clientConfig(t, f.ca, nil, nil)

	old, _, err := connect(addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer old.conn.Close()
	if got := old.serial().Int64(); got != 1 {
		t.Fatalf("serial = %d, want 1", got)
	}

	cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2})
	testutil.WriteFileAtomic(t, f.certFile, cert)
	testutil.WriteFileAtomic(t, f.keyFile, key)

	steps := []struct {
		name    string
		advance time.Duration
		want    int64
	}{
		{"before the interval the old cert is served", DefaultCheckInterval - time.Millisecond, 1},
		{"after the interval the new cert is served", time.Millisecond, 2},
		{"and stays", 5 * time.Second, 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.clock.Advance(s.advance)
			if got := serverSerial(t, addr, cc); got != s.want {
				t.Errorf("serial = %d, want %d", got, s.want)
			}
		})
	}
	t.Run("established connection untouched", func(t *testing.T) {
		if _, err := old.who(); err != nil {
			t.Fatalf("old connection: %v", err)
		}
		if got := old.serial().Int64(); got != 1 {
			t.Errorf("old connection serial = %d, want 1", got)
		}
	})
	t.Run("logged once, without key", func(t *testing.T) {
		log := f.log.String()
		if n := strings.Count(log, "tls certificate reloaded"); n != 1 {
			t.Errorf("%d reload lines, want 1:\n%s", n, log)
		}
		if c.Certificate().SerialNumber.Int64() != 2 {
			t.Errorf("Certificate() serial = %v, want 2", c.Certificate().SerialNumber)
		}
		noKeyMaterial(t, log, key)
	})
}

func TestRotationBroken(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		breakFiles func(t *testing.T, f *fixture) (keys [][]byte)
	}{
		{"garbage cert", "", func(t *testing.T, f *fixture) [][]byte {
			testutil.WriteFileAtomic(t, f.certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"))
			return nil
		}},
		{"half-written cert", "", func(t *testing.T, f *fixture) [][]byte {
			cert, _ := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2})
			testutil.WriteFileAtomic(t, f.certFile, cert[:len(cert)/2])
			return nil
		}},
		{"new cert with the old key", "", func(t *testing.T, f *fixture) [][]byte {
			cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2})
			testutil.WriteFileAtomic(t, f.certFile, cert)
			return [][]byte{key}
		}},
		{"new key with the old cert", "", func(t *testing.T, f *fixture) [][]byte {
			_, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2})
			testutil.WriteFileAtomic(t, f.keyFile, key)
			return [][]byte{key}
		}},
		{"key removed", "", func(t *testing.T, f *fixture) [][]byte {
			if err := os.Remove(f.keyFile); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{"expired cert", "", func(t *testing.T, f *fixture) [][]byte {
			cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2,
				NotBefore: f.clock.Now().Add(-48 * time.Hour), NotAfter: f.clock.Now().Add(-time.Minute)})
			testutil.WriteFileAtomic(t, f.certFile, cert)
			testutil.WriteFileAtomic(t, f.keyFile, key)
			return [][]byte{key}
		}},
		{"garbage CA", ClientAuthRequire, func(t *testing.T, f *fixture) [][]byte {
			testutil.WriteFileAtomic(t, f.caFile, []byte("not a CA\n"))
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			addr := startServer(t, f.newConfig(t, f.options(tt.mode)))
			var cc = clientConfig(t, f.ca, nil, nil)
			if tt.mode != "" {
				cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "client1", Serial: 10, Client: true})
				cc = clientConfig(t, f.ca, cert, key)
			}
			keys := tt.breakFiles(t, f)
			for i := range 3 {
				f.clock.Advance(DefaultCheckInterval)
				if got := serverSerial(t, addr, cc); got != 1 {
					t.Fatalf("handshake %d: serial = %d, want the old 1", i, got)
				}
			}
			log := f.log.String()
			if n := strings.Count(log, "tls reload failed"); n != 1 {
				t.Errorf("%d warnings, want 1:\n%s", n, log)
			}
			noKeyMaterial(t, log, keys...)

			// A good pair (and CA) afterwards is picked up.
			cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 3})
			testutil.WriteFileAtomic(t, f.certFile, cert)
			testutil.WriteFileAtomic(t, f.keyFile, key)
			testutil.WriteFileAtomic(t, f.caFile, f.ca.PEM)
			f.clock.Advance(DefaultCheckInterval)
			if got := serverSerial(t, addr, cc); got != 3 {
				t.Errorf("after the fix: serial = %d, want 3", got)
			}
			noKeyMaterial(t, f.log.String(), key)
		})
	}
}

func TestWarnOncePerChange(t *testing.T) {
	f := newFixture(t)
	addr := startServer(t, f.newConfig(t, f.options("")))
	cc := clientConfig(t, f.ca, nil, nil)
	steps := []struct {
		name     string
		content  string // new cert file content; "" leaves it
		warnings int
	}{
		{"first broken file", "broken 1", 1},
		{"same file again", "", 1},
		{"another broken file", "broken 2, longer", 2},
		{"and again", "", 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.content != "" {
				testutil.WriteFileAtomic(t, f.certFile, []byte(s.content))
			}
			f.clock.Advance(DefaultCheckInterval)
			if got := serverSerial(t, addr, cc); got != 1 {
				t.Errorf("serial = %d, want 1", got)
			}
			if n := strings.Count(f.log.String(), "tls reload failed"); n != s.warnings {
				t.Errorf("%d warnings, want %d", n, s.warnings)
			}
		})
	}
}

func TestCARotation(t *testing.T) {
	f := newFixture(t)
	addr := startServer(t, f.newConfig(t, f.options(ClientAuthRequire)))
	ca2 := testutil.NewCA(t, "Second CA")
	c1, k1 := f.ca.Issue(t, testutil.CertSpec{CN: "client1", Serial: 10, Client: true})
	c2, k2 := ca2.Issue(t, testutil.CertSpec{CN: "client2", Serial: 20, Client: true})
	first := clientConfig(t, f.ca, c1, k1)
	second := clientConfig(t, f.ca, c2, k2)

	steps := []struct {
		name      string
		caPEM     []byte // new CA file; nil leaves it
		first, sc bool   // whether each client gets in
	}{
		{"first CA only", nil, true, false},
		{"second CA only", ca2.PEM, false, true},
		{"both CAs", append(append([]byte{}, f.ca.PEM...), ca2.PEM...), true, true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.caPEM != nil {
				testutil.WriteFileAtomic(t, f.caFile, s.caPEM)
				f.clock.Advance(DefaultCheckInterval)
			}
			for _, c := range []struct {
				name string
				cc   *tls.Config
				want bool
			}{{"client1", first, s.first}, {"client2", second, s.sc}} {
				cl, who, err := connect(addr, c.cc)
				if got := err == nil; got != c.want {
					t.Errorf("%s: connected = %v (%v), want %v", c.name, got, err, c.want)
				}
				if err == nil {
					cl.conn.Close()
					if !strings.HasSuffix(who, "CN="+c.name) {
						t.Errorf("%s: PeerSummary = %q", c.name, who)
					}
				}
			}
		})
	}
}

func TestReload(t *testing.T) {
	f := newFixture(t)
	c := f.newConfig(t, f.options(""))
	addr := startServer(t, c)
	cc := clientConfig(t, f.ca, nil, nil)

	t.Run("picks up a new pair without waiting", func(t *testing.T) {
		cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 2})
		testutil.WriteFileAtomic(t, f.certFile, cert)
		testutil.WriteFileAtomic(t, f.keyFile, key)
		if err := c.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := serverSerial(t, addr, cc); got != 2 {
			t.Errorf("serial = %d, want 2", got)
		}
	})
	t.Run("a broken file is an error and keeps the cert", func(t *testing.T) {
		testutil.WriteFileAtomic(t, f.certFile, []byte("half a cert"))
		err := c.Reload()
		if err == nil || !strings.Contains(err.Error(), f.certFile) {
			t.Fatalf("Reload() = %v, want an error naming %s", err, f.certFile)
		}
		f.clock.Advance(DefaultCheckInterval)
		if got := serverSerial(t, addr, cc); got != 2 {
			t.Errorf("serial = %d, want 2", got)
		}
		if n := strings.Count(f.log.String(), "tls reload failed"); n != 0 {
			t.Errorf("%d warnings for a failure Reload already returned, want 0", n)
		}
	})
}

func TestConcurrentRotation(t *testing.T) {
	f := newFixture(t)
	c := f.newConfig(t, f.options(""))
	addr := startServer(t, c)
	cc := clientConfig(t, f.ca, nil, nil)
	const rotations = 5
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				cl, _, err := connect(addr, cc)
				if err != nil {
					t.Errorf("connect during rotation: %v", err)
					return
				}
				if s := cl.serial().Int64(); s < 1 || s > rotations+1 {
					t.Errorf("serial %d out of range", s)
				}
				cl.conn.Close()
			}
		})
	}
	for i := range rotations {
		cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: int64(i + 2)})
		testutil.WriteFileAtomic(t, f.certFile, cert)
		f.clock.Advance(DefaultCheckInterval)
		testutil.WriteFileAtomic(t, f.keyFile, key)
		f.clock.Advance(DefaultCheckInterval)
		_ = serverSerial(t, addr, cc)
	}
	close(done)
	wg.Wait()
	f.clock.Advance(DefaultCheckInterval)
	if got := serverSerial(t, addr, cc); got != rotations+1 {
		t.Errorf("final serial = %d, want %d", got, rotations+1)
	}
}
