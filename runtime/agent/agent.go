// Package agent runs duty-cycle agents the way Aeron's Agrona does: an
// [Agent] does a bounded amount of work per call, an [IdleStrategy] decides
// what to do when a cycle found no work, and an agent runs either on its own
// goroutine under a [Runner] or inside the caller's loop through an
// [Invoker].
package agent

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Agent is a unit of work driven in a loop.
type Agent interface {
	// Name identifies the agent in errors and logs.
	Name() string
	// OnStart runs once before the first DoWork.
	OnStart() error
	// DoWork does one bounded cycle and returns how much work it found (0
	// means idle). An error wrapping ErrTerminate stops the agent; other
	// errors go to the error handler and the loop continues.
	DoWork() (int, error)
	// OnClose runs once after the last DoWork.
	OnClose()
}

// ErrTerminate, returned (wrapped) from DoWork, stops the agent cleanly.
var ErrTerminate = errors.New("agent: terminate")

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("agent: closed")

// IdleStrategy is called after every duty cycle with its work count.
type IdleStrategy interface {
	// Idle is called with the work count of the last cycle; it must
	// return promptly for workCount > 0.
	Idle(workCount int)
	// Reset forgets any backoff state.
	Reset()
}

// BusySpin never gives up the thread: lowest latency, one core per agent.
// When idle it executes one spin-wait hint ([SpinWait]), as Agrona's
// BusySpinIdleStrategy and Aeron's C busy-spinning strategy do.
type BusySpin struct{}

// Idle calls SpinWait when workCount is 0.
func (BusySpin) Idle(workCount int) {
	if workCount == 0 {
		SpinWait()
	}
}

// Reset does nothing.
func (BusySpin) Reset() {}

// NoOp does nothing at all when idle, not even a spin-wait hint (Aeron's
// noop strategy).
type NoOp struct{}

// Idle does nothing.
func (NoOp) Idle(int) {}

// Reset does nothing.
func (NoOp) Reset() {}

// Yielding calls runtime.Gosched when idle: other goroutines get to run,
// but the thread keeps its core (unlike Aeron's yielding strategy and
// Backoff's yield phase, which yield the thread to the OS).
type Yielding struct{}

// Idle yields when workCount is 0.
func (Yielding) Idle(workCount int) {
	if workCount == 0 {
		runtime.Gosched()
	}
}

// Reset does nothing.
func (Yielding) Reset() {}

// Sleeping sleeps for a fixed period when idle.
type Sleeping struct{ Period time.Duration }

// Idle sleeps when workCount is 0.
func (s Sleeping) Idle(workCount int) {
	if workCount == 0 {
		park(s.Period)
	}
}

// Reset does nothing.
func (Sleeping) Reset() {}

// Backoff spins (with a CPU pause), then yields the thread to the OS
// scheduler, then sleeps with exponential growth up to MaxPark, as
// Agrona's BackoffIdleStrategy does.
//
// The yields are sched_yield system calls, not runtime.Gosched: on a busy
// machine an OS yield hands the core straight back to a spinning
// publisher or subscriber, where a Gosched keeps the core and (with an idle
// P) wakes another thread. Measured on two cores with the driver in the
// publishing process: 32-byte throughput 26-30 M msgs/s in 5 of 5 runs
// against 17-38 M with Gosched, and a ping-pong p99.9 of 5-23 µs against
// 23-39 µs (docs/PERFORMANCE.md). Parking still passes through the Go
// scheduler (see park).
type Backoff struct {
	MaxSpins, MaxYields int
	MinPark, MaxPark    time.Duration

	spins, yields int
	park          time.Duration
}

// NewBackoff returns Aeron's default backoff (10 spins, 5 yields, parks of
// 1 µs to 1 ms).
func NewBackoff() *Backoff {
	return &Backoff{MaxSpins: 10, MaxYields: 5, MinPark: time.Microsecond, MaxPark: time.Millisecond}
}

// Idle backs off further each idle cycle and resets on work.
func (b *Backoff) Idle(workCount int) {
	if workCount > 0 {
		b.Reset()
		return
	}
	switch {
	case b.spins < b.MaxSpins:
		b.spins++
		SpinWait()
	case b.yields < b.MaxYields:
		b.yields++
		osYield()
	default:
		if b.park == 0 {
			b.park = b.MinPark
		}
		park(b.park)
		b.park = min(b.park*2, b.MaxPark)
	}
}

// Reset returns to spinning.
func (b *Backoff) Reset() { b.spins, b.yields, b.park = 0, 0, 0 }

// osYield gives the thread's core to other runnable threads (sched_yield),
// as Java's Thread.yield and Aeron's C yielding strategy do. It is a raw
// system call: it does not block, so the goroutine keeps its P and the Go
// scheduler neither hands the P on nor wakes another thread.
func osYield() { _, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// park pauses an idle agent without a Go timer: it yields to other
// goroutines first, then sleeps in the kernel (nanosleep).
//
// Why not time.Sleep: on a loaded machine with a goroutine busy-spinning on
// Offer/Poll, Go timers of an idle P were seen not to fire for seconds
// (docs/AERON.md), stalling driver and client conductors and their
// heartbeats. Why the yield: a goroutine that goes from one short syscall
// to the next never passes through the scheduler and keeps its P, so a
// preempted spinner could starve behind it.
func park(d time.Duration) {
	runtime.Gosched()
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for {
		var rem unix.Timespec
		if err := unix.Nanosleep(&ts, &rem); err != unix.EINTR {
			return
		}
		ts = rem
	}
}

// Runner runs an agent on its own goroutine.
type Runner struct {
	agent   Agent
	idle    IdleStrategy
	onError func(error)

	startOnce sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	startErr  error
}

// NewRunner prepares a runner; onError (may be nil) receives DoWork errors.
func NewRunner(a Agent, idle IdleStrategy, onError func(error)) *Runner {
	if onError == nil {
		onError = func(error) {}
	}
	return &Runner{agent: a, idle: idle, onError: onError, stop: make(chan struct{}), done: make(chan struct{})}
}

// Start calls OnStart and, if it succeeds, starts the duty cycle goroutine.
func (r *Runner) Start() error {
	r.startOnce.Do(func() {
		if err := r.agent.OnStart(); err != nil {
			r.startErr = fmt.Errorf("%s: start: %w", r.agent.Name(), err)
			close(r.done)
			return
		}
		go r.run()
	})
	return r.startErr
}

func (r *Runner) run() {
	defer close(r.done)
	defer r.agent.OnClose()
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		n, err := r.agent.DoWork()
		if err != nil {
			if errors.Is(err, ErrTerminate) {
				return
			}
			r.onError(err)
		}
		r.idle.Idle(n)
	}
}

// Done is closed when the agent has stopped (after OnClose).
func (r *Runner) Done() <-chan struct{} { return r.done }

// Close stops the agent and waits for OnClose. It is idempotent; an agent
// never started is closed without OnStart/OnClose.
func (r *Runner) Close() error {
	r.startOnce.Do(func() { close(r.done) })
	r.closeOnce.Do(func() { close(r.stop) })
	<-r.done
	return nil
}

// Invoker drives an agent from the caller's own loop.
type Invoker struct {
	agent   Agent
	started bool
	closed  bool
}

// NewInvoker wraps an agent.
func NewInvoker(a Agent) *Invoker { return &Invoker{agent: a} }

// Start calls OnStart once.
func (i *Invoker) Start() error {
	if i.started {
		return nil
	}
	if err := i.agent.OnStart(); err != nil {
		return fmt.Errorf("%s: start: %w", i.agent.Name(), err)
	}
	i.started = true
	return nil
}

// Invoke runs one duty cycle. After the agent terminates or Close it
// returns ErrClosed.
func (i *Invoker) Invoke() (int, error) {
	if i.closed {
		return 0, ErrClosed
	}
	if !i.started {
		if err := i.Start(); err != nil {
			return 0, err
		}
	}
	n, err := i.agent.DoWork()
	if errors.Is(err, ErrTerminate) {
		i.Close()
	}
	return n, err
}

// Close calls OnClose once if the agent was started.
func (i *Invoker) Close() {
	if i.closed {
		return
	}
	i.closed = true
	if i.started {
		i.agent.OnClose()
	}
}
