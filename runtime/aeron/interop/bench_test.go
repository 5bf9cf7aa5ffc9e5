package interop_test

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
	"github.com/tpool-go/tpool/runtime/agent"
)

// The benchmarks here run tpool's Go client through a media driver in a
// process of its own, the real C aeronmd or cmd/tpool-aeronmd, shaped like
// runtime/aeron's BenchmarkIPCThroughput and BenchmarkIPCPingPong (which
// run tpool's driver inside the publishing process): the benchmark process
// publishes (or pings) and a re-executed copy of the test binary subscribes
// (or pongs). docs/PERFORMANCE.md compares them with the C
// streaming_publisher/rate_subscriber and cping/cpong, whose loops they
// copy: polls of at most benchFragmentLimit fragments, and one busy-spin
// idle (a CPU pause) after an empty poll or a refused offer.

// benchFragmentLimit is the C samples' DEFAULT_FRAGMENT_COUNT_LIMIT.
const benchFragmentLimit = 10

// benchChannel matches runtime/aeron's benchmarks and the C runs in
// docs/PERFORMANCE.md.
const benchChannel = "aeron:ipc?term-length=16m"

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
	driver{"tpool-aeronmd-sleep10ms", func(t testing.TB, dir string) { startTpoolAeronmdWith(t, dir, "-idle", "sleep:10ms") }})

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
	env = append(env, roleEnv+"="+role, "AERON_DIR="+dir)
	p := startProcess(b, role, []string{os.Args[0], "-test.run=^$"}, env...)
	p.waitFor(b, "ready", prefix("ready"))
	return p
}

// runRole runs a benchmark peer in a child process.
func runRole(role string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := aeron.Connect(ctx, aeron.Config{Dir: os.Getenv("AERON_DIR")})
	if err != nil {
		return err
	}
	defer c.Close()
	stream, err := strconv.Atoi(os.Getenv("STREAM"))
	if err != nil {
		return fmt.Errorf("STREAM: %w", err)
	}
	sub, err := c.AddSubscription(ctx, benchChannel, int32(stream))
	if err != nil {
		return err
	}
	switch role {
	case "sink":
		want, err := strconv.Atoi(os.Getenv("COUNT"))
		if err != nil {
			return fmt.Errorf("COUNT: %w", err)
		}
		fmt.Println("ready")
		got := 0
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
	case "pong":
		pub, err := c.AddExclusivePublication(ctx, benchChannel, int32(stream+1))
		if err != nil {
			return err
		}
		fmt.Println("ready")
		var idle agent.BusySpin
		h := func(buf []byte, _ *aeron.Header) {
			for r := pub.Offer(buf); r < 0 && r != aeron.Closed; r = pub.Offer(buf) {
				idle.Idle(0)
			}
		}
		for ctx.Err() == nil && !pub.IsClosed() {
			idle.Idle(sub.Poll(h, benchFragmentLimit))
			select {
			case <-c.Done():
				return c.Err()
			default:
			}
		}
		return nil
	}
	return fmt.Errorf("unknown role %q", role)
}

func offerOrFail(b *testing.B, p *aeron.Publication, msg []byte) {
	for r := p.Offer(msg); r < 0; r = p.Offer(msg) {
		if r == aeron.Closed || r == aeron.MaxPositionExceeded || r == aeron.MessageTooLong {
			b.Fatalf("offer: %s", aeron.StatusString(r))
		}
		agent.SpinWait()
	}
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
	msg := make([]byte, size)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		offerOrFail(b, pub, msg)
	}
	sink.waitFor(b, "received", prefix("received"))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
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
	msg := make([]byte, 32)
	rtt := latency.New()
	received := false
	h := func([]byte, *aeron.Header) { received = true }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		offerOrFail(b, pub, msg)
		received = false
		deadline := start.Add(testTimeout)
		for spins := 0; !received; spins++ {
			if sub.Poll(h, benchFragmentLimit) == 0 {
				agent.SpinWait()
			}
			if spins%(1<<20) == 0 && time.Now().After(deadline) {
				b.Fatalf("no pong within %v (client: %v)", testTimeout, c.Err())
			}
		}
		rtt.Record(time.Since(start))
	}
	b.StopTimer()
	rtt.Report(b)
}
