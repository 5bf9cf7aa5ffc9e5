package client

import (
	"bytes"
	"encoding/binary"

	"github.com/tpool-go/tpool/gen/wire"
)

// metaReceiver keeps one stream's metadata from the messages of the
// metadata stream: the latest DataSourceAnnounce, the last MetaHistory
// versions and the blob being reassembled. handle never panics on any
// input, allocates only when the metadata changes (a new version, a new
// blob, a new announce), and bounds what it allocates by maxBlob.
type metaReceiver struct {
	stream  uint32
	maxBlob uint64

	source     DataSource
	producerID uint32
	epoch      uint64
	announced  bool // a DataSourceAnnounce arrived

	hist   [MetaHistory]*Meta // completed or blob-only versions
	oldest int                // the slot to evict next

	// A round (see meta.go) starts with a DataSourceAnnounce. A consumer
	// that joined in its middle has missed blobs: it completes a version
	// only from a whole round (roundClean), or when the version's
	// DataSourceMeta comes a second time (deferred), so a version is never
	// handed out without its blobs. A producer that sends no announces
	// gets its versions completed at once.
	roundClean   bool
	roundVersion uint32
	deferred     uint32 // a version whose DataSourceMeta was put off once
	haveDeferred bool
	// missed: blob messages were lost (a chunk or complete without its
	// announce, a blob discarded) while no DataSourceAnnounce had arrived
	// yet. Until one does, the consumer cannot tell where rounds start,
	// but it knows it joined in the middle of one: the next version is
	// deferred as a mid-round one would be.
	missed bool

	blob blobAsm

	ann   wire.DataSourceAnnounceDecoder
	meta  wire.DataSourceMetaDecoder
	bann  wire.MetaBlobAnnounceDecoder
	chunk wire.MetaBlobChunkDecoder
	done  wire.MetaBlobCompleteDecoder
	stats MetaStats
}

// blobAsm is the blob in progress.
type blobAsm struct {
	active  bool
	reuse   []byte // an identical blob already held: validate, copy nothing
	version uint32
	typ     uint32
	total   uint64
	sum     uint64
	next    uint64
	buf     []byte
}

func newMetaReceiver(stream uint32, maxBlob int) *metaReceiver {
	if maxBlob <= 0 {
		maxBlob = DefaultMaxMetaBlobBytes
	}
	return &metaReceiver{stream: stream, maxBlob: uint64(maxBlob)}
}

// lookup returns the completed metadata of version v, or nil.
func (r *metaReceiver) lookup(v uint32) *Meta {
	for _, m := range r.hist {
		if m != nil && m.Version == v && m.complete {
			return m
		}
	}
	return nil
}

// latest returns the newest completed version, or nil.
func (r *metaReceiver) latest() *Meta {
	var best *Meta
	for i := 1; i <= MetaHistory; i++ { // newest first: the slot before oldest
		m := r.hist[(r.oldest-i+MetaHistory)%MetaHistory]
		if m != nil && m.complete {
			best = m
			break
		}
	}
	return best
}

func (r *metaReceiver) slot(v uint32) int {
	for i, m := range r.hist {
		if m != nil && m.Version == v {
			return i
		}
	}
	return -1
}

// put stores m, replacing the entry of its version or evicting the oldest.
func (r *metaReceiver) put(m *Meta) {
	if i := r.slot(m.Version); i >= 0 {
		r.hist[i] = m
		return
	}
	r.hist[r.oldest] = m
	r.oldest = (r.oldest + 1) % MetaHistory
}

// handle takes one whole message of the metadata stream.
func (r *metaReceiver) handle(buf []byte) {
	if len(buf) < wire.MessageHeaderEncodedLength {
		r.stats.Malformed++
		return
	}
	templateID := binary.LittleEndian.Uint16(buf[2:])
	schemaID := binary.LittleEndian.Uint16(buf[4:])
	if schemaID != wire.SchemaID {
		r.stats.Other++
		return
	}
	// The decoders check the header (version, block length) and the
	// framing of every group and var data.
	var err error
	switch templateID {
	case wire.DataSourceAnnounceTemplateID:
		if err = r.ann.WrapWithHeader(buf); err == nil && r.ann.StreamId() == r.stream {
			r.onAnnounce()
		}
	case wire.DataSourceMetaTemplateID:
		if err = r.meta.WrapWithHeader(buf); err == nil && r.meta.StreamId() == r.stream {
			r.onMeta()
		}
	case wire.MetaBlobAnnounceTemplateID:
		if err = r.bann.WrapWithHeader(buf); err == nil && r.bann.StreamId() == r.stream {
			r.onBlobAnnounce()
		}
	case wire.MetaBlobChunkTemplateID:
		if err = r.chunk.WrapWithHeader(buf); err == nil && r.chunk.StreamId() == r.stream {
			r.onBlobChunk()
		}
	case wire.MetaBlobCompleteTemplateID:
		if err = r.done.WrapWithHeader(buf); err == nil && r.done.StreamId() == r.stream {
			r.onBlobComplete()
		}
	default:
		r.stats.Other++
		return
	}
	if err != nil {
		r.stats.Malformed++
	}
}

func (r *metaReceiver) onAnnounce() {
	r.stats.Announces++
	d := &r.ann
	r.roundClean, r.roundVersion = true, d.MetaVersion()
	name, summary := d.Name(), d.Summary()
	if r.announced && r.producerID == d.ProducerId() && r.epoch == d.Epoch() &&
		string(name) == r.source.Name && string(summary) == r.source.Summary {
		return // a repeat: nothing to allocate
	}
	r.announced = true
	r.producerID, r.epoch = d.ProducerId(), d.Epoch()
	if string(name) != r.source.Name || string(summary) != r.source.Summary {
		r.source = DataSource{Name: string(name), Summary: string(summary)}
		// The announced version shows the new source too.
		if i := r.slot(d.MetaVersion()); i >= 0 {
			m := *r.hist[i]
			m.Source = r.source
			r.hist[i] = &m
		}
	}
}

func (r *metaReceiver) onMeta() {
	r.stats.Metas++
	d := &r.meta
	v := d.MetaVersion()
	var blobs []Blob
	var sums []uint64
	if i := r.slot(v); i >= 0 {
		if r.hist[i].complete {
			return // a repeat of a version held
		}
		blobs, sums = r.hist[i].Blobs, r.hist[i].sums
	}
	midRound := r.announced && !(r.roundClean && r.roundVersion == v) || !r.announced && r.missed
	if midRound && !(r.haveDeferred && r.deferred == v) {
		r.deferred, r.haveDeferred = v, true // joined mid-round: wait for a whole one
		r.stats.Deferred++
		return
	}
	g := d.Attributes()
	m := &Meta{StreamID: r.stream, Version: v, TimestampNs: d.TimestampNs(), Source: r.source,
		Blobs: blobs, sums: sums, complete: true, Attributes: make([]Attribute, 0, g.Count())}
	for g.Next() {
		m.Attributes = append(m.Attributes, Attribute{Key: string(g.Key()), Format: string(g.Format()),
			Value: bytes.Clone(g.Value())})
	}
	r.put(m)
	r.missed = false
	r.stats.Versions++
}

// discard gives up the blob in progress; the round loses a blob.
func (r *metaReceiver) discard() {
	if r.blob.active {
		r.stats.BlobsDiscarded++
		r.roundClean, r.missed = false, !r.announced
	}
	r.blob = blobAsm{}
}

// held returns the data of a blob already held that equals the announced
// one (same type, length and non-zero checksum), or nil.
func (r *metaReceiver) held(typ uint32, total, sum uint64) []byte {
	if sum == 0 {
		return nil // unchecked: cannot tell it is the same
	}
	for _, m := range r.hist {
		if m == nil {
			continue
		}
		for i, b := range m.Blobs {
			if b.Type == typ && uint64(len(b.Data)) == total && m.sums[i] == sum {
				return b.Data
			}
		}
	}
	return nil
}

func (r *metaReceiver) onBlobAnnounce() {
	d := &r.bann
	if r.blob.active { // an unfinished blob of an earlier round is lost
		r.stats.BlobsDiscarded++
		r.blob = blobAsm{}
	}
	total := d.TotalLen()
	if total > r.maxBlob {
		r.stats.BlobsTooLarge++
		r.roundClean, r.missed = false, !r.announced
		return
	}
	b := blobAsm{active: true, version: d.MetaVersion(), typ: d.BlobType(), total: total, sum: d.Checksum()}
	if b.reuse = r.held(b.typ, total, b.sum); b.reuse == nil {
		b.buf = make([]byte, total)
	}
	r.blob = b
}

func (r *metaReceiver) onBlobChunk() {
	d := &r.chunk
	b := &r.blob
	if !b.active {
		r.stats.Stray++
		r.roundClean, r.missed = false, !r.announced
		return
	}
	data, off := d.Bytes(), d.ChunkOffset()
	// Offsets are contiguous from 0 (monotonic, non-overlapping, covering
	// [0, total), wire spec 10.3.3); anything else loses the blob.
	if d.MetaVersion() != b.version || len(data) == 0 || off != b.next || uint64(len(data)) > b.total-off {
		r.discard()
		return
	}
	if b.reuse == nil {
		copy(b.buf[off:], data)
	} else if !bytes.Equal(b.reuse[off:off+uint64(len(data))], data) {
		b.buf = make([]byte, b.total) // not the same after all: reassemble it
		copy(b.buf, b.reuse[:off])
		copy(b.buf[off:], data)
		b.reuse = nil
	}
	b.next = off + uint64(len(data))
}

func (r *metaReceiver) onBlobComplete() {
	d := &r.done
	b := &r.blob
	if !b.active {
		r.stats.Stray++
		r.roundClean, r.missed = false, !r.announced
		return
	}
	if d.MetaVersion() != b.version || d.Checksum() != b.sum || b.next != b.total {
		r.discard()
		return
	}
	data := b.buf
	if b.reuse != nil {
		data = b.reuse
	}
	// A checksum of 0 means none was computed (it is optional, 15.9).
	if b.sum != 0 && b.reuse == nil && blobChecksum(data) != b.sum {
		r.discard()
		return
	}
	if b.reuse != nil {
		r.stats.BlobsReused++
	}
	r.stats.Blobs++
	r.attach(b.version, Blob{Type: b.typ, Data: data}, b.sum)
	r.blob = blobAsm{}
}

// attach adds a completed blob to its version (a new Meta: handed-out ones
// never change), replacing a blob of the same type.
func (r *metaReceiver) attach(v uint32, blob Blob, sum uint64) {
	var old *Meta
	if i := r.slot(v); i >= 0 {
		old = r.hist[i]
		for j, x := range old.Blobs {
			if x.Type == blob.Type && old.sums[j] == sum && (sum != 0 || bytes.Equal(x.Data, blob.Data)) &&
				len(x.Data) == len(blob.Data) {
				return // held already: keep the Meta as it is
			}
		}
	}
	m := &Meta{StreamID: r.stream, Version: v, Source: r.source}
	if old != nil {
		*m = *old
		m.Blobs = make([]Blob, 0, len(old.Blobs)+1)
		m.sums = make([]uint64, 0, len(old.Blobs)+1)
		for j, x := range old.Blobs {
			if x.Type != blob.Type {
				m.Blobs = append(m.Blobs, x)
				m.sums = append(m.sums, old.sums[j])
			}
		}
	}
	m.Blobs = append(m.Blobs, blob)
	m.sums = append(m.sums, sum)
	r.put(m)
}
