package pool

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tpool-go/tpool/runtime/shm"
)

// ErrView is returned (wrapped) when a payload cannot be viewed as the
// requested element type and layout.
var ErrView = errors.New("pool: payload cannot be viewed with this type and layout")

// View is a bounds-checked, zero-copy, typed view of a tensor in a payload:
// a producer fills a claimed slot through it, a consumer reads a frame
// through it. It aliases the payload, so it is valid exactly as long as
// the payload is (see the package documentation). Copying a View is cheap
// and shares the memory.
type View[T shm.Elem] struct {
	data    []T // exactly the elements the layout addresses
	ndims   int
	dims    [MaxDims]int
	strides [MaxDims]int // in elements
}

// NewView views payload as the tensor h describes. T must be the dtype's
// Go type (uint8 also serves BOOLEAN and BYTES; named types need only the
// size to match); every stride must be a multiple of T's size; the layout
// must fit in the payload. BIT tensors have no element view: use the raw
// payload.
func NewView[T shm.Elem](payload []byte, h *TensorHeader) (View[T], error) {
	var v View[T]
	t := *h
	if err := t.Validate(); err != nil {
		return v, err
	}
	if !dtypeFits[T](t.Dtype) {
		var zero T
		return v, fmt.Errorf("%T for dtype %v: %w", zero, t.Dtype, ErrView)
	}
	size := t.Dtype.Size()
	ext, ok := t.Extent(int64(len(payload)))
	if !ok {
		return v, fmt.Errorf("layout spans %d bytes, payload has %d: %w", ext, len(payload), ErrView)
	}
	v.ndims = int(t.NDims)
	for i := range v.ndims {
		s := int(t.Strides[i])
		if s%size != 0 {
			return v, fmt.Errorf("stride %d of dim %d is not a multiple of %d: %w", s, i, size, ErrView)
		}
		v.dims[i] = int(t.Dims[i])
		v.strides[i] = s / size
	}
	data, err := shm.SliceOf[T](payload[:ext])
	if err != nil {
		return v, fmt.Errorf("%w: %w", ErrView, err)
	}
	v.data = data
	return v, nil
}

func dtypeFits[T shm.Elem](d Dtype) bool {
	var z T
	switch any(z).(type) {
	case uint8:
		return d == Uint8 || d == Boolean || d == Bytes
	case int8:
		return d == Int8
	case uint16:
		return d == Uint16
	case int16:
		return d == Int16
	case uint32:
		return d == Uint32
	case int32:
		return d == Int32
	case uint64:
		return d == Uint64
	case int64:
		return d == Int64
	case float32:
		return d == Float32
	case float64:
		return d == Float64
	}
	return d != Bit && binary.Size(z) == d.Size()
}

// NDims returns the number of dimensions.
func (v View[T]) NDims() int { return v.ndims }

// Dim returns the size of dimension i.
func (v View[T]) Dim(i int) int { return v.dims[:v.ndims][i] }

// Len returns the number of elements.
func (v View[T]) Len() int {
	if v.ndims == 0 {
		return 0
	}
	n := 1
	for _, d := range v.dims[:v.ndims] {
		n *= d
	}
	return n
}

func (v View[T]) offset(idx []int) int {
	if len(idx) != v.ndims {
		panic(fmt.Sprintf("pool: %d indices for a %d-dimensional view", len(idx), v.ndims))
	}
	off := 0
	for i, x := range idx {
		if uint(x) >= uint(v.dims[i]) {
			panic(fmt.Sprintf("pool: index %d out of range [0:%d) in dimension %d", x, v.dims[i], i))
		}
		off += x * v.strides[i]
	}
	return off
}

// At returns the element at the given indices (one per dimension). Like
// slice indexing, an index out of range panics.
func (v View[T]) At(idx ...int) T { return v.data[v.offset(idx)] }

// Set stores x at the given indices.
func (v View[T]) Set(x T, idx ...int) { v.data[v.offset(idx)] = x }

// Flat returns the elements as one slice in memory order if the layout is
// dense (its strides are the contiguous strides of its major order, in
// either order), and false otherwise.
func (v View[T]) Flat() ([]T, bool) {
	n := v.Len()
	if n == 0 {
		return v.data[:0], true
	}
	if len(v.data) != n {
		return nil, false // holes between elements
	}
	return v.data, true
}

// Row returns row i of a 2-dimensional view whose rows are contiguous
// (unit stride along dimension 1), e.g. a row-major [][]T. Like slice
// indexing, a row out of range panics; a row of a tensor whose dimension 1
// is 0 is empty.
func (v View[T]) Row(i int) ([]T, bool) {
	if v.ndims != 2 || (v.strides[1] != 1 && v.dims[1] > 1) {
		return nil, false
	}
	if uint(i) >= uint(v.dims[0]) {
		panic(fmt.Sprintf("pool: row %d out of range [0:%d)", i, v.dims[0]))
	}
	if v.dims[1] == 0 {
		// The layout addresses no element (the data is empty), so a row
		// has no start in it.
		return v.data[:0:0], true
	}
	start := i * v.strides[0]
	return v.data[start : start+v.dims[1] : start+v.dims[1]], true
}
