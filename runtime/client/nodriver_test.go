package client_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// ndPeriod is the announce period of the no-driver tests: short, so
// announces are frequent. The freshness window is far longer than the
// spec's 3 periods: on a loaded machine a producer's announcing goroutine
// can be descheduled for more than 150 ms, and a consumer would then take
// a live producer for gone (a test for that logic would then be a timing
// test).
const (
	ndPeriod    = 50 * time.Millisecond
	ndFreshness = time.Second
)

func (e *env) noDriverConfig(invoker bool) client.Config {
	return client.Config{AeronDir: e.aeronDir, Invoker: invoker, NoDriver: true,
		NoDriverConfig: client.NoDriverConfig{AnnouncePeriod: ndPeriod, Freshness: ndFreshness, BaseDir: e.base}}
}

func (e *env) newNoDriverClient(invoker bool) *client.Client {
	e.t.Helper()
	c, err := client.New(testCtx(e.t), e.noDriverConfig(invoker), nil)
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

var ndLayout = client.StreamLayout{NSlots: 64, Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 8192}}}

// pollUntil polls cons with ck until cond holds (or the test times out),
// running the duty cycle of the invoker-mode clients in work.
func pollUntil(t *testing.T, ctx context.Context, cons *client.Consumer, ck *checker, cond func() bool, work ...*client.Client) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out; consumer status %+v, stats %+v", cons.Status(), cons.Stats())
		}
		n := cons.Poll(ck.handle)
		for _, c := range work {
			n += c.DoWork()
		}
		if n == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func offerN(t *testing.T, prod *client.Producer, h *pool.TensorHeader, n int) {
	t.Helper()
	for range n {
		cl, err := prod.TryClaim(h)
		if err != nil {
			t.Fatal(err)
		}
		v, err := client.ClaimView[uint16](&cl)
		if err != nil {
			t.Fatal(err)
		}
		flat, _ := v.Flat()
		fill(flat, cl.Seq)
		if err := prod.Commit(&cl); err != nil {
			t.Fatal(err)
		}
	}
}

// A consumer that starts first (the base directory does not exist yet)
// maps the stream once its producer announces it, receives its frames,
// sees the producer go (clean stop: its regions are removed), and maps
// the next producer's stream, at a higher epoch.
func TestNoDriverLifecycle(t *testing.T) {
	for _, invoker := range []bool{false, true} {
		name := map[bool]string{false: "own goroutines", true: "invoker"}[invoker]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := os.Stat(e.base); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("base dir exists before the test: %v", err)
			}
			ctx := testCtx(t)
			cc := e.newNoDriverClient(invoker)
			cons, err := cc.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
			if err != nil {
				t.Fatal(err)
			}
			if st := cons.Status(); st.State != client.StateUnmapped || !st.NoDriver {
				t.Fatalf("status before any producer: %+v", st)
			}
			pc := e.newNoDriverClient(invoker)
			h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 32, 64)
			var ck checker
			var epochs []uint64
			for round := range 2 {
				prod, err := pc.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: ndLayout})
				if err != nil {
					t.Fatal(err)
				}
				epoch := prod.Epoch()
				if len(epochs) > 0 && epoch <= epochs[len(epochs)-1] {
					t.Fatalf("round %d: epoch %d after %d: went backwards", round, epoch, epochs[len(epochs)-1])
				}
				epochs = append(epochs, epoch)
				// Wait until the consumer mapped this epoch (the producer
				// announces at once, then every period; in invoker mode
				// its client's DoWork does).
				for cons.Status().Epoch != epoch {
					if invoker {
						pc.DoWork()
					}
					cons.Poll(ck.handle)
					if ctx.Err() != nil {
						t.Fatalf("round %d: consumer never mapped epoch %d: %+v", round, epoch, cons.Status())
					}
					time.Sleep(time.Millisecond)
				}
				var work []*client.Client
				if invoker {
					work = []*client.Client{pc, cc}
				}
				for range 4 { // 4 x 25 frames: less than the ring, so none is overwritten unread
					good := ck.good
					offerN(t, prod, &h, 25)
					pollUntil(t, ctx, cons, &ck, func() bool { return ck.good+ck.torn+ck.bad >= good+25 }, work...)
				}
				dir := prod.Dir()
				if err := prod.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("round %d: %s left after Close: %v", round, dir, err)
				}
				// The consumer notices the producer is gone.
				gone := cons.Status().Announces.ProducerGone
				for cons.Status().Announces.ProducerGone == gone {
					cons.Poll(ck.handle)
					if invoker {
						cc.DoWork()
					}
					if ctx.Err() != nil {
						t.Fatalf("round %d: consumer never noticed the producer left: %+v", round, cons.Status())
					}
					time.Sleep(time.Millisecond)
				}
				if st := cons.Status(); st.State != client.StateUnmapped || st.Epoch != 0 {
					t.Fatalf("round %d: after the producer left: %+v", round, st)
				}
			}
			if ck.bad != 0 || ck.good < 190 {
				t.Fatalf("good %d, bad %d, torn %d; want every frame intact", ck.good, ck.bad, ck.torn)
			}
			st := cons.Stats()
			if st.Remaps != 2 {
				t.Errorf("remaps %d, want 2", st.Remaps)
			}
			// Nothing is left of either stream under the base directory:
			// the empty stream, namespace and user directories went too.
			if left, err := os.ReadDir(e.base); err != nil || len(left) != 0 {
				t.Errorf("left behind in %s: %v (%v)", e.base, left, err)
			}
		})
	}
}

// A restarted producer's newer epoch replaces the mapped one at once,
// without waiting for the old one to go stale; every frame accepted is
// intact. (Producer SIGKILL is tested with real processes in
// internal/nodriverit.)
func TestNoDriverNewerEpochRemaps(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	c := e.newNoDriverClient(false)
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 32, 64)
	var ck checker
	p1, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: ndLayout})
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(t, ctx, cons, &ck, func() bool { return cons.Status().Epoch == p1.Epoch() })
	offerN(t, p1, &h, 10)
	pollUntil(t, ctx, cons, &ck, func() bool { return ck.good >= 10 })
	// A second producer of the stream (a restart whose predecessor has
	// not stopped announcing yet): the highest epoch wins.
	p2, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: ndLayout})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	pollUntil(t, ctx, cons, &ck, func() bool { return cons.Status().Epoch == p2.Epoch() })
	offerN(t, p1, &h, 5) // descriptors of the old epoch: dropped
	offerN(t, p2, &h, 10)
	pollUntil(t, ctx, cons, &ck, func() bool { return ck.good >= 20 })
	if err := p1.Close(); err != nil {
		t.Fatal(err)
	}
	st := cons.Stats()
	if ck.bad != 0 || st.Drops[pool.DropEpoch] != 5 {
		t.Fatalf("bad %d, epoch drops %d (want 0 and 5); stats %+v", ck.bad, st.Drops[pool.DropEpoch], st)
	}
	// p1's announces still in flight are of a lower epoch: ignored.
	if s := cons.Status(); s.Epoch != p2.Epoch() || s.State != client.StateMapped {
		t.Fatalf("status %+v", s)
	}
}

// Hostile and broken announces on the announce stream are dropped and
// counted; the consumer never maps outside its allowed directory and
// goes on reading the real producer's frames.
func TestNoDriverHostileAnnounces(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	c := e.newNoDriverClient(false)
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream, PayloadFallbackURI: "bridge://cam0"})
	if err != nil {
		t.Fatal(err)
	}
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: ndLayout})
	if err != nil {
		t.Fatal(err)
	}
	var ck checker
	pollUntil(t, ctx, cons, &ck, func() bool { return cons.Status().State == client.StateMapped })

	// Regions outside the allowed directory: a real, valid stream made by
	// pool in another directory, which would map if it were allowed.
	outside := t.TempDir()
	evil, err := pool.CreateStream(pool.StreamConfig{BaseDir: outside, StreamID: testStream, NSlots: 64,
		Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 8192}}})
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Remove()
	defer evil.Close()
	ea := evil.Announcement()

	a := c.AeronDir()
	ac, err := aeron.Connect(ctx, aeron.Config{Dir: a})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	pub, err := ac.AddPublication(ctx, client.DefaultChannel, client.DefaultAnnounceStreamID)
	if err != nil {
		t.Fatal(err)
	}
	snd := control.NewSender(pub, 0)
	now := uint64(driverclient.Now())
	huge := prod.Epoch() + 1000
	announce := func(epoch uint64, ts uint64, header string, pools []control.Pool, mod func(*control.PoolAnnounce)) *control.PoolAnnounce {
		m := &control.PoolAnnounce{StreamID: testStream, ProducerID: 666, Epoch: epoch, TimestampNs: ts,
			ClockDomain: wire.ClockDomainMonotonic, LayoutVersion: pool.LayoutVersion, HeaderNslots: 64,
			HeaderSlotBytes: 256, HeaderURI: header, Pools: append([]control.Pool(nil), pools...)}
		if mod != nil {
			mod(m)
		}
		return m
	}
	outPools := []control.Pool{{PoolID: 1, Nslots: 64, StrideBytes: 8192, RegionURI: ea.Pools[0].URI}}
	inside := "shm:file?path=" + filepath.Join(e.base, "x", "header.ring")
	insidePools := []control.Pool{{PoolID: 1, Nslots: 64, StrideBytes: 8192, RegionURI: "shm:file?path=" + filepath.Join(e.base, "x", "1.pool")}}
	rejected := []*control.PoolAnnounce{
		announce(huge, now, ea.HeaderURI, outPools, nil),                                                         // outside the allowed dir
		announce(huge, now, inside, outPools, nil),                                                               // a pool outside
		announce(huge, now, "shm:file?path="+e.base+"/../../etc/passwd", insidePools, nil),                       // escapes by ..
		announce(huge, now, "http://example.com/x", insidePools, nil),                                            // not shm:file
		announce(huge, now, "", insidePools, nil),                                                                // empty
		announce(huge, now, inside, insidePools, func(m *control.PoolAnnounce) { m.HeaderNslots = 63 }),          // not a power of two
		announce(huge, now, inside, insidePools, func(m *control.PoolAnnounce) { m.HeaderSlotBytes = 128 }),      // bad slot size
		announce(huge, now, inside, nil, nil),                                                                    // no pools
		announce(huge, now, inside, insidePools, func(m *control.PoolAnnounce) { m.LayoutVersion = 99 }),         // other layout
		announce(huge, now, inside, insidePools, func(m *control.PoolAnnounce) { m.ClockDomain = 7 }),            // unknown clock
		announce(huge, now, inside, insidePools, func(m *control.PoolAnnounce) { m.Pools[0].StrideBytes = 100 }), // stride
		announce(huge, now, inside, insidePools, func(m *control.PoolAnnounce) { m.Pools[0].Nslots = 32 }),       // pool slots
	}
	stale := []*control.PoolAnnounce{announce(huge, now-uint64(time.Hour), inside, insidePools, nil)} // too old
	old := announce(prod.Epoch()-1, now, inside, insidePools, nil)                                    // lower epoch than mapped
	send := func(m *control.PoolAnnounce) {
		for !control.Sent(snd.SendPoolAnnounce(m)) {
			if ctx.Err() != nil {
				t.Fatal("cannot send")
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, m := range rejected {
		send(m)
	}
	for _, m := range stale {
		send(m)
	}
	send(old)
	garbage := [][]byte{{1, 2, 3}, make([]byte, 64), []byte("not an SBE message at all, just text")}
	for _, g := range garbage {
		for pub.Offer(g) < 0 {
			time.Sleep(time.Millisecond)
		}
	}
	want := uint64(len(rejected))
	pollUntil(t, ctx, cons, &ck, func() bool {
		s := cons.Status().Announces
		return s.Rejected >= want && s.Stale >= uint64(len(stale)) && s.Old >= 1 && s.Malformed+s.Other >= uint64(len(garbage))
	})
	// The real producer goes on; every frame intact; still its epoch.
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 32, 64)
	offerN(t, prod, &h, 20)
	pollUntil(t, ctx, cons, &ck, func() bool { return ck.good >= 20 })
	st := cons.Status()
	t.Logf("status after the hostile announces: %+v", st)
	if st.Epoch != prod.Epoch() || st.State != client.StateMapped || ck.bad != 0 {
		t.Fatalf("status %+v, bad frames %d", st, ck.bad)
	}
	if st.Announces.MapFailures != 0 {
		t.Errorf("%d map attempts of hostile regions, want none", st.Announces.MapFailures)
	}
	if st.Fallback != client.FallbackNotImplemented || st.FallbackURI != "bridge://cam0" {
		t.Errorf("fallback %v %q", st.Fallback, st.FallbackURI)
	}

	// A fresh, valid-looking announce of a newer epoch inside the allowed
	// directory whose files do not exist: mapping fails (counted); the
	// consumer keeps its mapping and reports fallback wanted but not
	// implemented once the real producer stops.
	send(announce(huge, uint64(driverclient.Now()), inside, insidePools, nil))
	pollUntil(t, ctx, cons, &ck, func() bool { return cons.Status().Announces.MapFailures > 0 })
	if s := cons.Status(); s.Epoch != prod.Epoch() {
		t.Fatalf("unmapped the live epoch for an unmappable one: %+v", s)
	}
	// A restarted producer (epoch above the live one, below the hostile
	// one) is still taken: an unmappable candidate shadows nothing.
	p2, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: ndLayout})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	send(announce(huge, uint64(driverclient.Now()), inside, insidePools, nil))
	pollUntil(t, ctx, cons, &ck, func() bool { return cons.Status().Epoch == p2.Epoch() })
	offerN(t, p2, &h, 10)
	pollUntil(t, ctx, cons, &ck, func() bool { return ck.good >= 30 })
	if ck.bad != 0 {
		t.Fatalf("%d bad frames", ck.bad)
	}
}

func TestCheckFallbackURI(t *testing.T) {
	tests := []struct {
		uri  string
		want client.FallbackStatus
	}{
		{"", client.FallbackNone},
		{"aeron:udp?endpoint=10.0.0.1:40123", client.FallbackNotImplemented},
		{"aeron:udp?endpoint=h:1|interface=eth0", client.FallbackNotImplemented},
		{"aeron:ipc", client.FallbackNotImplemented},
		{"aeron:ipc?term-length=4m", client.FallbackNotImplemented},
		{"bridge://cam-0.left_1", client.FallbackNotImplemented},
		{"bridge://", client.FallbackUnsupported},
		{"bridge://a/b", client.FallbackUnsupported},
		{"aeron:tcp?endpoint=x", client.FallbackUnsupported},
		{"aeron:udp?endpoint", client.FallbackUnsupported},
		{"aeron:udp?=x", client.FallbackUnsupported},
		{"aeron:udp?a=b c", client.FallbackUnsupported},
		{"aeron:udpx", client.FallbackUnsupported},
		{"http://example.com", client.FallbackUnsupported},
		{"shm:file?path=/dev/shm/x", client.FallbackUnsupported},
		{"bridge://" + string(make([]byte, 300)), client.FallbackUnsupported},
	}
	for _, tt := range tests {
		if got := client.CheckFallbackURI(tt.uri); got != tt.want {
			t.Errorf("CheckFallbackURI(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}

func FuzzCheckFallbackURI(f *testing.F) {
	for _, s := range []string{"", "aeron:udp?endpoint=a:1", "aeron:ipc", "bridge://x", "aeron:udp?|", "bridge://\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st := client.CheckFallbackURI(s)
		if (s == "") != (st == client.FallbackNone) {
			t.Fatalf("%q: %v", s, st)
		}
		if st.String() == "" {
			t.Fatal("unnamed status")
		}
	})
}

func TestNoDriverConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*client.Config)
		ok   bool
	}{
		{"defaults", func(*client.Config) {}, true},
		{"announce on the descriptor stream", func(c *client.Config) { c.NoDriverConfig.AnnounceStreamID = client.DefaultDescriptorStreamID }, false},
		{"freshness below the period", func(c *client.Config) { c.NoDriverConfig.Freshness = time.Millisecond }, false},
		{"relative base", func(c *client.Config) { c.NoDriverConfig.BaseDir = "shm" }, false},
		{"relative allowed dir", func(c *client.Config) { c.NoDriverConfig.AllowedBaseDirs = []string{"x"} }, false},
		{"bad namespace", func(c *client.Config) { c.NoDriverConfig.Namespace = "../x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client.Config{NoDriver: true}
			tt.mod(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate: %v, want ok %v", err, tt.ok)
			}
			if err := c.Validate(); err != nil && !errors.Is(err, client.ErrConfig) {
				t.Fatalf("%v is not ErrConfig", err)
			}
		})
	}
}

// newNoDriverPair is newPair in no-driver mode, mapped and ready.
func newNoDriverPair(tb testing.TB, elems int32) *pair {
	e := newEnv(tb)
	// A freshness window far beyond any stall of a loaded machine: the
	// allocation test and the benchmark measure the steady state, not a
	// producer taken for gone and remapped (the spinning poll loop once
	// starved the announcing goroutine past 1 s in CI).
	cfg := e.noDriverConfig(false)
	cfg.NoDriverConfig.Freshness = 30 * time.Second
	c, err := client.New(testCtx(tb), cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	ctx := testCtx(tb)
	p := &pair{}
	if p.cons, err = c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream}); err != nil {
		tb.Fatal(err)
	}
	if p.prod, err = c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: client.StreamLayout{
		NSlots: 256, Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 1 << 17}}, Prefault: true}}); err != nil {
		tb.Fatal(err)
	}
	if p.h, err = pool.NewTensorHeader(pool.Uint16, pool.RowMajor, elems); err != nil {
		tb.Fatal(err)
	}
	p.payload = make([]byte, 2*elems)
	p.meta = pool.FrameMeta{Tensor: p.h}
	p.handler = func(f client.FrameView) {
		if f.Verify() {
			p.got++
		}
	}
	for p.cons.Status().Epoch != p.prod.Epoch() {
		if ctx.Err() != nil {
			tb.Fatal("the consumer never mapped the stream")
		}
		p.cons.Poll(p.handler)
	}
	return p
}

// In no-driver mode too, steady-state offers and polls allocate nothing,
// announces of the mapped epoch arriving meanwhile (every 50 ms) included.
func TestNoDriverNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newNoDriverPair(t, 1024)
	fn := func() { p.offer(t); p.receive(t, 1) }
	for range 10 {
		fn()
	}
	// Measure until announces arrived during the measurements (how many
	// runs that takes depends on the machine's load, not asserted).
	before := p.cons.Status().Announces.Accepted
	var n float64
	deadline := time.Now().Add(testTimeout / 2)
	for p.cons.Status().Announces.Accepted < before+3 && time.Now().Before(deadline) {
		n = max(n, testing.AllocsPerRun(500, fn))
	}
	if got := p.cons.Status().Announces.Accepted; got < before+3 {
		t.Fatalf("only %d announces arrived while measuring: the test did not cover them; %+v %+v", got-before, p.cons.Status(), p.prod.AnnounceStats())
	}
	if n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}

// BenchmarkNoDriverOfferPoll: BenchmarkOfferPoll in no-driver mode.
func BenchmarkNoDriverOfferPoll(b *testing.B) {
	p := newNoDriverPair(b, 32768)
	b.SetBytes(int64(len(p.payload)))
	b.ReportAllocs()
	for b.Loop() {
		p.offer(b)
		p.receive(b, 1)
	}
}

// Per-consumer streams and RATE_LIMITED work without a driver too: the
// producer answers the consumer's hello with its own descriptor stream and
// paces it; every frame it gets is intact. (Rates are checked in driver
// mode, peer_test.go; here only that the machinery runs.)
func TestNoDriverRateLimitedGranted(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := e.noDriverConfig(false)
	cfg.QoSInterval = 100 * time.Millisecond
	c, err := client.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: ndLayout})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream, Mode: client.ModeRateLimited, MaxRateHz: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ck checker
	pollUntil(t, ctx, cons, &ck, func() bool {
		return cons.Status().State == client.StateMapped && cons.PeerStatus().DescriptorStreamID != 0
	})
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 32, 64)
	for ck.good < 3 {
		offerN(t, prod, &h, 1)
		time.Sleep(5 * time.Millisecond)
		cons.Poll(ck.handle)
		if ctx.Err() != nil {
			t.Fatalf("no paced frames: %+v %+v", cons.Stats(), cons.PeerStatus())
		}
	}
	ps, st := prod.PeerStats(), cons.Stats()
	t.Logf("producer %+v\nconsumer %+v", ps, st)
	if ps.Consumers != 1 || ps.DescriptorStreams != 1 || ck.bad != 0 {
		t.Fatalf("producer peer stats %+v, bad frames %d", ps, ck.bad)
	}
}
