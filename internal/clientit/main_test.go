package clientit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/proctest"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// The children's environment.
const (
	aeronEnv  = "TPOOL_CLIENTIT_AERON"
	baseEnv   = "TPOOL_CLIENTIT_BASE"
	driverEnv = "TPOOL_CLIENTIT_DRIVER" // tpoold's driver.Config, JSON
	argEnv    = "TPOOL_CLIENTIT_ARG"    // a role's arguments: "FRAMES PERIOD_US" for the producer
)

const (
	testStream = 10000
	frameBytes = 4096
	// Short intervals keep the tests quick; timeouts derive from them.
	announcePeriod    = 200 * time.Millisecond
	keepaliveInterval = 200 * time.Millisecond
)

func TestMain(m *testing.M) {
	proctest.RunRole(map[string]proctest.Role{"tpoold": runDriver, "producer": runProducer, "consumer": runConsumer,
		"peerproducer": runPeerProducer, "peerconsumer": runPeerConsumer})
	os.Exit(m.Run())
}

// env is one test's tpoold (a child with its embedded media driver) and
// directories.
type env struct {
	t        *testing.T
	aeronDir string // the media driver's, under /dev/shm
	base     string // tpoold's shm.base_dir: the clients' one allowed directory
	tpoold   *proctest.Child
}

func newEnv(t *testing.T) *env {
	t.Helper()
	shmDir, err := os.MkdirTemp("/dev/shm", "tpool-clientit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shmDir) })
	e := &env{t: t, aeronDir: filepath.Join(shmDir, "aeron"), base: filepath.Join(t.TempDir(), "shm")}
	cfg, err := json.Marshal(driverConfig(e.base))
	if err != nil {
		t.Fatal(err)
	}
	e.tpoold = proctest.TB(t, "tpoold", "AERON_DIR="+e.aeronDir, driverEnv+"="+string(cfg))
	e.tpoold.MustAwait(t, "ready")
	return e
}

// spawn starts a client role of this environment.
func (e *env) spawn(role, arg string) *proctest.Child {
	e.t.Helper()
	return proctest.TB(e.t, role, aeronEnv+"="+e.aeronDir, baseEnv+"="+e.base, argEnv+"="+arg)
}

// driverConfig is tpoold's: stream 10000 with 1024 slots of 4 KiB (a ring
// that holds 2 s of frames at 500 Hz), short intervals, the embedded media
// driver ($AERON_DIR).
func driverConfig(base string) driver.Config {
	c := driver.DefaultConfig()
	c.Driver.AeronDir = ""
	c.SHM.BaseDir = base
	c.Policies.AnnouncePeriod = announcePeriod
	c.Policies.LeaseKeepaliveInterval = keepaliveInterval
	c.Policies.PrefaultSHM = false
	c.Policies.ShutdownTimeout = 200 * time.Millisecond
	c.Profiles = []driver.Profile{{Name: "small", HeaderNslots: 1024, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: frameBytes}}}}
	c.Streams = []driver.StreamConfig{{Name: "s0", StreamID: testStream, Profile: "small"}}
	return c
}

func runDriver(ctx context.Context, _ <-chan proctest.Command) error {
	var cfg driver.Config
	if err := json.Unmarshal([]byte(os.Getenv(driverEnv)), &cfg); err != nil {
		return err
	}
	d, err := driver.Start(ctx, cfg, logger())
	if err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return d.Close()
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// clientConfig matches driverConfig.
func clientConfig(aeronDir, base string) client.Config {
	return client.Config{AeronDir: aeronDir, Driver: driverclient.Config{
		KeepaliveInterval: keepaliveInterval, AnnouncePeriod: announcePeriod,
		AttachTimeout: 2 * time.Second, RetryBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		AllowedBaseDirs: []string{base}}}
}

// The test pattern: byte i of frame seq.
func patternByte(seq uint64, i int) byte { return byte(seq*31 + uint64(i)) }

func fillPattern(b []byte, seq uint64) {
	for i := range b {
		b[i] = patternByte(seq, i)
	}
}

func intact(b []byte, seq uint64) bool {
	if len(b) != frameBytes {
		return false
	}
	for i, x := range b {
		if x != patternByte(seq, i) {
			return false
		}
	}
	return true
}

// runProducer attaches a producer to the test stream, reports "attached",
// waits for "go", writes FRAMES test-pattern frames of frameBytes, one
// every PERIOD_US microseconds (by TryClaim and Commit: the sequence
// number is known before filling), and reports "done" with what happened.
// Any error of an offer is counted, not retried.
func runProducer(ctx context.Context, cmds <-chan proctest.Command) error {
	var frames, periodUs int
	if _, err := fmt.Sscan(os.Getenv(argEnv), &frames, &periodUs); err != nil {
		return fmt.Errorf("arguments %q: %w", os.Getenv(argEnv), err)
	}
	c, err := client.New(ctx, clientConfig(os.Getenv(aeronEnv), os.Getenv(baseEnv)), logger())
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		return err
	}
	h, err := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, frameBytes)
	if err != nil {
		return err
	}
	fmt.Println("attached")
	for cmd := range cmds {
		if cmd.Is("go") {
			break
		}
	}
	var errs int
	var firstErr error
	next := time.Now()
	for range frames {
		next = next.Add(time.Duration(periodUs) * time.Microsecond)
		time.Sleep(time.Until(next))
		claim, err := p.TryClaim(&h)
		if err == nil {
			fillPattern(claim.Payload, claim.Seq)
			err = p.Commit(&claim)
		}
		if err != nil {
			errs++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	st := p.Stats()
	fmt.Printf("done frames=%d errors=%d paused=%d nosub=%d dropped=%d sent=%d first_err=%q\n",
		st.Frames, errs, st.Paused, st.NoSubscriber, st.DescriptorsDropped, st.DescriptorsSent, fmt.Sprint(firstErr))
	<-ctx.Done()
	return nil
}

// runConsumer attaches a consumer to the test stream, reports "attached"
// and polls, checking the test pattern of every frame it is handed. It
// reports "got N" every 100 frames and, on "stats", one line of its
// counters: "stats accepted=... corrupt=...".
func runConsumer(ctx context.Context, cmds <-chan proctest.Command) error {
	c, err := client.New(ctx, clientConfig(os.Getenv(aeronEnv), os.Getenv(baseEnv)), logger())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		return err
	}
	fmt.Println("attached")
	var good, corrupt uint64
	handler := func(f client.FrameView) {
		ok := intact(f.Payload(), f.Seq())
		if !f.Verify() {
			return // overwritten while read: counted as a drop, not accepted
		}
		if !ok {
			corrupt++
			fmt.Fprintf(os.Stderr, "corrupt frame seq %d epoch %d (%d bytes)\n", f.Seq(), f.Epoch(), len(f.Payload()))
			return
		}
		good++
		if good%100 == 0 {
			fmt.Printf("got %d\n", good)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case cmd := <-cmds:
			if cmd.Is("stats") {
				for s.Poll(handler) > 0 { // drain what has come
				}
				st, ds := s.Stats(), c.DriverClient().Stats()
				fmt.Printf("stats accepted=%d good=%d corrupt=%d descriptors=%d dropped=%d late=%d gap=%d unmapped=%d malformed=%d beforejoin=%d remaps=%d remaperrors=%d protoerrs=%d foreign=%d epochs=%d stale=%d epoch=%d\n",
					st.Accepted, good, corrupt, st.Descriptors, st.Dropped(), st.Late(), st.Gap, st.Unmapped, st.Malformed,
					st.BeforeJoin, st.Remaps, st.RemapErrors, ds.ProtocolErrors, ds.Foreign, ds.EpochChanges, st.Drops[pool.DropStale], s.Epoch())
			}
		default:
		}
		if s.Poll(handler) == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
}
