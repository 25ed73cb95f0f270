package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/auth"
	"redoubt/internal/testutil"
)

// TestGatewayFrontDoor runs the real binary with --upstream in front of a
// real redis-server that has a password, with an account of Redoubt's
// own: the front door is the same as with the embedded engine (NOAUTH,
// the account's password, the cross-protocol guard, refused commands),
// the backend's password comes from the environment and appears in no
// log, and a key written through Redoubt is in the backend.
func TestGatewayFrontDoor(t *testing.T) {
	bin := buildBinary(t)
	r := testutil.StartRedis(t)
	const backendPass = "backend-Secret-77"
	ctx := context.Background()
	direct := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer direct.Close()
	if err := direct.ConfigSet(ctx, "requirepass", backendPass).Err(); err != nil {
		t.Fatal(err)
	}
	direct = redis.NewClient(&redis.Options{Addr: r.Addr, Password: backendPass})
	defer direct.Close()

	const appPass = "App-passw0rd-long"
	h, err := auth.HashPassword([]byte(appPass), auth.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := net.JoinHostPort("127.0.0.1", itoa(testutil.FreePort(t)))
	cfg := filepath.Join(dir, "redoubt.yaml")
	yml := "instances:\n  - name: default\n    listen: " + addr + "\n    data: " + filepath.Join(dir, "data") + "\n" +
		"    accounts:\n      - name: app\n        password_hash: \"" + h + "\"\n        rules: \"~app:* +@all\"\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--config", cfg, "--upstream", "redis://"+r.Addr, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "REDOUBT_UPSTREAM_PASSWORD="+backendPass)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	testutil.WaitFor(t, 10*time.Second, "redoubt to listen:\n"+logs.String(), func() bool {
		nc, err := net.Dial("tcp", addr)
		if err == nil {
			nc.Close()
		}
		return err == nil
	})

	anon := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer anon.Close()
	if err := anon.Get(ctx, "app:k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("without AUTH: %v", err)
	}
	app := redis.NewClient(&redis.Options{Addr: addr, Username: "app", Password: appPass, MaxRetries: -1})
	defer app.Close()
	if err := app.Set(ctx, "app:k", "through", 0).Err(); err != nil {
		t.Fatalf("SET through the gateway: %v", err)
	}
	if got, err := direct.Get(ctx, "app:k").Result(); err != nil || got != "through" {
		t.Fatalf("the key in the backend: %q %v", got, err)
	}
	if err := app.Set(ctx, "other:k", "x", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("a key outside the account's pattern: %v", err)
	}
	if err := app.ConfigSet(ctx, "dir", "/tmp").Err(); err == nil || !strings.Contains(err.Error(), "disabled on this instance") {
		t.Fatalf("CONFIG SET: %v", err)
	}

	// A browser's request is cut before anything of it runs.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = nc.Write([]byte("POST / HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: text/plain\r\n\r\nSET app:k hacked\r\n"))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [64]byte
	if n, _ := nc.Read(buf[:]); n != 0 {
		t.Fatalf("the server answered an HTTP request: %q", buf[:n])
	}
	nc.Close()
	if got, _ := direct.Get(ctx, "app:k").Result(); got != "through" {
		t.Fatalf("the HTTP request changed the key: %q", got)
	}
	if s := logs.String(); strings.Contains(s, backendPass) || strings.Contains(s, appPass) {
		t.Fatalf("a password is in the log:\n%s", s)
	}
	// The event is logged as the connection closes, maybe after the
	// client saw the close.
	testutil.WaitFor(t, 5*time.Second, "a cross-protocol event in the log", func() bool {
		return bytes.Contains([]byte(logs.String()), []byte("cross_protocol"))
	})
}
