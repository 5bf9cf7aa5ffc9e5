// Package proctest runs parts of a test as child processes: the test binary
// re-executes itself with a role's name in its environment, and TestMain
// hands such a process to the role instead of running the tests.
//
// A child reads commands from its stdin, one per line ("verb 1 2 3"),
// writes reports to its stdout, one per line, and logs to its stderr. It
// ends when its stdin closes (the parent closed it, or died), so no child
// outlives its test. Commands are parsed without allocating, so a child
// can measure its own allocations across them.
package proctest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const roleEnv = "TPOOL_PROCTEST_ROLE"

// Timeout turns a hang into a failure: Await gives up after it. It is not
// a speed assertion.
const Timeout = 60 * time.Second

// Role is what a child runs. ctx ends when the parent closes the child's
// stdin; cmds delivers the commands read from it.
type Role func(ctx context.Context, cmds <-chan Command) error

// Command is one line of a child's stdin: a verb and up to four integers.
type Command struct {
	verb  [16]byte
	nverb int
	args  [4]int64
	nargs int
}

// Is reports whether the command's verb is v.
func (c *Command) Is(v string) bool { return string(c.verb[:c.nverb]) == v }

// Verb returns the verb (allocating).
func (c *Command) Verb() string { return string(c.verb[:c.nverb]) }

// Arg returns the i-th integer (0 if absent).
func (c *Command) Arg(i int) int64 {
	if i >= c.nargs {
		return 0
	}
	return c.args[i]
}

// parse reads "verb n n n" without allocating; bad fields are skipped.
func parse(line []byte) Command {
	var c Command
	field := 0
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		if j == i {
			break
		}
		w := line[i:j]
		if field == 0 {
			c.nverb = copy(c.verb[:], w)
		} else if c.nargs < len(c.args) {
			var n int64
			neg := w[0] == '-'
			if neg {
				w = w[1:]
			}
			for _, b := range w {
				n = n*10 + int64(b-'0')
			}
			if neg {
				n = -n
			}
			c.args[c.nargs] = n
			c.nargs++
		}
		field++
		i = j
	}
	return c
}

// RunRole runs the role named in the environment, if any, and exits; in
// the parent (no role) it returns at once. Call it first in TestMain.
func RunRole(roles map[string]Role) {
	name := os.Getenv(roleEnv)
	if name == "" {
		return
	}
	role, ok := roles[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "proctest: unknown role %q\n", name)
		os.Exit(2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmds := make(chan Command, 64)
	go func() {
		s := bufio.NewScanner(os.Stdin)
		for s.Scan() {
			cmds <- parse(s.Bytes())
		}
		cancel() // stdin closed: the parent is done with us, or died
		time.Sleep(10 * time.Second)
		fmt.Fprintf(os.Stderr, "proctest: role %s did not stop 10 s after its stdin closed\n", name)
		os.Exit(1)
	}()
	if err := role(ctx, cmds); err != nil {
		fmt.Fprintf(os.Stderr, "role %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Child is a running child process.
type Child struct {
	Name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

// Start starts role in a child with extra environment variables
// (KEY=VALUE). Its stderr goes to log (nil: os.Stderr) line by line with
// the role's name in front. The caller stops it (Stop or Kill); with a
// non-nil tb the test's cleanup stops it too.
func Start(tb testing.TB, role string, log func(string), env ...string) (*Child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	if log == nil {
		log = func(s string) { fmt.Fprintln(os.Stderr, s) }
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start role %s: %w", role, err)
	}
	c := &Child{Name: role, cmd: cmd, stdin: stdin, lines: make(chan string, 4096), done: make(chan struct{})}
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(outDone)
		s := bufio.NewScanner(out)
		for s.Scan() {
			select {
			case c.lines <- s.Text():
			default: // nobody reads: keep the child from blocking
			}
		}
	}()
	go func() {
		defer close(errDone)
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			log(role + ": " + s.Text())
		}
	}()
	go func() {
		<-outDone
		<-errDone
		_ = cmd.Wait()
		close(c.lines)
		close(c.done)
	}()
	if tb != nil {
		tb.Cleanup(c.Stop)
	}
	return c, nil
}

// TB starts role like Start, logging to tb, and fails tb if it cannot.
func TB(tb testing.TB, role string, env ...string) *Child {
	tb.Helper()
	c, err := Start(tb, role, func(s string) { tb.Log(s) }, env...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Send writes one command line to the child.
func (c *Child) Send(format string, a ...any) error {
	_, err := fmt.Fprintf(c.stdin, format+"\n", a...)
	return err
}

// Next returns the child's next report line, or an error after Timeout or
// once the child has ended.
func (c *Child) Next() (string, error) {
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case l, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("role %s ended (%v)", c.Name, c.cmd.ProcessState)
		}
		return l, nil
	case <-timer.C:
		return "", fmt.Errorf("role %s: no report in %v", c.Name, Timeout)
	}
}

// Await returns the first report line starting with prefix, skipping
// others.
func (c *Child) Await(prefix string) (string, error) {
	for {
		l, err := c.Next()
		if err != nil {
			return "", fmt.Errorf("awaiting %q: %w", prefix, err)
		}
		if strings.HasPrefix(l, prefix) {
			return l, nil
		}
	}
}

// MustAwait is Await failing tb.
func (c *Child) MustAwait(tb testing.TB, prefix string) string {
	tb.Helper()
	l, err := c.Await(prefix)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// Stop closes the child's stdin and waits for it to end (killing it after
// 15 s). It is idempotent.
func (c *Child) Stop() {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Kill sends SIGKILL and waits for the child to end.
func (c *Child) Kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// Exited reports whether the child has ended and, if so, its exit code
// (-1 when killed by a signal).
func (c *Child) Exited() (bool, int) {
	select {
	case <-c.done:
		return true, c.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// Field returns key's value in a report line of "key=value" fields.
func Field(line, key string) (string, bool) {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Uint returns key's value in line as an unsigned integer, failing tb if
// it is missing or not a number.
func Uint(tb testing.TB, line, key string) uint64 {
	tb.Helper()
	v, ok := Field(line, key)
	if !ok {
		tb.Fatalf("%q has no %s", line, key)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		tb.Fatalf("%q: %s: %v", line, key, err)
	}
	return n
}

// Float returns key's value in line as a float, failing tb like Uint.
func Float(tb testing.TB, line, key string) float64 {
	tb.Helper()
	v, ok := Field(line, key)
	if !ok {
		tb.Fatalf("%q has no %s", line, key)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		tb.Fatalf("%q: %s: %v", line, key, err)
	}
	return f
}

// ThreadsCreated is the number of OS threads the Go runtime has started in
// this process so far. Starting one allocates (about seven objects: the
// thread's g0 and signal stacks, its m, its profiling buffers), so an
// allocation count taken over a window in which the runtime grew its
// thread pool does not say anything about the code under test; tests that
// count a whole process's allocations measure again when this changed.
// It does not allocate.
func ThreadsCreated() int {
	n, _ := runtime.ThreadCreateProfile(nil)
	return n
}
