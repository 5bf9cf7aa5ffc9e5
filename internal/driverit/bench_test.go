package driverit

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/internal/latency"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// rawPeer speaks the control plane directly (control.Sender and Poller,
// busy polling), so an attach round trip measures the driver and the
// transport, not a client's idle strategy.
type rawPeer struct {
	control.NopHandler
	send   *control.Sender
	poller *control.Poller

	attachCorr, detachCorr int64
	gotAttach, gotDetach   bool
	code                   driver.ResponseCode
	leaseID                uint64
	stream                 uint32
	msg                    string
}

func (p *rawPeer) OnAttachResponse(m *driver.ShmAttachResponseDecoder) {
	if m.CorrelationId() == p.attachCorr {
		p.gotAttach, p.code, p.leaseID, p.stream = true, m.Code(), m.LeaseId(), m.StreamId()
		if m.Code() != driver.ResponseCodeOk {
			p.msg = string(m.ErrorMessage())
		}
	}
}

func (p *rawPeer) OnDetachResponse(m *driver.ShmDetachResponseDecoder) {
	if m.CorrelationId() == p.detachCorr {
		p.gotDetach = true
	}
}

func newRawPeer(tb testing.TB, a *aeron.Client) *rawPeer {
	tb.Helper()
	ctx := testCtx(tb)
	pub, err := a.AddPublication(ctx, driverclient.DefaultControlChannel, driverclient.DefaultControlStreamID)
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := a.AddSubscription(ctx, driverclient.DefaultControlChannel, driverclient.DefaultControlStreamID)
	if err != nil {
		tb.Fatal(err)
	}
	p := &rawPeer{send: control.NewSender(pub, 0)}
	p.poller = control.NewPoller(sub, p)
	return p
}

// spin polls until *flag or the deadline.
func (p *rawPeer) spin(tb testing.TB, flag *bool, what string) {
	deadline := time.Now().Add(testTimeout)
	for !*flag {
		if p.poller.Poll(16) == 0 && time.Now().After(deadline) {
			tb.Fatalf("no %s", what)
		}
	}
}

// roundTrip attaches (recording request sent to response received) and
// detaches.
func (p *rawPeer) roundTrip(tb testing.TB, rec *latency.Recorder, corr int64, role driver.Role) {
	req := control.AttachRequest{CorrelationID: corr, StreamID: testStream, ClientID: 4242, Role: role,
		PublishMode: driver.PublishModeNullValue, DesiredNodeID: control.NullU32}
	p.attachCorr, p.gotAttach = corr, false
	start := time.Now()
	for !control.Sent(p.send.SendAttachRequest(&req)) {
		if time.Since(start) > testTimeout {
			tb.Fatal("attach request not sent")
		}
	}
	p.spin(tb, &p.gotAttach, "attach response")
	rec.Record(time.Since(start))
	if p.code != driver.ResponseCodeOk {
		tb.Fatalf("attach: %v %s", p.code, p.msg)
	}
	p.detachCorr, p.gotDetach = corr+1, false
	d := control.DetachRequest{CorrelationID: corr + 1, LeaseID: p.leaseID, StreamID: p.stream, ClientID: 4242, Role: role}
	for !control.Sent(p.send.SendDetachRequest(&d)) {
	}
	p.spin(tb, &p.gotDetach, "detach response")
}

func cpuName() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown"
}

// BenchmarkAttachRoundTrip: ShmAttachRequest sent to ShmAttachResponse
// received over IPC, p50/p99 in an HdrHistogram, against tpoold in its own
// process and (with TPOOL_TPC_BIN) tensor_pool_c's tp_driver, each through
// a media driver of its own run. Consumer attaches reuse the stream's
// regions; producer attaches create a new epoch each time.
func BenchmarkAttachRoundTrip(b *testing.B) {
	b.Logf("cpu: %s", cpuName())
	for _, drv := range []string{"tpoold", "tp_driver"} {
		for _, role := range []driver.Role{driver.RoleConsumer, driver.RoleProducer} {
			b.Run(drv+"/"+strings.ToLower(role.String()), func(b *testing.B) {
				e := newEnv(b)
				if drv == "tpoold" {
					e.spawn("driver", "").await("ready")
				} else {
					e.startTPCDriver(tpcBin(b))
				}
				p := newRawPeer(b, e.connect())
				corr := time.Now().UnixNano()
				warm := latency.New()
				for range 20 { // until the driver is up and the streams connected
					corr += 2
					p.roundTrip(b, warm, corr, role)
				}
				rec := latency.New()
				b.ResetTimer()
				for range b.N {
					corr += 2
					p.roundTrip(b, rec, corr, role)
				}
				b.StopTimer()
				rec.Report(b)
			})
		}
	}
}

// BenchmarkKeepalive: one client duty cycle sending one ShmLeaseKeepalive
// over IPC to tpoold (in this process) and polling the control stream;
// -benchmem shows the allocations per keepalive.
func BenchmarkKeepalive(b *testing.B) {
	e := newEnv(b)
	d := e.startDriver()
	c, l := keepaliveClient(b, e)
	before := c.Stats().Keepalives
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.DoWork(driverclient.Now())
	}
	b.StopTimer()
	if !l.Usable() {
		b.Fatal("lease lost")
	}
	sent := c.Stats().Keepalives - before
	b.ReportMetric(float64(sent)/float64(b.N), "keepalives/op")
	_ = d
}

// keepaliveClient attaches a consumer in invoker mode with a keepalive
// interval of 1 µs: every duty cycle sends one.
func keepaliveClient(tb testing.TB, e *env) (*driverclient.Client, *driverclient.Lease) {
	tb.Helper()
	cfg := clientConfig(e.base)
	cfg.KeepaliveInterval = time.Microsecond
	c, err := driverclient.New(testCtx(tb), e.connect(), cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	l, err := c.Attach(testCtx(tb), driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer})
	if err != nil {
		tb.Fatal(err)
	}
	return c, l
}

// TestKeepaliveDoesNotAllocate: the client's keepalive duty cycle over
// real Aeron, and tpoold's handling of the keepalives (the driver runs in
// this process, so AllocsPerRun counts its allocations too).
func TestKeepaliveDoesNotAllocate(t *testing.T) {
	e := newEnv(t)
	// AllocsPerRun counts every goroutine of the process. The driver's
	// epoch GC scans its directories on a timer (os.ReadDir allocates, about
	// 240 objects a second with this test's timings), so on a loaded machine
	// where the 2000 cycles take 10 s it alone made the average 1 per cycle.
	// It is not part of keepalive handling: it is off here, and what remains
	// in the background is about 16 allocations a second.
	cfg := driverConfig(e.aeronDir, e.base)
	cfg.Policies.EpochGCEnabled = false
	d := e.startDriverWith(cfg)
	c, l := keepaliveClient(t, e)
	for range 100 { // warm up
		c.DoWork(driverclient.Now())
	}
	k0, dk0 := c.Stats().Keepalives, d.Stats().Keepalives
	allocs := testing.AllocsPerRun(2000, func() {
		c.DoWork(driverclient.Now())
		time.Sleep(2 * time.Microsecond)
	})
	deadline := time.Now().Add(testTimeout)
	for d.Stats().Keepalives-dk0 < int64(c.Stats().Keepalives-k0) && time.Now().Before(deadline) {
		c.DoWork(driverclient.Now())
	}
	t.Logf("%v allocations per cycle; client sent %d keepalives, driver handled %d", allocs,
		c.Stats().Keepalives-k0, d.Stats().Keepalives-dk0)
	if allocs != 0 {
		t.Errorf("%v allocations per keepalive cycle (client and driver)", allocs)
	}
	if c.Stats().Keepalives-k0 < 2000 || !l.Usable() {
		t.Errorf("%d keepalives sent, usable %v", c.Stats().Keepalives-k0, l.Usable())
	}
}

// BenchmarkClientAttach: Client.Attach (its own goroutine, default idle
// strategy) to tpoold in its own process, then Detach; the histogram holds
// Attach's duration as a caller sees it.
func BenchmarkClientAttach(b *testing.B) {
	e := newEnv(b)
	e.spawn("driver", "").await("ready")
	c := e.newClient(e.connect(), nil)
	ctx := testCtx(b)
	req := driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer}
	rec := latency.New()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		l, err := c.Attach(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		rec.Record(time.Since(start))
		if err := c.Detach(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	rec.Report(b)
}
