package aeron_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/latency"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/agent"
)

// Benchmarks between two processes: the parent runs the driver and
// publishes; a re-executed child subscribes. Percentiles of the ping-pong
// benchmark come from an HdrHistogram (internal/latency).
//
// The loops are shaped like the C samples they are compared with
// (streaming_publisher, rate_subscriber, cping, cpong): polls take at most
// benchFragmentLimit fragments, and an empty poll or a refused offer is
// followed by one busy-spin idle (a CPU pause), as Aeron's
// aeron_idle_strategy_busy_spinning_idle.

// benchFragmentLimit is the C samples' DEFAULT_FRAGMENT_COUNT_LIMIT.
const benchFragmentLimit = 10

var benchRoles = map[string]func(context.Context, string) error{
	"sink": runSink,
	"pong": runPong,
}

const benchChannel = "aeron:ipc?term-length=16m"

func runSink(ctx context.Context, dir string) error {
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
	if err != nil {
		return err
	}
	defer c.Close()
	sub, err := c.AddSubscription(ctx, benchChannel, int32(envInt("STREAM")))
	if err != nil {
		return err
	}
	fmt.Println("ready")
	want, got := envInt("COUNT"), 0
	h := func([]byte, *aeron.Header) { got++ }
	var idle agent.BusySpin
	for got < want {
		n := sub.Poll(h, benchFragmentLimit)
		if n == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		idle.Idle(n)
	}
	fmt.Println("received")
	return nil
}

func runPong(ctx context.Context, dir string) error {
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
	if err != nil {
		return err
	}
	defer c.Close()
	stream := int32(envInt("STREAM"))
	sub, err := c.AddSubscription(ctx, benchChannel, stream)
	if err != nil {
		return err
	}
	pub, err := c.AddExclusivePublication(ctx, benchChannel, stream+1)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	var idle agent.BusySpin
	h := func(b []byte, _ *aeron.Header) {
		spins := 0
		for r := pub.Offer(b); r < 0; r = pub.Offer(b) {
			if r == aeron.Closed {
				return
			}
			idle.Idle(0)
			if spins++; spins == 500_000_000 {
				// Diagnose the rare stall seen on a loaded 2-core machine.
				fmt.Fprintf(os.Stderr, "pong stuck offering: %s pos %d lim %d connected %v err %v\n",
					aeron.StatusString(r), pub.Position(), pub.PositionLimit(), pub.IsConnected(), c.Err())
			}
		}
	}
	for ctx.Err() == nil {
		idle.Idle(sub.Poll(h, benchFragmentLimit))
		if pub.IsClosed() {
			return fmt.Errorf("pong stopped: %v", c.Err())
		}
	}
	return nil
}

func benchDriver(b *testing.B) (string, *aeron.Client) {
	dir := filepath.Join(b.TempDir(), "aeron")
	d, err := mediadriver.Start(mediadriver.Config{Dir: dir, TimerInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	return dir, connect(b, dir)
}

// offerOrFail retries back-pressure and admin actions.
func offerOrFail(b *testing.B, p *aeron.Publication, msg []byte) {
	for r := p.Offer(msg); r < 0; r = p.Offer(msg) {
		if r == aeron.Closed || r == aeron.MaxPositionExceeded {
			b.Fatalf("offer: %s", aeron.StatusString(r))
		}
		agent.SpinWait()
	}
}

// BenchmarkIPCThroughput: messages per second from a publisher (concurrent
// or exclusive: compare with the C streaming_publisher and
// streaming_exclusive_publisher) to a subscriber in another process; the
// clock stops when the subscriber has every message.
func BenchmarkIPCThroughput(b *testing.B) {
	for _, exclusive := range []bool{false, true} {
		kind := "concurrent"
		if exclusive {
			kind = "exclusive"
		}
		for _, size := range []int{32, 256} {
			b.Run(kind+"/"+strconv.Itoa(size)+"B", func(b *testing.B) {
				dir, c := benchDriver(b)
				const stream = 4001
				add := c.AddPublication
				if exclusive {
					add = c.AddExclusivePublication
				}
				pub, err := add(ctx(b), benchChannel, stream)
				if err != nil {
					b.Fatal(err)
				}
				sink := startChild(b, "sink", dir, "STREAM="+strconv.Itoa(stream), "COUNT="+strconv.Itoa(b.N))
				sink.expect(b, "ready")
				eventually(b, "connected", pub.IsConnected)
				msg := make([]byte, size)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					binary.LittleEndian.PutUint64(msg, uint64(i))
					offerOrFail(b, pub, msg)
				}
				sink.expect(b, "received")
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			})
		}
	}
}

func BenchmarkIPCPingPong(b *testing.B) {
	dir, c := benchDriver(b)
	const stream = 4101
	pub, err := c.AddExclusivePublication(ctx(b), benchChannel, stream)
	if err != nil {
		b.Fatal(err)
	}
	sub, err := c.AddSubscription(ctx(b), benchChannel, stream+1)
	if err != nil {
		b.Fatal(err)
	}
	pong := startChild(b, "pong", dir, "STREAM="+strconv.Itoa(stream))
	pong.expect(b, "ready")
	eventually(b, "connected", func() bool { return pub.IsConnected() && sub.IsConnected() })
	msg := make([]byte, 32)
	rtt := latency.New()
	received := false
	h := func([]byte, *aeron.Header) { received = true }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		offerOrFail(b, pub, msg)
		received = false
		spins := 0
		for !received {
			if sub.Poll(h, benchFragmentLimit) == 0 {
				agent.SpinWait()
			}
			spins++
			if spins == 50_000_000 && c.Err() != nil || spins == 500_000_000 {
				r := c.Counters()
				r.ForEach(func(id, typeID int32, label string) { b.Logf("%d %d %q = %d", id, typeID, label, r.Value(id)) })
				for _, im := range sub.Images() {
					b.Logf("image %d pos %d", im.SessionID(), im.Position())
				}
				b.Fatalf("stuck at %d: pub pos %d lim %d", i, pub.Position(), pub.PositionLimit())
			}
		}
		rtt.Record(time.Since(start))
	}
	b.StopTimer()
	rtt.Report(b)
}
