package control_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/control"
)

// loopback is a Publication that keeps the last message, and can pretend
// to be back pressured.
type loopback struct {
	last      []byte
	pressured int // offers to refuse with BackPressured first
	offers    int
}

func (l *loopback) Offer(msg []byte) int64 {
	l.offers++
	if l.pressured > 0 {
		l.pressured--
		return aeron.BackPressured
	}
	l.last = append(l.last[:0], msg...)
	return int64(len(msg))
}

// recorder turns every dispatched message back into a comparable value.
type recorder struct {
	control.NopHandler
	got         []any
	unsupported []uint16
	other       []uint16
}

func pools(g interface {
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

func (r *recorder) OnAttachRequest(m *driver.ShmAttachRequestDecoder) {
	r.got = append(r.got, control.AttachRequest{CorrelationID: m.CorrelationId(), StreamID: m.StreamId(), ClientID: m.ClientId(),
		Role: m.Role(), ExpectedLayoutVersion: m.ExpectedLayoutVersion(), PublishMode: m.PublishMode(),
		RequireHugepages: m.RequireHugepages(), DesiredNodeID: m.DesiredNodeId()})
}

func (r *recorder) OnAttachResponse(m *driver.ShmAttachResponseDecoder) {
	r.got = append(r.got, control.AttachResponse{CorrelationID: m.CorrelationId(), Code: m.Code(), LeaseID: m.LeaseId(),
		LeaseExpiryNs: m.LeaseExpiryTimestampNs(), StreamID: m.StreamId(), Epoch: m.Epoch(), LayoutVersion: m.LayoutVersion(),
		HeaderNslots: m.HeaderNslots(), HeaderSlotBytes: m.HeaderSlotBytes(), NodeID: m.NodeId(), Pools: pools(m.PayloadPools()),
		HeaderURI: m.HeaderRegionUriString(), ErrorMessage: m.ErrorMessageString()})
}

func (r *recorder) OnDetachRequest(m *driver.ShmDetachRequestDecoder) {
	r.got = append(r.got, control.DetachRequest{CorrelationID: m.CorrelationId(), LeaseID: m.LeaseId(), StreamID: m.StreamId(),
		ClientID: m.ClientId(), Role: m.Role()})
}

type detachResponse struct {
	CorrelationID int64
	Code          driver.ResponseCode
	Msg           string
}

func (r *recorder) OnDetachResponse(m *driver.ShmDetachResponseDecoder) {
	r.got = append(r.got, detachResponse{m.CorrelationId(), m.Code(), m.ErrorMessageString()})
}

func (r *recorder) OnKeepalive(m *driver.ShmLeaseKeepaliveDecoder) {
	r.got = append(r.got, control.Keepalive{LeaseID: m.LeaseId(), StreamID: m.StreamId(), ClientID: m.ClientId(), Role: m.Role(),
		ClientTimestampNs: m.ClientTimestampNs()})
}

func (r *recorder) OnLeaseRevoked(m *driver.ShmLeaseRevokedDecoder) {
	r.got = append(r.got, control.LeaseRevoked{TimestampNs: m.TimestampNs(), LeaseID: m.LeaseId(), StreamID: m.StreamId(),
		ClientID: m.ClientId(), Role: m.Role(), Reason: m.Reason(), ErrorMessage: m.ErrorMessageString()})
}

type shutdown struct {
	TS     uint64
	Reason driver.ShutdownReason
	Msg    string
}

func (r *recorder) OnDriverShutdown(m *driver.ShmDriverShutdownDecoder) {
	r.got = append(r.got, shutdown{m.TimestampNs(), m.Reason(), m.ErrorMessageString()})
}

func (r *recorder) OnShutdownRequest(m *driver.ShmDriverShutdownRequestDecoder) {
	r.got = append(r.got, control.ShutdownRequest{CorrelationID: m.CorrelationId(), Reason: m.Reason(), Token: m.TokenString(),
		ErrorMessage: m.ErrorMessageString()})
}

func (r *recorder) OnPoolAnnounce(m *wire.ShmPoolAnnounceDecoder) {
	r.got = append(r.got, control.PoolAnnounce{StreamID: m.StreamId(), ProducerID: m.ProducerId(), Epoch: m.Epoch(),
		TimestampNs: m.AnnounceTimestampNs(), ClockDomain: m.AnnounceClockDomain(), LayoutVersion: m.LayoutVersion(),
		HeaderNslots: m.HeaderNslots(), HeaderSlotBytes: m.HeaderSlotBytes(), Pools: pools(m.PayloadPools()),
		HeaderURI: m.HeaderRegionUriString()})
}

func (r *recorder) OnUnsupported(_, templateID, _ uint16, _ []byte) {
	r.unsupported = append(r.unsupported, templateID)
}

func (r *recorder) OnOther(_, templateID uint16, _ []byte) { r.other = append(r.other, templateID) }

var testPools = []control.Pool{
	{PoolID: 1, Nslots: 64, StrideBytes: 4096, RegionURI: "shm:file?path=/dev/shm/tensorpool/tensorpool-u/default/10000/7/1.pool"},
	{PoolID: 2, Nslots: 64, StrideBytes: 1 << 20, RegionURI: "shm:file?path=/dev/shm/tensorpool/tensorpool-u/default/10000/7/2.pool"},
}

// messages sends one of each message kind through s and returns the value
// the recorder must reproduce (nil when the encoding differs on purpose).
func messages() []struct {
	name string
	send func(s *control.Sender) int64
	want any
} {
	req := control.AttachRequest{CorrelationID: -5, StreamID: 10000, ClientID: 42, Role: driver.RoleProducer, ExpectedLayoutVersion: 1,
		PublishMode: driver.PublishModeExistingOrCreate, RequireHugepages: driver.HugepagesPolicyStandard, DesiredNodeID: 9}
	reqNull := control.AttachRequest{CorrelationID: 1, StreamID: 1, ClientID: 2, Role: driver.RoleConsumer,
		PublishMode: driver.PublishModeNullValue, DesiredNodeID: control.NullU32}
	ok := control.AttachResponse{CorrelationID: -5, Code: driver.ResponseCodeOk, LeaseID: 77, LeaseExpiryNs: 123456789, StreamID: 10000,
		Epoch: 7, LayoutVersion: 1, HeaderNslots: 64, HeaderSlotBytes: control.HeaderSlotBytes, NodeID: control.NullU32,
		Pools: testPools, HeaderURI: "shm:file?path=/dev/shm/tensorpool/tensorpool-u/default/10000/7/header.ring"}
	// A rejection carries only correlation id, code and message: every
	// optional field reads null whatever the value held.
	rej := ok
	rej.Code, rej.ErrorMessage = driver.ResponseCodeRejected, "producer already attached"
	rejWant := control.AttachResponse{CorrelationID: -5, Code: driver.ResponseCodeRejected, LeaseID: control.NullU64,
		LeaseExpiryNs: control.NullU64, StreamID: control.NullU32, Epoch: control.NullU64, LayoutVersion: control.NullU32,
		HeaderNslots: control.NullU32, HeaderSlotBytes: control.NullU16, NodeID: control.NullU32, ErrorMessage: "producer already attached"}
	long := rej
	long.ErrorMessage = strings.Repeat("e", 3000)
	longWant := rejWant
	longWant.ErrorMessage = strings.Repeat("e", control.MaxErrorMessage)
	det := control.DetachRequest{CorrelationID: 3, LeaseID: 77, StreamID: 10000, ClientID: 42, Role: driver.RoleProducer}
	ka := control.Keepalive{LeaseID: 77, StreamID: 10000, ClientID: 42, Role: driver.RoleConsumer, ClientTimestampNs: 99}
	rev := control.LeaseRevoked{TimestampNs: 5, LeaseID: 77, StreamID: 10000, ClientID: 42, Role: driver.RoleProducer,
		Reason: driver.LeaseRevokeReasonExpired, ErrorMessage: "lease expired"}
	sreq := control.ShutdownRequest{CorrelationID: 8, Reason: driver.ShutdownReasonAdmin, Token: "secret", ErrorMessage: "bye"}
	ann := control.PoolAnnounce{StreamID: 10000, ProducerID: 42, Epoch: 7, TimestampNs: 11, ClockDomain: wire.ClockDomainMonotonic,
		LayoutVersion: 1, HeaderNslots: 64, HeaderSlotBytes: 256, Pools: testPools, HeaderURI: ok.HeaderURI}
	return []struct {
		name string
		send func(s *control.Sender) int64
		want any
	}{
		{"attach request", func(s *control.Sender) int64 { return s.SendAttachRequest(&req) }, req},
		{"attach request nulls", func(s *control.Sender) int64 { return s.SendAttachRequest(&reqNull) }, reqNull},
		{"attach response ok", func(s *control.Sender) int64 { return s.SendAttachResponse(&ok) }, ok},
		{"attach response rejected", func(s *control.Sender) int64 { return s.SendAttachResponse(&rej) }, rejWant},
		{"attach response long message", func(s *control.Sender) int64 { return s.SendAttachResponse(&long) }, longWant},
		{"detach request", func(s *control.Sender) int64 { return s.SendDetachRequest(&det) }, det},
		{"detach response", func(s *control.Sender) int64 {
			return s.SendDetachResponse(3, driver.ResponseCodeRejected, "lease not found")
		}, detachResponse{3, driver.ResponseCodeRejected, "lease not found"}},
		{"keepalive", func(s *control.Sender) int64 { return s.SendKeepalive(&ka) }, ka},
		{"lease revoked", func(s *control.Sender) int64 { return s.SendLeaseRevoked(&rev) }, rev},
		{"driver shutdown", func(s *control.Sender) int64 {
			return s.SendDriverShutdown(12, driver.ShutdownReasonAdmin, "admin")
		}, shutdown{12, driver.ShutdownReasonAdmin, "admin"}},
		{"shutdown request", func(s *control.Sender) int64 { return s.SendShutdownRequest(&sreq) }, sreq},
		{"pool announce", func(s *control.Sender) int64 { return s.SendPoolAnnounce(&ann) }, ann},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range messages() {
		t.Run(tc.name, func(t *testing.T) {
			var pub loopback
			s := control.NewSender(&pub, 0)
			if st := tc.send(s); !control.Sent(st) {
				t.Fatalf("send: %s", control.StatusString(st))
			}
			var r recorder
			p := control.NewPoller(nil, &r)
			p.Handle(pub.last)
			if len(r.got) != 1 {
				t.Fatalf("dispatched %d messages, stats %+v", len(r.got), p.Stats())
			}
			if d := cmp.Diff(tc.want, r.got[0]); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			if st := p.Stats(); st != (control.PollerStats{Messages: 1, Dispatched: 1}) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestBackPressureRetry(t *testing.T) {
	ka := control.Keepalive{LeaseID: 1, StreamID: 2, ClientID: 3, Role: driver.RoleConsumer}
	for _, tc := range []struct {
		name      string
		pressured int
		retries   int
		sent      bool
	}{
		{"retried until offered", 3, 5, true},
		{"bounded", 10, 5, false},
		{"no retries", 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := loopback{pressured: tc.pressured}
			s := control.NewSender(&pub, 0)
			s.SetMaxRetries(tc.retries)
			st := s.SendKeepalive(&ka)
			if control.Sent(st) != tc.sent {
				t.Fatalf("status %s, want sent=%v", control.StatusString(st), tc.sent)
			}
			if want := min(tc.pressured, tc.retries) + 1; pub.offers != want && tc.sent {
				t.Errorf("%d offers, want %d", pub.offers, want)
			}
			if !tc.sent && st != aeron.BackPressured {
				t.Errorf("status %s, want BACK_PRESSURED", control.StatusString(st))
			}
		})
	}
}

func TestEncodeFailed(t *testing.T) {
	var pub loopback
	s := control.NewSender(&pub, 128)
	ann := control.PoolAnnounce{Pools: testPools, HeaderURI: strings.Repeat("x", 200)}
	if st := s.SendPoolAnnounce(&ann); st != control.StatusEncodeFailed {
		t.Fatalf("status %s, want ENCODE_FAILED", control.StatusString(st))
	}
	if pub.offers != 0 {
		t.Errorf("offered %d times", pub.offers)
	}
	// The sender is still usable.
	if st := s.SendDetachResponse(1, driver.ResponseCodeOk, ""); !control.Sent(st) {
		t.Errorf("after failure: %s", control.StatusString(st))
	}
}

// encoded returns one encoded message of every kind (the fuzz seeds).
func encoded(t testing.TB) [][]byte {
	var out [][]byte
	for _, tc := range messages() {
		var pub loopback
		if st := tc.send(control.NewSender(&pub, 0)); !control.Sent(st) {
			t.Fatalf("%s: %s", tc.name, control.StatusString(st))
		}
		out = append(out, bytes.Clone(pub.last))
	}
	return out
}

func TestRejects(t *testing.T) {
	msgs := encoded(t)
	ka := msgs[7] // keepalive
	if binary.LittleEndian.Uint16(ka[2:]) != driver.ShmLeaseKeepaliveTemplateID {
		t.Fatal("seed order changed")
	}
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(ka)) }
	u16 := func(off int, v uint16) []byte {
		return mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[off:], v); return b })
	}
	helloHeader := []byte{0, 0, wire.ConsumerHelloTemplateID, 0, 0x84, 0x03, 1, 0}
	for _, tc := range []struct {
		name string
		msg  []byte
		want control.PollerStats
	}{
		{"empty", nil, control.PollerStats{Messages: 1, Malformed: 1}},
		{"short header", ka[:5], control.PollerStats{Messages: 1, Malformed: 1}},
		{"truncated block", ka[:20], control.PollerStats{Messages: 1, Malformed: 1}},
		{"short block length", u16(0, 10), control.PollerStats{Messages: 1, Malformed: 1}},
		{"longer block accepted", mut(func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b, driver.ShmLeaseKeepaliveBlockLength+4)
			return append(b, 0, 0, 0, 0)
		}), control.PollerStats{Messages: 1, Dispatched: 1}},
		{"unknown template", u16(2, 99), control.PollerStats{Messages: 1, UnknownTemplate: 1}},
		{"newer version", u16(6, 2), control.PollerStats{Messages: 1, Unsupported: 1}},
		{"version zero", u16(6, 0), control.PollerStats{Messages: 1, Unsupported: 1}},
		{"other schema", u16(4, 7), control.PollerStats{Messages: 1, Other: 1}},
		{"other wire template", helloHeader, control.PollerStats{Messages: 1, Other: 1}},
		{"huge var length", mut(func(b []byte) []byte {
			// a lease revoked whose error message claims 1 GiB
			r := bytes.Clone(msgs[8])
			binary.LittleEndian.PutUint32(r[8+driver.ShmLeaseRevokedBlockLength:], 1<<30)
			return r
		}), control.PollerStats{Messages: 1, Malformed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			p := control.NewPoller(nil, &r)
			p.Handle(tc.msg)
			if got := p.Stats(); got != tc.want {
				t.Errorf("stats %+v, want %+v", got, tc.want)
			}
			if len(r.got) != int(tc.want.Dispatched) || len(r.unsupported) != int(tc.want.Unsupported) || len(r.other) != int(tc.want.Other) {
				t.Errorf("handler saw %d/%d/%d", len(r.got), len(r.unsupported), len(r.other))
			}
		})
	}
}

func TestNoAllocations(t *testing.T) {
	var pub loopback
	s := control.NewSender(&pub, 0)
	p := control.NewPoller(nil, control.NopHandler{})
	ka := control.Keepalive{LeaseID: 1, StreamID: 2, ClientID: 3, Role: driver.RoleConsumer}
	ann := control.PoolAnnounce{StreamID: 1, Pools: testPools, HeaderURI: "shm:file?path=/x"}
	rev := control.LeaseRevoked{LeaseID: 1, Reason: driver.LeaseRevokeReasonDetached, ErrorMessage: "lease detached"}
	resp := control.AttachResponse{Code: driver.ResponseCodeOk, Pools: testPools, HeaderURI: "shm:file?path=/x"}
	s.SendKeepalive(&ka) // warm the loopback buffer
	s.SendPoolAnnounce(&ann)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"keepalive", func() { s.SendKeepalive(&ka); p.Handle(pub.last) }},
		{"announce", func() { s.SendPoolAnnounce(&ann); p.Handle(pub.last) }},
		{"revoked", func() { s.SendLeaseRevoked(&rev); p.Handle(pub.last) }},
		{"attach response", func() { s.SendAttachResponse(&resp); p.Handle(pub.last) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.f); n != 0 {
				t.Errorf("%v allocations per send+handle", n)
			}
		})
	}
}

// TestOverAeron sends every message kind through the embedded media
// driver and polls them back.
func TestOverAeron(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	md, err := mediadriver.Start(mediadriver.Config{Dir: dir, IPCTermLength: 64 << 10, TimerInterval: 10 * time.Millisecond,
		ToDriverBufferLength: 64<<10 + 768, ToClientsBufferLength: 64<<10 + 128, CounterValuesLength: 64 << 10, ErrorLogLength: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir, ResourceLinger: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.AddSubscription(ctx, "aeron:ipc", 1000)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.AddPublication(ctx, "aeron:ipc?term-length=64k", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for !pub.IsConnected() {
		if ctx.Err() != nil {
			t.Fatal("publication never connected")
		}
		time.Sleep(time.Millisecond)
	}
	s := control.NewSender(pub, 0)
	var r recorder
	p := control.NewPoller(sub, &r)
	msgs := messages()
	for _, m := range msgs {
		if st := m.send(s); !control.Sent(st) {
			t.Fatalf("%s: %s", m.name, control.StatusString(st))
		}
	}
	// A long attach response crosses the MTU and is reassembled.
	big := control.AttachResponse{Code: driver.ResponseCodeOk, HeaderURI: "shm:file?path=/" + strings.Repeat("h", 3000)}
	if st := s.SendAttachResponse(&big); !control.Sent(st) {
		t.Fatalf("big: %s", control.StatusString(st))
	}
	for len(r.got) < len(msgs)+1 {
		if ctx.Err() != nil {
			t.Fatalf("received %d of %d", len(r.got), len(msgs)+1)
		}
		if p.Poll(10) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for i, m := range msgs {
		if d := cmp.Diff(m.want, r.got[i]); d != "" {
			t.Errorf("%s (-want +got):\n%s", m.name, d)
		}
	}
	if got := r.got[len(msgs)].(control.AttachResponse).HeaderURI; got != big.HeaderURI {
		t.Errorf("reassembled URI of %d bytes, want %d", len(got), len(big.HeaderURI))
	}
}

func BenchmarkKeepaliveRoundTrip(b *testing.B) {
	var pub loopback
	s := control.NewSender(&pub, 0)
	p := control.NewPoller(nil, control.NopHandler{})
	ka := control.Keepalive{LeaseID: 1, StreamID: 2, ClientID: 3, Role: driver.RoleConsumer}
	b.ReportAllocs()
	for b.Loop() {
		s.SendKeepalive(&ka)
		p.Handle(pub.last)
	}
}

// FuzzHandle feeds arbitrary bytes to the poller: it must never panic and
// must account for every message exactly once.
func FuzzHandle(f *testing.F) {
	for _, m := range encoded(f) {
		f.Add(m)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1, 0, 0x85, 0x03, 9, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r recorder
		p := control.NewPoller(nil, &r)
		p.Handle(b)
		st := p.Stats()
		if st.Messages != 1 || st.Dispatched+st.Malformed+st.UnknownTemplate+st.Unsupported+st.Other != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}
