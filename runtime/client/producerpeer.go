package client

import (
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// The producer's side of per-consumer streams and QoS (see peers.go).

// perConsumerChannel is the channel consumers ask their per-consumer
// streams on: IPC with 1 MiB terms. A per-consumer stream carries small
// messages to one subscriber, so the shared streams' 4 MiB terms (12 MiB
// of log per consumer) are not needed; but its publication window (half a
// term, about 5000 descriptors) must absorb a burst of frames before the
// media driver moves the publication limit, which 64 KiB terms did not
// (TestPeerNoAllocations saw back pressure).
const perConsumerChannel = "aeron:ipc?term-length=1m"

// PeerStats counts a Producer's dealings with its consumers (ConsumerHello,
// ConsumerConfig, per-consumer streams, QoS).
type PeerStats struct {
	// Consumers is the number of consumers known now; DescriptorStreams
	// and ControlStreams the per-consumer streams they hold.
	Consumers, DescriptorStreams, ControlStreams int
	// Hellos counts ConsumerHellos of this stream handled.
	Hellos uint64
	// Granted counts per-consumer streams granted (a descriptor and a
	// control stream count as two); Declined the requests declined (range
	// exhausted or declined by configuration, a channel that is not IPC,
	// the table full, or the publication could not be added).
	Granted, Declined uint64
	// Forgotten counts consumers dropped from the table: not heard from
	// (ConsumerHello or QosConsumer) for 5 QoS intervals, or on a
	// replaced Aeron client.
	Forgotten uint64
	// DescriptorsSent counts FrameDescriptors sent on per-consumer
	// streams; Paced those held back to keep a RATE_LIMITED consumer at
	// its max_rate_hz; DescriptorsDropped those an offer failed for
	// (back pressure, no subscriber yet).
	DescriptorsSent, Paced, DescriptorsDropped uint64
	// QoSSent counts QosProducer messages sent; ControlSent the messages
	// sent on per-consumer control streams.
	QoSSent, ControlSent uint64
}

// peerEntry is one consumer in a producer's table.
type peerEntry struct {
	inUse     bool
	id        uint32
	mode      wire.Mode
	maxRateHz uint32
	progress  bool // supports FrameProgress
	lastSeen  int64
	aeron     *aeron.Client // desc's and ctl's
	desc, ctl *aeron.Publication
	descID    uint32
	ctlID     uint32
	gate      rateGate
}

// producerPeers is a Producer's table of consumers. Guarded by the
// Producer's mu.
type producerPeers struct {
	tab     []peerEntry // MaxConsumers long, made on the first hello
	ndesc   int         // entries with a descriptor stream: 0 skips the table per frame
	nctl    int
	lastQoS int64
	seq     uint64 // the last frame published
	haveSeq bool
	stats   PeerStats
	qbuf    [wire.MessageHeaderEncodedLength + wire.QosProducerBlockLength]byte
	qenc    wire.QosProducerEncoder
}

// PeerStats returns a snapshot of the producer's per-consumer counters.
func (p *Producer) PeerStats() PeerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.pp.stats
	for i := range p.pp.tab {
		if p.pp.tab[i].inUse {
			st.Consumers++
		}
	}
	st.DescriptorStreams, st.ControlStreams = p.pp.ndesc, p.pp.nctl
	return st
}

func (pp *producerPeers) find(id uint32) *peerEntry {
	for i := range pp.tab {
		if e := &pp.tab[i]; e.inUse && e.id == id {
			return e
		}
	}
	return nil
}

func (pp *producerPeers) add(id uint32, capacity int) *peerEntry {
	if pp.tab == nil {
		pp.tab = make([]peerEntry, capacity)
	}
	for i := range pp.tab {
		if e := &pp.tab[i]; !e.inUse {
			*e = peerEntry{inUse: true, id: id}
			return e
		}
	}
	return nil
}

// release takes e's streams out of the table (returning the publications
// to close outside the lock) and frees their ids.
func (pp *producerPeers) release(pe *peers, e *peerEntry, closing []*aeron.Publication) []*aeron.Publication {
	if e.desc != nil {
		closing = append(closing, e.desc)
		pe.descIDs.release(e.descID)
		pp.ndesc--
	}
	if e.ctl != nil {
		closing = append(closing, e.ctl)
		pe.ctlIDs.release(e.ctlID)
		pp.nctl--
	}
	e.desc, e.ctl, e.descID, e.ctlID, e.gate = nil, nil, 0, 0, rateGate{}
	return closing
}

func closePubs(ps []*aeron.Publication) {
	for _, p := range ps {
		_ = p.Close()
	}
}

// onHello answers a ConsumerHello of the producer's stream with a
// ConsumerConfig: the per-consumer streams it asked for, kept if it holds
// them already, else allocated from the Client's ranges, or declined.
func (p *Producer) onHello(pe *peers, h *hello) {
	now := driverclient.Now()
	g := grant{stream: h.stream, consumer: h.consumer, mode: h.mode, useShm: h.supportsShm}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	pp := &p.pp
	pp.stats.Hellos++
	e := pp.find(h.consumer)
	if e == nil {
		e = pp.add(h.consumer, pe.c.cfg.MaxConsumers)
	}
	if e == nil { // table full: decline, and do not track it
		pp.stats.Declined += countRequests(h)
		p.mu.Unlock()
		p.c.log.Warn("consumer table full: per-consumer streams declined", "stream", h.stream, "consumer", h.consumer)
		p.sendGrant(pe, &g)
		return
	}
	e.lastSeen, e.mode, e.maxRateHz, e.progress = now, h.mode, h.maxRateHz, h.supportsProgress
	var closing []*aeron.Publication
	if e.aeron != nil && e.aeron != pe.aeron {
		closing = pp.release(pe, e, closing)
	}
	keepDesc := e.desc != nil && h.descChan != "" && (h.descID == 0 || h.descID == e.descID)
	keepCtl := e.ctl != nil && h.ctlChan != "" && (h.ctlID == 0 || h.ctlID == e.ctlID)
	if e.desc != nil && !keepDesc {
		closing = append(closing, e.desc)
		pe.descIDs.release(e.descID)
		e.desc, e.descID = nil, 0
		pp.ndesc--
	}
	if e.ctl != nil && !keepCtl {
		closing = append(closing, e.ctl)
		pe.ctlIDs.release(e.ctlID)
		e.ctl, e.ctlID = nil, 0
		pp.nctl--
	}
	needDesc := h.descChan != "" && e.desc == nil
	needCtl := h.ctlChan != "" && e.ctl == nil
	p.mu.Unlock()
	closePubs(closing)

	// Add what is new without the lock (the adds wait for the media driver).
	var desc, ctl *aeron.Publication
	var descID, ctlID uint32
	declined := uint64(0)
	if needDesc {
		if desc, descID = p.addPeerPub(pe, pe.descIDs, h.descChan, h.descID); desc == nil {
			declined++
		}
	}
	if needCtl {
		if ctl, ctlID = p.addPeerPub(pe, pe.ctlIDs, h.ctlChan, h.ctlID); ctl == nil {
			declined++
		}
	}

	p.mu.Lock()
	pp.stats.Declined += declined
	if p.closed || !e.inUse || e.id != h.consumer {
		p.mu.Unlock()
		p.releaseAdded(pe, desc, descID, ctl, ctlID)
		return
	}
	e.aeron = pe.aeron
	if desc != nil {
		e.desc, e.descID = desc, descID
		pp.ndesc++
		pp.stats.Granted++
	}
	if ctl != nil {
		e.ctl, e.ctlID = ctl, ctlID
		pp.nctl++
		pp.stats.Granted++
	}
	// Pace a RATE_LIMITED consumer on its own stream (wire spec 5:
	// max_rate_hz 0 is unthrottled, and is ignored on the shared stream).
	rate := uint32(0)
	if e.desc != nil && e.mode == wire.ModeRateLimited {
		rate = e.maxRateHz
	}
	if g := newRateGate(rate); g.interval != e.gate.interval {
		e.gate = g
	}
	if e.desc != nil {
		g.descID, g.descChan = e.descID, e.desc.Channel()
	}
	if e.ctl != nil {
		g.ctlID, g.ctlChan = e.ctlID, e.ctl.Channel()
	}
	p.mu.Unlock()
	if needDesc || needCtl {
		p.c.log.Info("consumer hello", "stream", h.stream, "consumer", h.consumer, "mode", ConsumerMode(h.mode),
			"max_rate_hz", h.maxRateHz, "descriptor_stream", g.descID, "control_stream", g.ctlID)
	}
	p.sendGrant(pe, &g)
}

func countRequests(h *hello) uint64 {
	var n uint64
	if h.descChan != "" {
		n++
	}
	if h.ctlChan != "" {
		n++
	}
	return n
}

// addPeerPub allocates a stream id (preferred if free) and adds a
// publication for it on ch; nil when declined.
func (p *Producer) addPeerPub(pe *peers, ids *idRange, ch string, preferred uint32) (*aeron.Publication, uint32) {
	if pe.c.cfg.DeclinePerConsumerStreams || !ipcChannel(ch) {
		return nil, 0
	}
	id, ok := ids.allocate(preferred)
	if !ok {
		p.c.log.Warn("per-consumer stream ids exhausted: declined", "range", ids.r)
		return nil, 0
	}
	ctx, cancel := pe.addCtx()
	defer cancel()
	// Untethered, as the shared descriptor stream (tether.go): a dead
	// consumer must not hold the producer back until it is forgotten.
	pub, err := pe.aeron.AddPublication(ctx, descriptorPubChannel(ch), int32(id))
	if err != nil {
		ids.release(id)
		p.c.log.Warn("per-consumer publication: declined", "channel", ch, "stream", id, "err", err)
		return nil, 0
	}
	return pub, id
}

func (p *Producer) releaseAdded(pe *peers, desc *aeron.Publication, descID uint32, ctl *aeron.Publication, ctlID uint32) {
	if desc != nil {
		_ = desc.Close()
		pe.descIDs.release(descID)
	}
	if ctl != nil {
		_ = ctl.Close()
		pe.ctlIDs.release(ctlID)
	}
}

func (p *Producer) sendGrant(pe *peers, g *grant) {
	n, err := encodeGrant(pe.buf[:], g)
	if err != nil {
		p.c.log.Warn("ConsumerConfig not sent", "err", err)
		return
	}
	pe.sendControl(pe.buf[:n])
}

// touchPeer records a QosConsumer from a known consumer (liveness).
func (p *Producer) touchPeer(id uint32, now int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.pp.find(id); e != nil {
		e.lastSeen = now
	}
}

// peerTick forgets stale consumers and sends QosProducer when due.
func (p *Producer) peerTick(pe *peers, now int64) int {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0
	}
	pp := &p.pp
	var closing []*aeron.Publication
	stale := staleIntervals * pe.interval
	for i := range pp.tab {
		e := &pp.tab[i]
		if !e.inUse || (now-e.lastSeen <= stale && (e.aeron == nil || e.aeron == pe.aeron)) {
			continue
		}
		closing = pp.release(pe, e, closing)
		e.inUse = false
		pp.stats.Forgotten++
		p.c.log.Info("consumer forgotten", "stream", p.cfg.StreamID, "consumer", e.id)
	}
	n := len(closing)
	var msg []byte
	if p.info != nil && now-pp.lastQoS >= pe.interval {
		pp.lastQoS = now
		if m, err := p.encodeQosProducer(); err == nil {
			msg = m
		}
	}
	p.mu.Unlock()
	closePubs(closing)
	if msg != nil && pe.sendQoS(msg) {
		p.mu.Lock()
		pp.stats.QoSSent++
		p.mu.Unlock()
		n++
	}
	return n
}

// encodeQosProducer fills pp.qbuf (p.mu held). current_seq is the last
// frame published (0 before the first); the pool watermark is absent.
func (p *Producer) encodeQosProducer() ([]byte, error) {
	pp := &p.pp
	e := &pp.qenc
	if err := e.WrapWithHeader(pp.qbuf[:]); err != nil {
		return nil, err
	}
	e.SetStreamId(p.info.StreamID)
	e.SetProducerId(p.info.ClientID)
	e.SetEpoch(p.info.Epoch)
	e.SetCurrentSeq(pp.seq)
	e.SetWatermarkNull()
	n, err := e.Finish()
	if err != nil {
		return nil, err
	}
	return pp.qbuf[:n], nil
}

// publishPeers sends a frame's descriptor (msg) on every per-consumer
// descriptor stream, pacing RATE_LIMITED consumers at their max_rate_hz by
// the producer's clock. Called per frame with p.mu held; it allocates
// nothing.
func (p *Producer) publishPeers(seq uint64, msg []byte) {
	pp := &p.pp
	pp.seq, pp.haveSeq = seq, true
	if pp.ndesc == 0 {
		return
	}
	var now uint64
	for i := range pp.tab {
		e := &pp.tab[i]
		if e.desc == nil || e.aeron != p.aeron {
			continue // none, or on an Aeron client a reconnect replaced (closed or about to be)
		}
		if e.gate.interval != 0 {
			if now == 0 {
				now = pool.MonotonicNow()
			}
			if !e.gate.admit(now) {
				pp.stats.Paced++
				continue
			}
		}
		if offer(e.desc, msg) {
			pp.stats.DescriptorsSent++
		} else {
			pp.stats.DescriptorsDropped++
		}
	}
}

// sendPerConsumerControl offers msg (a whole message, header included) on
// the per-consumer control stream of every consumer that holds one (with
// progressOnly, of those whose hello said supports_progress) and returns
// how many took it. It is the producer's hook for FrameProgress: wire spec
// 5 allows nothing else on per-consumer control streams. Call it with
// p.mu held (from OfferFrame, Commit or a claim's progress); it allocates
// nothing.
func (p *Producer) sendPerConsumerControl(msg []byte, progressOnly bool) int {
	pp := &p.pp
	if pp.nctl == 0 {
		return 0
	}
	n := 0
	for i := range pp.tab {
		e := &pp.tab[i]
		if e.ctl == nil || e.aeron != p.aeron || (progressOnly && !e.progress) {
			continue
		}
		if offer(e.ctl, msg) {
			n++
		}
	}
	pp.stats.ControlSent += uint64(n)
	return n
}

// closePeers forgets every consumer (Producer.Close, p.mu held) and
// returns the publications to close.
func (p *Producer) closePeers() []*aeron.Publication {
	pe := p.c.pe
	var closing []*aeron.Publication
	for i := range p.pp.tab {
		if e := &p.pp.tab[i]; e.inUse {
			closing = p.pp.release(pe, e, closing)
			e.inUse = false
		}
	}
	return closing
}
