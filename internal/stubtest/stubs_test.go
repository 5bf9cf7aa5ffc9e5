package stubtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tpool-go/tpool/internal/stubtest/sensor"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/typed"
	"github.com/tpool-go/tpool/tensorgen"
)

// The committed stubs are what tensorgen generates from streams.toml now.
func TestGeneratedUpToDate(t *testing.T) {
	outs, err := tensorgen.BuildStubs(tensorgen.StubsConfig{Declaration: "streams.toml", OutDir: "."})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 {
		t.Fatalf("%d files, want the stubs and the sensor codec", len(outs))
	}
	for _, o := range outs {
		got, err := os.ReadFile(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, o.Source) {
			t.Errorf("%s is stale: run make generate (or go generate ./internal/stubtest)", o.Path)
		}
	}
}

func TestImageRoundTrip(t *testing.T) {
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	s, err := NewImageConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewImageProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	img, err := p.Claim()
	if err != nil {
		t.Fatal(err)
	}
	for y := range 48 {
		for x := range 64 {
			img.Set(y, x, uint16(y*100+x))
		}
	}
	p.SetTimestampNs(99)
	seq, err := p.Commit()
	if err != nil {
		t.Fatal(err)
	}
	got, f, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Seq() != seq || f.TimestampNs() != 99 || got.At(47, 63) != 4763 || got.Row(2)[5] != 205 || got.Len() != 48*64 || !f.Verify() {
		t.Fatalf("seq %d/%d at %d row %v", f.Seq(), seq, got.At(47, 63), got.Row(2)[:6])
	}
	if sh := got.Shape(); sh[0] != 48 || sh[1] != 64 {
		t.Fatalf("shape %v", sh)
	}
	// Offer, and Poll.
	frame := make([]uint16, 48*64)
	frame[len(frame)-1] = 4242
	if _, err := p.Offer(frame); err != nil {
		t.Fatal(err)
	}
	var last uint16
	for n := 0; n == 0; {
		s.Poll(func(v ImageView, f client.FrameView) { last, n = v.Data()[48*64-1], n+1 })
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
	}
	if last != 4242 {
		t.Fatalf("last element %d", last)
	}
	if _, err := p.Offer(frame[1:]); !errors.Is(err, typed.ErrLength) {
		t.Fatalf("short frame: %v", err)
	}
}

func TestCloudDynamicRoundTrip(t *testing.T) {
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	s, err := NewCloudConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewCloudProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, n := range []int{0, 1, 1000, 4096} {
		pts := make([]float32, 3*n)
		for i := range pts {
			pts[i] = float32(i)
		}
		if _, err := p.Offer(pts); err != nil {
			t.Fatal(n, err)
		}
		v, f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Shape()[0] != int32(n) || v.Len() != 3*n || (n > 0 && v.At(n-1, 2) != float32(3*n-1)) || !f.Verify() {
			t.Fatalf("%d points: shape %v", n, v.Shape())
		}
	}
	if _, err := p.Claim(4097); !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), "dynamic dims [4097] for float32 [≤4096 3] row") {
		t.Fatalf("over the bound: %v", err)
	}
}

func TestVolumeColumnMajor(t *testing.T) {
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	s, err := NewVolumeConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewVolumeProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, err := p.Claim(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	v.Set(1, 2, 4, 7.5)
	// Column-major: the first index varies fastest.
	if v.Data()[1+2*2+4*2*3] != 7.5 || len(v.Row(4)) != 6 || v.Row(4)[1+2*2] != 7.5 {
		t.Fatalf("layout %v", v.Data())
	}
	if _, err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Next(ctx)
	if err != nil || got.At(1, 2, 4) != 7.5 {
		t.Fatalf("%v %v", err, got.Data())
	}
	if _, err := p.Offer(make([]float64, 2*3*5), 3, 5); err != nil {
		t.Fatal(err)
	}
	if got, _, err = s.Next(ctx); err != nil || got.Len() != 30 {
		t.Fatalf("%v %v", err, got.Shape())
	}
}

// A stream whose pools the driver made too small for the declaration, and
// a frame that is not what the declaration says.
func TestMismatch(t *testing.T) {
	small := strings.Replace(TpooldProfile, "stride_bytes = 65536\n\n[streams.stubtest_cloud]", "stride_bytes = 4096\n\n[streams.stubtest_cloud]", 1)
	if small == TpooldProfile {
		t.Fatalf("the profile changed; adjust the test:\n%s", TpooldProfile)
	}
	c := newClient(t, small)
	ctx := testCtx(t)
	_, err := NewCloudConsumer(ctx, c)
	if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), "float32 [≤4096 3] row, is 49152 bytes; the driver's pools hold at most 4096") {
		t.Fatalf("attach: %v", err)
	}
	s, err := NewImageConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: ImageSpec().StreamID})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 64, 48)
	if _, err := raw.OfferFrame(make([]byte, 2*48*64), &pool.FrameMeta{Tensor: h}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Next(ctx)
	if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), "stream 10000 (stubtest.Image): the frame is uint16 [64 48] row, the declaration uint16 [48 64] row") {
		t.Fatalf("frame: %v", err)
	}
}

// The metadata message round-trips through its attribute encoding.
func TestMetadataEncoding(t *testing.T) {
	if ImageMetaKey != "sbe:sensor.CameraInfo" || ImageMetaFormat != "sbe:4242.1" {
		t.Fatalf("key %q, format %q", ImageMetaKey, ImageMetaFormat)
	}
	p := &ImageProducer{}
	m := p.Meta()
	m.SetSerial(77)
	m.SetExposureUs(1500)
	m.SetGain(2.5)
	m.SetExposure(sensor.ExposureManual)
	b, err := p.MetaBytes()
	if err != nil {
		t.Fatal(err)
	}
	var d sensor.CameraInfoDecoder
	if err := DecodeImageMeta(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Serial() != 77 || d.ExposureUs() != 1500 || d.Gain() != 2.5 || d.Exposure() != sensor.ExposureManual {
		t.Fatalf("decoded %v", d.String())
	}
	if err := DecodeImageMeta(b[:len(b)-1], &d); err == nil {
		t.Fatal("decoded a truncated message")
	}
}

func TestStubsNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	s, err := NewCloudConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewCloudProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ip := &ImageProducer{}
	pts := make([]float32, 300)
	got := 0
	handler := func(v CloudView, f client.FrameView) {
		if v.Len() > 0 && f.Verify() {
			got++
		}
	}
	tests := []struct {
		name string
		fn   func()
	}{
		{"Claim+Commit+Poll", func() {
			v, err := p.Claim(50)
			if err != nil {
				t.Fatal(err)
			}
			v.Set(49, 2, 1)
			copy(v.Row(3), pts)
			if _, err := p.Commit(); err != nil {
				t.Fatal(err)
			}
			for want := got + 1; got < want; {
				s.Poll(handler)
			}
		}},
		{"Offer+Next", func() {
			if _, err := p.Offer(pts); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{"Meta+MetaBytes+Decode", func() {
			ip.Meta().SetSerial(1)
			b, _ := ip.MetaBytes()
			var d sensor.CameraInfoDecoder
			if DecodeImageMeta(b, &d) != nil || d.Serial() != 1 {
				t.Fatal("metadata")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 10 {
				tt.fn()
			}
			if n := testing.AllocsPerRun(200, tt.fn); n != 0 {
				t.Errorf("%v allocations per frame, want 0", n)
			}
		})
	}
}

// Typed metadata through the client: the producer publishes a CameraInfo
// as the stream's DataSourceMeta attribute, the consumer decodes it for
// the frames that refer to it.
func TestMetadataRoundTrip(t *testing.T) {
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	s, err := NewImageConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewImageProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := p.Meta()
	m.SetSerial(31337)
	m.SetExposure(sensor.ExposureAuto)
	version, err := p.PublishMeta()
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]uint16, 48*64)
	// Metadata travels on its own stream: offer frames until one arrives
	// whose metadata is there too (a hang is caught by ctx).
	for {
		if _, err := p.Offer(frame); err != nil {
			t.Fatal(err)
		}
		_, f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.MetaVersion() != version {
			t.Fatalf("frame meta version %d, published %d", f.MetaVersion(), version)
		}
		d, err := s.Meta(f)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			continue
		}
		if d.Serial() != 31337 || d.Exposure() != sensor.ExposureAuto {
			t.Fatalf("metadata %s", d.String())
		}
		a, _ := f.Meta().Attribute(ImageMetaKey)
		if a.Format != ImageMetaFormat {
			t.Fatalf("format %q", a.Format)
		}
		return
	}
}
