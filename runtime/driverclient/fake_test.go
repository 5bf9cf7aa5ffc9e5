package driverclient

import (
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/control"
)

// fakeTransport records what the client sends and feeds it messages a test
// encodes with a control.Sender: the state machine runs on injected time
// and messages, with the real decoding path (control.Poller).
type fakeTransport struct {
	attaches   []control.AttachRequest
	detaches   []control.DetachRequest
	keepalives []control.Keepalive
	status     int64 // what sends return
	poller     *control.Poller
	inbox      []fakeMsg
	closed     bool
	// session and announceStream are the source of what the test sends
	// next (0 and false: the driver's control stream).
	session        int32
	announceStream bool
	cur            fakeMsg // the message being handled
}

// fakeMsg is a message and where it came from.
type fakeMsg struct {
	b              []byte
	session        int32
	announceStream bool
}

func (f *fakeTransport) source() (int32, bool) { return f.cur.session, f.cur.announceStream }

func (f *fakeTransport) sendAttach(m *control.AttachRequest) int64 {
	if f.status > 0 {
		f.attaches = append(f.attaches, *m)
	}
	return f.status
}

func (f *fakeTransport) sendDetach(m *control.DetachRequest) int64 {
	if f.status > 0 {
		f.detaches = append(f.detaches, *m)
	}
	return f.status
}

func (f *fakeTransport) sendKeepalive(m *control.Keepalive) int64 {
	if f.status > 0 && cap(f.keepalives) > len(f.keepalives) {
		f.keepalives = append(f.keepalives, *m)
	}
	return f.status
}

func (f *fakeTransport) poll(int) int {
	n := len(f.inbox)
	for _, m := range f.inbox {
		f.cur = m
		f.poller.Handle(m.b)
	}
	f.cur = fakeMsg{}
	f.inbox = f.inbox[:0]
	return n
}

func (f *fakeTransport) close() error { f.closed = true; return nil }

// capturePub is a control.Publication that queues what is offered.
type capturePub struct{ f *fakeTransport }

func (p capturePub) Offer(b []byte) int64 {
	p.f.inbox = append(p.f.inbox, fakeMsg{append([]byte(nil), b...), p.f.session, p.f.announceStream})
	return int64(len(b))
}

// harness drives a Client over a fakeTransport on a fake clock.
type harness struct {
	t      *testing.T
	c      *Client
	f      *fakeTransport
	drv    *control.Sender
	now    int64
	events []Event
	dir    string
	leaseN uint64
	epoch  uint64
}

func testConfig(dir string) Config {
	return Config{AttachTimeout: 5 * time.Second, RetryBackoff: time.Second, MaxBackoff: 4 * time.Second,
		KeepaliveInterval: time.Second, AnnouncePeriod: time.Second, AllowedBaseDirs: []string{dir}}
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	return newHarnessDir(t, t.TempDir(), mod)
}

// newHarnessDir uses dir (which need not exist) as the allowed base dir.
func newHarnessDir(t *testing.T, dir string, mod func(*Config)) *harness {
	h := &harness{t: t, f: &fakeTransport{status: 1}, now: 1_000_000_000_000, dir: dir, leaseN: 100, epoch: 1000}
	cfg := testConfig(h.dir)
	if mod != nil {
		mod(&cfg)
	}
	cfg.OnEvent = func(e Event) { h.events = append(h.events, e) }
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h.c = newClient(cfg, nil)
	h.c.joinTime = h.now - int64(time.Second)
	h.c.tr = h.f
	h.f.poller = control.NewPoller(nil, h.c)
	h.drv = control.NewSender(capturePub{h.f}, 0)
	return h
}

// run advances the clock by d and runs one duty cycle.
func (h *harness) run(d time.Duration) int {
	h.now += int64(d)
	return h.c.DoWork(h.now)
}

func (h *harness) attach(req AttachRequest) *Lease {
	h.t.Helper()
	l, err := h.c.AttachAsync(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.run(0)
	if l.State() != Attaching || len(h.f.attaches) == 0 {
		h.t.Fatalf("state %v after the first cycle, %d attaches sent", l.State(), len(h.f.attaches))
	}
	return l
}

func (h *harness) lastAttach() control.AttachRequest { return h.f.attaches[len(h.f.attaches)-1] }

// okResponse is a valid OK for req.
func (h *harness) okResponse(req control.AttachRequest) *control.AttachResponse {
	h.leaseN++
	h.epoch++
	return &control.AttachResponse{CorrelationID: req.CorrelationID, Code: driver.ResponseCodeOk, LeaseID: h.leaseN,
		LeaseExpiryNs: control.NullU64, StreamID: req.StreamID, Epoch: h.epoch, LayoutVersion: 1, HeaderNslots: 64,
		HeaderSlotBytes: 256, NodeID: control.NullU32,
		Pools:     []control.Pool{{PoolID: 1, Nslots: 64, StrideBytes: 4096, RegionURI: "shm:file?path=" + h.dir + "/1.pool"}},
		HeaderURI: "shm:file?path=" + h.dir + "/header.ring"}
}

func (h *harness) respond(r *control.AttachResponse) {
	if !control.Sent(h.drv.SendAttachResponse(r)) {
		h.t.Fatal("response not encoded")
	}
}

func (h *harness) announce(stream uint32, epoch uint64, ts int64) {
	a := &control.PoolAnnounce{StreamID: stream, Epoch: epoch, TimestampNs: uint64(ts), ClockDomain: wire.ClockDomainMonotonic,
		LayoutVersion: 1, HeaderNslots: 64, HeaderSlotBytes: 256,
		Pools:     []control.Pool{{PoolID: 1, Nslots: 64, StrideBytes: 4096, RegionURI: "shm:file?path=" + h.dir + "/e2/1.pool"}},
		HeaderURI: "shm:file?path=" + h.dir + "/e2/header.ring"}
	if !control.Sent(h.drv.SendPoolAnnounce(a)) {
		h.t.Fatal("announce not encoded")
	}
}

func (h *harness) kinds() []EventKind {
	var k []EventKind
	for _, e := range h.events {
		k = append(k, e.Kind)
	}
	return k
}

func (h *harness) lastEvent() Event {
	h.t.Helper()
	if len(h.events) == 0 {
		h.t.Fatal("no event")
	}
	return h.events[len(h.events)-1]
}

// attached attaches and answers OK.
func (h *harness) attached(req AttachRequest) *Lease {
	h.t.Helper()
	l := h.attach(req)
	h.respond(h.okResponse(h.lastAttach()))
	h.run(time.Millisecond)
	if l.State() != Attached || !l.Usable() {
		h.t.Fatalf("state %v usable %v, events %v", l.State(), l.Usable(), h.kinds())
	}
	return l
}

var _ = aeron.NotConnected
