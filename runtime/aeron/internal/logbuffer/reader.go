package logbuffer

import (
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/shm"
)

// FragmentHandler receives one data frame's payload. buffer aliases the term
// and is valid only during the call.
type FragmentHandler func(buffer []byte, header *Header)

// Read delivers up to limit data fragments of term starting at offset to h,
// skipping padding. It returns the number of fragments and the offset after
// the last frame consumed. A frame whose length runs past the term end or
// is not a data/padding frame stops the read with corrupt set.
func Read(term []byte, offset int, h FragmentHandler, limit int, header *Header) (fragments, newOffset int, corrupt bool) {
	capacity := len(term)
	if offset < 0 || offset&(FrameAlignment-1) != 0 {
		return 0, offset, true
	}
	header.Term = term
	for fragments < limit && offset < capacity {
		n := int(FrameLengthVolatile(term, offset))
		if n <= 0 {
			break
		}
		if n < HeaderLength || n > capacity-offset {
			return fragments, offset, true
		}
		frameOffset := offset
		offset += align(n, FrameAlignment)
		t := FrameType(term, frameOffset)
		if t == HdrTypePad {
			continue
		}
		if t != HdrTypeData {
			return fragments, frameOffset, true
		}
		fragments++
		header.Offset = frameOffset
		h(term[frameOffset+HeaderLength:frameOffset+n], header)
	}
	return fragments, offset, false
}

// Action tells a controlled read what to do after a fragment.
type Action int

// Controlled poll actions, as in Aeron.
const (
	// ActionAbort: do not consume this fragment; stop.
	ActionAbort Action = iota + 1
	// ActionBreak: consume it and stop.
	ActionBreak
	// ActionCommit: consume it and commit the position now; continue.
	ActionCommit
	// ActionContinue: consume it and continue.
	ActionContinue
)

// ControlledFragmentHandler may stop or roll back a read.
type ControlledFragmentHandler func(buffer []byte, header *Header) Action

// ControlledRead is Read with flow control by the handler. position is
// advanced (release) whenever a fragment asks to commit and at the end.
func ControlledRead(term []byte, offset int, h ControlledFragmentHandler, limit int, header *Header,
	position *atomic.Int64, initialPosition int64) (fragments int, corrupt bool) {
	capacity := len(term)
	if offset < 0 || offset&(FrameAlignment-1) != 0 {
		return 0, true
	}
	header.Term = term
	start := offset
	committed := initialPosition
	for fragments < limit && offset < capacity {
		n := int(FrameLengthVolatile(term, offset))
		if n <= 0 {
			break
		}
		if n < HeaderLength || n > capacity-offset {
			corrupt = true
			break
		}
		frameOffset := offset
		aligned := align(n, FrameAlignment)
		offset += aligned
		t := FrameType(term, frameOffset)
		if t == HdrTypePad {
			continue
		}
		if t != HdrTypeData {
			offset = frameOffset
			corrupt = true
			break
		}
		header.Offset = frameOffset
		action := h(term[frameOffset+HeaderLength:frameOffset+n], header)
		if action == ActionAbort {
			offset -= aligned
			break
		}
		fragments++
		if action == ActionBreak {
			break
		}
		if action == ActionCommit {
			committed = initialPosition + int64(offset-start)
			shm.StoreRelease64(position, committed)
		}
	}
	if p := initialPosition + int64(offset-start); p > committed {
		shm.StoreRelease64(position, p)
	}
	return fragments, corrupt
}

// Clean zeroes the log from cleanPosition up to position, at most to the end
// of the term that cleanPosition is in, the way Aeron's driver cleans behind
// its slowest subscriber: the first 8 bytes (the frame length) are cleared
// last with a release store. It returns the new clean position. A negative
// or misaligned cleanPosition cleans nothing.
func (l *Log) Clean(cleanPosition, position int64) int64 {
	position &^= FrameAlignment - 1 // positions come from other processes
	if position <= cleanPosition || cleanPosition < 0 || cleanPosition&(FrameAlignment-1) != 0 {
		return cleanPosition
	}
	shift := PositionBitsToShift(l.termLength)
	term := l.terms[IndexByPosition(cleanPosition, shift)]
	termOffset := int(cleanPosition & int64(l.termLength-1))
	n := min(int(position-cleanPosition), l.termLength-termOffset)
	if n >= 8 {
		clear(term[termOffset+8 : termOffset+n])
		// The frame length goes last (positions are 32-aligned).
		commitFrame(term, termOffset+4, 0)
		commitFrame(term, termOffset, 0)
	} else {
		clear(term[termOffset : termOffset+n])
	}
	return cleanPosition + int64(n)
}
