package client

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/pool"
)

// metaSender is a Producer's side of the metadata stream (see meta.go):
// what to send, and how far the current round got. A round goes out one
// message at a time and stops at back pressure, resuming at the next duty
// cycle, so a large blob never blocks the producer. Guarded by the
// Producer's mu.
type metaSender struct {
	pub        metaPublication
	stream     uint32
	period     uint64 // ns between rounds
	chunkBytes int
	maxBlob    int

	haveSource bool
	source     DataSource
	version    uint32 // 0: no metadata published yet
	seed       uint32 // the version before the first
	attrs      []Attribute
	blobs      []outBlob

	annMsg   []byte // DataSourceAnnounce, re-encoded when the epoch changes
	annEpoch uint64
	annID    uint32
	metaMsg  []byte // DataSourceMeta of the current version
	chunkBuf []byte

	// The round in progress: step 0 is the announce, 1..len(blobs) the
	// blobs (phase 0 announce, 1 chunks, 2 complete), then the attributes.
	sending bool
	due     bool // start a round at the next duty cycle
	last    uint64
	step    int
	phase   int
	off     int
	stats   MetaSendStats
}

// metaPublication is what a metaSender offers on (*aeron.Publication;
// tests put a fake there).
type metaPublication interface {
	Offer(msg []byte) int64
	MaxMessageLength() int
	Close() error
}

// outBlob is a blob to send.
type outBlob struct {
	typ  uint32
	data []byte
	sum  uint64
}

// MetaSendStats counts a Producer's metadata messages.
type MetaSendStats struct {
	// Rounds counts rounds sent to the end; Messages the messages offered.
	Rounds, Messages uint64
	// NoSubscriber counts rounds not sent because nobody subscribed to the
	// metadata stream (the next period tries again).
	NoSubscriber uint64
	// BackPressured counts offers that met back pressure (the round
	// resumes at the next duty cycle); Failed rounds given up because the
	// publication was closed or failed.
	BackPressured, Failed uint64
}

func (p *Producer) initMeta(ctx context.Context) error {
	p.meta.init(p.cfg)
	pub, err := p.aeron.AddPublication(ctx, p.c.cfg.MetadataChannel, p.c.cfg.MetadataStreamID)
	if err != nil {
		return fmt.Errorf("client: metadata publication: %w", err)
	}
	p.meta.setPub(pub)
	return nil
}

func (m *metaSender) init(cfg ProducerConfig) {
	m.stream = cfg.StreamID
	m.period = uint64(cfg.MetaPeriod)
	if m.period == 0 {
		m.period = uint64(DefaultMetaPeriod)
	}
	m.chunkBytes = cfg.MetaChunkBytes
	if m.chunkBytes <= 0 {
		m.chunkBytes = DefaultMetaChunkBytes
	}
	m.maxBlob = cfg.MaxMetaBlobBytes
	if m.maxBlob <= 0 {
		m.maxBlob = DefaultMaxMetaBlobBytes
	}
	// Versions of a restarted producer must not meet the ones consumers
	// still hold from its predecessor: start from the clock (DECISIONS.md 26).
	m.seed = uint32(pool.MonotonicNow() / 1e6)
}

// setPub makes pub the metadata publication and fits the chunk size to
// its maximum message length.
func (m *metaSender) setPub(pub metaPublication) {
	m.pub = pub
	maxMsg := pub.MaxMessageLength()
	if over := wire.MessageHeaderEncodedLength + wire.MetaBlobChunkBlockLength + 4; m.chunkBytes > maxMsg-over {
		m.chunkBytes = maxMsg - over
		m.chunkBuf = nil
	}
}

// closeMeta closes the metadata publication.
func (p *Producer) closeMeta() error {
	if p.meta.pub == nil {
		return nil
	}
	return p.meta.pub.Close()
}

// swapMetaPub moves the metadata publication onto a (reconnect.go); the
// next duty cycle sends a whole round on it.
func (p *Producer) swapMetaPub(ctx context.Context, a *aeron.Client) error {
	pub, err := a.AddPublication(ctx, p.c.cfg.MetadataChannel, p.c.cfg.MetadataStreamID)
	if err != nil {
		return fmt.Errorf("client: metadata publication: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = pub.Close()
		return ErrClosed
	}
	old := p.meta.pub
	p.meta.setPub(pub)
	p.meta.restart()
	p.mu.Unlock()
	_ = old.Close() // on the lost Aeron client: its error says nothing new
	return nil
}

// SetSource sets what DataSourceAnnounce says about the stream (sent on
// the metadata stream at once and every MetaPeriod). Name and summary must
// be US-ASCII. It does not change the meta_version.
func (p *Producer) SetSource(src DataSource) error {
	if !ascii(src.Name) || !ascii(src.Summary) {
		return fmt.Errorf("%w: data source name and summary must be US-ASCII", ErrConfig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	m := &p.meta
	m.source, m.haveSource = src, true
	m.annMsg = nil // re-encode
	m.restart()
	p.metaDuty(pool.MonotonicNow())
	return nil
}

// PublishMeta replaces the stream's attributes, makes a new meta_version
// (blobs published earlier carry over to it) and returns it. Every frame
// published afterwards is stamped with it: OfferFrame ignores
// FrameMeta.MetaVersion from then on and TryClaim presets
// Claim.Meta.MetaVersion. Keys and formats must be US-ASCII. The
// attributes are copied. The metadata goes out at once (as far as back
// pressure allows; the rest follows at the next duty cycles) and again
// every MetaPeriod.
func (p *Producer) PublishMeta(attrs []Attribute) (uint32, error) {
	cp := make([]Attribute, len(attrs))
	for i, a := range attrs {
		if !ascii(a.Key) || !ascii(a.Format) {
			return 0, fmt.Errorf("%w: attribute %q: key and format must be US-ASCII", ErrConfig, a.Key)
		}
		cp[i] = Attribute{Key: a.Key, Format: a.Format, Value: bytes.Clone(a.Value)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, ErrClosed
	}
	m := &p.meta
	old := m.attrs
	m.attrs = cp
	if err := m.newVersion(); err != nil {
		m.attrs = old
		return 0, err
	}
	p.metaDuty(pool.MonotonicNow())
	return m.version, nil
}

// PublishBlob adds (or, with nil data, removes) the blob of type typ, makes
// a new meta_version with the current attributes and every blob, and
// returns it (frames are stamped as after PublishMeta). data is copied; it
// goes out in MetaBlobChunks of ProducerConfig.MetaChunkBytes with its
// CRC32C, before the version's DataSourceMeta, and again every MetaPeriod.
func (p *Producer) PublishBlob(typ uint32, data []byte) (uint32, error) {
	if len(data) > p.meta.maxBlob {
		return 0, fmt.Errorf("%w: %d bytes (limit %d)", ErrMetaBlobTooLarge, len(data), p.meta.maxBlob)
	}
	var b outBlob
	if data != nil {
		b = outBlob{typ: typ, data: bytes.Clone(data), sum: blobChecksum(data)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, ErrClosed
	}
	m := &p.meta
	old := m.blobs
	m.blobs = slices.DeleteFunc(slices.Clone(m.blobs), func(x outBlob) bool { return x.typ == typ })
	if data != nil {
		m.blobs = append(m.blobs, b)
	}
	if err := m.newVersion(); err != nil {
		m.blobs = old
		return 0, err
	}
	p.metaDuty(pool.MonotonicNow())
	return m.version, nil
}

// MetaVersion returns the current meta_version (0 before the first
// PublishMeta or PublishBlob).
func (p *Producer) MetaVersion() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta.version
}

// MetaStats returns a snapshot of the metadata counters.
func (p *Producer) MetaStats() MetaSendStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta.stats
}

// producerID is the DataSourceAnnounce producer id: the lease's client id.
func (p *Producer) producerID() uint32 {
	if p.info == nil {
		return 0
	}
	return p.info.ClientID
}

// stampMeta returns the FrameMeta to publish: m itself, or (once metadata
// was published) a copy stamped with the current meta_version. It
// allocates nothing.
func (p *Producer) stampMeta(m *pool.FrameMeta) *pool.FrameMeta {
	if p.meta.version == 0 || m == nil {
		return m
	}
	p.stamped = *m
	p.stamped.MetaVersion = p.meta.version
	return &p.stamped
}

// metaDuty sends what is due on the metadata stream; called by the
// heartbeat with p.mu held.
func (p *Producer) metaDuty(now uint64) int {
	if p.closed {
		return 0
	}
	var epoch uint64
	if p.info != nil {
		epoch = p.info.Epoch
	}
	return p.meta.duty(now, p.producerID(), epoch)
}

// metaRemapped makes the next duty cycle announce the new epoch.
func (p *Producer) metaRemapped() { p.meta.restart() }

// newVersion encodes the DataSourceMeta of the next version and starts a
// round.
func (m *metaSender) newVersion() error {
	v := m.version
	if v == 0 {
		v = m.seed
	}
	v++
	if v == 0 || v == nullVersion {
		v = 1
	}
	msg, err := encodeMeta(m.stream, v, pool.MonotonicNow(), m.attrs)
	if err != nil {
		return err
	}
	if m.pub != nil && len(msg) > m.pub.MaxMessageLength() {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrMetaTooLarge, len(msg), m.pub.MaxMessageLength())
	}
	m.version, m.metaMsg = v, msg
	m.annMsg = nil // the announce carries the version
	m.restart()
	return nil
}

// nullVersion is the null value of an optional version_t (FrameDescriptor
// metaVersion): never a version.
const nullVersion = 0xFFFFFFFF

// ascii reports whether s is US-ASCII.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// restart makes the next duty cycle start a new round.
func (m *metaSender) restart() {
	m.sending, m.due = false, true
}

func encodeMeta(stream, version uint32, ts uint64, attrs []Attribute) ([]byte, error) {
	n := wire.MessageHeaderEncodedLength + wire.DataSourceMetaBlockLength + 4
	for _, a := range attrs {
		n += 12 + len(a.Key) + len(a.Format) + len(a.Value)
	}
	if len(attrs) > 65534 {
		return nil, fmt.Errorf("%w: %d attributes", ErrMetaTooLarge, len(attrs))
	}
	buf := make([]byte, n)
	var e wire.DataSourceMetaEncoder
	if err := e.WrapWithHeader(buf); err != nil {
		return nil, err
	}
	e.SetStreamId(stream)
	e.SetMetaVersion(version)
	e.SetTimestampNs(ts)
	g, err := e.Attributes(len(attrs))
	if err != nil {
		return nil, fmt.Errorf("client: encode DataSourceMeta: %w", err)
	}
	for _, a := range attrs {
		if err := g.Next(); err != nil {
			return nil, fmt.Errorf("client: encode DataSourceMeta: %w", err)
		}
		if err := g.SetKeyString(a.Key); err != nil {
			return nil, fmt.Errorf("client: encode DataSourceMeta: %w", err)
		}
		if err := g.SetFormatString(a.Format); err != nil {
			return nil, fmt.Errorf("client: encode DataSourceMeta: %w", err)
		}
		if err := g.SetValue(a.Value); err != nil {
			return nil, fmt.Errorf("client: encode DataSourceMeta: %w", err)
		}
	}
	k, err := e.Finish()
	if err != nil {
		return nil, fmt.Errorf("client: encode DataSourceMeta: %w", err)
	}
	return buf[:k], nil
}

// announce returns the DataSourceAnnounce for epoch, encoding it when
// something changed.
func (m *metaSender) announce(epoch uint64, id uint32) []byte {
	if m.annMsg != nil && m.annEpoch == epoch && m.annID == id {
		return m.annMsg
	}
	n := wire.MessageHeaderEncodedLength + wire.DataSourceAnnounceBlockLength + 8 + len(m.source.Name) + len(m.source.Summary)
	if cap(m.annMsg) < n {
		m.annMsg = make([]byte, n)
	}
	buf := m.annMsg[:n]
	var e wire.DataSourceAnnounceEncoder
	if e.WrapWithHeader(buf) != nil {
		return nil
	}
	e.SetStreamId(m.stream)
	e.SetProducerId(id)
	e.SetEpoch(epoch)
	e.SetMetaVersion(m.version)
	_ = e.SetNameString(m.source.Name) // sized above: cannot fail
	_ = e.SetSummaryString(m.source.Summary)
	k, _ := e.Finish()
	m.annMsg, m.annEpoch, m.annID = buf[:k], epoch, id
	return m.annMsg
}

// current returns the message of the round's current position.
func (m *metaSender) current(epoch uint64, id uint32) []byte {
	if m.step == 0 {
		return m.announce(epoch, id)
	}
	if i := m.step - 1; i < len(m.blobs) {
		b := &m.blobs[i]
		switch m.phase {
		case 0:
			var e wire.MetaBlobAnnounceEncoder
			buf := m.chunkBuffer()
			if e.WrapWithHeader(buf) != nil {
				return nil
			}
			e.SetStreamId(m.stream)
			e.SetMetaVersion(m.version)
			e.SetBlobType(b.typ)
			e.SetTotalLen(uint64(len(b.data)))
			e.SetChecksum(b.sum)
			k, _ := e.Finish()
			return buf[:k]
		case 1:
			var e wire.MetaBlobChunkEncoder
			buf := m.chunkBuffer()
			if e.WrapWithHeader(buf) != nil {
				return nil
			}
			e.SetStreamId(m.stream)
			e.SetMetaVersion(m.version)
			e.SetChunkOffset(uint64(m.off))
			end := min(m.off+m.chunkBytes, len(b.data))
			if e.SetBytes(b.data[m.off:end]) != nil {
				return nil
			}
			k, _ := e.Finish()
			return buf[:k]
		default:
			var e wire.MetaBlobCompleteEncoder
			buf := m.chunkBuffer()
			if e.WrapWithHeader(buf) != nil {
				return nil
			}
			e.SetStreamId(m.stream)
			e.SetMetaVersion(m.version)
			e.SetChecksum(b.sum)
			k, _ := e.Finish()
			return buf[:k]
		}
	}
	return m.metaMsg
}

func (m *metaSender) chunkBuffer() []byte {
	if m.chunkBuf == nil {
		m.chunkBuf = make([]byte, wire.MessageHeaderEncodedLength+wire.MetaBlobChunkBlockLength+4+m.chunkBytes)
	}
	return m.chunkBuf
}

// advance moves past the message just sent; it reports false at the end
// of the round.
func (m *metaSender) advance() bool {
	if m.step == 0 {
		m.step, m.phase, m.off = 1, 0, 0
	} else if i := m.step - 1; i < len(m.blobs) {
		b := &m.blobs[i]
		switch m.phase {
		case 0:
			m.phase = 1
			if len(b.data) == 0 {
				m.phase = 2
			}
		case 1:
			m.off = min(m.off+m.chunkBytes, len(b.data))
			if m.off == len(b.data) {
				m.phase = 2
			}
		default:
			m.step, m.phase, m.off = m.step+1, 0, 0
		}
		return true
	} else {
		return false // the DataSourceMeta was the last
	}
	// After the announce: a source without metadata ends the round.
	return m.version != 0
}

// duty sends as much of the due round as the publication takes.
func (m *metaSender) duty(now uint64, id uint32, epoch uint64) int {
	if m.pub == nil || (!m.haveSource && m.version == 0) {
		return 0
	}
	if !m.sending {
		if !m.due && now-m.last < m.period {
			return 0
		}
		m.sending, m.due, m.last = true, false, now
		m.step, m.phase, m.off = 0, 0, 0
	}
	n := 0
	for m.sending {
		msg := m.current(epoch, id)
		if msg == nil {
			m.stats.Failed++
			m.sending = false
			return n
		}
		switch r := m.pub.Offer(msg); {
		case r > 0:
			n++
			m.stats.Messages++
			if !m.advance() {
				m.sending = false
				m.stats.Rounds++
			}
		case r == aeron.NotConnected:
			m.stats.NoSubscriber++
			m.sending = false
			return n
		case r == aeron.BackPressured || r == aeron.AdminAction:
			m.stats.BackPressured++
			return n
		default:
			m.stats.Failed++
			m.sending = false
			return n
		}
	}
	return n
}
