package driverclient

import (
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/control"
)

// FuzzControlMessages feeds arbitrary bytes, as if read from the control
// stream, to a client holding a producer and a consumer lease and one
// attach in flight: it must not panic, and a lease is usable only while
// attached.
func FuzzControlMessages(f *testing.F) {
	h := newHarnessDir(&testing.T{}, fuzzDir, nil)
	seedReq := control.AttachRequest{CorrelationID: 77, StreamID: consumer.StreamID, Role: RoleConsumer}
	h.respond(h.okResponse(seedReq))
	h.revoke(&LeaseInfo{LeaseID: 101, StreamID: consumer.StreamID, ClientID: 5}, RoleProducer, driver.LeaseRevokeReasonExpired)
	h.announce(consumer.StreamID, 2000, h.now)
	h.drv.SendDriverShutdown(1, driver.ShutdownReasonNormal, "x")
	h.drv.SendDetachResponse(78, driver.ResponseCodeOk, "")
	for _, m := range h.f.inbox {
		f.Add(m.b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newHarnessDir(t, fuzzDir, nil)
		a := h.attached(consumer)
		p := h.attached(AttachRequest{StreamID: consumer.StreamID, Role: RoleProducer})
		w := h.attach(AttachRequest{StreamID: 10001, Role: RoleConsumer})
		// Let the message hit the in-flight attach and the leases.
		if len(b) >= 16 && b[2] == driver.ShmAttachResponseTemplateID {
			copy(b[8:16], le64(h.lastAttach().CorrelationID))
		}
		h.f.poller.Handle(b)
		h.run(time.Millisecond)
		for _, l := range []*Lease{a, p, w} {
			if l.Usable() && l.State() != Attached {
				t.Fatalf("usable in state %v", l.State())
			}
		}
	})
}

// fuzzDir is an allowed base dir that need not exist (URIs are checked
// lexically until it does).
const fuzzDir = "/nonexistent/driverclient-fuzz"

func le64(v int64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
