package driverit

import (
	"context"
	"errors"
	"testing"

	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// TestAttachMapDetach: a producer and a consumer attach through tpoold,
// map their regions (the producer writes a frame the consumer reads), a
// second producer is refused, and both detach; the consumer follows the
// epoch of the producer's attach.
func TestAttachMapDetach(t *testing.T) {
	e := newEnv(t)
	d := e.startDriver()
	a := e.connect()
	cev, pev := newEvents(), newEvents()
	cc, pc := e.newClient(a, cev), e.newClient(a, pev)
	ctx := testCtx(t)

	cl, pl := attachBoth(ctx, t, cc, pc)
	if pl.Epoch() <= cl.Epoch() && cl.Epoch() != pl.Epoch() {
		t.Fatalf("producer epoch %d, consumer %d", pl.Epoch(), cl.Epoch())
	}
	if ev := cev.await(t, driverclient.EventEpochChanged); ev.Info.Epoch != pl.Epoch() {
		t.Fatalf("consumer moved to epoch %d, producer has %d", ev.Info.Epoch, pl.Epoch())
	}

	// A second producer is refused with the driver's code and message.
	_, err := cc.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleProducer})
	var re *driverclient.ResponseError
	if !errors.As(err, &re) || !errors.Is(err, driverclient.ErrRejected) {
		t.Fatalf("second producer: %v", err)
	}
	t.Logf("second producer: %v", err)

	// The regions map, and a frame goes from producer to consumer.
	allow, err := pc.AllowList()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := mapLease(pl.Info(), allow, true)
	if err != nil {
		t.Fatal(err)
	}
	defer pm.close()
	prod, err := pool.NewProducer(pm.regions[0], pm.regions[1:], 0)
	if err != nil {
		t.Fatal(err)
	}
	passFrame(t, prod, cl, allow, "hello")

	if err := pc.Detach(ctx, pl); err != nil {
		t.Fatal(err)
	}
	if err := cc.Detach(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if pl.Usable() || cl.Usable() || pl.State() != driverclient.Closed {
		t.Fatal("usable after detach")
	}
	if s := d.Stats(); s.ActiveLeases != 0 || s.Detaches != 2 {
		t.Fatalf("driver stats %+v", s)
	}
}

// attachBoth attaches a consumer lease for testStream through cc, then a
// producer lease through pc.
func attachBoth(ctx context.Context, t *testing.T, cc, pc *driverclient.Client) (cl, pl *driverclient.Lease) {
	t.Helper()
	cl, err := cc.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer})
	if err != nil {
		t.Fatal(err)
	}
	pl, err = pc.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleProducer})
	if err != nil {
		t.Fatal(err)
	}
	return cl, pl
}

// passFrame publishes payload as a uint8 tensor through prod and checks
// that a consumer attached to the consumer lease cl's announcement reads it
// back at cl's epoch.
func passFrame(t *testing.T, prod *pool.Producer, cl *driverclient.Lease, allow *pool.AllowList, payload string) {
	t.Helper()
	at, err := pool.Attach(cl.Announcement(), allow, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	h, err := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, int32(len(payload)))
	if err != nil {
		t.Fatal(err)
	}
	seq, err := prod.Publish([]byte(payload), &pool.FrameMeta{Tensor: h})
	if err != nil {
		t.Fatal(err)
	}
	f, drop := at.Consumer.Read(cl.Epoch(), seq)
	if drop != pool.DropNone || string(f.Payload[:len(payload)]) != payload {
		t.Fatalf("read: drop %v payload %q", drop, f.Payload)
	}
}
