package client_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// testTimeout turns a hang into a failure; it is not a speed assertion.
const testTimeout = 60 * time.Second

const testStream = 10000

type env struct {
	t        testing.TB
	aeronDir string
	base     string
	md       *mediadriver.Driver
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, aeronDir: filepath.Join(dir, "aeron"), base: filepath.Join(dir, "shm")}
	var err error
	e.md, err = mediadriver.Start(mediadriver.Config{Dir: e.aeronDir, ClientLivenessTimeout: 2 * time.Second,
		PublicationLinger: 20 * time.Millisecond, TimerInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.md.Close() })
	return e
}

func (e *env) driverConfig() driver.Config {
	c := driver.DefaultConfig()
	c.Driver.AeronDir = e.aeronDir
	c.SHM.BaseDir = e.base
	c.Policies.AnnouncePeriod = 200 * time.Millisecond
	c.Policies.LeaseKeepaliveInterval = 200 * time.Millisecond
	c.Policies.PrefaultSHM = false
	c.Policies.ShutdownTimeout = 200 * time.Millisecond
	c.Profiles = []driver.Profile{{Name: "default", HeaderNslots: 64, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: 1 << 16}}}}
	return c
}

func (e *env) startDriver() *driver.Driver {
	e.t.Helper()
	d, err := driver.Start(testCtx(e.t), e.driverConfig(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = d.Close() })
	return d
}

func (e *env) clientConfig(invoker bool) client.Config {
	return client.Config{AeronDir: e.aeronDir, Invoker: invoker, Driver: driverclient.Config{
		KeepaliveInterval: 200 * time.Millisecond, AnnouncePeriod: 200 * time.Millisecond,
		AttachTimeout: 2 * time.Second, RetryBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		AllowedBaseDirs: []string{e.base}}}
}

func (e *env) newClient(invoker bool) *client.Client {
	e.t.Helper()
	c, err := client.New(testCtx(e.t), e.clientConfig(invoker), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if err := c.Close(); err != nil {
			e.t.Errorf("close: %v", err)
		}
	})
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// The test pattern: element i of frame seq is uint16(seq*7 + i).
func fill(v []uint16, seq uint64) {
	for i := range v {
		v[i] = uint16(seq*7 + uint64(i))
	}
}

func intact(v []uint16, seq uint64) bool {
	for i, x := range v {
		if x != uint16(seq*7+uint64(i)) {
			return false
		}
	}
	return true
}

// checker counts what a consumer's handler saw.
type checker struct {
	t               testing.TB
	good, bad, torn int
	last            uint64
}

func (c *checker) handle(f client.FrameView) {
	v, err := client.FrameAs[uint16](f)
	ok := false
	if err == nil {
		flat, dense := v.Flat()
		ok = dense && intact(flat, f.Seq())
	}
	switch {
	case !f.Verify():
		c.torn++
	case ok:
		c.good++
		c.last = f.Seq()
	default:
		c.bad++
	}
}

func TestRoundTrip(t *testing.T) {
	const frames = 200
	h, err := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 48, 64)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 48*64*2)
	for _, tc := range []struct {
		name    string
		invoker bool
		claim   bool // TryClaim/Commit, else OfferFrame
		pull    bool // Next, else Poll
	}{
		{"offer-poll", false, false, false},
		{"claim-next", false, true, true},
		{"invoker-offer-next", true, false, true},
		{"invoker-claim-poll", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.startDriver()
			c := e.newClient(tc.invoker)
			ctx := testCtx(t)
			prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
			if err != nil {
				t.Fatal(err)
			}
			cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
			if err != nil {
				t.Fatal(err)
			}
			if prod.Epoch() == 0 || prod.Epoch() != cons.Epoch() {
				t.Fatalf("producer epoch %d, consumer epoch %d", prod.Epoch(), cons.Epoch())
			}
			chk := &checker{t: t}
			for i := uint64(0); i < frames; i++ {
				if tc.claim {
					cl, err := prod.TryClaim(&h)
					if err != nil {
						t.Fatal(err)
					}
					v, err := client.ClaimView[uint16](&cl)
					if err != nil {
						t.Fatal(err)
					}
					flat, _ := v.Flat()
					fill(flat, cl.Seq)
					cl.Meta.MetaVersion = 3
					if err := prod.Commit(&cl); err != nil {
						t.Fatal(err)
					}
				} else {
					v, _ := pool.NewView[uint16](payload, &h)
					flat, _ := v.Flat()
					fill(flat, i)
					seq, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h, MetaVersion: 3, TimestampNs: pool.MonotonicNow()})
					if err != nil || seq != i {
						t.Fatalf("offer %d: seq %d, %v", i, seq, err)
					}
				}
				// One frame in flight at a time: every frame must arrive.
				if tc.pull {
					f, err := cons.Next(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if f.Seq() != i || f.MetaVersion() != 3 {
						t.Fatalf("frame %d: got seq %d meta %d", i, f.Seq(), f.MetaVersion())
					}
					chk.handle(f)
				} else {
					for chk.good+chk.bad+chk.torn <= int(i) {
						if ctx.Err() != nil {
							t.Fatal("no frame", i)
						}
						cons.Poll(chk.handle)
						if tc.invoker {
							c.DoWork()
						}
					}
				}
			}
			if tc.pull { // close out the last frame handed out by Next
				cons.Poll(nil)
			}
			st := cons.Stats()
			if chk.good != frames || chk.bad != 0 || chk.torn != 0 || st.Accepted != frames || st.Dropped() != 0 || st.Gap != 0 {
				t.Fatalf("good %d bad %d torn %d; stats %+v", chk.good, chk.bad, chk.torn, st)
			}
			if ps := prod.Stats(); ps.Frames != frames || ps.DescriptorsSent != frames || ps.Remaps != 1 {
				t.Fatalf("producer stats %+v", ps)
			}
			if err := prod.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h}); !errors.Is(err, client.ErrClosed) {
				t.Fatalf("offer after close: %v", err)
			}
		})
	}
}

// A consumer that attaches before any producer maps the stream's first
// epoch, then remaps to the producer's and receives its frames.
func TestConsumerBeforeProducer(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	cc := e.newClient(false)
	pc := e.newClient(false)
	ctx := testCtx(t)
	cons, err := cc.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	first := cons.Epoch()
	prod, err := pc.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 100)
	payload := make([]byte, 200)
	chk := &checker{t: t}
	for seq := uint64(0); chk.good < 50; seq++ {
		if ctx.Err() != nil {
			t.Fatalf("timed out: %+v", cons.Stats())
		}
		v, _ := pool.NewView[uint16](payload, &h)
		flat, _ := v.Flat()
		fill(flat, seq)
		if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h}); err != nil {
			t.Fatal(err)
		}
		cons.Poll(chk.handle)
		time.Sleep(time.Millisecond)
	}
	st := cons.Stats()
	if chk.bad != 0 || cons.Epoch() != prod.Epoch() || st.Remaps < 1 {
		t.Fatalf("bad %d, consumer epoch %d (first %d), producer %d, stats %+v", chk.bad, cons.Epoch(), first, prod.Epoch(), st)
	}
	t.Logf("first epoch %d, producer epoch %d, stats %+v", first, prod.Epoch(), st)
}

// Restarting the driver: the producer pauses (ErrPaused), reattaches to a
// new epoch and resumes; the consumer remaps; every accepted frame is intact.
func TestDriverRestart(t *testing.T) {
	e := newEnv(t)
	d := e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 64)
	payload := make([]byte, 128)
	chk := &checker{t: t}
	seq := uint64(0)
	offer := func() error {
		v, _ := pool.NewView[uint16](payload, &h)
		flat, _ := v.Flat()
		fill(flat, seq)
		s, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h})
		if err == nil {
			if s != seq {
				t.Fatalf("offer: seq %d, want %d", s, seq)
			}
			seq++
		}
		cons.Poll(chk.handle)
		time.Sleep(time.Millisecond)
		return err
	}
	for chk.good < 20 {
		if err := offer(); err != nil {
			t.Fatal(err)
		}
	}
	epoch1 := prod.Epoch()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	paused := false
	for !paused {
		if ctx.Err() != nil {
			t.Fatal("producer never paused")
		}
		if err := offer(); errors.Is(err, client.ErrPaused) {
			paused = true
		} else if err != nil {
			t.Fatal(err)
		}
	}
	e.startDriver()
	// The new epoch's sequence starts again at 0.
	seq = 0
	good := chk.good
	for chk.good < good+20 {
		if ctx.Err() != nil {
			t.Fatalf("no frames after the restart: %+v %+v", cons.Stats(), prod.Stats())
		}
		if err := offer(); err != nil && !errors.Is(err, client.ErrPaused) {
			t.Fatal(err)
		}
	}
	if prod.Epoch() <= epoch1 || cons.Epoch() != prod.Epoch() || chk.bad != 0 {
		t.Fatalf("epochs %d -> %d, consumer %d, bad %d", epoch1, prod.Epoch(), cons.Epoch(), chk.bad)
	}
	t.Logf("producer %+v consumer %+v", prod.Stats(), cons.Stats())
}
