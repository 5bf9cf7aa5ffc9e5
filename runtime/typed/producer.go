package typed

import (
	"context"
	"fmt"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Producer writes the frames of one declared stream. Like the client's
// Producer it is not safe for concurrent use. One claim is open at a time:
// Claim again abandons the open one.
type Producer[T shm.Elem] struct {
	p     *client.Producer
	spec  *Spec
	hdr   pool.TensorHeader
	claim client.Claim
	open  bool
	ts    uint64
	mv    uint32
	fixed int // product of the fixed dims
}

// NewProducer attaches a producer of spec's stream through c (cfg's
// StreamID may be 0: the spec's). It fails with ErrMismatch if T is not the
// dtype's Go type or the driver's pools cannot hold the largest frame.
func NewProducer[T shm.Elem](ctx context.Context, c *client.Client, spec *Spec, cfg client.ProducerConfig) (*Producer[T], error) {
	if err := prepare[T](spec, &cfg.StreamID); err != nil {
		return nil, err
	}
	up, err := c.NewProducer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := spec.CheckLease(up.Lease().Info()); err != nil {
		_ = up.Close()
		return nil, err
	}
	p := &Producer[T]{p: up, spec: spec, fixed: 1}
	p.hdr = pool.TensorHeader{Dtype: spec.Dtype, MajorOrder: spec.Order, NDims: uint8(len(spec.Shape))}
	for i, d := range spec.Shape {
		if d > 0 {
			p.hdr.Dims[i] = d
			p.fixed *= int(d)
		}
	}
	return p, nil
}

func prepare[T shm.Elem](spec *Spec, id *uint32) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if err := checkElem[T](spec); err != nil {
		return err
	}
	switch *id {
	case 0:
		*id = spec.StreamID
	case spec.StreamID:
	default:
		return fmt.Errorf("%w: %s: stream id %d, declared %d", ErrMismatch, spec.Name, *id, spec.StreamID)
	}
	return nil
}

// Spec returns the declaration.
func (p *Producer[T]) Spec() *Spec { return p.spec }

// Untyped returns the client Producer underneath (stats, lease, epoch).
func (p *Producer[T]) Untyped() *client.Producer { return p.p }

// SetTimestampNs sets the capture timestamp of the next committed frame
// (0: none); SetMetaVersion the DataSourceMeta version frames refer to
// from now on (0, the default: the version of the client Producer's last
// PublishMeta).
func (p *Producer[T]) SetTimestampNs(ns uint64) { p.ts = ns }
func (p *Producer[T]) SetMetaVersion(v uint32)  { p.mv = v }

// Claim reserves a slot for a frame and returns a view to fill in place.
// dims gives the dynamic dims, in order (none for a fixed shape); each
// must be within its bound. Errors are the client's (ErrPaused,
// ErrFrameTooLarge) or ErrMismatch for dims the declaration does not
// allow.
func (p *Producer[T]) Claim(dims ...int) (View[T], error) {
	if p.open {
		p.Abort()
	}
	if err := p.setDims(dims); err != nil {
		return View[T]{}, err
	}
	c, err := p.p.TryClaim(&p.hdr)
	if err != nil {
		return View[T]{}, err
	}
	p.claim, p.open = c, true
	return newView[T](p.claim.Payload, &p.claim.Meta.Tensor)
}

func (p *Producer[T]) setDims(dims []int) error {
	k := 0
	for i, d := range p.spec.Shape {
		if d > 0 {
			continue
		}
		if k >= len(dims) || dims[k] < 0 || dims[k] > int(p.spec.MaxShape[i]) {
			return p.dimsError(dims)
		}
		p.hdr.Dims[i] = int32(dims[k])
		k++
	}
	if k != len(dims) {
		return p.dimsError(dims)
	}
	return nil
}

func (p *Producer[T]) dimsError(dims []int) error {
	// A copy, so that dims does not escape and Claim's variadic dims stay
	// on the caller's stack.
	d := append([]int(nil), dims...)
	return fmt.Errorf("%w: stream %d (%s): dynamic dims %v for %s", ErrMismatch, p.spec.StreamID, p.spec.Name, d, p.spec.String())
}

// Commit publishes the claimed frame and returns its sequence number.
func (p *Producer[T]) Commit() (uint64, error) {
	if !p.open {
		return 0, fmt.Errorf("typed: %s: commit without a claim", p.spec.Name)
	}
	p.open = false
	p.claim.Meta.TimestampNs = p.ts
	if p.mv != 0 {
		// Otherwise keep what TryClaim preset: the version of the
		// producer's last PublishMeta.
		p.claim.Meta.MetaVersion = p.mv
	}
	p.ts = 0
	if err := p.p.Commit(&p.claim); err != nil {
		return 0, err
	}
	return p.claim.Seq, nil
}

// Abort gives up the open claim, if any.
func (p *Producer[T]) Abort() {
	if p.open {
		p.open = false
		p.p.Abort(&p.claim)
	}
}

// Offer copies data into a new frame and publishes it. dims gives the
// dynamic dims as for Claim; with one dynamic dim it may be left out and
// is then len(data) divided by the fixed dims. len(data) must be the
// frame's element count (ErrLength otherwise).
func (p *Producer[T]) Offer(data []T, dims ...int) (uint64, error) {
	var one [1]int
	if len(dims) == 0 && p.spec.Dynamic() == 1 {
		one[0] = len(data) / p.fixed
		dims = one[:]
	}
	v, err := p.Claim(dims...)
	if err != nil {
		return 0, err
	}
	if len(data) != len(v.data) {
		p.Abort()
		return 0, fmt.Errorf("%w: %s: %d elements for shape %v", ErrLength, p.spec.Name, len(data), v.Shape())
	}
	copy(v.data, data)
	return p.Commit()
}

// Close closes the client Producer.
func (p *Producer[T]) Close() error { return p.p.Close() }
