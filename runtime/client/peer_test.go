package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// peerQoS is the tests' QoS interval: consumers are forgotten after 5 of
// them.
const peerQoS = 50 * time.Millisecond

// peerClient makes a Client with a short QoS interval; mod adjusts its
// Config.
func (e *env) peerClient(invoker bool, mod func(*client.Config)) *client.Client {
	e.t.Helper()
	cfg := e.clientConfig(invoker)
	cfg.QoSInterval = peerQoS
	if mod != nil {
		mod(&cfg)
	}
	c, err := client.New(testCtx(e.t), cfg, nil)
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

// rig is a producer and its consumers, each checked frame by frame.
type rig struct {
	t       *testing.T
	ctx     context.Context
	prod    *client.Producer
	cons    []*client.Consumer
	chk     []*checker
	h       pool.TensorHeader
	payload []byte
	seq     uint64
	offered int // frames offered successfully, and refused with ErrPaused
	paused  int
	invoke  []*client.Client // clients in invoker mode
}

func newRig(t *testing.T, prod *client.Producer) *rig {
	r := &rig{t: t, ctx: testCtx(t), prod: prod}
	var err error
	if r.h, err = pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 256); err != nil {
		t.Fatal(err)
	}
	r.payload = make([]byte, 512)
	return r
}

func (r *rig) consumer(c *client.Client, cfg client.ConsumerConfig) *client.Consumer {
	r.t.Helper()
	cfg.StreamID = testStream
	s, err := c.NewConsumer(r.ctx, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.cons = append(r.cons, s)
	r.chk = append(r.chk, &checker{t: r.t})
	return s
}

// step offers one test-pattern frame and polls every consumer.
func (r *rig) step() {
	r.t.Helper()
	v, _ := pool.NewView[uint16](r.payload, &r.h)
	flat, _ := v.Flat()
	fill(flat, r.seq)
	_, err := r.prod.OfferFrame(r.payload, &pool.FrameMeta{Tensor: r.h})
	switch {
	case err == nil:
		r.seq++
		r.offered++
	case errors.Is(err, client.ErrPaused): // a lease hiccup under load: the frame is not sent
		r.paused++
	default:
		r.t.Fatal(err)
	}
	r.poll()
}

// poll polls every consumer once and returns the descriptors read.
func (r *rig) poll() int {
	for _, c := range r.invoke {
		c.DoWork()
	}
	n := 0
	for i, s := range r.cons {
		n += s.Poll(r.chk[i].handle)
	}
	return n
}

// until steps (a frame every 2 ms) until cond holds.
func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	for !cond() {
		if r.ctx.Err() != nil {
			r.t.Fatalf("timed out waiting for %s: producer %+v", what, r.prod.PeerStats())
		}
		r.step()
		time.Sleep(2 * time.Millisecond)
	}
}

// phase offers n frames 5 ms apart, polls until the consumers are done
// and returns how long the producer took and how many frames it sent.
func (r *rig) phase(n int) (time.Duration, int) {
	start, offered := time.Now(), r.offered
	for range n {
		r.step()
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for quiet := 0; quiet < 20; { // what is still in flight: until 20 polls in a row find nothing
		if r.ctx.Err() != nil {
			r.t.Fatal("the consumers never went quiet")
		}
		if r.poll() == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(time.Millisecond)
	}
	return elapsed, r.offered - offered
}

// rateBand is the generous band a consumer limited to hz must fall in for
// frames offered over elapsed (at least nominal): a count, not a timing.
func rateBand(hz float64, nominal, elapsed time.Duration) (lo, hi uint64) {
	return uint64(0.5 * hz * nominal.Seconds()), uint64(1.5*hz*elapsed.Seconds()) + 3
}

// A RATE_LIMITED consumer asks for its own descriptor stream and gets it;
// the producer paces it at max_rate_hz while a STREAM consumer next to it
// gets every frame.
func TestRateLimitedGranted(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	pc := e.peerClient(false, nil)
	prod, err := pc.NewProducer(testCtx(t), client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, prod)
	a := r.consumer(e.peerClient(false, nil), client.ConsumerConfig{})
	b := r.consumer(e.peerClient(false, nil), client.ConsumerConfig{Mode: client.ModeRateLimited, MaxRateHz: 10})
	r.until("B on its own stream", func() bool { return b.PeerStatus().DescriptorStreamID != 0 })

	a0, b0 := a.Stats(), b.Stats()
	const frames = 300
	elapsed, sent := r.phase(frames)
	a1, b1 := a.Stats(), b.Stats()
	bs, ps := b.PeerStatus(), prod.PeerStats()
	t.Logf("%v: A %+v\nB %+v\nB peer %+v\nproducer %+v", elapsed, a1, b1, bs, ps)

	if got := a1.Accepted - a0.Accepted; got != uint64(sent) {
		t.Errorf("STREAM consumer accepted %d of %d frames", got, sent)
	}
	lo, hi := rateBand(10, frames*5*time.Millisecond, elapsed)
	if got := b1.Accepted - b0.Accepted; got < lo || got > hi {
		t.Errorf("RATE_LIMITED consumer at 10 Hz accepted %d frames, want %d..%d", got, lo, hi)
	}
	if b1.RateLimited != b0.RateLimited || b1.Paced == b0.Paced || b1.Gap != 0 || b1.Dropped() != 0 {
		t.Errorf("B on its own stream: want pacing by the producer, no local drops, no loss: %+v", b1)
	}
	if bs.State != client.PeerGranted || bs.ControlStreamID == 0 || bs.Mode != client.ModeRateLimited {
		t.Errorf("B's peer status %+v", bs)
	}
	if as := a.PeerStatus(); as.State != client.PeerWaiting || as.DescriptorStreamID != 0 {
		t.Errorf("a STREAM consumer asks for no stream by default: %+v", as)
	}
	if ps.Consumers != 2 || ps.DescriptorStreams != 1 || ps.ControlStreams != 1 || ps.Paced == 0 || ps.DescriptorsSent == 0 {
		t.Errorf("producer peer stats %+v", ps)
	}
	for i, c := range r.chk {
		if c.bad != 0 {
			t.Errorf("consumer %d: %d corrupt frames", i, c.bad)
		}
	}
}

// A producer that declines: the RATE_LIMITED consumer stays on the shared
// stream and drops locally to its max rate, counted as RateLimited, not
// as loss.
func TestRateLimitedDeclined(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	pc := e.peerClient(false, func(c *client.Config) { c.DeclinePerConsumerStreams = true })
	prod, err := pc.NewProducer(testCtx(t), client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, prod)
	b := r.consumer(e.peerClient(false, nil), client.ConsumerConfig{Mode: client.ModeRateLimited, MaxRateHz: 20})
	r.until("the producer's answer", func() bool { return b.PeerStatus().State == client.PeerDeclined })

	b0 := b.Stats()
	const frames = 300
	elapsed, sent := r.phase(frames)
	b1 := b.Stats()
	bs, ps := b.PeerStatus(), prod.PeerStats()
	t.Logf("%v: B %+v\nB peer %+v\nproducer %+v", elapsed, b1, bs, ps)
	lo, hi := rateBand(20, frames*5*time.Millisecond, elapsed)
	got := b1.Accepted - b0.Accepted
	if got < lo || got > hi {
		t.Errorf("declined RATE_LIMITED consumer at 20 Hz accepted %d frames, want %d..%d", got, lo, hi)
	}
	if limited := b1.RateLimited - b0.RateLimited; limited+got != uint64(sent) {
		t.Errorf("accepted %d + rate-limited %d != %d frames offered", got, limited, sent)
	}
	if b1.Dropped() != 0 || b1.Gap != 0 || b1.Paced != 0 || bs.DescriptorStreamID != 0 || bs.ControlStreamID != 0 {
		t.Errorf("declined consumer: %+v %+v", b1, bs)
	}
	if ps.Declined < 2 || ps.DescriptorStreams != 0 || ps.Granted != 0 || ps.Consumers != 1 {
		t.Errorf("producer peer stats %+v", ps)
	}
	if r.chk[0].bad != 0 {
		t.Errorf("%d corrupt frames", r.chk[0].bad)
	}
}

// Per-consumer stream ids come from the producer's ranges; an exhausted
// range declines; a consumer that goes away is forgotten after 5 QoS
// intervals and its ids are handed to the next consumer asking.
func TestPerConsumerStreamIDs(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	pc := e.peerClient(false, func(c *client.Config) {
		c.PerConsumerDescriptorStreams = client.StreamRange{First: 31007, Last: 31007}
		c.PerConsumerControlStreams = client.StreamRange{First: 32007, Last: 32007}
	})
	prod, err := pc.NewProducer(testCtx(t), client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, prod)
	cc := e.peerClient(false, nil)
	rl := client.ConsumerConfig{Mode: client.ModeRateLimited, MaxRateHz: 50}
	b1 := r.consumer(cc, rl)
	r.until("b1 on its own stream", func() bool { return b1.PeerStatus().DescriptorStreamID != 0 })
	if st := b1.PeerStatus(); st.DescriptorStreamID != 31007 || st.ControlStreamID != 32007 {
		t.Fatalf("b1 got streams %d and %d, want 31007 and 32007", st.DescriptorStreamID, st.ControlStreamID)
	}
	b2 := r.consumer(cc, rl)
	r.until("b2 declined", func() bool { return b2.PeerStatus().State == client.PeerDeclined })
	if ps := prod.PeerStats(); ps.Declined < 2 || ps.DescriptorStreams != 1 {
		t.Fatalf("after the range ran out: %+v", ps)
	}

	// b1 goes: no more hellos or QoS from it.
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	r.cons, r.chk = r.cons[1:], r.chk[1:]
	r.until("b2 on the freed stream", func() bool { return b2.PeerStatus().DescriptorStreamID != 0 })
	st, ps := b2.PeerStatus(), prod.PeerStats()
	if st.DescriptorStreamID != 31007 || st.ControlStreamID != 32007 || st.State != client.PeerGranted {
		t.Errorf("b2 %+v", st)
	}
	if ps.Forgotten != 1 || ps.Consumers != 1 || ps.DescriptorStreams != 1 || ps.ControlStreams != 1 {
		t.Errorf("producer %+v", ps)
	}
	// Closing the producer frees everything (the next producer of the
	// Client could use the ids again).
	if err := prod.Close(); err != nil {
		t.Fatal(err)
	}
	if ps := prod.PeerStats(); ps.Consumers != 0 || ps.DescriptorStreams != 0 {
		t.Errorf("after Close: %+v", ps)
	}
}

func TestConsumerConfigValidation(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.peerClient(false, nil)
	for _, tc := range []struct {
		name string
		cfg  client.ConsumerConfig
	}{
		{"rate-limited without a rate", client.ConsumerConfig{Mode: client.ModeRateLimited}},
		{"a rate in stream mode", client.ConsumerConfig{MaxRateHz: 10}},
		{"unknown mode", client.ConsumerConfig{Mode: 3}},
		{"unknown per-consumer request", client.ConsumerConfig{PerConsumer: 7}},
		{"rate above 1 GHz", client.ConsumerConfig{Mode: client.ModeRateLimited, MaxRateHz: 2e9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.StreamID = testStream
			if _, err := c.NewConsumer(testCtx(t), tc.cfg); !errors.Is(err, client.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

func TestConfigPeerValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*client.Config)
		ok   bool
	}{
		{"defaults", func(*client.Config) {}, true},
		{"custom ranges", func(c *client.Config) {
			c.PerConsumerDescriptorStreams = client.StreamRange{First: 40000, Last: 40099}
			c.PerConsumerControlStreams = client.StreamRange{First: 40100, Last: 40199}
		}, true},
		{"reversed range", func(c *client.Config) { c.PerConsumerDescriptorStreams = client.StreamRange{First: 31999, Last: 31000} }, false},
		{"overlapping ranges", func(c *client.Config) { c.PerConsumerControlStreams = client.StreamRange{First: 31500, Last: 32500} }, false},
		{"range holding the control stream", func(c *client.Config) { c.PerConsumerControlStreams = client.StreamRange{First: 900, Last: 1099} }, false},
		{"range holding the QoS stream", func(c *client.Config) { c.PerConsumerDescriptorStreams = client.StreamRange{First: 1200, Last: 1200} }, false},
		{"QoS on the descriptor stream", func(c *client.Config) { c.QoSStreamID = client.DefaultDescriptorStreamID }, false},
		{"negative QoS interval", func(c *client.Config) { c.QoSInterval = -time.Second }, false},
		{"negative table", func(c *client.Config) { c.MaxConsumers = -1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c client.Config
			tc.mod(&c)
			err := c.Validate()
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, client.ErrConfig)) {
				t.Fatalf("Validate: %v (want ok=%v)", err, tc.ok)
			}
		})
	}
}

func TestParseConsumerMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want client.ConsumerMode
		ok   bool
	}{
		{"stream", client.ModeStream, true},
		{"rate-limited", client.ModeRateLimited, true},
		{"RATE_LIMITED", client.ModeRateLimited, true},
		{"STREAM", client.ModeStream, true},
		{"fast", 0, false},
		{"", 0, false},
	} {
		got, err := client.ParseConsumerMode(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseConsumerMode(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != map[client.ConsumerMode]string{client.ModeStream: "stream", client.ModeRateLimited: "rate-limited"}[got] {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

// The producer's per-frame path with two consumers on per-consumer
// streams (one STREAM, one RATE_LIMITED and paced) allocates nothing, nor
// do the consumers' polls of their own streams, nor the Client's duty
// cycle run with them (invoker mode: keepalives, hellos, configs, QoS).
func TestPeerNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := newEnv(t)
	e.startDriver()
	c := e.peerClient(true, nil)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, prod)
	r.invoke = []*client.Client{c}
	a := r.consumer(c, client.ConsumerConfig{PerConsumer: client.PerConsumerAlways})
	b := r.consumer(c, client.ConsumerConfig{Mode: client.ModeRateLimited, MaxRateHz: 100})
	r.until("both consumers on their own streams", func() bool {
		return a.PeerStatus().DescriptorStreamID != 0 && b.PeerStatus().DescriptorStreamID != 0
	})
	r.invoke = nil
	var fill pool.FrameMeta
	fill.Tensor = r.h
	ha, hb := r.chk[0].handle, r.chk[1].handle // method values allocate: make them once
	fn := func() {
		if _, err := prod.OfferFrame(r.payload, &fill); err != nil {
			t.Fatal(err)
		}
		a.Poll(ha)
		b.Poll(hb)
		c.DoWork() // keeps the leases alive; allocates nothing either
	}
	for range 20 {
		fn()
	}
	ps0 := prod.PeerStats()
	if n := testing.AllocsPerRun(500, fn); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
	ps1 := prod.PeerStats()
	if ps1.DescriptorsSent-ps0.DescriptorsSent < 500 || ps1.DescriptorStreams != 2 {
		t.Errorf("the measured frames did not go over per-consumer streams: %+v -> %+v", ps0, ps1)
	}
}

// The hooks a FrameProgress feature builds on: the producer offers a
// message on every per-consumer control stream (or only to consumers that
// support progress), and each consumer's dispatch point hands FrameProgress
// to its hook inside Poll.
func TestPerConsumerControlHook(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.peerClient(true, nil)
	prod, err := c.NewProducer(testCtx(t), client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, prod)
	r.invoke = []*client.Client{c}
	withProgress := r.consumer(c, client.ConsumerConfig{PerConsumer: client.PerConsumerAlways, SupportsProgress: true})
	without := r.consumer(c, client.ConsumerConfig{PerConsumer: client.PerConsumerAlways})
	r.until("both consumers with a control stream", func() bool {
		return withProgress.PeerStatus().ControlStreamID != 0 && without.PeerStatus().ControlStreamID != 0
	})
	got := map[*client.Consumer][]uint64{} // seqs seen by each hook
	for _, s := range r.cons {
		client.SetOnProgress(s, func(msg []byte) {
			var d wire.FrameProgressDecoder
			if err := d.WrapWithHeader(msg); err != nil {
				t.Errorf("hook got a bad FrameProgress: %v", err)
				return
			}
			got[s] = append(got[s], d.Seq())
		})
	}
	buf := make([]byte, 64)
	msg := func(seq uint64) []byte {
		var e wire.FrameProgressEncoder
		if err := e.WrapWithHeader(buf); err != nil {
			t.Fatal(err)
		}
		e.SetStreamId(testStream)
		e.SetEpoch(prod.Epoch())
		e.SetSeq(seq)
		e.SetPayloadBytesFilled(100)
		e.SetState(wire.FrameProgressStateProgress)
		n, err := e.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	if n := client.SendPerConsumerControl(prod, msg(1), false); n != 2 {
		t.Fatalf("sent to %d consumers, want 2", n)
	}
	if n := client.SendPerConsumerControl(prod, msg(2), true); n != 1 {
		t.Fatalf("sent to %d consumers supporting progress, want 1", n)
	}
	deadline := time.Now().Add(testTimeout)
	for len(got[withProgress]) < 2 || len(got[without]) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("hooks saw %v", got)
		}
		r.poll()
		time.Sleep(time.Millisecond)
	}
	if fmt.Sprint(got[withProgress], got[without]) != "[1 2] [1]" {
		t.Errorf("hooks saw %v and %v, want [1 2] and [1]", got[withProgress], got[without])
	}
	if st := withProgress.PeerStatus(); st.FrameProgress != 2 || st.ControlMessages != 2 {
		t.Errorf("consumer counted %+v", st)
	}
	if ps := prod.PeerStats(); ps.ControlSent != 3 {
		t.Errorf("producer counted %d control messages sent, want 3", ps.ControlSent)
	}
}

// BenchmarkOfferPollPeers is the cost of per-consumer streams per frame:
// a producer and a STREAM consumer on the shared descriptor stream (the
// baseline), against a producer and two consumers on their own streams,
// one of them RATE_LIMITED at 100 Hz (512-byte frames, one process,
// invoker mode; DoWork every 256 frames keeps the leases alive).
func BenchmarkOfferPollPeers(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfgs []client.ConsumerConfig
	}{
		{"shared-1", []client.ConsumerConfig{{}}},
		{"own-2", []client.ConsumerConfig{{PerConsumer: client.PerConsumerAlways}, {Mode: client.ModeRateLimited, MaxRateHz: 100}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			e.startDriver()
			c := e.peerClient(true, nil)
			ctx := testCtx(b)
			prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
			if err != nil {
				b.Fatal(err)
			}
			h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 256)
			payload, meta := make([]byte, 512), pool.FrameMeta{Tensor: h}
			var cons []*client.Consumer
			for _, cfg := range bc.cfgs {
				cfg.StreamID = testStream
				s, err := c.NewConsumer(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				cons = append(cons, s)
			}
			got := 0
			handler := func(f client.FrameView) {
				if f.Verify() {
					got++
				}
			}
			step := func() {
				if _, err := prod.OfferFrame(payload, &meta); err != nil && !errors.Is(err, client.ErrPaused) {
					b.Fatal(err)
				}
				for _, s := range cons {
					s.Poll(handler)
				}
			}
			wantOwn := bc.name == "own-2"
			for own := false; !own; {
				if ctx.Err() != nil {
					b.Fatal("consumers never got their streams")
				}
				step()
				c.DoWork()
				time.Sleep(time.Millisecond)
				own = true
				for _, s := range cons {
					if wantOwn && s.PeerStatus().DescriptorStreamID == 0 {
						own = false
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				step()
				if i++; i%256 == 0 {
					c.DoWork()
				}
			}
		})
	}
}

// The peers cycle (hellos, configs, QoS both ways) allocates nothing in
// steady state either, so processes that count every allocation
// (internal/sysbench) see none: a QoS interval of 1 ns makes every DoWork
// send and handle all of them.
func TestPeerCycleNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, tc := range []struct {
		name string
		cfg  client.ConsumerConfig
	}{
		{"stream", client.ConsumerConfig{}},
		{"rate-limited", client.ConsumerConfig{Mode: client.ModeRateLimited, MaxRateHz: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.startDriver()
			c := e.peerClient(true, func(c *client.Config) { c.QoSInterval = 1 })
			prod, err := c.NewProducer(testCtx(t), client.ProducerConfig{StreamID: testStream})
			if err != nil {
				t.Fatal(err)
			}
			r := newRig(t, prod)
			r.invoke = []*client.Client{c}
			s := r.consumer(c, tc.cfg)
			r.until("hellos answered", func() bool {
				st := s.PeerStatus()
				return st.Configs > 5 && (tc.cfg.Mode != client.ModeRateLimited || st.DescriptorStreamID != 0)
			})
			fn := func() { c.DoWork() }
			for range 20 {
				fn()
			}
			st0 := s.PeerStatus()
			if n := testing.AllocsPerRun(200, fn); n != 0 {
				t.Errorf("%v allocations per duty cycle, want 0", n)
			}
			if st := s.PeerStatus(); st.Hellos-st0.Hellos < 100 || st.Configs-st0.Configs < 100 {
				t.Errorf("the cycles measured sent %d hellos and got %d configs", st.Hellos-st0.Hellos, st.Configs-st0.Configs)
			}
		})
	}
}
