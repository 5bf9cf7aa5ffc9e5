package driverclient

import (
	"errors"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/control"
)

// Sessions in these tests: the driver's, a hostile publisher's, and the
// one a third-party driver announces from on a separate stream.
const (
	driverSession  = 42
	hostileSession = 666
	otherSession   = 7
)

// from makes what the test sends next come from session, on the separate
// announce stream if ann.
func (h *harness) from(session int32, ann bool) {
	h.f.session, h.f.announceStream = session, ann
}

// announceLease announces exactly what info holds, at epoch.
func (h *harness) announceLease(info *LeaseInfo, epoch uint64) {
	a := &control.PoolAnnounce{StreamID: info.StreamID, Epoch: epoch, TimestampNs: uint64(h.now), ClockDomain: wire.ClockDomainMonotonic,
		LayoutVersion: info.LayoutVersion, HeaderNslots: info.HeaderNslots, HeaderSlotBytes: uint16(info.HeaderSlotBytes),
		HeaderURI: info.HeaderURI}
	for _, p := range info.Pools {
		a.Pools = append(a.Pools, control.Pool{PoolID: p.ID, Nslots: p.NSlots, StrideBytes: p.StrideBytes, RegionURI: p.URI})
	}
	if !control.Sent(h.drv.SendPoolAnnounce(a)) {
		h.t.Fatal("announce not encoded")
	}
}

// attachedFrom attaches req with the driver answering from driverSession.
func (h *harness) attachedFrom(req AttachRequest) *Lease {
	h.t.Helper()
	h.from(driverSession, false)
	return h.attached(req)
}

func TestForeignAnnouncesAreDropped(t *testing.T) {
	for _, ann := range []bool{false, true} {
		name := map[bool]string{false: "control stream", true: "announce stream"}[ann]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			cons := h.attachedFrom(consumer)
			prod := h.attachedFrom(AttachRequest{StreamID: consumer.StreamID, Role: RoleProducer})
			epoch := cons.Info().Epoch
			if ann { // the driver announces there from its own session: known
				h.from(driverSession, true)
				h.announceLease(cons.Info(), epoch)
				h.run(time.Millisecond)
			}
			h.events = nil
			// A higher epoch from anyone else: nothing changes, for
			// consumers and producers alike.
			h.from(hostileSession, ann)
			for i := range 5 {
				h.announce(consumer.StreamID, epoch+1000+uint64(i), h.now)
			}
			h.run(time.Millisecond)
			if cons.Info().Epoch != epoch || !cons.Usable() || !prod.Usable() || prod.State() != Attached || len(h.events) != 0 {
				t.Fatalf("epoch %d (want %d), usable %v/%v, events %v", cons.Info().Epoch, epoch, cons.Usable(), prod.Usable(), h.kinds())
			}
			// Counted once per lease it was for.
			if st := h.c.Stats(); st.Foreign != 10 {
				t.Fatalf("foreign %d, want 10", st.Foreign)
			}
			// The driver's own announce still moves the consumer on.
			h.from(driverSession, ann)
			h.announce(consumer.StreamID, epoch+1, h.now)
			h.run(time.Millisecond)
			if cons.Info().Epoch != epoch+1 || h.events[0].Kind != EventEpochChanged {
				t.Fatalf("epoch %d after the driver's announce, events %v", cons.Info().Epoch, h.kinds())
			}
		})
	}
}

// Foreign announces are no sign of the driver's life: a lease that hears
// only them loses its driver after DriverTimeout.
func TestForeignAnnouncesDoNotKeepTheLeaseAlive(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attachedFrom(consumer)
	h.from(hostileSession, false)
	for range 40 {
		h.announceLease(l.Info(), l.Info().Epoch)
		h.run(100 * time.Millisecond)
	}
	if l.Usable() || !hasKind(h.kinds(), EventDriverLost) {
		t.Fatalf("usable %v after 4 s of foreign announces only, events %v", l.Usable(), h.kinds())
	}
}

func hasKind(ks []EventKind, k EventKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func TestForeignLeaseEventsAreDropped(t *testing.T) {
	h := newHarness(t, nil)
	cons := h.attachedFrom(consumer)
	prod := h.attachedFrom(AttachRequest{StreamID: consumer.StreamID, Role: RoleProducer})
	h.events = nil
	h.from(hostileSession, false)
	h.revoke(prod.Info(), RoleProducer, driver.LeaseRevokeReasonRevoked) // the producer's own, and the consumer's stream
	h.revoke(cons.Info(), RoleConsumer, driver.LeaseRevokeReasonRevoked)
	h.drv.SendDriverShutdown(uint64(h.now), driver.ShutdownReasonAdmin, "bye")
	h.run(time.Millisecond)
	if !cons.Usable() || !prod.Usable() || len(h.events) != 0 {
		t.Fatalf("usable %v/%v, events %v", cons.Usable(), prod.Usable(), h.kinds())
	}
	if st := h.c.Stats(); st.Foreign != 6 || st.Revoked != 0 {
		t.Fatalf("foreign %d revoked %d, want 6 and 0", st.Foreign, st.Revoked)
	}
	// From the driver they count.
	h.from(driverSession, false)
	h.drv.SendDriverShutdown(uint64(h.now), driver.ShutdownReasonAdmin, "bye")
	h.run(time.Millisecond)
	if cons.Usable() || prod.Usable() {
		t.Fatal("still usable after the driver's shutdown notice")
	}
}

// A driver that announces on a separate stream from a session of its own
// (tensor_pool_c's tp_driver) is learned from the first announce that
// states exactly the lease; then only it counts.
func TestAnnounceSourceLearnedOnFirstUse(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attachedFrom(consumer)
	info := l.Info()
	// An announce that differs from the lease teaches nothing.
	h.from(hostileSession, true)
	h.announce(consumer.StreamID, info.Epoch, h.now) // other regions
	h.run(time.Millisecond)
	if l.annPinned || h.c.Stats().Foreign != 1 {
		t.Fatalf("pinned %v, foreign %d", l.annPinned, h.c.Stats().Foreign)
	}
	// The same content on the control stream teaches nothing either.
	h.from(otherSession, false)
	h.announceLease(info, info.Epoch)
	h.run(time.Millisecond)
	if l.annPinned {
		t.Fatal("learned from the control stream")
	}
	h.from(otherSession, true)
	h.announceLease(info, info.Epoch)
	h.run(time.Millisecond)
	if !l.annPinned || l.annSession != otherSession {
		t.Fatalf("pinned %v session %d", l.annPinned, l.annSession)
	}
	h.from(hostileSession, true)
	h.announce(consumer.StreamID, info.Epoch+100, h.now)
	h.run(time.Millisecond)
	if l.Info().Epoch != info.Epoch {
		t.Fatal("took a higher epoch from a third session")
	}
	h.from(otherSession, true)
	h.announce(consumer.StreamID, info.Epoch+1, h.now)
	h.run(time.Millisecond)
	if l.Info().Epoch != info.Epoch+1 {
		t.Fatalf("epoch %d, want the learned source's %d", l.Info().Epoch, info.Epoch+1)
	}
	// A new grant forgets the learned source.
	h.from(driverSession, false)
	h.drv.SendDriverShutdown(uint64(h.now), driver.ShutdownReasonAdmin, "bye")
	h.run(time.Millisecond)
	h.run(2 * time.Second)
	h.respond(h.okResponse(h.lastAttach()))
	h.run(time.Millisecond)
	if l.State() != Attached || l.annPinned {
		t.Fatalf("state %v pinned %v after the reattach", l.State(), l.annPinned)
	}
}

// Once the driver announces from its response's session (tpoold), nothing
// else is learned.
func TestDriverSessionOverridesLearning(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attachedFrom(consumer)
	info := l.Info()
	h.from(hostileSession, true)
	h.announceLease(info, info.Epoch) // the race: first
	h.from(driverSession, true)
	h.announceLease(info, info.Epoch)
	h.from(hostileSession, true)
	h.announce(consumer.StreamID, info.Epoch+100, h.now)
	h.run(time.Millisecond)
	if l.Info().Epoch != info.Epoch || l.annPinned || !l.driverAnn {
		t.Fatalf("epoch %d pinned %v driverAnn %v", l.Info().Epoch, l.annPinned, l.driverAnn)
	}
	h.announceLease(info, info.Epoch) // and no learning any more
	h.run(time.Millisecond)
	if l.annPinned {
		t.Fatal("learned a session after the driver's own announced")
	}
}

// Until the announce source is known, a higher epoch on the announce stream
// makes a consumer ask the driver again, at once, at most once per
// DriverTimeout; the driver's answer is what counts.
func TestUnknownAnnouncerIsConfirmedByReattach(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attachedFrom(consumer)
	old := l.Info()
	attaches := len(h.f.attaches)
	h.events = nil
	h.from(otherSession, true)
	h.announce(consumer.StreamID, old.Epoch+1, h.now)
	h.run(time.Millisecond)
	if l.Usable() || len(h.events) != 1 || !errors.Is(h.events[0].Err, ErrUnconfirmed) {
		t.Fatalf("usable %v, events %v", l.Usable(), h.kinds())
	}
	h.run(time.Millisecond)
	if len(h.f.attaches) != attaches+1 {
		t.Fatalf("%d attach requests after the unconfirmed announce, want 1 at once", len(h.f.attaches)-attaches)
	}
	h.from(driverSession, false)
	r := h.okResponse(h.lastAttach())
	h.respond(r)
	h.run(time.Millisecond)
	if l.State() != Attached || l.Info().Epoch != r.Epoch || h.lastEvent().Kind != EventReattached {
		t.Fatalf("state %v epoch %d (driver's %d), events %v", l.State(), l.Info().Epoch, r.Epoch, h.kinds())
	}
	// Another one within DriverTimeout: dropped, no reattach.
	h.from(hostileSession, true)
	h.announce(consumer.StreamID, r.Epoch+1, h.now)
	h.run(time.Millisecond)
	if !l.Usable() || len(h.f.attaches) != attaches+1 {
		t.Fatalf("usable %v, %d attach requests", l.Usable(), len(h.f.attaches)-attaches)
	}
}

// Dropping a foreign announce, the path a flood of them takes, allocates
// nothing.
func TestForeignAnnounceDoesNotAllocate(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attachedFrom(consumer)
	h.from(driverSession, true) // the source is known: no confirming reattach
	h.announceLease(l.Info(), l.Info().Epoch)
	h.run(time.Millisecond)
	h.from(hostileSession, true)
	h.announce(consumer.StreamID, l.Info().Epoch+1, h.now)
	msg := h.f.inbox[0]
	h.f.inbox = h.f.inbox[:0]
	h.f.cur = msg
	if n := testing.AllocsPerRun(1000, func() { h.f.poller.Handle(msg.b) }); n != 0 {
		t.Fatalf("%v allocations per foreign announce", n)
	}
	if h.c.Stats().Foreign < 1000 || !l.Usable() {
		t.Fatalf("foreign %d, usable %v", h.c.Stats().Foreign, l.Usable())
	}
}
