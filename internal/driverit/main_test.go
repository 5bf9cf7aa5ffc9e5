package driverit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// Child processes: the test binary re-executed with roleEnv set runs the
// role instead of the tests. Children exit when their stdin closes, so none
// outlives the test.
const (
	roleEnv    = "TPOOL_DRIVERIT_ROLE"
	baseEnv    = "TPOOL_DRIVERIT_BASE"
	aeronEnv   = "TPOOL_DRIVERIT_AERON"
	argEnv     = "TPOOL_DRIVERIT_ARG"
	testStream = 10000
)

// testTimeout turns a hang into a failure; it is not a speed assertion.
const testTimeout = 60 * time.Second

// Short intervals keep the fault tests fast; bounds are derived from them.
const (
	announcePeriod    = 200 * time.Millisecond
	keepaliveInterval = 200 * time.Millisecond
	expiryGrace       = 3
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		ctxDone := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin) // the parent closed it, or died
			close(ctxDone)
			time.Sleep(5 * time.Second) // a clean stop normally finishes first
			os.Exit(0)
		}()
		stdinClosed = ctxDone
		if err := runChild(role); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// driverConfig is tpoold's configuration in the tests: small regions,
// short intervals, everything under base.
func driverConfig(aeronDir, base string) driver.Config {
	c := driver.DefaultConfig()
	c.Driver.AeronDir = aeronDir
	c.SHM.BaseDir = base
	c.Policies.AnnouncePeriod = announcePeriod
	c.Policies.LeaseKeepaliveInterval = keepaliveInterval
	c.Policies.LeaseExpiryGraceIntervals = expiryGrace
	c.Policies.PrefaultSHM = false
	c.Policies.ShutdownTimeout = 200 * time.Millisecond
	c.Profiles = []driver.Profile{{Name: "small", HeaderNslots: 16, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: 4096}}}}
	c.Streams = []driver.StreamConfig{{Name: "s0", StreamID: testStream, Profile: "small"},
		{Name: "s1", StreamID: testStream + 1, Profile: "small"}}
	return c
}

// clientConfig matches driverConfig.
func clientConfig(base string) driverclient.Config {
	return driverclient.Config{KeepaliveInterval: keepaliveInterval, AnnouncePeriod: announcePeriod,
		AttachTimeout: 2 * time.Second, RetryBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		AllowedBaseDirs: []string{base}}
}

func mediaDriverConfig(dir string) mediadriver.Config {
	return mediadriver.Config{Dir: dir, ClientLivenessTimeout: 2 * time.Second, PublicationLinger: 20 * time.Millisecond,
		TimerInterval: 10 * time.Millisecond, ToDriverBufferLength: 1<<20 + 768, ToClientsBufferLength: 1<<20 + 128,
		CounterValuesLength: 256 * 1024, ErrorLogLength: 64 * 1024}
}

// env holds a test's media driver and directories.
type env struct {
	t        testing.TB
	aeronDir string
	base     string
	md       *mediadriver.Driver
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, base: t.TempDir()}
	shmDir, err := os.MkdirTemp("/dev/shm", "driverit-aeron-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shmDir) })
	e.aeronDir = filepath.Join(shmDir, "aeron")
	if e.md, err = mediadriver.Start(mediaDriverConfig(e.aeronDir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.md.Close() })
	return e
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) startDriver() *driver.Driver {
	e.t.Helper()
	return e.startDriverWith(driverConfig(e.aeronDir, e.base))
}

func (e *env) startDriverWith(cfg driver.Config) *driver.Driver {
	e.t.Helper()
	d, err := driver.Start(testCtx(e.t), cfg, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = d.Close() })
	return d
}

func (e *env) connect() *aeron.Client {
	e.t.Helper()
	c, err := aeron.Connect(testCtx(e.t), aeron.Config{Dir: e.aeronDir, ResourceLinger: 10 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// events collects a client's events for a test.
type events struct {
	ch chan driverclient.Event
}

func newEvents() *events { return &events{ch: make(chan driverclient.Event, 4096)} }

func (ev *events) on(e driverclient.Event) {
	select {
	case ev.ch <- e:
	default:
	}
}

// await returns the first event of kind (skipping others) or fails.
func (ev *events) await(t testing.TB, kind driverclient.EventKind) driverclient.Event {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case e := <-ev.ch:
			if e.Kind == kind {
				return e
			}
		case <-timer.C:
			t.Fatalf("no %v event", kind)
		}
	}
}

func (e *env) newClient(a *aeron.Client, ev *events) *driverclient.Client {
	e.t.Helper()
	cfg := clientConfig(e.base)
	if ev != nil {
		cfg.OnEvent = ev.on
	}
	c, err := driverclient.New(testCtx(e.t), a, cfg, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// child is a re-executed test binary.
type child struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

func (e *env) spawn(role, arg string) *child {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, baseEnv+"="+e.base, aeronEnv+"="+e.aeronDir, argEnv+"="+arg)
	cmd.Stderr = &prefixWriter{t: e.t, prefix: role + ": "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	c := &child{t: e.t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			c.lines <- s.Text()
		}
	}()
	go func() { _ = cmd.Wait(); close(c.done) }()
	e.t.Cleanup(c.stop)
	return c
}

// stop ends the child (closing its stdin) and waits for it.
func (c *child) stop() {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// await returns the first line starting with prefix.
func (c *child) await(prefix string) string {
	c.t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("child ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timer.C:
			c.t.Fatalf("no %q from the child", prefix)
		}
	}
}

// field returns key=value's value in a child's line.
func field(t testing.TB, line, key string) uint64 {
	t.Helper()
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("%q has no %s", line, key)
	return 0
}

type prefixWriter struct {
	t      testing.TB
	prefix string
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.Log(w.prefix + l)
	}
	return len(b), nil
}

// stdinClosed is closed in a child when its parent closes its stdin.
var stdinClosed chan struct{}
