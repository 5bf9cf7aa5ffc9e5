package driverclient

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/control"
)

var consumer = AttachRequest{StreamID: 10000, Role: RoleConsumer}
var producer = AttachRequest{StreamID: 10000, Role: RoleProducer, PublishMode: ExistingOrCreate}

func TestAttachSendsTheRequestAndKeepsAlive(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attach(AttachRequest{StreamID: 7, Role: RoleProducer, PublishMode: RequireExisting, ExpectedLayoutVersion: 1,
		RequireHugepages: driver.HugepagesPolicyStandard, DesiredNodeID: 9, RequestNodeID: true})
	req := h.lastAttach()
	if req.ClientID == 0 || req.CorrelationID <= 0 || req.StreamID != 7 || req.Role != RoleProducer ||
		req.PublishMode != RequireExisting || req.ExpectedLayoutVersion != 1 || req.DesiredNodeID != 9 ||
		req.RequireHugepages != driver.HugepagesPolicyStandard {
		t.Fatalf("request %+v", req)
	}
	if l.Usable() || l.Info() != nil {
		t.Fatal("usable before the response")
	}
	resp := h.okResponse(req)
	resp.NodeID = 9
	h.respond(resp)
	h.run(time.Millisecond)
	if l.State() != Attached || !l.Usable() {
		t.Fatalf("state %v", l.State())
	}
	i := l.Info()
	if i.LeaseID != resp.LeaseID || i.Epoch != resp.Epoch || i.ClientID != req.ClientID || !i.HasNodeID || i.NodeID != 9 ||
		i.HeaderURI != resp.HeaderURI || len(i.Pools) != 1 || i.Pools[0].URI != resp.Pools[0].RegionURI {
		t.Fatalf("info %+v", i)
	}
	a := l.Announcement()
	if a.Epoch != i.Epoch || a.NSlots != 64 || a.HeaderURI != i.HeaderURI || a.Pools[0].StrideBytes != 4096 {
		t.Fatalf("announcement %+v", a)
	}
	if got := h.kinds(); !slices.Equal(got, []EventKind{EventAttached}) {
		t.Fatalf("events %v", got)
	}
	h.f.keepalives = make([]control.Keepalive, 0, 16)
	for range 5 {
		h.announce(7, i.Epoch, h.now)
		h.run(time.Second)
	}
	if len(h.f.keepalives) != 5 {
		t.Fatalf("%d keepalives in 5 intervals", len(h.f.keepalives))
	}
	ka := h.f.keepalives[0]
	if ka.LeaseID != i.LeaseID || ka.StreamID != 7 || ka.ClientID != i.ClientID || ka.Role != RoleProducer {
		t.Fatalf("keepalive %+v", ka)
	}
}

func TestKeepaliveDoesNotAllocate(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(consumer)
	h.f.status = 1
	n := testing.AllocsPerRun(1000, func() {
		h.now += int64(time.Second)
		l.lastAnnounce = h.now
		h.c.DoWork(h.now)
	})
	if n != 0 {
		t.Fatalf("%v allocations per keepalive cycle", n)
	}
	if h.c.Stats().Keepalives < 1000 {
		t.Fatalf("%d keepalives", h.c.Stats().Keepalives)
	}
	// An announce of the same epoch does not allocate either.
	ep := l.Epoch()
	h.announce(consumer.StreamID, ep, h.now)
	msg := h.f.inbox[0].b
	h.f.inbox = h.f.inbox[:0]
	if n := testing.AllocsPerRun(1000, func() { h.f.poller.Handle(msg) }); n != 0 {
		t.Fatalf("%v allocations per announce", n)
	}
}

func TestAttachTimeoutRetriesWithBackoff(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attach(consumer)
	first := h.lastAttach()
	h.run(5 * time.Second)
	if l.State() != Backoff || !errors.Is(h.lastEvent().Err, ErrTimeout) {
		t.Fatalf("state %v, events %v", l.State(), h.kinds())
	}
	h.run(999 * time.Millisecond)
	if len(h.f.attaches) != 1 {
		t.Fatal("retried before the backoff")
	}
	h.run(time.Millisecond)
	second := h.lastAttach()
	if len(h.f.attaches) != 2 || second.CorrelationID == first.CorrelationID || second.ClientID != first.ClientID {
		t.Fatalf("retry %+v after %+v", second, first)
	}
	// Backoff doubles: 1 s, 2 s, 4 s, capped at 4 s.
	var gaps []time.Duration
	for range 3 {
		h.run(5 * time.Second) // timeout
		start := h.now
		for n := len(h.f.attaches); len(h.f.attaches) == n; {
			h.run(100 * time.Millisecond)
		}
		gaps = append(gaps, time.Duration(h.now-start))
	}
	if want := []time.Duration{2 * time.Second, 4 * time.Second, 4 * time.Second}; !slices.Equal(gaps, want) {
		t.Fatalf("backoffs %v, want %v", gaps, want)
	}
	// A late OK to the attempt before the current one is still taken.
	prev := h.f.attaches[len(h.f.attaches)-2]
	h.respond(h.okResponse(prev))
	h.run(time.Millisecond)
	if l.State() != Attached {
		t.Fatalf("late OK: state %v", l.State())
	}
}

func TestRejectionIsFinalForAFirstAttach(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attach(producer)
	h.respond(&control.AttachResponse{CorrelationID: h.lastAttach().CorrelationID, Code: driver.ResponseCodeRejected,
		ErrorMessage: "producer already attached"})
	h.run(time.Millisecond)
	if l.State() != Closed {
		t.Fatalf("state %v", l.State())
	}
	<-l.outcome
	var re *ResponseError
	if !errors.As(l.err, &re) || re.Code != driver.ResponseCodeRejected || re.Message != "producer already attached" || !errors.Is(l.err, ErrRejected) {
		t.Fatalf("err %v", l.err)
	}
}

func TestClientIDInUseRetriesWithANewID(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attach(consumer)
	first := h.lastAttach()
	h.respond(&control.AttachResponse{CorrelationID: first.CorrelationID, Code: driver.ResponseCodeRejected, ErrorMessage: clientIDInUse})
	h.run(time.Millisecond)
	h.run(time.Second)
	second := h.lastAttach()
	if l.State() != Attaching || second.ClientID == first.ClientID || second.ClientID == 0 {
		t.Fatalf("state %v, client ids %d then %d", l.State(), first.ClientID, second.ClientID)
	}

	// A fixed client id is not replaced: the rejection is final.
	h2 := newHarness(t, func(c *Config) { c.ClientID = 42 })
	l2 := h2.attach(consumer)
	if h2.lastAttach().ClientID != 42 {
		t.Fatal("fixed client id not used")
	}
	h2.respond(&control.AttachResponse{CorrelationID: h2.lastAttach().CorrelationID, Code: driver.ResponseCodeRejected, ErrorMessage: clientIDInUse})
	h2.run(time.Millisecond)
	if l2.State() != Closed || !errors.Is(l2.err, ErrRejected) {
		t.Fatalf("fixed id: state %v err %v", l2.State(), l2.err)
	}
}

func TestProtocolErrorsFailClosedAndRetry(t *testing.T) {
	tests := []struct {
		name string
		mod  func(h *harness, r *control.AttachResponse)
	}{
		{"null lease id", func(_ *harness, r *control.AttachResponse) { r.LeaseID = control.NullU64 }},
		{"null epoch", func(_ *harness, r *control.AttachResponse) { r.Epoch = control.NullU64 }},
		{"null stream id", func(_ *harness, r *control.AttachResponse) { r.StreamID = control.NullU32 }},
		{"null layout version", func(_ *harness, r *control.AttachResponse) { r.LayoutVersion = control.NullU32 }},
		{"null header nslots", func(_ *harness, r *control.AttachResponse) { r.HeaderNslots = control.NullU32 }},
		{"header slot bytes 128", func(_ *harness, r *control.AttachResponse) { r.HeaderSlotBytes = 128 }},
		{"no pools", func(_ *harness, r *control.AttachResponse) { r.Pools = nil }},
		{"pool nslots unlike header", func(_ *harness, r *control.AttachResponse) { r.Pools[0].Nslots = 32 }},
		{"empty header URI", func(_ *harness, r *control.AttachResponse) { r.HeaderURI = "" }},
		{"blank header URI", func(_ *harness, r *control.AttachResponse) { r.HeaderURI = "   " }},
		{"empty pool URI", func(_ *harness, r *control.AttachResponse) { r.Pools[0].RegionURI = "" }},
		{"unknown scheme", func(_ *harness, r *control.AttachResponse) { r.HeaderURI = "file:///x/header.ring" }},
		{"unknown parameter", func(h *harness, r *control.AttachResponse) {
			r.HeaderURI = "shm:file?path=" + h.dir + "/header.ring|mode=rw"
		}},
		{"outside allowed dirs", func(_ *harness, r *control.AttachResponse) { r.HeaderURI = "shm:file?path=/etc/passwd" }},
		{"dot-dot escape", func(h *harness, r *control.AttachResponse) {
			r.Pools[0].RegionURI = "shm:file?path=" + h.dir + "/../../etc/1.pool"
		}},
		{"other stream", func(_ *harness, r *control.AttachResponse) { r.StreamID++ }},
		{"zero stride", func(_ *harness, r *control.AttachResponse) { r.Pools[0].StrideBytes = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			l := h.attach(consumer)
			r := h.okResponse(h.lastAttach())
			tt.mod(h, r)
			h.respond(r)
			h.run(time.Millisecond)
			if l.State() != Backoff || l.Usable() || l.Info() != nil {
				t.Fatalf("state %v usable %v", l.State(), l.Usable())
			}
			if e := h.lastEvent(); e.Kind != EventAttachFailed || !errors.Is(e.Err, ErrProtocol) {
				t.Fatalf("event %v %v", e.Kind, e.Err)
			}
			h.run(time.Second)
			if l.State() != Attaching || len(h.f.attaches) != 2 {
				t.Fatalf("no reattach: state %v", l.State())
			}
		})
	}
}

// rawResponse encodes r, then lets mod change the bytes.
func (h *harness) rawResponse(r *control.AttachResponse, mod func([]byte)) {
	h.respond(r)
	mod(h.f.inbox[len(h.f.inbox)-1].b)
}

func TestMalformedHeadersFailClosed(t *testing.T) {
	tests := []struct {
		name string
		mod  func(b []byte)
	}{
		{"schema version too high", func(b []byte) { binary.LittleEndian.PutUint16(b[6:], driver.SchemaVersion+1) }},
		{"unknown response code", func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 77) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			l := h.attach(consumer)
			h.rawResponse(h.okResponse(h.lastAttach()), tt.mod)
			h.run(time.Millisecond)
			if l.State() != Backoff || l.Usable() {
				t.Fatalf("state %v", l.State())
			}
			if e := h.lastEvent(); !errors.Is(e.Err, ErrProtocol) {
				t.Fatalf("event %v %v", e.Kind, e.Err)
			}
		})
	}
}

func TestDuplicatesOfAnAcceptedOKAreIgnored(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attach(consumer)
	req := h.lastAttach()
	ok := h.okResponse(req)
	h.respond(ok)
	h.run(time.Millisecond)
	info := l.Info()
	dup := *ok
	dup.LeaseID, dup.Epoch = 999, 999
	h.respond(&dup)
	h.respond(&control.AttachResponse{CorrelationID: req.CorrelationID, Code: driver.ResponseCodeRejected, ErrorMessage: "late"})
	h.run(time.Millisecond)
	if l.State() != Attached || l.Info() != info || !l.Usable() {
		t.Fatalf("state %v, info %+v", l.State(), l.Info())
	}
	if got := h.kinds(); !slices.Equal(got, []EventKind{EventAttached}) {
		t.Fatalf("events %v", got)
	}
	if h.c.Stats().IgnoredResponses != 2 {
		t.Fatalf("ignored %d", h.c.Stats().IgnoredResponses)
	}
}

func (h *harness) revoke(info *LeaseInfo, role Role, reason RevokeReason) {
	if !control.Sent(h.drv.SendLeaseRevoked(&control.LeaseRevoked{TimestampNs: uint64(h.now), LeaseID: info.LeaseID,
		StreamID: info.StreamID, ClientID: info.ClientID, Role: role, Reason: reason, ErrorMessage: "lease expired"})) {
		h.t.Fatal("revoke not encoded")
	}
}

func TestOwnRevocationReattaches(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(producer)
	old := l.Info()
	h.revoke(old, RoleProducer, driver.LeaseRevokeReasonExpired)
	h.revoke(old, RoleProducer, driver.LeaseRevokeReasonExpired) // duplicates are harmless
	h.run(time.Millisecond)
	if l.Usable() || l.State() != Backoff {
		t.Fatalf("after revoke: usable %v state %v", l.Usable(), l.State())
	}
	e := h.lastEvent()
	if e.Kind != EventRevoked || e.Reason != driver.LeaseRevokeReasonExpired || e.Message != "lease expired" || !errors.Is(e.Err, ErrRevoked) {
		t.Fatalf("event %+v", e)
	}
	h.run(time.Second)
	req := h.lastAttach()
	if req.ClientID != old.ClientID {
		t.Fatalf("reattach with client id %d, was %d", req.ClientID, old.ClientID)
	}
	h.respond(h.okResponse(req))
	h.run(time.Millisecond)
	if !l.Usable() || l.Info().Epoch <= old.Epoch || h.lastEvent().Kind != EventReattached {
		t.Fatalf("usable %v epoch %d, events %v", l.Usable(), l.Epoch(), h.kinds())
	}
	if got := h.kinds(); !slices.Equal(got, []EventKind{EventAttached, EventRevoked, EventReattached}) {
		t.Fatalf("events %v", got)
	}
}

func TestRevocationOfOthersIsIgnored(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(producer)
	other := *l.Info()
	other.LeaseID++
	h.revoke(&other, RoleProducer, driver.LeaseRevokeReasonRevoked)
	other = *l.Info()
	other.StreamID++
	h.revoke(&other, RoleProducer, driver.LeaseRevokeReasonRevoked)
	h.run(time.Millisecond)
	if !l.Usable() || len(h.events) != 1 {
		t.Fatalf("usable %v events %v", l.Usable(), h.kinds())
	}
}

func TestMalformedRevocationOfOwnLeaseFailsClosed(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(producer)
	h.revoke(l.Info(), RoleProducer, driver.LeaseRevokeReasonRevoked)
	b := h.f.inbox[0].b
	b[len(b)-4-len("lease expired")-1] = 99 // the reason byte, just before the errorMessage
	h.run(time.Millisecond)
	if l.Usable() || h.lastEvent().Kind != EventLeaseLost || !errors.Is(h.lastEvent().Err, ErrProtocol) {
		t.Fatalf("usable %v events %v", l.Usable(), h.kinds())
	}
	if len(h.f.detaches) != 1 {
		t.Fatal("no best-effort detach of a lease that may still be held")
	}
}

func TestConsumerWaitsForTheNewEpochAfterItsProducerIsRevoked(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(consumer)
	info := l.Info()
	prod := &LeaseInfo{LeaseID: 5, StreamID: info.StreamID, ClientID: 77}
	h.revoke(prod, RoleProducer, driver.LeaseRevokeReasonExpired)
	h.run(time.Millisecond)
	if l.Usable() || l.State() != Attached || h.lastEvent().Kind != EventProducerRevoked {
		t.Fatalf("usable %v state %v events %v", l.Usable(), l.State(), h.kinds())
	}
	h.announce(info.StreamID, info.Epoch, h.now) // the old epoch changes nothing
	h.run(time.Millisecond)
	if l.Usable() {
		t.Fatal("usable again on the old epoch")
	}
	h.announce(info.StreamID, info.Epoch+5, h.now)
	h.run(time.Millisecond)
	ni := l.Info()
	if !l.Usable() || ni.Epoch != info.Epoch+5 || ni.LeaseID != info.LeaseID || ni.HeaderURI == info.HeaderURI ||
		h.lastEvent().Kind != EventEpochChanged {
		t.Fatalf("usable %v info %+v events %v", l.Usable(), ni, h.kinds())
	}

	// Without the new epoch within 3 announce periods: lost, reattached.
	h.revoke(prod, RoleProducer, driver.LeaseRevokeReasonExpired)
	h.run(time.Millisecond)
	for range 3 {
		h.announce(info.StreamID, ni.Epoch, h.now)
		h.run(time.Second)
	}
	if l.State() != Backoff || h.lastEvent().Kind != EventLeaseLost || !errors.Is(h.lastEvent().Err, ErrExpired) {
		t.Fatalf("state %v events %v", l.State(), h.kinds())
	}
}

func TestConsumerFollowsEpochsAndProducerDoesNot(t *testing.T) {
	h := newHarness(t, nil)
	c := h.attached(consumer)
	p := h.attached(AttachRequest{StreamID: consumer.StreamID, Role: RoleProducer})
	ce, pe := c.Epoch(), p.Epoch()
	h.announce(consumer.StreamID, pe+1, h.now)
	h.run(time.Millisecond)
	if c.Epoch() != pe+1 || !c.Usable() {
		t.Fatalf("consumer epoch %d (was %d)", c.Epoch(), ce)
	}
	if p.Usable() || p.State() != Backoff {
		t.Fatalf("producer superseded by a higher epoch still usable: %v", p.State())
	}
}

func TestStaleAnnouncesMeanDriverLost(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(consumer)
	ep := l.Epoch()
	for range 10 {
		h.announce(consumer.StreamID, ep, h.now)
		h.run(time.Second)
	}
	if !l.Usable() {
		t.Fatal("lost with fresh announces")
	}
	// Announces that are old, from before the join, or of another stream
	// do not count.
	h.announce(consumer.StreamID, ep, h.now-int64(4*time.Second))
	h.announce(consumer.StreamID, ep, h.c.joinTime-1)
	h.announce(consumer.StreamID+1, ep, h.now)
	h.run(time.Second)
	h.run(time.Second)
	if !l.Usable() {
		t.Fatal("lost before 3 announce periods")
	}
	h.run(time.Second + time.Millisecond)
	if l.Usable() || h.lastEvent().Kind != EventDriverLost || !errors.Is(h.lastEvent().Err, ErrDriverLost) {
		t.Fatalf("usable %v events %v", l.Usable(), h.kinds())
	}
	if h.c.Stats().StaleAnnounces != 2 {
		t.Fatalf("stale %d", h.c.Stats().StaleAnnounces)
	}
}

func TestDriverShutdownInvalidatesEveryLease(t *testing.T) {
	h := newHarness(t, nil)
	a := h.attached(consumer)
	b := h.attached(AttachRequest{StreamID: 10001, Role: RoleProducer})
	h.drv.SendDriverShutdown(uint64(h.now), driver.ShutdownReasonAdmin, "bye")
	h.run(time.Millisecond)
	for _, l := range []*Lease{a, b} {
		if l.Usable() || l.State() != Backoff {
			t.Fatalf("state %v", l.State())
		}
	}
	if e := h.lastEvent(); e.Kind != EventDriverShutdown || e.Shutdown != driver.ShutdownReasonAdmin || e.Message != "bye" {
		t.Fatalf("event %+v", e)
	}
	h.run(time.Second)
	if a.State() != Attaching || b.State() != Attaching {
		t.Fatal("no reattach after shutdown")
	}

	// A lease the driver revoked just before shutting down hears of the
	// shutdown too.
	h2 := newHarness(t, nil)
	l := h2.attached(consumer)
	h2.revoke(l.Info(), RoleConsumer, driver.LeaseRevokeReasonRevoked)
	h2.drv.SendDriverShutdown(uint64(h2.now), driver.ShutdownReasonNormal, "")
	h2.run(time.Millisecond)
	if got := h2.kinds(); !slices.Equal(got, []EventKind{EventAttached, EventRevoked, EventDriverShutdown}) {
		t.Fatalf("events %v", got)
	}
}

func TestKeepaliveFailures(t *testing.T) {
	t.Run("not connected", func(t *testing.T) {
		h := newHarness(t, nil)
		l := h.attached(consumer)
		h.f.status = aeron.NotConnected
		h.run(time.Second)
		if l.Usable() || h.lastEvent().Kind != EventDriverLost {
			t.Fatalf("events %v", h.kinds())
		}
	})
	t.Run("back pressure until expiry", func(t *testing.T) {
		h := newHarness(t, nil)
		l := h.attached(consumer)
		h.f.status = aeron.BackPressured
		for range 2 {
			h.announce(consumer.StreamID, l.Epoch(), h.now)
			h.run(time.Second)
		}
		if !l.Usable() {
			t.Fatal("lost before the grace")
		}
		h.announce(consumer.StreamID, l.Epoch(), h.now)
		h.run(time.Second + time.Millisecond)
		if l.Usable() || h.lastEvent().Kind != EventLeaseLost || !errors.Is(h.lastEvent().Err, ErrExpired) {
			t.Fatalf("events %v", h.kinds())
		}
	})
}

func TestDetach(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(consumer)
	h.c.abandon(l)
	h.run(time.Millisecond)
	if l.State() != Detaching || l.Usable() || len(h.f.detaches) != 1 {
		t.Fatalf("state %v", l.State())
	}
	d := h.f.detaches[0]
	if d.LeaseID != l.Info().LeaseID || d.ClientID != l.Info().ClientID || d.Role != RoleConsumer {
		t.Fatalf("detach %+v", d)
	}
	h.drv.SendDetachResponse(d.CorrelationID+1, driver.ResponseCodeOk, "") // not ours
	h.run(time.Millisecond)
	if l.State() != Detaching {
		t.Fatal("finished on another correlation id")
	}
	h.drv.SendDetachResponse(d.CorrelationID, driver.ResponseCodeOk, "")
	h.run(time.Millisecond)
	if l.State() != Closed || l.detachErr != nil || h.lastEvent().Kind != EventDetached {
		t.Fatalf("state %v err %v", l.State(), l.detachErr)
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("Done not closed")
	}
	if len(h.c.leases) != 0 {
		t.Fatal("closed lease kept")
	}

	// Detach without an answer ends after the timeout; detach while
	// attaching ends at once and detaches a late OK.
	l2 := h.attached(consumer)
	h.c.abandon(l2)
	h.run(time.Millisecond)
	h.run(5 * time.Second)
	if l2.State() != Closed || !errors.Is(l2.detachErr, ErrTimeout) {
		t.Fatalf("state %v err %v", l2.State(), l2.detachErr)
	}
	l3 := h.attach(consumer)
	req := h.lastAttach()
	h.c.abandon(l3)
	h.run(time.Millisecond)
	if l3.State() != Closed {
		t.Fatalf("state %v", l3.State())
	}
	n := len(h.f.detaches)
	h.respond(h.okResponse(req))
	h.run(time.Millisecond)
	if len(h.f.detaches) != n+1 {
		t.Fatal("a lease granted to an abandoned attach was not detached")
	}
}

func TestCloseDetachesBestEffort(t *testing.T) {
	h := newHarness(t, nil)
	l := h.attached(consumer)
	if err := h.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Close(); err != nil {
		t.Fatal(err)
	}
	if l.State() != Closed || len(h.f.detaches) != 1 || !h.f.closed {
		t.Fatalf("state %v, %d detaches", l.State(), len(h.f.detaches))
	}
	if _, err := h.c.AttachAsync(consumer); !errors.Is(err, ErrClosed) {
		t.Fatalf("attach after close: %v", err)
	}
}

func TestBadRequestsAndConfig(t *testing.T) {
	h := newHarness(t, nil)
	for _, r := range []AttachRequest{{StreamID: 1}, {StreamID: 1, Role: 9}, {StreamID: 1, Role: RoleConsumer, PublishMode: 7},
		{StreamID: 1, Role: RoleConsumer, RequireHugepages: 9}, {StreamID: 1, Role: RoleConsumer, RequestNodeID: true, DesiredNodeID: control.NullU32}} {
		if _, err := h.c.AttachAsync(r); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, c := range []Config{{AttachTimeout: -1}, {RetryBackoff: 2 * time.Second, MaxBackoff: time.Second},
		{AnnouncePeriod: time.Second, DriverTimeout: time.Millisecond}, {AllowedBaseDirs: []string{"rel"}}, {ControlStreamID: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	d := Config{}.WithDefaults()
	if d.AnnounceStreamID != 1000 || d.AnnounceChannel != DefaultControlChannel || d.DriverTimeout != 3*time.Second {
		t.Fatalf("defaults %+v", d)
	}
}

func TestIDs(t *testing.T) {
	seen := map[int64]bool{}
	for range 1000 {
		c := nextCorrelationID()
		if c <= 0 || seen[c] {
			t.Fatalf("correlation id %d", c)
		}
		seen[c] = true
		if id := nextClientID(); id == 0 || id == nullU32 {
			t.Fatalf("client id %d", id)
		}
	}
}
