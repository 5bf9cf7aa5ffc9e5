package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// No-driver mode (wire spec v1.2 without the Driver Model).
//
// A Producer creates its stream's regions itself (runtime/pool's
// CreateStream: a new epoch directory under NoDriverConfig.BaseDir, the
// epoch max(CLOCK_MONOTONIC ns, newest epoch directory + 1), so it never
// goes backwards across restarts) and publishes ShmPoolAnnounce on the
// announce stream: at once, then every AnnouncePeriod, and at once again
// when a first subscriber appears. On Close it removes its epoch
// directory (and the stream directory if that is then empty).
//
// A Consumer subscribes to the announce stream and maps what the freshest
// announce of the highest epoch for its stream names, with every check of
// runtime/pool (allowed base directories, superblocks, layout, activity
// freshness). It ignores announces that are stale (older than Freshness,
// or from before it subscribed), of a lower epoch than the one mapped,
// malformed, or naming regions outside the allowed directories, and counts
// each (AnnounceStats). It remaps when a newer epoch is announced (keeping
// the old mapping until the new one is mapped) and unmaps when the mapped
// epoch has not been announced for Freshness (the producer is gone); it
// then maps the next fresh announce of any epoch.

// No-driver defaults.
const (
	DefaultAnnouncePeriod = time.Second
	// DefaultFreshnessPeriods: announces older than this many periods are
	// stale, and a producer not heard of for as long is gone.
	DefaultFreshnessPeriods = 3
	// DefaultLayoutSlots and DefaultLayoutStride are a no-driver stream's
	// ring size and single payload pool when ProducerConfig.Layout leaves
	// them out (tpoold's default profile).
	DefaultLayoutSlots  = 64
	DefaultLayoutStride = 1 << 20
)

// NoDriverConfig configures no-driver mode. Zero fields take defaults.
type NoDriverConfig struct {
	// AnnounceChannel and AnnounceStreamID name the ShmPoolAnnounce stream
	// (default DefaultChannel, DefaultAnnounceStreamID: 1001).
	AnnounceChannel  string
	AnnounceStreamID int32
	// AnnouncePeriod is the producers' announce cadence (1 s); Freshness
	// (default 3 x AnnouncePeriod) how old an announce may be, and how
	// long a mapped epoch may go unannounced, before consumers drop it.
	// Producers and consumers should agree on both.
	AnnouncePeriod time.Duration
	Freshness      time.Duration
	// BaseDir and Namespace locate the regions producers create (default
	// pool.DefaultBaseDir, pool.DefaultNamespace). BaseDir need not exist.
	BaseDir   string
	Namespace string
	// AllowedBaseDirs are where consumers map regions from (default
	// [BaseDir]); they need not exist yet.
	AllowedBaseDirs []string
	// ProducerID is the producer_id announced (default a random non-zero
	// id per Client).
	ProducerID uint32
}

// WithDefaults returns c with every zero field set to its default.
func (c NoDriverConfig) WithDefaults() NoDriverConfig {
	if c.AnnounceChannel == "" {
		c.AnnounceChannel = DefaultChannel
	}
	if c.AnnounceStreamID == 0 {
		c.AnnounceStreamID = DefaultAnnounceStreamID
	}
	if c.AnnouncePeriod == 0 {
		c.AnnouncePeriod = DefaultAnnouncePeriod
	}
	if c.Freshness == 0 {
		c.Freshness = DefaultFreshnessPeriods * c.AnnouncePeriod
	}
	if c.BaseDir == "" {
		c.BaseDir = pool.DefaultBaseDir
	}
	if c.Namespace == "" {
		c.Namespace = pool.DefaultNamespace
	}
	if len(c.AllowedBaseDirs) == 0 {
		c.AllowedBaseDirs = []string{c.BaseDir}
	}
	return c
}

func (c Config) validateNoDriver() error {
	n := c.NoDriverConfig
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: no-driver: "+format, append([]any{ErrConfig}, args...)...))
	}
	if n.AnnounceStreamID < 0 || c.DescriptorStreamID < 0 {
		bad("negative stream id")
	}
	if n.AnnounceStreamID == c.DescriptorStreamID && n.AnnounceChannel == c.DescriptorChannel {
		bad("announce stream %d is the descriptor stream", n.AnnounceStreamID)
	}
	if n.AnnouncePeriod < 0 {
		bad("announce period %v is negative", n.AnnouncePeriod)
	}
	if n.Freshness < n.AnnouncePeriod {
		bad("freshness %v is below the announce period %v", n.Freshness, n.AnnouncePeriod)
	}
	if !filepath.IsAbs(n.BaseDir) {
		bad("base dir %q is not absolute", n.BaseDir)
	}
	for _, d := range n.AllowedBaseDirs {
		if !filepath.IsAbs(d) {
			bad("allowed base dir %q is not absolute", d)
		}
	}
	if _, err := (pool.Layout{BaseDir: n.BaseDir, User: pool.CurrentUser(), Namespace: n.Namespace}).Dir(); err != nil {
		bad("%v", err)
	}
	return errors.Join(errs...)
}

// startNoDriver finishes New in no-driver mode: no driver client; the
// producers' heartbeats and announces run on the Client's goroutine
// (or in DoWork).
func (c *Client) startNoDriver() {
	nc := c.cfg.NoDriverConfig
	// Heartbeats twice per announce period; the heartbeat goroutine ticks
	// twice as often, so announces go out within a quarter period of due.
	c.beatNs = int64(nc.AnnouncePeriod / 2)
	if nc.ProducerID == 0 {
		var b [4]byte
		for nc.ProducerID == 0 {
			_, _ = rand.Read(b[:])
			nc.ProducerID = binary.LittleEndian.Uint32(b[:])
		}
		c.cfg.NoDriverConfig.ProducerID = nc.ProducerID
	}
	c.pe = newPeers(c) // hellos, per-consumer streams and QoS need no driver
	if !c.cfg.Invoker {
		c.wg.Add(2)
		go c.heartbeats()
		go c.pe.run()
	}
	c.startReconnector()
}

// StreamLayout is the layout of a stream a Producer creates in no-driver
// mode. Zero fields take defaults.
type StreamLayout struct {
	// NSlots is the header ring's size, a power of two (default 64).
	NSlots uint32
	// Pools are the payload pools (default one pool, id 1, of 1 MiB
	// slots); each stride a power of two and a multiple of 64.
	Pools []pool.PoolConfig
	// Prefault touches every page of the regions when they are created.
	Prefault bool
}

func (l StreamLayout) withDefaults() StreamLayout {
	if l.NSlots == 0 {
		l.NSlots = DefaultLayoutSlots
	}
	if len(l.Pools) == 0 {
		l.Pools = []pool.PoolConfig{{ID: 1, StrideBytes: DefaultLayoutStride}}
	}
	return l
}

// AnnounceStats counts a no-driver Producer's announces.
type AnnounceStats struct {
	// Sent counts ShmPoolAnnounces offered; NoSubscriber those not sent
	// because nobody subscribed yet; Failed those lost to back pressure or
	// a closed publication.
	Sent, NoSubscriber, Failed uint64
}

// ndProducer is a Producer's no-driver state.
type ndProducer struct {
	stream   *pool.Stream
	pub      *aeron.Publication // the announce publication
	sender   *control.Sender
	msg      control.PoolAnnounce
	periodNs int64
	next     int64 // next announce due, CLOCK_MONOTONIC ns
	wasConn  bool  // the publication had a subscriber at the last tick
	stats    AnnounceStats
}

// newNoDriverProducer creates the stream's regions and starts announcing
// them.
func (c *Client) newNoDriverProducer(ctx context.Context, cfg ProducerConfig) (_ *Producer, err error) {
	if cfg.ExpectedLayoutVersion != 0 && cfg.ExpectedLayoutVersion != pool.LayoutVersion {
		return nil, fmt.Errorf("%w: layout version %d expected, this producer writes %d", ErrConfig, cfg.ExpectedLayoutVersion, pool.LayoutVersion)
	}
	nc := c.cfg.NoDriverConfig
	lay := cfg.Layout.withDefaults()
	p := &Producer{c: c, cfg: cfg, aeron: c.currentAeron(), nd: &ndProducer{periodNs: int64(nc.AnnouncePeriod)}}
	if p.pub, err = p.aeron.AddPublication(ctx, descriptorPubChannel(c.cfg.DescriptorChannel), c.cfg.DescriptorStreamID); err != nil {
		return nil, fmt.Errorf("client: descriptor publication: %w", err)
	}
	defer func() {
		if err != nil {
			_ = p.pub.Close()
		}
	}()
	nd := p.nd
	if nd.pub, err = p.aeron.AddPublication(ctx, nc.AnnounceChannel, nc.AnnounceStreamID); err != nil {
		return nil, fmt.Errorf("client: announce publication: %w", err)
	}
	nd.sender = control.NewSender(nd.pub, 0)
	defer func() {
		if err != nil {
			_ = nd.pub.Close()
		}
	}()
	scfg := pool.StreamConfig{BaseDir: nc.BaseDir, Namespace: nc.Namespace,
		StreamID: cfg.StreamID, NSlots: lay.NSlots, Pools: lay.Pools, Prefault: lay.Prefault}
	for range 3 {
		// Another producer stopping may remove an empty parent directory
		// while this one creates its own (remove below): try again.
		if nd.stream, err = pool.CreateStream(scfg); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("client: create stream %d: %w", cfg.StreamID, err)
	}
	defer func() {
		if err != nil {
			nd.remove()
		}
	}()
	a := nd.stream.Announcement()
	info := &driverclient.LeaseInfo{StreamID: a.StreamID, ClientID: nc.ProducerID, Role: driverclient.RoleProducer,
		Epoch: a.Epoch, LayoutVersion: a.LayoutVersion, HeaderNslots: a.NSlots, HeaderSlotBytes: pool.HeaderSlotBytes,
		HeaderURI: a.HeaderURI, ProducerID: nc.ProducerID}
	nd.msg = control.PoolAnnounce{StreamID: a.StreamID, ProducerID: nc.ProducerID, Epoch: a.Epoch,
		ClockDomain: wire.ClockDomainMonotonic, LayoutVersion: a.LayoutVersion, HeaderNslots: a.NSlots,
		HeaderSlotBytes: control.HeaderSlotBytes, HeaderURI: a.HeaderURI}
	for _, pl := range a.Pools {
		info.Pools = append(info.Pools, driverclient.LeasePool{ID: pl.ID, NSlots: pl.NSlots, StrideBytes: pl.StrideBytes, URI: pl.URI})
		nd.msg.Pools = append(nd.msg.Pools, control.Pool{PoolID: pl.ID, Nslots: pl.NSlots, StrideBytes: pl.StrideBytes, RegionURI: pl.URI})
	}
	p.mu.Lock()
	p.info, p.prod = info, nd.stream.Producer()
	p.gen = 1
	p.stats.Remaps = 1
	p.beat = pool.MonotonicNow()
	p.prod.Heartbeat(p.beat)
	nd.announce(int64(p.beat)) // the stream is new: announce it at once
	p.mu.Unlock()
	if err := c.register(ctx, p, nil); err != nil {
		return nil, err
	}
	c.log.Info("no-driver producer created its stream", "stream", a.StreamID, "epoch", a.Epoch,
		"dir", nd.stream.Dir(), "producer_id", nc.ProducerID)
	return p, nil
}

// announceTick sends the ShmPoolAnnounce when due, or at once when the
// announce publication gained a subscriber. Called with p.mu held.
func (p *Producer) announceTick(now uint64) int {
	nd := p.nd
	if nd == nil || p.closed {
		return 0
	}
	conn := nd.pub.IsConnected()
	joined := conn && !nd.wasConn
	nd.wasConn = conn
	if !joined && int64(now)-nd.next < 0 {
		return 0
	}
	nd.announce(int64(now))
	return 1
}

func (nd *ndProducer) announce(now int64) {
	nd.next = now + nd.periodNs
	nd.msg.TimestampNs = uint64(now)
	switch r := nd.sender.SendPoolAnnounce(&nd.msg); {
	case control.Sent(r):
		nd.stats.Sent++
	case r == aeron.NotConnected:
		nd.stats.NoSubscriber++
	default:
		nd.stats.Failed++
	}
}

// AnnounceStats returns a snapshot of a no-driver Producer's announce
// counters (zero in driver mode, where tpoold announces).
func (p *Producer) AnnounceStats() AnnounceStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nd == nil {
		return AnnounceStats{}
	}
	return p.nd.stats
}

// Dir returns the epoch directory a no-driver Producer created ("" in
// driver mode).
func (p *Producer) Dir() string {
	if p.nd == nil {
		return ""
	}
	return p.nd.stream.Dir()
}

// closeNoDriver ends a no-driver Producer: it stops announcing, unmaps
// and removes its regions. Called once, from Close, without p.mu.
func (p *Producer) closeNoDriver() error {
	if p.nd == nil {
		return nil
	}
	p.mu.Lock()
	pub := p.nd.pub
	p.mu.Unlock()
	err := p.nd.remove()
	return errors.Join(err, pub.Close())
}

// remove unmaps and deletes the epoch directory, then the stream's,
// namespace's and user's directories as far as they are empty (as tpoold
// does): nothing is left behind but the base directory. os.Remove fails on
// a directory that is not empty, so other streams are safe.
func (nd *ndProducer) remove() error {
	err := errors.Join(nd.stream.Close(), nd.stream.Remove())
	d := nd.stream.Dir()
	for range 3 { // stream, namespace, tensorpool-<user>
		d = filepath.Dir(d)
		if os.Remove(d) != nil {
			break
		}
	}
	return err
}

// swapAnnounce moves the announce publication onto a (media driver
// reconnect, reconnect.go) and announces at once.
func (p *Producer) swapAnnounce(ctx context.Context, a *aeron.Client) error {
	if p.nd == nil {
		return nil
	}
	nc := p.c.cfg.NoDriverConfig
	pub, err := a.AddPublication(ctx, nc.AnnounceChannel, nc.AnnounceStreamID)
	if err != nil {
		return fmt.Errorf("client: announce publication: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = pub.Close()
		return ErrClosed
	}
	old := p.nd.pub
	p.nd.pub, p.nd.sender, p.nd.wasConn = pub, control.NewSender(pub, 0), false
	p.nd.announce(int64(pool.MonotonicNow()))
	p.mu.Unlock()
	_ = old.Close()
	return nil
}

// ConsumerState is a consumer's mapping state (wire spec 15.12).
type ConsumerState int

// Consumer states.
const (
	// StateUnmapped: waiting for a usable announce (or lease).
	StateUnmapped ConsumerState = iota
	// StateMapped: the regions of Status.Epoch are mapped.
	StateMapped
	// StateFallback: the announced regions were rejected and a payload
	// fallback URI is configured. tpool does not implement payload
	// fallback: nothing is delivered in this state (Status.Fallback says
	// FallbackNotImplemented) until a mappable announce arrives.
	StateFallback
)

var consumerStateNames = [...]string{"unmapped", "mapped", "fallback"}

func (s ConsumerState) String() string {
	if s >= 0 && int(s) < len(consumerStateNames) {
		return consumerStateNames[s]
	}
	return "ConsumerState(?)"
}

// ConsumerAnnounceStats counts the ShmPoolAnnounce messages a no-driver
// Consumer saw on its announce stream.
type ConsumerAnnounceStats struct {
	// Accepted: announces of its stream that were fresh and valid (the
	// mapped epoch refreshed, or a new epoch to map).
	Accepted uint64
	// OtherStreams: announces of other streams (not counted elsewhere).
	OtherStreams uint64
	// Stale: older than the freshness window, or from before the consumer
	// subscribed (Aeron log replay).
	Stale uint64
	// Old: an epoch below the one mapped or about to be (the highest
	// epoch wins).
	Old uint64
	// Rejected: invalid announces of its stream (bad layout fields, an
	// unknown clock domain, region URIs that do not parse or lie outside
	// the allowed directories), dropped before anything was opened.
	Rejected uint64
	// Malformed: messages on the announce stream that are not valid SBE
	// (bad framing, unknown schema version or template), dropped.
	Malformed uint64
	// Other: well-framed messages of other schemas or templates (other
	// messages may share the stream in small deployments; garbage whose
	// first bytes look like a header lands here too), ignored.
	Other uint64
	// MapFailures: announced regions that failed to map (superblock,
	// layout, containment, freshness checks); retried while announced.
	MapFailures uint64
	// ProducerGone: mapped epochs unmapped because no fresh announce came
	// for the freshness window (a crashed or stopped producer).
	ProducerGone uint64
}

// ConsumerStatus is a Consumer's view of its stream.
type ConsumerStatus struct {
	NoDriver   bool
	State      ConsumerState
	Epoch      uint64 // mapped epoch (0 if none)
	ProducerID uint32 // the producer_id of the mapped epoch's announce (0 if unknown)
	// FallbackURI is the configured payload fallback URI and Fallback its
	// status; payload fallback itself is not implemented.
	FallbackURI string
	Fallback    FallbackStatus
	// LastError is why the last announce or mapping was refused (nil if
	// none).
	LastError error
	// Announces counts announces (no-driver mode only).
	Announces ConsumerAnnounceStats
}

// Status returns the Consumer's state, its fallback URI's status and, in
// no-driver mode, its announce counters. Do not call it from a handler.
func (s *Consumer) Status() ConsumerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ConsumerStatus{NoDriver: s.nd != nil, Epoch: s.epoch, FallbackURI: s.cfg.PayloadFallbackURI,
		Fallback: CheckFallbackURI(s.cfg.PayloadFallbackURI)}
	if s.att != nil {
		st.State = StateMapped
	}
	if s.nd == nil {
		if i := s.lease.Info(); i != nil && s.att != nil {
			st.ProducerID = i.ProducerID
		}
		if st.State == StateUnmapped && s.stats.RemapErrors > 0 && st.Fallback != FallbackNone {
			st.State = StateFallback
		}
		return st
	}
	nd := s.nd
	st.LastError, st.Announces = nd.lastErr, nd.stats
	ps := nd.poller.Stats()
	st.Announces.Malformed = nd.polled.Malformed + ps.Malformed + ps.UnknownTemplate + ps.Unsupported
	st.Announces.Other = nd.polled.Other + ps.Other
	if s.att != nil {
		st.ProducerID = nd.producerID
	} else if nd.rejected && st.Fallback != FallbackNone {
		st.State = StateFallback
	}
	return st
}

// usable reports whether the consumer may read its mapped regions: the
// lease is usable (driver mode), always in no-driver mode (where s.att
// alone says whether something is mapped).
func (s *Consumer) usable() bool { return s.nd != nil || s.lease.Usable() }

// ndConsumer is a Consumer's no-driver state. Owned by whoever holds s.mu.
type ndConsumer struct {
	s          *Consumer
	sub        *aeron.Subscription // the announce subscription
	poller     *control.Poller
	allow      *pool.AllowList
	dirs       []string // the configured allowed dirs, cleaned
	freshNs    int64
	joinNs     int64 // when the subscription was made: older announces are replays
	now        int64
	lastFresh  int64 // receipt of the last fresh announce of the mapped epoch
	headerURI  string
	producerID uint32
	// cand is the newest valid announce not mapped yet.
	cand       *pool.Announcement
	candAt     int64
	candProd   uint32
	rejected   bool // the last candidate's regions failed to map
	lastErr    error
	lastRejEp  uint64 // the last epoch refused in a log line
	lastRejLog int64  // when that line was logged
	stats      ConsumerAnnounceStats
	polled     ConsumerAnnounceStats // Malformed and Other of earlier pollers (reconnects)
	control.NopHandler
}

// newNoDriverConsumer subscribes to the descriptor and announce streams;
// regions are mapped as announces arrive (from Poll, Next or Run).
func (c *Client) newNoDriverConsumer(ctx context.Context, cfg ConsumerConfig) (_ *Consumer, err error) {
	nc := c.cfg.NoDriverConfig
	s := &Consumer{c: c, cfg: cfg, idle: c.cfg.Idle, aeron: c.currentAeron()}
	s.initPeer() // hellos, QoS and RATE_LIMITED work without a driver too
	if s.idle == nil {
		s.idle = agent.NewBackoff()
	}
	s.fh = s.onFragment
	if s.allow, err = pool.NewAllowList(nc.AllowedBaseDirs...); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	nd := &ndConsumer{s: s, allow: s.allow, freshNs: int64(nc.Freshness)}
	for _, d := range nc.AllowedBaseDirs {
		nd.dirs = append(nd.dirs, filepath.Clean(d))
	}
	s.nd = nd
	if s.sub, err = s.aeron.AddSubscription(ctx, descriptorSubChannel(c.cfg.DescriptorChannel), c.cfg.DescriptorStreamID); err != nil {
		return nil, fmt.Errorf("client: descriptor subscription: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.sub.Close()
		}
	}()
	nd.joinNs = driverclient.Now()
	if nd.sub, err = s.aeron.AddSubscription(ctx, nc.AnnounceChannel, nc.AnnounceStreamID); err != nil {
		return nil, fmt.Errorf("client: announce subscription: %w", err)
	}
	nd.poller = control.NewPoller(nd.sub, nd)
	defer func() {
		if err != nil {
			_ = nd.sub.Close()
		}
	}()
	if err := c.register(ctx, nil, s); err != nil {
		return nil, err
	}
	return s, nil
}

// announcePollLimit bounds the announce fragments handled per poll;
// maxAnnounceDrain the polls made to read a backlog before a mapped epoch
// is declared gone.
const (
	announcePollLimit = 8
	maxAnnounceDrain  = 1024
)

// ensureNoDriver polls the announce stream, unmaps a producer that went
// quiet and maps the newest valid announce. Called with s.mu held.
func (s *Consumer) ensureNoDriver() {
	nd := s.nd
	nd.now = driverclient.Now()
	nd.poller.Poll(announcePollLimit)
	now := nd.now
	if s.att != nil && now-nd.lastFresh > nd.freshNs {
		// Not polled for a while? Read the whole backlog before deciding.
		for i := 0; i < maxAnnounceDrain && nd.poller.Poll(announcePollLimit) > 0; i++ {
		}
	}
	if s.att != nil && now-nd.lastFresh > nd.freshNs {
		nd.stats.ProducerGone++
		s.c.log.Warn("no-driver producer gone: no fresh announce", "stream", s.cfg.StreamID, "epoch", s.epoch,
			"silent_for", time.Duration(now-nd.lastFresh))
		s.unmap()
		nd.headerURI, nd.producerID = "", 0
	}
	if nd.cand == nil {
		return
	}
	if now-nd.candAt > nd.freshNs {
		nd.cand = nil // its producer stopped announcing before it could be mapped
		return
	}
	if now < s.retryAt {
		return
	}
	// Map first: the old epoch stays mapped until the new one is.
	notBefore := uint64(0)
	if now > nd.freshNs {
		notBefore = uint64(now - nd.freshNs)
	}
	att, err := pool.Attach(*nd.cand, s.allow, notBefore)
	if err != nil {
		nd.stats.MapFailures++
		s.stats.RemapErrors++
		s.retryAt = now + remapRetry
		nd.rejected, nd.lastErr = true, err
		if nd.logDue(nd.cand.Epoch) {
			s.c.log.Warn("consumer cannot map the announced regions", "stream", s.cfg.StreamID,
				"epoch", nd.cand.Epoch, "err", err, "fallback", CheckFallbackURI(s.cfg.PayloadFallbackURI))
		}
		return
	}
	s.unmap()
	s.att, s.epoch = att, nd.cand.Epoch
	nd.headerURI, nd.producerID, nd.lastFresh = nd.cand.HeaderURI, nd.candProd, nd.candAt
	nd.cand, nd.rejected, nd.lastErr = nil, false, nil
	s.joinSeq, s.haveNext = 0, false
	if n, ok := att.Consumer.Newest(); ok {
		s.joinSeq = n + 1
	}
	s.stats.Remaps++
	s.c.log.Info("consumer mapped", "stream", s.cfg.StreamID, "epoch", s.epoch, "producer_id", nd.producerID, "join_seq", s.joinSeq)
}

// OnPoolAnnounce applies the announce rules of wire spec 10.1.1 and
// keeps the newest valid announce as the candidate to map.
func (nd *ndConsumer) OnPoolAnnounce(d *wire.ShmPoolAnnounceDecoder) {
	s := nd.s
	if d.StreamId() != s.cfg.StreamID {
		nd.stats.OtherStreams++
		return
	}
	now, ts := nd.now, int64(d.AnnounceTimestampNs())
	switch d.AnnounceClockDomain() {
	case wire.ClockDomainMonotonic:
		if ts < nd.joinNs || now-ts > nd.freshNs {
			nd.stats.Stale++
			return
		}
	case wire.ClockDomainRealtimeSynced:
		if time.Now().UnixNano()-ts > nd.freshNs {
			nd.stats.Stale++
			return
		}
	default:
		nd.reject(d.Epoch(), errors.New("unknown announce clock domain"))
		return
	}
	epoch := d.Epoch()
	switch {
	case s.att != nil && epoch < s.epoch, nd.cand != nil && epoch < nd.cand.Epoch && !nd.rejected:
		// The highest epoch wins; but a candidate whose regions cannot be
		// mapped (e.g. a hostile announce of a huge epoch) does not
		// shadow lower epochs that can.
		nd.stats.Old++
		return
	case s.att != nil && epoch == s.epoch:
		if nd.sameRegions(d, nd.headerURI) {
			nd.stats.Accepted++
			nd.lastFresh = now
		} else {
			nd.reject(epoch, errors.New("the mapped epoch announced with other regions"))
		}
		return
	case nd.cand != nil && epoch == nd.cand.Epoch && nd.sameRegions(d, nd.cand.HeaderURI):
		nd.stats.Accepted++
		nd.candAt = now
		return
	}
	a, err := nd.parse(d)
	if err != nil {
		nd.reject(epoch, err)
		return
	}
	nd.stats.Accepted++
	nd.cand, nd.candAt, nd.candProd, nd.rejected = &a, now, d.ProducerId(), false
	s.retryAt = 0
}

// sameRegions reports whether d names the header region uri (without
// allocating: the pools group is skipped first, as SBE requires).
func (nd *ndConsumer) sameRegions(d *wire.ShmPoolAnnounceDecoder, uri string) bool {
	g := d.PayloadPools()
	for g.Next() {
		g.RegionUri()
	}
	return string(d.HeaderRegionUri()) == uri
}

func (nd *ndConsumer) reject(epoch uint64, err error) {
	nd.stats.Rejected++
	nd.lastErr = err
	if nd.logDue(epoch) {
		nd.s.c.log.Warn("announce rejected (more within a second are only counted)", "stream", nd.s.cfg.StreamID,
			"epoch", epoch, "err", err, "rejected", nd.stats.Rejected)
	}
}

// rejectLogInterval: a flood of bad announces logs one line per interval.
const rejectLogInterval = int64(time.Second)

// logDue reports whether a refusal of epoch is worth a log line: a new
// epoch, and not within rejectLogInterval of the last line.
func (nd *ndConsumer) logDue(epoch uint64) bool {
	if epoch == nd.lastRejEp || (nd.lastRejLog != 0 && nd.now-nd.lastRejLog < rejectLogInterval) {
		return false
	}
	nd.lastRejEp, nd.lastRejLog = epoch, nd.now
	return true
}

// parse checks an announce of a new epoch (every field a consumer can
// check before opening anything) and returns what pool.Attach needs.
func (nd *ndConsumer) parse(d *wire.ShmPoolAnnounceDecoder) (pool.Announcement, error) {
	a := pool.Announcement{StreamID: d.StreamId(), Epoch: d.Epoch(), LayoutVersion: d.LayoutVersion(), NSlots: d.HeaderNslots()}
	switch {
	case d.HeaderSlotBytes() != pool.HeaderSlotBytes:
		return a, fmt.Errorf("headerSlotBytes %d, not %d", d.HeaderSlotBytes(), pool.HeaderSlotBytes)
	case a.NSlots == 0 || a.NSlots&(a.NSlots-1) != 0:
		return a, fmt.Errorf("headerNslots %d is not a power of two", a.NSlots)
	case a.LayoutVersion != pool.LayoutVersion:
		return a, fmt.Errorf("layout version %d, not %d", a.LayoutVersion, pool.LayoutVersion)
	case nd.s.cfg.ExpectedLayoutVersion != 0 && a.LayoutVersion != nd.s.cfg.ExpectedLayoutVersion:
		return a, fmt.Errorf("layout version %d, expected %d", a.LayoutVersion, nd.s.cfg.ExpectedLayoutVersion)
	}
	g := d.PayloadPools()
	for g.Next() {
		p := pool.AnnouncedPool{ID: g.PoolId(), NSlots: g.PoolNslots(), StrideBytes: g.StrideBytes(), URI: string(g.RegionUri())}
		switch {
		case p.NSlots != a.NSlots:
			return a, fmt.Errorf("pool %d has %d slots, the header ring %d", p.ID, p.NSlots, a.NSlots)
		case p.StrideBytes == 0 || p.StrideBytes%pool.StrideAlign != 0:
			return a, fmt.Errorf("pool %d stride %d", p.ID, p.StrideBytes)
		case len(a.Pools) >= maxAnnouncedPools:
			return a, fmt.Errorf("more than %d pools", maxAnnouncedPools)
		}
		if err := nd.checkURI(p.URI); err != nil {
			return a, fmt.Errorf("pool %d: %w", p.ID, err)
		}
		a.Pools = append(a.Pools, p)
	}
	if len(a.Pools) == 0 {
		return a, errors.New("no payload pools")
	}
	a.HeaderURI = string(d.HeaderRegionUri())
	if err := nd.checkURI(a.HeaderURI); err != nil {
		return a, fmt.Errorf("header region: %w", err)
	}
	return a, nil
}

// maxAnnouncedPools bounds the pools of one announce.
const maxAnnouncedPools = 64

// checkURI: a valid shm:file URI whose path lies inside an allowed
// directory, lexically (as configured or canonical). Opening the region
// later applies the full check (pool.AllowList.Open).
func (nd *ndConsumer) checkURI(s string) error {
	u, err := pool.ParseURI(s)
	if err != nil {
		return err
	}
	p := filepath.Clean(u.Path)
	for _, dirs := range [][]string{nd.dirs, nd.allow.Dirs()} {
		for _, d := range dirs {
			if strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") && len(p) > len(d)+1 {
				return nil
			}
		}
	}
	return fmt.Errorf("%s: %w", u.Path, pool.ErrNotContained)
}

// closeNoDriver closes the announce subscription. Called from Close
// without s.mu.
func (s *Consumer) closeNoDriver() error {
	if s.nd == nil {
		return nil
	}
	s.mu.Lock()
	sub := s.nd.sub
	s.mu.Unlock()
	return sub.Close()
}

// swapAnnounce moves the announce subscription onto a (media driver
// reconnect, reconnect.go).
func (s *Consumer) swapAnnounce(ctx context.Context, a *aeron.Client) error {
	if s.nd == nil {
		return nil
	}
	nc := s.c.cfg.NoDriverConfig
	join := driverclient.Now()
	sub, err := a.AddSubscription(ctx, nc.AnnounceChannel, nc.AnnounceStreamID)
	if err != nil {
		return fmt.Errorf("client: announce subscription: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sub.Close()
		return ErrClosed
	}
	old := s.nd.sub
	ps := s.nd.poller.Stats()
	s.nd.polled.Malformed += ps.Malformed + ps.UnknownTemplate + ps.Unsupported
	s.nd.polled.Other += ps.Other
	s.nd.sub, s.nd.joinNs = sub, join
	s.nd.poller = control.NewPoller(sub, s.nd)
	s.mu.Unlock()
	_ = old.Close()
	return nil
}
