package typed

import (
	"fmt"

	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// View is a dense typed view of one frame's tensor: Data is every element
// in memory order, At and Set index it, Row gives a contiguous sub-tensor.
// It aliases shared memory and the frame's header (see the package
// documentation for how long it stays valid). It is two words and a
// pointer, cheap to pass by value. The zero View is empty.
type View[T shm.Elem] struct {
	data []T
	hdr  *pool.TensorHeader // dims, order; dense strides are implied
}

// newView views payload as the dense tensor h (checked by Spec.Check or
// built by the producer).
func newView[T shm.Elem](payload []byte, h *pool.TensorHeader) (View[T], error) {
	n := h.Dtype.Size()
	for _, d := range h.Dims[:min(int(h.NDims), pool.MaxDims)] {
		n *= int(d)
	}
	data, err := shm.SliceOf[T](payload[:n])
	if err != nil {
		return View[T]{}, err
	}
	return View[T]{data: data, hdr: h}, nil
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

// NDims returns the number of dims.
func (v View[T]) NDims() int {
	if v.hdr == nil {
		return 0
	}
	return int(v.hdr.NDims)
}

// Dim returns the size of dim i.
func (v View[T]) Dim(i int) int { return int(v.Shape()[i]) }

// Len returns the number of elements.
func (v View[T]) Len() int { return len(v.data) }

// Index returns the position in Data of the element at idx (one index per
// dim). Like slice indexing, an index out of range panics.
func (v View[T]) Index(idx ...int) int {
	dims := v.Shape()
	if len(idx) != len(dims) {
		panic(fmt.Sprintf("typed: %d indices for a %d-dimensional view", len(idx), len(dims)))
	}
	off := 0
	if v.hdr.MajorOrder == pool.ColumnMajor {
		for i := len(idx) - 1; i >= 0; i-- {
			off = off*int(dims[i]) + checkIndex(idx[i], dims[i], i)
		}
		return off
	}
	for i, x := range idx {
		off = off*int(dims[i]) + checkIndex(x, dims[i], i)
	}
	return off
}

func checkIndex(x int, d int32, i int) int {
	if uint(x) >= uint(d) {
		panic(fmt.Sprintf("typed: index %d out of range [0:%d) in dim %d", x, d, i))
	}
	return x
}

// At returns the element at idx.
func (v View[T]) At(idx ...int) T { return v.data[v.Index(idx...)] }

// Set stores x at idx.
func (v View[T]) Set(x T, idx ...int) { v.data[v.Index(idx...)] = x }

// Row returns the contiguous sub-tensor at index i of the outermost dim:
// dim 0 of a row-major view (a row of a matrix, a plane of a volume),
// the last dim of a column-major one (a column). Out of range panics.
func (v View[T]) Row(i int) []T {
	dims := v.Shape()
	outer := 0
	if v.hdr != nil && v.hdr.MajorOrder == pool.ColumnMajor {
		outer = len(dims) - 1
	}
	if len(dims) == 0 || uint(i) >= uint(dims[outer]) {
		panic(fmt.Sprintf("typed: row %d out of range", i))
	}
	n := len(v.data) / int(dims[outer])
	return v.data[i*n : (i+1)*n : (i+1)*n]
}

// rowBytes is the size of a Row in bytes (0 for an empty view).
func (v View[T]) rowBytes() int {
	dims := v.Shape()
	if len(dims) == 0 {
		return 0
	}
	outer := 0
	if v.hdr.MajorOrder == pool.ColumnMajor {
		outer = len(dims) - 1
	}
	if dims[outer] == 0 {
		return 0
	}
	return len(v.data) / int(dims[outer]) * v.hdr.Dtype.Size()
}
