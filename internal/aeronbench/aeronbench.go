// Package aeronbench holds the loops of tpool's Aeron benchmarks, shared by
// runtime/aeron (driver in the publishing process) and its interop package
// (driver in a process of its own). They copy the loops of the C samples
// they are compared with (streaming_publisher, rate_subscriber, cping,
// cpong): polls take at most FragmentLimit fragments, and an empty poll or
// a refused offer is followed by one busy-spin idle, a CPU pause, as
// Aeron's aeron_idle_strategy_busy_spinning_idle.
package aeronbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/latency"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
)

// FragmentLimit is the C samples' DEFAULT_FRAGMENT_COUNT_LIMIT.
const FragmentLimit = 10

// Channel is the channel of the benchmarks and of the C runs they are
// compared with (docs/PERFORMANCE.md).
const Channel = "aeron:ipc?term-length=16m"

// Offer offers msg until it is accepted, pausing the CPU after each
// refusal; it fails tb on a status that retrying cannot cure.
func Offer(tb testing.TB, p *aeron.Publication, msg []byte) {
	for r := p.Offer(msg); r < 0; r = p.Offer(msg) {
		if r == aeron.Closed || r == aeron.MaxPositionExceeded || r == aeron.MessageTooLong {
			tb.Fatalf("offer: %s", aeron.StatusString(r))
		}
		agent.SpinWait()
	}
}

// Stream offers b.N messages of size bytes (each starting with its
// sequence number), waits for received to return (the subscriber has them
// all) and reports messages per second over the whole time.
func Stream(b *testing.B, pub *aeron.Publication, size int, received func()) {
	msg := make([]byte, size)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		Offer(b, pub, msg)
	}
	received()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// RunSink is the subscribing peer of Stream, run in a process of its own:
// it connects to the driver in dir, subscribes to stream, writes "ready"
// to out, polls until it has count messages and writes "received".
func RunSink(ctx context.Context, dir string, stream int32, count int, out io.Writer) error {
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
	if err != nil {
		return err
	}
	defer c.Close()
	sub, err := c.AddSubscription(ctx, Channel, stream)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	if err := sink(ctx, sub, count); err != nil {
		return err
	}
	fmt.Fprintln(out, "received")
	return nil
}

// RunPong is the echoing peer of PingPong, run in a process of its own: it
// connects to the driver in dir, subscribes to stream, publishes
// (exclusively) on stream+1, writes "ready" to out and echoes until ctx
// ends.
func RunPong(ctx context.Context, dir string, stream int32, out io.Writer) error {
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
	if err != nil {
		return err
	}
	defer c.Close()
	sub, err := c.AddSubscription(ctx, Channel, stream)
	if err != nil {
		return err
	}
	pub, err := c.AddExclusivePublication(ctx, Channel, stream+1)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	if err := pong(ctx, sub, pub); err != nil {
		return fmt.Errorf("%w (client: %v)", err, c.Err())
	}
	return nil
}

// sink polls sub until it has count messages or ctx ends.
func sink(ctx context.Context, sub *aeron.Subscription, count int) error {
	got := 0
	h := func([]byte, *aeron.Header) { got++ }
	var idle agent.BusySpin
	for got < count {
		n := sub.Poll(h, FragmentLimit)
		if n == 0 && ctx.Err() != nil {
			return fmt.Errorf("sink: %d of %d messages: %w", got, count, ctx.Err())
		}
		idle.Idle(n)
	}
	return nil
}

// pong offers every message sub receives back on pub until ctx ends or
// pub closes.
func pong(ctx context.Context, sub *aeron.Subscription, pub *aeron.Publication) error {
	var idle agent.BusySpin
	h := func(b []byte, _ *aeron.Header) {
		for r := pub.Offer(b); r < 0 && r != aeron.Closed; r = pub.Offer(b) {
			idle.Idle(0)
		}
	}
	for ctx.Err() == nil {
		idle.Idle(sub.Poll(h, FragmentLimit))
		if pub.IsClosed() {
			return fmt.Errorf("pong: publication closed")
		}
	}
	return nil
}

// PingPong times b.N round trips of a 32-byte message, offered on pub and
// echoed back to sub, and reports their percentiles. stuck is called
// when a reply has not come after an unreasonable number of polls (about
// a minute on a 2-core machine); it should fail b.
func PingPong(b *testing.B, pub *aeron.Publication, sub *aeron.Subscription, stuck func(i int)) {
	msg := make([]byte, 32)
	rtt := latency.New()
	received := false
	h := func([]byte, *aeron.Header) { received = true }
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		Offer(b, pub, msg)
		received = false
		for spins := 1; !received; spins++ {
			if sub.Poll(h, FragmentLimit) == 0 {
				agent.SpinWait()
			}
			if spins%(1<<28) == 0 {
				stuck(i)
			}
		}
		rtt.Record(time.Since(start))
	}
	b.StopTimer()
	rtt.Report(b)
}
