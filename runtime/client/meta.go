package client

import (
	"errors"
	"hash/crc32"
	"strconv"
	"time"
)

// Per-data-source metadata (wire spec v1.2, section 10.3).
//
// A Producer that publishes metadata sends, on the metadata stream
// (Config.MetadataChannel and MetadataStreamID, default DefaultChannel
// stream 1300), one round of messages per change and then one every
// ProducerConfig.MetaPeriod, so a consumer that joins late gets the
// metadata within a period:
//
//	DataSourceAnnounce (name, summary, epoch, meta_version)
//	for every blob: MetaBlobAnnounce, MetaBlobChunk..., MetaBlobComplete
//	DataSourceMeta (the attributes)
//
// meta_version names one complete set of attributes and blobs: every
// PublishMeta and PublishBlob makes a new version, and the Producer stamps
// every frame it publishes afterwards with it. Blobs go before the
// DataSourceMeta of their version, so a consumer usually has a version's
// blobs by the time its attributes complete it.
//
// A Consumer keeps the last MetaHistory versions it completed; a
// FrameView hands out the one its frame's meta_version names (nil if that
// version never arrived or was evicted). Metadata travels on its own
// stream, so the frames of a new version may arrive before its metadata:
// FrameView.Meta is nil for them.

// MetaHistory is how many metadata versions a Consumer keeps, so frames
// still in flight after a change find theirs.
const MetaHistory = 4

// Metadata defaults.
const (
	// DefaultMetaPeriod is how often a Producer repeats its metadata for
	// consumers that join late (the announce period of the driver).
	DefaultMetaPeriod = time.Second
	// DefaultMetaChunkBytes is the MetaBlobChunk payload size (the wire
	// spec's suggested CHUNK_MAX, 15.9).
	DefaultMetaChunkBytes = 64 << 10
	// DefaultMaxMetaBlobBytes bounds the blobs a Consumer reassembles; a
	// MetaBlobAnnounce of a larger blob is refused before anything is
	// allocated.
	DefaultMaxMetaBlobBytes = 64 << 20
)

var (
	// ErrMetaBlobTooLarge: PublishBlob was given more than
	// ProducerConfig.MaxMetaBlobBytes.
	ErrMetaBlobTooLarge = errors.New("client: metadata blob too large")
	// ErrMetaTooLarge: the attributes do not fit one DataSourceMeta message
	// (the metadata publication's maximum message length).
	ErrMetaTooLarge = errors.New("client: metadata attributes too large for one message")
)

// castagnoli is the CRC32C table of MetaBlob checksums (wire spec 15.9).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blobChecksum is the checksum field of a blob: its CRC32C in the low 32
// bits (DECISIONS.md 25).
func blobChecksum(b []byte) uint64 { return uint64(crc32.Checksum(b, castagnoli)) }

// DataSource is what DataSourceAnnounce says about a stream: a
// human-readable name and a short summary (e.g. the nominal dtype and
// shape). Both are US-ASCII.
type DataSource struct {
	Name    string
	Summary string
}

// Attribute is one DataSourceMeta item: a key, the format of its value
// (e.g. "text/plain", "application/json", "sbe:<schemaId>.<templateId>")
// and the value's bytes.
type Attribute struct {
	Key    string
	Format string
	Value  []byte
}

// SBEFormat returns the Attribute format of a value that is an SBE message
// of the given schema and template: "sbe:<schemaId>.<templateId>" (wire
// spec 10.3.2).
func SBEFormat(schemaID, templateID uint16) string {
	return "sbe:" + strconv.Itoa(int(schemaID)) + "." + strconv.Itoa(int(templateID))
}

// Blob is one large metadata item sent as MetaBlob messages (a
// calibration table, a mask): its type, an application-defined number,
// and its bytes.
type Blob struct {
	Type uint32
	Data []byte
}

// Meta is one version of a stream's metadata as a Consumer received it.
// A Meta is never modified once handed out (a later blob of the same
// version makes a new Meta), but the Consumer only promises it stays valid
// until the handler it was passed to returns: copy what must outlive it.
type Meta struct {
	StreamID    uint32
	Version     uint32
	TimestampNs uint64 // when the producer published this version (CLOCK_MONOTONIC ns)
	// Source is the latest DataSourceAnnounce of the stream when this
	// version arrived (zero if none came yet).
	Source     DataSource
	Attributes []Attribute
	// Blobs are the version's completed blobs, in arrival order, one per
	// type.
	Blobs []Blob
	sums  []uint64 // Blobs' checksums as announced (0: unchecked)
	// complete: the DataSourceMeta of this version arrived (an entry made
	// by a blob alone waits for it).
	complete bool
}

// Attribute returns the attribute with key, if there is one.
func (m *Meta) Attribute(key string) (Attribute, bool) {
	if m == nil {
		return Attribute{}, false
	}
	for _, a := range m.Attributes {
		if a.Key == key {
			return a, true
		}
	}
	return Attribute{}, false
}

// Blob returns the data of the blob of type t, if there is one.
func (m *Meta) Blob(t uint32) ([]byte, bool) {
	if m == nil {
		return nil, false
	}
	for _, b := range m.Blobs {
		if b.Type == t {
			return b.Data, true
		}
	}
	return nil, false
}

// MetaStats counts what a Consumer's metadata receiver saw on the metadata
// stream. Messages of other streams are not counted.
type MetaStats struct {
	// Announces counts DataSourceAnnounces; Metas DataSourceMetas; Versions
	// the versions completed (a repeated DataSourceMeta is not a new one).
	Announces, Metas, Versions uint64
	// Blobs counts blobs completed and verified; BlobsReused those not
	// reassembled again because an identical one was already held.
	Blobs, BlobsReused uint64
	// BlobsDiscarded counts blobs given up: a chunk out of order,
	// overlapping, empty, past the announced length or of another version,
	// a complete before the last byte, or a checksum mismatch.
	BlobsDiscarded uint64
	// BlobsTooLarge counts blobs refused because their announced length
	// exceeds ConsumerConfig.MaxMetaBlobBytes.
	BlobsTooLarge uint64
	// Stray counts chunks and completes with no blob in progress (a
	// consumer that joined in the middle of one).
	Stray uint64
	// Malformed counts messages that failed to decode; Other messages of
	// another schema or template.
	Malformed, Other uint64
}
