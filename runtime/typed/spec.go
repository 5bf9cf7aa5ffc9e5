package typed

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

var (
	// ErrMismatch is wrapped when a stream, a frame or a Go element type
	// does not match the declaration; the message names both sides.
	ErrMismatch = errors.New("typed: does not match the declaration")
	// ErrSpec is wrapped by Spec.Validate.
	ErrSpec = errors.New("typed: invalid spec")
	// ErrLength is returned by Offer when the data's length is not the
	// shape's element count.
	ErrLength = errors.New("typed: data length does not match the shape")
)

// Spec is one declared stream.
type Spec struct {
	// Name names the stream in errors, e.g. "camera.Frame".
	Name     string
	StreamID uint32
	Dtype    pool.Dtype
	Order    pool.MajorOrder
	// Shape has one entry per dim: the size, or -1 for a dynamic dim.
	Shape []int32
	// MaxShape is Shape with every dynamic dim replaced by its bound.
	MaxShape []int32
	// Slots and StrideBytes are the pool sizing of the declaration (what
	// the generated tpoold profile says).
	Slots       uint32
	StrideBytes uint32
}

// Validate checks the spec's own consistency.
func (s *Spec) Validate() error {
	n := len(s.Shape)
	switch {
	case s.StreamID == 0:
		return fmt.Errorf("%w: %s: stream id 0", ErrSpec, s.Name)
	case n < 1 || n > pool.MaxDims:
		return fmt.Errorf("%w: %s: %d dims, want 1 to %d", ErrSpec, s.Name, n, pool.MaxDims)
	case len(s.MaxShape) != n:
		return fmt.Errorf("%w: %s: max shape %v for shape %v", ErrSpec, s.Name, s.MaxShape, s.Shape)
	case s.Dtype.Size() == 0 || s.Dtype == pool.Bit:
		return fmt.Errorf("%w: %s: dtype %v has no element type", ErrSpec, s.Name, s.Dtype)
	case s.Order != pool.RowMajor && s.Order != pool.ColumnMajor:
		return fmt.Errorf("%w: %s: order %v", ErrSpec, s.Name, s.Order)
	}
	for i, d := range s.Shape {
		if (d != -1 && d <= 0) || s.MaxShape[i] <= 0 || (d != -1 && s.MaxShape[i] != d) {
			return fmt.Errorf("%w: %s: max shape %v for shape %v", ErrSpec, s.Name, s.MaxShape, s.Shape)
		}
	}
	if s.MaxFrameBytes() > int64(s.StrideBytes) {
		return fmt.Errorf("%w: %s: a frame of %d bytes in slots of %d", ErrSpec, s.Name, s.MaxFrameBytes(), s.StrideBytes)
	}
	return nil
}

// Dynamic returns the number of dynamic dims.
func (s *Spec) Dynamic() int {
	n := 0
	for _, d := range s.Shape {
		if d < 0 {
			n++
		}
	}
	return n
}

// MaxFrameBytes is the size of the largest frame.
func (s *Spec) MaxFrameBytes() int64 {
	n := int64(s.Dtype.Size())
	for _, d := range s.MaxShape {
		n *= int64(d)
		if n > 1<<40 {
			return n
		}
	}
	return n
}

// String describes the declaration: "uint16 [480 640] row".
func (s *Spec) String() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(s.Dtype.String()))
	b.WriteString(" [")
	for i, d := range s.Shape {
		if i > 0 {
			b.WriteByte(' ')
		}
		if d < 0 {
			b.WriteString("≤" + strconv.Itoa(int(s.MaxShape[i])))
		} else {
			b.WriteString(strconv.Itoa(int(d)))
		}
	}
	b.WriteString("] ")
	b.WriteString(strings.ToLower(s.Order.String()))
	return b.String()
}

// describe says what a frame's header holds, as String does for a Spec.
func describe(h *pool.TensorHeader) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(h.Dtype.String()))
	fmt.Fprintf(&b, " %v %s", h.Shape(), strings.ToLower(h.MajorOrder.String()))
	return b.String()
}

// Check reports whether a frame's (validated) tensor header is one the
// declaration allows: its dtype and order, its number of dims, every fixed
// dim equal and every dynamic dim within its bound, and dense strides (the
// contiguous strides of the order). It allocates only to report a
// mismatch.
func (s *Spec) Check(h *pool.TensorHeader) error {
	if !s.matches(h) {
		return s.mismatch(h)
	}
	return nil
}

func (s *Spec) matches(h *pool.TensorHeader) bool {
	n := len(s.Shape)
	if h.Dtype != s.Dtype || h.MajorOrder != s.Order || int(h.NDims) != n {
		return false
	}
	for i, d := range s.Shape {
		hd := h.Dims[i]
		if d >= 0 && hd != d || d < 0 && (hd < 0 || hd > s.MaxShape[i]) {
			return false
		}
	}
	// Dense: each stride is the span of the dims inside it.
	inner := int64(s.Dtype.Size())
	for k := range n {
		i := k
		if s.Order == pool.RowMajor {
			i = n - 1 - k
		}
		if int64(h.Strides[i]) != inner && h.Dims[i] > 1 {
			return false
		}
		inner *= int64(max(h.Dims[i], 1))
	}
	return true
}

func (s *Spec) mismatch(h *pool.TensorHeader) error {
	what := describe(h)
	dense := pool.TensorHeader{Dtype: h.Dtype, MajorOrder: h.MajorOrder, NDims: h.NDims, Dims: h.Dims}
	if dense.Validate() == nil && s.matches(&dense) {
		// The strides are what differ.
		what += fmt.Sprintf(" with strides %v (not dense)", h.Strides[:min(int(h.NDims), pool.MaxDims)])
	}
	return fmt.Errorf("%w: stream %d (%s): the frame is %s, the declaration %s", ErrMismatch, s.StreamID, s.Name, what, s.String())
}

// CheckLease checks, at attach, that the driver's pools for the stream can
// hold the declared largest frame. The error names both: the declaration's
// frame size and the pools the driver made.
func (s *Spec) CheckLease(info *driverclient.LeaseInfo) error {
	if info == nil {
		return nil
	}
	need := s.MaxFrameBytes()
	var largest uint32
	for _, p := range info.Pools {
		largest = max(largest, p.StrideBytes)
	}
	if int64(largest) >= need {
		return nil
	}
	var pools []string
	for _, p := range info.Pools {
		pools = append(pools, fmt.Sprintf("pool %d of %d-byte slots", p.ID, p.StrideBytes))
	}
	return fmt.Errorf("%w: stream %d (%s): the declaration's largest frame, %s, is %d bytes; the driver's pools hold at most %d (%s); use the declaration's tpoold profile (stride_bytes %d)",
		ErrMismatch, s.StreamID, s.Name, s.String(), need, largest, strings.Join(pools, ", "), s.StrideBytes)
}

// checkElem checks that T is the Go element type of the spec's dtype (as
// runtime/pool's views require: uint8 serves BOOLEAN and BYTES).
func checkElem[T shm.Elem](s *Spec) error {
	var z T
	var ok bool
	switch any(z).(type) {
	case uint8:
		ok = s.Dtype == pool.Uint8 || s.Dtype == pool.Boolean || s.Dtype == pool.Bytes
	case int8:
		ok = s.Dtype == pool.Int8
	case uint16:
		ok = s.Dtype == pool.Uint16
	case int16:
		ok = s.Dtype == pool.Int16
	case uint32:
		ok = s.Dtype == pool.Uint32
	case int32:
		ok = s.Dtype == pool.Int32
	case uint64:
		ok = s.Dtype == pool.Uint64
	case int64:
		ok = s.Dtype == pool.Int64
	case float32:
		ok = s.Dtype == pool.Float32
	case float64:
		ok = s.Dtype == pool.Float64
	}
	if !ok {
		return fmt.Errorf("%w: %s: Go element type %T for dtype %v", ErrMismatch, s.Name, z, s.Dtype)
	}
	return nil
}
