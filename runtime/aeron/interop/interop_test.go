package interop_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// binEnv names the directory holding the Aeron C binaries. Without it every
// test and benchmark here is skipped.
const binEnv = "TPOOL_AERON_C_BIN"

// testTimeout bounds every wait and every process so a broken test fails
// instead of hanging; it is a guard, not an assertion about speed.
const testTimeout = 60 * time.Second

// termLength keeps log buffers small: the C driver does not make sparse
// files by default and the test directories live on disk.
const termLength = 1 << 20

// roleEnv makes TestMain run a benchmark peer instead of the tests.
const roleEnv = "TPOOL_INTEROP_ROLE"

// watchStdinEnv tells a benchmark peer to exit when its stdin closes.
const watchStdinEnv = "TPOOL_INTEROP_WATCH_STDIN"

// toolDir holds cmd/tpool-aeronmd, built once per test binary run.
var toolDir struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		// Started by a benchmark, never outlive the parent, which holds
		// our stdin open (startProcess): a killed test binary leaves no
		// spinning peer. Started by hand (docs/PERFORMANCE.md), stdin may
		// be /dev/null, so only then.
		if os.Getenv(watchStdinEnv) != "" {
			go func() {
				_, _ = io.Copy(io.Discard, os.Stdin)
				os.Exit(0)
			}()
		}
		if err := runRole(role); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if toolDir.dir != "" {
		_ = os.RemoveAll(toolDir.dir)
	}
	os.Exit(code)
}

// cBin returns the path of an Aeron C binary, skipping the test when
// TPOOL_AERON_C_BIN is unset.
func cBin(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv(binEnv)
	if dir == "" {
		t.Skipf("%s is not set; point it at the directory holding the Aeron C binaries (see docs/INTEROP.md)", binEnv)
	}
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("%s=%s has no %s binary: %v", binEnv, dir, name, err)
	}
	return p
}

// sample runs a C sample with line-buffered stdout: the samples buffer their
// output fully when it is a pipe, and the tests read it live.
func sample(t testing.TB, name string, args ...string) []string {
	t.Helper()
	bin := cBin(t, name)
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Skipf("stdbuf (coreutils) not found: %v", err)
	}
	return append([]string{stdbuf, "-oL", bin}, args...)
}

// processLifetime bounds a child process; long runs (TestUDPStreamAcrossDrivers
// with TPOOL_UDP_STREAM_MESSAGES) raise it before starting theirs.
var processLifetime = 2 * testTimeout

// process is a child process whose combined output is read line by line.
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result, set before exited closes
	read   chan struct{} // closed once all output has been read

	mu     sync.Mutex
	lines  []string
	next   int           // first line waitFor has not looked at
	notify chan struct{} // closed and replaced whenever a line arrives
	eof    bool
}

// startProcess starts argv with extra environment; the test's cleanup
// interrupts it (SIGINT, as the Aeron programs expect), kills it if it
// lingers, and waits for it. Its output is logged if the test failed.
func startProcess(t testing.TB, name string, argv []string, env ...string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processLifetime)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	// A stdin the child can watch: it reads EOF when this process ends,
	// however it ends (the Go benchmark peers exit then; Wait closes it).
	if _, err := cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatalf("stdin for %s: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, exited: make(chan struct{}), read: make(chan struct{}), notify: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	go func() {
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 64*1024), 1<<20)
		for s.Scan() {
			p.add(s.Text(), false)
		}
		_, _ = io.Copy(io.Discard, pr)
		p.add("", true)
		close(p.read)
	}()
	t.Cleanup(func() {
		p.stop()
		cancel()
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", name, strings.Join(argv, " "), p.output())
		}
	})
	return p
}

func (p *process) add(line string, eof bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if eof {
		p.eof = true
	} else {
		p.lines = append(p.lines, line)
	}
	close(p.notify)
	p.notify = make(chan struct{})
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitFor returns the next unread line that match accepts, failing the test
// if the process ends or testTimeout passes first.
func (p *process) waitFor(t testing.TB, what string, match func(string) bool) string {
	t.Helper()
	return p.waitForWithin(t, what, match, testTimeout)
}

// waitForWithin is waitFor with its own limit (benchmarks on a loaded
// machine need more than testTimeout).
func (p *process) waitForWithin(t testing.TB, what string, match func(string) bool, limit time.Duration) string {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for p.next < len(p.lines) {
			l := p.lines[p.next]
			p.next++
			if match(l) {
				p.mu.Unlock()
				return l
			}
		}
		eof, notify := p.eof, p.notify
		p.mu.Unlock()
		if eof {
			t.Fatalf("%s ended before printing %s", p.name, what)
		}
		select {
		case <-notify:
		case <-timer.C:
			t.Fatalf("%s did not print %s within %v", p.name, what, limit)
		}
	}
}

func prefix(s string) func(string) bool {
	return func(l string) bool { return strings.HasPrefix(l, s) }
}

// wait waits for the process to exit by itself and returns its exit code.
func (p *process) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(testTimeout):
		t.Fatalf("%s did not exit within %v", p.name, testTimeout)
	}
	<-p.read
	return p.exitCode()
}

func (p *process) exitCode() int {
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	default:
		return -1 // killed by a signal or never waited for
	}
}

// stop interrupts the process (SIGINT), kills it after five seconds and
// returns its exit code. It is safe to call more than once.
func (p *process) stop() int {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	<-p.read
	return p.exitCode()
}

// A driver starts a media driver in dir for the rest of the test.
type driver struct {
	name  string
	start func(t testing.TB, dir string)
}

var (
	cDriver        = driver{"aeronmd", func(t testing.TB, dir string) { startAeronmd(t, dir) }}
	embeddedDriver = driver{"embedded", startEmbedded}
	tpoolAeronmd   = driver{"tpool-aeronmd", func(t testing.TB, dir string) { startTpoolAeronmd(t, dir) }}
)

// startAeronmd runs the real C media driver in dir with small terms and
// props appended (later settings win).
func startAeronmd(t testing.TB, dir string, props ...string) {
	t.Helper()
	argv := []string{cBin(t, "aeronmd"),
		"-Daeron.dir=" + dir,
		"-Daeron.dir.delete.on.start=true",
		"-Daeron.dir.delete.on.shutdown=true",
		"-Daeron.term.buffer.length=" + strconv.Itoa(termLength),
		"-Daeron.ipc.term.buffer.length=" + strconv.Itoa(termLength),
	}
	p := startProcess(t, "aeronmd", append(argv, props...))
	t.Cleanup(func() {
		// aeronmd exits with the number of the signal that stopped it
		// (aeronmd.c sets exit_status to it), so 2 is a clean SIGINT.
		if code := p.stop(); code != int(syscall.SIGINT) {
			t.Errorf("aeronmd exited with status %d after SIGINT, want %d", code, syscall.SIGINT)
		}
	})
}

// startEmbedded runs tpool's media driver inside the test process.
func startEmbedded(t testing.TB, dir string) {
	t.Helper()
	d, err := mediadriver.Start(mediadriver.Config{Dir: dir, IPCTermLength: termLength})
	if err != nil {
		t.Fatalf("embedded driver: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("embedded driver close: %v", err)
		}
	})
}

// startTpoolAeronmd runs cmd/tpool-aeronmd as a process with small terms
// and extra flags, and checks that it shuts down cleanly on SIGINT and
// removes its directory.
func startTpoolAeronmd(t testing.TB, dir string, flags ...string) {
	t.Helper()
	cBin(t, "aeronmd") // the same skip rule as every other test here
	toolDir.once.Do(func() {
		toolDir.dir, toolDir.err = os.MkdirTemp("", "tpool-interop-")
		if toolDir.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", toolDir.dir, "github.com/tpool-go/tpool/cmd/tpool-aeronmd").CombinedOutput()
		if err != nil {
			toolDir.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if toolDir.err != nil {
		t.Fatalf("building tpool-aeronmd: %v", toolDir.err)
	}
	argv := []string{filepath.Join(toolDir.dir, "tpool-aeronmd"), "-dir", dir, "-ipc-term-length", strconv.Itoa(termLength)}
	p := startProcess(t, "tpool-aeronmd", append(argv, flags...))
	t.Cleanup(func() {
		if code := p.stop(); code != 0 {
			t.Errorf("tpool-aeronmd exited with status %d after SIGINT", code)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("tpool-aeronmd left its directory behind (stat: %v)", err)
		}
	})
}

// connect connects a Go client to the driver in dir, waiting for it to
// come up.
func connect(t testing.TB, dir string) *aeron.Client {
	t.Helper()
	c, err := aeron.Connect(ctx(t), aeron.Config{Dir: dir, ResourceLinger: 10 * time.Millisecond,
		ErrorHandler: func(err error) { t.Logf("client error: %v", err) }})
	if err != nil {
		t.Fatalf("connect to the driver in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("client close: %v", err)
		}
	})
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond until it holds or testTimeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, testTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// offer offers msg until it is accepted, failing on a permanent status.
func offer(t testing.TB, p *aeron.Publication, msg []byte) {
	t.Helper()
	eventually(t, "offer accepted", func() bool {
		r := p.Offer(msg)
		switch r {
		case aeron.Closed, aeron.MaxPositionExceeded, aeron.MessageTooLong:
			t.Fatalf("offer of %d bytes: %s", len(msg), aeron.StatusString(r))
		}
		return r > 0
	})
}

func ipcChannel(testing.TB) string { return "aeron:ipc" }

// udpChannel is a unicast channel on a loopback port that was free a
// moment ago.
func udpChannel(t testing.TB) string {
	t.Helper()
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free UDP port: %v", err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	_ = l.Close()
	return "aeron:udp?endpoint=localhost:" + strconv.Itoa(port)
}
