package aeron_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/aeronbench"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// Benchmarks between two processes: the parent runs the driver and
// publishes (or pings); a re-executed child subscribes (or pongs). The
// loops are internal/aeronbench's, shaped like the C samples they are
// compared with; runtime/aeron/interop runs the same loops through a driver
// process of its own.

var benchRoles = map[string]func(context.Context, string) error{
	"sink": func(ctx context.Context, dir string) error {
		return aeronbench.RunSink(ctx, dir, int32(envInt("STREAM")), envInt("COUNT"), os.Stdout)
	},
	"pong": func(ctx context.Context, dir string) error {
		return aeronbench.RunPong(ctx, dir, int32(envInt("STREAM")), os.Stdout)
	},
}

const benchChannel = aeronbench.Channel

func benchDriver(b *testing.B) (string, *aeron.Client) {
	dir := filepath.Join(b.TempDir(), "aeron")
	d, err := mediadriver.Start(mediadriver.Config{Dir: dir, TimerInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	return dir, connect(b, dir)
}

// BenchmarkIPCThroughput: messages per second from a publisher (concurrent
// or exclusive: compare with the C streaming_publisher and
// streaming_exclusive_publisher) to a subscriber in another process; the
// clock stops when the subscriber has every message.
func BenchmarkIPCThroughput(b *testing.B) {
	for _, kind := range publishKinds {
		for _, size := range []int{32, 256} {
			b.Run(kind.name+"/"+strconv.Itoa(size)+"B", func(b *testing.B) {
				dir, c := benchDriver(b)
				const stream = 4001
				pub, err := kind.add(c, ctx(b), benchChannel, stream)
				if err != nil {
					b.Fatal(err)
				}
				sink := startChild(b, "sink", dir, "STREAM="+strconv.Itoa(stream), "COUNT="+strconv.Itoa(b.N))
				sink.expect(b, "ready")
				eventually(b, "connected", pub.IsConnected)
				aeronbench.Stream(b, pub, size, func() { sink.expect(b, "received") })
			})
		}
	}
}

// BenchmarkIPCPingPong: round trips of 32-byte messages to a pong in another
// process, with percentiles from an HdrHistogram (internal/latency).
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
	aeronbench.PingPong(b, pub, sub, func(i int) {
		r := c.Counters()
		r.ForEach(func(id, typeID int32, label string) { b.Logf("%d %d %q = %d", id, typeID, label, r.Value(id)) })
		for _, im := range sub.Images() {
			b.Logf("image %d pos %d", im.SessionID(), im.Position())
		}
		b.Fatalf("stuck at round trip %d: pub pos %d lim %d (client: %v)", i, pub.Position(), pub.PositionLimit(), c.Err())
	})
}
