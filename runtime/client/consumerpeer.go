package client

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/pool"
)

// The consumer's side of per-consumer streams, RATE_LIMITED mode and QoS
// (see peers.go).

// PeerState is where a Consumer's descriptors come from.
type PeerState uint8

const (
	// PeerWaiting: on the shared descriptor stream, no ConsumerConfig yet
	// (or the consumer asked for nothing).
	PeerWaiting PeerState = iota
	// PeerGranted: the producer granted a per-consumer descriptor stream
	// (the consumer switches to it as soon as it is connected).
	PeerGranted
	// PeerDeclined: the producer declined; the consumer stays on the
	// shared stream (and drops locally in ModeRateLimited).
	PeerDeclined
)

func (s PeerState) String() string {
	switch s {
	case PeerWaiting:
		return "waiting"
	case PeerGranted:
		return "granted"
	case PeerDeclined:
		return "declined"
	}
	return fmt.Sprintf("PeerState(%d)", uint8(s))
}

// ConsumerPeerStatus describes a Consumer's standing with its producer.
type ConsumerPeerStatus struct {
	ConsumerID uint32
	Mode       ConsumerMode
	MaxRateHz  uint32
	State      PeerState
	// DescriptorStreamID is the per-consumer descriptor stream read now
	// (0: the shared one); ControlStreamID the per-consumer control stream
	// (0: none).
	DescriptorStreamID, ControlStreamID uint32
	// Hellos and QoSSent count ConsumerHello and QosConsumer messages
	// sent, Configs the ConsumerConfigs received, Switches the changes of
	// descriptor stream.
	Hellos, QoSSent, Configs, Switches uint64
	// ControlMessages counts messages on the per-consumer control stream,
	// FrameProgress those of them that were FrameProgress.
	ControlMessages, FrameProgress uint64
}

// consumerPeer is a Consumer's per-consumer state, guarded by its mu.
type consumerPeer struct {
	id        uint32
	mode      ConsumerMode
	maxRateHz uint32
	request   bool // asks for per-consumer streams
	progress  bool
	gate      rateGate // local pacing while on the shared stream

	aeron   *aeron.Client // what the streams below are on
	own     bool          // s.sub is a per-consumer stream
	ownID   uint32
	pending *aeron.Subscription // the stream to switch to, once connected
	pendID  uint32              // 0: the shared stream
	ctl     *aeron.Subscription // the per-consumer control stream
	ctlID   uint32
	retired []*aeron.Subscription // switched away from, closed by the cycle
	cfh     aeron.FragmentHandler

	// Descriptors seen on both streams around a switch are skipped once.
	floor               bool
	floorEpoch, floorSq uint64

	// onProgress, when set, gets every FrameProgress (whole message,
	// header included) from the per-consumer control stream, on the
	// consumer's goroutine with its lock held (see onControl).
	onProgress func(msg []byte)

	state      PeerState
	lastHello  int64
	helloEpoch uint64
	helloSent  bool
	lastQoS    int64
	st         ConsumerPeerStatus // counters
	qbuf       [wire.MessageHeaderEncodedLength + wire.QosConsumerBlockLength]byte
	qenc       wire.QosConsumerEncoder
}

// checkPeer validates the per-consumer fields of a ConsumerConfig and
// fills their defaults.
func (cfg *ConsumerConfig) checkPeer() error {
	switch cfg.Mode {
	case 0:
		cfg.Mode = ModeStream
		fallthrough
	case ModeStream:
		if cfg.MaxRateHz != 0 {
			return fmt.Errorf("%w: MaxRateHz %d needs ModeRateLimited", ErrConfig, cfg.MaxRateHz)
		}
	case ModeRateLimited:
		if cfg.MaxRateHz == 0 {
			return fmt.Errorf("%w: ModeRateLimited needs MaxRateHz > 0", ErrConfig)
		}
		if cfg.MaxRateHz > 1e9 {
			return fmt.Errorf("%w: MaxRateHz %d above 1 GHz", ErrConfig, cfg.MaxRateHz)
		}
	default:
		return fmt.Errorf("%w: consumer mode %d", ErrConfig, cfg.Mode)
	}
	if cfg.PerConsumer > PerConsumerAlways {
		return fmt.Errorf("%w: PerConsumer %d", ErrConfig, cfg.PerConsumer)
	}
	for cfg.ConsumerID == 0 {
		cfg.ConsumerID = rand.Uint32() // wire spec 10.1.2: self-assigned ids are random
	}
	return nil
}

func (s *Consumer) initPeer() {
	cfg := &s.cfg
	s.peer = consumerPeer{id: cfg.ConsumerID, mode: cfg.Mode, maxRateHz: cfg.MaxRateHz, progress: cfg.SupportsProgress || cfg.OnProgress != nil,
		request: cfg.PerConsumer == PerConsumerAlways || (cfg.PerConsumer == PerConsumerAuto && cfg.Mode == ModeRateLimited)}
	if cfg.Mode == ModeRateLimited {
		s.peer.gate = newRateGate(cfg.MaxRateHz)
	}
	s.peer.cfh = s.onControl
	if cfg.OnProgress != nil {
		s.peer.onProgress = s.handleProgress
	}
}

// PeerStatus returns the consumer's per-consumer state and counters. Do
// not call it from a handler.
func (s *Consumer) PeerStatus() ConsumerPeerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := &s.peer
	st := cp.st
	st.ConsumerID, st.Mode, st.MaxRateHz, st.State = cp.id, cp.mode, cp.maxRateHz, cp.state
	if cp.own {
		st.DescriptorStreamID = cp.ownID
	}
	if cp.ctl != nil {
		st.ControlStreamID = cp.ctlID
	}
	return st
}

// skipDuplicate reports whether the descriptor fd was already seen on the
// stream the consumer switched away from (s.mu held).
func (s *Consumer) skipDuplicate(fd wire.FrameDescriptorView) bool {
	cp := &s.peer
	if !cp.floor {
		return false
	}
	if fd.Epoch() == cp.floorEpoch && fd.Seq() < cp.floorSq {
		return true
	}
	cp.floor = false
	return false
}

// rateLimited reports whether the descriptor fd is dropped to keep a
// RATE_LIMITED consumer on the shared stream at its max rate: by the
// descriptor's timestamp when it has one, else by the local clock (wire
// spec 11, implementation note).
func (s *Consumer) rateLimited(fd wire.FrameDescriptorView) bool {
	cp := &s.peer
	if cp.gate.interval == 0 || cp.own {
		return false
	}
	t := fd.TimestampNs()
	if fd.TimestampNsIsNull() {
		t = pool.MonotonicNow()
	}
	return !cp.gate.admit(t)
}

// countGap counts n sequence numbers never seen: loss, except on a
// RATE_LIMITED consumer's own stream, where the producer paces.
func (s *Consumer) countGap(n uint64) {
	if s.peer.own && s.peer.mode == ModeRateLimited {
		s.stats.Paced += n
		return
	}
	s.stats.Gap += n
}

// peerPoll runs in Poll, Next and Run with s.mu held, after a poll of up
// to limit descriptors read polled: it reads the per-consumer control
// stream and switches to a pending descriptor stream once that is
// connected and the current one was drained (a poll that read less than
// its limit), so nothing is left behind on it.
func (s *Consumer) peerPoll(polled, limit int) int {
	cp := &s.peer
	if cp.aeron != s.aeron {
		return 0 // nothing, or on an Aeron client a reconnect replaced (peerTick drops it)
	}
	n := 0
	if cp.ctl != nil {
		n = cp.ctl.Poll(cp.cfh, s.cfg.FragmentLimit)
	}
	if cp.pending == nil || polled >= limit || !cp.pending.IsConnected() {
		return n
	}
	cp.retired = append(cp.retired, s.sub)
	s.sub, cp.pending = cp.pending, nil
	cp.own, cp.ownID = cp.pendID != 0, cp.pendID
	cp.st.Switches++
	if s.haveNext {
		cp.floor, cp.floorEpoch, cp.floorSq = true, s.epoch, s.next
	}
	return n + 1
}

// onControl is the dispatch point for messages on the consumer's
// per-consumer control stream. Wire spec 5 allows only FrameProgress
// there; it goes to cp.onProgress, which the FrameProgress support sets
// (its handler then runs here: on the consumer's goroutine, inside Poll,
// Next or Run, with the consumer locked, and msg valid only during the
// call). Everything else is counted and ignored.
func (s *Consumer) onControl(buf []byte, _ *aeron.Header) {
	cp := &s.peer
	cp.st.ControlMessages++
	if len(buf) < wire.MessageHeaderEncodedLength {
		return
	}
	if binary.LittleEndian.Uint16(buf[4:]) != wire.SchemaID || binary.LittleEndian.Uint16(buf[2:]) != wire.FrameProgressTemplateID {
		return
	}
	cp.st.FrameProgress++
	if cp.onProgress != nil {
		cp.onProgress(buf)
	}
}

// peerTick sends ConsumerHello and QosConsumer when due and closes
// streams the consumer no longer uses.
func (s *Consumer) peerTick(pe *peers, now int64) int {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	cp := &s.peer
	closing := cp.retired
	cp.retired = nil
	if cp.aeron != nil && cp.aeron != s.aeron {
		// The reconnector moved s.sub to the shared stream on a new Aeron
		// client: what was granted on the old one is gone.
		closing = append(closing, cp.drop()...)
		cp.helloSent = false
	}
	var h hello
	sendHello := !cp.helloSent || cp.helloEpoch != s.epoch || now-cp.lastHello >= pe.interval
	if sendHello {
		cp.helloSent, cp.helloEpoch, cp.lastHello = true, s.epoch, now
		h = hello{stream: s.cfg.StreamID, consumer: cp.id, mode: wire.Mode(cp.mode), maxRateHz: cp.maxRateHz,
			supportsShm: true, supportsProgress: cp.progress, layoutVersion: s.cfg.ExpectedLayoutVersion}
		if cp.request {
			h.descChan, h.ctlChan = perConsumerChannel, perConsumerChannel
			if cp.own {
				h.descID = cp.ownID // keep it, or have a restarted producer grant it again
			}
			if cp.ctl != nil {
				h.ctlID = cp.ctlID
			}
		}
	}
	var qos []byte
	if now-cp.lastQoS >= pe.interval {
		cp.lastQoS = now
		qos = s.encodeQosConsumer()
	}
	s.mu.Unlock()
	for _, sub := range closing {
		_ = sub.Close()
	}
	n := len(closing)
	var helloOK, qosOK bool
	if sendHello {
		if m, err := encodeHello(pe.buf[:], &h); err == nil {
			helloOK = pe.sendControl(pe.buf[:m])
		}
	}
	if qos != nil {
		qosOK = pe.sendQoS(qos)
	}
	if helloOK || qosOK {
		s.mu.Lock()
		if helloOK {
			cp.st.Hellos++
			n++
		}
		if qosOK {
			cp.st.QoSSent++
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// encodeQosConsumer fills cp.qbuf (s.mu held): the last sequence number
// seen, gaps (loss only, not pacing) and late drops.
func (s *Consumer) encodeQosConsumer() []byte {
	cp := &s.peer
	e := &cp.qenc
	if e.WrapWithHeader(cp.qbuf[:]) != nil {
		return nil
	}
	e.SetStreamId(s.cfg.StreamID)
	e.SetConsumerId(cp.id)
	e.SetEpoch(s.epoch)
	var last uint64
	if s.haveNext {
		last = s.next - 1
	}
	e.SetLastSeqSeen(last)
	e.SetDropsGap(s.stats.Gap)
	e.SetDropsLate(s.stats.Late())
	e.SetMode(wire.Mode(cp.mode))
	n, err := e.Finish()
	if err != nil {
		return nil
	}
	return cp.qbuf[:n]
}

// drop forgets every per-consumer stream (s.mu held) and returns the
// subscriptions to close; s.sub is left to the caller.
func (cp *consumerPeer) drop() []*aeron.Subscription {
	var subs []*aeron.Subscription
	for _, x := range []*aeron.Subscription{cp.pending, cp.ctl} {
		if x != nil {
			subs = append(subs, x)
		}
	}
	subs = append(subs, cp.retired...)
	cp.pending, cp.ctl, cp.retired, cp.aeron = nil, nil, nil, nil
	cp.own, cp.ownID, cp.pendID, cp.ctlID, cp.floor, cp.state = false, 0, 0, 0, false, PeerWaiting
	return subs
}

// onGrant applies a ConsumerConfig for this consumer: it subscribes to
// the granted streams (or back to the shared descriptor stream when the
// producer declined) and hands the new descriptor subscription to the
// consumer's poll, which switches over.
func (s *Consumer) onGrant(pe *peers, g *grant) {
	s.mu.Lock()
	if s.closed || s.aeron != pe.aeron {
		s.mu.Unlock()
		return
	}
	cp := &s.peer
	cp.st.Configs++
	// Only IPC streams: a ConsumerConfig must not make the consumer
	// subscribe elsewhere (decision 20).
	if g.descID != 0 && !ipcChannel(g.descChan) {
		g.descID, g.descChan = 0, ""
	}
	if g.ctlID != 0 && !ipcChannel(g.ctlChan) {
		g.ctlID, g.ctlChan = 0, ""
	}
	switch {
	case g.descID != 0:
		cp.state = PeerGranted
	case cp.request:
		cp.state = PeerDeclined
	}
	target := g.descID // 0: the shared stream
	current := cp.ownID
	if cp.pending != nil {
		current = cp.pendID
	}
	needDesc := target != current
	needCtl := g.ctlID != cp.ctlID
	var closing []*aeron.Subscription
	if needCtl && cp.ctl != nil {
		closing = append(closing, cp.ctl)
		cp.ctl, cp.ctlID = nil, 0
	}
	s.mu.Unlock()
	for _, x := range closing {
		_ = x.Close()
	}
	if !needDesc && (!needCtl || g.ctlID == 0) {
		return
	}
	ctx, cancel := pe.addCtx()
	defer cancel()
	var desc, ctl *aeron.Subscription
	var err error
	if needDesc {
		ch, id := s.c.cfg.DescriptorChannel, s.c.cfg.DescriptorStreamID
		if target != 0 {
			ch, id = g.descChan, int32(target)
		}
		if desc, err = pe.aeron.AddSubscription(ctx, descriptorSubChannel(ch), id); err != nil { // untethered: decision 44
			s.c.log.Warn("consumer cannot subscribe to its descriptor stream", "channel", ch, "stream", id, "err", err)
		}
	}
	if needCtl && g.ctlID != 0 {
		if ctl, err = pe.aeron.AddSubscription(ctx, descriptorSubChannel(g.ctlChan), int32(g.ctlID)); err != nil {
			s.c.log.Warn("consumer cannot subscribe to its control stream", "channel", g.ctlChan, "stream", g.ctlID, "err", err)
		}
	}
	s.mu.Lock()
	if s.closed || s.aeron != pe.aeron {
		s.mu.Unlock()
		for _, x := range []*aeron.Subscription{desc, ctl} {
			if x != nil {
				_ = x.Close()
			}
		}
		return
	}
	cp.aeron = pe.aeron
	if desc != nil {
		if cp.pending != nil {
			cp.retired = append(cp.retired, cp.pending)
		}
		cp.pending, cp.pendID = desc, target
	}
	if ctl != nil {
		cp.ctl, cp.ctlID = ctl, g.ctlID
	}
	s.mu.Unlock()
	s.c.log.Info("consumer config", "stream", g.stream, "consumer", g.consumer, "descriptor_stream", target,
		"control_stream", g.ctlID)
}
