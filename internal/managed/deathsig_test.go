//go:build linux

package managed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"redoubt/internal/testutil"
)

// helperDirEnv makes the test binary a Redoubt stand-in that starts a
// managed server in that directory, prints its pid and waits to be killed.
const helperDirEnv = "REDOUBT_MANAGED_HELPER_DIR"

func TestHelperRedoubt(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("run by TestDiesWithRedoubt")
	}
	p, err := Start(Options{Dir: dir})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(p.Pid())
	select {} // until SIGKILL
}

// When Redoubt is killed with SIGKILL, its redis-server dies too.
func TestDiesWithRedoubt(t *testing.T) {
	testutil.RequireTool(t, "redis-server")
	dir := instanceDir(t, "")
	ctx := testCtx(t)
	helper := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperRedoubt$", "-test.count=1")
	helper.Env = append(os.Environ(), helperDirEnv+"="+dir)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		t.Fatalf("helper said %q: %v", line, err)
	}
	t.Cleanup(func() {
		if !goneOrZombie(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // the orphan this test failed to prevent
		}
	})
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	// Reparented, the server may linger as a zombie when nothing reaps
	// orphans (a container without an init): that is dead too.
	testutil.WaitFor(t, testTimeout, "redis-server to die with its parent", func() bool {
		return goneOrZombie(pid)
	})
	if ctx.Err() != nil {
		t.Fatal(context.Cause(ctx))
	}
}

// goneOrZombie reports whether process pid has ended.
func goneOrZombie(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// "pid (comm) S …": the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
