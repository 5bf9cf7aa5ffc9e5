package logbuffer

import (
	"bytes"
	"fmt"
	"testing"
)

// appendOp is one step of a publisher: an unfragmented or fragmented
// message, or a claim that is committed or aborted.
type appendOp struct {
	kind   string // "one" (a single buffer), "msg" (two parts, fragmented above the MTU), "claim", "abort"
	length int
}

// publisher drives one log the way runtime/aeron's Publication does, either
// through the shared tail (concurrent) or through its own tail offset
// (exclusive), rotating the log when an append trips.
type publisher struct {
	l         *Log
	exclusive bool
	index     int
	termID    int32
	offset    int
}

func (p *publisher) apply(op appendOp, payload []byte) int {
	for {
		a := p.l.Appender(p.index)
		maxPayload := p.l.MTU() - HeaderLength
		var result, frame int
		switch {
		case op.kind == "one" && p.exclusive:
			result = a.PutMessage(a.ReserveExclusive(p.termID, p.offset, AlignedLength(op.length)), payload[:op.length])
		case op.kind == "one":
			result = a.PutMessage(a.Reserve(AlignedLength(op.length)), payload[:op.length])
		case op.kind == "msg" && op.length <= maxPayload && p.exclusive:
			result = a.AppendUnfragmentedExclusive(p.termID, p.offset, op.length, payload[:op.length/2], payload[op.length/2:op.length])
		case op.kind == "msg" && op.length <= maxPayload:
			result = a.AppendUnfragmented(op.length, payload[:op.length/2], payload[op.length/2:op.length])
		case op.kind == "msg" && p.exclusive:
			result = a.AppendFragmentedExclusive(p.termID, p.offset, op.length, maxPayload, payload[:op.length])
		case op.kind == "msg":
			result = a.AppendFragmented(op.length, maxPayload, payload[:op.length])
		case p.exclusive:
			frame, result = a.ClaimExclusive(p.termID, p.offset, op.length)
		default:
			frame, result = a.Claim(op.length)
		}
		if result == AppendCorrupt {
			return result
		}
		if result > 0 {
			if op.kind == "claim" || op.kind == "abort" {
				term := p.l.Term(p.index)
				copy(term[frame+HeaderLength:], payload[:op.length])
				if op.kind == "abort" {
					Abort(term, frame)
				} else {
					Commit(term, frame)
				}
			}
			p.offset = result
			return result
		}
		// Tripped or failed: rotate and retry in the next term.
		p.l.RotateLog(p.termID-p.l.InitialTermID(), p.termID)
		p.index = (p.index + 1) % PartitionCount
		p.termID++
		p.offset = 0
	}
}

// TestExclusiveAppendsMatchConcurrent checks that the exclusive appenders,
// which store the tail instead of adding to it, leave the log byte for byte
// as the concurrent ones do, through several term rotations.
func TestExclusiveAppendsMatchConcurrent(t *testing.T) {
	payload := make([]byte, 3*termLength/8)
	for i := range payload {
		payload[i] = byte(i*7 + i>>8)
	}
	ops := []appendOp{{"msg", 0}, {"msg", 1}, {"one", 0}, {"one", 32}, {"msg", 32}, {"msg", 1000}, {"claim", 200},
		{"abort", 64}, {"one", 1376}, {"msg", 1376}, {"msg", 1377}, {"msg", 5000}, {"msg", len(payload)}}
	conc, concBytes := newLog(t)
	excl, exclBytes := newLog(t)
	pc := &publisher{l: conc, termID: 100}
	pe := &publisher{l: excl, termID: 100, exclusive: true}
	for step := range 400 {
		op := ops[step%len(ops)]
		rc, re := pc.apply(op, payload), pe.apply(op, payload)
		if rc != re {
			t.Fatalf("step %d %v: concurrent result %d, exclusive %d", step, op, rc, re)
		}
		if !bytes.Equal(concBytes, exclBytes) {
			t.Fatalf("step %d %v: logs differ: %s", step, op, firstDiff(concBytes, exclBytes))
		}
	}
	if pc.termID < 100+2*PartitionCount {
		t.Fatalf("only reached term %d; the test should rotate through every partition twice", pc.termID)
	}
	if conc.ProducerPosition() != excl.ProducerPosition() {
		t.Errorf("producer positions %d and %d", conc.ProducerPosition(), excl.ProducerPosition())
	}
}

func firstDiff(a, b []byte) string {
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("first at byte %d (%#x vs %#x)", i, a[i], b[i])
		}
	}
	return "lengths"
}

func TestExclusiveAppendRejectsMisalignedOffset(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	if r := a.PutMessage(a.ReserveExclusive(100, 9, AlignedLength(8)), make([]byte, 8)); r != AppendCorrupt {
		t.Errorf("message at offset 9: %d, want AppendCorrupt", r)
	}
	if r := a.AppendUnfragmentedExclusive(100, 3, 8, make([]byte, 8)); r != AppendCorrupt {
		t.Errorf("unfragmented at offset 3: %d, want AppendCorrupt", r)
	}
	if _, r := a.ClaimExclusive(100, 5, 8); r != AppendCorrupt {
		t.Errorf("claim at offset 5: %d, want AppendCorrupt", r)
	}
	if r := a.AppendFragmentedExclusive(100, 7, 4000, 1376, make([]byte, 4000)); r != AppendCorrupt {
		t.Errorf("fragmented at offset 7: %d, want AppendCorrupt", r)
	}
}
