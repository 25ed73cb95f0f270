package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"redoubt/internal/config"
	"redoubt/internal/testutil"
	"redoubt/internal/upstream"
)

// TestClusterTLS fronts a Redis Cluster whose nodes speak only TLS and
// demand a client certificate. Redoubt is given one seed: it finds the
// other masters through CLUSTER SHARDS and must reach them on their
// tls-port, with the seed's certificate and the node's own address as
// the name to verify.
func TestClusterTLS(t *testing.T) {
	cl := testutil.StartTLSCluster(t, 3, 0)
	ctx := context.Background()
	seed := cl.Nodes[0].Addr

	ca := cl.TLS.CA
	cliCert, cliKey := ca.Issue(t, testutil.CertSpec{CN: "redoubt", Serial: 100, Client: true})
	clientCert, err := tls.X509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	tlsSeed := func(cfg *tls.Config) Options {
		return Options{Backend: Backend{Kind: BackendCluster, Seeds: []upstream.Target{
			{Network: "tcp", Addr: seed, Password: cl.Password, TLS: cfg},
		}}}
	}

	// The nodes have no plain-text port: a RESP command in clear text
	// on a node's port gets no reply.
	t.Run("nodes speak only TLS", func(t *testing.T) {
		nc, err := net.DialTimeout("tcp", seed, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if n, err := nc.Read(buf); err == nil && strings.Contains(string(buf[:n]), "PONG") {
			t.Fatalf("a node answered in plain text: %q", buf[:n])
		}
	})

	s := startServer(t, tlsSeed(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12}))
	rc := gwClient(t, s, 2)

	// One key on each master, each master found from the single seed.
	masters := cl.Masters(t)
	if len(masters) != 3 {
		t.Fatalf("masters %v", masters)
	}
	keyOn := map[*testutil.ClusterNode]string{}
	for i := 0; len(keyOn) < len(masters); i++ {
		k := fmt.Sprintf("tls:%d", i)
		if m := cl.MasterOf(t, testutil.Slot(k)); keyOn[m] == "" {
			keyOn[m] = k
		}
	}
	var keys []string
	for _, m := range masters {
		keys = append(keys, keyOn[m])
	}

	t.Run("SET and GET on every master", func(t *testing.T) {
		for _, m := range masters {
			k := keyOn[m]
			if got := result(rc.Set(ctx, k, "v-"+k, 0).Result()); got != "OK" {
				t.Fatalf("SET %s (on %s): %s", k, m, got)
			}
			if got := result(rc.Get(ctx, k).Result()); got != "v-"+k {
				t.Fatalf("GET %s (on %s): %s", k, m, got)
			}
			// The node itself holds it (asked over TLS, no redirection).
			if got := cl.Do(t, m.Addr, "GET", k); got != "v-"+k {
				t.Fatalf("%s on its node %s: %q", k, m, got)
			}
		}
	})

	t.Run("MGET across slots", func(t *testing.T) {
		ask := []string{keys[2], "tls:none", keys[0], keys[1], keys[0]}
		got := result(rc.MGet(ctx, ask...).Result())
		want := fmt.Sprint([]any{"v-" + keys[2], nil, "v-" + keys[0], "v-" + keys[1], "v-" + keys[0]})
		if got != want {
			t.Fatalf("MGET %v: %s, want %s", ask, got, want)
		}
	})

	t.Run("INFO backend", func(t *testing.T) {
		info := rc.Info(ctx, "backend").Val()
		for _, want := range []string{
			"backend:cluster", "backend_target:rediss-cluster://" + seed + "\r",
			"backend_status:up", "cluster_slots_served:16384", "cluster_masters:3", "cluster_masters_up:3",
		} {
			if !strings.Contains(info, want) {
				t.Errorf("INFO backend lacks %q:\n%s", want, info)
			}
		}
		// Every master is reached at its TLS port, the only one it has.
		for _, m := range masters {
			if !strings.Contains(info, "addr="+m.Addr+",") {
				t.Errorf("INFO backend does not list master %s:\n%s", m, info)
			}
		}
		if strings.Contains(info, cl.Password) {
			t.Errorf("INFO backend shows the nodes' password:\n%s", info)
		}
	})

	// The configuration's form: a rediss-cluster:// URL and a tls block.
	t.Run("rediss-cluster URL and tls block", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name string, data []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		yml := func(tlsBlock string) string {
			return "instances:\n  - name: default\n    backend:\n" +
				"      url: rediss-cluster://" + seed + "\n" +
				"      password_file: " + write("cluster.pass", []byte(cl.Password+"\n")) + "\n" +
				"      tls:\n" + tlsBlock
		}
		files := "        ca_file: " + write("ca.pem", ca.PEM) + "\n" +
			"        cert_file: " + write("cli.pem", cliCert) + "\n" +
			"        key_file: " + write("cli.key", cliKey) + "\n"
		start := func(t *testing.T, yml string) *client {
			t.Helper()
			cfg, err := config.Parse("test.yaml", []byte(yml))
			if err != nil {
				t.Fatal(err)
			}
			b := cfg.Instances[0].Backend
			if b.Kind != string(BackendCluster) || len(b.Seeds) != 1 || b.Seeds[0].TLS == nil {
				t.Fatalf("parsed backend: kind %s, seeds %d", b.Kind, len(b.Seeds))
			}
			return dial(t, startServer(t, Options{Backend: Backend{Kind: BackendKind(b.Kind), Seeds: b.Seeds}}).Addrs()[0])
		}

		for _, tc := range []struct{ name, block string }{
			{"ca, cert and key", files},
			// A name every node's certificate holds, for every node.
			{"server_name", files + "        server_name: localhost\n"},
		} {
			c := start(t, yml(tc.block))
			for _, k := range keys {
				if got, want := c.do("GET", k), "$"+strconv.Itoa(len("v-"+k))+"\r\nv-"+k+"\r\n"; got != want {
					t.Errorf("%s: GET %s: %q, want %q", tc.name, k, got, want)
				}
			}
		}
		// A name the nodes' certificates do not hold fails for every node.
		c := start(t, yml(files+"        server_name: not-the-node.example\n"))
		if got := c.do("GET", keys[0]); !failedClosed(got) {
			t.Fatalf("server_name the nodes do not have: GET %q", got)
		}
	})

	// Without what the nodes require, Redoubt reaches no node and says so;
	// it never falls back to plain text or to not verifying.
	otherCA := testutil.NewCA(t, "not the cluster's CA")
	otherPool := x509.NewCertPool()
	otherPool.AddCert(otherCA.Cert)
	otherCert, otherKey := otherCA.Issue(t, testutil.CertSpec{CN: "redoubt", Serial: 101, Client: true})
	otherClient, err := tls.X509KeyPair(otherCert, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cfg   *tls.Config
		cause string // in the topology error INFO shows
	}{
		{"no client certificate", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ""},
		{"a CA that did not sign the nodes", &tls.Config{RootCAs: otherPool, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12}, "certificate signed by unknown authority"},
		{"a client certificate of another CA", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{otherClient}, MinVersion: tls.VersionTLS12}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tlsSeed(tc.cfg))
			c := dial(t, s.Addrs()[0])
			for _, k := range keys {
				if got := c.do("GET", k); !failedClosed(got) {
					t.Fatalf("GET %s: %q", k, got)
				}
			}
			info := c.do("INFO", "backend")
			if !strings.Contains(info, "backend_status:down") || !strings.Contains(info, "cluster_topology_error:") {
				t.Fatalf("INFO backend:\n%s", info)
			}
			if tc.cause != "" && !strings.Contains(info, tc.cause) {
				t.Fatalf("INFO backend does not say %q:\n%s", tc.cause, info)
			}
		})
	}
}

// failedClosed reports whether a raw reply is a cluster instance's
// refusal for want of a backend.
func failedClosed(reply string) bool {
	return strings.HasPrefix(reply, "-ERR backend unavailable") || strings.HasPrefix(reply, "-CLUSTERDOWN")
}
