package interop_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// runClaimer is the "claimer" role: it publishes COUNT messages on aeron:ipc
// STREAM, claims one more frame it never commits, says "claimed" and waits
// to be killed mid-offer.
func runClaimer(ctx context.Context, dir string, stream int32, count int) error {
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
	if err != nil {
		return err
	}
	pub, err := c.AddPublication(ctx, "aeron:ipc", stream)
	if err != nil {
		return err
	}
	for !pub.IsConnected() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	for i := range count {
		msg := fmt.Appendf(nil, "message %d", i)
		for r := pub.Offer(msg); r <= 0; r = pub.Offer(msg) {
			if r != aeron.BackPressured && r != aeron.AdminAction || ctx.Err() != nil {
				return fmt.Errorf("offer %d: %s", i, aeron.StatusString(r))
			}
		}
	}
	var claim aeron.BufferClaim
	for r := pub.TryClaim(64, &claim); r <= 0; r = pub.TryClaim(64, &claim) {
		if r != aeron.BackPressured && r != aeron.AdminAction || ctx.Err() != nil {
			return fmt.Errorf("claim: %s", aeron.StatusString(r))
		}
	}
	fmt.Println("claimed")
	<-ctx.Done() // SIGKILL comes first
	return ctx.Err()
}

// TestPublisherKilledMidOfferLikeAeronmd is issue 12's first scenario run
// against aeronmd and tpool-aeronmd: a publisher process SIGKILLed with a
// claimed, never committed frame. Both drivers must unblock the draining
// stream: the Go subscriber gets every complete message, loses the image
// within the client liveness timeout plus ten timer ticks (aeronmd takes
// about one), and Unblocked Publications reads 1.
func TestPublisherKilledMidOfferLikeAeronmd(t *testing.T) {
	const liveness, tick = 2 * time.Second, time.Second // tick: both drivers' default timer interval
	drivers := []driver{
		{"aeronmd", func(t testing.TB, dir string) {
			startAeronmd(t, dir, fmt.Sprintf("-Daeron.client.liveness.timeout=%d", liveness.Nanoseconds()),
				fmt.Sprintf("-Daeron.publication.unblock.timeout=%d", time.Minute.Nanoseconds()))
		}},
		{"tpool-aeronmd", func(t testing.TB, dir string) {
			startTpoolAeronmd(t, dir, "-client-liveness-timeout", liveness.String())
		}},
	}
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir() + "/aeron"
			d.start(t, dir)
			c := connect(t, dir)
			const stream, count = 3001, 50
			gone := make(chan struct{}, 1)
			sub, err := c.AddSubscription(ctx(t), "aeron:ipc", stream,
				aeron.WithUnavailableImage(func(*aeron.Image) { gone <- struct{}{} }))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			h := func(b []byte, _ *aeron.Header) { got = append(got, string(b)) }
			claimer := startProcess(t, "claimer", []string{os.Args[0], "-test.run=^$"}, roleEnv+"=claimer",
				watchStdinEnv+"=1", "AERON_DIR="+dir, fmt.Sprintf("STREAM=%d", stream), fmt.Sprintf("COUNT=%d", count))
			claimer.waitFor(t, "claimed", prefix("claimed"))
			eventually(t, "the complete messages", func() bool { sub.Poll(h, 10); return len(got) >= count })
			if err := claimer.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed := time.Now()
			deadline := time.NewTimer(testTimeout)
			defer deadline.Stop()
			for done := false; !done; {
				select {
				case <-gone:
					done = true
				case <-deadline.C:
					t.Fatalf("image still available %v after the publisher was killed", testTimeout)
				default:
					if sub.Poll(h, 10) == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}
			took := time.Since(killed)
			t.Logf("%s: image unavailable %v after the kill (liveness timeout %v)", d.name, took, liveness)
			if bound := liveness + 10*tick; took > bound {
				t.Errorf("image went unavailable %v after the kill, want within %v", took, bound)
			}
			if len(got) != count {
				t.Errorf("received %d messages, want %d", len(got), count)
			}
			for i, m := range got {
				if want := fmt.Sprintf("message %d", i); m != want {
					t.Fatalf("message %d is %q, want %q", i, m, want)
				}
			}
			if v := c.Counters().Value(19); c.Counters().Label(19) != "Unblocked Publications" || v != 1 {
				t.Errorf("counter 19 %q = %d, want Unblocked Publications = 1", c.Counters().Label(19), v)
			}
		})
	}
}
