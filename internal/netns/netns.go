// Package netns runs a test inside a network namespace of its own, for
// tests whose packets must not reach any network the host is on (multicast
// above all: a group address is not a loopback address). The test re-execs
// its own binary in a new network namespace (CLONE_NEWNET, which needs
// root or CAP_SYS_ADMIN), where only a loopback interface exists; Enter
// brings it up with multicast on and routes 224.0.0.0/4 through it. Child
// processes the test starts (a real aeronmd, say) share the namespace.
//
// Where namespaces cannot be made (no privilege, no `ip` command), the test
// is skipped with a message saying why.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envChild names the test the child process runs inside the namespace.
const envChild = "TPOOL_NETNS_TEST"

// Enter reports true when the caller runs inside its own network namespace
// (set up for loopback multicast) and should go on with the test. In the
// parent it re-runs the test (a top-level test, not a subtest) in a new
// namespace, reports the child's outcome and returns false.
func Enter(t *testing.T) bool {
	t.Helper()
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("netns.Enter: %s is a subtest; call it from the top-level test", t.Name())
	}
	if os.Getenv(envChild) == t.Name() {
		if err := setupLoopback(); err != nil {
			t.Fatalf("set up the namespace's loopback: %v", err)
		}
		return true
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command to set up a network namespace's loopback: " + err.Error())
	}
	timeout := 10 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 5*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envChild+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
			t.Skipf("cannot create a network namespace (needs root or CAP_SYS_ADMIN): %v", err)
		}
		t.Fatalf("start %s in a network namespace: %v", t.Name(), err)
	}
	err := cmd.Wait()
	text := out.String()
	switch {
	case err != nil:
		t.Fatalf("%s in its network namespace: %v\n%s", t.Name(), err, text)
	case strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Skipf("skipped in its network namespace:\n%s", text)
	case !strings.Contains(text, "PASS"):
		t.Fatalf("%s in its network namespace did not pass:\n%s", t.Name(), text)
	}
	if testing.Verbose() {
		t.Logf("in its own network namespace:\n%s", text)
	}
	return false
}

// setupLoopback brings up the namespace's loopback with multicast on and a
// route for IPv4 multicast through it. It refuses to run outside a fresh
// namespace (one whose only interface is lo), so a mistake cannot change
// the host's routes.
func setupLoopback() error {
	ifs, err := net.Interfaces() // netlink: this namespace's (sysfs shows the host's)
	if err != nil {
		return err
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		names := make([]string, len(ifs))
		for i, f := range ifs {
			names[i] = f.Name
		}
		return fmt.Errorf("not a fresh network namespace (interfaces %v): refusing to change routes", names)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "lo", "multicast", "on"},
		{"route", "replace", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
