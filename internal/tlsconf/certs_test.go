package tlsconf

import (
	"bytes"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"redoubt/internal/testutil"
)

// fakeClock is an injected clock that only moves when told to.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logBuf collects log output safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixture is a directory with a CA, a server certificate (serial 1) and
// options pointing at them.
type fixture struct {
	dir      string
	ca       *testutil.CA
	certFile string
	keyFile  string
	caFile   string
	clock    *fakeClock
	log      *logBuf
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		dir:      dir,
		ca:       testutil.NewCA(t, "Redoubt Test CA"),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server.key"),
		caFile:   filepath.Join(dir, "ca.PEM"),
		clock:    newFakeClock(),
		log:      &logBuf{},
	}
	cert, key := f.ca.Issue(t, testutil.CertSpec{CN: "server", Serial: 1})
	testutil.WriteFileAtomic(t, f.certFile, cert)
	testutil.WriteFileAtomic(t, f.keyFile, key)
	testutil.WriteFileAtomic(t, f.caFile, f.ca.PEM)
	return f
}

// options returns options for the fixture's files with the given client
// auth mode ("" or "none" leave the CA out).
func (f *fixture) options(clientAuth string) Options {
	o := Options{CertFile: f.certFile, KeyFile: f.keyFile, ClientAuth: clientAuth}
	if clientAuth != "" && clientAuth != ClientAuthNone {
		o.CAFile = f.caFile
	}
	return o
}

// writeFile writes a file in the fixture directory and returns its path.
func (f *fixture) writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	testutil.WriteFileAtomic(t, p, data)
	return p
}
