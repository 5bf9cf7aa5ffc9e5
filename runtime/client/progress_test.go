package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// progressLog records the hints a consumer got, per sequence.
type progressLog struct {
	t    testing.TB
	seen map[uint64][]client.FrameProgress
}

func (l *progressLog) on(fp client.FrameProgress) {
	l.seen[fp.Seq] = append(l.seen[fp.Seq], fp)
}

// Several claims filled at once (a DMA ring), reported, committed out of
// order: the consumer gets STARTED, PROGRESS and COMPLETE per frame in
// order with growing byte counts, and every frame intact.
func TestClaimQueueAndProgress(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, MaxClaims: 4, Progress: true,
		ProgressInterval: time.Nanosecond, ProgressBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	log := &progressLog{t: t, seen: map[uint64][]client.FrameProgress{}}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream, OnProgress: log.on})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 64, 64)
	const rows = 64
	var claims [4]client.Claim
	for i := range claims {
		if claims[i], err = prod.TryClaim(&h); err != nil {
			t.Fatal(err)
		}
	}
	// Fill the four "DMA" buffers row by row, interleaved.
	for r := 1; r <= rows; r++ {
		for i := range claims {
			v, err := client.ClaimView[uint16](&claims[i])
			if err != nil {
				t.Fatal(err)
			}
			flat, _ := v.Flat()
			for j := (r - 1) * 64; j < r*64; j++ {
				flat[j] = uint16(claims[i].Seq*7 + uint64(j))
			}
			if err := prod.Progress(&claims[i], r*64*2); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Microsecond)
	}
	if err := prod.Progress(&claims[0], 10); !errors.Is(err, client.ErrProgress) {
		t.Errorf("regressing Progress: %v, want ErrProgress", err)
	}
	if err := prod.Progress(&claims[0], len(claims[0].Payload)+1); !errors.Is(err, client.ErrProgress) {
		t.Errorf("Progress past the payload: %v, want ErrProgress", err)
	}
	for _, i := range []int{2, 0, 3, 1} {
		if err := prod.Commit(&claims[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.Progress(&claims[0], len(claims[0].Payload)); !errors.Is(err, client.ErrClaimLost) {
		t.Errorf("Progress after Commit: %v, want ErrClaimLost", err)
	}
	chk := &checker{t: t}
	for chk.good < len(claims) {
		cons.Poll(chk.handle)
		if ctx.Err() != nil {
			t.Fatalf("frames: %+v, stats %+v", *chk, cons.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	if chk.bad+chk.torn != 0 {
		t.Errorf("frames: %+v", *chk)
	}
	// Hints come on another stream than the frames: drain it.
	for deadline := time.Now().Add(testTimeout); ; {
		cons.Poll(chk.handle)
		n := 0
		for _, cl := range claims {
			if l := log.seen[cl.Seq]; len(l) > 0 && l[len(l)-1].State == client.ProgressComplete {
				n++
			}
		}
		if n == len(claims) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress: %v; stats %+v", log.seen, cons.ProgressStats())
		}
		time.Sleep(time.Millisecond)
	}
	ps := prod.ProgressStats()
	for _, cl := range claims {
		l := log.seen[cl.Seq]
		if l[0].State != client.ProgressStarted || l[0].Filled != 0 {
			t.Errorf("seq %d: first hint %+v", cl.Seq, l[0])
		}
		last := l[len(l)-1]
		if last.State != client.ProgressComplete || last.Filled != uint64(len(cl.Payload)) {
			t.Errorf("seq %d: last hint %+v", cl.Seq, last)
		}
		for i := 1; i < len(l); i++ {
			if l[i].Filled < l[i-1].Filled || l[i].State < l[i-1].State || l[i].Epoch != prod.Epoch() {
				t.Errorf("seq %d: hint %d %+v after %+v", cl.Seq, i, l[i], l[i-1])
			}
		}
		if len(l) < 3 {
			t.Errorf("seq %d: only %d hints", cl.Seq, len(l))
		}
	}
	if ps.Started != 4 || ps.Complete != 4 || ps.Progress == 0 {
		t.Errorf("producer progress stats %+v", ps)
	}

	// A fifth claim beyond MaxClaims abandons the oldest open one.
	var more [5]client.Claim
	for i := range more {
		if more[i], err = prod.TryClaim(&h); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.Commit(&more[0]); !errors.Is(err, client.ErrClaimLost) {
		t.Errorf("commit of the claim abandoned by the queue: %v", err)
	}
	if err := prod.Progress(&more[0], 2); !errors.Is(err, client.ErrClaimLost) {
		t.Errorf("progress of the claim abandoned by the queue: %v", err)
	}
	prod.Abort(&more[1])
	for _, cl := range more[2:] {
		if err := prod.Commit(&cl); err != nil {
			t.Error(err)
		}
	}
}

// Hostile or stale hints on the control stream are counted, not delivered.
func TestProgressHostile(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	var got []client.FrameProgress
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream,
		OnProgress: func(fp client.FrameProgress) { got = append(got, fp) }})
	if err != nil {
		t.Fatal(err)
	}
	epoch := prod.Epoch()
	for cons.Epoch() != epoch { // the consumer may map the producer's epoch a moment later
		cons.Poll(func(client.FrameView) {})
		if ctx.Err() != nil {
			t.Fatal("consumer never mapped the producer's epoch")
		}
		time.Sleep(time.Millisecond)
	}
	a, err := aeron.Connect(ctx, aeron.Config{Dir: e.aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pub, err := a.AddPublication(ctx, client.DefaultChannel, client.DefaultControlStreamID)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var buf [64]byte
	send := func(stream uint32, epoch, seq, filled uint64, st wire.FrameProgressState) {
		var enc wire.FrameProgressEncoder
		if err := enc.WrapWithHeader(buf[:]); err != nil {
			t.Fatal(err)
		}
		enc.SetStreamId(stream)
		enc.SetEpoch(epoch)
		enc.SetSeq(seq)
		enc.SetPayloadBytesFilled(filled)
		enc.SetState(st)
		n, _ := enc.Finish()
		for pub.Offer(buf[:n]) < 0 {
			if ctx.Err() != nil {
				t.Fatal("cannot offer")
			}
			time.Sleep(time.Millisecond)
		}
	}
	send(testStream, epoch, 1, 0, wire.FrameProgressStateStarted)      // delivered
	send(testStream, epoch, 1, 100, wire.FrameProgressStateProgress)   // delivered
	send(testStream, epoch, 1, 50, wire.FrameProgressStateProgress)    // regressed bytes
	send(testStream, epoch, 1, 200, wire.FrameProgressStateStarted)    // regressed state
	send(testStream, epoch+1, 2, 0, wire.FrameProgressStateStarted)    // another epoch
	send(testStream, epoch, 3, 0, wire.FrameProgressStateUnknown)      // invalid state
	send(testStream, epoch, 3, 1<<40, wire.FrameProgressStateProgress) // more than a slot
	send(testStream+1, epoch, 3, 0, wire.FrameProgressStateStarted)    // another stream: ignored
	send(testStream, epoch, 1, 300, wire.FrameProgressStateComplete)   // delivered
	want := client.ConsumerProgressStats{Delivered: 3, Regressed: 2, OtherEpoch: 1, Invalid: 2}
	for {
		cons.Poll(func(client.FrameView) {})
		if cons.ProgressStats() == want {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("stats %+v, want %+v", cons.ProgressStats(), want)
		}
		time.Sleep(time.Millisecond)
	}
	if len(got) != 3 || got[2].State != client.ProgressComplete || got[2].Filled != 300 {
		t.Errorf("delivered %+v", got)
	}
}

// Claims with progress hints on both sides allocate nothing per frame.
func TestProgressNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, MaxClaims: 2, Progress: true,
		ProgressInterval: time.Nanosecond, ProgressBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	hints := 0
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream, OnProgress: func(client.FrameProgress) { hints++ }})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 1024)
	got := 0
	handler := func(f client.FrameView) { got++ }
	step := func() {
		a, err := prod.TryClaim(&h)
		if err != nil {
			t.Fatal(err)
		}
		b, err := prod.TryClaim(&h)
		if err != nil {
			t.Fatal(err)
		}
		_ = prod.Progress(&a, 1024)
		_ = prod.Progress(&b, 1024)
		if err := prod.Commit(&b); err != nil {
			t.Fatal(err)
		}
		if err := prod.Commit(&a); err != nil {
			t.Fatal(err)
		}
		for want := got + 2; got < want; {
			cons.Poll(handler)
		}
	}
	for range 10 {
		step()
	}
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Errorf("%v allocations per two claimed frames with progress, want 0", n)
	}
	if hints == 0 {
		t.Error("no progress hint arrived")
	}
}

// A consumer with OnProgress that holds its own control stream gets the
// hints there (wire spec 10.2.2), each once, although the producer sends
// them on the shared control stream too (for consumers without one).
func TestProgressOnOwnControlStream(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.peerClient(true, nil)
	prod, err := c.NewProducer(testCtx(t), client.ProducerConfig{StreamID: testStream, Progress: true,
		ProgressInterval: time.Nanosecond, ProgressBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, prod)
	r.invoke = []*client.Client{c}
	log := &progressLog{t: t, seen: map[uint64][]client.FrameProgress{}}
	cons := r.consumer(c, client.ConsumerConfig{PerConsumer: client.PerConsumerAlways, OnProgress: log.on})
	r.until("a control stream of its own", func() bool { return cons.PeerStatus().ControlStreamID != 0 })
	r.phase(5) // past the switch
	for k := range log.seen {
		delete(log.seen, k)
	}
	before := cons.PeerStatus().FrameProgress
	var seqs []uint64
	for range 3 {
		cl, err := prod.TryClaim(&r.h)
		if err != nil {
			t.Fatal(err)
		}
		if err := prod.Progress(&cl, len(cl.Payload)/2); err != nil {
			t.Fatal(err)
		}
		if err := prod.Commit(&cl); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, cl.Seq)
	}
	complete := func() bool {
		for _, s := range seqs {
			l := log.seen[s]
			if len(l) == 0 || l[len(l)-1].State != client.ProgressComplete {
				return false
			}
		}
		return true
	}
	for !complete() {
		if r.ctx.Err() != nil {
			t.Fatalf("hints: %v; consumer %+v, producer %+v", log.seen, cons.ProgressStats(), prod.ProgressStats())
		}
		r.poll()
		time.Sleep(time.Millisecond)
	}
	r.phase(0) // anything still in flight, duplicates included
	for _, s := range seqs {
		var started, done int
		for _, fp := range log.seen[s] {
			switch fp.State {
			case client.ProgressStarted:
				started++
			case client.ProgressComplete:
				done++
			}
		}
		if started != 1 || done != 1 {
			t.Errorf("seq %d: %d STARTED and %d COMPLETE hints, want one each: %v", s, started, done, log.seen[s])
		}
	}
	if got := cons.PeerStatus().FrameProgress - before; got < uint64(2*len(seqs)) {
		t.Errorf("%d FrameProgress on the consumer's own control stream, want at least %d", got, 2*len(seqs))
	}
}
