// Package netns runs a test inside a network namespace of its own, for
// tests whose packets must not reach any network the host is on (multicast
// above all: a group address is not a loopback address). The test re-execs
// its own binary in a new network namespace (CLONE_NEWNET, which needs
// root or CAP_SYS_ADMIN), where only a loopback interface exists; Enter
// brings it up with multicast on and routes 224.0.0.0/4 through it. Child
// processes the test starts (a real aeronmd, say) share the namespace.
//
// Linux does not deliver IPv6 multicast over lo, so a test that needs it
// passes [WithIPv6Multicast]: the namespace then also gets a veth pair
// (both ends inside it, so packets still go nowhere else) with a unique
// local address on one end, [IPv6Interface] with [IPv6Address].
//
// Where namespaces cannot be made (no privilege, no `ip` command, no veth
// support), the test is skipped with a message saying why.
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

// The IPv6 interface WithIPv6Multicast adds: IPv6Interface (one end of a
// veth pair whose other end, IPv6Interface+"p", is in the namespace too)
// carries IPv6Address in IPv6Prefix, multicast on.
const (
	IPv6Interface = "tpv0"
	IPv6Address   = "fd00:7470::1"
	IPv6Prefix    = "fd00:7470::/64"
)

// Option adds to the namespace's setup; the child applies it.
type Option func(*setup)

type setup struct{ ipv6Multicast bool }

// WithIPv6Multicast adds the veth pair with IPv6Address for IPv6 multicast
// (see the package documentation).
func WithIPv6Multicast() Option { return func(s *setup) { s.ipv6Multicast = true } }

// errNoVeth: the kernel cannot make veth pairs (the test is skipped).
var errNoVeth = errors.New("no veth support")

// Enter reports true when the caller runs inside its own network namespace
// (set up for loopback multicast) and should go on with the test. In the
// parent it re-runs the test (a top-level test, not a subtest) in a new
// namespace, reports the child's outcome and returns false.
func Enter(t *testing.T, opts ...Option) bool {
	t.Helper()
	var cfg setup
	for _, o := range opts {
		o(&cfg)
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("netns.Enter: %s is a subtest; call it from the top-level test", t.Name())
	}
	if os.Getenv(envChild) == t.Name() {
		if err := setupLoopback(); err != nil {
			t.Fatalf("set up the namespace's loopback: %v", err)
		}
		if cfg.ipv6Multicast {
			err := setupIPv6()
			if errors.Is(err, errNoVeth) {
				t.Skipf("cannot add the IPv6 multicast interface: %v", err)
			}
			if err != nil {
				t.Fatalf("set up the namespace's IPv6 interface: %v", err)
			}
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
	return ip([][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "lo", "multicast", "on"},
		{"route", "replace", "224.0.0.0/4", "dev", "lo"},
	})
}

// setupIPv6 adds the veth pair of WithIPv6Multicast (after setupLoopback,
// which checked that the namespace is fresh). The address skips duplicate
// address detection so that it is usable at once; the multicast loop
// delivers what is sent to a group on IPv6Interface to its members there.
func setupIPv6() error {
	peer := IPv6Interface + "p"
	if out, err := exec.Command("ip", "link", "add", IPv6Interface, "type", "veth", "peer", "name", peer).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link add %s type veth: %v: %s: %w", IPv6Interface, err, out, errNoVeth)
	}
	return ip([][]string{
		{"link", "set", IPv6Interface, "multicast", "on"},
		{"link", "set", peer, "up"},
		{"link", "set", IPv6Interface, "up"},
		{"-6", "addr", "add", IPv6Address + "/64", "dev", IPv6Interface, "nodad"},
	})
}

// ip runs ip with each argument list in turn.
func ip(cmds [][]string) error {
	for _, args := range cmds {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
