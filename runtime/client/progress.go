package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/pool"
)

// FrameProgress (wire spec v1.2, 10.2.2): partial-availability hints for
// frames filled in place, typically by DMA.
//
// A Producer with ProducerConfig.Progress sends, for every claim, STARTED
// when TryClaim hands it out, PROGRESS when Progress reports more bytes
// filled (throttled: at most one per ProgressInterval, and only after
// ProgressBytes more bytes), and COMPLETE when Commit has published the
// frame, just before its FrameDescriptor, which stays the one "frame
// available" signal. With ProducerConfig.MaxClaims several claims may be
// open at once (a DMA ring); they may be committed in any order.
//
// FrameProgress goes on the shared control stream (the driver's control
// channel and stream), where tensor_pool_c sends it too, and on the own
// control stream of every consumer that holds one and said
// supports_progress in its ConsumerHello (wire spec 10.1.3, 10.2.2).
//
// A Consumer with ConsumerConfig.OnProgress says supports_progress,
// subscribes to the shared control stream and hands it every valid
// FrameProgress of its stream and mapped epoch; once it reads its own
// control stream it takes FrameProgress from there only, so no hint
// arrives twice. The bytes of an unfinished frame are not offered to read: this
// package's producers write the slot header at commit, so before it the
// slot does not say where the frame is. The hints say how far a frame got.

// FrameProgress throttling defaults (the wire spec's recommendations).
const (
	DefaultProgressInterval = 250 * time.Microsecond
	DefaultProgressBytes    = 64 << 10
)

// ErrProgress: Progress was given a byte count past the claim's payload
// or lower than one reported before (progress never regresses).
var ErrProgress = errors.New("client: progress out of range or regressing")

// ProgressState is FrameProgress.state.
type ProgressState uint8

// The FrameProgress states.
const (
	ProgressStarted  ProgressState = ProgressState(wire.FrameProgressStateStarted)
	ProgressFilling  ProgressState = ProgressState(wire.FrameProgressStateProgress)
	ProgressComplete ProgressState = ProgressState(wire.FrameProgressStateComplete)
)

func (s ProgressState) String() string { return wire.FrameProgressState(s).String() }

// FrameProgress is one progress hint, as a Consumer's OnProgress gets it.
type FrameProgress struct {
	StreamID uint32
	Epoch    uint64
	Seq      uint64
	// Filled is payload_bytes_filled: how many bytes of the frame's
	// payload are written.
	Filled uint64
	State  ProgressState
}

// ProgressStats counts a Producer's FrameProgress messages.
type ProgressStats struct {
	Started, Progress, Complete uint64
	// Throttled counts Progress reports not sent (too soon, or too few
	// new bytes); Dropped messages the control stream did not take.
	Throttled, Dropped uint64
}

// ConsumerProgressStats counts the FrameProgress a Consumer saw of its
// stream.
type ConsumerProgressStats struct {
	// Delivered counts hints handed to OnProgress.
	Delivered uint64
	// OtherEpoch counts hints of an epoch not mapped; Regressed those
	// whose filled bytes or state went back within a frame; Invalid those
	// with an unknown state, more bytes than any payload slot holds, or
	// that failed to decode.
	OtherEpoch, Regressed, Invalid uint64
}

// deferredDescriptor is a frame committed while an older claim is still
// open: consumers drop a descriptor whose sequence is not after the last
// one they read (wire spec 15.2), so descriptors go out in sequence order,
// each once every older claim is committed, aborted or abandoned.
type deferredDescriptor struct {
	seq         uint64
	timestampNs uint64
	metaVersion uint32
}

// announce sends the FrameDescriptor of committed frame seq, now or, when
// an older claim is open, once it is not; called with p.mu held.
func (p *Producer) announce(seq uint64, m *pool.FrameMeta) {
	if old, ok := p.prod.OldestOpen(); ok && old < seq {
		d := deferredDescriptor{seq: seq, timestampNs: m.TimestampNs, metaVersion: m.MetaVersion}
		i := len(p.deferred)
		p.deferred = append(p.deferred, d) // grows only past MaxClaims frames in flight
		for ; i > 0 && p.deferred[i-1].seq > seq; i-- {
			p.deferred[i] = p.deferred[i-1]
		}
		p.deferred[i] = d
		return
	}
	p.published(seq, m)
	p.flushDeferred()
}

// flushDeferred sends the deferred descriptors no open claim holds back.
func (p *Producer) flushDeferred() {
	n := 0
	for _, d := range p.deferred {
		if old, ok := p.prod.OldestOpen(); ok && old < d.seq {
			break
		}
		m := pool.FrameMeta{TimestampNs: d.timestampNs, MetaVersion: d.metaVersion}
		p.published(d.seq, &m)
		n++
	}
	if n > 0 {
		p.deferred = p.deferred[:copy(p.deferred, p.deferred[n:])]
	}
}

// progressStream names the stream FrameProgress goes on: the shared
// control stream (see above).
func (c *Client) progressStream() (string, int32) {
	return c.cfg.Driver.ControlChannel, c.cfg.Driver.ControlStreamID // no driver client in no-driver mode
}

// producerProgress is a Producer's side of FrameProgress. Guarded by the
// Producer's mu.
type producerProgress struct {
	pub      *aeron.Publication // nil without ProducerConfig.Progress
	interval uint64
	step     uint64
	buf      [wire.MessageHeaderEncodedLength + wire.FrameProgressBlockLength]byte
	enc      wire.FrameProgressEncoder
	stats    ProgressStats
}

// claimProgress is what a Claim remembers of its progress messages.
type claimProgress struct {
	sent uint64 // bytes last reported
	at   uint64 // when, CLOCK_MONOTONIC ns
}

func (p *Producer) initProgress(ctx context.Context) error {
	if p.cfg.MaxClaims < 0 || p.cfg.ProgressInterval < 0 || p.cfg.ProgressBytes < 0 {
		return fmt.Errorf("%w: negative MaxClaims, ProgressInterval or ProgressBytes", ErrConfig)
	}
	g := &p.progress
	g.interval, g.step = uint64(p.cfg.ProgressInterval), uint64(p.cfg.ProgressBytes)
	if g.interval == 0 {
		g.interval = uint64(DefaultProgressInterval)
	}
	if g.step == 0 {
		g.step = DefaultProgressBytes
	}
	if !p.cfg.Progress {
		return nil
	}
	ch, id := p.c.progressStream()
	pub, err := p.aeron.AddPublication(ctx, ch, id)
	if err != nil {
		return fmt.Errorf("client: progress publication: %w", err)
	}
	g.pub = pub
	return nil
}

func (p *Producer) closeProgress() error {
	if p.progress.pub == nil {
		return nil
	}
	return p.progress.pub.Close()
}

func (p *Producer) swapProgressPub(ctx context.Context, a *aeron.Client) error {
	if !p.cfg.Progress {
		return nil
	}
	ch, id := p.c.progressStream()
	pub, err := a.AddPublication(ctx, ch, id)
	if err != nil {
		return fmt.Errorf("client: progress publication: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = pub.Close()
		return ErrClosed
	}
	old := p.progress.pub
	p.progress.pub = pub
	p.mu.Unlock()
	_ = old.Close() // on the lost Aeron client
	return nil
}

// applyMaxClaims sets the claim queue of a newly mapped pool producer.
func (p *Producer) applyMaxClaims(prod *pool.Producer) error {
	if p.cfg.MaxClaims <= 1 {
		return nil
	}
	if err := prod.SetMaxClaims(p.cfg.MaxClaims); err != nil {
		return fmt.Errorf("%w: MaxClaims: %w", ErrConfig, err)
	}
	return nil
}

// sendProgress offers one FrameProgress (once: it is a hint).
func (p *Producer) sendProgress(seq, filled uint64, st ProgressState) bool {
	g := &p.progress
	e := &g.enc
	if e.WrapWithHeader(g.buf[:]) != nil {
		return false
	}
	e.SetStreamId(p.info.StreamID)
	e.SetEpoch(p.info.Epoch)
	e.SetSeq(seq)
	e.SetPayloadBytesFilled(filled)
	e.SetState(wire.FrameProgressState(st))
	n, _ := e.Finish()
	sent := p.sendPerConsumerControl(g.buf[:n], true) > 0 // consumers on their own control streams
	if g.pub.Offer(g.buf[:n]) > 0 || sent {
		return true
	}
	g.stats.Dropped++
	return false
}

// progressStarted sends STARTED for a new claim; called with p.mu held.
func (p *Producer) progressStarted(c *Claim) {
	c.progress = claimProgress{at: pool.MonotonicNow()}
	if p.progress.pub != nil && p.sendProgress(c.Seq, 0, ProgressStarted) {
		p.progress.stats.Started++
	}
}

// progressComplete sends COMPLETE for a committed claim; called with p.mu
// held, before the FrameDescriptor.
func (p *Producer) progressComplete(c *Claim) {
	if p.progress.pub != nil && p.sendProgress(c.Seq, uint64(len(c.Payload)), ProgressComplete) {
		p.progress.stats.Complete++
	}
}

// Progress reports that the first filled bytes of c's payload are written
// (rows of a DMA transfer, say). It sends a PROGRESS hint when
// ProducerConfig.Progress is set and the throttle allows (at most one per
// ProgressInterval, after ProgressBytes more bytes); otherwise it only
// checks. It returns ErrProgress for a count past the payload or below an
// earlier one, ErrClaimLost for a claim committed, aborted, abandoned or
// from before a remap. It allocates nothing.
func (p *Producer) Progress(c *Claim, filled int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if c.gen == 0 || c.gen != p.gen || p.prod == nil || !p.prod.Open(&c.claim) {
		return ErrClaimLost
	}
	if filled < 0 || filled > len(c.Payload) || uint64(filled) < c.progress.sent {
		return ErrProgress
	}
	g := &p.progress
	if g.pub == nil {
		return nil
	}
	now := pool.MonotonicNow()
	f := uint64(filled)
	if now-c.progress.at < g.interval || f-c.progress.sent < g.step {
		g.stats.Throttled++
		return nil
	}
	if p.sendProgress(c.Seq, f, ProgressFilling) {
		g.stats.Progress++
		c.progress = claimProgress{sent: f, at: now}
	}
	return nil
}

// ProgressStats returns a snapshot of the FrameProgress counters.
func (p *Producer) ProgressStats() ProgressStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.progress.stats
}

// consumerProgress is a Consumer's side of FrameProgress. Guarded by the
// Consumer's mu.
type consumerProgress struct {
	sub   *aeron.Subscription // nil without ConsumerConfig.OnProgress
	fh    aeron.FragmentHandler
	dec   wire.FrameProgressDecoder
	track [progressTracked]progressTrack
	stats ConsumerProgressStats
}

// progressTracked is how many frames' progress a Consumer follows at once
// (to refuse regressions); more claims open at once than this only weaken
// that check.
const progressTracked = 16

type progressTrack struct {
	seq    uint64
	filled uint64
	state  ProgressState
	valid  bool
}

func (s *Consumer) initProgress(ctx context.Context) error {
	if s.cfg.OnProgress == nil {
		return nil
	}
	s.progress.fh = s.onProgressFragment
	ch, id := s.c.progressStream()
	sub, err := s.aeron.AddSubscription(ctx, ch, id)
	if err != nil {
		return fmt.Errorf("client: progress subscription: %w", err)
	}
	s.progress.sub = sub
	return nil
}

func (s *Consumer) pollProgress() int {
	if s.progress.sub == nil {
		return 0
	}
	return s.progress.sub.Poll(s.progress.fh, s.cfg.FragmentLimit)
}

func (s *Consumer) closeProgress() error {
	if s.progress.sub == nil {
		return nil
	}
	return s.progress.sub.Close()
}

func (s *Consumer) swapProgressSub(ctx context.Context, a *aeron.Client) error {
	if s.cfg.OnProgress == nil {
		return nil
	}
	ch, id := s.c.progressStream()
	sub, err := a.AddSubscription(ctx, ch, id)
	if err != nil {
		return fmt.Errorf("client: progress subscription: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sub.Close()
		return ErrClosed
	}
	old := s.progress.sub
	s.progress.sub = sub
	s.mu.Unlock()
	_ = old.Close() // on the lost Aeron client
	return nil
}

// ProgressStats returns a snapshot of the FrameProgress counters. Do not
// call it from a handler.
func (s *Consumer) ProgressStats() ConsumerProgressStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress.stats
}

// onProgressFragment takes one fragment of the control stream, which
// carries the driver's messages too: only whole FrameProgress messages of
// this stream count.
func (s *Consumer) onProgressFragment(buf []byte, h *aeron.Header) {
	if h.Flags()&aeron.FlagUnfragmented != aeron.FlagUnfragmented || len(buf) < wire.MessageHeaderEncodedLength ||
		binary.LittleEndian.Uint16(buf[4:]) != wire.SchemaID ||
		binary.LittleEndian.Uint16(buf[2:]) != wire.FrameProgressTemplateID {
		return
	}
	if s.peer.ctl != nil { // it comes on the consumer's own control stream (onControl)
		return
	}
	s.handleProgress(buf)
}

func (s *Consumer) handleProgress(buf []byte) {
	if fp, ok := s.progress.check(buf, s.cfg.StreamID, s.att != nil, s.epoch, s.maxStride()); ok {
		s.cfg.OnProgress(fp)
	}
}

// check decodes and validates one FrameProgress message for stream at the
// mapped epoch, counting what it refuses; it reports whether to deliver it.
func (g *consumerProgress) check(buf []byte, stream uint32, mapped bool, epoch, maxStride uint64) (FrameProgress, bool) {
	d := &g.dec
	if d.WrapWithHeader(buf) != nil {
		g.stats.Invalid++
		return FrameProgress{}, false
	}
	if d.StreamId() != stream {
		return FrameProgress{}, false
	}
	if !mapped || d.Epoch() != epoch {
		g.stats.OtherEpoch++
		return FrameProgress{}, false
	}
	fp := FrameProgress{StreamID: d.StreamId(), Epoch: d.Epoch(), Seq: d.Seq(), Filled: d.PayloadBytesFilled(),
		State: ProgressState(d.State())}
	if fp.State < ProgressStarted || fp.State > ProgressComplete || fp.Filled > maxStride {
		g.stats.Invalid++
		return FrameProgress{}, false
	}
	t := &g.track[fp.Seq%progressTracked]
	if t.valid && t.seq == fp.Seq && (fp.Filled < t.filled || fp.State < t.state) {
		g.stats.Regressed++
		return FrameProgress{}, false
	}
	*t = progressTrack{seq: fp.Seq, filled: fp.Filled, state: fp.State, valid: true}
	g.stats.Delivered++
	return fp, true
}

// maxStride is the largest payload slot of the mapped regions.
func (s *Consumer) maxStride() uint64 {
	var m uint64
	if s.info != nil {
		for _, pl := range s.info.Pools {
			m = max(m, uint64(pl.StrideBytes))
		}
	}
	return m
}
