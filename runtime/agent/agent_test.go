package agent

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type counting struct {
	events  []string
	work    atomic.Int64
	stopAt  int64
	failOn  int64
	startEr error
}

func (c *counting) Name() string   { return "counting" }
func (c *counting) OnStart() error { c.events = append(c.events, "start"); return c.startEr }
func (c *counting) OnClose()       { c.events = append(c.events, "close") }
func (c *counting) DoWork() (int, error) {
	n := c.work.Add(1)
	if c.stopAt > 0 && n >= c.stopAt {
		return 0, fmt.Errorf("done: %w", ErrTerminate)
	}
	if n == c.failOn {
		return 0, errors.New("transient")
	}
	return 1, nil
}

func TestRunnerTerminates(t *testing.T) {
	a := &counting{stopAt: 100, failOn: 5}
	var errs atomic.Int64
	r := NewRunner(a, NewBackoff(), func(error) { errs.Add(1) })
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	<-r.Done()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if diff := cmp.Diff([]string{"start", "close"}, a.events); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if errs.Load() != 1 {
		t.Errorf("errors handled = %d", errs.Load())
	}
}

func TestRunnerClose(t *testing.T) {
	a := &counting{}
	r := NewRunner(a, Yielding{}, nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	for a.work.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	_ = r.Close()
	if diff := cmp.Diff([]string{"start", "close"}, a.events); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRunnerStartError(t *testing.T) {
	a := &counting{startEr: errors.New("nope")}
	r := NewRunner(a, BusySpin{}, nil)
	if err := r.Start(); err == nil {
		t.Fatal("start error lost")
	}
	_ = r.Close()
	if a.work.Load() != 0 {
		t.Error("agent ran after a failed start")
	}
	// A never-started runner closes without touching the agent.
	b := &counting{}
	_ = NewRunner(b, BusySpin{}, nil).Close()
	if len(b.events) != 0 {
		t.Errorf("events %v", b.events)
	}
}

func TestInvoker(t *testing.T) {
	a := &counting{stopAt: 3}
	inv := NewInvoker(a)
	for range 2 {
		if n, err := inv.Invoke(); n != 1 || err != nil {
			t.Fatalf("Invoke = %d, %v", n, err)
		}
	}
	if _, err := inv.Invoke(); !errors.Is(err, ErrTerminate) {
		t.Fatalf("third Invoke = %v", err)
	}
	if _, err := inv.Invoke(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after terminate = %v", err)
	}
	if diff := cmp.Diff([]string{"start", "close"}, a.events); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBackoffProgression(t *testing.T) {
	b := &Backoff{MaxSpins: 2, MaxYields: 1, MinPark: time.Nanosecond, MaxPark: 4 * time.Nanosecond}
	for range 6 {
		b.Idle(0)
	}
	if b.spins != 2 || b.yields != 1 || b.park != 4*time.Nanosecond {
		t.Errorf("state spins=%d yields=%d park=%v", b.spins, b.yields, b.park)
	}
	b.Idle(1)
	if b.spins != 0 || b.yields != 0 || b.park != 0 {
		t.Errorf("work did not reset backoff: spins=%d yields=%d park=%v", b.spins, b.yields, b.park)
	}
}

func TestSpinningStrategiesDoNotAllocate(t *testing.T) {
	for _, s := range []IdleStrategy{BusySpin{}, NoOp{}} {
		n := testing.AllocsPerRun(100, func() {
			s.Idle(0)
			s.Idle(1)
			s.Reset()
		})
		if n != 0 {
			t.Errorf("%T allocates %v per idle cycle", s, n)
		}
	}
}
