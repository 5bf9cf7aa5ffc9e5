package driver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/pool"
)

const testTimeout = 30 * time.Second

// smallMediaDriver is a media driver configuration small enough for tests.
func smallMediaDriver(dir string) mediadriver.Config {
	return mediadriver.Config{Dir: dir, IPCTermLength: 64 << 10, TimerInterval: 10 * time.Millisecond,
		PublicationLinger: 20 * time.Millisecond, ToDriverBufferLength: 64<<10 + 768, ToClientsBufferLength: 64<<10 + 128,
		CounterValuesLength: 64 << 10, ErrorLogLength: 64 << 10}
}

func startMediaDriver(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "aeron")
	md, err := mediadriver.Start(smallMediaDriver(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { md.Close() })
	return dir
}

func testConfig(t testing.TB, aeronDir string) driver.Config {
	c := driver.DefaultConfig()
	c.Driver.InstanceID = "it"
	c.Driver.AeronDir = aeronDir
	c.Driver.ControlChannel = "aeron:ipc?term-length=64k"
	c.Driver.QoSChannel = c.Driver.ControlChannel
	c.SHM.BaseDir = filepath.Join(t.TempDir(), "shm", "base")
	c.Profiles = []driver.Profile{{Name: "small", HeaderNslots: 8, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: 4096}}}}
	c.Streams = []driver.StreamConfig{{Name: "s", StreamID: 10000, Profile: "small"}}
	c.Policies.PrefaultSHM = false
	c.Policies.AnnouncePeriod = 50 * time.Millisecond
	c.Policies.LeaseKeepaliveInterval = 50 * time.Millisecond
	c.Policies.ShutdownTimeout = 200 * time.Millisecond
	c.Policies.ShutdownToken = "tok"
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// peer is a control-plane client over Aeron.
type peer struct {
	t      testing.TB
	c      *aeron.Client
	s      *control.Sender
	p      *control.Poller
	rec    *rec
	corrID int64
}

type rec struct {
	control.NopHandler
	resp     []control.AttachResponse
	detach   []gdriver.ResponseCode
	revoked  []control.LeaseRevoked
	ann      []control.PoolAnnounce
	shutdown []gdriver.ShutdownReason
}

func (r *rec) OnAttachResponse(m *gdriver.ShmAttachResponseDecoder) {
	a := control.AttachResponse{CorrelationID: m.CorrelationId(), Code: m.Code(), LeaseID: m.LeaseId(), StreamID: m.StreamId(),
		Epoch: m.Epoch(), LayoutVersion: m.LayoutVersion(), HeaderNslots: m.HeaderNslots(), HeaderURI: m.HeaderRegionUriString(),
		ErrorMessage: m.ErrorMessageString()}
	g := m.PayloadPools()
	for g.Next() {
		a.Pools = append(a.Pools, control.Pool{PoolID: g.PoolId(), Nslots: g.PoolNslots(), StrideBytes: g.StrideBytes(), RegionURI: g.RegionUriString()})
	}
	r.resp = append(r.resp, a)
}
func (r *rec) OnDetachResponse(m *gdriver.ShmDetachResponseDecoder) {
	r.detach = append(r.detach, m.Code())
}
func (r *rec) OnLeaseRevoked(m *gdriver.ShmLeaseRevokedDecoder) {
	r.revoked = append(r.revoked, control.LeaseRevoked{LeaseID: m.LeaseId(), Reason: m.Reason()})
}
func (r *rec) OnPoolAnnounce(m *wire.ShmPoolAnnounceDecoder) {
	r.ann = append(r.ann, control.PoolAnnounce{StreamID: m.StreamId(), ProducerID: m.ProducerId(), Epoch: m.Epoch()})
}
func (r *rec) OnDriverShutdown(m *gdriver.ShmDriverShutdownDecoder) {
	r.shutdown = append(r.shutdown, m.Reason())
}

func newPeer(t testing.TB, aeronDir string, cfg driver.Config) *peer {
	t.Helper()
	c, err := aeron.Connect(ctxT(t), aeron.Config{Dir: aeronDir, ResourceLinger: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sub, err := c.AddSubscription(ctxT(t), cfg.Driver.ControlChannel, int32(cfg.Driver.ControlStreamID))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.AddPublication(ctxT(t), cfg.Driver.ControlChannel, int32(cfg.Driver.ControlStreamID))
	if err != nil {
		t.Fatal(err)
	}
	r := &rec{}
	p := &peer{t: t, c: c, s: control.NewSender(pub, 0), p: control.NewPoller(sub, r), rec: r}
	p.until("connected", func() bool { return pub.IsConnected() })
	return p
}

// until polls the control stream until cond holds.
func (p *peer) until(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("gave up waiting for %s", what)
		}
		if p.p.Poll(16) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

func (p *peer) send(f func() int64) {
	p.t.Helper()
	p.until("offer", func() bool { return control.Sent(f()) })
}

func (p *peer) attach(stream, client uint32, role gdriver.Role) control.AttachResponse {
	p.t.Helper()
	p.corrID++
	id := p.corrID
	p.send(func() int64 {
		return p.s.SendAttachRequest(&control.AttachRequest{CorrelationID: id, StreamID: stream, ClientID: client, Role: role,
			PublishMode: gdriver.PublishModeNullValue, DesiredNodeID: control.NullU32})
	})
	var got control.AttachResponse
	p.until("attach response", func() bool {
		for _, r := range p.rec.resp {
			if r.CorrelationID == id {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// resources counts what could leak: goroutines, open fds, and mappings of
// files under root.
func resources(t testing.TB, root string) (goroutines, fds, maps int) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return runtime.NumGoroutine(), len(entries), bytes.Count(b, []byte(root))
}

func settle(t testing.TB, root string, g0, f0 int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		g, f, m := resources(t, root)
		if g <= g0 && f <= f0 && m == 0 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("leak: goroutines %d -> %d, fds %d -> %d, mappings under %s: %d\n%s", g0, g, f0, f, root, m, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLifecycleExternal(t *testing.T) {
	aeronDir := startMediaDriver(t)
	cfg := testConfig(t, aeronDir)
	root := filepath.Dir(filepath.Dir(cfg.SHM.BaseDir))
	p := newPeer(t, aeronDir, cfg)
	g0, f0, _ := resources(t, root)

	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.MediaDriver() != driver.MediaDriverExternal || d.AeronDir() != aeronDir {
		t.Errorf("media driver %s at %s", d.MediaDriver(), d.AeronDir())
	}
	// A second driver on the same base directory and control stream refuses.
	if d2, err := driver.Start(ctxT(t), cfg, nil); !errors.Is(err, driver.ErrAlreadyRunning) {
		if d2 != nil {
			d2.Close()
		}
		t.Fatalf("second driver: %v", err)
	}

	prod := p.attach(10000, 1, gdriver.RoleProducer)
	cons := p.attach(10000, 2, gdriver.RoleConsumer)
	if prod.Code != gdriver.ResponseCodeOk || cons.Code != gdriver.ResponseCodeOk || cons.Epoch != prod.Epoch {
		t.Fatalf("attach: %+v / %+v", prod, cons)
	}
	// The lease's regions map with the wire spec's checks.
	allow, err := pool.NewAllowList(cfg.SHM.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	ann := pool.Announcement{StreamID: cons.StreamID, Epoch: cons.Epoch, LayoutVersion: cons.LayoutVersion, NSlots: cons.HeaderNslots, HeaderURI: cons.HeaderURI}
	for _, pp := range cons.Pools {
		ann.Pools = append(ann.Pools, pool.AnnouncedPool{ID: pp.PoolID, NSlots: pp.Nslots, StrideBytes: pp.StrideBytes, URI: pp.RegionURI})
	}
	at, err := pool.Attach(ann, allow, 0)
	if err != nil {
		t.Fatalf("map lease regions: %v", err)
	}
	at.Close()
	// Periodic announces name the producer.
	p.until("announce with producer", func() bool {
		for _, a := range p.rec.ann {
			if a.ProducerID == 1 && a.Epoch == prod.Epoch {
				return true
			}
		}
		return false
	})
	// The driver's figures are Aeron counters in the CnC.
	labels := map[string]int64{}
	cr := p.c.Counters()
	cr.ForEach(func(id, typeID int32, label string) {
		if typeID == driver.CounterTypeID {
			labels[label] = cr.Value(id)
		}
	})
	if v, ok := labels["tpoold active leases: it"]; !ok || v != 2 {
		t.Errorf("counters %v", labels)
	}
	if len(labels) < 15 {
		t.Errorf("only %d driver counters", len(labels))
	}
	if s := d.Stats(); s.ActiveLeases != 2 || s.Attaches != 2 || s.AnnouncesSent == 0 {
		t.Errorf("stats %+v", s)
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-d.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if d.Err() != nil {
		t.Errorf("Err after Close: %v", d.Err())
	}
	p.until("shutdown notice", func() bool { return len(p.rec.shutdown) > 0 })
	if p.rec.shutdown[0] != gdriver.ShutdownReasonNormal || len(p.rec.revoked) != 2 {
		t.Errorf("shutdown %v revoked %+v", p.rec.shutdown, p.rec.revoked)
	}
	// Nothing left: the base directory and its parents the driver made
	// are gone.
	if _, err := os.Stat(cfg.SHM.BaseDir); !os.IsNotExist(err) {
		t.Errorf("base dir after Close: %v (%v)", err, walk(cfg.SHM.BaseDir))
	}
	settle(t, root, g0, f0)
}

func walk(root string) []string {
	var out []string
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { out = append(out, p); return nil })
	return out
}

func TestEmbeddedMediaDriver(t *testing.T) {
	aeronDir := filepath.Join(t.TempDir(), "aeron-embedded")
	t.Setenv("AERON_DIR", aeronDir)
	cfg := testConfig(t, "")
	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.MediaDriver() != driver.MediaDriverEmbedded || d.AeronDir() != aeronDir {
		t.Errorf("media driver %s at %s", d.MediaDriver(), d.AeronDir())
	}
	p := newPeer(t, aeronDir, cfg)
	if r := p.attach(10000, 1, gdriver.RoleConsumer); r.Code != gdriver.ResponseCodeOk {
		t.Fatalf("attach %+v", r)
	}
	// A second embedded driver finds the live media driver and refuses.
	cfg2 := testConfig(t, "")
	if d2, err := driver.Start(ctxT(t), cfg2, nil); !errors.Is(err, driver.ErrMediaDriverActive) || !strings.Contains(err.Error(), "driver.aeron_dir") {
		if d2 != nil {
			d2.Close()
		}
		t.Fatalf("second embedded driver: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(aeronDir); !os.IsNotExist(err) {
		t.Errorf("embedded media driver directory left: %v", err)
	}
}

func TestNoExternalMediaDriver(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	if d, err := driver.Start(ctxT(t), cfg, nil); !errors.Is(err, driver.ErrNoMediaDriver) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(cfg.SHM.BaseDir); !os.IsNotExist(err) {
		t.Errorf("failed start left the base dir: %v", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Policies.EpochGCKeep = 0
	if _, err := driver.Start(ctxT(t), cfg, nil); !errors.Is(err, driver.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}

func TestShutdownRequestOverAeron(t *testing.T) {
	aeronDir := startMediaDriver(t)
	cfg := testConfig(t, aeronDir)
	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := newPeer(t, aeronDir, cfg)
	p.attach(10000, 1, gdriver.RoleConsumer)
	p.send(func() int64 {
		return p.s.SendShutdownRequest(&control.ShutdownRequest{CorrelationID: 1, Reason: gdriver.ShutdownReasonAdmin, Token: "wrong"})
	})
	p.until("denial counted", func() bool { return d.Stats().ShutdownDenied == 1 })
	select {
	case <-d.Done():
		t.Fatal("stopped on a wrong token")
	default:
	}
	p.send(func() int64 {
		return p.s.SendShutdownRequest(&control.ShutdownRequest{CorrelationID: 2, Reason: gdriver.ShutdownReasonAdmin, Token: "tok"})
	})
	select {
	case <-d.Done():
	case <-time.After(testTimeout):
		t.Fatal("driver did not stop on a good token")
	}
	if d.Err() != nil {
		t.Errorf("Err %v", d.Err())
	}
	p.until("shutdown notice", func() bool { return len(p.rec.shutdown) > 0 })
	if p.rec.shutdown[0] != gdriver.ShutdownReasonAdmin {
		t.Errorf("reason %v", p.rec.shutdown[0])
	}
}

func TestEpochMonotonicAcrossRestart(t *testing.T) {
	aeronDir := startMediaDriver(t)
	cfg := testConfig(t, aeronDir)
	p := newPeer(t, aeronDir, cfg)
	var last uint64
	for i := range 3 {
		d, err := driver.Start(ctxT(t), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := p.attach(10000, uint32(i+1), gdriver.RoleProducer)
		if r.Code != gdriver.ResponseCodeOk || r.Epoch <= last {
			t.Fatalf("run %d: epoch %d after %d (%+v)", i, r.Epoch, last, r)
		}
		last = r.Epoch
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSeparateAnnounceStream(t *testing.T) {
	aeronDir := startMediaDriver(t)
	cfg := testConfig(t, aeronDir)
	cfg.Driver.AnnounceStreamID = 1001
	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := newPeer(t, aeronDir, cfg)
	sub, err := p.c.AddSubscription(ctxT(t), cfg.Driver.ControlChannel, 1001)
	if err != nil {
		t.Fatal(err)
	}
	var annRec rec
	annPoller := control.NewPoller(sub, &annRec)
	r := p.attach(10000, 7, gdriver.RoleProducer)
	p.until("announce on stream 1001", func() bool {
		annPoller.Poll(16)
		for _, a := range annRec.ann {
			if a.ProducerID == 7 && a.Epoch == r.Epoch {
				return true
			}
		}
		return false
	})
	p.p.Poll(16)
	if len(p.rec.ann) != 0 {
		t.Errorf("announces on the control stream: %+v", p.rec.ann)
	}
}

// TestNothingLeftInDevShm runs the driver with its embedded media driver
// and its base directory in /dev/shm (unique names) through attaches, a
// producer detach (two epochs) and Close: nothing it made is left there.
func TestNothingLeftInDevShm(t *testing.T) {
	root, err := os.MkdirTemp("/dev/shm", "tpool-driver-test-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.RemoveAll(root)
	aeronDir := filepath.Join(root, "aeron")
	t.Setenv("AERON_DIR", aeronDir)
	cfg := testConfig(t, "")
	cfg.SHM.BaseDir = filepath.Join(root, "tensorpool")
	g0, f0, _ := resources(t, root)
	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, aeronDir, cfg)
	prod := p.attach(10000, 1, gdriver.RoleProducer)
	p.attach(10000, 2, gdriver.RoleConsumer)
	p.send(func() int64 {
		return p.s.SendDetachRequest(&control.DetachRequest{CorrelationID: 99, LeaseID: prod.LeaseID, StreamID: 10000, ClientID: 1, Role: gdriver.RoleProducer})
	})
	p.until("detach response", func() bool { return len(p.rec.detach) == 1 })
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	p.c.Close()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("left in %s: %v", root, walk(root))
	}
	settle(t, root, g0, f0)
}

// sessionRec records the Aeron session of attach responses and announces.
type sessionRec struct {
	control.NopHandler
	p         *control.Poller
	resp, ann []int32
}

func (r *sessionRec) OnAttachResponse(*gdriver.ShmAttachResponseDecoder) {
	r.resp = append(r.resp, r.p.SessionID())
}
func (r *sessionRec) OnPoolAnnounce(*wire.ShmPoolAnnounceDecoder) {
	r.ann = append(r.ann, r.p.SessionID())
}

// TestDriverSpeaksFromItsOwnSession: tpoold's responses and announces (on
// a separate announce stream too) carry one Aeron session id that is not
// the clients' shared one, and no other publication can take it: what
// clients use to tell the driver's messages from anyone else's
// (DECISIONS.md 43).
func TestDriverSpeaksFromItsOwnSession(t *testing.T) {
	aeronDir := startMediaDriver(t)
	cfg := testConfig(t, aeronDir)
	cfg.Driver.AnnounceStreamID = 1001
	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := newPeer(t, aeronDir, cfg)
	var polls [2]*control.Poller
	var recs [2]*sessionRec
	for i, stream := range []int32{int32(cfg.Driver.ControlStreamID), 1001} {
		sub, err := p.c.AddSubscription(ctxT(t), cfg.Driver.ControlChannel, stream)
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &sessionRec{}
		polls[i] = control.NewPoller(sub, recs[i])
		recs[i].p = polls[i]
	}
	p.attach(10000, 7, gdriver.RoleProducer)
	p.until("the response and an announce, with their sessions", func() bool {
		polls[0].Poll(16)
		polls[1].Poll(16)
		return len(recs[0].resp) > 0 && len(recs[1].ann) > 0
	})
	driverSession := recs[0].resp[0]
	for _, s := range recs[1].ann {
		if s != driverSession {
			t.Errorf("announce from session %d, the response from %d", s, driverSession)
		}
	}
	// The clients' concurrent publication on the control stream has a
	// session of its own.
	mine, err := p.c.AddPublication(ctxT(t), cfg.Driver.ControlChannel, int32(cfg.Driver.ControlStreamID))
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	if mine.SessionID() == driverSession {
		t.Errorf("a client's publication shares the driver's session %d", driverSession)
	}
	// Nobody can publish on the driver's session.
	for _, stream := range []int32{int32(cfg.Driver.ControlStreamID), 1001} {
		ch := cfg.Driver.ControlChannel + "|session-id=" + fmt.Sprint(driverSession)
		if !strings.Contains(cfg.Driver.ControlChannel, "?") {
			ch = cfg.Driver.ControlChannel + "?session-id=" + fmt.Sprint(driverSession)
		}
		if pub, err := p.c.AddPublication(ctxT(t), ch, stream); err == nil {
			pub.Close()
			t.Errorf("stream %d: a concurrent publication on the driver's session %d was added", stream, driverSession)
		}
		if pub, err := p.c.AddExclusivePublication(ctxT(t), ch, stream); err == nil {
			pub.Close()
			t.Errorf("stream %d: an exclusive publication on the driver's session %d was added", stream, driverSession)
		}
	}
}

// TestPerConsumerStreamRanges: the driver's per-consumer stream id
// allocators hand out the configured driver.descriptor_stream_id_range and
// driver.control_stream_id_range and nothing else (Driver Model 11); an
// unset range always declines.
func TestPerConsumerStreamRanges(t *testing.T) {
	aeronDir := startMediaDriver(t)
	for _, tt := range []struct {
		name         string
		desc, ctl    driver.StreamRange
		wantD, wantC []uint32
	}{
		{"set", driver.Range(31000, 31001), driver.Range(32000, 32000), []uint32{31000, 31001}, []uint32{32000}},
		{"unset", driver.StreamRange{}, driver.StreamRange{}, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, aeronDir)
			cfg.Driver.DescriptorStreamIDRange, cfg.Driver.ControlStreamIDRange = tt.desc, tt.ctl
			d, err := driver.Start(ctxT(t), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			drain := func(a *driver.RangeAllocator) []uint32 {
				var got []uint32
				for id, ok := a.Allocate(); ok; id, ok = a.Allocate() {
					got = append(got, id)
				}
				return got
			}
			if got := drain(d.DescriptorStreamIDs()); fmt.Sprint(got) != fmt.Sprint(tt.wantD) {
				t.Errorf("descriptor stream ids %v, want %v", got, tt.wantD)
			}
			if got := drain(d.ControlStreamIDs()); fmt.Sprint(got) != fmt.Sprint(tt.wantC) {
				t.Errorf("control stream ids %v, want %v", got, tt.wantC)
			}
		})
	}
}
