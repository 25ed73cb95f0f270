package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"redoubt/internal/config"
	"redoubt/internal/testutil"
)

// TestGatewayTLSBackend fronts a redis-server that speaks only TLS and
// demands a client certificate, configured the way an operator does it:
// a rediss:// URL with a CA, a client certificate and a password file.
func TestGatewayTLSBackend(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "backend CA")
	srvCert, srvKey := ca.Issue(t, testutil.CertSpec{CN: "redis", Serial: 2})
	cliCert, cliKey := ca.Issue(t, testutil.CertSpec{CN: "redoubt", Serial: 3, Client: true})
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("ca.pem", ca.PEM)
	tlsPort := testutil.FreePort(t)
	r := testutil.StartRedis(t, "--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", write("srv.pem", srvCert), "--tls-key-file", write("srv.key", srvKey),
		"--tls-ca-cert-file", caFile, "--tls-auth-clients", "yes")
	if got := dial(t, r.Addr).do("CONFIG", "SET", "requirepass", "s3cret-backend"); got != "+OK\r\n" {
		t.Fatalf("set the backend's password: %q", got)
	}
	passFile := write("backend.pass", []byte("s3cret-backend\n"))

	yml := "instances:\n  - name: default\n    backend:\n" +
		"      url: rediss://127.0.0.1:" + strconv.Itoa(tlsPort) + "/2\n" +
		"      password_file: " + passFile + "\n" +
		"      tls:\n        ca_file: " + caFile + "\n" +
		"        cert_file: " + write("cli.pem", cliCert) + "\n        key_file: " + write("cli.key", cliKey) + "\n"
	cfg, err := config.Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Instances[0].Backend
	s := startServer(t, Options{Backend: Backend{Kind: BackendKind(b.Kind), Target: b.Target, Pool: b.Pool, MaxReply: b.MaxReply}})
	c := dial(t, s.Addrs()[0])
	if got := c.do("SET", "k", "over-tls"); got != "+OK\r\n" {
		t.Fatalf("SET through a TLS backend: %q", got)
	}
	if got := c.do("GET", "k"); got != "$8\r\nover-tls\r\n" {
		t.Fatalf("GET: %q", got)
	}
	info := c.do("INFO", "backend")
	if !strings.Contains(info, "backend_target:rediss://127.0.0.1:") || strings.Contains(info, "s3cret") {
		t.Fatalf("INFO backend: %s", info)
	}
	// The URL's database is the clients' default one.
	if got := c.do("INFO", "keyspace"); !strings.Contains(got, "db2:keys=1") {
		t.Fatalf("INFO keyspace: %s", got)
	}

	// Without the client certificate the backend refuses Redoubt.
	noCert := strings.Replace(yml, "        cert_file: "+filepath.Join(dir, "cli.pem")+"\n        key_file: "+filepath.Join(dir, "cli.key")+"\n", "", 1)
	cfg, err = config.Parse("test.yaml", []byte(noCert))
	if err != nil {
		t.Fatal(err)
	}
	b = cfg.Instances[0].Backend
	s2 := startServer(t, Options{Backend: Backend{Kind: BackendKind(b.Kind), Target: b.Target}})
	c2 := dial(t, s2.Addrs()[0])
	if got := c2.do("GET", "k"); got != "-ERR backend unavailable\r\n" {
		t.Fatalf("without a client certificate: %q", got)
	}
}
