package client_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// metaCheck follows what a handler sees of the metadata: every frame whose
// metadata is there must get the version it was stamped with, with the
// attributes published for that version.
type metaCheck struct {
	t        testing.TB
	want     map[uint32]string // version -> value of attribute "gain"
	blob     []byte
	frames   int
	withMeta int
	lastVer  uint32
	bad      int
}

func (m *metaCheck) handle(f client.FrameView) {
	m.frames++
	md := f.Meta()
	if md == nil {
		return
	}
	m.withMeta++
	gain, _ := md.Attribute("gain")
	b, ok := md.Blob(7)
	switch {
	case md.Version != f.MetaVersion():
		m.t.Errorf("frame %d stamped %d got metadata version %d", f.Seq(), f.MetaVersion(), md.Version)
		m.bad++
	case string(gain.Value) != m.want[md.Version]:
		m.t.Errorf("version %d: gain %q, want %q", md.Version, gain.Value, m.want[md.Version])
		m.bad++
	case !ok || !bytes.Equal(b, m.blob):
		m.t.Errorf("version %d: calibration blob %v (%d bytes)", md.Version, ok, len(b))
		m.bad++
	case md.Source.Name != "cam0":
		m.t.Errorf("version %d: source %+v", md.Version, md.Source)
		m.bad++
	}
	m.lastVer = md.Version
}

// Metadata end to end in one process over the real media driver and
// driver: a consumer that was there before the metadata, one that joins
// after it was sent (it gets the periodic repeat), and a change of version
// mid-stream.
func TestMetadataEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, MetaPeriod: 50 * time.Millisecond,
		MetaChunkBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	early, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 100_003) // 26 chunks
	for i := range blob {
		blob[i] = byte(i * 13)
	}
	if err := prod.SetSource(client.DataSource{Name: "cam0", Summary: "8 uint16"}); err != nil {
		t.Fatal(err)
	}
	if _, err := prod.PublishBlob(7, blob); err != nil {
		t.Fatal(err)
	}
	v1, err := prod.PublishMeta([]client.Attribute{{Key: "gain", Format: "text/plain", Value: []byte("1.0")}})
	if err != nil {
		t.Fatal(err)
	}
	if prod.MetaVersion() != v1 {
		t.Fatalf("MetaVersion %d, want %d", prod.MetaVersion(), v1)
	}
	want := map[uint32]string{v1: "1.0"}

	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 8)
	payload := make([]byte, 16)
	offer := func() {
		t.Helper()
		// A MetaVersion set here is overridden: the producer stamps its own.
		if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h, MetaVersion: 12345}); err != nil {
			t.Fatal(err)
		}
	}
	// runUntil offers frames until every consumer saw a frame with the
	// metadata of version v.
	runUntil := func(v uint32, cs map[*client.Consumer]*metaCheck) {
		t.Helper()
		for {
			offer()
			done := true
			for cons, chk := range cs {
				cons.Poll(chk.handle)
				done = done && chk.lastVer == v
			}
			if done {
				return
			}
			if ctx.Err() != nil {
				for cons, chk := range cs {
					t.Logf("consumer: %+v, meta stats %+v", *chk, cons.MetaStats())
				}
				t.Fatalf("no frame with metadata version %d", v)
			}
			time.Sleep(time.Millisecond)
		}
	}
	a := &metaCheck{t: t, want: want, blob: blob}
	runUntil(v1, map[*client.Consumer]*metaCheck{early: a})

	// A consumer that joins now gets the metadata from the periodic repeat.
	late, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	b := &metaCheck{t: t, want: want, blob: blob}
	runUntil(v1, map[*client.Consumer]*metaCheck{early: a, late: b})

	// A new version: frames after it carry it, and find its attributes
	// (and the blob, carried over).
	v2, err := prod.PublishMeta([]client.Attribute{{Key: "gain", Format: "text/plain", Value: []byte("2.5")}})
	if err != nil {
		t.Fatal(err)
	}
	if v2 != v1+1 {
		t.Errorf("second version %d, want %d", v2, v1+1)
	}
	want[v2] = "2.5"
	runUntil(v2, map[*client.Consumer]*metaCheck{early: a, late: b})

	for _, cons := range []*client.Consumer{early, late} {
		src, ok := cons.Source()
		if !ok || src.Name != "cam0" || src.Summary != "8 uint16" {
			t.Errorf("Source() = %+v, %v", src, ok)
		}
		if m := cons.Meta(); m == nil || m.Version != v2 {
			t.Errorf("Meta() = %+v, want version %d", m, v2)
		}
		if s := cons.MetaStats(); s.BlobsDiscarded+s.Malformed+s.BlobsTooLarge != 0 {
			t.Errorf("meta stats %+v", s)
		}
	}
	if s := prod.MetaStats(); s.Rounds == 0 || s.Failed != 0 {
		t.Errorf("producer meta stats %+v", s)
	}
	if a.bad+b.bad != 0 || a.withMeta == 0 || b.withMeta == 0 {
		t.Errorf("early %+v late %+v", *a, *b)
	}
}

// Frames of a producer that publishes no metadata have none, and a
// consumer that opts out never gets any.
func TestNoMetadata(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, 4)
	if _, err := prod.OfferFrame(make([]byte, 4), &pool.FrameMeta{Tensor: h, MetaVersion: 77}); err != nil {
		t.Fatal(err)
	}
	if prod.MetaVersion() != 0 {
		t.Errorf("MetaVersion %d before any metadata", prod.MetaVersion())
	}
	if _, err := prod.PublishMeta([]client.Attribute{{Key: "k", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prod.PublishMeta([]client.Attribute{{Key: "caf\u00e9"}}); err == nil {
		t.Error("a non-ASCII key was accepted")
	}
	got := 0
	for got < 2 && ctx.Err() == nil {
		if got == 1 {
			if _, err := prod.OfferFrame(make([]byte, 4), &pool.FrameMeta{Tensor: h}); err != nil {
				t.Fatal(err)
			}
		}
		cons.Poll(func(f client.FrameView) {
			switch {
			case got == 0 && f.MetaVersion() != 77:
				t.Errorf("frame before any metadata: meta version %d, want the caller's 77", f.MetaVersion())
			case f.Meta() != nil:
				t.Errorf("frame %d has metadata on a consumer without it", f.Seq())
			}
			got++
		})
		time.Sleep(time.Millisecond)
	}
	if cons.Meta() != nil {
		t.Error("Meta() on a consumer without metadata")
	}
}

// With metadata (attributes and a blob) present and repeated every
// millisecond, offering, polling and reading a frame's metadata allocate
// nothing; the client runs in invoker mode so the repeats happen inside
// the measured function.
func TestMetadataNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(true)
	ctx := testCtx(t)
	var prod *client.Producer
	var cons *client.Consumer
	errc := make(chan error, 1)
	go func() { // attaching needs the duty cycle this goroutine would run
		var err error
		if prod, err = c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, MetaPeriod: time.Millisecond}); err == nil {
			cons, err = c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
		}
		errc <- err
	}()
	for wait := true; wait; {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
			wait = false
		default:
			c.DoWork()
			time.Sleep(100 * time.Microsecond)
		}
	}
	if _, err := prod.PublishBlob(1, bytes.Repeat([]byte("calibration"), 10_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := prod.PublishMeta([]client.Attribute{{Key: "sensor", Format: "text/plain", Value: []byte("IMX")}}); err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 1024)
	payload := make([]byte, 2048)
	meta := pool.FrameMeta{Tensor: h}
	withMeta := 0
	handler := func(f client.FrameView) {
		if m := f.Meta(); m != nil {
			if a, ok := m.Attribute("sensor"); ok && len(a.Value) == 3 {
				withMeta++
			}
		}
	}
	got := 0
	counting := func(f client.FrameView) { got++; handler(f) }
	step := func() {
		if _, err := prod.OfferFrame(payload, &meta); err != nil {
			t.Fatal(err)
		}
		c.DoWork()
		for want := got + 1; got < want; {
			cons.Poll(counting)
		}
	}
	deadline := time.Now().Add(testTimeout)
	for withMeta == 0 { // warm up until the metadata arrived
		step()
		if time.Now().After(deadline) {
			t.Fatalf("no metadata arrived: %+v", cons.MetaStats())
		}
	}
	rounds := prod.MetaStats().Rounds
	if n := testing.AllocsPerRun(500, step); n != 0 {
		t.Errorf("%v allocations per frame with metadata, want 0", n)
	}
	if prod.MetaStats().Rounds == rounds {
		t.Log("no metadata repeat happened while measuring") // not a failure: timing-dependent
	}
}
