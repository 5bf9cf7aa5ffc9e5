package pool

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpool-go/tpool/gen/wire"
)

// pool.Dtype is the wire schema's enum, not a copy of it: a dtype decoded
// from a slot needs no conversion.
var _ wire.Dtype = Float32

func TestDtypeTable(t *testing.T) {
	want := map[Dtype]int{
		DtypeUnknown: 0, Uint8: 1, Int8: 1, Uint16: 2, Int16: 2, Uint32: 4, Int32: 4,
		Uint64: 8, Int64: 8, Float32: 4, Float64: 8, Boolean: 1, 12: 0, Bytes: 1, Bit: 1, 15: 0, -1: 0, wire.DtypeNullValue: 0,
	}
	for d, size := range want {
		if got := d.Size(); got != size {
			t.Errorf("%v.Size() = %d, want %d", d, got, size)
		}
	}
	// The numeric values are normative (wire spec 15.8).
	names := map[Dtype]string{0: "UNKNOWN", 1: "UINT8", 9: "FLOAT32", 10: "FLOAT64", 11: "BOOLEAN", 13: "BYTES", 14: "BIT", 12: "Dtype(12)"}
	for d, n := range names {
		if d.String() != n {
			t.Errorf("Dtype(%d) = %s, want %s", int(d), d, n)
		}
	}
	if RowMajor != 1 || ColumnMajor != 2 || ProgressRows != 1 || ProgressColumns != 2 {
		t.Error("enum values changed")
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		v    fmt.Stringer
		want string
	}{
		{OrderUnknown, "UNKNOWN"}, {RowMajor, "ROW"}, {ColumnMajor, "COLUMN"}, {MajorOrder(3), "MajorOrder(3)"},
		{MajorOrder(-1), "MajorOrder(-1)"},
		{ProgressNone, "NONE"}, {ProgressRows, "ROWS"}, {ProgressColumns, "COLUMNS"}, {ProgressUnit(3), "ProgressUnit(3)"},
		{RegionType(0), "RegionType(0)"}, {HeaderRing, "HEADER_RING"}, {PayloadPool, "PAYLOAD_POOL"}, {RegionType(3), "RegionType(3)"},
		{Dtype(-1), "Dtype(-1)"}, {Dtype(15), "Dtype(15)"}, {wire.DtypeNullValue, "NULL_VALUE"},
		{DropNone, "none"}, {DropTensorExtent, "tensor exceeds payload"}, {NumDropReasons, "DropReason(23)"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%T %s, want %s", tt.v, got, tt.want)
		}
	}
	for r := range NumDropReasons {
		if s := r.String(); s == "" || strings.HasPrefix(s, "DropReason(") {
			t.Errorf("DropReason %d has no name", int(r))
		}
	}
}

func hdr(dt Dtype, order MajorOrder, dims, strides []int32) TensorHeader {
	h := TensorHeader{Dtype: dt, MajorOrder: order, NDims: uint8(len(dims))}
	copy(h.Dims[:], dims)
	copy(h.Strides[:], strides)
	return h
}

func TestTensorHeaderResolve(t *testing.T) {
	tests := []struct {
		name        string
		h           TensorHeader
		want        DropReason
		wantStrides []int32
	}{
		{"row-major inferred", hdr(Float32, RowMajor, []int32{2, 3, 4}, nil), DropNone, []int32{48, 16, 4}},
		{"column-major inferred", hdr(Float32, ColumnMajor, []int32{2, 3, 4}, nil), DropNone, []int32{4, 8, 24}},
		{"row-major padded rows", hdr(Uint16, RowMajor, []int32{3, 5}, []int32{16, 2}), DropNone, []int32{16, 2}},
		{"row-major partly inferred", hdr(Uint16, RowMajor, []int32{3, 5}, []int32{64, 0}), DropNone, []int32{64, 2}},
		{"zero dim", hdr(Int8, RowMajor, []int32{0, 5}, nil), DropNone, []int32{5, 1}},
		{"1-D", hdr(Float64, RowMajor, []int32{7}, nil), DropNone, []int32{8}},
		{"8-D", hdr(Uint8, RowMajor, []int32{1, 1, 1, 1, 1, 1, 1, 2}, nil), DropNone, []int32{2, 2, 2, 2, 2, 2, 2, 1}},
		{"ndims 0", hdr(Float32, RowMajor, nil, nil), DropNDims, nil},
		{"ndims 9", TensorHeader{Dtype: Float32, MajorOrder: RowMajor, NDims: 9}, DropNDims, nil},
		{"unknown dtype", hdr(DtypeUnknown, RowMajor, []int32{1}, nil), DropDtype, nil},
		{"unknown order", hdr(Float32, OrderUnknown, []int32{1}, nil), DropMajorOrder, nil},
		{"progress unit 3", TensorHeader{Dtype: Uint8, MajorOrder: RowMajor, NDims: 1, Dims: [8]int32{1}, ProgressUnit: 3}, DropProgressUnit, nil},
		{"negative dim", hdr(Float32, RowMajor, []int32{2, -3}, nil), DropDims, nil},
		{"negative stride", hdr(Float32, RowMajor, []int32{2, 3}, []int32{-12, 4}), DropStrides, nil},
		{"overlapping rows", hdr(Float32, RowMajor, []int32{2, 3}, []int32{8, 4}), DropStrides, nil},
		{"element overlap", hdr(Float32, RowMajor, []int32{2, 3}, []int32{12, 2}), DropStrides, nil},
		{"row strides given column-major", hdr(Float32, ColumnMajor, []int32{2, 3}, []int32{12, 4}), DropStrides, nil},
		{"column strides given row-major", hdr(Float32, RowMajor, []int32{2, 3}, []int32{4, 8}), DropStrides, nil},
		{"inferred stride overflows int32", hdr(Uint8, RowMajor, []int32{2, 1 << 16, 1 << 16}, nil), DropStrides, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if got := h.resolve(); got != tt.want {
				t.Fatalf("resolve = %v, want %v", got, tt.want)
			}
			if tt.want == DropNone {
				if diff := cmp.Diff(tt.wantStrides, h.Strides[:h.NDims]); diff != "" {
					t.Errorf("strides (-want +got):\n%s", diff)
				}
				return
			}
			if err := tt.h.Validate(); !errors.Is(err, ErrTensorHeader) {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}

func TestProgressStride(t *testing.T) {
	rows := hdr(Float32, RowMajor, []int32{4, 10}, nil) // row stride 40
	cols := hdr(Float32, ColumnMajor, []int32{4, 10}, nil)
	tests := []struct {
		name   string
		h      TensorHeader
		unit   ProgressUnit
		stride uint32
		want   DropReason
	}{
		{"rows ok", rows, ProgressRows, 40, DropNone},
		{"rows zero", rows, ProgressRows, 0, DropProgressStride},
		{"rows wrong", rows, ProgressRows, 4, DropProgressStride},
		{"columns ok", cols, ProgressColumns, 16, DropNone},
		{"columns wrong", cols, ProgressColumns, 40, DropProgressStride},
		{"columns on 1-D", hdr(Float32, ColumnMajor, []int32{4}, nil), ProgressColumns, 4, DropProgressStride},
		{"none ignores stride", rows, ProgressNone, 12345, DropNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			h.ProgressUnit, h.ProgressStrideBytes = tt.unit, tt.stride
			if got := h.resolve(); got != tt.want {
				t.Errorf("resolve = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExtentAndLen(t *testing.T) {
	tests := []struct {
		name    string
		h       TensorHeader
		limit   int64
		wantExt int64
		wantOK  bool
		wantLen int64
	}{
		{"dense", hdr(Float32, RowMajor, []int32{2, 3}, nil), 24, 24, true, 6},
		{"dense, short payload", hdr(Float32, RowMajor, []int32{2, 3}, nil), 23, 24, false, 6},
		{"padded rows", hdr(Uint16, RowMajor, []int32{3, 5}, []int32{16, 2}), 100, 42, true, 15},
		{"empty", hdr(Float32, RowMajor, []int32{3, 0}, nil), 0, 0, true, 0},
		{"huge stays bounded", hdr(Uint8, RowMajor, []int32{math.MaxInt32, math.MaxInt32}, []int32{math.MaxInt32, 1}), 1 << 32, 0, false, math.MaxInt32 * math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if r := h.resolve(); r != DropNone {
				t.Fatalf("resolve: %v", r)
			}
			ext, ok := h.Extent(tt.limit)
			if ok != tt.wantOK || (ok && ext != tt.wantExt) {
				t.Errorf("Extent = %d, %v; want %d, %v", ext, ok, tt.wantExt, tt.wantOK)
			}
			if got := h.Len(); got != tt.wantLen {
				t.Errorf("Len = %d, want %d", got, tt.wantLen)
			}
		})
	}
}

func TestContiguousStrides(t *testing.T) {
	got, ok := ContiguousStrides(2, RowMajor, []int32{3, 4, 5})
	if !ok || !cmp.Equal(got[:3], []int32{40, 10, 2}) {
		t.Errorf("row-major = %v, %v", got[:3], ok)
	}
	got, ok = ContiguousStrides(2, ColumnMajor, []int32{3, 4, 5})
	if !ok || !cmp.Equal(got[:3], []int32{2, 6, 24}) {
		t.Errorf("column-major = %v, %v", got[:3], ok)
	}
	for _, bad := range [][]int32{nil, make([]int32, 9), {-1}, {1 << 20, 1 << 20, 1 << 20}} {
		if _, ok := ContiguousStrides(4, RowMajor, bad); ok {
			t.Errorf("accepted dims %v", bad)
		}
	}
	if _, ok := ContiguousStrides(4, OrderUnknown, []int32{1}); ok {
		t.Error("accepted unknown order")
	}
}

func TestNewTensorHeader(t *testing.T) {
	h, err := NewTensorHeader(Float32, RowMajor, 480, 640)
	if err != nil {
		t.Fatal(err)
	}
	want := TensorHeader{Dtype: Float32, MajorOrder: RowMajor, NDims: 2, Dims: [8]int32{480, 640}, Strides: [8]int32{2560, 4}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, dims := range [][]int32{nil, make([]int32, 9), {-1}} {
		if _, err := NewTensorHeader(Float32, RowMajor, dims...); !errors.Is(err, ErrTensorHeader) {
			t.Errorf("dims %v: %v", dims, err)
		}
	}
}
