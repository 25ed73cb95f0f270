package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/aof"
	"redoubt/internal/datadir"
	"redoubt/internal/testutil"
)

// writeTestAOF creates the append-only file of a data directory with n
// SET commands, through the aof package as the server writes it, and
// returns the name of the last incremental file.
func writeTestAOF(t *testing.T, path string, n int) string {
	t.Helper()
	dir, err := datadir.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	fsys := aof.DirFS(dir)
	info, err := aof.Load(fsys, nil, nil, func([][]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	w, err := aof.Open(fsys, info, aof.Options{Fsync: aof.FsyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		w.Append([]byte("SET"), []byte("key:"+strconv.Itoa(i)), []byte(strings.Repeat("v", 20)))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return lastIncr(t, path)
}

// lastIncr returns the name of the file the AOF of path appends to.
func lastIncr(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path, aof.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := aof.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m.Incrs[len(m.Incrs)-1].Name
}

// loadedCommands replays the AOF of path as the server does at start
// and returns how many commands it holds, or the error Load gives.
func loadedCommands(t *testing.T, path string) (int, error) {
	t.Helper()
	dir, err := datadir.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	n := 0
	_, err = aof.Load(aof.DirFS(dir), nil, nil, func([][]byte) error { n++; return nil })
	return n, err
}

// runCheckAOF runs `redoubt check-aof args…` in-process.
func runCheckAOF(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"check-aof"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckAOFSound(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	writeTestAOF(t, d, 100)
	code, out, errOut := runCheckAOF("--data", d)
	if code != 0 || !strings.Contains(out, "AOF is valid") || !strings.Contains(out, " 100 commands") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// An empty directory holds no AOF, which is sound.
	empty := filepath.Join(t.TempDir(), "e")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCheckAOF("--data", empty); code != 0 || !strings.Contains(out, "no append-only file") {
		t.Fatalf("empty directory: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckAOFTornTail(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	name := writeTestAOF(t, d, 50)
	file := filepath.Join(d, name)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	torn := append(append([]byte{}, good...), "*3\r\n$3\r\nSET\r\n$5\r\nkey:5"...)
	if err := os.WriteFile(file, torn, 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, _ := runCheckAOF("--data", d)
	if code != 1 || !strings.Contains(out, "torn") || !strings.Contains(out, "offset "+strconv.Itoa(len(good))) {
		t.Fatalf("torn tail without --fix: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(file); !bytes.Equal(b, torn) {
		t.Fatal("check-aof without --fix changed the file")
	}

	code, out, errOut := runCheckAOF("--fix", "--data", d)
	if code != 0 || !strings.Contains(out, "AOF is valid after the fix") {
		t.Fatalf("--fix: exit %d\n%s%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(file); !bytes.Equal(b, good) {
		t.Fatalf("after --fix the file is %d bytes, want the %d valid ones", len(b), len(good))
	}
	if b, _ := os.ReadFile(file + ".bak"); !bytes.Equal(b, torn) {
		t.Fatal("the backup is not the original file")
	}
	if n, err := loadedCommands(t, d); err != nil || n != 50 {
		t.Fatalf("after --fix: %d commands, %v", n, err)
	}
}

func TestCheckAOFCorruptMidFile(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	name := writeTestAOF(t, d, 100)
	file := filepath.Join(d, name)
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Break the 41st command: its array header becomes garbage.
	off := 0
	for range 40 {
		off += bytes.Index(orig[off+1:], []byte("*3\r\n$3\r\nSET")) + 1
	}
	if !bytes.HasPrefix(orig[off:], []byte("*3\r\n$3\r\nSET\r\n$6\r\nkey:40\r\n")) {
		t.Fatalf("offset %d is not the 41st command: %q", off, orig[off:off+20])
	}
	bad := append([]byte{}, orig...)
	copy(bad[off:], "?junk")
	if err := os.WriteFile(file, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	// The server refuses it and points at check-aof.
	if _, err := loadedCommands(t, d); err == nil || !strings.Contains(err.Error(), "check-aof --fix") {
		t.Fatalf("Load of a corrupt AOF: %v", err)
	}

	code, out, _ := runCheckAOF("--data", d)
	if code != 1 || !strings.Contains(out, "corrupt") || !strings.Contains(out, "offset "+strconv.Itoa(off)) ||
		!strings.Contains(out, "--fix") {
		t.Fatalf("corrupt without --fix: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(file); !bytes.Equal(b, bad) {
		t.Fatal("check-aof without --fix changed the file")
	}

	code, out, errOut := runCheckAOF("--fix", "--data", d)
	if code != 0 || !strings.Contains(out, "fixed: truncated to "+strconv.Itoa(off)) {
		t.Fatalf("--fix: exit %d\n%s%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(file + ".bak"); !bytes.Equal(b, bad) {
		t.Fatal("the backup is not the damaged original")
	}
	if n, err := loadedCommands(t, d); err != nil || n != 40 {
		t.Fatalf("after --fix: %d commands (want the 40 before the damage), %v", n, err)
	}
	// A second fix has nothing to do and keeps the first backup.
	if code, out, _ := runCheckAOF("--fix", "--data", d); code != 0 || !strings.Contains(out, "AOF is valid") {
		t.Fatalf("second --fix: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(file + ".bak.1"); err == nil {
		t.Fatal("a sound AOF was backed up again")
	}
}

// TestCheckAOFRunningInstance runs the real binary: check-aof refuses its
// directory while it runs and finds the AOF it wrote sound once stopped.
func TestCheckAOFRunningInstance(t *testing.T) {
	bin := buildBinary(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(testutil.FreePort(t)))
	d := filepath.Join(t.TempDir(), "d")
	cmd := exec.Command(bin, "--admin-listen", "127.0.0.1:0", "--listen", addr, "--data", d)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("redoubt log:\n%s", logs.String())
		}
	})
	testutil.WaitFor(t, 10*time.Second, "redoubt to answer PING", func() bool { return testutil.Ping(addr) == nil })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < 10; {
		n, err := c.Read(buf[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	c.Close()

	code, out, errOut := runCheckAOF("--data", d)
	if code != 1 || !strings.Contains(errOut, "in use") || !strings.Contains(errOut, "stop the instance") {
		t.Fatalf("running instance: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCheckAOF("--fix", "--data", d); code != 1 || !strings.Contains(errOut, "in use") {
		t.Fatalf("running instance with --fix: exit %d\n%s", code, errOut)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	code, out, errOut = runCheckAOF("--data", d)
	if code != 0 || !strings.Contains(out, "AOF is valid") || !strings.Contains(out, ".incr.aof") {
		t.Fatalf("stopped instance: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckAOFUsage(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	writeTestAOF(t, a, 3)
	writeTestAOF(t, b, 7)
	cfg := filepath.Join(tmp, "redoubt.yaml")
	body := "instances:\n  - name: default\n    data: " + a + "\n  - name: other\n    listen: 127.0.0.1:1\n    data: " + b + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "missing")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"no directory", nil, 2, "--data DIR"},
		{"both", []string{"--data", a, "--config", cfg}, 2, "not both"},
		{"extra argument", []string{"--data", a, "x"}, 2, `unexpected argument "x"`},
		{"unknown flag", []string{"--frobnicate"}, 2, "frobnicate"},
		{"missing directory", []string{"--data", missing}, 1, "does not exist"},
		{"config default instance", []string{"--config", cfg}, 0, " 3 commands"},
		{"config named instance", []string{"--config", cfg, "--instance", "other"}, 0, " 7 commands"},
		{"config unknown instance", []string{"--config", cfg, "--instance", "nope"}, 2, `no instance "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCheckAOF(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("check-aof created the missing directory")
	}
}

// TestHelpListsSubcommands checks that --help names the maintenance
// subcommands and that each has a help of its own.
func TestHelpListsSubcommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"redoubt passwd", "redoubt check-aof [--fix] --data DIR",
		"redoubt import-rdb [--force] [--databases N] --data DIR FILE.rdb", "--instance NAME"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, sub := range []string{"check-aof", "import-rdb"} {
		var out, errOut bytes.Buffer
		if code := run([]string{sub, "--help"}, &out, &errOut); code != 0 ||
			!strings.Contains(errOut.String(), "Usage: redoubt "+sub) || !strings.Contains(errOut.String(), "-data") {
			t.Errorf("%s --help: exit %d\n%s", sub, code, errOut.String())
		}
	}
}
