package client_test

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// resources counts what the process holds: goroutines, open file
// descriptors, and mappings of files under dirs.
type resources struct{ goroutines, fds, maps int }

func countResources(t *testing.T, dirs ...string) resources {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		n += strings.Count(string(b), " "+d+"/")
	}
	return resources{runtime.NumGoroutine(), len(fds), n}
}

// The media driver (with tpoold's engine) stops and starts again in the
// same Aeron directory, three times, while a producer (its client in
// invoker mode) and a consumer (its own goroutines) stream. Each time both
// clients notice the loss, fail closed, reconnect to the new media driver
// by themselves, reattach at a higher epoch and continue; every frame the
// consumer accepts is intact. After the last round the process holds no
// more goroutines, descriptors or mappings than after the first.
func TestMediaDriverRestartReconnects(t *testing.T) {
	const rounds = 3
	e := newEnv(t)
	mdCfg := mediadriver.Config{Dir: e.aeronDir, ClientLivenessTimeout: 2 * time.Second,
		PublicationLinger: 20 * time.Millisecond, TimerInterval: 10 * time.Millisecond}
	d := e.startDriver()
	pc := e.newClient(true)
	cc := e.newClient(false)
	ctx := testCtx(t)
	var lost, back int
	prod, err := pc.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := cc.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 64)
	payload := make([]byte, 128)
	chk := &checker{t: t}
	offer := func() error {
		pc.DoWork()
		// Sequences restart in every epoch: fill from the claimed one.
		cl, err := prod.TryClaim(&h)
		if err == nil {
			v, _ := client.ClaimView[uint16](&cl)
			flat, _ := v.Flat()
			fill(flat, cl.Seq)
			err = prod.Commit(&cl)
		}
		cons.Poll(chk.handle)
		time.Sleep(time.Millisecond)
		return err
	}
	stream := func(n int) {
		t.Helper()
		good := chk.good
		for chk.good < good+n {
			if ctx.Err() != nil {
				t.Fatalf("no frames: consumer %+v producer %+v", cons.Stats(), prod.Stats())
			}
			if err := offer(); err != nil && !errors.Is(err, client.ErrPaused) && !errors.Is(err, client.ErrClaimLost) {
				t.Fatal(err)
			}
		}
	}
	stream(20)
	var after1 resources
	for round := 1; round <= rounds; round++ {
		epoch := prod.Epoch()
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.md.Close(); err != nil {
			t.Fatal(err)
		}
		// Both clients lose their media driver; the producer pauses.
		for pc.ReconnectStats().MediaDriverLost < uint64(round) || cc.ReconnectStats().MediaDriverLost < uint64(round) {
			if ctx.Err() != nil {
				t.Fatalf("round %d: loss not noticed: %+v %+v", round, pc.ReconnectStats(), cc.ReconnectStats())
			}
			if err := offer(); err != nil && !errors.Is(err, client.ErrPaused) {
				t.Fatal(err)
			}
		}
		lost++
		if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h}); !errors.Is(err, client.ErrPaused) {
			t.Fatalf("round %d: offer without a media driver: %v", round, err)
		}
		if e.md, err = mediadriver.Start(mdCfg); err != nil {
			t.Fatal(err)
		}
		d = e.startDriver()
		stream(20)
		if prod.Epoch() <= epoch || cons.Epoch() != prod.Epoch() {
			t.Fatalf("round %d: epochs %d -> producer %d, consumer %d", round, epoch, prod.Epoch(), cons.Epoch())
		}
		back++
		// The metadata streams moved too: a new version arrives.
		v, err := prod.PublishMeta([]client.Attribute{{Key: "round", Value: []byte{byte(round)}}})
		if err != nil {
			t.Fatal(err)
		}
		for m := cons.Meta(); m == nil || m.Version != v; m = cons.Meta() {
			if ctx.Err() != nil {
				t.Fatalf("round %d: metadata version %d never arrived: %+v", round, v, cons.MetaStats())
			}
			if err := offer(); err != nil && !errors.Is(err, client.ErrPaused) && !errors.Is(err, client.ErrClaimLost) {
				t.Fatal(err)
			}
		}
		if got := pc.ReconnectStats().Reconnects; got != uint64(round) {
			t.Fatalf("round %d: producer client reconnected %d times", round, got)
		}
		if got := cc.ReconnectStats().Reconnects; got != uint64(round) {
			t.Fatalf("round %d: consumer client reconnected %d times", round, got)
		}
		now := countResources(t, e.aeronDir, e.base)
		if round == 1 {
			after1 = now
			continue
		}
		// Closed log buffers linger for a while: wait until they go.
		for now.goroutines > after1.goroutines || now.fds > after1.fds || now.maps > after1.maps {
			if ctx.Err() != nil {
				t.Fatalf("round %d: resources %+v, after round 1 %+v", round, now, after1)
			}
			stream(1)
			now = countResources(t, e.aeronDir, e.base)
		}
	}
	if chk.bad != 0 {
		t.Fatalf("%d corrupt frames accepted", chk.bad)
	}
	for _, c := range []*client.Client{pc, cc} {
		if st := c.DriverClient().Stats(); st.MediaDriverLost != rounds || st.Rebinds != rounds {
			t.Fatalf("driver client stats %+v", st)
		}
	}
	t.Logf("%d losses, %d reconnects; producer %+v; consumer %+v", lost, back, prod.Stats(), cons.Stats())
}

// With NoReconnect the Client stops for good when its media driver goes:
// the producer stays paused even after a new one starts.
func TestNoReconnect(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	cfg := e.clientConfig(false)
	cfg.NoReconnect = true
	ctx := testCtx(t)
	c, err := client.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.md.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.DriverClient().Done():
	case <-ctx.Done():
		t.Fatal("driver client did not stop")
	}
	if !errors.Is(c.DriverClient().Err(), driverclient.ErrAeronClosed) {
		t.Fatalf("driver client stopped with %v", c.DriverClient().Err())
	}
	payload := make([]byte, 128)
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 64)
	if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h}); !errors.Is(err, client.ErrPaused) {
		t.Fatalf("offer: %v", err)
	}
	if st := c.ReconnectStats(); st != (client.ReconnectStats{}) {
		t.Fatalf("reconnect stats %+v", st)
	}
}
