package driverit

import (
	"testing"

	"github.com/tpool-go/tpool/runtime/driverclient"
)

// TestRevokeAndShutdownThroughTpoold: an administrative revoke of a
// producer lease reaches the producer (Revoked, then Reattached with a new
// lease and epoch) and its consumer (ProducerRevoked, then EpochChanged);
// a graceful driver shutdown reaches both (DriverShutdown), and they
// reattach to the next driver.
func TestRevokeAndShutdownThroughTpoold(t *testing.T) {
	e := newEnv(t)
	d := e.startDriver()
	a := e.connect()
	pev, cev := newEvents(), newEvents()
	pc, cc := e.newClient(a, pev), e.newClient(a, cev)
	ctx := testCtx(t)
	cl, pl := attachBoth(ctx, t, cc, pc)
	cev.await(t, driverclient.EventEpochChanged)
	old := pl.Info()

	if err := d.RevokeLease(ctx, old.LeaseID, "test"); err != nil {
		t.Fatal(err)
	}
	if ev := pev.await(t, driverclient.EventRevoked); ev.Reason != driverclient.RevokeReason(3) || ev.Info.LeaseID != old.LeaseID {
		t.Fatalf("producer: %+v", ev)
	}
	ev := pev.await(t, driverclient.EventReattached)
	if ev.Info.LeaseID == old.LeaseID || ev.Info.Epoch <= old.Epoch || !pl.Usable() {
		t.Fatalf("reattached %+v after %+v", ev.Info, old)
	}
	cev.await(t, driverclient.EventProducerRevoked)
	for cl.Epoch() < ev.Info.Epoch {
		cev.await(t, driverclient.EventEpochChanged)
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	pev.await(t, driverclient.EventDriverShutdown)
	cev.await(t, driverclient.EventDriverShutdown)
	if pl.Usable() || cl.Usable() {
		t.Fatal("usable after the driver's shutdown")
	}
	e.startDriver()
	pev.await(t, driverclient.EventReattached)
	cev.await(t, driverclient.EventReattached)
	if !pl.Usable() {
		t.Fatal("producer not usable after reattaching")
	}
}
