package aof

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"redoubt/internal/datadir"
)

const crashChildEnv = "AOF_CRASH_CHILD"

// crashChild is the child of TestCrashSIGKILL: it loads the AOF, then
// appends SET key:i value:i from four goroutines under appendfsync
// always and prints i once Commit returned, until it is killed.
func crashChild(dir string) {
	d, err := datadir.Open(dir, quiet())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fsys := DirFS(d)
	info, err := Load(fsys, quiet(), nil, func([][]byte) error { return nil })
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	w, err := Open(fsys, info, Options{Fsync: FsyncAlways, Log: quiet()})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	var engine, outMu sync.Mutex
	next := int(info.Commands)
	fmt.Println("ready")
	for range 4 {
		go func() {
			for {
				engine.Lock()
				i := next
				next++
				seq := w.Append(set(i)...)
				engine.Unlock()
				if err := w.Commit(seq); err != nil {
					fmt.Println("error", err)
					os.Exit(2)
				}
				outMu.Lock()
				fmt.Fprintln(os.Stdout, i)
				outMu.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashSIGKILL kills a child process with SIGKILL at random moments
// while it appends under appendfsync always, and checks after each kill
// that every acknowledged command is in the AOF, with no gap before it.
func TestCrashSIGKILL(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	dir := filepath.Join(t.TempDir(), "data")
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	t.Logf("seed %d", seed)
	total := 0
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSIGKILL$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || lines.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %q", lines.Text())
		}
		kill := time.Duration(5+rng.IntN(150)) * time.Millisecond
		timer := time.AfterFunc(kill, func() { cmd.Process.Signal(syscall.SIGKILL) })
		maxAcked := -1
		for lines.Scan() {
			s := lines.Text()
			i, err := strconv.Atoi(s)
			if err != nil {
				timer.Stop()
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child: %s", s)
			}
			maxAcked = max(maxAcked, i)
		}
		cmd.Wait()
		timer.Stop()

		d, err := datadir.Open(dir, quiet())
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		info, err := Load(DirFS(d), quiet(), nil, c.cmd)
		d.Close()
		if err != nil {
			t.Fatalf("round %d: Load after SIGKILL: %v", round, err)
		}
		for i, got := range c.cmds {
			if got != setStr(i) {
				t.Fatalf("round %d: command %d is %q", round, i, got)
			}
		}
		if len(c.cmds) <= maxAcked {
			t.Fatalf("round %d: killed after %v: command %d was acknowledged, only %d in the AOF",
				round, kill, maxAcked, len(c.cmds))
		}
		torn := ""
		if info.Truncated != nil {
			torn = fmt.Sprintf(", torn tail of %d bytes cut", info.Truncated.Removed)
		}
		t.Logf("round %d: killed after %v: %d acknowledged, %d in the AOF%s", round, kill,
			maxAcked+1, len(c.cmds), torn)
		total = len(c.cmds)
	}
	if total == 0 {
		t.Fatal("the children wrote nothing")
	}
}
