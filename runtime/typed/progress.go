package typed

import (
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// Progress is a FrameProgress hint of a declared stream (see
// client.FrameProgress): how far the producer got with filling frame Seq,
// in the declaration's units too.
type Progress struct {
	client.FrameProgress
	elemSize int
	rowElems int // elements of a Row; 0 when a dynamic dim decides it
}

// Elements returns how many whole elements of the frame are filled, in
// memory order.
func (p Progress) Elements() int { return int(p.Filled / uint64(p.elemSize)) }

// Rows returns how many whole Rows (outer-dim indices: rows of a
// row-major frame, columns of a column-major one) are filled, or -1 when
// a row's size is not fixed by the declaration (a dynamic inner dim).
func (p Progress) Rows() int {
	if p.rowElems == 0 {
		return -1
	}
	return p.Elements() / p.rowElems
}

// OnProgress adapts a handler of spec's Progress to
// client.ConsumerConfig.OnProgress (which the client calls from Poll, Next
// or Run with the hints of the consumer's stream). It allocates nothing
// per hint.
func OnProgress(spec *Spec, h func(Progress)) func(client.FrameProgress) {
	p := Progress{elemSize: max(spec.Dtype.Size(), 1), rowElems: spec.rowElems()}
	return func(fp client.FrameProgress) {
		p.FrameProgress = fp
		h(p)
	}
}

// rowElems is the number of elements of a Row of every frame, 0 when it
// depends on a dynamic dim.
func (s *Spec) rowElems() int {
	n := len(s.Shape)
	if n == 0 {
		return 0
	}
	inner := s.Shape[1:]
	if s.Order == pool.ColumnMajor {
		inner = s.Shape[:max(n-1, 0)]
	}
	e := 1
	for _, d := range inner {
		if d < 0 {
			return 0
		}
		e *= int(d)
	}
	return e
}
