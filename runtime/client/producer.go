package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// ProducerConfig says which stream a Producer writes.
type ProducerConfig struct {
	StreamID uint32
	// ExpectedLayoutVersion, when non-zero, must match the stream's.
	ExpectedLayoutVersion uint32
	// PublishMode 0 leaves the choice to the driver.
	PublishMode driverclient.PublishMode
	// OfferRetries bounds the retries of a descriptor offer that meets
	// back pressure (default 64); the frame stays in SHM either way.
	OfferRetries int

	// --- No-driver mode (nodriver.go) ---

	// Layout is the layout of the stream the Producer creates when the
	// Client is in no-driver mode; ignored in driver mode (tpoold decides).
	Layout StreamLayout
	// --- Metadata (meta.go, metasend.go); zero values take the defaults.

	// MetaPeriod is how often the metadata is repeated for consumers that
	// join late (default DefaultMetaPeriod).
	MetaPeriod time.Duration
	// MetaChunkBytes is the MetaBlobChunk size (default
	// DefaultMetaChunkBytes, at most what one message can hold).
	MetaChunkBytes int
	// MaxMetaBlobBytes bounds PublishBlob (default DefaultMaxMetaBlobBytes).
	MaxMetaBlobBytes int

	// --- FrameProgress and the claim queue (progress.go).

	// MaxClaims is how many claims may be open at once (default 1; at most
	// the header ring's nslots): TryClaim beyond it abandons the oldest.
	MaxClaims int
	// Progress sends FrameProgress for claims: STARTED, PROGRESS (see
	// Producer.Progress) and COMPLETE.
	Progress bool
	// ProgressInterval and ProgressBytes throttle PROGRESS: at most one
	// per interval, after that many more bytes (defaults
	// DefaultProgressInterval, DefaultProgressBytes).
	ProgressInterval time.Duration
	ProgressBytes    int
}

// ProducerStats counts what a Producer did.
type ProducerStats struct {
	// Frames is the number of frames committed (in every epoch).
	Frames uint64
	// Paused counts offers and claims refused with ErrPaused.
	Paused uint64
	// Aborted counts claims given up with Abort or lost to a remap.
	Aborted uint64
	// TooLarge counts frames no payload pool could hold.
	TooLarge uint64
	// Remaps counts mappings of a lease (the first included).
	Remaps uint64
	// DescriptorsSent counts FrameDescriptors offered; NoSubscriber those
	// not sent because no consumer subscribed; DescriptorsDropped those
	// lost to back pressure after OfferRetries (or a closed publication).
	DescriptorsSent    uint64
	NoSubscriber       uint64
	DescriptorsDropped uint64
}

// Producer writes frames of one stream in driver mode. It is not safe for
// concurrent use (the Client's heartbeat is the only other goroutine that
// touches it, under its lock).
type Producer struct {
	c     *Client
	cfg   ProducerConfig
	lease *driverclient.Lease
	allow *pool.AllowList

	mu      sync.Mutex
	pub     *aeron.Publication      // replaced on reconnect (reconnect.go)
	aeron   *aeron.Client           // pub's
	info    *driverclient.LeaseInfo // what is mapped
	regions []*pool.Region
	prod    *pool.Producer
	gen     uint64 // bumped on every remap
	beat    uint64 // last heartbeat, CLOCK_MONOTONIC ns
	closed  bool
	stats   ProducerStats
	pp      producerPeers // per-consumer streams and QoS (producerpeer.go)
	buf     [wire.MessageHeaderEncodedLength + wire.FrameDescriptorBlockLength]byte
	nd      *ndProducer // no-driver mode only (nodriver.go)

	// Metadata (metasend.go) and FrameProgress (progress.go).
	meta     metaSender
	stamped  pool.FrameMeta // OfferFrame's FrameMeta with the meta_version
	progress producerProgress
	deferred []deferredDescriptor // committed behind an open claim (progress.go)
}

// NewProducer attaches a producer lease for cfg.StreamID, waiting (until
// ctx ends) for the driver's answer, and maps its regions.
func (c *Client) NewProducer(ctx context.Context, cfg ProducerConfig) (_ *Producer, err error) {
	if cfg.StreamID == 0 {
		return nil, fmt.Errorf("%w: producer stream id 0", ErrConfig)
	}
	if cfg.OfferRetries <= 0 {
		cfg.OfferRetries = 64
	}
	if c.cfg.NoDriver {
		return c.newNoDriverProducer(ctx, cfg)
	}
	p := &Producer{c: c, cfg: cfg, aeron: c.currentAeron()}
	if p.pub, err = p.aeron.AddPublication(ctx, descriptorPubChannel(c.cfg.DescriptorChannel), c.cfg.DescriptorStreamID); err != nil {
		return nil, fmt.Errorf("client: descriptor publication: %w", err)
	}
	defer func() {
		if err != nil {
			_ = p.pub.Close()
			_ = p.closeSideStreams()
		}
	}()
	if err = p.initSideStreams(ctx); err != nil {
		return nil, err
	}
	req := driverclient.AttachRequest{StreamID: cfg.StreamID, Role: driverclient.RoleProducer,
		ExpectedLayoutVersion: cfg.ExpectedLayoutVersion, PublishMode: cfg.PublishMode}
	if p.lease, err = c.dc.Attach(ctx, req); err != nil {
		return nil, fmt.Errorf("client: attach producer to stream %d: %w", cfg.StreamID, err)
	}
	defer func() {
		if err != nil {
			_ = c.detach(p.lease)
		}
	}()
	if p.allow, err = c.dc.AllowList(); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	p.mu.Lock()
	err = p.ensure()
	p.mu.Unlock()
	if err != nil && !errors.Is(err, ErrPaused) {
		return nil, err
	}
	if err := c.register(ctx, p, nil); err != nil {
		p.unmap()
		return nil, err
	}
	return p, nil
}

// Lease returns the producer's lease (its epoch and state); nil in
// no-driver mode.
func (p *Producer) Lease() *driverclient.Lease { return p.lease }

// Epoch returns the epoch of the mapped regions (0 if none).
func (p *Producer) Epoch() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.info == nil {
		return 0
	}
	return p.info.Epoch
}

// Stats returns a snapshot of the counters.
func (p *Producer) Stats() ProducerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// ensure maps the lease's current regions if they changed. Called with
// p.mu held.
func (p *Producer) ensure() error {
	if p.closed {
		return ErrClosed
	}
	if p.nd != nil {
		return nil // no-driver mode: the regions are the producer's own
	}
	if !p.lease.Usable() {
		p.stats.Paused++
		return ErrPaused
	}
	info := p.lease.Info()
	if info == p.info {
		return nil
	}
	if p.info != nil && info.Epoch == p.info.Epoch && info.HeaderURI == p.info.HeaderURI {
		p.info = info // a new lease over the same regions
		return nil
	}
	p.unmap()
	regions, err := mapRegions(info, p.allow, true)
	if err != nil {
		return fmt.Errorf("client: map stream %d epoch %d: %w", info.StreamID, info.Epoch, err)
	}
	prod, err := pool.NewProducer(regions[0], regions[1:], 0)
	if err == nil {
		err = p.applyMaxClaims(prod)
	}
	if err != nil {
		closeRegions(regions)
		return fmt.Errorf("client: stream %d epoch %d: %w", info.StreamID, info.Epoch, err)
	}
	p.info, p.regions, p.prod = info, regions, prod
	p.gen++
	p.stats.Remaps++
	p.remapped()
	p.beat = pool.MonotonicNow()
	prod.Heartbeat(p.beat)
	p.c.log.Info("producer mapped", "stream", info.StreamID, "epoch", info.Epoch)
	return nil
}

func (p *Producer) unmap() {
	closeRegions(p.regions)
	p.regions, p.prod, p.info = nil, nil, nil
}

// heartbeat refreshes activity_timestamp_ns when due.
func (p *Producer) heartbeat(now uint64, period int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.announceTick(now) + p.metaDuty(now) // no-driver announces (nodriver.go), metadata (metasend.go)
	if p.prod == nil || now-p.beat < uint64(period) {
		return n
	}
	p.beat = now
	p.prod.Heartbeat(now)
	return n + 1
}

// OfferFrame copies payload into the next slot with the shape, strides,
// dtype, timestamp and meta version of m, publishes it with the seqlock
// and sends its FrameDescriptor. It returns the frame's sequence number.
// While the lease is not usable it returns ErrPaused and writes nothing.
// Once the Producer published metadata (PublishMeta, PublishBlob), the
// frame carries the current meta_version instead of m.MetaVersion. It
// allocates nothing.
func (p *Producer) OfferFrame(payload []byte, m *pool.FrameMeta) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensure(); err != nil {
		return 0, err
	}
	m = p.stampMeta(m)
	seq, err := p.prod.Publish(payload, m)
	if err != nil {
		if errors.Is(err, pool.ErrNoPoolFits) {
			p.stats.TooLarge++
			return 0, ErrFrameTooLarge
		}
		return 0, fmt.Errorf("client: offer: %w", err)
	}
	p.announce(seq, m)
	return seq, nil
}

func (p *Producer) published(seq uint64, m *pool.FrameMeta) {
	p.stats.Frames++
	if now := pool.MonotonicNow(); now-p.beat >= uint64(p.c.beatNs) {
		p.beat = now
		p.prod.Heartbeat(now)
	}
	w, err := wire.NewFrameDescriptorWriter(p.buf[:])
	if err != nil {
		return // cannot happen: the buffer is sized for the message
	}
	w.SetStreamId(p.info.StreamID)
	w.SetEpoch(p.info.Epoch)
	w.SetSeq(seq)
	if m.TimestampNs != 0 {
		w.SetTimestampNs(m.TimestampNs)
	}
	w.SetMetaVersion(m.MetaVersion)
	n := w.EncodedLength()
	p.publishPeers(seq, p.buf[:n])
	for i := 0; i < p.cfg.OfferRetries; i++ {
		switch r := p.pub.Offer(p.buf[:n]); {
		case r > 0:
			p.stats.DescriptorsSent++
			return
		case r == aeron.NotConnected:
			p.stats.NoSubscriber++
			return
		case r == aeron.BackPressured || r == aeron.AdminAction:
			agent.SpinWait()
		default:
			p.stats.DescriptorsDropped++
			return
		}
	}
	p.stats.DescriptorsDropped++
}

// Claim is a slot being filled in place: write the tensor into Payload
// (or through ClaimView), set Meta's timestamp (and meta version, preset
// once the Producer publishes metadata), then Commit or Abort. Payload aliases shared memory and is valid until then.
type Claim struct {
	Seq     uint64
	Payload []byte
	Meta    pool.FrameMeta
	gen     uint64
	claim   pool.Claim

	progress claimProgress // progress.go
}

// ClaimView returns a typed view of the claimed tensor (T must be the
// dtype's Go type).
func ClaimView[T shm.Elem](c *Claim) (pool.View[T], error) {
	return pool.NewView[T](c.Payload, &c.Meta.Tensor)
}

// TryClaim reserves the next slot for a tensor described by h (its strides
// may be zero: contiguous) and returns it to be filled in place. It returns
// ErrPaused while the lease is not usable and ErrFrameTooLarge if no pool
// holds the tensor. Up to ProducerConfig.MaxClaims (default 1) claims may
// be open; beyond that the oldest is abandoned (its Commit returns
// ErrClaimLost). With ProducerConfig.Progress it sends FrameProgress
// STARTED.
func (p *Producer) TryClaim(h *pool.TensorHeader) (Claim, error) {
	t := *h
	if err := t.Validate(); err != nil {
		return Claim{}, fmt.Errorf("client: claim: %w", err)
	}
	n, ok := t.Extent(1 << 31)
	if !ok {
		return Claim{}, ErrFrameTooLarge
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensure(); err != nil {
		return Claim{}, err
	}
	pc, err := p.prod.Claim(int(n))
	if err != nil {
		if errors.Is(err, pool.ErrNoPoolFits) {
			p.stats.TooLarge++
			return Claim{}, ErrFrameTooLarge
		}
		return Claim{}, fmt.Errorf("client: claim: %w", err)
	}
	cl := Claim{Seq: pc.Seq, Payload: pc.Payload, Meta: pool.FrameMeta{Tensor: t, MetaVersion: p.meta.version}, gen: p.gen, claim: pc}
	p.flushDeferred() // the claim may have abandoned the oldest
	p.progressStarted(&cl)
	return cl, nil
}

// Commit publishes a claimed frame and sends its FrameDescriptor. It
// returns ErrPaused if the lease was lost meanwhile and ErrClaimLost if
// the producer remapped since the claim; the frame is then not published.
func (p *Producer) Commit(c *Claim) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensure(); err != nil {
		p.stats.Aborted++
		return err
	}
	if c.gen != p.gen {
		p.stats.Aborted++
		return ErrClaimLost
	}
	if err := p.prod.Commit(&c.claim, &c.Meta); err != nil {
		if errors.Is(err, pool.ErrNotClaimed) { // abandoned for a newer claim
			p.stats.Aborted++
			return ErrClaimLost
		}
		return fmt.Errorf("client: commit: %w", err)
	}
	c.gen = 0
	p.progressComplete(c)
	p.announce(c.Seq, &c.Meta)
	return nil
}

// Abort gives up a claim: no descriptor is sent, and consumers never see
// the frame. Its sequence number is not reused.
func (p *Producer) Abort(c *Claim) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.gen != 0 {
		p.stats.Aborted++
		if c.gen == p.gen && p.prod != nil {
			_ = p.prod.Abandon(&c.claim) // frees its place in the claim queue
			p.flushDeferred()
		}
		c.gen = 0
	}
}

// Close detaches the lease and unmaps the regions. It is idempotent.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.unmap()
	pub := p.pub
	peerPubs := p.closePeers()
	p.mu.Unlock()
	closePubs(peerPubs)
	p.c.remove(p, nil)
	err := p.c.detach(p.lease)
	return errors.Join(err, pub.Close(), p.closeNoDriver(), p.closeSideStreams())
}

// mapRegions maps a lease's header ring and pools.
func mapRegions(info *driverclient.LeaseInfo, allow *pool.AllowList, writable bool) ([]*pool.Region, error) {
	want := pool.Expect{Epoch: info.Epoch, StreamID: info.StreamID, RegionType: pool.HeaderRing,
		NSlots: info.HeaderNslots, LayoutVersion: info.LayoutVersion}
	r, err := pool.OpenRegion(info.HeaderURI, allow, want, writable)
	if err != nil {
		return nil, err
	}
	regions := []*pool.Region{r}
	for _, pl := range info.Pools {
		w := want
		w.RegionType, w.PoolID, w.StrideBytes = pool.PayloadPool, pl.ID, pl.StrideBytes
		r, err := pool.OpenRegion(pl.URI, allow, w, writable)
		if err != nil {
			closeRegions(regions)
			return nil, err
		}
		regions = append(regions, r)
	}
	return regions, nil
}

func closeRegions(rs []*pool.Region) {
	for _, r := range rs {
		_ = r.Close()
	}
}
