package stubtest

import (
	"slices"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// The typed layer against the untyped client API, paired: the same work
// through each API, on the same stream and the same client Producer or
// Consumer (the typed one's Untyped()), in alternating blocks of
// blockFrames frames, each frame timed. On a shared, loaded machine the
// two APIs then see the same load, so the overhead-% metric holds still
// where separate runs swing by 2x. (Alternating every frame instead made
// whichever API came second on a 64 KiB slot up to 2x slower, for both
// APIs alike: an artefact of the slot pattern, not of either API.) Streams: Small (1024
// uint16, 2 KiB) and Large (32768 uint16, 64 KiB). docs/PERFORMANCE.md has
// the figures.

var benchSink uint64

// fill and sum are not inlined, so that both APIs run the same machine
// code over the frame (inlined copies of the loop, placed differently,
// ran at different speeds).
//
//go:noinline
func fill(d []uint16) {
	for i := range d {
		d[i] = uint16(i)
	}
}

//go:noinline
func sum(d []uint16) uint64 {
	var s uint64
	for _, x := range d {
		s += uint64(x)
	}
	return s
}

// pairTimer keeps the time of each half of every iteration. Under load a
// half is sometimes preempted; medians ignore that where sums do not.
type pairTimer struct{ typed, untyped []time.Duration }

func newPairTimer() *pairTimer {
	const max = 1 << 20
	return &pairTimer{typed: make([]time.Duration, 0, max), untyped: make([]time.Duration, 0, max)}
}

func (pt *pairTimer) add(typed bool, d time.Duration) {
	p := &pt.untyped
	if typed {
		p = &pt.typed
	}
	if len(*p) < cap(*p) {
		*p = append(*p, d)
	}
}

// blockFrames is the number of frames done through one API before
// switching to the other.
const blockFrames = 64

// typedTurn reports whether frame i goes through the typed API.
func typedTurn(i int) bool { return i/blockFrames%2 == 1 }

func (pt *pairTimer) run(i int, untyped, typed func()) {
	f := untyped
	if typedTurn(i) {
		f = typed
	}
	t0 := time.Now()
	f()
	pt.add(typedTurn(i), time.Since(t0))
}

func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return float64(s[len(s)/2].Nanoseconds())
}

// report gives the median time of each half and the typed half's
// overhead: the median of the differences between frames at the same
// position of neighbouring blocks (typed minus untyped, which cancels what
// both suffered) over the untyped median.
func (pt *pairTimer) report(b *testing.B) {
	n := min(len(pt.typed), len(pt.untyped))
	diff := make([]time.Duration, n)
	for i := range n {
		diff[i] = pt.typed[i] - pt.untyped[i]
	}
	u := median(pt.untyped)
	b.ReportMetric(u, "untyped-ns/op")
	b.ReportMetric(median(pt.typed), "typed-ns/op")
	b.ReportMetric(100*median(diff)/u, "overhead-%")
}

// typedProducer is what the benchmark needs of a generated producer.
type typedProducer interface {
	claimData() ([]uint16, error)
	Commit() (uint64, error)
	tryClaimFillCommit() error // through the claim handle
	Untyped() *client.Producer
	Close() error
}

func (p *SmallProducer) claimData() ([]uint16, error) { v, err := p.Claim(); return v.Data(), err }
func (p *LargeProducer) claimData() ([]uint16, error) { v, err := p.Claim(); return v.Data(), err }

func (p *SmallProducer) tryClaimFillCommit() error {
	c, err := p.TryClaim()
	if err != nil {
		return err
	}
	fill(c.View().Data())
	_, err = c.Commit()
	return err
}

func (p *LargeProducer) tryClaimFillCommit() error {
	c, err := p.TryClaim()
	if err != nil {
		return err
	}
	fill(c.View().Data())
	_, err = c.Commit()
	return err
}

type benchSize struct {
	name string
	n    int32
	prod func(*client.Client, testing.TB) typedProducer
}

var benchSizes = []benchSize{
	{"2KiB", 1024, func(c *client.Client, tb testing.TB) typedProducer {
		p, err := NewSmallProducer(testCtx(tb), c)
		if err != nil {
			tb.Fatal(err)
		}
		return p
	}},
	{"64KiB", 32768, func(c *client.Client, tb testing.TB) typedProducer {
		p, err := NewLargeProducer(testCtx(tb), c)
		if err != nil {
			tb.Fatal(err)
		}
		return p
	}},
}

// BenchmarkClaimFillCommit: claim a slot, write every element, commit; no
// consumer is attached, so no descriptor is sent: the producer's work only.
// The typed half goes through the producer's Claim and Commit, or, in the
// TryClaim sub-benchmarks, through a claim handle (TryClaim, View, Commit:
// the claim queue's API, here with a queue of one).
func BenchmarkClaimFillCommit(b *testing.B) {
	for _, size := range benchSizes {
		for _, queued := range []bool{false, true} {
			name := size.name
			if queued {
				name += "/TryClaim"
			}
			b.Run(name, func(b *testing.B) { benchClaimFillCommit(b, size, queued) })
		}
	}
}

func benchClaimFillCommit(b *testing.B, size benchSize, queued bool) {
	c := newClient(b, TpooldProfile)
	p := size.prod(c, b)
	defer p.Close()
	up := p.Untyped()
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, size.n)
	untyped := func() {
		cl, err := up.TryClaim(&h)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := client.ClaimView[uint16](&cl)
		d, _ := v.Flat()
		fill(d)
		if err := up.Commit(&cl); err != nil {
			b.Fatal(err)
		}
	}
	typed := func() {
		d, err := p.claimData()
		if err != nil {
			b.Fatal(err)
		}
		fill(d)
		if _, err := p.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if queued {
		typed = func() {
			if err := p.tryClaimFillCommit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	pt := newPairTimer()
	b.SetBytes(2 * int64(size.n))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pt.run(i, untyped, typed)
		i++
	}
	pt.report(b)
}

// stuckAfter is how long BenchmarkRead waits for one frame before it
// offers another: a frame the consumer did not take (on a loaded machine
// a consumer sometimes remaps, and a frame of that moment is counted
// unmapped) never arrives. It is not a speed limit; the median ignores
// the one slow sample, and the lost-frames metric says how often.
const stuckAfter = 2 * time.Second

// stuck reports, when called now and then while a frame is awaited,
// whether stuckAfter has passed since the first call for that frame
// (stuckSince, reset for every frame).
func stuck() bool {
	if stuckSince.IsZero() {
		stuckSince = time.Now()
		return false
	}
	return time.Since(stuckSince) > stuckAfter
}

var stuckSince time.Time

// BenchmarkRead: the producer offers a frame (untimed), the consumer polls
// it and reads every element, through the untyped API (FrameAs + Flat) or
// the generated one (the view's Data).
func BenchmarkRead(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			c := newClient(b, TpooldProfile)
			ctx := testCtx(b)
			got := 0
			var typedPoll func() int
			var us *client.Consumer
			switch size.n {
			case 1024:
				s, err := NewSmallConsumer(ctx, c)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				handler := func(v SmallView, f client.FrameView) {
					benchSink += sum(v.Data())
					if f.Verify() {
						got++
					}
				}
				typedPoll, us = func() int { return s.Poll(handler) }, s.Untyped()
			default:
				s, err := NewLargeConsumer(ctx, c)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				handler := func(v LargeView, f client.FrameView) {
					benchSink += sum(v.Data())
					if f.Verify() {
						got++
					}
				}
				typedPoll, us = func() int { return s.Poll(handler) }, s.Untyped()
			}
			untypedHandler := func(f client.FrameView) {
				v, _ := client.FrameAs[uint16](f)
				d, _ := v.Flat()
				benchSink += sum(d)
				if f.Verify() {
					got++
				}
			}
			p := size.prod(c, b)
			defer p.Close()
			up := p.Untyped()
			h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, size.n)
			meta, payload := &pool.FrameMeta{Tensor: h}, make([]byte, 2*size.n)
			offer := func() {
				if _, err := up.OfferFrame(payload, meta); err != nil {
					b.Fatal(err)
				}
			}
			lost := 0
			poll := func(typedHalf bool) {
				for want, spins := got+1, 0; got < want; spins++ {
					if typedHalf {
						typedPoll()
					} else {
						us.Poll(untypedHandler)
					}
					// A frame the consumer did not take never arrives:
					// offer another instead of spinning for ever (the
					// check is rare and the same for both halves).
					if spins&0xffff == 0xffff && stuck() {
						lost++
						stuckSince = time.Time{}
						offer()
					}
				}
			}
			pt := newPairTimer()
			b.SetBytes(2 * int64(size.n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// The offer is outside the timed part.
				typedHalf := typedTurn(i)
				offer()
				stuckSince = time.Time{}
				t0 := time.Now()
				poll(typedHalf)
				pt.add(typedHalf, time.Since(t0))
				i++
			}
			pt.report(b)
			b.ReportMetric(float64(lost), "lost-frames")
		})
	}
}
