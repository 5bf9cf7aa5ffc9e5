package typed

import (
	"context"
	"fmt"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Producer writes the frames of one declared stream. Like the client's
// Producer it is not safe for concurrent use.
//
// TryClaim hands out Claims, up to ProducerConfig.MaxClaims (default 1)
// open at once, each committed, aborted or reported on (Progress) by
// itself: a claim queue for devices that fill several frames at a time.
// Claim, Commit and Abort are the one-claim-at-a-time form of the same:
// they work on the claim Claim last handed out.
type Producer[T shm.Elem] struct {
	p     *client.Producer
	spec  *Spec
	hdr   pool.TensorHeader
	slots []claimSlot // len max(MaxClaims, 1), never reallocated: views point into it
	ids   uint64      // the last claim id handed out
	cur   Claim[T]    // Claim's claim
	ts    uint64
	mv    uint32
	fixed int // product of the fixed dims
}

// claimSlot holds one open claim; id 0 marks it free.
type claimSlot struct {
	c  client.Claim
	id uint64
	ts uint64
}

// NewProducer attaches a producer of spec's stream through c. cfg is the
// client's, with the declaration's contract filled in: StreamID 0 becomes
// the spec's, and in no-driver mode an empty Layout becomes the
// declaration's pool sizing (Slots, one pool of StrideBytes). It fails
// with ErrMismatch if cfg contradicts the declaration (another stream id,
// a Layout whose pools cannot hold the largest frame), T is not the
// dtype's Go type or the driver's pools cannot hold the largest frame.
func NewProducer[T shm.Elem](ctx context.Context, c *client.Client, spec *Spec, cfg client.ProducerConfig) (*Producer[T], error) {
	if err := prepare[T](spec, &cfg.StreamID); err != nil {
		return nil, err
	}
	if err := spec.layout(&cfg.Layout); err != nil {
		return nil, err
	}
	up, err := c.NewProducer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if l := up.Lease(); l != nil { // nil in no-driver mode: the Layout was checked
		if err := spec.CheckLease(l.Info()); err != nil {
			_ = up.Close()
			return nil, err
		}
	}
	p := &Producer[T]{p: up, spec: spec, fixed: 1, slots: make([]claimSlot, max(cfg.MaxClaims, 1))}
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
		return fmt.Errorf("%w: %s: the configuration's stream id %d, the declaration's %d", ErrMismatch, spec.Name, *id, spec.StreamID)
	}
	return nil
}

// layout fills a no-driver Layout from the declaration, or checks the one
// given.
func (s *Spec) layout(l *client.StreamLayout) error {
	if l.NSlots == 0 {
		l.NSlots = s.Slots
	}
	if len(l.Pools) == 0 {
		l.Pools = []pool.PoolConfig{{ID: 1, StrideBytes: s.StrideBytes}}
		return nil
	}
	var largest uint32
	for _, p := range l.Pools {
		largest = max(largest, p.StrideBytes)
	}
	if int64(largest) < s.MaxFrameBytes() {
		return fmt.Errorf("%w: stream %d (%s): the declaration's largest frame, %s, is %d bytes; the configuration's Layout pools hold at most %d (leave Layout.Pools empty for the declaration's stride_bytes %d)",
			ErrMismatch, s.StreamID, s.Name, s.String(), s.MaxFrameBytes(), largest, s.StrideBytes)
	}
	return nil
}

// Spec returns the declaration.
func (p *Producer[T]) Spec() *Spec { return p.spec }

// Untyped returns the client Producer underneath (stats, lease, epoch).
func (p *Producer[T]) Untyped() *client.Producer { return p.p }

// SetTimestampNs sets the capture timestamp of the next committed frame
// whose claim has none of its own (0: none); SetMetaVersion the
// DataSourceMeta version frames refer to from now on (0, the default: the
// version of the client Producer's last PublishMeta).
func (p *Producer[T]) SetTimestampNs(ns uint64) { p.ts = ns }
func (p *Producer[T]) SetMetaVersion(v uint32)  { p.mv = v }

// TryClaim reserves a slot for a frame and returns the claim, to fill in
// place through its View and then Commit or Abort. dims gives the dynamic
// dims, in order (none for a fixed shape); each must be within its bound.
// Up to ProducerConfig.MaxClaims claims may be open; a claim beyond that
// aborts the oldest open one (whose Commit then returns
// client.ErrClaimLost). Errors are the client's (client.ErrPaused,
// client.ErrFrameTooLarge) or ErrMismatch for dims the declaration does
// not allow. With ProducerConfig.Progress the client sends FrameProgress
// STARTED.
func (p *Producer[T]) TryClaim(dims ...int) (Claim[T], error) {
	if err := p.setDims(dims); err != nil {
		return Claim[T]{}, err
	}
	s := p.freeSlot()
	c, err := p.p.TryClaim(&p.hdr)
	if err != nil {
		return Claim[T]{}, err
	}
	s.c = c
	v, err := newView[T](s.c.Payload, &s.c.Meta.Tensor)
	if err != nil {
		p.p.Abort(&s.c)
		return Claim[T]{}, err
	}
	p.ids++
	s.id, s.ts = p.ids, 0
	return Claim[T]{p: p, s: s, id: s.id, v: v}, nil
}

// freeSlot returns a free claim slot, aborting the oldest open claim when
// there is none (the client would abandon it anyway).
func (p *Producer[T]) freeSlot() *claimSlot {
	var oldest *claimSlot
	for i := range p.slots {
		s := &p.slots[i]
		if s.id == 0 {
			return s
		}
		if oldest == nil || s.id < oldest.id {
			oldest = s
		}
	}
	p.p.Abort(&oldest.c)
	oldest.id = 0
	return oldest
}

// Claim reserves a slot for a frame and returns a view to fill in place,
// then Commit or Abort: one claim at a time (Claim again aborts the claim
// it handed out before, if still open). dims and errors are TryClaim's.
func (p *Producer[T]) Claim(dims ...int) (View[T], error) {
	p.cur.Abort()
	c, err := p.TryClaim(dims...)
	p.cur = c
	return c.v, err
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

// Commit publishes the frame Claim handed out and returns its sequence
// number.
func (p *Producer[T]) Commit() (uint64, error) {
	if !p.cur.Open() {
		return 0, fmt.Errorf("typed: %s: commit without a claim", p.spec.Name)
	}
	return p.cur.Commit()
}

// Abort gives up the claim Claim handed out, if still open.
func (p *Producer[T]) Abort() { p.cur.Abort() }

// Offer copies data into a new frame and publishes it. dims gives the
// dynamic dims as for Claim; with one dynamic dim it may be left out and
// is then len(data) divided by the fixed dims. len(data) must be the
// frame's element count (ErrLength otherwise). Like Claim, it takes a
// place in the claim queue while it copies (aborting the oldest open claim
// when the queue is full).
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

// Claim is one frame being filled in place, from a Producer's TryClaim:
// fill it through View (reporting how far with Progress), then Commit or
// Abort. It is a small value (a handle): copies refer to the same claim,
// and once the claim is committed or aborted every copy reports
// client.ErrClaimLost. Its View is valid until then. The zero Claim is
// not open.
type Claim[T shm.Elem] struct {
	p  *Producer[T]
	s  *claimSlot
	id uint64
	v  View[T]
}

// Open reports whether the claim is still open (neither committed nor
// aborted, nor aborted for a newer claim).
func (c Claim[T]) Open() bool { return c.s != nil && c.s.id == c.id }

// View returns the frame to fill.
func (c Claim[T]) View() View[T] { return c.v }

// Seq returns the frame's sequence number.
func (c Claim[T]) Seq() uint64 {
	if c.s == nil {
		return 0
	}
	return c.s.c.Seq
}

// SetTimestampNs sets the frame's capture timestamp (0: the producer's
// SetTimestampNs, if any).
func (c Claim[T]) SetTimestampNs(ns uint64) {
	if c.Open() {
		c.s.ts = ns
	}
}

// Progress reports that the first filled bytes of the frame are written;
// with ProducerConfig.Progress the client sends a FrameProgress PROGRESS
// hint when its throttle allows (client.Producer.Progress). It returns
// client.ErrProgress for a count past the frame's payload or below an
// earlier one, client.ErrClaimLost for a claim no longer open.
func (c Claim[T]) Progress(filled int) error {
	if !c.Open() {
		return client.ErrClaimLost
	}
	return c.p.p.Progress(&c.s.c, filled)
}

// ProgressRows is Progress for the first rows Rows of the view (rows
// outer-dim indices: rows of a row-major frame, columns of a column-major
// one) written.
func (c Claim[T]) ProgressRows(rows int) error {
	return c.Progress(rows * c.v.rowBytes())
}

// Commit publishes the frame and returns its sequence number. Claims may
// be committed in any order; the client sends their FrameDescriptors in
// sequence order. It returns client.ErrClaimLost for a claim no longer
// open (or lost to a remap), client.ErrPaused while the lease is lost.
func (c Claim[T]) Commit() (uint64, error) {
	if !c.Open() {
		return 0, client.ErrClaimLost
	}
	p, s := c.p, c.s
	s.id = 0
	s.c.Meta.TimestampNs = s.ts
	if s.ts == 0 {
		s.c.Meta.TimestampNs = p.ts
	}
	p.ts = 0
	if p.mv != 0 {
		// Otherwise keep what TryClaim preset: the version of the
		// producer's last PublishMeta.
		s.c.Meta.MetaVersion = p.mv
	}
	if err := p.p.Commit(&s.c); err != nil {
		return 0, err
	}
	return s.c.Seq, nil
}

// Abort gives up the claim if it is still open: consumers never see the
// frame.
func (c Claim[T]) Abort() {
	if c.Open() {
		c.s.id = 0
		c.p.p.Abort(&c.s.c)
	}
}
