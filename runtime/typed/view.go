package typed

import (
	"fmt"

	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// View is a dense typed view of one frame's tensor: Data is every element
// in memory order, At and Set index it, Row gives a contiguous sub-tensor.
// It aliases shared memory (see the package documentation for how long).
// The zero View is empty.
type View[T shm.Elem] struct {
	data    []T
	hdr     *pool.TensorHeader
	ndims   int
	order   pool.MajorOrder
	dims    [pool.MaxDims]int
	strides [pool.MaxDims]int // in elements
}

// newView views payload as the dense tensor h (checked by Spec.Check or
// built by the producer).
func newView[T shm.Elem](payload []byte, h *pool.TensorHeader) (View[T], error) {
	v := View[T]{hdr: h, ndims: int(h.NDims), order: h.MajorOrder}
	n := 1
	size := h.Dtype.Size()
	for i := range v.ndims {
		v.dims[i] = int(h.Dims[i])
		v.strides[i] = int(h.Strides[i]) / size
		n *= v.dims[i]
	}
	data, err := shm.SliceOf[T](payload[:n*size])
	if err != nil {
		return View[T]{}, err
	}
	v.data = data
	return v, nil
}

// Data returns every element, in memory order (row- or column-major as
// declared).
func (v View[T]) Data() []T { return v.data }

// Shape returns the frame's dims. It aliases the frame's header.
func (v View[T]) Shape() []int32 {
	if v.hdr == nil {
		return nil
	}
	return v.hdr.Shape()
}

// NDims returns the number of dims; Dim the size of dim i.
func (v View[T]) NDims() int    { return v.ndims }
func (v View[T]) Dim(i int) int { return v.dims[:v.ndims][i] }

// Len returns the number of elements.
func (v View[T]) Len() int { return len(v.data) }

// Index returns the position in Data of the element at idx (one index per
// dim). Like slice indexing, an index out of range panics.
func (v View[T]) Index(idx ...int) int {
	if len(idx) != v.ndims {
		panic(fmt.Sprintf("typed: %d indices for a %d-dimensional view", len(idx), v.ndims))
	}
	off := 0
	for i, x := range idx {
		if uint(x) >= uint(v.dims[i]) {
			panic(fmt.Sprintf("typed: index %d out of range [0:%d) in dim %d", x, v.dims[i], i))
		}
		off += x * v.strides[i]
	}
	return off
}

// At returns the element at idx.
func (v View[T]) At(idx ...int) T { return v.data[v.Index(idx...)] }

// Set stores x at idx.
func (v View[T]) Set(x T, idx ...int) { v.data[v.Index(idx...)] = x }

// Row returns the contiguous sub-tensor at index i of the outermost dim:
// dim 0 of a row-major view (a row of a matrix, a plane of a volume),
// the last dim of a column-major one (a column). Out of range panics.
func (v View[T]) Row(i int) []T {
	outer := 0
	if v.order == pool.ColumnMajor {
		outer = v.ndims - 1
	}
	if uint(i) >= uint(v.dims[outer]) {
		panic(fmt.Sprintf("typed: row %d out of range [0:%d)", i, v.dims[outer]))
	}
	n := len(v.data) / v.dims[outer]
	return v.data[i*n : (i+1)*n : (i+1)*n]
}
