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

// FrameLengthVolatile reads a frame length with acquire semantics. offset
// must be in range and 4-aligned (frames are 32-aligned); it panics
// otherwise, so callers check offsets that come from other processes.
func FrameLengthVolatile(term []byte, offset int) int32 { return shm.LoadAcquire32At(term, offset) }

// commitFrame stores a frame's length with release semantics, publishing
// everything written to the frame before it.
func commitFrame(term []byte, offset int, length int32) { shm.StoreRelease32At(term, offset, length) }

// FrameType of the frame at offset.
func FrameType(term []byte, offset int) uint16 {
	return binary.LittleEndian.Uint16(term[offset+TypeOffset:])
}

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

// Template is a log's default frame header (version, flags, type, session
// and stream) held as the three 8-byte words of a header that it fills, so
// that writing a header is four stores.
type Template struct {
	word0 uint64 // version, flags and type in the upper half
	word1 uint64 // session id in the upper half
	word2 uint64 // stream id in the lower half
}

const flagsShift = 8 * FlagsOffset // bit position of the flags in word 0

// NewTemplate reads the template from a 32-byte default header.
func NewTemplate(defaultHeader []byte) Template {
	le := binary.LittleEndian
	h := (*[HeaderLength]byte)(defaultHeader[:HeaderLength])
	return Template{
		word0: le.Uint64(h[0:]) &^ 0xFFFFFFFF,
		word1: le.Uint64(h[8:]) &^ 0xFFFFFFFF,
		word2: uint64(le.Uint32(h[StreamIDOffset:])),
	}
}

// writeHeader writes the header of a frame of frameLength bytes at offset
// with its length negated (in progress) and the given flags. The first word
// (length, version, flags, type) is one 8-byte store (shm.StoreRelease64At),
// so a reader polling the length sees 0 or the whole negative length, never
// a torn value: binary.PutUint64's byte stores are merged into one store
// only by the optimizing compiler, and under -race a reader caught the
// length half written (a "corrupt" frame of length 0x00ffff3c in
// TestMultiProcessPublishers). The other words are plain stores; the
// commit that follows is a release store, which publishes them together
// with the payload.
func (t *Template) writeHeader(term []byte, offset, frameLength int, termID int32, flags uint8) {
	h := (*[HeaderLength]byte)(term[offset : offset+HeaderLength])
	shm.StoreRelease64At((*[8]byte)(h[:]), int64(t.word0&^(0xFF<<flagsShift)|uint64(flags)<<flagsShift|uint64(uint32(-int32(frameLength)))))
	binary.LittleEndian.PutUint64(h[8:], t.word1|uint64(uint32(offset)))
	binary.LittleEndian.PutUint64(h[16:], t.word2|uint64(uint32(termID))<<32)
	binary.LittleEndian.PutUint64(h[24:], 0)
}

// writePadding commits [offset, offset+length) of term as a padding frame:
// the default header with type PAD, as Aeron's appender pads the end of a
// term and its unblocker pads over an abandoned claim.
func (t *Template) writePadding(term []byte, offset, length int, termID int32) {
	t.writeHeader(term, offset, length, termID, uint8(t.word0>>flagsShift))
	binary.LittleEndian.PutUint16(term[offset+TypeOffset:], HdrTypePad)
	commitFrame(term, offset, int32(length))
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
// goroutines and processes may append concurrently through the plain
// methods; the ...Exclusive methods are for the only publisher of a log,
// which keeps the term id and tail offset itself and moves the tail with a
// release store instead of an atomic add, as Aeron's exclusive term
// appender does.
type Appender struct {
	term     []byte
	tail     *atomic.Int64
	template *Template
}

// Appender returns the appender for partition i (shared by every caller;
// an Appender holds no state of its own).
func (l *Log) Appender(i int) *Appender { return &l.appenders[i] }

// AlignedLength is the term space a frame carrying length bytes takes.
func AlignedLength(length int) int { return align(length+HeaderLength, FrameAlignment) }

// Reserve moves the shared tail by aligned bytes (an AlignedLength) and
// returns the raw tail before the move, for PutMessage.
func (a *Appender) Reserve(aligned int) int64 {
	return a.tail.Add(int64(aligned)) - int64(aligned)
}

// ReserveExclusive moves the tail of the log's only publisher, which passes
// its term id and tail offset, by aligned bytes with a release store, and
// returns the raw tail before the move.
func (a *Appender) ReserveExclusive(termID int32, termOffset, aligned int) int64 {
	raw := PackTail(termID, int32(termOffset))
	shm.StoreRelease64(a.tail, raw+int64(aligned))
	return raw
}

// frameAt checks the raw tail a frame of aligned bytes was reserved at. It
// returns the frame's offset and the resulting term offset, or a negative
// result (padding the rest of the term if the frame straddled its end).
func (a *Appender) frameAt(raw int64, aligned int) (offset, result int) {
	offset = int(uint32(raw))
	if result = offset + aligned; offset&(FrameAlignment-1) != 0 || result > len(a.term) {
		return 0, a.endOfTerm(raw)
	}
	return offset, result
}

// endOfTerm is the result for a frame reserved at raw that does not fit:
// AppendCorrupt for a misaligned tail, else AppendTripped after padding the
// rest of the term if this reservation straddled its end, else AppendFailed.
func (a *Appender) endOfTerm(raw int64) int {
	termOffset := int(uint32(raw))
	if termOffset&(FrameAlignment-1) != 0 {
		return AppendCorrupt
	}
	if termOffset < len(a.term) {
		a.template.writePadding(a.term, termOffset, len(a.term)-termOffset, TermID(raw))
		return AppendTripped
	}
	return AppendFailed
}

// PutMessage writes msg (at most MTU - HeaderLength bytes) as one frame in
// the space reserved at raw (by Reserve or ReserveExclusive with
// AlignedLength(len(msg))) and returns the resulting term offset or
// AppendTripped, AppendFailed or AppendCorrupt. It is the offer fast path:
// with the reservation, an atomic add (or a store), four header stores, the
// copy and the commit, in one call.
func (a *Appender) PutMessage(raw int64, msg []byte) int {
	frame := len(msg) + HeaderLength
	off := int(uint32(raw)) // frameAt, written out: it is too big to inline
	result := off + align(frame, FrameAlignment)
	if off&(FrameAlignment-1) != 0 || result > len(a.term) {
		return a.endOfTerm(raw)
	}
	a.template.writeHeader(a.term, off, frame, TermID(raw), FlagUnfragmented)
	copy(a.term[off+HeaderLength:off+frame], msg)
	commitFrame(a.term, off, int32(frame))
	return result
}

// AppendUnfragmented writes one frame carrying the concatenation of parts
// (total length at most MTU - HeaderLength) and returns the resulting term
// offset or AppendTripped/AppendFailed/AppendCorrupt.
func (a *Appender) AppendUnfragmented(length int, parts ...[]byte) int {
	aligned := align(length+HeaderLength, FrameAlignment)
	return a.putParts(a.Reserve(aligned), aligned, length, parts)
}

// AppendUnfragmentedExclusive is AppendUnfragmented for the only publisher
// of the log, which passes the active term id and its own tail offset.
func (a *Appender) AppendUnfragmentedExclusive(termID int32, termOffset int, length int, parts ...[]byte) int {
	aligned := align(length+HeaderLength, FrameAlignment)
	return a.putParts(a.ReserveExclusive(termID, termOffset, aligned), aligned, length, parts)
}

func (a *Appender) putParts(raw int64, aligned, length int, parts [][]byte) int {
	off, result := a.frameAt(raw, aligned)
	if result < 0 {
		return result
	}
	frame := length + HeaderLength
	a.template.writeHeader(a.term, off, frame, TermID(raw), FlagUnfragmented)
	p := off + HeaderLength
	for _, s := range parts {
		p += copy(a.term[p:off+frame], s)
	}
	commitFrame(a.term, off, int32(frame))
	return result
}

// fragmentedLength is the term space a message of length bytes takes in
// frames of at most maxPayload.
func fragmentedLength(length, maxPayload int) int {
	numMax := length / maxPayload
	remaining := length % maxPayload
	last := 0
	if remaining > 0 {
		last = align(remaining+HeaderLength, FrameAlignment)
	}
	// maxPayload+HeaderLength is MTU, a multiple of FrameAlignment.
	return numMax*(maxPayload+HeaderLength) + last
}

// AppendFragmented writes a message longer than maxPayload as a run of
// frames, all reserved at once. parts are concatenated.
func (a *Appender) AppendFragmented(length, maxPayload int, parts ...[]byte) int {
	required := fragmentedLength(length, maxPayload)
	return a.putFragments(a.Reserve(required), required, length, maxPayload, parts)
}

// AppendFragmentedExclusive is AppendFragmented for the only publisher of
// the log, which passes the active term id and its own tail offset.
func (a *Appender) AppendFragmentedExclusive(termID int32, termOffset int, length, maxPayload int, parts ...[]byte) int {
	required := fragmentedLength(length, maxPayload)
	return a.putFragments(a.ReserveExclusive(termID, termOffset, required), required, length, maxPayload, parts)
}

func (a *Appender) putFragments(raw int64, required, length, maxPayload int, parts [][]byte) int {
	off, result := a.frameAt(raw, required)
	if result < 0 {
		return result
	}
	termID := TermID(raw)
	flags := uint8(FlagBegin)
	left := length
	pi, po := 0, 0 // part index and offset in it
	for left > 0 {
		n := min(left, maxPayload)
		frame := n + HeaderLength
		if n == left {
			flags |= FlagEnd
		}
		a.template.writeHeader(a.term, off, frame, termID, flags)
		dst := a.term[off+HeaderLength : off+frame]
		for len(dst) > 0 {
			c := copy(dst, parts[pi][po:])
			dst = dst[c:]
			po += c
			if po == len(parts[pi]) {
				pi, po = pi+1, 0
			}
		}
		commitFrame(a.term, off, int32(frame))
		left -= n
		off += align(frame, FrameAlignment)
		flags = 0
	}
	return result
}

// Claim reserves an unfragmented frame for length bytes that the caller fills
// and then commits or aborts. It returns the frame offset and the resulting
// term offset (negative on trip/fail).
func (a *Appender) Claim(length int) (frameOffset, result int) {
	aligned := align(length+HeaderLength, FrameAlignment)
	return a.claimAt(a.Reserve(aligned), aligned, length)
}

// ClaimExclusive is Claim for the only publisher of the log, which passes
// the active term id and its own tail offset.
func (a *Appender) ClaimExclusive(termID int32, termOffset int, length int) (frameOffset, result int) {
	aligned := align(length+HeaderLength, FrameAlignment)
	return a.claimAt(a.ReserveExclusive(termID, termOffset, aligned), aligned, length)
}

func (a *Appender) claimAt(raw int64, aligned, length int) (frameOffset, result int) {
	off, result := a.frameAt(raw, aligned)
	if result < 0 {
		return 0, result
	}
	a.template.writeHeader(a.term, off, length+HeaderLength, TermID(raw), FlagUnfragmented)
	return off, result
}

// Commit publishes a claimed frame.
func Commit(term []byte, frameOffset int) {
	if n := FrameLengthVolatile(term, frameOffset); n < 0 {
		commitFrame(term, frameOffset, -n)
	}
}

// Abort turns a claimed frame into padding.
func Abort(term []byte, frameOffset int) {
	if n := FrameLengthVolatile(term, frameOffset); n < 0 {
		binary.LittleEndian.PutUint16(term[frameOffset+TypeOffset:], HdrTypePad)
		commitFrame(term, frameOffset, -n)
	}
}
