package driver

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/control"
)

// capture is a Publication keeping every message offered.
type capture struct{ msgs [][]byte }

func (c *capture) Offer(b []byte) int64 {
	c.msgs = append(c.msgs, bytes.Clone(b))
	return int64(len(b))
}

// loop is a Publication keeping only the last message (for encoding
// requests without allocating per message).
type loop struct{ last []byte }

func (l *loop) Offer(b []byte) int64 {
	l.last = append(l.last[:0], b...)
	return int64(len(b))
}

// Decoded driver output.
type (
	detachResp struct {
		CorrelationID int64
		Code          gdriver.ResponseCode
		Msg           string
	}
	shutdownNotice struct {
		Reason gdriver.ShutdownReason
		Msg    string
	}
)

// outRecorder decodes what the engine sent.
type outRecorder struct {
	control.NopHandler
	got []any
}

func poolsOf(g interface {
	Next() bool
	PoolId() uint16
	PoolNslots() uint32
	StrideBytes() uint32
	RegionUriString() string
}) []control.Pool {
	var ps []control.Pool
	for g.Next() {
		ps = append(ps, control.Pool{PoolID: g.PoolId(), Nslots: g.PoolNslots(), StrideBytes: g.StrideBytes(), RegionURI: g.RegionUriString()})
	}
	return ps
}

func (r *outRecorder) OnAttachResponse(m *gdriver.ShmAttachResponseDecoder) {
	r.got = append(r.got, control.AttachResponse{CorrelationID: m.CorrelationId(), Code: m.Code(), LeaseID: m.LeaseId(),
		LeaseExpiryNs: m.LeaseExpiryTimestampNs(), StreamID: m.StreamId(), Epoch: m.Epoch(), LayoutVersion: m.LayoutVersion(),
		HeaderNslots: m.HeaderNslots(), HeaderSlotBytes: m.HeaderSlotBytes(), NodeID: m.NodeId(), Pools: poolsOf(m.PayloadPools()),
		HeaderURI: m.HeaderRegionUriString(), ErrorMessage: m.ErrorMessageString()})
}

func (r *outRecorder) OnDetachResponse(m *gdriver.ShmDetachResponseDecoder) {
	r.got = append(r.got, detachResp{m.CorrelationId(), m.Code(), m.ErrorMessageString()})
}

func (r *outRecorder) OnLeaseRevoked(m *gdriver.ShmLeaseRevokedDecoder) {
	r.got = append(r.got, control.LeaseRevoked{LeaseID: m.LeaseId(), StreamID: m.StreamId(), ClientID: m.ClientId(),
		Role: m.Role(), Reason: m.Reason(), ErrorMessage: m.ErrorMessageString()})
}

func (r *outRecorder) OnDriverShutdown(m *gdriver.ShmDriverShutdownDecoder) {
	r.got = append(r.got, shutdownNotice{m.Reason(), m.ErrorMessageString()})
}

func (r *outRecorder) OnPoolAnnounce(m *wire.ShmPoolAnnounceDecoder) {
	r.got = append(r.got, control.PoolAnnounce{StreamID: m.StreamId(), ProducerID: m.ProducerId(), Epoch: m.Epoch(),
		ClockDomain: m.AnnounceClockDomain(), LayoutVersion: m.LayoutVersion(), HeaderNslots: m.HeaderNslots(),
		HeaderSlotBytes: m.HeaderSlotBytes(), Pools: poolsOf(m.PayloadPools()), HeaderURI: m.HeaderRegionUriString()})
}

// harness drives an engine directly: requests go through a Poller into
// the engine, time is a fake clock, output is captured and decoded.
type harness struct {
	t    testing.TB
	cfg  Config
	e    *engine
	out  *capture
	now  int64
	wall time.Time
	req  *control.Sender
	reqB *loop
	corr int64
}

// testConfig is a small configuration rooted in a temporary directory:
// stream 10000 with 8 slots of 64 and 4096 bytes.
func testConfig(t testing.TB) Config {
	c := DefaultConfig()
	c.Driver.InstanceID = "test"
	c.SHM.BaseDir = filepath.Join(t.TempDir(), "shm")
	c.Profiles = []Profile{{Name: "small", HeaderNslots: 8, PayloadPools: []PoolSpec{{PoolID: 1, StrideBytes: 64}, {PoolID: 2, StrideBytes: 4096}}}}
	c.Streams = []StreamConfig{{Name: "s", StreamID: 10000, Profile: "small"}}
	c.Policies.PrefaultSHM = false
	c.Policies.ShutdownToken = "let-me-stop"
	return c
}

func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	cfg := testConfig(t)
	if mutate != nil {
		mutate(&cfg)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tree, err := newSHMTree(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, out: &capture{}, now: 1e9, wall: time.Unix(1e9, 0), reqB: &loop{}}
	h.req = control.NewSender(h.reqB, 0)
	h.e = newEngine(cfg, slog.New(slog.DiscardHandler), h.out, h.out, nil, tree, &metrics{},
		func() int64 { return h.now }, func() time.Time { return h.wall })
	t.Cleanup(func() {
		if h.e.state != stopped {
			h.e.removeAll()
		}
	})
	return h
}

// handle feeds raw bytes to the engine's poller.
func (h *harness) handle(b []byte) {
	h.e.poller.Handle(b)
	h.e.countDropped()
}

// take returns the decoded output since the last take.
func (h *harness) take() []any {
	var r outRecorder
	p := control.NewPoller(nil, &r)
	for _, m := range h.out.msgs {
		p.Handle(m)
	}
	h.out.msgs = nil
	return r.got
}

func (h *harness) attach(req control.AttachRequest) control.AttachResponse {
	h.t.Helper()
	if req.CorrelationID == 0 {
		h.corr++
		req.CorrelationID = h.corr
	}
	h.req.SendAttachRequest(&req)
	h.handle(h.reqB.last)
	for _, m := range h.take() {
		if r, ok := m.(control.AttachResponse); ok {
			if r.CorrelationID != req.CorrelationID {
				h.t.Fatalf("response correlation %d, want %d", r.CorrelationID, req.CorrelationID)
			}
			return r
		}
	}
	h.t.Fatalf("no attach response to %+v", req)
	return control.AttachResponse{}
}

// attachOK attaches and fails the test on anything but OK.
func (h *harness) attachOK(streamID, clientID uint32, role gdriver.Role) control.AttachResponse {
	h.t.Helper()
	r := h.attach(control.AttachRequest{StreamID: streamID, ClientID: clientID, Role: role,
		PublishMode: gdriver.PublishModeNullValue, DesiredNodeID: control.NullU32})
	if r.Code != gdriver.ResponseCodeOk {
		h.t.Fatalf("attach stream %d client %d %v: %v %q", streamID, clientID, role, r.Code, r.ErrorMessage)
	}
	return r
}

func (h *harness) detach(r control.AttachResponse, clientID uint32, role gdriver.Role) []any {
	h.t.Helper()
	h.corr++
	h.req.SendDetachRequest(&control.DetachRequest{CorrelationID: h.corr, LeaseID: r.LeaseID, StreamID: r.StreamID, ClientID: clientID, Role: role})
	h.handle(h.reqB.last)
	return h.take()
}

func (h *harness) keepalive(r control.AttachResponse, clientID uint32, role gdriver.Role) {
	h.req.SendKeepalive(&control.Keepalive{LeaseID: r.LeaseID, StreamID: r.StreamID, ClientID: clientID, Role: role})
	h.handle(h.reqB.last)
}

// advance moves both clocks and runs the timers.
func (h *harness) advance(d time.Duration) {
	h.now += int64(d)
	h.wall = h.wall.Add(d)
	h.e.onTimers(h.now)
}

func ofType[T any](msgs []any) []T {
	var out []T
	for _, m := range msgs {
		if v, ok := m.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// walkModes returns the mode of every file and directory under root
// (root excluded).
func walkModes(t testing.TB, root string) map[string]os.FileMode {
	t.Helper()
	m := map[string]os.FileMode{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			m[p] = info.Mode()
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return m
}
