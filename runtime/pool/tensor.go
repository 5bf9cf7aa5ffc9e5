package pool

import (
	"fmt"
	"math"
)

// NewTensorHeader returns the header of a dense tensor of the given dtype,
// order and dims, with contiguous strides filled in and no progress unit.
func NewTensorHeader(dt Dtype, order MajorOrder, dims ...int32) (TensorHeader, error) {
	h := TensorHeader{Dtype: dt, MajorOrder: order, NDims: uint8(min(len(dims), 255))}
	if len(dims) > MaxDims {
		return h, fmt.Errorf("%d dims, want 1 to %d: %w", len(dims), MaxDims, ErrTensorHeader)
	}
	copy(h.Dims[:], dims)
	if err := h.Validate(); err != nil {
		return h, err
	}
	return h, nil
}

// tensorErrors holds one error per rule, made once, so that a producer's
// rejected commit names the rule without allocating.
var tensorErrors = func() (e [NumDropReasons]error) {
	for r := range e {
		e[r] = fmt.Errorf("%v: %w", DropReason(r), ErrTensorHeader)
	}
	e[DropNDims] = fmt.Errorf("%v, want 1 to %d: %w", DropNDims, MaxDims, ErrTensorHeader)
	return e
}()

// Validate checks h as a consumer would (wire spec 8.2, 10.2.2, 15.8) and
// fills every zero stride with its contiguous value. It returns nil or an
// error wrapping ErrTensorHeader that names the rule.
func (h *TensorHeader) Validate() error {
	if r := h.resolve(); r != DropNone {
		return tensorErrors[r]
	}
	return nil
}

// resolve is Validate for the hot path: no allocation, a DropReason.
// Rules in order: ndims in 1..MaxDims; known dtype; ROW or COLUMN order;
// known progress unit; non-negative dims and strides; strides (explicit or
// inferred) non-overlapping and consistent with the major order; progress
// stride non-zero and equal to the row (dimension 0) or column (dimension
// 1) stride when a progress unit is set.
func (h *TensorHeader) resolve() DropReason {
	n := int(h.NDims)
	if n < 1 || n > MaxDims {
		return DropNDims
	}
	elem := int64(h.Dtype.Size())
	if elem == 0 {
		return DropDtype
	}
	if h.MajorOrder != RowMajor && h.MajorOrder != ColumnMajor {
		return DropMajorOrder
	}
	if h.ProgressUnit > ProgressColumns {
		return DropProgressUnit
	}
	if r := h.resolveStrides(elem); r != DropNone {
		return r
	}
	switch h.ProgressUnit {
	case ProgressRows:
		if h.ProgressStrideBytes == 0 || uint32(h.Strides[0]) != h.ProgressStrideBytes {
			return DropProgressStride
		}
	case ProgressColumns:
		if n < 2 || h.ProgressStrideBytes == 0 || uint32(h.Strides[1]) != h.ProgressStrideBytes {
			return DropProgressStride
		}
	}
	return DropNone
}

// resolveStrides checks the dims and strides of h, whose NDims is in range
// and MajorOrder known, for elements of elem bytes: no negative dim or
// stride; every zero stride filled with its contiguous value; strides
// neither overlapping nor contradicting the major order.
func (h *TensorHeader) resolveStrides(elem int64) DropReason {
	n := int(h.NDims)
	for i := range n {
		if h.Dims[i] < 0 {
			return DropDims
		}
		if h.Strides[i] < 0 {
			return DropStrides
		}
	}
	// Walk from the fastest-varying dimension outwards. Each stride must be
	// at least the span of the dimension inside it, which rules out both
	// overlap and an order that contradicts MajorOrder.
	inner := elem // bytes spanned by one step of the previous (inner) dimension
	for k := range n {
		i := k
		if h.MajorOrder == RowMajor {
			i = n - 1 - k
		}
		s := int64(h.Strides[i])
		if s == 0 {
			s = inner
			if s > math.MaxInt32 {
				return DropStrides
			}
			h.Strides[i] = int32(s)
		} else if s < inner {
			return DropStrides
		}
		inner = s * int64(max(h.Dims[i], 1)) // <= 2^62: no overflow
	}
	return DropNone
}

// fitsPayload reports whether the resolved layout of h lies within a
// payload of n bytes. An empty payload fits whatever the header says (8.2:
// it is never read), and BIT tensors are not checked (their packing is the
// application's).
func (h *TensorHeader) fitsPayload(n int64) bool {
	if n == 0 || h.Dtype == Bit {
		return true
	}
	_, ok := h.Extent(n)
	return ok
}

// Extent returns the number of payload bytes the (resolved) layout of h
// addresses: 0 if any dimension is 0, else the offset of the last element
// plus its size. It reports false if that exceeds limit. Call it on a
// validated header.
func (h *TensorHeader) Extent(limit int64) (int64, bool) {
	n := min(int(h.NDims), MaxDims)
	for i := range n {
		if h.Dims[i] == 0 {
			return 0, true
		}
	}
	ext := int64(h.Dtype.Size())
	for i := range n {
		// Each term is below 2^62 and ext stays <= limit, so no overflow.
		ext += int64(h.Dims[i]-1) * int64(h.Strides[i])
		if ext > limit {
			return ext, false
		}
	}
	return ext, ext <= limit
}

// Len returns the number of elements: the product of the dims.
func (h *TensorHeader) Len() int64 {
	n := min(int(h.NDims), MaxDims)
	p := int64(1)
	for i := range n {
		d := int64(h.Dims[i])
		if d == 0 {
			return 0
		}
		if p > math.MaxInt64/d {
			return math.MaxInt64
		}
		p *= d
	}
	return p
}

// Shape returns the NDims meaningful dims.
func (h *TensorHeader) Shape() []int32 { return h.Dims[:min(int(h.NDims), MaxDims)] }

// ContiguousStrides returns the byte strides of a dense tensor of the given
// element size, order and dims: for row major the last dimension varies
// fastest, for column major the first. ok is false if a stride would not
// fit in an int32 or an argument is invalid.
func ContiguousStrides(elemSize int, order MajorOrder, dims []int32) (strides [MaxDims]int32, ok bool) {
	if len(dims) < 1 || len(dims) > MaxDims || elemSize <= 0 || (order != RowMajor && order != ColumnMajor) {
		return strides, false
	}
	h := TensorHeader{MajorOrder: order, NDims: uint8(len(dims))}
	copy(h.Dims[:], dims)
	if h.resolveStrides(int64(elemSize)) != DropNone {
		return strides, false
	}
	return h.Strides, true
}
