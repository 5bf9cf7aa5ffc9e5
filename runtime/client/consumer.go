package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// ConsumerConfig says which stream a Consumer reads.
type ConsumerConfig struct {
	StreamID uint32
	// ExpectedLayoutVersion, when non-zero, must match the stream's.
	ExpectedLayoutVersion uint32
	// FragmentLimit bounds the descriptors handled per Poll (default 16).
	FragmentLimit int

	// Per-consumer delivery (wire spec 10.1.2, 11; consumerpeer.go).
	//
	// Mode is ModeStream (the default) or ModeRateLimited. MaxRateHz is
	// the most frames per second a ModeRateLimited consumer wants (> 0;
	// 0 in ModeStream).
	Mode      ConsumerMode
	MaxRateHz uint32
	// PerConsumer says whether the ConsumerHello asks for per-consumer
	// descriptor and control streams (default PerConsumerAuto: in
	// ModeRateLimited only, so that the producer paces the consumer).
	PerConsumer PerConsumerRequest
	// SupportsProgress is ConsumerHello's supports_progress (set by
	// itself when OnProgress is).
	SupportsProgress bool
	// ConsumerID identifies the consumer to its producer (default: a
	// random id, as wire spec 10.1.2 recommends for self-assigned ids).
	ConsumerID uint32
	// --- Payload fallback (fallback.go) ---

	// PayloadFallbackURI is where the payload could come from when the
	// SHM regions cannot be mapped (wire spec 15.12). It is checked and
	// reported by Status; payload fallback itself is not implemented.
	PayloadFallbackURI string
	// --- Metadata (meta.go, metaconsume.go).

	// NoMetadata: do not subscribe to the metadata stream (FrameView.Meta
	// is then always nil).
	NoMetadata bool
	// MaxMetaBlobBytes bounds the metadata blobs reassembled (default
	// DefaultMaxMetaBlobBytes); larger ones are refused unread.
	MaxMetaBlobBytes int

	// --- FrameProgress (progress.go).

	// OnProgress, when set, subscribes to the FrameProgress of the stream
	// and gets every valid hint of the mapped epoch, from Poll, Next or
	// Run (like the frame handler: do not call the Consumer from it).
	OnProgress func(FrameProgress)
}

// ConsumerStats counts what a Consumer saw. Every descriptor of its stream
// ends as exactly one of: accepted, a drop (by reason), unmapped,
// before-join, or rate-limited.
type ConsumerStats struct {
	// Descriptors counts FrameDescriptors of this stream.
	Descriptors uint64
	// Accepted counts frames handed to the application that were still
	// intact after it returned (Verify passed).
	Accepted uint64
	// Drops counts frames dropped, by reason: invalid slots, frames the
	// producer overwrote before (or while) they were read, other epochs.
	Drops [pool.NumDropReasons]uint64
	// Gap counts sequence numbers whose descriptor never arrived (frames
	// the consumer did not see), within one epoch.
	Gap uint64
	// BeforeJoin counts descriptors of frames committed before this
	// consumer mapped the epoch and already overwritten or out of order
	// when their descriptor arrived (a replay after a quick restart, or
	// descriptors in flight at join time): not loss.
	BeforeJoin uint64
	// Unmapped counts descriptors that arrived while the lease was not
	// usable or the regions not (yet) mapped: the consumer fails closed.
	Unmapped uint64
	// Malformed counts messages on the descriptor stream that are not
	// FrameDescriptors.
	Malformed uint64
	// Remaps counts mappings (the first included); RemapErrors failed
	// attempts (retried).
	Remaps      uint64
	RemapErrors uint64

	// RATE_LIMITED mode (consumerpeer.go); neither is loss.
	//
	// RateLimited counts descriptors dropped locally to keep to MaxRateHz
	// (the producer declined a per-consumer stream, or has not answered
	// yet). Paced counts sequence numbers the producer did not send on
	// the consumer's own stream because it paces it.
	RateLimited uint64
	Paced       uint64
}

// Dropped returns the number of frames dropped for any reason (Drops and
// Unmapped; not Gap or BeforeJoin).
func (s *ConsumerStats) Dropped() uint64 {
	n := s.Unmapped
	for _, d := range s.Drops {
		n += d
	}
	return n
}

// Late returns the drops of frames the producer was writing or had
// overwritten (the consumer was too slow).
func (s *ConsumerStats) Late() uint64 {
	var n uint64
	for r, d := range s.Drops {
		if pool.DropReason(r).Late() {
			n += d
		}
	}
	return n
}

// FrameView is one validated frame in shared memory. It is valid until
// the handler it was passed to returns (or, from Next, until the next call
// of Next, Poll or Close). Its payload may be overwritten by the producer
// at any time: call Verify after reading it and discard the result if it
// reports false; the Consumer verifies every frame once more after the
// handler and counts it as accepted or dropped.
type FrameView struct {
	c *Consumer
	f *pool.Frame
}

// Seq returns the frame's sequence number.
func (v FrameView) Seq() uint64 { return v.f.Seq }

// Epoch returns the epoch of the frame's regions.
func (v FrameView) Epoch() uint64 { return v.c.epoch }

// StreamID returns the stream id.
func (v FrameView) StreamID() uint32 { return v.c.cfg.StreamID }

// Tensor returns the frame's tensor header (dims, strides resolved, dtype).
func (v FrameView) Tensor() *pool.TensorHeader { return &v.f.Tensor }

// Payload returns the frame's bytes in shared memory.
func (v FrameView) Payload() []byte { return v.f.Payload }

// TimestampNs returns the capture timestamp; MetaVersion the
// DataSourceMeta version the frame refers to.
func (v FrameView) TimestampNs() uint64 { return v.f.TimestampNs }
func (v FrameView) MetaVersion() uint32 { return v.f.MetaVersion }

// Verify reports whether the frame was still intact after everything read
// from it so far (the second half of the seqlock).
func (v FrameView) Verify() bool { return v.c.verify() }

// FrameAs returns a typed view of the frame's tensor (T must be the dtype's
// Go type). It aliases the payload and is valid as long as v.
func FrameAs[T shm.Elem](v FrameView) (pool.View[T], error) {
	return pool.NewView[T](v.f.Payload, &v.f.Tensor)
}

// Consumer reads the frames of one stream in driver mode. It is not safe
// for concurrent use.
type Consumer struct {
	c     *Client
	cfg   ConsumerConfig
	lease *driverclient.Lease
	allow *pool.AllowList
	idle  agent.IdleStrategy

	info     *driverclient.LeaseInfo // what is mapped
	att      *pool.Attachment
	epoch    uint64
	joinSeq  uint64 // frames before it were committed before we mapped
	retryAt  int64
	next     uint64 // the sequence expected next (gap accounting)
	haveNext bool

	mu       sync.Mutex          // held while polling, so Close never unmaps under a reader
	sub      *aeron.Subscription // replaced on reconnect (reconnect.go)
	aeron    *aeron.Client       // sub's
	fh       aeron.FragmentHandler
	dec      wire.FrameDescriptorDecoder
	handler  func(FrameView)
	frame    pool.Frame
	pending  bool // a frame is out, not yet verified
	verified bool
	intact   bool
	got      bool // Next: a frame was stashed
	closed   bool
	stats    ConsumerStats
	peer     consumerPeer // per-consumer streams and QoS (consumerpeer.go)
	nd       *ndConsumer  // no-driver mode only (nodriver.go)

	// Metadata (metaconsume.go) and FrameProgress (progress.go).
	meta     consumerMeta
	progress consumerProgress
}

// NewConsumer attaches a consumer lease for cfg.StreamID, waiting (until
// ctx ends) for the driver's answer, subscribes to the descriptor stream
// and maps the regions. A stream without a producer yet is fine: frames
// come once one attaches.
func (c *Client) NewConsumer(ctx context.Context, cfg ConsumerConfig) (_ *Consumer, err error) {
	if cfg.StreamID == 0 {
		return nil, fmt.Errorf("%w: consumer stream id 0", ErrConfig)
	}
	if cfg.FragmentLimit <= 0 {
		cfg.FragmentLimit = 16
	}
	if err := cfg.checkPeer(); err != nil {
		return nil, err
	}
	if c.cfg.NoDriver {
		return c.newNoDriverConsumer(ctx, cfg)
	}
	s := &Consumer{c: c, cfg: cfg, idle: c.cfg.Idle, aeron: c.currentAeron()}
	s.initPeer()
	if s.idle == nil {
		s.idle = agent.NewBackoff()
	}
	s.fh = s.onFragment
	// Subscribe first, so no descriptor sent after the attach is missed.
	if s.sub, err = s.aeron.AddSubscription(ctx, descriptorSubChannel(c.cfg.DescriptorChannel), c.cfg.DescriptorStreamID); err != nil {
		return nil, fmt.Errorf("client: descriptor subscription: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.sub.Close()
			_ = s.closeSideStreams()
		}
	}()
	if err = s.initSideStreams(ctx); err != nil {
		return nil, err
	}
	req := driverclient.AttachRequest{StreamID: cfg.StreamID, Role: driverclient.RoleConsumer,
		ExpectedLayoutVersion: cfg.ExpectedLayoutVersion}
	if s.lease, err = c.dc.Attach(ctx, req); err != nil {
		return nil, fmt.Errorf("client: attach consumer to stream %d: %w", cfg.StreamID, err)
	}
	defer func() {
		if err != nil {
			_ = c.detach(s.lease)
		}
	}()
	if s.allow, err = c.dc.AllowList(); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	s.mu.Lock()
	s.ensure()
	s.mu.Unlock()
	if err := c.register(ctx, nil, s); err != nil {
		s.unmap()
		return nil, err
	}
	return s, nil
}

// Lease returns the consumer's lease; nil in no-driver mode.
func (s *Consumer) Lease() *driverclient.Lease { return s.lease }

// Epoch returns the epoch of the mapped regions (0 if none).
func (s *Consumer) Epoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// Stats returns a snapshot of the counters. Do not call it from a handler
// (the Consumer is locked while it polls).
func (s *Consumer) Stats() ConsumerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// remapRetry spaces failed mapping attempts.
const remapRetry = 10e6 // 10 ms

// ensure maps the lease's regions when they changed.
func (s *Consumer) ensure() {
	if s.nd != nil {
		s.ensureNoDriver() // no-driver mode (nodriver.go)
		return
	}
	if !s.lease.Usable() {
		return
	}
	info := s.lease.Info()
	if info == nil || info == s.info {
		return
	}
	if s.info != nil && s.att != nil && info.Epoch == s.info.Epoch && info.HeaderURI == s.info.HeaderURI {
		s.info = info // a new lease over the regions already mapped
		return
	}
	now := driverclient.Now()
	if now < s.retryAt {
		return
	}
	s.unmap()
	att, err := pool.Attach(info.Announcement(), s.allow, 0)
	if err != nil {
		s.stats.RemapErrors++
		s.retryAt = now + remapRetry
		s.c.log.Warn("consumer cannot map", "stream", info.StreamID, "epoch", info.Epoch, "err", err)
		return
	}
	s.info, s.att, s.epoch = info, att, info.Epoch
	s.joinSeq, s.haveNext = 0, false
	if n, ok := att.Consumer.Newest(); ok {
		s.joinSeq = n + 1
	}
	s.stats.Remaps++
	s.c.log.Info("consumer mapped", "stream", info.StreamID, "epoch", info.Epoch, "join_seq", s.joinSeq)
}

func (s *Consumer) unmap() {
	if s.att != nil {
		_ = s.att.Close()
	}
	s.att, s.info, s.epoch = nil, nil, 0
}

func (s *Consumer) onFragment(buf []byte, _ *aeron.Header) {
	fd, err := s.dec.View(buf)
	if err != nil {
		s.stats.Malformed++
		return
	}
	if fd.StreamId() != s.cfg.StreamID {
		return // another stream on the shared descriptor stream
	}
	if s.skipDuplicate(fd) {
		return // seen on the stream the consumer just switched from
	}
	s.stats.Descriptors++
	epoch, seq := fd.Epoch(), fd.Seq()
	if epoch > s.epoch {
		s.ensure() // the announce of the new epoch may have just arrived
	}
	if s.att == nil || !s.usable() {
		s.stats.Unmapped++
		return
	}
	if epoch != s.epoch {
		s.stats.Drops[pool.DropEpoch]++
		return
	}
	// A descriptor for a frame the ring has not reached yet is bogus (a
	// legitimate one is sent after its commit): drop it before Read, so it
	// cannot move the consumer's position past every real frame.
	if !s.att.Consumer.Ready(seq) {
		s.stats.Drops[pool.DropStale]++
		return
	}
	if seq >= s.joinSeq {
		if s.haveNext && seq > s.next {
			s.countGap(seq - s.next)
		}
		if !s.haveNext || seq >= s.next {
			s.next, s.haveNext = seq+1, true
		}
	}
	if s.rateLimited(fd) {
		s.stats.RateLimited++
		return
	}
	f, r := s.att.Consumer.Read(epoch, seq)
	if r != pool.DropNone {
		if epoch == s.epoch && seq < s.joinSeq && r != pool.DropNotCommitted {
			s.stats.BeforeJoin++
		} else {
			s.stats.Drops[r]++
		}
		return
	}
	s.frame = f
	s.pending, s.verified = true, false
	if s.handler == nil {
		s.got = true // Next hands it out
		return
	}
	s.handler(FrameView{c: s, f: &s.frame})
	s.finish()
}

// verify runs the seqlock's second read once per frame.
func (s *Consumer) verify() bool {
	if !s.pending {
		return false
	}
	if !s.verified {
		s.verified = true
		r := s.att.Consumer.Verify(&s.frame)
		s.intact = r == pool.DropNone
		if !s.intact {
			s.stats.Drops[r]++
		}
	}
	return s.intact
}

// finish closes the frame handed out last.
func (s *Consumer) finish() {
	if !s.pending {
		return
	}
	if s.verify() {
		s.stats.Accepted++
	}
	s.pending, s.got = false, false
}

// Poll handles up to the fragment limit of descriptors, calling handler
// with every frame that validates; the view is valid until handler
// returns. It returns the number of descriptors polled. Poll never
// blocks and allocates nothing in steady state.
func (s *Consumer) Poll(handler func(FrameView)) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll(handler)
}

func (s *Consumer) poll(handler func(FrameView)) int {
	if s.closed {
		return 0
	}
	s.finish()
	s.ensure()
	s.pollSideStreams()
	s.handler = handler
	n := s.sub.Poll(s.fh, s.cfg.FragmentLimit)
	n += s.peerPoll(n, s.cfg.FragmentLimit)
	s.handler = nil
	return n
}

// Next waits for the next valid frame and returns it; the view is valid
// until the next call of Next, Poll or Close. It returns ctx's error when
// ctx ends first, and ErrClosed after Close.
func (s *Consumer) Next(ctx context.Context) (FrameView, error) {
	s.mu.Lock()
	s.finish()
	s.mu.Unlock()
	s.idle.Reset()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return FrameView{}, ErrClosed
		}
		s.ensure()
		n := s.pollSideStreams()
		n += s.sub.Poll(s.fh, 1)
		if s.got {
			s.got = false
			s.mu.Unlock()
			return FrameView{c: s, f: &s.frame}, nil
		}
		n += s.peerPoll(n, 1)
		s.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return FrameView{}, err
		}
		if s.c.cfg.Invoker {
			n += s.c.DoWork()
		}
		s.idle.Idle(n)
	}
}

// Run calls handler with every frame until ctx ends, then returns ctx's
// error (or ErrClosed).
func (s *Consumer) Run(ctx context.Context, handler func(FrameView)) error {
	s.idle.Reset()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		n := s.poll(handler)
		s.mu.Unlock()
		if s.c.cfg.Invoker {
			n += s.c.DoWork()
		}
		s.idle.Idle(n)
	}
}

// Close detaches the lease, unmaps the regions and closes the
// subscription. It is idempotent.
func (s *Consumer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.finish()
	s.closed = true
	s.unmap()
	sub := s.sub
	peerSubs := s.peer.drop()
	s.mu.Unlock()
	for _, x := range peerSubs {
		_ = x.Close()
	}
	s.c.remove(nil, s)
	err := s.c.detach(s.lease)
	return errors.Join(err, sub.Close(), s.closeNoDriver(), s.closeSideStreams())
}
