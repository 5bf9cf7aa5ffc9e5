package logbuffer

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Data frame header (aeron_data_header_t).
const (
	HeaderLength        = 32
	FrameLengthOffset   = 0
	VersionOffset       = 4
	FlagsOffset         = 5
	TypeOffset          = 6
	TermOffsetOffset    = 8
	SessionIDOffset     = 12
	StreamIDOffset      = 16
	TermIDOffset        = 20
	ReservedValueOffset = 24

	CurrentVersion = 0

	FlagBegin        = 0x80
	FlagEnd          = 0x40
	FlagEOS          = 0x20
	FlagUnfragmented = FlagBegin | FlagEnd

	HdrTypePad  = 0x00
	HdrTypeData = 0x01
)

// frameLength returns the atomic frame length at offset (32-aligned and in
// range by construction of the callers).
func frameLength(term []byte, offset int) *atomic.Int32 {
	p, err := shm.Int32At(term, offset)
	if err != nil {
		panic("logbuffer: " + err.Error())
	}
	return p
}

// FrameLengthVolatile reads a frame length with acquire semantics.
func FrameLengthVolatile(term []byte, offset int) int32 { return frameLength(term, offset).Load() }

// FrameType of the frame at offset.
func FrameType(term []byte, offset int) uint16 {
	return binary.LittleEndian.Uint16(term[offset+TypeOffset:])
}

// FrameFlags of the frame at offset.
func FrameFlags(term []byte, offset int) uint8 { return term[offset+FlagsOffset] }

// Header is a view of one frame's header, handed to fragment handlers.
type Header struct {
	Term          []byte
	Offset        int
	InitialTermID int32
	Shift         int
}

func (h *Header) u32(off int) uint32 { return binary.LittleEndian.Uint32(h.Term[h.Offset+off:]) }

// FrameLength including the header.
func (h *Header) FrameLength() int32 { return int32(h.u32(FrameLengthOffset)) }

// Flags of the frame (FlagBegin, FlagEnd, FlagEOS).
func (h *Header) Flags() uint8 { return h.Term[h.Offset+FlagsOffset] }

// Type of the frame.
func (h *Header) Type() uint16 { return binary.LittleEndian.Uint16(h.Term[h.Offset+TypeOffset:]) }

// TermOffset of the frame.
func (h *Header) TermOffset() int32 { return int32(h.u32(TermOffsetOffset)) }

// SessionID of the frame.
func (h *Header) SessionID() int32 { return int32(h.u32(SessionIDOffset)) }

// StreamID of the frame.
func (h *Header) StreamID() int32 { return int32(h.u32(StreamIDOffset)) }

// TermID of the frame.
func (h *Header) TermID() int32 { return int32(h.u32(TermIDOffset)) }

// ReservedValue of the frame.
func (h *Header) ReservedValue() int64 {
	return int64(binary.LittleEndian.Uint64(h.Term[h.Offset+ReservedValueOffset:]))
}

// Position after this frame.
func (h *Header) Position() int64 {
	return ComputePosition(h.TermID(), h.Offset+align(int(h.FrameLength()), FrameAlignment), h.Shift, h.InitialTermID)
}

// writeHeader writes a frame header whose length is negative (in progress):
// the first 8 bytes (length, version, flags, type) together, then the rest.
// defaultHeader supplies version, flags, type, session and stream.
//
// The negative length is a plain store, where Aeron uses an ordered (release)
// store: Go has only sequentially consistent atomics, whose locked
// instruction per message cost a third of the 32-byte offer rate. Nothing
// depends on its ordering: readers treat 0 and negative lengths alike (not
// yet committed), the unblocker only acts on a gap that has persisted for
// its timeout, and the commit that follows is an atomic store, which
// publishes this header together with the payload.
func writeHeader(term []byte, offset, length int, termID int32, defaultHeader []byte) {
	le := binary.LittleEndian
	vft := le.Uint32(defaultHeader[VersionOffset:]) // version, flags, type
	le.PutUint64(term[offset:], uint64(vft)<<32|uint64(uint32(-int32(length))))
	le.PutUint32(term[offset+TermOffsetOffset:], uint32(offset))
	copy(term[offset+SessionIDOffset:offset+TermIDOffset], defaultHeader[SessionIDOffset:TermIDOffset])
	le.PutUint32(term[offset+TermIDOffset:], uint32(termID))
	le.PutUint64(term[offset+ReservedValueOffset:], 0)
}

// AppendResult values: a non-negative result is the new term offset.
const (
	// AppendTripped means the term filled up: the caller rotates the log.
	AppendTripped = -1
	// AppendFailed means the term was already past its end.
	AppendFailed = -2
	// AppendCorrupt means the tail counter is not frame-aligned: another
	// process corrupted the log.
	AppendCorrupt = -3
)

// Appender writes frames into one term whose raw tail is tail. Any number of
// goroutines and processes may append concurrently.
type Appender struct {
	term []byte
	tail *atomic.Int64
}

// NewAppender returns the appender for partition i.
func (l *Log) Appender(i int) Appender { return Appender{term: l.terms[i], tail: l.tails[i]} }

// handleEndOfTerm pads the rest of the term if this claim straddled its end.
func (a Appender) handleEndOfTerm(termOffset int64, termID int32, defaultHeader []byte) int {
	termLength := int64(len(a.term))
	if termOffset < termLength {
		pad := int(termLength - termOffset)
		writeHeader(a.term, int(termOffset), pad, termID, defaultHeader)
		binary.LittleEndian.PutUint16(a.term[termOffset+TypeOffset:], HdrTypePad)
		shm.StoreRelease32(frameLength(a.term, int(termOffset)), int32(pad))
		return AppendTripped
	}
	return AppendFailed
}

// Claim reserves a frame for a payload of length bytes, writes its header
// (length still negative) and returns the frame offset and the resulting
// term offset. A negative result is AppendTripped or AppendFailed.
func (a Appender) claim(length int, defaultHeader []byte, flags uint8) (frameOffset int, termID int32, result int) {
	frame := length + HeaderLength
	aligned := int64(align(frame, FrameAlignment))
	raw := a.tail.Add(aligned) - aligned
	termOffset := raw & 0xFFFFFFFF
	termID = TermID(raw)
	if termOffset&(FrameAlignment-1) != 0 {
		return 0, termID, AppendCorrupt
	}
	resulting := termOffset + aligned
	if resulting > int64(len(a.term)) {
		return 0, termID, a.handleEndOfTerm(termOffset, termID, defaultHeader)
	}
	off := int(termOffset)
	writeHeader(a.term, off, frame, termID, defaultHeader)
	a.term[off+FlagsOffset] = flags
	return off, termID, int(resulting)
}

// AppendUnfragmented writes one frame carrying the concatenation of parts
// (total length at most MTU - HeaderLength) and returns the resulting term
// offset or AppendTripped/AppendFailed.
func (a Appender) AppendUnfragmented(defaultHeader []byte, length int, parts ...[]byte) int {
	off, _, result := a.claim(length, defaultHeader, FlagUnfragmented)
	if result < 0 {
		return result
	}
	p := off + HeaderLength
	for _, s := range parts {
		p += copy(a.term[p:], s)
	}
	shm.StoreRelease32(frameLength(a.term, off), int32(length+HeaderLength)) // commit (ordered store, as Aeron)
	return result
}

// AppendFragmented writes a message longer than maxPayload as a run of
// frames, all claimed at once. parts are concatenated.
func (a Appender) AppendFragmented(defaultHeader []byte, length, maxPayload int, parts ...[]byte) int {
	numMax := length / maxPayload
	remaining := length % maxPayload
	last := 0
	if remaining > 0 {
		last = align(remaining+HeaderLength, FrameAlignment)
	}
	required := numMax*(maxPayload+HeaderLength) + last
	// maxPayload+HeaderLength is MTU, a multiple of FrameAlignment.
	raw := a.tail.Add(int64(required)) - int64(required)
	termOffset := raw & 0xFFFFFFFF
	termID := TermID(raw)
	if termOffset&(FrameAlignment-1) != 0 {
		return AppendCorrupt
	}
	resulting := termOffset + int64(required)
	if resulting > int64(len(a.term)) {
		return a.handleEndOfTerm(termOffset, termID, defaultHeader)
	}
	off := int(termOffset)
	flags := uint8(FlagBegin)
	left := length
	pi, po := 0, 0 // part index and offset in it
	for left > 0 {
		n := min(left, maxPayload)
		frame := n + HeaderLength
		writeHeader(a.term, off, frame, termID, defaultHeader)
		if n == left {
			flags |= FlagEnd
		}
		a.term[off+FlagsOffset] = flags
		dst := a.term[off+HeaderLength : off+frame]
		for len(dst) > 0 {
			c := copy(dst, parts[pi][po:])
			dst = dst[c:]
			po += c
			if po == len(parts[pi]) {
				pi, po = pi+1, 0
			}
		}
		shm.StoreRelease32(frameLength(a.term, off), int32(frame))
		left -= n
		off += align(frame, FrameAlignment)
		flags = 0
	}
	return int(resulting)
}

// Claim reserves an unfragmented frame for length bytes that the caller fills
// and then commits or aborts. It returns the frame offset and the resulting
// term offset (negative on trip/fail).
func (a Appender) Claim(defaultHeader []byte, length int) (frameOffset, result int) {
	off, _, result := a.claim(length, defaultHeader, FlagUnfragmented)
	return off, result
}

// Commit publishes a claimed frame.
func Commit(term []byte, frameOffset int) {
	l := frameLength(term, frameOffset)
	n := l.Load()
	if n < 0 {
		shm.StoreRelease32(l, -n)
	}
}

// Abort turns a claimed frame into padding.
func Abort(term []byte, frameOffset int) {
	l := frameLength(term, frameOffset)
	n := l.Load()
	if n < 0 {
		binary.LittleEndian.PutUint16(term[frameOffset+TypeOffset:], HdrTypePad)
		shm.StoreRelease32(l, -n)
	}
}
