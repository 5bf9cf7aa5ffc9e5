package driver

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
	"golang.org/x/sys/unix"
)

const (
	producer = gdriver.RoleProducer
	consumer = gdriver.RoleConsumer
)

func req(stream, client uint32, role gdriver.Role) control.AttachRequest {
	return control.AttachRequest{StreamID: stream, ClientID: client, Role: role,
		PublishMode: gdriver.PublishModeNullValue, DesiredNodeID: control.NullU32}
}

// checkOK applies every rule of Driver Model 4.2 to an OK response.
func checkOK(t *testing.T, r control.AttachResponse, stream uint32) {
	t.Helper()
	switch {
	case r.Code != gdriver.ResponseCodeOk:
		t.Fatalf("code %v %q", r.Code, r.ErrorMessage)
	case r.LeaseID == control.NullU64, r.LeaseExpiryNs == control.NullU64, r.Epoch == control.NullU64 || r.Epoch == 0:
		t.Errorf("null lease, expiry or epoch: %+v", r)
	case r.StreamID != stream, r.LayoutVersion != pool.LayoutVersion, r.HeaderSlotBytes != 256, r.HeaderNslots != 8:
		t.Errorf("stream/layout/slots: %+v", r)
	case r.NodeID == control.NullU32:
		t.Errorf("no node id")
	case len(r.Pools) != 2:
		t.Errorf("pools %+v", r.Pools)
	}
	if _, err := pool.ParseURI(r.HeaderURI); err != nil {
		t.Error(err)
	}
	for _, p := range r.Pools {
		if p.Nslots != r.HeaderNslots {
			t.Errorf("pool %d nslots %d != header %d", p.PoolID, p.Nslots, r.HeaderNslots)
		}
		if _, err := pool.ParseURI(p.RegionURI); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(r.HeaderURI, "/"+strconv.FormatUint(uint64(stream), 10)+"/"+strconv.FormatUint(r.Epoch, 10)+"/header.ring") {
		t.Errorf("header URI %q does not follow the canonical layout", r.HeaderURI)
	}
}

func TestAttachRejections(t *testing.T) {
	withDynamic := func(r StreamRange) func(*Config) {
		return func(c *Config) { c.Policies.AllowDynamicStreams = true; c.Driver.StreamIDRange = r }
	}
	for _, tc := range []struct {
		name   string
		cfg    func(*Config)
		setup  func(h *harness)
		req    control.AttachRequest
		code   gdriver.ResponseCode
		msg    string // substring of errorMessage
		stats  func(s Stats) int64
		noFile bool // the rejection created no stream directory
	}{
		{name: "role zero", req: req(10000, 1, 0), code: gdriver.ResponseCodeInvalidParams, msg: "invalid role"},
		{name: "role unknown", req: req(10000, 1, 9), code: gdriver.ResponseCodeInvalidParams, msg: "invalid role"},
		{name: "client id zero", req: req(10000, 0, consumer), code: gdriver.ResponseCodeInvalidParams, msg: "client_id must be non-zero"},
		{name: "unknown publish mode", req: func() control.AttachRequest {
			r := req(10000, 1, consumer)
			r.PublishMode = 7
			return r
		}(), code: gdriver.ResponseCodeUnsupported, msg: "publish mode"},
		{name: "unknown hugepages policy", req: func() control.AttachRequest {
			r := req(10000, 1, consumer)
			r.RequireHugepages = 9
			return r
		}(), code: gdriver.ResponseCodeInvalidParams, msg: "hugepages policy"},
		{name: "hugepages required on tmpfs", req: func() control.AttachRequest {
			r := req(10000, 1, producer)
			r.RequireHugepages = gdriver.HugepagesPolicyHugepages
			return r
		}(), code: gdriver.ResponseCodeRejected, msg: "hugepages not available", noFile: true},
		{name: "hugepages by config default", cfg: func(c *Config) { c.SHM.RequireHugepages = true },
			req: req(10000, 1, producer), code: gdriver.ResponseCodeRejected, msg: "hugepages not available", noFile: true},
		{name: "standard pages requested on hugetlbfs", setup: func(h *harness) { h.e.tree.hugepages = true }, req: func() control.AttachRequest {
			r := req(10000, 1, producer)
			r.RequireHugepages = gdriver.HugepagesPolicyStandard
			return r
		}(), code: gdriver.ResponseCodeRejected, msg: "standard pages requested", noFile: true},
		{name: "layout version mismatch", req: func() control.AttachRequest {
			r := req(10000, 1, consumer)
			r.ExpectedLayoutVersion = 2
			return r
		}(), code: gdriver.ResponseCodeRejected, msg: msgLayoutMismatch, noFile: true},
		{name: "unknown stream, dynamic off", req: req(12345, 1, consumer), code: gdriver.ResponseCodeRejected, msg: msgNotProvisioned, noFile: true},
		{name: "unknown stream, require existing", cfg: withDynamic(Range(20000, 20009)), req: func() control.AttachRequest {
			r := req(20000, 1, producer)
			r.PublishMode = gdriver.PublishModeRequireExisting
			return r
		}(), code: gdriver.ResponseCodeRejected, msg: msgNotProvisioned, noFile: true},
		{name: "dynamic without range", cfg: withDynamic(StreamRange{}), req: req(0, 1, producer),
			code: gdriver.ResponseCodeInvalidParams, msg: "stream_id_range", noFile: true},
		{name: "dynamic id outside range", cfg: withDynamic(Range(20000, 20009)), req: req(30000, 1, producer),
			code: gdriver.ResponseCodeInvalidParams, msg: "outside", noFile: true},
		{name: "dynamic range exhausted", cfg: withDynamic(Range(20000, 20001)), setup: func(h *harness) {
			h.attachOK(0, 100, producer)
			h.attachOK(0, 101, producer)
		}, req: req(0, 1, producer), code: gdriver.ResponseCodeRejected, msg: "no stream ids available"},
		{name: "second producer", setup: func(h *harness) { h.attachOK(10000, 100, producer) },
			req: req(10000, 1, producer), code: gdriver.ResponseCodeRejected, msg: msgProducerAttached},
		{name: "client id already attached", setup: func(h *harness) { h.attachOK(10000, 1, consumer) },
			req: req(10000, 1, producer), code: gdriver.ResponseCodeRejected, msg: msgClientAttached},
		{name: "desired node id in use", setup: func(h *harness) {
			r := req(10000, 100, consumer)
			r.DesiredNodeID = 77
			if got := h.attach(r); got.Code != gdriver.ResponseCodeOk || got.NodeID != 77 {
				t.Fatalf("desired node id: %+v", got)
			}
		}, req: func() control.AttachRequest {
			r := req(10000, 1, consumer)
			r.DesiredNodeID = 77
			return r
		}(), code: gdriver.ResponseCodeRejected, msg: "node_id unavailable"},
		{name: "desired node id cooling down", setup: func(h *harness) {
			r := req(10000, 100, consumer)
			r.DesiredNodeID = 77
			h.detach(h.attach(r), 100, consumer)
		}, req: func() control.AttachRequest {
			r := req(10000, 1, consumer)
			r.DesiredNodeID = 77
			return r
		}(), code: gdriver.ResponseCodeRejected, msg: "node_id unavailable"},
		{name: "draining", setup: func(h *harness) { h.e.drain(gdriver.ShutdownReasonAdmin, "test") },
			req: req(10000, 1, consumer), code: gdriver.ResponseCodeRejected, msg: msgShuttingDown, noFile: true},
		{name: "shm creation fails", setup: func(h *harness) {
			// A file where the stream directory belongs.
			if err := os.WriteFile(h.e.tree.streamDir(10000), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, req: req(10000, 1, producer), code: gdriver.ResponseCodeInternalError, msg: "shm creation failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(h)
			}
			before := h.e.m.snapshot()
			r := h.attach(tc.req)
			if r.Code != tc.code || !strings.Contains(r.ErrorMessage, tc.msg) {
				t.Fatalf("got %v %q, want %v %q", r.Code, r.ErrorMessage, tc.code, tc.msg)
			}
			// Every optional field of a rejection is null (Driver Model 4.2).
			want := control.AttachResponse{CorrelationID: r.CorrelationID, Code: r.Code, LeaseID: control.NullU64, LeaseExpiryNs: control.NullU64,
				StreamID: control.NullU32, Epoch: control.NullU64, LayoutVersion: control.NullU32, HeaderNslots: control.NullU32,
				HeaderSlotBytes: control.NullU16, NodeID: control.NullU32, ErrorMessage: r.ErrorMessage}
			if r.LeaseID != want.LeaseID || r.Epoch != want.Epoch || r.StreamID != want.StreamID || r.NodeID != want.NodeID ||
				r.HeaderSlotBytes != want.HeaderSlotBytes || len(r.Pools) != 0 || r.HeaderURI != "" {
				t.Errorf("rejection carries fields: %+v", r)
			}
			after := h.e.m.snapshot()
			counts := map[gdriver.ResponseCode]int64{
				gdriver.ResponseCodeUnsupported:   after.Rejections.Unsupported - before.Rejections.Unsupported,
				gdriver.ResponseCodeInvalidParams: after.Rejections.InvalidParams - before.Rejections.InvalidParams,
				gdriver.ResponseCodeRejected:      after.Rejections.Rejected - before.Rejections.Rejected,
				gdriver.ResponseCodeInternalError: after.Rejections.InternalError - before.Rejections.InternalError,
			}
			for code, n := range counts {
				if want := map[bool]int64{true: 1, false: 0}[code == tc.code]; n != want {
					t.Errorf("rejections %v counted %d, want %d", code, n, want)
				}
			}
			if after.ActiveLeases != before.ActiveLeases {
				t.Errorf("active leases %d -> %d", before.ActiveLeases, after.ActiveLeases)
			}
			if tc.noFile {
				if _, err := os.Stat(h.e.tree.streamDir(tc.req.StreamID)); err == nil && tc.req.StreamID != 0 {
					t.Errorf("rejected attach left %s", h.e.tree.streamDir(tc.req.StreamID))
				}
			}
		})
	}
}

func TestAttachVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		run  func(t *testing.T, h *harness)
	}{
		{"consumer first provisions the stream", nil, func(t *testing.T, h *harness) {
			r := h.attachOK(10000, 1, consumer)
			checkOK(t, r, 10000)
			s := h.e.m.snapshot()
			if s.ActiveConsumers != 1 || s.Streams != 1 || s.EpochChanges != 1 || s.Attaches != 1 {
				t.Errorf("stats %+v", s)
			}
		}},
		{"producer attach makes a new epoch and announces it", nil, func(t *testing.T, h *harness) {
			c := h.attachOK(10000, 1, consumer)
			h.req.SendAttachRequest(&control.AttachRequest{CorrelationID: 50, StreamID: 10000, ClientID: 2, Role: producer,
				PublishMode: gdriver.PublishModeNullValue, DesiredNodeID: control.NullU32})
			h.handle(h.reqB.last)
			out := h.take()
			p := ofType[control.AttachResponse](out)[0]
			checkOK(t, p, 10000)
			if p.Epoch <= c.Epoch {
				t.Errorf("producer epoch %d not above consumer's %d", p.Epoch, c.Epoch)
			}
			anns := ofType[control.PoolAnnounce](out)
			if len(anns) != 1 || anns[0].Epoch != p.Epoch || anns[0].ProducerID != 2 || anns[0].ClockDomain != wire.ClockDomainMonotonic ||
				anns[0].HeaderURI != p.HeaderURI {
				t.Errorf("announce %+v", anns)
			}
		}},
		{"explicit options accepted", nil, func(t *testing.T, h *harness) {
			r := req(10000, 1, producer)
			r.ExpectedLayoutVersion = 1
			r.PublishMode = gdriver.PublishModeRequireExisting
			r.RequireHugepages = gdriver.HugepagesPolicyStandard
			r.DesiredNodeID = 4242
			got := h.attach(r)
			checkOK(t, got, 10000)
			if got.NodeID != 4242 {
				t.Errorf("node id %d", got.NodeID)
			}
		}},
		{"hugepages granted on hugetlbfs", nil, func(t *testing.T, h *harness) {
			h.e.tree.hugepages = true // pretend: the URIs must say so
			r := req(10000, 1, producer)
			r.RequireHugepages = gdriver.HugepagesPolicyHugepages
			got := h.attach(r)
			checkOK(t, got, 10000)
			for _, u := range append([]string{got.HeaderURI}, got.Pools[0].RegionURI, got.Pools[1].RegionURI) {
				if pu, err := pool.ParseURI(u); err != nil || !pu.RequireHugepages {
					t.Errorf("URI %q does not require hugepages (%v)", u, err)
				}
			}
		}},
		{"duplicate request answered again", nil, func(t *testing.T, h *harness) {
			r := req(10000, 1, producer)
			r.CorrelationID = 99
			a, b := h.attach(r), h.attach(r)
			if a.LeaseID != b.LeaseID || a.Epoch != b.Epoch || b.Code != gdriver.ResponseCodeOk {
				t.Errorf("duplicate: %+v vs %+v", a, b)
			}
			if s := h.e.m.snapshot(); s.Attaches != 1 || s.EpochChanges != 1 {
				t.Errorf("duplicate counted: %+v", s)
			}
		}},
		{"dynamic stream allocated, released when unused", func(c *Config) {
			c.Policies.AllowDynamicStreams = true
			c.Driver.StreamIDRange = Range(20000, 20001)
		}, func(t *testing.T, h *harness) {
			a := h.attachOK(0, 1, producer)
			checkOK(t, a, a.StreamID)
			if a.StreamID < 20000 || a.StreamID > 20001 {
				t.Fatalf("dynamic stream id %d", a.StreamID)
			}
			b := h.attachOK(20001^a.StreamID^20000, 2, producer) // the other id, by number
			h.detach(a, 1, producer)
			h.detach(b, 2, producer)
			if h.e.dynamic.InUse() != 0 || len(h.e.streams) != 1 {
				t.Errorf("dynamic streams not released: %d ids, %d streams", h.e.dynamic.InUse(), len(h.e.streams))
			}
			if _, err := os.Stat(h.e.tree.streamDir(a.StreamID)); err == nil {
				t.Errorf("released dynamic stream left %s", h.e.tree.streamDir(a.StreamID))
			}
		}},
		{"node ids unique", nil, func(t *testing.T, h *harness) {
			seen := map[uint32]bool{}
			for c := uint32(1); c <= 20; c++ {
				r := h.attachOK(10000, c, consumer)
				if seen[r.NodeID] {
					t.Fatalf("node id %d twice", r.NodeID)
				}
				seen[r.NodeID] = true
			}
		}},
		{"node id reusable after cooldown", nil, func(t *testing.T, h *harness) {
			r := req(10000, 1, consumer)
			r.DesiredNodeID = 5
			h.detach(h.attach(r), 1, consumer)
			h.advance(h.cfg.Policies.NodeIDReuseCooldown + time.Millisecond)
			r.ClientID = 2
			if got := h.attach(r); got.Code != gdriver.ResponseCodeOk || got.NodeID != 5 {
				t.Errorf("after cooldown: %+v", got)
			}
		}},
		{"unsupported schema version answered with the correlation id", nil, func(t *testing.T, h *harness) {
			h.req.SendAttachRequest(&control.AttachRequest{CorrelationID: 31337, StreamID: 10000, ClientID: 1, Role: consumer})
			b := h.reqB.last
			binary.LittleEndian.PutUint16(b[6:], 2)
			h.handle(b)
			rs := ofType[control.AttachResponse](h.take())
			if len(rs) != 1 || rs[0].Code != gdriver.ResponseCodeUnsupported || rs[0].CorrelationID != 31337 {
				t.Errorf("got %+v", rs)
			}
			h.req.SendDetachRequest(&control.DetachRequest{CorrelationID: 31338, LeaseID: 1, StreamID: 10000, ClientID: 1, Role: consumer})
			b = h.reqB.last
			binary.LittleEndian.PutUint16(b[6:], 3)
			h.handle(b)
			if ds := ofType[detachResp](h.take()); len(ds) != 1 || ds[0].Code != gdriver.ResponseCodeUnsupported || ds[0].CorrelationID != 31338 {
				t.Errorf("detach got %+v", ds)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newHarness(t, tc.cfg)) })
	}
}

func TestDetachAndRevoke(t *testing.T) {
	h := newHarness(t, nil)
	p := h.attachOK(10000, 1, producer)
	c := h.attachOK(10000, 2, consumer)

	// Wrong identity: rejected, nothing revoked.
	out := h.detach(control.AttachResponse{LeaseID: p.LeaseID, StreamID: 10000}, 99, producer)
	if d := ofType[detachResp](out); len(d) != 1 || d[0].Code != gdriver.ResponseCodeRejected || len(ofType[control.LeaseRevoked](out)) != 0 {
		t.Fatalf("mismatched detach: %+v", out)
	}
	// Unknown lease.
	out = h.detach(control.AttachResponse{LeaseID: 12345, StreamID: 10000}, 1, producer)
	if d := ofType[detachResp](out); len(d) != 1 || d[0].Code != gdriver.ResponseCodeRejected || d[0].Msg != "lease not found" {
		t.Fatalf("unknown detach: %+v", out)
	}
	// Producer detach: revoke (DETACHED) before the epoch-bumped announce,
	// then the OK response.
	out = h.detach(p, 1, producer)
	if len(out) != 3 {
		t.Fatalf("producer detach sent %d messages: %+v", len(out), out)
	}
	rev, ok := out[0].(control.LeaseRevoked)
	if !ok || rev.Reason != gdriver.LeaseRevokeReasonDetached || rev.LeaseID != p.LeaseID || rev.Role != producer || rev.ClientID != 1 {
		t.Errorf("first message %+v", out[0])
	}
	ann, ok := out[1].(control.PoolAnnounce)
	if !ok || ann.Epoch <= p.Epoch || ann.ProducerID != 0 {
		t.Errorf("second message %+v (producer epoch %d)", out[1], p.Epoch)
	}
	if d, ok := out[2].(detachResp); !ok || d.Code != gdriver.ResponseCodeOk {
		t.Errorf("third message %+v", out[2])
	}
	// Detach is idempotent: OK again, no second revoke.
	out = h.detach(p, 1, producer)
	if d := ofType[detachResp](out); len(d) != 1 || d[0].Code != gdriver.ResponseCodeOk || len(out) != 1 {
		t.Errorf("repeated detach: %+v", out)
	}
	// A consumer detach revokes without an epoch change.
	epochs := h.e.m.snapshot().EpochChanges
	out = h.detach(c, 2, consumer)
	if rv := ofType[control.LeaseRevoked](out); len(rv) != 1 || rv[0].Reason != gdriver.LeaseRevokeReasonDetached || rv[0].Role != consumer {
		t.Errorf("consumer detach: %+v", out)
	}
	s := h.e.m.snapshot()
	if s.EpochChanges != epochs || s.ActiveLeases != 0 || s.Revokes.Detached != 2 || s.Detaches != 2 {
		t.Errorf("stats %+v", s)
	}
	// A new producer may attach, at a higher epoch.
	if p2 := h.attachOK(10000, 3, producer); p2.Epoch <= ann.Epoch {
		t.Errorf("new producer epoch %d not above %d", p2.Epoch, ann.Epoch)
	}
}

func TestKeepaliveExpiry(t *testing.T) {
	h := newHarness(t, nil)
	ttl := h.cfg.Policies.LeaseKeepaliveInterval * time.Duration(h.cfg.Policies.LeaseExpiryGraceIntervals)
	p := h.attachOK(10000, 1, producer)
	c := h.attachOK(10000, 2, consumer)
	h.take()
	// Keepalives keep both alive well past the TTL.
	for range 10 {
		h.advance(h.cfg.Policies.LeaseKeepaliveInterval)
		h.keepalive(p, 1, producer)
		h.keepalive(c, 2, consumer)
	}
	if rv := ofType[control.LeaseRevoked](h.take()); len(rv) != 0 {
		t.Fatalf("revoked while keeping alive: %+v", rv)
	}
	// Keepalives with a wrong identity do not count.
	h.keepalive(control.AttachResponse{LeaseID: p.LeaseID, StreamID: 10000}, 99, producer)
	// The producer stops: it expires after the grace intervals, the
	// consumer stays.
	h.advance(ttl - h.cfg.Policies.LeaseKeepaliveInterval)
	h.keepalive(c, 2, consumer)
	if rv := ofType[control.LeaseRevoked](h.take()); len(rv) != 0 {
		t.Fatalf("expired early: %+v", rv)
	}
	h.advance(h.cfg.Policies.LeaseKeepaliveInterval + time.Millisecond + time.Duration(h.e.expiryInterval))
	out := h.take()
	rv := ofType[control.LeaseRevoked](out)
	if len(rv) != 1 || rv[0].Reason != gdriver.LeaseRevokeReasonExpired || rv[0].LeaseID != p.LeaseID {
		t.Fatalf("expiry: %+v", out)
	}
	var newEpoch uint64
	for _, a := range ofType[control.PoolAnnounce](out) {
		newEpoch = max(newEpoch, a.Epoch)
	}
	if newEpoch <= p.Epoch {
		t.Errorf("no epoch-bumped announce after expiry: %+v", out)
	}
	s := h.e.m.snapshot()
	if s.Expiries != 1 || s.ActiveLeases != 1 || s.ProtocolErrors != 1 || s.Keepalives != 21 {
		t.Errorf("stats %+v", s)
	}
}

func TestEpochAboveLeftovers(t *testing.T) {
	h := newHarness(t, nil)
	// An epoch directory far in the future, as a previous driver could
	// have left (epochs are CLOCK_MONOTONIC ns, so any restart is above).
	high := uint64(1) << 62
	dir := filepath.Join(h.e.tree.streamDir(10000), strconv.FormatUint(high, 10))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h2 := newHarnessAt(t, h.cfg)
	if r := h2.attachOK(10000, 1, producer); r.Epoch <= high {
		t.Errorf("epoch %d not above leftover %d", r.Epoch, high)
	}
}

// newHarnessAt makes a second engine over the same configuration (a
// restarted driver).
func newHarnessAt(t *testing.T, cfg Config) *harness {
	return newHarness(t, func(c *Config) { *c = cfg })
}

func TestShutdownToken(t *testing.T) {
	for _, tc := range []struct {
		name, configured, sent string
		accepted               bool
	}{
		{"good token", "let-me-stop", "let-me-stop", true},
		{"bad token", "let-me-stop", "let-me-stop!", false},
		{"missing token", "let-me-stop", "", false},
		{"remote shutdown disabled", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Policies.ShutdownToken = tc.configured })
			p := h.attachOK(10000, 1, producer)
			base := h.cfg.SHM.BaseDir
			h.req.SendShutdownRequest(&control.ShutdownRequest{CorrelationID: 1, Reason: gdriver.ShutdownReasonAdmin, Token: tc.sent, ErrorMessage: "maintenance"})
			h.handle(h.reqB.last)
			h.take()
			if got := h.e.state == draining; got != tc.accepted {
				t.Fatalf("draining=%v, want %v", got, tc.accepted)
			}
			if !tc.accepted {
				if h.e.m.snapshot().ShutdownDenied != 1 {
					t.Errorf("denial not counted")
				}
				return
			}
			// Draining: new attaches refused, the lease may still detach
			// or is revoked when the timeout passes.
			if r := h.attach(req(10000, 2, consumer)); r.Code != gdriver.ResponseCodeRejected {
				t.Errorf("attach while draining: %v", r.Code)
			}
			h.advance(h.cfg.Policies.ShutdownTimeout / 2)
			if h.e.state != draining {
				t.Fatal("drain ended before the timeout with a lease left")
			}
			h.keepalive(p, 1, producer)
			h.advance(h.cfg.Policies.ShutdownTimeout)
			out := h.take()
			if h.e.state != stopped {
				t.Fatal("not stopped after the shutdown timeout")
			}
			rv := ofType[control.LeaseRevoked](out)
			sd := ofType[shutdownNotice](out)
			if len(rv) != 1 || rv[0].Reason != gdriver.LeaseRevokeReasonRevoked || len(sd) != 1 || sd[0].Reason != gdriver.ShutdownReasonAdmin {
				t.Errorf("final messages %+v", out)
			}
			if _, ok := out[len(out)-1].(shutdownNotice); !ok {
				t.Errorf("shutdown notice is not last: %+v", out)
			}
			if len(ofType[control.PoolAnnounce](out)) == 0 {
				t.Errorf("no final announce")
			}
			if m := walkModes(t, base); len(m) != 0 {
				t.Errorf("left behind: %v", m)
			}
		})
	}
}

func TestDrainEndsWhenLeasesGone(t *testing.T) {
	h := newHarness(t, nil)
	c := h.attachOK(10000, 1, consumer)
	h.e.drain(gdriver.ShutdownReasonNormal, "close")
	h.detach(c, 1, consumer)
	h.advance(time.Millisecond)
	if h.e.state != stopped {
		t.Error("drain did not end once the last lease detached")
	}
}

func TestEpochGC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keep   uint32
		minAge time.Duration
		wait   time.Duration
		left   int // epoch directories left, current included
	}{
		{"keep 2 once old enough", 2, time.Hour, 2 * time.Hour, 2},
		{"keep 1 once old enough", 1, time.Hour, 2 * time.Hour, 1},
		{"too young to collect", 2, time.Hour, 0, 6},
		{"keep 4", 4, time.Minute, time.Hour, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Policies.EpochGCKeep = tc.keep; c.Policies.EpochGCMinAge = tc.minAge })
			// Six epochs: each producer attach and detach makes one.
			for i := range 3 {
				p := h.attachOK(10000, uint32(i+1), producer)
				h.detach(p, uint32(i+1), producer)
			}
			if n := len(h.e.tree.epochDirs(10000)); n != 6 {
				t.Fatalf("%d epoch dirs before gc", n)
			}
			// Directory ages are file times: move the wall clock.
			h.wall = time.Now().Add(tc.wait)
			h.advance(h.cfg.Policies.AnnouncePeriod)
			dirs := h.e.tree.epochDirs(10000)
			if len(dirs) != tc.left {
				t.Fatalf("%d epoch dirs left, want %d", len(dirs), tc.left)
			}
			if dirs[0] != h.e.streams[10000].cur.epoch {
				t.Errorf("current epoch %d removed (left %v)", h.e.streams[10000].cur.epoch, dirs)
			}
		})
	}
}

func TestCleanupDead(t *testing.T) {
	cfg := testConfig(t)
	cfg = cfg.WithDefaults()
	tree, err := newSHMTree(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	const minAge = time.Minute
	stale := pool.MonotonicNow() - uint64(2*minAge)
	mk := func(epoch uint64, pid, activity uint64) string {
		es, err := tree.create(10000, epoch, &cfg.Profiles[0], false)
		if err != nil {
			t.Fatal(err)
		}
		es.close()
		// Rewrite the pid and activity of the header ring.
		hp := filepath.Join(es.dir, "header.ring")
		b, _ := os.ReadFile(hp)
		binary.LittleEndian.PutUint64(b[40:], pid)
		binary.LittleEndian.PutUint64(b[56:], activity)
		if err := os.WriteFile(hp, b, 0o660); err != nil {
			t.Fatal(err)
		}
		return es.dir
	}
	const deadPID = 1 << 30 // no such process
	for _, tc := range []struct {
		name     string
		pid      uint64
		activity uint64
		removed  bool
	}{
		{"dead and stale", deadPID, stale, true},
		{"dead but fresh (another pid namespace?)", deadPID, pool.MonotonicNow(), false},
		{"alive and stale", uint64(os.Getpid()), stale, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mk(uint64(len(tc.name)), tc.pid, tc.activity)
			n := tree.cleanupDead(minAge)
			_, err := os.Stat(dir)
			if gone := err != nil; gone != tc.removed || (n == 1) != tc.removed {
				t.Errorf("removed %d, dir gone %v, want %v", n, gone, tc.removed)
			}
			os.RemoveAll(dir)
		})
	}
}

func TestPermissions(t *testing.T) {
	for _, tc := range []struct {
		file os.FileMode
		dir  os.FileMode
	}{
		{0o660, 0o770 | os.ModeSetgid},
		{0o600, 0o700},
		{0o640, 0o750 | os.ModeSetgid},
	} {
		t.Run(tc.file.String(), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.SHM.PermissionsMode = tc.file })
			h.attachOK(10000, 1, producer)
			modes := walkModes(t, h.cfg.SHM.BaseDir)
			if len(modes) < 7 { // lock-less engine: user, ns, stream, epoch dirs + 3 files
				t.Fatalf("only %d entries: %v", len(modes), modes)
			}
			for p, m := range modes {
				want := tc.file
				if m.IsDir() {
					want = tc.dir | os.ModeDir
				}
				if m != want {
					t.Errorf("%s: mode %v, want %v", p, m, want)
				}
				if m.Perm()&0o007 != 0 {
					t.Errorf("%s is accessible to others", p)
				}
			}
		})
	}
}

func TestMlockFailureIsFatal(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Policies.MlockSHM = true })
	lockMapping = func(*shm.Mapping) error { return errors.New("ENOMEM (test)") }
	t.Cleanup(func() { lockMapping = (*shm.Mapping).Lock })
	r := h.attach(req(10000, 1, producer))
	if r.Code != gdriver.ResponseCodeInternalError {
		t.Fatalf("code %v", r.Code)
	}
	if !errors.Is(h.e.fatal, ErrMlock) {
		t.Fatalf("fatal %v", h.e.fatal)
	}
	h.advance(time.Millisecond)
	if h.e.state != stopped {
		t.Error("driver kept running after an mlock failure")
	}
	if sd := ofType[shutdownNotice](h.take()); len(sd) != 1 || sd[0].Reason != gdriver.ShutdownReasonError {
		t.Errorf("shutdown notice %+v", sd)
	}
}

func TestMlockSucceeds(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Policies.MlockSHM = true })
	checkOK(t, h.attachOK(10000, 1, producer), 10000)
}

func TestRangeAllocator(t *testing.T) {
	a := NewRangeAllocator(Range(31000, 31002))
	var got []uint32
	for {
		id, ok := a.Allocate()
		if !ok {
			break
		}
		got = append(got, id)
	}
	if len(got) != 3 || got[0] != 31000 || got[2] != 31002 {
		t.Fatalf("allocated %v", got)
	}
	a.Release(31001)
	if id, ok := a.Allocate(); !ok || id != 31001 {
		t.Errorf("after release: %d %v", id, ok)
	}
	if a.Reserve(30999) || a.Reserve(31000) {
		t.Error("reserved outside the range or twice")
	}
	if _, ok := NewRangeAllocator(StreamRange{}).Allocate(); ok {
		t.Error("unset range allocated")
	}
}

func TestKeepaliveNoAllocations(t *testing.T) {
	h := newHarness(t, nil)
	r := h.attachOK(10000, 1, consumer)
	var l loop
	s := control.NewSender(&l, 0)
	s.SendKeepalive(&control.Keepalive{LeaseID: r.LeaseID, StreamID: 10000, ClientID: 1, Role: consumer})
	msg := l.last
	if n := testing.AllocsPerRun(1000, func() { h.handle(msg) }); n != 0 {
		t.Errorf("%v allocations per keepalive", n)
	}
	if h.e.m.snapshot().Keepalives < 1000 {
		t.Error("keepalives not counted")
	}
}

func BenchmarkKeepalive(b *testing.B) {
	h := newHarness(b, nil)
	r := h.attachOK(10000, 1, consumer)
	var l loop
	s := control.NewSender(&l, 0)
	s.SendKeepalive(&control.Keepalive{LeaseID: r.LeaseID, StreamID: 10000, ClientID: 1, Role: consumer})
	msg := l.last
	b.ReportAllocs()
	for b.Loop() {
		h.handle(msg)
	}
}

func TestBaseDirOutsideAllowed(t *testing.T) {
	cfg := testConfig(t)
	outside := t.TempDir()
	allowed := filepath.Join(t.TempDir(), "allowed")
	if err := os.Mkdir(allowed, 0o700); err != nil {
		t.Fatal(err)
	}
	// The base dir is a symbolic link inside the allowed directory that
	// leads out of it.
	cfg.SHM.BaseDir = filepath.Join(allowed, "base")
	if err := os.Symlink(outside, cfg.SHM.BaseDir); err != nil {
		t.Fatal(err)
	}
	cfg.SHM.AllowedBaseDirs = []string{allowed}
	cfg = cfg.WithDefaults()
	if _, err := newSHMTree(&cfg); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("got %v", err)
	}
	if m := walkModes(t, outside); len(m) != 0 {
		t.Errorf("left behind %v", m)
	}
}

func TestAnnounceCadence(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Streams = append(c.Streams, StreamConfig{Name: "t", StreamID: 10001, Profile: "small"})
	})
	p := h.attachOK(10000, 1, producer)
	h.take()
	// Stream 10001 has no regions yet: only 10000 is announced, once per
	// period, naming its (kept alive) producer.
	for i := 1; i <= 5; i++ {
		h.keepalive(p, 1, producer)
		h.advance(h.cfg.Policies.AnnouncePeriod)
		anns := ofType[control.PoolAnnounce](h.take())
		if len(anns) != 1 || anns[0].StreamID != 10000 || anns[0].ProducerID != 1 {
			t.Fatalf("period %d: announces %+v", i, anns)
		}
	}
	if got := h.e.m.snapshot().AnnouncesSent; got != 6 {
		t.Errorf("announces sent %d, want 6", got)
	}
}

// TestCyclesReleaseMappings attaches and detaches a producer many times:
// retired epochs are unmapped at once and their directories collected.
func TestCyclesReleaseMappings(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Policies.EpochGCMinAge = time.Nanosecond })
	h.wall = time.Now().Add(time.Hour)
	for i := range 200 {
		p := h.attachOK(10000, uint32(i+1), producer)
		h.detach(p, uint32(i+1), producer)
		h.advance(h.cfg.Policies.AnnouncePeriod)
		h.take()
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), h.cfg.SHM.BaseDir); n != 3 {
		t.Errorf("%d mappings under the base dir, want the current epoch's 3", n)
	}
	if n := len(h.e.tree.epochDirs(10000)); n != int(h.cfg.Policies.EpochGCKeep) {
		t.Errorf("%d epoch dirs left, want %d", n, h.cfg.Policies.EpochGCKeep)
	}
	if s := h.e.m.snapshot(); s.ActiveLeases != 0 || s.EpochChanges != 400 || len(h.e.leases) != 0 || len(h.e.byClient) != 0 || len(h.e.nodeInUse) != 0 {
		t.Errorf("stats %+v, %d leases", s, len(h.e.leases))
	}
}

func TestRevoke(t *testing.T) {
	h := newHarness(t, nil)
	p := h.attachOK(10000, 1, producer)
	c := h.attachOK(10000, 2, consumer)
	h.take()
	if err := h.e.revoke(p.LeaseID, "operator"); err != nil {
		t.Fatal(err)
	}
	out := h.take()
	rv, ok := out[0].(control.LeaseRevoked)
	if !ok || rv.Reason != gdriver.LeaseRevokeReasonRevoked || rv.LeaseID != p.LeaseID || rv.ErrorMessage != "operator" {
		t.Fatalf("first message %+v", out)
	}
	if a := ofType[control.PoolAnnounce](out); len(a) != 1 || a[0].Epoch <= p.Epoch || a[0].ProducerID != 0 {
		t.Errorf("announce after revoke %+v", a)
	}
	// Revoking again sends nothing.
	if err := h.e.revoke(p.LeaseID, "again"); !errors.Is(err, ErrUnknownLease) {
		t.Errorf("second revoke: %v", err)
	}
	if out := h.take(); len(out) != 0 {
		t.Errorf("second revoke sent %+v", out)
	}
	// A consumer revoke changes no epoch.
	epochs := h.e.m.snapshot().EpochChanges
	if err := h.e.revoke(c.LeaseID, "operator"); err != nil {
		t.Fatal(err)
	}
	if s := h.e.m.snapshot(); s.EpochChanges != epochs || s.Revokes.Revoked != 2 || s.ActiveLeases != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestProtocolErrorsCounted(t *testing.T) {
	h := newHarness(t, nil)
	for _, b := range [][]byte{
		{1, 2, 3},                       // short
		{0, 0, 99, 0, 0x85, 0x03, 1, 0}, // unknown template
		{5, 0, 5, 0, 0x85, 0x03, 1, 0, 1, 2, 3, 4, 5}, // short keepalive block
	} {
		h.handle(b)
	}
	h.keepalive(control.AttachResponse{LeaseID: 5, StreamID: 10000}, 1, consumer) // no such lease
	if got := h.e.m.snapshot().ProtocolErrors; got != 4 {
		t.Errorf("protocol errors %d, want 4", got)
	}
}

// TestPrefaultAllocates checks that policies.prefault_shm allocates every
// block of the region files (they are not sparse).
func TestPrefaultAllocates(t *testing.T) {
	for _, prefault := range []bool{false, true} {
		t.Run(strconv.FormatBool(prefault), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Policies.PrefaultSHM = prefault })
			r := h.attachOK(10000, 1, producer)
			u, _ := pool.ParseURI(r.Pools[1].RegionURI) // 8 x 4096 bytes + superblock
			var st unix.Stat_t
			if err := unix.Stat(u.Path, &st); err != nil {
				t.Fatal(err)
			}
			allocated := st.Blocks * 512
			if full := allocated >= st.Size; full != prefault {
				t.Errorf("prefault=%v: %d of %d bytes allocated", prefault, allocated, st.Size)
			}
		})
	}
}
