package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// Per-consumer streams, RATE_LIMITED mode and QoS (wire spec 5, 10.1.2,
// 10.1.3, 10.4, 11; Driver Model 11).
//
// Each Client runs one "peers" duty cycle (on a goroutine of its own, or
// in Client.DoWork in invoker mode) once it has a Producer or a Consumer.
// It subscribes to the control stream (for ConsumerHello and
// ConsumerConfig) and to the QoS stream (for QosConsumer), publishes on
// both, and:
//
//   - for every Consumer: sends ConsumerHello after attaching, after every
//     remap and then every QoSInterval (the hello is also the consumer's
//     liveness, and lets a restarted producer learn its consumers), and
//     QosConsumer every QoSInterval; on a ConsumerConfig for it, it
//     subscribes to the granted descriptor and control streams and hands
//     them to the Consumer, which switches over in its own poll
//     (consumerpeer.go);
//   - for every Producer: answers each ConsumerHello of its stream with a
//     ConsumerConfig, granting per-consumer streams from the Client's
//     ranges or declining, keeps the consumers in a small table, forgets
//     those not heard from (hello or QosConsumer) for staleIntervals
//     QoS intervals and frees their streams, and sends QosProducer every
//     QoSInterval (producerpeer.go).
//
// Lock order: Client.mu, then a Producer's or Consumer's mu, never two of
// the latter; the cycle holds at most one lock at a time and none while
// it adds a publication or subscription.

// Defaults of the per-consumer and QoS settings of Config.
const (
	// DefaultQoSInterval is the period of QosProducer, QosConsumer and
	// ConsumerHello (wire spec 15.11: 1 Hz).
	DefaultQoSInterval = time.Second
	// DefaultMaxConsumers is the size of a producer's table of consumers.
	DefaultMaxConsumers = 64
	// staleIntervals: a consumer not heard from for this many QoS
	// intervals is forgotten (wire spec 10.1.3: 3 to 5).
	staleIntervals = 5
	// peerTick is the period of the peers cycle on its own goroutine.
	peerTick = 5 * time.Millisecond
	// peerRetry spaces attempts to open the peers' streams.
	peerRetry = 500e6 // ns
)

// The per-consumer stream id ranges of STREAM_ID_CONVENTIONS.md (and of
// the Driver Model's examples): per-consumer descriptor streams
// 31000-31999, control streams 32000-32999.
const (
	defaultDescriptorFirst, defaultDescriptorLast = 31000, 31999
	defaultControlFirst, defaultControlLast       = 32000, 32999
)

// StreamRange is an inclusive range of stream ids; the zero value takes
// the field's default.
type StreamRange struct{ First, Last uint32 }

func (r StreamRange) isZero() bool { return r.First == 0 && r.Last == 0 }

func (r StreamRange) contains(id uint32) bool { return id >= r.First && id <= r.Last }

func (r StreamRange) overlaps(o StreamRange) bool { return r.First <= o.Last && o.First <= r.Last }

func (r StreamRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// peerDefaults fills the per-consumer and QoS fields of Config.
func (c Config) peerDefaults() Config {
	if c.QoSChannel == "" {
		c.QoSChannel = DefaultChannel
	}
	if c.QoSStreamID == 0 {
		c.QoSStreamID = DefaultQoSStreamID
	}
	if c.QoSInterval == 0 {
		c.QoSInterval = DefaultQoSInterval
	}
	if c.PerConsumerDescriptorStreams.isZero() {
		c.PerConsumerDescriptorStreams = StreamRange{defaultDescriptorFirst, defaultDescriptorLast}
	}
	if c.PerConsumerControlStreams.isZero() {
		c.PerConsumerControlStreams = StreamRange{defaultControlFirst, defaultControlLast}
	}
	if c.MaxConsumers == 0 {
		c.MaxConsumers = DefaultMaxConsumers
	}
	return c
}

// validatePeers checks the per-consumer and QoS fields (after defaults).
func (c Config) validatePeers() error {
	if c.QoSInterval < 0 {
		return fmt.Errorf("%w: QoSInterval %v", ErrConfig, c.QoSInterval)
	}
	if c.MaxConsumers < 0 {
		return fmt.Errorf("%w: MaxConsumers %d", ErrConfig, c.MaxConsumers)
	}
	if c.QoSStreamID < 0 {
		return fmt.Errorf("%w: QoS stream %d", ErrConfig, c.QoSStreamID)
	}
	if c.QoSChannel == c.DescriptorChannel && c.QoSStreamID == c.DescriptorStreamID {
		return fmt.Errorf("%w: QoS stream %d is the descriptor stream", ErrConfig, c.QoSStreamID)
	}
	d, k := c.PerConsumerDescriptorStreams, c.PerConsumerControlStreams
	for _, r := range []struct {
		name string
		r    StreamRange
	}{{"PerConsumerDescriptorStreams", d}, {"PerConsumerControlStreams", k}} {
		if r.r.First > r.r.Last || r.r.First == 0 || r.r.Last > 1<<31-1 {
			return fmt.Errorf("%w: %s %s: want 1 <= first <= last < 2^31", ErrConfig, r.name, r.r)
		}
		for _, id := range []int32{c.Driver.ControlStreamID, c.Driver.AnnounceStreamID, c.DescriptorStreamID, c.QoSStreamID} {
			if id > 0 && r.r.contains(uint32(id)) {
				return fmt.Errorf("%w: %s %s holds stream %d", ErrConfig, r.name, r.r, id)
			}
		}
	}
	if d.overlaps(k) {
		return fmt.Errorf("%w: per-consumer ranges %s and %s overlap", ErrConfig, d, k)
	}
	return nil
}

// idRange hands out per-consumer stream ids of one range. Ids are handed
// out round-robin from a random start, so a freed id is not reused at
// once, and producers in different processes (which cannot see each
// other's allocations) rarely pick the same id (decision 20). Safe for
// concurrent use.
type idRange struct {
	mu   sync.Mutex
	r    StreamRange
	used map[uint32]bool
	next uint32
}

func newIDRange(r StreamRange) *idRange {
	n := uint64(r.Last-r.First) + 1
	return &idRange{r: r, used: map[uint32]bool{}, next: r.First + uint32(rand.Uint64N(n))}
}

// allocate returns preferred if it is in the range and free, else the
// next free id; ok is false when the range is exhausted.
func (a *idRange) allocate(preferred uint32) (id uint32, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if preferred != 0 && a.r.contains(preferred) && !a.used[preferred] {
		a.used[preferred] = true
		return preferred, true
	}
	for n := uint64(a.r.Last-a.r.First) + 1; n > 0; n-- {
		id := a.next
		if a.next == a.r.Last {
			a.next = a.r.First
		} else {
			a.next++
		}
		if !a.used[id] {
			a.used[id] = true
			return id, true
		}
	}
	return 0, false
}

// release frees id (nothing if it is free).
func (a *idRange) release(id uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, id)
}

// inUse returns the number of ids allocated.
func (a *idRange) inUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.used)
}

// peers is the Client's per-consumer and QoS duty cycle.
type peers struct {
	c        *Client
	interval int64 // QoS interval, ns
	descIDs  *idRange
	ctlIDs   *idRange

	// Owned by the cycle (one goroutine at a time).
	aeron   *aeron.Client // what the streams below are on
	ctlSub  *aeron.Subscription
	qosSub  *aeron.Subscription
	ctlPub  *aeron.Publication
	qosPub  *aeron.Publication
	ctlPoll *control.Poller
	qosPoll *control.Poller
	retryAt int64
	ps      []*Producer // snapshots, reused
	cs      []*Consumer
	hello   hello
	grant   grant
	buf     [2*maxChannelLen + 256]byte
	stats   peerCycleStats
}

// peerCycleStats counts what the cycle received that it could not use.
type peerCycleStats struct {
	badHellos, badGrants, badQoS uint64
}

// peerHandler routes the wire messages of the control and QoS streams.
type peerHandler struct {
	control.NopHandler
	pe *peers
}

func (h peerHandler) OnOther(schemaID, templateID uint16, msg []byte) {
	if schemaID != wire.SchemaID {
		return
	}
	switch templateID {
	case wire.ConsumerHelloTemplateID:
		h.pe.onHello(msg)
	case wire.ConsumerConfigTemplateID:
		h.pe.onGrant(msg)
	case wire.QosConsumerTemplateID:
		h.pe.onQosConsumer(msg)
	}
}

func newPeers(c *Client) *peers {
	return &peers{c: c, interval: int64(c.cfg.QoSInterval),
		descIDs: newIDRange(c.cfg.PerConsumerDescriptorStreams), ctlIDs: newIDRange(c.cfg.PerConsumerControlStreams)}
}

// run is the cycle's goroutine (not in invoker mode).
func (pe *peers) run() {
	defer pe.c.wg.Done()
	t := time.NewTicker(peerTick)
	defer t.Stop()
	for {
		select {
		case <-pe.c.stop:
			return
		case <-t.C:
			pe.doWork(driverclient.Now())
		}
	}
}

// doWork runs one cycle and returns the work done.
func (pe *peers) doWork(now int64) int {
	c := pe.c
	c.mu.Lock()
	a := c.aeron
	pe.ps = append(pe.ps[:0], c.producers...)
	pe.cs = append(pe.cs[:0], c.consumers...)
	c.mu.Unlock()
	defer func() { clear(pe.ps); clear(pe.cs) }()
	if len(pe.ps) == 0 && len(pe.cs) == 0 {
		return 0
	}
	if !pe.open(a, now) {
		return 0
	}
	n := pe.ctlPoll.Poll(16) + pe.qosPoll.Poll(16)
	for _, s := range pe.cs {
		n += s.peerTick(pe, now)
	}
	for _, p := range pe.ps {
		n += p.peerTick(pe, now)
	}
	return n
}

// open makes the cycle's streams on a, closing those on a replaced Aeron
// client; false while that fails (retried every peerRetry).
func (pe *peers) open(a *aeron.Client, now int64) bool {
	if pe.aeron == a {
		return true
	}
	if now < pe.retryAt {
		return false
	}
	pe.close()
	ctx, cancel := context.WithTimeout(context.Background(), pe.c.cfg.Driver.AttachTimeout)
	defer cancel()
	cfg := &pe.c.cfg
	var err error
	defer func() {
		if err != nil {
			pe.close()
			pe.retryAt = now + peerRetry
			pe.c.log.Warn("cannot open the control and QoS streams for per-consumer streams and QoS", "err", err)
		}
	}()
	// Untethered (tether.go): these subscriptions only listen, and a
	// stalled process must not hold back the control stream's publishers
	// on their account.
	if pe.ctlSub, err = a.AddSubscription(ctx, descriptorSubChannel(cfg.Driver.ControlChannel), cfg.Driver.ControlStreamID); err != nil {
		return false
	}
	if pe.qosSub, err = a.AddSubscription(ctx, descriptorSubChannel(cfg.QoSChannel), cfg.QoSStreamID); err != nil {
		return false
	}
	if pe.ctlPub, err = a.AddPublication(ctx, cfg.Driver.ControlChannel, cfg.Driver.ControlStreamID); err != nil {
		return false
	}
	if pe.qosPub, err = a.AddPublication(ctx, cfg.QoSChannel, cfg.QoSStreamID); err != nil {
		return false
	}
	h := peerHandler{pe: pe}
	pe.ctlPoll, pe.qosPoll = control.NewPoller(pe.ctlSub, h), control.NewPoller(pe.qosSub, h)
	pe.aeron = a
	return true
}

// close closes the cycle's streams.
func (pe *peers) close() {
	for _, s := range []*aeron.Subscription{pe.ctlSub, pe.qosSub} {
		if s != nil {
			_ = s.Close()
		}
	}
	for _, p := range []*aeron.Publication{pe.ctlPub, pe.qosPub} {
		if p != nil {
			_ = p.Close()
		}
	}
	pe.ctlSub, pe.qosSub, pe.ctlPub, pe.qosPub, pe.ctlPoll, pe.qosPoll, pe.aeron = nil, nil, nil, nil, nil, nil, nil
}

// offer sends msg on pub with a few retries; it reports whether it went.
func offer(pub *aeron.Publication, msg []byte) bool {
	for range 16 {
		switch r := pub.Offer(msg); {
		case r > 0:
			return true
		case r == aeron.BackPressured || r == aeron.AdminAction:
			agent.SpinWait()
		default:
			return false
		}
	}
	return false
}

func (pe *peers) onHello(msg []byte) {
	if err := decodeHello(msg, &pe.hello); err != nil {
		pe.stats.badHellos++
		pe.c.log.Debug("ConsumerHello dropped", "err", err)
		return
	}
	for _, p := range pe.ps {
		if p.cfg.StreamID == pe.hello.stream {
			p.onHello(pe, &pe.hello)
		}
	}
}

func (pe *peers) onGrant(msg []byte) {
	if err := decodeGrant(msg, &pe.grant); err != nil {
		pe.stats.badGrants++
		pe.c.log.Debug("ConsumerConfig dropped", "err", err)
		return
	}
	for _, s := range pe.cs {
		if s.cfg.StreamID == pe.grant.stream && s.peer.id == pe.grant.consumer {
			s.onGrant(pe, &pe.grant)
		}
	}
}

func (pe *peers) onQosConsumer(msg []byte) {
	stream, consumer, err := decodeQosConsumer(msg)
	if err != nil {
		pe.stats.badQoS++
		return
	}
	for _, p := range pe.ps {
		if p.cfg.StreamID == stream {
			p.touchPeer(consumer, driverclient.Now())
		}
	}
}

// decodeQosConsumer returns the stream and consumer ids of a QosConsumer
// (header included): all a producer needs of it (liveness).
func decodeQosConsumer(msg []byte) (stream, consumer uint32, err error) {
	var d wire.QosConsumerDecoder
	if err := d.WrapWithHeader(msg); err != nil {
		return 0, 0, fmt.Errorf("%w: QosConsumer: %w", errNotMessage, err)
	}
	if m := d.Mode(); !m.IsValid() {
		return 0, 0, fmt.Errorf("%w: QosConsumer: mode %d", errBadRequest, m)
	}
	return d.StreamId(), d.ConsumerId(), nil
}

// sendControl sends msg on the shared control stream.
func (pe *peers) sendControl(msg []byte) bool { return offer(pe.ctlPub, msg) }

// sendQoS sends msg on the QoS stream.
func (pe *peers) sendQoS(msg []byte) bool { return offer(pe.qosPub, msg) }

// addCtx bounds the adds of per-consumer streams.
func (pe *peers) addCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), pe.c.cfg.Driver.AttachTimeout)
}
