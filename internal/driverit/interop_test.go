package driverit

import (
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// TestAttachToTensorPoolCDriver (gated on TPOOL_TPC_BIN): tpool's driver
// client attaches to tensor_pool_c's tp_driver as consumer and producer,
// receives valid leases (the client's protocol checks pass), maps every
// region (path containment, superblocks against the lease), keeps the
// leases alive past the driver's expiry and detaches.
func TestAttachToTensorPoolCDriver(t *testing.T) {
	bin := tpcBin(t)
	e := newEnv(t)
	e.startTPCDriver(bin)
	a := e.connect()
	ev := newEvents()
	c := e.newClient(a, ev)
	ctx := testCtx(t)

	cl, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleProducer})
	if err != nil {
		t.Fatal(err)
	}
	pi := pl.Info()
	t.Logf("producer lease %d epoch %d header %s pools %+v", pi.LeaseID, pi.Epoch, pi.HeaderURI, pi.Pools)
	allow, err := c.AllowList()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := mapLease(pi, allow, true)
	if err != nil {
		t.Fatal(err)
	}
	defer pm.close()
	prod, err := pool.NewProducer(pm.regions[0], pm.regions[1:], 0)
	if err != nil {
		t.Fatal(err)
	}

	// The consumer follows the producer's epoch from tp_driver's announce.
	if e := ev.await(t, driverclient.EventEpochChanged); e.Info.Epoch != pi.Epoch {
		t.Fatalf("consumer at epoch %d, producer %d", e.Info.Epoch, pi.Epoch)
	}
	passFrame(t, prod, cl, allow, "abc")

	// Keepalives hold the leases past tp_driver's expiry (grace x interval).
	for range 2 * (expiryGrace + 1) {
		select {
		case e := <-ev.ch:
			if e.Kind != driverclient.EventAttached && e.Kind != driverclient.EventEpochChanged {
				t.Fatalf("event %v during keepalive: %v", e.Kind, e.Err)
			}
		case <-time.After(keepaliveInterval):
		}
	}
	if !pl.Usable() || !cl.Usable() {
		t.Fatal("lease lost while keeping alive")
	}
	if err := c.Detach(ctx, pl); err != nil {
		t.Fatal(err)
	}
	if err := c.Detach(ctx, cl); err != nil {
		t.Fatal(err)
	}
}
