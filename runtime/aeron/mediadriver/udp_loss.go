package mediadriver

import (
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
)

// lossDetector finds the first gap in a term between the rebuild position
// and the high-water mark and decides when to NAK it, as Aeron's
// aeron_loss_detector: a new gap is NAKed after delayNs, and again every
// retryNs while it stays.
type lossDetector struct {
	delayNs, retryNs int64
	active           bool
	termID           int32
	termOffset       int32
	length           int32
	expiryNs         int64
}

// scan walks term from the rebuild position; it returns the offset up to
// which the term is complete, and a gap to NAK now (nak true).
func (d *lossDetector) scan(term []byte, rebuildPos, hwmPos, nowNs int64, shift int, initialTermID int32) (rebuildOffset int, gapFound, nak bool) {
	termLength := len(term)
	mask := int64(termLength - 1)
	offset := int(rebuildPos & mask)
	limit := offset + int(min(hwmPos-rebuildPos, int64(termLength-offset)))
	for offset < limit {
		n := int(logbuffer.FrameLengthVolatile(term, offset))
		if n <= 0 {
			break
		}
		offset += logbuffer.AlignedLength(n - logbuffer.HeaderLength)
	}
	offset = min(offset, termLength)
	if offset >= limit {
		d.active = false
		return offset, false, false
	}
	gapEnd := offset + logbuffer.FrameAlignment
	for gapEnd < limit && logbuffer.FrameLengthVolatile(term, gapEnd) == 0 {
		gapEnd += logbuffer.FrameAlignment
	}
	gapEnd = min(gapEnd, limit)
	termID := int32(rebuildPos>>shift) + initialTermID
	if !d.active || d.termID != termID || d.termOffset != int32(offset) {
		d.active, d.termID, d.termOffset = true, termID, int32(offset)
		d.expiryNs = nowNs + d.delayNs
	}
	d.length = int32(gapEnd - offset)
	if nowNs >= d.expiryNs {
		d.expiryNs = nowNs + d.retryNs
		return offset, true, true
	}
	return offset, true, false
}

// retransmitHandler answers NAKs on the sender side, as Aeron's
// aeron_retransmit_handler: a NAKed range is resent after delayNs (at once
// for unicast), then NAKs for the same range are ignored for lingerNs, so
// that a burst of NAKs from the same loss costs one retransmission.
type retransmitHandler struct {
	delayNs, lingerNs int64
	actions           [maxRetransmits]retransmitAction
	overflows         int64
}

type retransmitState uint8

const (
	retransmitFree retransmitState = iota
	retransmitDelayed
	retransmitLinger
)

type retransmitAction struct {
	state      retransmitState
	termID     int32
	termOffset int32
	length     int32
	expiryNs   int64
}

// onNAK registers a NAK; resend is called for ranges due now. It reports
// false when every slot was busy (Aeron's retransmit overflow).
func (h *retransmitHandler) onNAK(termID, termOffset, length int32, nowNs int64, resend func(termID, termOffset, length int32)) bool {
	free := -1
	for i := range h.actions {
		a := &h.actions[i]
		if a.state != retransmitFree && a.termID == termID && a.termOffset == termOffset {
			return true // already being handled
		}
		if a.state == retransmitFree && free < 0 {
			free = i
		}
	}
	if free < 0 {
		h.overflows++
		return false
	}
	a := &h.actions[free]
	a.termID, a.termOffset, a.length = termID, termOffset, length
	if h.delayNs == 0 {
		resend(termID, termOffset, length)
		a.state, a.expiryNs = retransmitLinger, nowNs+h.lingerNs
	} else {
		a.state, a.expiryNs = retransmitDelayed, nowNs+h.delayNs
	}
	return true
}

// processTimeouts resends delayed ranges and frees lingering ones.
func (h *retransmitHandler) processTimeouts(nowNs int64, resend func(termID, termOffset, length int32)) {
	for i := range h.actions {
		a := &h.actions[i]
		if a.state == retransmitFree || nowNs < a.expiryNs {
			continue
		}
		if a.state == retransmitDelayed {
			resend(a.termID, a.termOffset, a.length)
			a.state, a.expiryNs = retransmitLinger, nowNs+h.lingerNs
		} else {
			a.state = retransmitFree
		}
	}
}
