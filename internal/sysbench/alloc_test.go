package sysbench

import (
	"testing"

	"github.com/tpool-go/tpool/internal/proctest"
)

// TestSystemAllocations: 64 KiB frames from the producer (this process) to
// the consumer process through tpoold, by OfferFrame and by
// TryClaim+Commit, allocate nothing on either side once warm. It counts
// every goroutine of each process (the clients' keepalives and
// heartbeats included).
//
// The Go runtime allocates when it starts an OS thread (its g0 and signal
// stacks, about seven objects), which it does when it likes: when a
// goroutine blocks in a system call while others are runnable, for
// instance. A window in which either process started a thread measures the
// runtime's warm-up, not ours, so the test measures again (up to
// maxWindows times) and fails if no window was free of thread starts or if
// any window without one allocated.
func TestSystemAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; make test runs this test without it")
	}
	fs := sizeNamed("64KiB")
	s := getSystem(t)
	p := s.producer(t, fs)
	payload := pattern(fs.bytes)
	meta := frameMeta(t, fs)
	const (
		runs       = 199 // AllocsPerRun calls f once more to warm up
		maxWindows = 5
	)
	clean := 0
	for w := 1; w <= maxWindows && clean == 0; w++ {
		if err := s.cons.Send("run %d %d %d", fs.stream, 2*(runs+1), idleBackoff); err != nil {
			t.Fatal(err)
		}
		s.cons.MustAwait(t, "marked")
		threads := proctest.ThreadsCreated()
		offer := testing.AllocsPerRun(runs, func() {
			if _, err := p.OfferFrame(payload, &meta); err != nil {
				t.Fatal(err)
			}
		})
		claim := testing.AllocsPerRun(runs, func() {
			if err := claimFrame(p, &meta.Tensor, payload); err != nil {
				t.Fatal(err)
			}
		})
		threads = proctest.ThreadsCreated() - threads
		r := parseResult(t, s.cons.MustAwait(t, "done"))
		t.Logf("window %d: producer: %v allocations per OfferFrame, %v per TryClaim+Commit, %d threads started; "+
			"consumer: %d allocations in %d frames (%d accepted, %d late), %d threads started",
			w, offer, claim, threads, r.mallocs, r.descriptors, r.accepted, r.late, r.threads)
		if r.timeout || r.descriptors != 2*(runs+1) {
			t.Fatalf("the consumer saw %d descriptors, want %d", r.descriptors, 2*(runs+1))
		}
		if threads == 0 {
			if offer != 0 || claim != 0 {
				t.Errorf("producer: %v allocations per OfferFrame, %v per TryClaim+Commit; want 0", offer, claim)
			}
		}
		if r.threads == 0 && r.mallocs != 0 {
			t.Errorf("the consumer allocated %d times in %d frames, want 0", r.mallocs, r.descriptors)
		}
		if threads == 0 && r.threads == 0 {
			clean++
		}
	}
	if clean == 0 {
		t.Errorf("the Go runtime started OS threads in each of %d windows; no clean measurement", maxWindows)
	}
}
