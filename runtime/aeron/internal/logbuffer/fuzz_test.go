package logbuffer

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
)

// FuzzLogMaintenance sets arbitrary tail counters and an arbitrary active
// term count (another process writes them) over a log whose first term
// starts with arbitrary frames, then runs what the client and the driver
// do to a log they share: Clean, Unblock, UnblockAbandoned, Read and
// ControlledRead with arbitrary handler actions. Nothing may panic and no
// read may report a fragment outside the term. Seeds are real states: a
// fresh log, one with appended messages, one rotated.
func FuzzLogMaintenance(f *testing.F) {
	l, b := newLog(f)
	fresh := append([]byte(nil), b...)
	meta := b[3*termLength:]
	le := binary.LittleEndian
	seed := func(actions uint64, clean, pos, blocked int64) {
		tails := make([]int64, PartitionCount)
		for i := range tails {
			tails[i] = int64(le.Uint64(meta[TermTailCountersOffset+8*i:]))
		}
		f.Add(append([]byte(nil), l.Term(0)[:1024]...), tails[0], tails[1], tails[2], l.ActiveTermCount(), clean, pos, blocked, actions)
	}
	seed(0, 0, 0, 0)
	for i := range 5 {
		l.Appender(0).AppendUnfragmented(10 * i)
	}
	seed(0x0123456789abcdef, 0, 256, 128)
	_, _, corrupt := Read(l.Term(0), 0, func([]byte, *Header) {}, 100, &Header{})
	if corrupt {
		f.Fatal("seed log corrupt")
	}
	l.RotateLog(0, 100)
	seed(0xffff, 64, termLength+64, termLength)
	f.Fuzz(func(t *testing.T, term []byte, t0, t1, t2 int64, active int32, clean, pos, blocked int64, actions uint64) {
		copy(b, fresh)
		copy(l.Term(0), term[:min(len(term), 1024)])
		for i, v := range []int64{t0, t1, t2} {
			l.Tail(i).Store(v)
		}
		le.PutUint32(meta[ActiveTermCountOffset:], uint32(active))
		_ = l.RawTailVolatile()
		_ = l.ProducerPosition()
		_ = l.Clean(clean, pos)
		_ = l.Unblock(blocked)
		_ = l.UnblockAbandoned(blocked)
		h := &Header{}
		for i := range PartitionCount {
			term := l.Term(i)
			off := int(pos) & (len(term) - 1) &^ (FrameAlignment - 1)
			n, next, _ := Read(term, off, func(buf []byte, h *Header) {
				if len(buf) > len(term) {
					t.Fatalf("fragment of %d bytes", len(buf))
				}
				_ = h.Position()
			}, 50, h)
			if n < 0 || next < off {
				t.Fatalf("Read from %d: %d fragments, next %d", off, n, next)
			}
			var position atomic.Int64
			a := actions
			_, _ = ControlledRead(term, off, func(buf []byte, h *Header) Action {
				if len(buf) > len(term) {
					t.Fatalf("fragment of %d bytes", len(buf))
				}
				act := Action(a%4) + ActionAbort
				a /= 4
				return act
			}, 50, h, &position, pos)
		}
	})
}

// TestCleanNegativePosition: a negative clean position once indexed the
// terms at -1 and panicked (found by FuzzLogMaintenance).
func TestCleanNegativePosition(t *testing.T) {
	l, _ := newLog(t)
	for _, tc := range []struct{ clean, pos int64 }{{-64, 96}, {-termLength, 0}, {-1 << 62, 1 << 62}} {
		if got := l.Clean(tc.clean, tc.pos); got != tc.clean {
			t.Errorf("Clean(%d, %d) = %d, want %d (nothing cleaned)", tc.clean, tc.pos, got, tc.clean)
		}
	}
}
