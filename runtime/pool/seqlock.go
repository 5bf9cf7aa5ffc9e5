package pool

import (
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/shm"
)

// The seqlock of wire spec 8.3 on each slot's seq_commit word:
// (seq << 1) means "seq is being written", (seq << 1) | 1 "seq is
// committed". Only this file reads or writes seq_commit, always through
// atomics, with shm.Fence where a plain access must not cross an atomic
// one (see shm.Fence).

func inProgress(seq uint64) uint64 { return seq << 1 }
func committed(seq uint64) uint64  { return seq<<1 | 1 }

// ring is the part of a header ring both sides use.
type ring struct {
	region *Region
	slots  []byte           // nslots * HeaderSlotBytes, after the superblock
	words  []*atomic.Uint64 // seq_commit of each slot
	mask   uint64
}

func newRing(r *Region) (ring, error) {
	sb := r.Superblock()
	if sb.RegionType != HeaderRing {
		return ring{}, fmt.Errorf("%s is a %v, want a header ring: %w", r.Path(), sb.RegionType, ErrLayout)
	}
	b := r.Bytes()[SuperblockSize:]
	words := make([]*atomic.Uint64, sb.NSlots)
	for i := range words {
		w, err := shm.Uint64At(b, i*HeaderSlotBytes)
		if err != nil {
			return ring{}, fmt.Errorf("slot %d of %s: %w", i, r.Path(), err)
		}
		words[i] = w
	}
	return ring{region: r, slots: b, words: words, mask: uint64(sb.NSlots) - 1}, nil
}

func (r *ring) slot(i uint64) []byte {
	return r.slots[i*HeaderSlotBytes : (i+1)*HeaderSlotBytes]
}

// poolRef is one mapped payload pool.
type poolRef struct {
	region *Region
	id     uint16
	stride uint32
	data   []byte // nslots * stride, after the superblock
}

func newPools(rg *ring, pools []*Region) ([]poolRef, error) {
	rsb := rg.region.Superblock()
	refs := make([]poolRef, 0, len(pools))
	for _, p := range pools {
		sb := p.Superblock()
		switch {
		case sb.RegionType != PayloadPool:
			return nil, fmt.Errorf("%s is a %v, want a payload pool: %w", p.Path(), sb.RegionType, ErrLayout)
		case sb.NSlots != rsb.NSlots:
			return nil, fmt.Errorf("pool %d has %d slots, the ring %d: %w", sb.PoolID, sb.NSlots, rsb.NSlots, ErrLayout)
		case sb.Epoch != rsb.Epoch || sb.StreamID != rsb.StreamID:
			return nil, fmt.Errorf("pool %d is stream %d epoch %d, the ring stream %d epoch %d: %w",
				sb.PoolID, sb.StreamID, sb.Epoch, rsb.StreamID, rsb.Epoch, ErrLayout)
		}
		for _, q := range refs {
			if q.id == sb.PoolID {
				return nil, fmt.Errorf("pool id %d twice: %w", sb.PoolID, ErrLayout)
			}
		}
		refs = append(refs, poolRef{region: p, id: sb.PoolID, stride: sb.StrideBytes, data: p.Bytes()[SuperblockSize:]})
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("no payload pools: %w", ErrLayout)
	}
	slices.SortFunc(refs, func(a, b poolRef) int { return int(a.stride) - int(b.stride) })
	return refs, nil
}

func (p *poolRef) payload(i uint64, n uint32) []byte {
	off := i * uint64(p.stride)
	return p.data[off : off+uint64(n) : off+uint64(n)]
}

// FrameMeta is what a producer states about a frame besides its payload.
type FrameMeta struct {
	Tensor      TensorHeader
	TimestampNs uint64 // capture time, SlotHeader.timestamp_ns
	MetaVersion uint32 // the DataSourceMeta version the frame refers to
}

// Claim is a slot a producer is filling. Payload aliases the payload pool;
// write the frame into it, then Commit.
type Claim struct {
	Seq     uint64
	Payload []byte
	PoolID  uint16
}

// ProducerStats counts what a Producer did.
type ProducerStats struct {
	Committed uint64
	// DropsNoPool counts frames larger than every pool's stride.
	DropsNoPool uint64
	// Abandoned counts claims never committed (left in progress, which
	// consumers drop).
	Abandoned uint64
}

// Producer is the single writer of a header ring and its payload pools.
// It is not safe for concurrent use; it never blocks or waits for
// consumers (wire spec 15.4).
type Producer struct {
	ring   ring
	pools  []poolRef
	next   uint64
	claims claimQueue // claims.go
	stats  ProducerStats

	// Commit refreshes activity_timestamp_ns from a vDSO clock reading:
	// clockBase is CLOCK_MONOTONIC at clockStart, and lastBeat the last
	// value stored.
	clockBase  uint64
	clockStart time.Time
	lastBeat   uint64
}

// ActivityRefresh is how often, at most, [Producer.Commit] refreshes
// activity_timestamp_ns in every region. Consumers refuse a region whose
// activity is older than three announce periods (3 s by default), so a
// producer that commits at least once a second needs no explicit
// [Producer.Heartbeat].
const ActivityRefresh = 100 * time.Millisecond

// now returns CLOCK_MONOTONIC in nanoseconds without a system call: Go's
// monotonic clock on Linux is CLOCK_MONOTONIC read through the vDSO.
func (p *Producer) now() uint64 { return p.clockBase + uint64(time.Since(p.clockStart)) }

// NewProducer writes frames into ring and pools (mapped read-write, all
// of the same epoch, stream and nslots), starting at sequence next
// (normally 0 in a new epoch).
func NewProducer(ring *Region, pools []*Region, next uint64) (*Producer, error) {
	if ring.Mapping().Access() != shm.ReadWrite {
		return nil, fmt.Errorf("producer needs a writable header ring: %w", ErrLayout)
	}
	rg, err := newRing(ring)
	if err != nil {
		return nil, err
	}
	refs, err := newPools(&rg, pools)
	if err != nil {
		return nil, err
	}
	for _, p := range refs {
		if p.region.Mapping().Access() != shm.ReadWrite {
			return nil, fmt.Errorf("producer needs writable pool %d: %w", p.id, ErrLayout)
		}
	}
	return &Producer{ring: rg, pools: refs, next: next, claims: newClaimQueue(1), clockBase: MonotonicNow(), clockStart: time.Now()}, nil
}

// Claim reserves the next sequence for a frame of n payload bytes in the
// smallest pool whose stride fits it (wire spec 9), and marks its slot in
// progress. If no pool fits it returns ErrNoPoolFits, counts the drop and
// consumes no sequence. Claims left open beyond the limit (see
// SetMaxClaims; by default a previous claim not yet committed) are
// abandoned.
func (p *Producer) Claim(n int) (Claim, error) {
	pi := -1
	if n >= 0 {
		for i := range p.pools {
			if uint64(n) <= uint64(p.pools[i].stride) {
				pi = i
				break
			}
		}
	}
	if pi < 0 {
		p.stats.DropsNoPool++
		return Claim{}, ErrNoPoolFits
	}
	seq := p.next
	p.stats.Abandoned += p.claims.makeRoom(seq, p.ring.mask+1)
	p.next++
	idx := seq & p.ring.mask
	p.ring.words[idx].Store(inProgress(seq))
	shm.Fence() // the payload writes that follow must not pass the store
	pool := &p.pools[pi]
	c := Claim{Seq: seq, Payload: pool.payload(idx, uint32(n)), PoolID: pool.id}
	p.claims.open = append(p.claims.open, c)
	return c, nil
}

// Commit validates m.Tensor, overwrites every field of the claimed slot's
// header and publishes it (wire spec 8.3 steps 3 and 4). The tensor must
// fit in the claimed payload unless that is empty. m is required (a frame
// without a tensor header is an error, ErrTensorHeader). On error nothing
// is published and the claim stays open.
//
// Commit also refreshes activity_timestamp_ns in every region, at most
// every [ActivityRefresh], so a producer that commits regularly stays
// live to consumers; one that may pause for longer than a second calls
// [Producer.Heartbeat] at least once a second while it does.
func (p *Producer) Commit(c *Claim, m *FrameMeta) error {
	ci := -1
	if c != nil {
		ci = p.claims.find(c.Seq)
	}
	if ci < 0 {
		return ErrNotClaimed
	}
	cur := &p.claims.open[ci]
	if m == nil {
		return errNilMeta
	}
	t := m.Tensor
	if r := t.resolve(); r != DropNone {
		return tensorErrors[r]
	}
	if !t.fitsPayload(int64(len(cur.Payload))) {
		return tensorErrors[DropTensorExtent]
	}
	idx := cur.Seq & p.ring.mask
	f := slotFields{
		valuesLen:   uint32(len(cur.Payload)),
		payloadSlot: uint32(idx),
		poolID:      cur.PoolID,
		timestampNs: m.TimestampNs,
		metaVersion: m.MetaVersion,
	}
	writeSlot(p.ring.slot(idx), &f, &m.Tensor)
	shm.StoreReleaseUint64(p.ring.words[idx], committed(cur.Seq)) // payload and header first
	p.claims.remove(ci)
	p.stats.Committed++
	if now := p.now(); now-p.lastBeat >= uint64(ActivityRefresh) {
		p.Heartbeat(now)
	}
	return nil
}

// errNilMeta is Commit's error for a nil *FrameMeta.
var errNilMeta = fmt.Errorf("nil *FrameMeta, a frame needs its tensor header: %w", ErrTensorHeader)

// Publish copies payload into a claimed slot and commits it, returning the
// frame's sequence.
func (p *Producer) Publish(payload []byte, m *FrameMeta) (uint64, error) {
	c, err := p.Claim(len(payload))
	if err != nil {
		return 0, err
	}
	copy(c.Payload, payload)
	if err := p.Commit(&c, m); err != nil {
		return 0, err
	}
	return c.Seq, nil
}

// Next returns the sequence the next Claim will use.
func (p *Producer) Next() uint64 { return p.next }

// Stats returns the producer's counters.
func (p *Producer) Stats() ProducerStats { return p.stats }

// Heartbeat stores now (CLOCK_MONOTONIC nanoseconds, [MonotonicNow]) as
// activity_timestamp_ns in every region. Commit does this by itself; call
// Heartbeat at least once a second while not committing, or consumers
// that check freshness (three announce periods, 3 s by default) take the
// stream for dead.
func (p *Producer) Heartbeat(now uint64) {
	p.lastBeat = now
	p.ring.region.SetActivity(now)
	for i := range p.pools {
		p.pools[i].region.SetActivity(now)
	}
}

// Frame is a validated frame. Payload (values_len_bytes long) aliases the
// payload pool: see the package documentation for how long it is valid,
// and call Consumer.Verify after reading it.
type Frame struct {
	Seq         uint64
	PoolID      uint16
	PayloadSlot uint32
	TimestampNs uint64
	MetaVersion uint32
	// Tensor has its strides resolved: zero (inferred) strides are filled.
	Tensor  TensorHeader
	Payload []byte

	word   *atomic.Uint64
	commit uint64
}

// ConsumerStats counts what a Consumer saw. DropsGap and DropsLate are the
// counters of wire spec 15.4; Drops counts every drop by reason.
type ConsumerStats struct {
	Accepted uint64
	// DropsGap counts sequences never asked for: the gaps between
	// successive Read calls.
	DropsGap uint64
	// DropsLate counts frames the producer was writing or had overwritten
	// (DropReason.Late).
	DropsLate uint64
	Drops     DropCounts
}

// DropCounts counts drops by reason, indexed by DropReason.
type DropCounts [NumDropReasons]uint64

// Total returns the number of drops of every reason.
func (d *DropCounts) Total() uint64 {
	var n uint64
	for _, v := range d {
		n += v
	}
	return n
}

// String names the reasons with non-zero counts, in DropReason order:
// "overwritten 3, unknown dtype 1", or "none".
func (d DropCounts) String() string {
	var b []byte
	for r, n := range d {
		if n == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = append(b, DropReason(r).String()...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, n, 10)
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// Consumer reads frames from a mapped header ring and its payload pools.
// It is not safe for concurrent use; several consumers (in one process or
// many) may read the same regions.
type Consumer struct {
	ring     ring
	pools    []poolRef
	epoch    uint64
	last     uint64
	haveLast bool
	stats    ConsumerStats
}

// NewConsumer reads frames from ring and pools, which must be of one
// epoch, stream and nslots (as OpenRegion checked against the announce).
func NewConsumer(ring *Region, pools []*Region) (*Consumer, error) {
	rg, err := newRing(ring)
	if err != nil {
		return nil, err
	}
	refs, err := newPools(&rg, pools)
	if err != nil {
		return nil, err
	}
	return &Consumer{ring: rg, pools: refs, epoch: ring.Superblock().Epoch}, nil
}

// Ready reports whether frame seq can be read without waiting: its slot
// holds seq committed, or a later frame (reading then reports the drop).
// Consumers with FrameDescriptors never need it; in no-driver mode a
// consumer polls it for the next sequence it expects.
func (c *Consumer) Ready(seq uint64) bool {
	w := c.ring.words[seq&c.ring.mask].Load()
	return w == committed(seq) || w>>1 > seq
}

// Newest returns the newest committed sequence in the ring, scanning
// every slot, and false if none is committed. A consumer joining a stream
// without descriptors starts at it (it can still read that frame unless
// the producer overwrites it first) and counts the frames before it as
// written before it joined, not as drops.
func (c *Consumer) Newest() (uint64, bool) {
	var newest uint64
	found := false
	for _, w := range c.ring.words {
		v := w.Load()
		if v&1 == 1 && (!found || v>>1 > newest) {
			newest, found = v>>1, true
		}
	}
	return newest, found
}

// Epoch returns the epoch of the mapped regions.
func (c *Consumer) Epoch() uint64 { return c.epoch }

// Stats returns the consumer's counters.
func (c *Consumer) Stats() ConsumerStats { return c.stats }

func (c *Consumer) drop(r DropReason) DropReason {
	c.stats.Drops[r]++
	if r.Late() {
		c.stats.DropsLate++
	}
	return r
}

// Read validates the slot of frame seq of the given epoch (from a
// FrameDescriptor) and returns it, or the reason it was dropped. It
// applies every rule of wire spec 8.2, 8.3, 10.2.1, 15.3, 15.4 and 15.21:
// epoch, sequence order (gaps counted), commit bit, slot sequence, payload
// offset and slot, pool, values_len against the stride, the embedded
// TensorHeader's length and identity, and the tensor's contents and
// extent; then it re-reads seq_commit. Any rule broken while seq_commit
// changed is reported as DropChanged: a torn read, not a bad frame.
//
// A successful Read is only half the seqlock: read the payload, then call
// Verify. Read never blocks and never allocates.
func (c *Consumer) Read(epoch, seq uint64) (Frame, DropReason) {
	if epoch != c.epoch {
		return Frame{}, c.drop(DropEpoch)
	}
	if c.haveLast {
		if seq <= c.last {
			return Frame{}, c.drop(DropSeqRegression)
		}
		c.stats.DropsGap += seq - c.last - 1
	}
	c.last, c.haveLast = seq, true

	idx := seq & c.ring.mask
	word := c.ring.words[idx]
	w := word.Load()
	switch {
	case w&1 == 0:
		return Frame{}, c.drop(DropNotCommitted)
	case w>>1 > seq:
		return Frame{}, c.drop(DropOverwritten)
	case w>>1 < seq:
		return Frame{}, c.drop(DropStale)
	}
	f := Frame{Seq: seq, word: word, commit: w}
	r := c.validate(idx, &f)
	shm.Fence() // every plain read above happens before the re-read
	if word.Load() != w {
		return Frame{}, c.drop(DropChanged)
	}
	if r != DropNone {
		return Frame{}, c.drop(r)
	}
	return f, DropNone
}

func (c *Consumer) validate(idx uint64, f *Frame) DropReason {
	var sf slotFields
	hb := readSlot(c.ring.slot(idx), &sf)
	if hb == nil {
		return DropHeaderLength
	}
	if sf.payloadOffset != 0 {
		return DropPayloadOffset
	}
	if uint64(sf.payloadSlot) != idx {
		return DropPayloadSlot
	}
	var pool *poolRef
	for i := range c.pools {
		if c.pools[i].id == sf.poolID {
			pool = &c.pools[i]
			break
		}
	}
	if pool == nil {
		return DropUnknownPool
	}
	if sf.valuesLen > pool.stride {
		return DropValuesLen
	}
	if r := decodeTensorHeader(hb, &f.Tensor); r != DropNone {
		return r
	}
	if r := f.Tensor.resolve(); r != DropNone {
		return r
	}
	if !f.Tensor.fitsPayload(int64(sf.valuesLen)) {
		return DropTensorExtent
	}
	for i := int(f.Tensor.NDims); i < MaxDims; i++ {
		f.Tensor.Dims[i], f.Tensor.Strides[i] = 0, 0 // ignored (8.2)
	}
	f.PoolID = sf.poolID
	f.PayloadSlot = sf.payloadSlot
	f.TimestampNs = sf.timestampNs
	f.MetaVersion = sf.metaVersion
	f.Payload = pool.payload(idx, sf.valuesLen)
	return DropNone
}

// Verify re-reads the frame's seq_commit after its payload was read and
// reports DropChanged (counted as late) if the producer has since touched
// the slot; anything read from the payload must then be discarded.
// Otherwise the frame counts as accepted. It never allocates.
func (c *Consumer) Verify(f *Frame) DropReason {
	if f.word == nil {
		return DropNotCommitted
	}
	shm.Fence() // the caller's payload reads happen before the re-read
	if f.word.Load() != f.commit {
		return c.drop(DropChanged)
	}
	c.stats.Accepted++
	return DropNone
}

// Copy reads frame seq and copies its payload into dst (which must be at
// least the payload's length), verifying the copy; the returned frame's
// Payload is dst[:n]. It is Read, copy and Verify in one call.
func (c *Consumer) Copy(epoch, seq uint64, dst []byte) (Frame, DropReason) {
	f, r := c.Read(epoch, seq)
	if r != DropNone {
		return f, r
	}
	if len(dst) < len(f.Payload) {
		return Frame{}, c.drop(DropValuesLen)
	}
	n := copy(dst, f.Payload)
	if r := c.Verify(&f); r != DropNone {
		return Frame{}, r
	}
	f.Payload = dst[:n]
	return f, DropNone
}
