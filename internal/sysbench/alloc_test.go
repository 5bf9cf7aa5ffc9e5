package sysbench

import (
	"testing"
)

// TestSystemAllocations: 64 KiB frames from the producer (this process) to
// the consumer process through tpoold, by OfferFrame and by
// TryClaim+Commit, allocate nothing on either side once warm. It counts
// every goroutine of each process (the clients' keepalives and
// heartbeats included).
func TestSystemAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; make test runs this test without it")
	}
	fs := sizeNamed("64KiB")
	s := getSystem(t)
	p := s.producer(t, fs)
	payload := pattern(fs.bytes)
	meta := frameMeta(t, fs)
	const runs = 199 // AllocsPerRun calls f once more to warm up
	if err := s.cons.Send("run %d %d %d", fs.stream, 2*(runs+1), idleBackoff); err != nil {
		t.Fatal(err)
	}
	s.cons.MustAwait(t, "marked")
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
	r := parseResult(t, s.cons.MustAwait(t, "done"))
	t.Logf("producer: %v allocations per OfferFrame, %v per TryClaim+Commit; consumer: %d allocations in %d frames (%d accepted, %d late)",
		offer, claim, r.mallocs, r.descriptors, r.accepted, r.late)
	if offer != 0 || claim != 0 {
		t.Errorf("producer: %v allocations per OfferFrame, %v per TryClaim+Commit; want 0", offer, claim)
	}
	if r.timeout || r.descriptors != 2*(runs+1) {
		t.Errorf("the consumer saw %d descriptors, want %d", r.descriptors, 2*(runs+1))
	}
	if r.mallocs != 0 {
		t.Errorf("the consumer allocated %d times in %d frames, want 0", r.mallocs, r.descriptors)
	}
}
