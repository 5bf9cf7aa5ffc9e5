// Package logbuffer implements Aeron's log buffers: the file a publication
// writes and its subscribers read, made of three term partitions followed by
// a metadata section, and the data frames inside the terms. It holds the
// layouts (aeron_logbuffer_descriptor.h, aeron_udp_protocol.h of
// real-logic/aeron), position arithmetic, the term appender and reader, log
// rotation, and the driver's term cleaning and unblocking.
//
// A [Log] aliases the memory it was given (usually a mapped file); it and
// every slice it hands out are valid as long as that memory is mapped.
package logbuffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Sizes.
const (
	PartitionCount   = 3
	TermMinLength    = 64 * 1024
	TermMaxLength    = 1024 * 1024 * 1024
	PageMinSize      = 4 * 1024
	PageMaxSize      = 1024 * 1024 * 1024
	MetadataLength   = PageMinSize
	FrameAlignment   = 32
	MaxUDPPayload    = 65504
	DefaultHeaderMax = 128
)

// Offsets inside the metadata section (aeron_logbuffer_metadata_t, packed
// to 4 bytes).
const (
	TermTailCountersOffset      = 0
	ActiveTermCountOffset       = 24
	EndOfStreamPositionOffset   = 128
	IsConnectedOffset           = 136
	ActiveTransportCountOffset  = 140
	CorrelationIDOffset         = 256
	InitialTermIDOffset         = 264
	DefaultFrameHeaderLenOffset = 268
	MTULengthOffset             = 272
	TermLengthOffset            = 276
	PageSizeOffset              = 280
	PublicationWindowOffset     = 284
	ReceiverWindowOffset        = 288
	SocketSndbufOffset          = 292
	OSDefaultSocketSndbufOffset = 296
	OSMaxSocketSndbufOffset     = 300
	SocketRcvbufOffset          = 304
	OSDefaultSocketRcvbufOffset = 308
	OSMaxSocketRcvbufOffset     = 312
	MaxResendOffset             = 316
	DefaultFrameHeaderOffset    = 320
	EntityTagOffset             = 448
	ResponseCorrelationIDOffset = 456
	LingerTimeoutNsOffset       = 464
	UntetheredWindowLimitOffset = 472
	UntetheredRestingOffset     = 480
	GroupOffset                 = 488
	IsResponseOffset            = 489
	RejoinOffset                = 490
	ReliableOffset              = 491
	SparseOffset                = 492
	SignalEOSOffset             = 493
	SpiesSimulateConnOffset     = 494
	TetherOffset                = 495
)

// Sentinel errors.
var (
	// ErrTermLength: not a power of two within [TermMinLength, TermMaxLength].
	ErrTermLength = errors.New("logbuffer: bad term length")
	// ErrPageSize: not a power of two within [PageMinSize, PageMaxSize].
	ErrPageSize = errors.New("logbuffer: bad page size")
	// ErrTooShort: the buffer cannot hold the log its metadata describes.
	ErrTooShort = errors.New("logbuffer: log shorter than its metadata says")
	// ErrCorrupt: a frame or metadata field is impossible.
	ErrCorrupt = errors.New("logbuffer: corrupt log")
)

// CheckTermLength validates a term length.
func CheckTermLength(n int) error {
	if n < TermMinLength || n > TermMaxLength || n&(n-1) != 0 {
		return fmt.Errorf("term length %d is not a power of two from 64k to 1g (%d to %d bytes): %w", n, TermMinLength, TermMaxLength, ErrTermLength)
	}
	return nil
}

// CheckPageSize validates a page size.
func CheckPageSize(n int) error {
	if n < PageMinSize || n > PageMaxSize || n&(n-1) != 0 {
		return fmt.Errorf("page size %d is not a power of two from 4k to 1g (%d to %d bytes): %w", n, PageMinSize, PageMaxSize, ErrPageSize)
	}
	return nil
}

// ComputeLogLength is the file length for a term length and page size.
func ComputeLogLength(termLength, pageSize int) int {
	return align(termLength*PartitionCount+MetadataLength, pageSize)
}

func align(v, a int) int { return (v + a - 1) &^ (a - 1) }

// PositionBitsToShift is log2(termLength).
func PositionBitsToShift(termLength int) int { return bits.TrailingZeros32(uint32(termLength)) }

// TermOffset extracts the term offset from a raw tail, capped at termLength.
func TermOffset(rawTail int64, termLength int) int {
	off := rawTail & 0xFFFFFFFF
	if off < int64(termLength) {
		return int(off)
	}
	return termLength
}

// TermID extracts the term id from a raw tail.
func TermID(rawTail int64) int32 { return int32(rawTail >> 32) }

// PackTail builds a raw tail.
func PackTail(termID int32, termOffset int32) int64 {
	return int64(termID)<<32 | int64(uint32(termOffset))
}

// ComputePosition is the stream position of a term id and offset.
func ComputePosition(termID int32, termOffset int, shift int, initialTermID int32) int64 {
	termCount := int64(termID - initialTermID) // wraps like Aeron's sub_wrap
	return termCount<<shift + int64(termOffset)
}

// IndexByPosition is the partition holding position.
func IndexByPosition(position int64, shift int) int {
	return int((position >> shift) % PartitionCount)
}

// IndexByTermCount is the partition of a term count.
func IndexByTermCount(termCount int32) int { return int(uint32(termCount) % PartitionCount) }

// MaxPossiblePosition is termLength * 2^31.
func MaxPossiblePosition(termLength int) int64 { return int64(termLength) << 31 }

// Params are the metadata a driver writes when it creates a log.
type Params struct {
	CorrelationID     int64
	InitialTermID     int32
	MTU               int32
	TermLength        int32
	PageSize          int32
	PublicationWindow int32
	SessionID         int32
	StreamID          int32
	LingerTimeoutNs   int64
	// Untethered subscriber timeouts (metadata offsets 472 and 480).
	UntetheredWindowLimitTimeoutNs int64
	UntetheredRestingTimeoutNs     int64
	Sparse                         bool
	SignalEOS                      bool
	Tether                         bool
	Rejoin                         bool
	Reliable                       bool
	// HasPosition starts the log at TermID/TermOffset instead of at the
	// initial term's offset 0.
	HasPosition bool
	TermID      int32
	TermOffset  int32
}

// Log is a view of a log buffer.
type Log struct {
	terms           [PartitionCount][]byte
	meta            []byte
	termLength      int
	tails           [PartitionCount]*atomic.Int64
	activeTermCount *atomic.Int32
	endOfStream     *atomic.Int64
	isConnected     *atomic.Int32
	template        Template // from the default header, for appenders
	appenders       [PartitionCount]Appender
}

// Init formats b as a new log with the given parameters (the driver's job).
// b must be zeroed and ComputeLogLength(p.TermLength, p.PageSize) long.
func Init(b []byte, p Params) (*Log, error) {
	if err := CheckTermLength(int(p.TermLength)); err != nil {
		return nil, err
	}
	if err := CheckPageSize(int(p.PageSize)); err != nil {
		return nil, err
	}
	if len(b) < ComputeLogLength(int(p.TermLength), int(p.PageSize)) {
		return nil, fmt.Errorf("%d bytes: %w", len(b), ErrTooShort)
	}
	meta := b[len(b)-MetadataLength:]
	le := binary.LittleEndian
	le.PutUint64(meta[EndOfStreamPositionOffset:], uint64(1<<63-1))
	le.PutUint64(meta[CorrelationIDOffset:], uint64(p.CorrelationID))
	le.PutUint32(meta[InitialTermIDOffset:], uint32(p.InitialTermID))
	le.PutUint32(meta[MTULengthOffset:], uint32(p.MTU))
	le.PutUint32(meta[TermLengthOffset:], uint32(p.TermLength))
	le.PutUint32(meta[PageSizeOffset:], uint32(p.PageSize))
	le.PutUint32(meta[PublicationWindowOffset:], uint32(p.PublicationWindow))
	le.PutUint64(meta[LingerTimeoutNsOffset:], uint64(p.LingerTimeoutNs))
	le.PutUint64(meta[UntetheredWindowLimitOffset:], uint64(p.UntetheredWindowLimitTimeoutNs))
	le.PutUint64(meta[UntetheredRestingOffset:], uint64(p.UntetheredRestingTimeoutNs))
	b2u := func(v bool) byte {
		if v {
			return 1
		}
		return 0
	}
	meta[SparseOffset] = b2u(p.Sparse)
	meta[SignalEOSOffset] = b2u(p.SignalEOS)
	meta[TetherOffset] = b2u(p.Tether)
	meta[RejoinOffset] = b2u(p.Rejoin)
	meta[ReliableOffset] = b2u(p.Reliable)
	le.PutUint32(meta[DefaultFrameHeaderLenOffset:], HeaderLength)
	h := meta[DefaultFrameHeaderOffset:]
	le.PutUint32(h[FrameLengthOffset:], 0)
	h[VersionOffset] = CurrentVersion
	h[FlagsOffset] = FlagUnfragmented
	le.PutUint16(h[TypeOffset:], HdrTypeData)
	le.PutUint32(h[TermOffsetOffset:], 0)
	le.PutUint32(h[SessionIDOffset:], uint32(p.SessionID))
	le.PutUint32(h[StreamIDOffset:], uint32(p.StreamID))
	le.PutUint32(h[TermIDOffset:], uint32(p.InitialTermID))
	le.PutUint64(h[ReservedValueOffset:], 0)
	// Tails: partition 0 at the initial term, the others one rotation behind
	// so rotation can CAS them forward.
	termID, termOffset := p.InitialTermID, int32(0)
	if p.HasPosition {
		termID, termOffset = p.TermID, p.TermOffset
	}
	termCount := termID - p.InitialTermID
	active := IndexByTermCount(termCount)
	le.PutUint64(meta[TermTailCountersOffset+8*active:], uint64(PackTail(termID, termOffset)))
	for i := 1; i < PartitionCount; i++ {
		index := (active + i) % PartitionCount
		le.PutUint64(meta[TermTailCountersOffset+8*index:], uint64(PackTail(termID+int32(i)-PartitionCount, 0)))
	}
	le.PutUint32(meta[ActiveTermCountOffset:], uint32(termCount))
	return Map(b)
}

// Map wraps an existing log, validating its metadata against its length.
func Map(b []byte) (*Log, error) {
	if len(b) < MetadataLength+PartitionCount*TermMinLength {
		return nil, fmt.Errorf("%d bytes: %w", len(b), ErrTooShort)
	}
	meta := b[len(b)-MetadataLength:]
	le := binary.LittleEndian
	termLength := int(int32(le.Uint32(meta[TermLengthOffset:])))
	if err := CheckTermLength(termLength); err != nil {
		return nil, err
	}
	if err := CheckPageSize(int(int32(le.Uint32(meta[PageSizeOffset:])))); err != nil {
		return nil, err
	}
	if PartitionCount*termLength > len(b)-MetadataLength {
		return nil, fmt.Errorf("term length %d in %d bytes: %w", termLength, len(b), ErrTooShort)
	}
	l := &Log{meta: meta, termLength: termLength}
	for i := range l.terms {
		l.terms[i] = b[i*termLength : (i+1)*termLength : (i+1)*termLength]
	}
	var err error
	for i := range l.tails {
		if l.tails[i], err = shm.Int64At(meta, TermTailCountersOffset+8*i); err != nil {
			return nil, err
		}
	}
	if l.activeTermCount, err = shm.Int32At(meta, ActiveTermCountOffset); err != nil {
		return nil, err
	}
	if l.endOfStream, err = shm.Int64At(meta, EndOfStreamPositionOffset); err != nil {
		return nil, err
	}
	if l.isConnected, err = shm.Int32At(meta, IsConnectedOffset); err != nil {
		return nil, err
	}
	if mtu := l.MTU(); mtu < HeaderLength+FrameAlignment || mtu > MaxUDPPayload || mtu%FrameAlignment != 0 {
		return nil, fmt.Errorf("mtu %d: %w", mtu, ErrCorrupt)
	}
	l.template = NewTemplate(l.DefaultHeader())
	for i := range l.appenders {
		l.appenders[i] = Appender{term: l.terms[i], tail: l.tails[i], template: &l.template}
	}
	return l, nil
}

// Term returns partition i.
func (l *Log) Term(i int) []byte { return l.terms[i] }

// TermLength is the length of each partition.
func (l *Log) TermLength() int { return l.termLength }

// Tail returns the raw tail counter of partition i.
func (l *Log) Tail(i int) *atomic.Int64 { return l.tails[i] }

// ActiveTermCount returns the active term count (acquire).
func (l *Log) ActiveTermCount() int32 { return l.activeTermCount.Load() }

// RawTailVolatile is the raw tail of the active partition.
func (l *Log) RawTailVolatile() int64 {
	return l.tails[IndexByTermCount(l.activeTermCount.Load())].Load()
}

// EndOfStreamPosition is where the publication ended (MaxInt64 while open).
func (l *Log) EndOfStreamPosition() int64 { return l.endOfStream.Load() }

// SetEndOfStreamPosition records the end of the stream (release).
func (l *Log) SetEndOfStreamPosition(p int64) { l.endOfStream.Store(p) }

// IsConnected reports whether any subscriber is connected.
func (l *Log) IsConnected() bool { return l.isConnected.Load() == 1 }

// SetConnected sets the connected flag (release).
func (l *Log) SetConnected(v bool) {
	if v {
		l.isConnected.Store(1)
	} else {
		l.isConnected.Store(0)
	}
}

func (l *Log) i32(off int) int32 { return int32(binary.LittleEndian.Uint32(l.meta[off:])) }

// InitialTermID of the log.
func (l *Log) InitialTermID() int32 { return l.i32(InitialTermIDOffset) }

// MTU is the maximum frame length including the header.
func (l *Log) MTU() int { return int(l.i32(MTULengthOffset)) }

// DefaultHeader is the 32-byte frame header template (session, stream).
func (l *Log) DefaultHeader() []byte {
	return l.meta[DefaultFrameHeaderOffset : DefaultFrameHeaderOffset+HeaderLength]
}

// RotateLog moves the active partition from termCount/termID to the next,
// resetting the next partition's tail. Several publishers may race here; only
// one wins the active term count CAS, and the function reports whether this
// caller did.
func (l *Log) RotateLog(termCount int32, termID int32) bool {
	nextTermID := termID + 1
	nextTermCount := termCount + 1
	next := IndexByTermCount(nextTermCount)
	expected := nextTermID - PartitionCount
	for {
		raw := l.tails[next].Load()
		if TermID(raw) != expected {
			break
		}
		if l.tails[next].CompareAndSwap(raw, PackTail(nextTermID, 0)) {
			break
		}
	}
	return l.activeTermCount.CompareAndSwap(termCount, nextTermCount)
}

// ProducerPosition is the position of the active tail.
func (l *Log) ProducerPosition() int64 {
	raw := l.RawTailVolatile()
	return ComputePosition(TermID(raw), TermOffset(raw, l.termLength), PositionBitsToShift(l.termLength), l.InitialTermID())
}

// LingerTimeoutNs is the publication's linger timeout.
func (l *Log) LingerTimeoutNs() int64 {
	return int64(binary.LittleEndian.Uint64(l.meta[LingerTimeoutNsOffset:]))
}
