package logbuffer

func zeroedBack(term []byte, from, limit int) bool {
	for i := from - FrameAlignment; i >= limit; i -= FrameAlignment {
		if FrameLengthVolatile(term, i) != 0 {
			return false
		}
	}
	return true
}

// unblockTerm pads over a frame a dead publisher claimed but never
// committed. It returns 0 (nothing done), 1 (unblocked) or 2 (unblocked to
// the end of the term), as Aeron's TermUnblocker does.
func (l *Log) unblockTerm(term []byte, blockedOffset, tailOffset int, termID int32) int {
	n := int(FrameLengthVolatile(term, blockedOffset))
	if n < 0 {
		if -n > len(term)-blockedOffset {
			return 0
		}
		l.template.writePadding(term, blockedOffset, -n, termID)
		return 1
	}
	if n != 0 {
		return 0
	}
	current := blockedOffset + FrameAlignment
	for current < tailOffset {
		if FrameLengthVolatile(term, current) != 0 {
			if zeroedBack(term, current, blockedOffset) {
				l.template.writePadding(term, blockedOffset, current-blockedOffset, termID)
				return 1
			}
			return 0
		}
		current += FrameAlignment
	}
	if current >= len(term) && FrameLengthVolatile(term, blockedOffset) == 0 {
		l.template.writePadding(term, blockedOffset, len(term)-blockedOffset, termID)
		return 2
	}
	return 0
}

// Unblock lets consumers pass a position where a publisher died between
// claiming space and committing its frame (Aeron's LogBufferUnblocker). The
// driver calls it when the consumer position has not moved for the
// publication unblock timeout while the producer is ahead. It reports
// whether it changed the log.
func (l *Log) Unblock(blockedPosition int64) bool {
	if blockedPosition < 0 || blockedPosition&(FrameAlignment-1) != 0 {
		return false
	}
	shift := PositionBitsToShift(l.termLength)
	blockedTermCount := int32(blockedPosition >> shift)
	blockedOffset := int(blockedPosition & int64(l.termLength-1))
	active := l.ActiveTermCount()
	if active == blockedTermCount-1 && blockedOffset == 0 {
		termID := TermID(l.tails[IndexByTermCount(active)].Load())
		return l.RotateLog(active, termID)
	}
	index := IndexByTermCount(blockedTermCount)
	raw := l.tails[index].Load()
	termID := TermID(raw)
	if raw&(FrameAlignment-1) != 0 {
		return false
	}
	switch l.unblockTerm(l.terms[index], blockedOffset, TermOffset(raw, l.termLength), termID) {
	case 2:
		l.RotateLog(blockedTermCount, termID)
		return true
	case 1:
		return true
	}
	return false
}

// UnblockAbandoned pads the active term from blockedPosition to its tail
// when all of that space is unwritten: publishers claimed it (moved the
// tail) and died before writing a frame header. Unblock leaves this case
// alone, as Aeron's unblocker does, because a live publisher may still be
// about to write its header there; so, in Aeron, a draining publication
// whose last publisher died at that moment stays blocked. The driver calls
// UnblockAbandoned only for a draining publication (no publisher left),
// once the position has stayed blocked for a timer tick. blockedPosition
// must be a frame boundary (a subscriber's position), as for Unblock. It
// reports whether it changed the log.
func (l *Log) UnblockAbandoned(blockedPosition int64) bool {
	if blockedPosition < 0 || blockedPosition&(FrameAlignment-1) != 0 {
		return false
	}
	termCount := int32(blockedPosition >> PositionBitsToShift(l.termLength))
	if l.ActiveTermCount() != termCount {
		return false
	}
	index := IndexByTermCount(termCount)
	raw := l.tails[index].Load()
	if raw&(FrameAlignment-1) != 0 {
		return false
	}
	offset := int(blockedPosition & int64(l.termLength-1))
	tail := TermOffset(raw, l.termLength)
	if tail <= offset || tail >= l.termLength { // nothing claimed, or Unblock's case (claimed to the end)
		return false
	}
	term := l.terms[index]
	if !zeroedBack(term, tail, offset) {
		return false
	}
	l.template.writePadding(term, offset, tail-offset, TermID(raw))
	return true
}
