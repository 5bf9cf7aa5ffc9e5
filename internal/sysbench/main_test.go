package sysbench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/internal/latency"
	"github.com/tpool-go/tpool/internal/proctest"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// The children's environment.
const (
	aeronEnv  = "TPOOL_SYSBENCH_AERON"
	baseEnv   = "TPOOL_SYSBENCH_BASE"
	driverEnv = "TPOOL_SYSBENCH_DRIVER" // tpoold's driver.Config, JSON
	// profileEnv, set when running the benchmarks, names a file for the
	// consumer process's CPU profile.
	profileEnv = "TPOOL_SYSBENCH_CONSUMER_CPUPROFILE"
)

// frameSize is one measured frame size: its stream, descriptor stream and
// ring (slots of the smallest power-of-two stride that holds it).
type frameSize struct {
	name   string
	bytes  int
	stream uint32
	desc   int32
	slots  uint32
	stride uint32
}

var sizes = []frameSize{
	{"4KiB", 4 << 10, 10001, 1101, 1024, 4 << 10},
	{"64KiB", 64 << 10, 10002, 1102, 256, 64 << 10},
	{"640KiB", 640 << 10, 10003, 1103, 64, 1 << 20},
	{"4MiB", 4 << 20, 10004, 1104, 16, 4 << 20},
}

func sizeNamed(name string) frameSize {
	for _, s := range sizes {
		if s.name == name {
			return s
		}
	}
	panic(name)
}

// The raw-Aeron and descriptor-path streams.
const (
	rawStream  = 2001
	descStream = 2002
)

func TestMain(m *testing.M) {
	proctest.RunRole(map[string]proctest.Role{"tpoold": runDriver, "consumer": runConsumer})
	code := m.Run()
	stopSystem()
	os.Exit(code)
}

// driverConfig is tpoold's configuration: one stream per frame size, its
// embedded media driver (driver.aeron_dir empty: $AERON_DIR), regions
// prefaulted.
func driverConfig(base string) driver.Config {
	c := driver.DefaultConfig()
	c.Driver.AeronDir = ""
	c.SHM.BaseDir = base
	c.Policies.PrefaultSHM = true
	c.Policies.ShutdownTimeout = 200 * time.Millisecond
	c.Profiles, c.Streams = nil, nil
	for _, s := range sizes {
		c.Profiles = append(c.Profiles, driver.Profile{Name: s.name, HeaderNslots: s.slots,
			PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: s.stride}}})
		c.Streams = append(c.Streams, driver.StreamConfig{Name: s.name, StreamID: s.stream, Profile: s.name})
	}
	return c
}

// runDriver is tpoold: the driver engine and its embedded media driver.
func runDriver(ctx context.Context, _ <-chan proctest.Command) error {
	var cfg driver.Config
	if err := json.Unmarshal([]byte(os.Getenv(driverEnv)), &cfg); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := driver.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return d.Close()
}

// clientConfig is a client of the system for frames of size s.
func clientConfig(aeronDir, base string, desc int32) client.Config {
	return client.Config{AeronDir: aeronDir, DescriptorStreamID: desc,
		Driver: driverclient.Config{AllowedBaseDirs: []string{base}}}
}

// system is tpoold and the consumer process, started once for every
// benchmark of the run and stopped by TestMain.
type system struct {
	dir, aeronDir, base string
	tpoold, cons        *proctest.Child
	clients             map[uint32]*client.Client
	producers           map[uint32]*client.Producer
	aeron               *aeron.Client
	pubs                map[int32]*aeron.Publication
}

var (
	sysMu  sync.Mutex
	sys    *system
	sysErr error
)

// getSystem starts the system on first use.
func getSystem(tb testing.TB) *system {
	tb.Helper()
	sysMu.Lock()
	defer sysMu.Unlock()
	if sys == nil && sysErr == nil {
		sys, sysErr = startSystem()
	}
	if sysErr != nil {
		tb.Fatal(sysErr)
	}
	return sys
}

func startSystem() (_ *system, err error) {
	dir, err := os.MkdirTemp("/dev/shm", "tpool-sysbench-")
	if err != nil {
		return nil, err
	}
	s := &system{dir: dir, aeronDir: filepath.Join(dir, "aeron"), base: filepath.Join(dir, "shm"),
		clients: map[uint32]*client.Client{}, producers: map[uint32]*client.Producer{}, pubs: map[int32]*aeron.Publication{}}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	cfg, err := json.Marshal(driverConfig(s.base))
	if err != nil {
		return nil, err
	}
	if s.tpoold, err = proctest.Start(nil, "tpoold", nil, "AERON_DIR="+s.aeronDir, driverEnv+"="+string(cfg)); err != nil {
		return nil, err
	}
	if _, err := s.tpoold.Await("ready"); err != nil {
		return nil, err
	}
	if s.cons, err = proctest.Start(nil, "consumer", nil, aeronEnv+"="+s.aeronDir, baseEnv+"="+s.base); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Timeout)
	defer cancel()
	if s.aeron, err = aeron.Connect(ctx, aeron.Config{Dir: s.aeronDir}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *system) stop() {
	for _, p := range s.producers {
		_ = p.Close()
	}
	for _, c := range s.clients {
		_ = c.Close()
	}
	for _, p := range s.pubs {
		_ = p.Close()
	}
	if s.aeron != nil {
		_ = s.aeron.Close()
	}
	if s.cons != nil {
		s.cons.Stop()
	}
	if s.tpoold != nil {
		s.tpoold.Stop()
	}
	for name, m := range copyRings {
		_ = m.Close()
		delete(copyRings, name)
	}
	_ = os.RemoveAll(s.dir)
}

func stopSystem() {
	sysMu.Lock()
	defer sysMu.Unlock()
	if sys != nil {
		sys.stop()
		sys = nil
	}
}

// producer returns the producer of size fs, attaching it (and the
// consumer's consumer) on first use and warming the path up until
// descriptors reach the consumer.
func (s *system) producer(tb testing.TB, fs frameSize) *client.Producer {
	tb.Helper()
	if p, ok := s.producers[fs.stream]; ok {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Timeout)
	defer cancel()
	if err := s.cons.Send("attach %d %d", fs.stream, fs.desc); err != nil {
		tb.Fatal(err)
	}
	s.cons.MustAwait(tb, "attached")
	c, err := client.New(ctx, clientConfig(s.aeronDir, s.base, fs.desc), nil)
	if err != nil {
		tb.Fatal(err)
	}
	s.clients[fs.stream] = c
	p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: fs.stream})
	if err != nil {
		tb.Fatal(err)
	}
	s.producers[fs.stream] = p
	// Until the descriptor publication sees the consumer's subscription,
	// descriptors are not sent (NoSubscriber).
	payload := make([]byte, fs.bytes)
	meta := frameMeta(tb, fs)
	for p.Stats().DescriptorsSent < 2*uint64(fs.slots) {
		if _, err := p.OfferFrame(payload, &meta); err != nil {
			tb.Fatal(err)
		}
		if ctx.Err() != nil {
			tb.Fatal("descriptors never reached the consumer")
		}
		if p.Stats().DescriptorsSent == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return p
}

func frameMeta(tb testing.TB, fs frameSize) pool.FrameMeta {
	h, err := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, int32(fs.bytes))
	if err != nil {
		tb.Fatal(err)
	}
	return pool.FrameMeta{Tensor: h}
}

// publication returns a raw publication on stream (DefaultChannel).
func (s *system) publication(tb testing.TB, stream int32) *aeron.Publication {
	tb.Helper()
	if p, ok := s.pubs[stream]; ok {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Timeout)
	defer cancel()
	p, err := s.aeron.AddPublication(ctx, client.DefaultChannel, stream)
	if err != nil {
		tb.Fatal(err)
	}
	s.pubs[stream] = p
	return p
}

// result is the consumer's report of one run.
type result struct {
	descriptors, accepted, late, dropped, gap, mallocs uint64
	threads                                            uint64 // OS threads the runtime started meanwhile
	timeout                                            bool
	latencies                                          uint64
	p50, p99, p999, max                                time.Duration
}

func parseResult(tb testing.TB, line string) result {
	tb.Helper()
	ns := func(k string) time.Duration { return time.Duration(proctest.Uint(tb, line, k)) }
	return result{descriptors: proctest.Uint(tb, line, "descriptors"), accepted: proctest.Uint(tb, line, "accepted"),
		late: proctest.Uint(tb, line, "late"), dropped: proctest.Uint(tb, line, "dropped"), gap: proctest.Uint(tb, line, "gap"),
		mallocs: proctest.Uint(tb, line, "mallocs"), threads: proctest.Uint(tb, line, "threads"), timeout: proctest.Uint(tb, line, "timeout") != 0,
		latencies: proctest.Uint(tb, line, "latencies"),
		p50:       ns("p50"), p99: ns("p99"), p999: ns("p999"), max: ns("max")}
}

// Idle strategies of the consumer's wait loop ("run" argument 2).
const (
	idleBackoff = 0 // the client's default (spin, yield, park up to 1 ms)
	idleSpin    = 1 // busy spin
)

// runConsumer is the consumer process. Commands:
//
//	attach STREAM DESC   a Client (descriptor stream DESC) and a Consumer
//	                     of STREAM; reports "attached"
//	run STREAM N IDLE    drains what is queued, then reports "marked" and
//	                     consumes until N more descriptors of STREAM came
//	                     (or none for 5 s; "expect N" meanwhile lowers N
//	                     to the descriptors the producer did send), then
//	                     reports "done" with the
//	                     counts, its allocations, the OS threads the Go
//	                     runtime started meanwhile and the commit-to-handler
//	                     latencies of frames that carry a timestamp
//	sink MODE STREAM N   subscribes to STREAM (DefaultChannel), reports
//	                     "marked", reads N messages (MODE 0: count them;
//	                     1: decode each as a FrameDescriptor) and reports
//	                     "done"
func runConsumer(ctx context.Context, cmds <-chan proctest.Command) error {
	aeronDir, base := os.Getenv(aeronEnv), os.Getenv(baseEnv)
	if path := os.Getenv(profileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	type stream struct {
		c *client.Client
		s *client.Consumer
	}
	streams := map[int64]*stream{}
	defer func() {
		for _, st := range streams {
			_ = st.s.Close()
			_ = st.c.Close()
		}
	}()
	a, err := aeron.Connect(ctx, aeron.Config{Dir: aeronDir})
	if err != nil {
		return err
	}
	defer a.Close()
	subs := map[int64]*aeron.Subscription{}

	rec := latency.New()
	var recording bool
	handler := func(f client.FrameView) {
		if ts := f.TimestampNs(); ts != 0 && recording {
			rec.Record(time.Duration(pool.MonotonicNow() - ts))
		}
	}
	var ms runtime.MemStats
	mallocs := func() uint64 { runtime.ReadMemStats(&ms); return ms.Mallocs }

	for {
		var cmd proctest.Command
		select {
		case <-ctx.Done():
			return nil
		case cmd = <-cmds:
		}
		switch {
		case cmd.Is("attach"):
			c, err := client.New(ctx, clientConfig(aeronDir, base, int32(cmd.Arg(1))), nil)
			if err != nil {
				return err
			}
			s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: uint32(cmd.Arg(0))})
			if err != nil {
				_ = c.Close()
				return err
			}
			streams[cmd.Arg(0)] = &stream{c, s}
			fmt.Println("attached")
		case cmd.Is("run"):
			st := streams[cmd.Arg(0)]
			if st == nil {
				return fmt.Errorf("run: stream %d not attached", cmd.Arg(0))
			}
			n := uint64(cmd.Arg(1))
			var idle agent.IdleStrategy = agent.NewBackoff()
			if cmd.Arg(2) == idleSpin {
				idle = agent.BusySpin{}
			}
			for quiet := 0; quiet < 100; quiet++ { // drain the warm-up's leftovers
				if st.s.Poll(handler) > 0 {
					quiet = 0
				}
			}
			rec = latency.New()
			recording = true
			s0 := st.s.Stats()
			fmt.Println("marked") // before counting: printing allocates
			m0, t0 := mallocs(), proctest.ThreadsCreated()
			last, lastAt := s0.Descriptors, time.Now()
			timeout := false
			for i := 0; ; i++ {
				w := st.s.Poll(handler)
				if w == 0 || i%64 == 0 {
					select { // the producer dropped some: expect fewer
					case c := <-cmds:
						if c.Is("expect") {
							n = uint64(c.Arg(0))
						}
					default:
					}
					d := st.s.Stats().Descriptors
					if d-s0.Descriptors >= n {
						break
					}
					if d != last {
						last, lastAt = d, time.Now()
					} else if w == 0 && time.Since(lastAt) > 5*time.Second {
						timeout = true
						break
					}
				}
				idle.Idle(w)
			}
			m1, t1 := mallocs(), proctest.ThreadsCreated()
			recording = false
			s1 := st.s.Stats()
			tb := 0
			if timeout {
				tb = 1
			}
			fmt.Printf("done descriptors=%d accepted=%d late=%d dropped=%d gap=%d mallocs=%d threads=%d timeout=%d latencies=%d p50=%d p99=%d p999=%d max=%d\n",
				s1.Descriptors-s0.Descriptors, s1.Accepted-s0.Accepted, s1.Late()-s0.Late(), s1.Dropped()-s0.Dropped(),
				s1.Gap-s0.Gap, m1-m0, t1-t0, tb, rec.Count(), rec.Percentile(50), rec.Percentile(99), rec.Percentile(99.9), rec.Percentile(100))
		case cmd.Is("sink"):
			mode, id, n := cmd.Arg(0), cmd.Arg(1), cmd.Arg(2)
			sub := subs[id]
			if sub == nil {
				if sub, err = a.AddSubscription(ctx, client.DefaultChannel, int32(id)); err != nil {
					return err
				}
				subs[id] = sub
			}
			var count, bad int64
			var dec wire.FrameDescriptorDecoder
			var fh aeron.FragmentHandler
			if mode == 0 {
				fh = func(buf []byte, _ *aeron.Header) { count++ }
			} else {
				fh = func(buf []byte, _ *aeron.Header) {
					count++
					if dec.WrapWithHeader(buf) != nil || dec.StreamId() != 1 || dec.Seq() == ^uint64(0) || dec.Epoch() != 1 {
						bad++
					}
				}
			}
			fmt.Println("marked")
			m0 := mallocs()
			for count < n && ctx.Err() == nil {
				if sub.Poll(fh, 10) == 0 {
					agent.SpinWait()
				}
			}
			m1 := mallocs()
			fmt.Printf("done count=%d bad=%d mallocs=%d\n", count, bad, m1-m0)
		default:
			return fmt.Errorf("unknown command %q", cmd.Verb())
		}
	}
}
