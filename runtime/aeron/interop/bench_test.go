package interop_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/aeronbench"
)

// The benchmarks here run tpool's Go client through a media driver in a
// process of its own, the real C aeronmd or cmd/tpool-aeronmd, shaped like
// runtime/aeron's BenchmarkIPCThroughput and BenchmarkIPCPingPong (which
// run tpool's driver inside the publishing process): the benchmark process
// publishes (or pings) and a re-executed copy of the test binary subscribes
// (or pongs). docs/PERFORMANCE.md compares them with the C
// streaming_publisher/rate_subscriber and cping/cpong, whose loops
// internal/aeronbench copies.

const benchChannel = aeronbench.Channel

// benchDrivers are the drivers the benchmarks run through. The C driver
// runs one shared thread with the default backoff idle strategy, as
// tpool's driver does: on IPC the driver is off the data path (it only
// moves publisher limits), and on two cores a busy-spinning driver would
// take a core from the publisher or subscriber.
var benchDrivers = []driver{
	{"aeronmd", func(t testing.TB, dir string) { startAeronmd(t, dir, "-Daeron.threading.mode=SHARED") }},
	tpoolAeronmd,
}

// pingPongDrivers adds tpool's driver with -idle sleep:10ms, which wakes
// less often than the backoff and so disturbs the spinning ping and pong
// less on a machine with few cores (docs/PERFORMANCE.md). It is not for
// streaming: a driver asleep for 10 ms holds a fast publisher at its limit.
var pingPongDrivers = append(benchDrivers[:len(benchDrivers):len(benchDrivers)],
	driver{"tpool-aeronmd-sleep10ms", func(t testing.TB, dir string) { startTpoolAeronmd(t, dir, "-idle", "sleep:10ms") }})

// benchDir is an Aeron directory in /dev/shm when it exists (log buffers in
// memory, as with a default Aeron install), else under the test's temp dir.
func benchDir(b *testing.B) string {
	b.Helper()
	parent := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "tpool-interop-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(d) })
		parent = d
	}
	return filepath.Join(parent, "aeron")
}

// startBenchPeer re-executes the test binary in a role (see runRole) and
// waits until it says it is ready.
func startBenchPeer(b *testing.B, role, dir string, env ...string) *process {
	b.Helper()
	env = append(env, roleEnv+"="+role, watchStdinEnv+"=1", "AERON_DIR="+dir)
	p := startProcess(b, role, []string{os.Args[0], "-test.run=^$"}, env...)
	p.waitFor(b, "ready", prefix("ready"))
	return p
}

// runRole runs a benchmark peer in a child process.
func runRole(role string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := os.Getenv("AERON_DIR")
	stream, err := strconv.Atoi(os.Getenv("STREAM"))
	if err != nil {
		return fmt.Errorf("STREAM: %w", err)
	}
	switch role {
	case "sink":
		count, err := strconv.Atoi(os.Getenv("COUNT"))
		if err != nil {
			return fmt.Errorf("COUNT: %w", err)
		}
		return aeronbench.RunSink(ctx, dir, int32(stream), count, os.Stdout)
	case "pong":
		return aeronbench.RunPong(ctx, dir, int32(stream), os.Stdout)
	case "claimer":
		count, err := strconv.Atoi(os.Getenv("COUNT"))
		if err != nil {
			return fmt.Errorf("COUNT: %w", err)
		}
		return runClaimer(ctx, dir, int32(stream), count)
	}
	return fmt.Errorf("unknown role %q", role)
}

// BenchmarkDriverIPCThroughput: messages per second from a Go publisher
// to a Go subscriber in another process, through a driver process; the
// clock stops when the subscriber has every message.
func BenchmarkDriverIPCThroughput(b *testing.B) {
	for _, d := range benchDrivers {
		for _, kind := range []string{"concurrent", "exclusive"} {
			for _, size := range []int{32, 256} {
				b.Run(d.name+"/"+kind+"/"+strconv.Itoa(size)+"B", func(b *testing.B) {
					benchThroughput(b, d, kind == "exclusive", size)
				})
			}
		}
	}
}

func benchThroughput(b *testing.B, d driver, exclusive bool, size int) {
	dir := benchDir(b)
	d.start(b, dir)
	c := connect(b, dir)
	const stream = 4001
	add := c.AddPublication
	if exclusive {
		add = c.AddExclusivePublication
	}
	pub, err := add(ctx(b), benchChannel, stream)
	if err != nil {
		b.Fatal(err)
	}
	sink := startBenchPeer(b, "sink", dir, "STREAM="+strconv.Itoa(stream), "COUNT="+strconv.Itoa(b.N))
	eventually(b, "the sink to connect", pub.IsConnected)
	aeronbench.Stream(b, pub, size, func() { sink.waitFor(b, "received", prefix("received")) })
}

// BenchmarkDriverIPCPingPong: round trips of 32-byte messages between a
// Go ping and a Go pong in another process, through a driver process, with
// percentiles from an HdrHistogram (internal/latency).
func BenchmarkDriverIPCPingPong(b *testing.B) {
	for _, d := range pingPongDrivers {
		b.Run(d.name, func(b *testing.B) { benchPingPong(b, d) })
	}
}

func benchPingPong(b *testing.B, d driver) {
	dir := benchDir(b)
	d.start(b, dir)
	c := connect(b, dir)
	const stream = 4101
	pub, err := c.AddExclusivePublication(ctx(b), benchChannel, stream)
	if err != nil {
		b.Fatal(err)
	}
	sub, err := c.AddSubscription(ctx(b), benchChannel, stream+1)
	if err != nil {
		b.Fatal(err)
	}
	startBenchPeer(b, "pong", dir, "STREAM="+strconv.Itoa(stream))
	eventually(b, "ping and pong to connect", func() bool { return pub.IsConnected() && sub.IsConnected() })
	aeronbench.PingPong(b, pub, sub, func(i int) {
		b.Fatalf("no pong for round trip %d (client: %v)", i, c.Err())
	})
}
