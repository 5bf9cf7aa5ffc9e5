package pool

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestViewProducerToConsumer(t *testing.T) {
	s := newTestStream(t, 4, 4096)
	h, err := NewTensorHeader(Float32, RowMajor, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.prod.Claim(48)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewView[float32](c.Payload, &h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j := range 4 {
			w.Set(float32(i*10+j), i, j)
		}
	}
	if err := s.prod.Commit(&c, &FrameMeta{Tensor: h}); err != nil {
		t.Fatal(err)
	}

	f, r := s.cons.Read(5, c.Seq)
	if r != DropNone {
		t.Fatal(r)
	}
	v, err := NewView[float32](f.Payload, &f.Tensor)
	if err != nil {
		t.Fatal(err)
	}
	if v.NDims() != 2 || v.Dim(0) != 3 || v.Dim(1) != 4 || v.Len() != 12 {
		t.Errorf("shape %d %d %d len %d", v.NDims(), v.Dim(0), v.Dim(1), v.Len())
	}
	if got := v.At(2, 3); got != 23 {
		t.Errorf("At(2,3) = %v", got)
	}
	row, ok := v.Row(1)
	if !ok || !cmp.Equal(row, []float32{10, 11, 12, 13}) {
		t.Errorf("Row(1) = %v, %v", row, ok)
	}
	flat, ok := v.Flat()
	if !ok || len(flat) != 12 || flat[5] != 11 {
		t.Errorf("Flat = %v, %v", flat, ok)
	}
	if r := s.cons.Verify(&f); r != DropNone {
		t.Errorf("Verify: %v", r)
	}
	// The view aliases shared memory: a write through the producer's view
	// is visible through the consumer's.
	w.Set(-1, 0, 0)
	if v.At(0, 0) != -1 {
		t.Error("views do not alias the payload")
	}
}

func TestViewStridedAndColumnMajor(t *testing.T) {
	payload := make([]byte, 64)
	// 3 x 2 uint16, rows padded to 8 bytes.
	h := hdr(Uint16, RowMajor, []int32{3, 2}, []int32{8, 2})
	v, err := NewView[uint16](payload, &h)
	if err != nil {
		t.Fatal(err)
	}
	v.Set(7, 2, 1)
	if payload[2*8+1*2] != 7 {
		t.Error("strided Set wrote the wrong byte")
	}
	if _, ok := v.Flat(); ok {
		t.Error("Flat of a padded layout")
	}
	if r, ok := v.Row(2); !ok || !cmp.Equal(r, []uint16{0, 7}) {
		t.Errorf("Row(2) = %v %v", r, ok)
	}

	c := hdr(Int32, ColumnMajor, []int32{2, 3}, nil)
	cv, err := NewView[int32](payload, &c)
	if err != nil {
		t.Fatal(err)
	}
	cv.Set(5, 1, 0) // column-major: element (1,0) is the second int32
	if payload[4] != 5 {
		t.Error("column-major layout")
	}
	if _, ok := cv.Row(0); ok {
		t.Error("Row of a column-major view")
	}
}

func TestNewViewRejects(t *testing.T) {
	payload := make([]byte, 64)
	f32 := hdr(Float32, RowMajor, []int32{4, 4}, nil)
	tests := []struct {
		name    string
		fn      func() error
		wantErr error
	}{
		{"wrong type", func() error { _, err := NewView[int32](payload, &f32); return err }, ErrView},
		{"wrong size", func() error { _, err := NewView[float64](payload, &f32); return err }, ErrView},
		{"payload too short", func() error { _, err := NewView[float32](payload[:60], &f32); return err }, ErrView},
		{"invalid header", func() error {
			h := hdr(Float32, RowMajor, nil, nil)
			_, err := NewView[float32](payload, &h)
			return err
		}, ErrTensorHeader},
		{"stride not a multiple of the element", func() error {
			h := hdr(Float32, RowMajor, []int32{2, 2}, []int32{10, 4})
			_, err := NewView[float32](payload, &h)
			return err
		}, ErrView},
		{"misaligned payload", func() error {
			h := hdr(Float32, RowMajor, []int32{2}, nil)
			_, err := NewView[float32](payload[2:], &h)
			return err
		}, ErrView},
		{"bit has no element view", func() error {
			h := hdr(Bit, RowMajor, []int32{8}, nil)
			_, err := NewView[uint8](payload, &h)
			return err
		}, ErrView},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	b := hdr(Boolean, RowMajor, []int32{64}, nil)
	if _, err := NewView[uint8](payload, &b); err != nil {
		t.Errorf("BOOLEAN as uint8: %v", err)
	}
	type celsius float32
	if _, err := NewView[celsius](payload, &f32); err != nil {
		t.Errorf("named float32 type: %v", err)
	}
}

func TestViewIndexPanics(t *testing.T) {
	h := hdr(Uint8, RowMajor, []int32{2, 3}, nil)
	v, err := NewView[uint8](make([]byte, 6), &h)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range [][]int{{2, 0}, {0, 3}, {-1, 0}, {0}, {0, 0, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("At(%v) did not panic", idx)
				}
			}()
			v.At(idx...)
		}()
	}
}

// TestViewZeroExtent views tensors with a zero dimension, which validation
// accepts and whose data is empty: no in-range accessor may panic (Row(1)
// of a [3, 0] tensor once sliced past the empty data).
func TestViewZeroExtent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		order   MajorOrder
		dims    []int32
		strides []int32
	}{
		{"3x0", RowMajor, []int32{3, 0}, nil},
		{"3x0 column", ColumnMajor, []int32{3, 0}, nil},
		{"3x0 strided", RowMajor, []int32{3, 0}, []int32{64, 4}},
		{"0x3", RowMajor, []int32{0, 3}, nil},
		{"2x0x2", RowMajor, []int32{2, 0, 2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hdr(Float32, tc.order, tc.dims, tc.strides)
			v, err := NewView[float32](make([]byte, 64), &h)
			if err != nil {
				t.Fatal(err)
			}
			if v.Len() != 0 {
				t.Errorf("Len = %d", v.Len())
			}
			if flat, ok := v.Flat(); !ok || len(flat) != 0 {
				t.Errorf("Flat = %v, %v", flat, ok)
			}
			if v.NDims() != 2 {
				return
			}
			for i := range v.Dim(0) {
				if row, ok := v.Row(i); ok && len(row) != 0 {
					t.Errorf("Row(%d) = %v", i, row)
				}
			}
		})
	}
}
