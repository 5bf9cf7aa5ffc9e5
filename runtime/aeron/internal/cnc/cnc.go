// Package cnc describes Aeron's command-and-control file (cnc.dat): the
// metadata header written by a media driver and the five regions that follow
// it (to-driver ring buffer, to-clients broadcast buffer, counter metadata,
// counter values and the distinct error log).
//
// The layout matches aeron_cnc_file_descriptor.h of real-logic/aeron for CnC
// version 0.2.0. All integers are little-endian (the native order of the
// platforms Aeron and tpool run on).
//
// Slices returned by [Parse] alias the byte slice given to it and are valid as
// long as that memory is mapped.
package cnc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/shm"
)

// FileName is the name of the CnC file inside an Aeron directory.
const FileName = "cnc.dat"

// Offsets of the metadata fields (the struct is packed to 4 bytes).
const (
	VersionOffset               = 0
	ToDriverBufferLengthOffset  = 4
	ToClientsBufferLengthOffset = 8
	CounterMetadataLengthOffset = 12
	CounterValuesLengthOffset   = 16
	ErrorLogBufferLengthOffset  = 20
	ClientLivenessTimeoutOffset = 24
	StartTimestampOffset        = 32
	PIDOffset                   = 40
	metadataFieldsLength        = 48
	cacheLineLength             = 64
	// MetadataLength is the length of the header before the first region:
	// the metadata fields aligned to two cache lines.
	MetadataLength = (metadataFieldsLength + 2*cacheLineLength - 1) &^ (2*cacheLineLength - 1)
)

// Version is the CnC version this package reads and writes: 0.2.0.
var Version = SemanticVersion(0, 2, 0)

// SemanticVersion composes a version the way Aeron does:
// major<<16 | minor<<8 | patch.
func SemanticVersion(major, minor, patch uint8) int32 {
	return int32(major)<<16 | int32(minor)<<8 | int32(patch)
}

// VersionString renders a composed semantic version as "major.minor.patch".
func VersionString(v int32) string {
	return fmt.Sprintf("%d.%d.%d", (v>>16)&0xff, (v>>8)&0xff, v&0xff)
}

// Sentinel errors returned (wrapped) by Parse.
var (
	// ErrTooShort: the file is not yet long enough to hold the metadata
	// (a driver may still be creating it).
	ErrTooShort = errors.New("cnc: file shorter than its metadata")
	// ErrNotReady: the version field is still 0, the driver has not finished
	// initialising the file.
	ErrNotReady = errors.New("cnc: version not yet written")
	// ErrVersion: the file's major version differs from ours.
	ErrVersion = errors.New("cnc: incompatible version")
	// ErrTruncated: the regions declared in the metadata do not fit the file.
	ErrTruncated = errors.New("cnc: file shorter than its declared regions")
	// ErrBadLength: a declared region length is negative or absurd.
	ErrBadLength = errors.New("cnc: bad region length")
)

// Metadata is the decoded CnC header.
type Metadata struct {
	Version                 int32
	ToDriverBufferLength    int32
	ToClientsBufferLength   int32
	CounterMetadataLength   int32
	CounterValuesLength     int32
	ErrorLogBufferLength    int32
	ClientLivenessTimeoutNs int64
	StartTimestampMs        int64
	PID                     int64
}

// RegionsLength is the sum of the five region lengths.
func (m Metadata) RegionsLength() int {
	return int(m.ToDriverBufferLength) + int(m.ToClientsBufferLength) +
		int(m.CounterMetadataLength) + int(m.CounterValuesLength) + int(m.ErrorLogBufferLength)
}

// FileLength is the length of a CnC file for m, aligned to pageSize as the
// Aeron driver does.
func (m Metadata) FileLength(pageSize int) int {
	n := MetadataLength + m.RegionsLength()
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// DecodeMetadata reads the header from b, which must hold at least
// MetadataLength bytes. The version is read plainly: callers that race a
// starting driver use an atomic load on b[0:4] first.
func DecodeMetadata(b []byte) (Metadata, error) {
	if len(b) < MetadataLength {
		return Metadata{}, fmt.Errorf("%d bytes: %w", len(b), ErrTooShort)
	}
	le := binary.LittleEndian
	return Metadata{
		Version:                 int32(le.Uint32(b[VersionOffset:])),
		ToDriverBufferLength:    int32(le.Uint32(b[ToDriverBufferLengthOffset:])),
		ToClientsBufferLength:   int32(le.Uint32(b[ToClientsBufferLengthOffset:])),
		CounterMetadataLength:   int32(le.Uint32(b[CounterMetadataLengthOffset:])),
		CounterValuesLength:     int32(le.Uint32(b[CounterValuesLengthOffset:])),
		ErrorLogBufferLength:    int32(le.Uint32(b[ErrorLogBufferLengthOffset:])),
		ClientLivenessTimeoutNs: int64(le.Uint64(b[ClientLivenessTimeoutOffset:])),
		StartTimestampMs:        int64(le.Uint64(b[StartTimestampOffset:])),
		PID:                     int64(le.Uint64(b[PIDOffset:])),
	}, nil
}

// EncodeMetadata writes every field of m except the version into b. A driver
// writes the version last, with a release store, once all regions are
// initialised.
func EncodeMetadata(b []byte, m Metadata) error {
	if len(b) < MetadataLength {
		return fmt.Errorf("%d bytes: %w", len(b), ErrTooShort)
	}
	le := binary.LittleEndian
	le.PutUint32(b[ToDriverBufferLengthOffset:], uint32(m.ToDriverBufferLength))
	le.PutUint32(b[ToClientsBufferLengthOffset:], uint32(m.ToClientsBufferLength))
	le.PutUint32(b[CounterMetadataLengthOffset:], uint32(m.CounterMetadataLength))
	le.PutUint32(b[CounterValuesLengthOffset:], uint32(m.CounterValuesLength))
	le.PutUint32(b[ErrorLogBufferLengthOffset:], uint32(m.ErrorLogBufferLength))
	le.PutUint64(b[ClientLivenessTimeoutOffset:], uint64(m.ClientLivenessTimeoutNs))
	le.PutUint64(b[StartTimestampOffset:], uint64(m.StartTimestampMs))
	le.PutUint64(b[PIDOffset:], uint64(m.PID))
	return nil
}

// File is a parsed CnC file: its metadata and views of its regions.
type File struct {
	Metadata        Metadata
	ToDriver        []byte
	ToClients       []byte
	CounterMetadata []byte
	CounterValues   []byte
	ErrorLog        []byte
}

// maxRegion bounds each declared region (1 GiB) so a corrupted header cannot
// make offsets overflow.
const maxRegion = 1 << 30

// Parse validates b as a CnC file (length, then version, then region
// lengths) and returns views of its regions. ErrTooShort and ErrNotReady mean
// "retry later"; ErrVersion, ErrBadLength and ErrTruncated mean the file is
// unusable.
func Parse(b []byte) (*File, error) {
	m, err := DecodeMetadata(b)
	if err != nil {
		return nil, err
	}
	if m.Version == 0 {
		return nil, ErrNotReady
	}
	if m.Version>>16 != Version>>16 {
		return nil, fmt.Errorf("app=%s file=%s: %w", VersionString(Version), VersionString(m.Version), ErrVersion)
	}
	lengths := []int32{m.ToDriverBufferLength, m.ToClientsBufferLength, m.CounterMetadataLength, m.CounterValuesLength, m.ErrorLogBufferLength}
	for i, l := range lengths {
		if l < 0 || l > maxRegion {
			return nil, fmt.Errorf("region %d length %d: %w", i, l, ErrBadLength)
		}
	}
	return Regions(b, m)
}

// ParseLive is Parse for a file a driver may still be writing: the version
// is read with an atomic load first (a driver stores it last, with a release
// store), and the driver's heartbeat, the to-driver buffer's consumer
// heartbeat in ms since the epoch, is returned with the file. Clients
// connecting and drivers checking whether a directory is in use both need
// exactly this.
func ParseLive(b []byte) (f *File, heartbeatMs int64, err error) {
	if len(b) < MetadataLength {
		return nil, 0, fmt.Errorf("%d bytes: %w", len(b), ErrTooShort)
	}
	if v, err := shm.Int32At(b, VersionOffset); err != nil || v.Load() == 0 {
		return nil, 0, ErrNotReady
	}
	if f, err = Parse(b); err != nil {
		return nil, 0, err
	}
	rb, err := ringbuffer.New(f.ToDriver)
	if err != nil {
		return nil, 0, fmt.Errorf("to-driver buffer: %v: %w", err, ErrBadLength)
	}
	return f, rb.ConsumerHeartbeat(), nil
}

// Regions returns the views of the regions m declares inside b (a driver
// uses it on the file it is creating, before the version is set).
func Regions(b []byte, m Metadata) (*File, error) {
	if need := MetadataLength + m.RegionsLength(); len(b) < need {
		return nil, fmt.Errorf("need %d bytes, have %d: %w", need, len(b), ErrTruncated)
	}
	f := &File{Metadata: m}
	off := MetadataLength
	next := func(n int32) []byte {
		s := b[off : off+int(n) : off+int(n)]
		off += int(n)
		return s
	}
	f.ToDriver = next(m.ToDriverBufferLength)
	f.ToClients = next(m.ToClientsBufferLength)
	f.CounterMetadata = next(m.CounterMetadataLength)
	f.CounterValues = next(m.CounterValuesLength)
	f.ErrorLog = next(m.ErrorLogBufferLength)
	return f, nil
}

// DefaultDir is the Aeron directory clients and drivers use unless told
// otherwise: $AERON_DIR, else /dev/shm/aeron-<user> where /dev/shm exists,
// else <tmp>/aeron-<user>, as Aeron does.
func DefaultDir() string {
	if d := os.Getenv("AERON_DIR"); d != "" {
		return d
	}
	name := "default"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	base := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	return filepath.Join(base, "aeron-"+name)
}
