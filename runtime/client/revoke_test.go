package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// In invoker mode a producer whose application stops running the duty
// cycle loses its lease (no keepalives: the driver expires it, the client
// notices its own lease ran out). Offers then fail with ErrPaused and
// write nothing; once the duty cycle runs again the lease is reattached
// to a new epoch, the producer remaps and the consumer follows.
func TestProducerPausesAndResumes(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	pc := e.newClient(true) // invoker: the test runs the duty cycle
	cc := e.newClient(false)
	ctx := testCtx(t)
	prod, err := pc.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := cc.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 32)
	chk := &checker{t: t}
	offer := func() error {
		pc.DoWork()
		cl, err := prod.TryClaim(&h)
		if err == nil {
			v, _ := client.ClaimView[uint16](&cl)
			flat, _ := v.Flat()
			fill(flat, cl.Seq) // sequences start at 0 in each epoch
			err = prod.Commit(&cl)
		}
		cons.Poll(chk.handle)
		time.Sleep(time.Millisecond)
		return err
	}
	for chk.good < 20 {
		if ctx.Err() != nil {
			t.Fatal("no frames")
		}
		if err := offer(); err != nil {
			t.Fatal(err)
		}
	}
	epoch1 := prod.Epoch()
	// Keepalive 200 ms, expiry after 3 intervals: starve the duty cycle.
	time.Sleep(1500 * time.Millisecond)
	paused := 0
	good := chk.good
	for chk.good < good+20 {
		if ctx.Err() != nil {
			t.Fatalf("did not resume: producer %+v consumer %+v", prod.Stats(), cons.Stats())
		}
		if err := offer(); errors.Is(err, client.ErrPaused) {
			paused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if paused == 0 || prod.Epoch() <= epoch1 || cons.Epoch() != prod.Epoch() || chk.bad != 0 {
		t.Fatalf("paused %d, epochs %d -> %d, consumer %d, bad %d", paused, epoch1, prod.Epoch(), cons.Epoch(), chk.bad)
	}
	t.Logf("paused offers %d; producer %+v", paused, prod.Stats())
}
