package tlsconf

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"

	"redoubt/internal/testutil"
)

// TestRedisCLI checks interoperability with the real redis-cli (OpenSSL)
// against a listener using Config.TLS.
func TestRedisCLI(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	if out, err := exec.Command(cli, "--tls", "--version").CombinedOutput(); err != nil {
		t.Fatalf("redis-cli lacks TLS support: %v\n%s", err, out)
	}
	f := newFixture(t)
	clientCert, clientKey := f.ca.Issue(t, testutil.CertSpec{CN: "client1", Serial: 10, Client: true})
	certFile := f.writeFile(t, "client.pem", clientCert)
	keyFile := f.writeFile(t, "client.key", clientKey)
	other := testutil.NewCA(t, "Other CA")
	alienCert, alienKey := other.Issue(t, testutil.CertSpec{CN: "intruder", Serial: 11, Client: true})
	alienFile := f.writeFile(t, "alien.pem", alienCert)
	alienKeyFile := f.writeFile(t, "alien.key", alienKey)

	servers := map[string]string{}
	for _, mode := range []string{"none", "require"} {
		o := f.options(mode)
		servers[mode] = startServer(t, f.newConfig(t, o))
	}
	o13 := f.options("")
	o13.MinVersion = "1.3"
	servers["none-1.3"] = startServer(t, f.newConfig(t, o13))

	tests := []struct {
		name   string
		server string
		args   []string
		ok     bool
	}{
		{"tls", "none", nil, true},
		{"tls min 1.3", "none-1.3", nil, true},
		{"mtls", "require", []string{"--cert", certFile, "--key", keyFile}, true},
		{"mtls without cert", "require", nil, false},
		{"mtls cert from another CA", "require", []string{"--cert", alienFile, "--key", alienKeyFile}, false},
		{"wrong CA on the client", "none", []string{"--cacert", alienFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, _ := net.SplitHostPort(servers[tt.server])
			args := []string{"--tls", "--cacert", f.caFile, "-h", host, "-p", port}
			args = append(args, tt.args...) // a later --cacert wins
			args = append(args, "PING")
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
			got := strings.TrimSpace(string(out))
			if tt.ok && (err != nil || got != "PONG") {
				t.Fatalf("redis-cli %q: %v, output %q; want PONG", args, err, got)
			}
			if !tt.ok && got == "PONG" {
				t.Fatalf("redis-cli %q: PONG, want refused", args)
			}
			t.Logf("redis-cli: %q (err %v)", got, err)
		})
	}
}

// TestOpenSSLVersions checks with openssl s_client what redis-cli cannot
// choose: the protocol version. Only the handshake is checked.
func TestOpenSSLVersions(t *testing.T) {
	openssl := testutil.RequireTool(t, "openssl")
	f := newFixture(t)
	addr := startServer(t, f.newConfig(t, f.options("")))
	tests := []struct {
		flag string
		want string // "" refused
	}{
		{"-tls1_3", "TLSv1.3"},
		{"-tls1_2", "TLSv1.2"},
		{"-tls1_1", ""},
		{"-tls1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			// SECLEVEL=0 lets OpenSSL offer the old versions at all, so
			// that the refusal comes from the server.
			cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, tt.flag,
				"-CAfile", f.caFile, "-verify_return_error", "-brief", "-cipher", "DEFAULT@SECLEVEL=0")
			out, err := cmd.CombinedOutput() // stdin is empty: s_client leaves after the handshake
			if tt.want == "" {
				if err == nil {
					t.Fatalf("openssl s_client %s connected, want refused:\n%s", tt.flag, out)
				}
				if !strings.Contains(string(out), "alert protocol version") {
					t.Errorf("openssl s_client %s: refused without a protocol version alert:\n%s", tt.flag, out)
				}
				return
			}
			if err != nil || !strings.Contains(string(out), "Protocol version: "+tt.want) {
				t.Fatalf("openssl s_client %s: %v, want %s:\n%s", tt.flag, err, tt.want, out)
			}
		})
	}
}
