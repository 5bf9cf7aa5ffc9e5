package typed_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/typed"
)

var (
	imageSpec = typed.Spec{Name: "test.Image", StreamID: 10000, Dtype: pool.Uint16, Order: pool.RowMajor,
		Shape: []int32{4, 8}, MaxShape: []int32{4, 8}, Slots: 64, StrideBytes: 64}
	cloudSpec = typed.Spec{Name: "test.Cloud", StreamID: 10001, Dtype: pool.Float32, Order: pool.RowMajor,
		Shape: []int32{-1, 3}, MaxShape: []int32{100, 3}, Slots: 64, StrideBytes: 2048}
)

func TestSpecCheck(t *testing.T) {
	hdr := func(dt pool.Dtype, order pool.MajorOrder, dims []int32, strides ...int32) *pool.TensorHeader {
		h := pool.TensorHeader{Dtype: dt, MajorOrder: order, NDims: uint8(len(dims))}
		copy(h.Dims[:], dims)
		copy(h.Strides[:], strides)
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
		return &h
	}
	col := cloudSpec
	col.Order = pool.ColumnMajor
	tests := []struct {
		name string
		spec *typed.Spec
		h    *pool.TensorHeader
		want string // "" for a match
	}{
		{"fixed", &imageSpec, hdr(pool.Uint16, pool.RowMajor, []int32{4, 8}), ""},
		{"dtype", &imageSpec, hdr(pool.Int16, pool.RowMajor, []int32{4, 8}), "the frame is int16 [4 8] row, the declaration uint16 [4 8] row"},
		{"order", &imageSpec, hdr(pool.Uint16, pool.ColumnMajor, []int32{4, 8}), "the frame is uint16 [4 8] column, the declaration uint16 [4 8] row"},
		{"fixed dim", &imageSpec, hdr(pool.Uint16, pool.RowMajor, []int32{4, 9}), "the frame is uint16 [4 9] row"},
		{"ndims", &imageSpec, hdr(pool.Uint16, pool.RowMajor, []int32{32}), "the frame is uint16 [32] row"},
		{"padded rows", &imageSpec, hdr(pool.Uint16, pool.RowMajor, []int32{4, 8}, 32, 2), "with strides [32 2] (not dense)"},
		{"dynamic", &cloudSpec, hdr(pool.Float32, pool.RowMajor, []int32{7, 3}), ""},
		{"dynamic empty", &cloudSpec, hdr(pool.Float32, pool.RowMajor, []int32{0, 3}), ""},
		{"dynamic at bound", &cloudSpec, hdr(pool.Float32, pool.RowMajor, []int32{100, 3}), ""},
		{"dynamic over bound", &cloudSpec, hdr(pool.Float32, pool.RowMajor, []int32{101, 3}), "the frame is float32 [101 3] row, the declaration float32 [≤100 3] row"},
		{"column major", &col, hdr(pool.Float32, pool.ColumnMajor, []int32{7, 3}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Check(tt.h)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrMismatch with %q", err, tt.want)
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	bad := func(f func(s *typed.Spec)) *typed.Spec {
		s := cloudSpec
		s.Shape = append([]int32(nil), s.Shape...)
		s.MaxShape = append([]int32(nil), s.MaxShape...)
		f(&s)
		return &s
	}
	for name, s := range map[string]*typed.Spec{
		"stream 0":         bad(func(s *typed.Spec) { s.StreamID = 0 }),
		"no dims":          bad(func(s *typed.Spec) { s.Shape, s.MaxShape = nil, nil }),
		"bit":              bad(func(s *typed.Spec) { s.Dtype = pool.Bit }),
		"order":            bad(func(s *typed.Spec) { s.Order = 0 }),
		"max shape":        bad(func(s *typed.Spec) { s.MaxShape[1] = 4 }),
		"stride too small": bad(func(s *typed.Spec) { s.StrideBytes = 1024 }),
	} {
		if err := s.Validate(); !errors.Is(err, typed.ErrSpec) {
			t.Errorf("%s: %v, want ErrSpec", name, err)
		}
	}
	if err := cloudSpec.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckLease(t *testing.T) {
	info := &driverclient.LeaseInfo{Pools: []driverclient.LeasePool{{ID: 1, StrideBytes: 1024}, {ID: 2, StrideBytes: 512}}}
	err := cloudSpec.CheckLease(info)
	for _, want := range []string{"float32 [≤100 3] row, is 1200 bytes", "the driver's pools hold at most 1024", "pool 1 of 1024-byte slots", "stride_bytes 2048"} {
		if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want ErrMismatch with %q", err, want)
		}
	}
	info.Pools[1].StrideBytes = 2048
	if err := cloudSpec.CheckLease(info); err != nil {
		t.Error(err)
	}
}

func TestViewIndexing(t *testing.T) {
	c := newClient(t, map[uint32]uint32{imageSpec.StreamID: 64})
	ctx := testCtx(t)
	p, err := typed.NewProducer[uint16](ctx, c, &imageSpec, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, err := p.Claim()
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Shape(); len(got) != 2 || got[0] != 4 || got[1] != 8 || v.Len() != 32 || v.NDims() != 2 || v.Dim(1) != 8 {
		t.Fatalf("shape %v len %d", got, v.Len())
	}
	for i := range 4 {
		for j := range 8 {
			v.Set(uint16(i*10+j), i, j)
		}
	}
	if v.At(2, 5) != 25 || v.Data()[2*8+5] != 25 || v.Row(3)[7] != 37 || len(v.Row(0)) != 8 {
		t.Fatalf("indexing: %v", v.Data())
	}
	for name, f := range map[string]func(){
		"index": func() { v.At(4, 0) }, "arity": func() { v.At(1) }, "row": func() { v.Row(4) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s out of range did not panic", name)
				}
			}()
			f()
		}()
	}
	p.Abort()
	if _, err := p.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
}

func TestRoundTripFixed(t *testing.T) {
	c := newClient(t, map[uint32]uint32{imageSpec.StreamID: 64})
	ctx := testCtx(t)
	s, err := typed.NewConsumer[uint16](ctx, c, &imageSpec, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[uint16](ctx, c, &imageSpec, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Claim, fill, commit.
	v, err := p.Claim()
	if err != nil {
		t.Fatal(err)
	}
	for i := range v.Data() {
		v.Data()[i] = uint16(100 + i)
	}
	p.SetTimestampNs(12345)
	p.SetMetaVersion(3)
	seq, err := p.Commit()
	if err != nil {
		t.Fatal(err)
	}
	got, f, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Seq() != seq || f.TimestampNs() != 12345 || f.MetaVersion() != 3 || got.At(3, 7) != 131 || !f.Verify() {
		t.Fatalf("seq %d/%d ts %d mv %d at %d", f.Seq(), seq, f.TimestampNs(), f.MetaVersion(), got.At(3, 7))
	}
	// Offer from a slice.
	data := make([]uint16, 32)
	data[31] = 7
	if _, err := p.Offer(data); err != nil {
		t.Fatal(err)
	}
	if got, _, err = s.Next(ctx); err != nil || got.At(3, 7) != 7 {
		t.Fatalf("offer: %v %v", err, got.Data())
	}
	if _, err := p.Offer(data[:31]); !errors.Is(err, typed.ErrLength) {
		t.Fatalf("short offer: %v", err)
	}
	if _, err := p.Claim(5); !errors.Is(err, typed.ErrMismatch) {
		t.Fatalf("dims for a fixed shape: %v", err)
	}
}

func TestRoundTripDynamic(t *testing.T) {
	c := newClient(t, map[uint32]uint32{cloudSpec.StreamID: 2048})
	ctx := testCtx(t)
	s, err := typed.NewConsumer[float32](ctx, c, &cloudSpec, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[float32](ctx, c, &cloudSpec, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, n := range []int{1, 57, 100, 0} {
		v, err := p.Claim(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			copy(v.Row(i), []float32{float32(i), float32(n), -1})
		}
		if _, err := p.Commit(); err != nil {
			t.Fatal(err)
		}
		got, f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Dim(0) != n || got.Len() != 3*n || (n > 0 && (got.At(n-1, 0) != float32(n-1) || got.At(n-1, 1) != float32(n))) || !f.Verify() {
			t.Fatalf("%d points: shape %v data %v", n, got.Shape(), got.Data())
		}
	}
	// Offer infers the one dynamic dim.
	if _, err := p.Offer(make([]float32, 30)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Next(ctx); err != nil || got.Dim(0) != 10 {
		t.Fatalf("offer: %v %v", err, got.Shape())
	}
	if _, err := p.Offer(make([]float32, 31)); !errors.Is(err, typed.ErrLength) {
		t.Fatalf("31 floats: %v", err)
	}
	for _, dims := range [][]int{{101}, {-1}, {}, {1, 2}} {
		if _, err := p.Claim(dims...); !errors.Is(err, typed.ErrMismatch) {
			t.Errorf("claim %v: %v", dims, err)
		}
	}
}

// A frame of another dtype or shape on the stream is not handed to the
// application: Next says so naming both, Poll counts it.
func TestFrameMismatch(t *testing.T) {
	c := newClient(t, map[uint32]uint32{imageSpec.StreamID: 1024})
	ctx := testCtx(t)
	s, err := typed.NewConsumer[uint16](ctx, c, &imageSpec, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: imageSpec.StreamID})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	h, _ := pool.NewTensorHeader(pool.Float32, pool.RowMajor, 4, 8)
	if _, err := raw.OfferFrame(make([]byte, 128), &pool.FrameMeta{Tensor: h}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Next(ctx)
	want := "stream 10000 (test.Image): the frame is float32 [4 8] row, the declaration uint16 [4 8] row"
	if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%v, want %q", err, want)
	}
	if _, err := raw.OfferFrame(make([]byte, 128), &pool.FrameMeta{Tensor: h}); err != nil {
		t.Fatal(err)
	}
	good, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 4, 8)
	if _, err := raw.OfferFrame(make([]byte, 64), &pool.FrameMeta{Tensor: good}); err != nil {
		t.Fatal(err)
	}
	handled := 0
	for handled == 0 {
		s.Poll(func(typed.View[uint16], client.FrameView) { handled++ })
		if ctx.Err() != nil {
			t.Fatal("no frame")
		}
	}
	if s.Mismatched() != 2 || !errors.Is(s.Err(), typed.ErrMismatch) {
		t.Fatalf("mismatched %d, err %v", s.Mismatched(), s.Err())
	}
}

func TestAttachMismatch(t *testing.T) {
	c := newClient(t, map[uint32]uint32{cloudSpec.StreamID: 1024})
	ctx := testCtx(t)
	_, err := typed.NewConsumer[float32](ctx, c, &cloudSpec, client.ConsumerConfig{})
	if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), "is 1200 bytes; the driver's pools hold at most 1024") {
		t.Fatalf("consumer: %v", err)
	}
	_, err = typed.NewProducer[float32](ctx, c, &cloudSpec, client.ProducerConfig{})
	if !errors.Is(err, typed.ErrMismatch) {
		t.Fatalf("producer: %v", err)
	}
	_, err = typed.NewProducer[int32](ctx, c, &cloudSpec, client.ProducerConfig{})
	if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), "Go element type int32 for dtype FLOAT32") {
		t.Fatalf("element type: %v", err)
	}
	_, err = typed.NewProducer[float32](ctx, c, &cloudSpec, client.ProducerConfig{StreamID: 5})
	if !errors.Is(err, typed.ErrMismatch) {
		t.Fatalf("stream id: %v", err)
	}
}

func TestTypedNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := newClient(t, map[uint32]uint32{cloudSpec.StreamID: 2048})
	ctx := testCtx(t)
	s, err := typed.NewConsumer[float32](ctx, c, &cloudSpec, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[float32](ctx, c, &cloudSpec, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	data := make([]float32, 60)
	got := 0
	handler := func(v typed.View[float32], f client.FrameView) {
		if v.Len() > 0 && f.Verify() {
			got++
		}
	}
	receive := func() {
		for want := got + 1; got < want; {
			s.Poll(handler)
		}
	}
	tests := []struct {
		name string
		fn   func()
	}{
		{"Claim+Commit+Poll", func() {
			v, err := p.Claim(20)
			if err != nil {
				t.Fatal(err)
			}
			v.Set(1, 19, 2)
			if _, err := p.Commit(); err != nil {
				t.Fatal(err)
			}
			receive()
		}},
		{"Offer+Next", func() {
			if _, err := p.Offer(data); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Next(context.Background()); err != nil {
				t.Fatal(err)
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
