package cpeer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds every wait in this package (a process's whole life is
// bounded by twice that). It turns a hang into a test failure; nothing is
// timed against it.
const Timeout = 60 * time.Second

// stopGrace is how long Stop waits after SIGINT before it kills.
const stopGrace = 5 * time.Second

// A Process is a child process whose combined stdout and stderr is kept
// line by line.
type Process struct {
	Name string   // short name used in messages
	Argv []string // the command line, for messages

	cmd    *exec.Cmd
	cancel context.CancelFunc
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result, set before exited closes
	read   chan struct{} // closed once all output has been read

	mu     sync.Mutex
	lines  []string
	next   int           // first line WaitFor has not looked at
	notify chan struct{} // closed and replaced whenever a line arrives
	eof    bool
}

// Start starts argv with env appended to this process's environment. Its
// output is line-buffered through stdbuf (the C programs buffer stdout fully
// on a pipe otherwise). The test's cleanup stops it (see Stop) and logs its
// output if the test failed.
func Start(t testing.TB, name string, env []string, argv ...string) *Process {
	t.Helper()
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Fatalf("cpeer needs stdbuf (coreutils) to read C programs' output line by line: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	cmd := exec.CommandContext(ctx, stdbuf, append([]string{"-oL", "-eL"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Name: name, Argv: argv, cmd: cmd, cancel: cancel,
		exited: make(chan struct{}), read: make(chan struct{}), notify: make(chan struct{})}
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
		p.Stop()
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", name, strings.Join(argv, " "), strings.Join(p.Lines(), "\n"))
		}
	})
	return p
}

func (p *Process) add(line string, eof bool) {
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

// Lines returns a copy of every line the process has printed so far.
func (p *Process) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// WaitFor returns the next line not yet looked at by WaitFor that match
// accepts, failing the test if the process ends or Timeout passes first.
func (p *Process) WaitFor(t testing.TB, what string, match func(string) bool) string {
	t.Helper()
	l, ok := p.await(match)
	if !ok {
		t.Fatalf("%s (%s) did not print %s within %v", p.Name, p.Status(), what, Timeout)
	}
	return l
}

// await returns the next line not yet looked at that match accepts, or
// false once the process has ended (and exited) or Timeout has passed.
func (p *Process) await(match func(string) bool) (string, bool) {
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for p.next < len(p.lines) {
			l := p.lines[p.next]
			p.next++
			if match(l) {
				p.mu.Unlock()
				return l, true
			}
		}
		eof, notify := p.eof, p.notify
		p.mu.Unlock()
		if eof {
			<-p.exited
			return "", false
		}
		select {
		case <-notify:
		case <-timer.C:
			return "", false
		}
	}
}

// Wait waits for the process to exit by itself and returns its exit code
// (-1 if a signal ended it), failing the test after Timeout.
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(Timeout):
		t.Fatalf("%s did not exit within %v", p.Name, Timeout)
	}
	<-p.read
	return p.exitCode()
}

// Stop sends SIGINT unless the process has exited, kills it if it is still
// running five seconds later, waits for it and returns its exit code (-1 if
// a signal ended it). It is safe to call more than once.
func (p *Process) Stop() int {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	<-p.read
	p.cancel()
	return p.exitCode()
}

// Status describes how the process ended ("exit status 1", "signal:
// segmentation fault"), or says it is still running.
func (p *Process) Status() string {
	select {
	case <-p.exited:
	default:
		return "running"
	}
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// Signaled returns the name of the signal that killed the process
// ("aborted", "segmentation fault"), or "" if it exited by itself or is
// still running.
func (p *Process) Signaled() string {
	select {
	case <-p.exited:
	default:
		return ""
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal().String()
		}
	}
	return ""
}

func (p *Process) exitCode() int {
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	default:
		return -1
	}
}
