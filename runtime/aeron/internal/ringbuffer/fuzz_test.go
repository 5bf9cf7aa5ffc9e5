package ringbuffer

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

// fuzzCapacity is the data region of the fuzzed ring buffer: small, so
// that arbitrary inputs cover all of it and its trailer.
const fuzzCapacity = 512

// FuzzRingBuffer lays arbitrary bytes over a ring buffer (data region and
// trailer: head, tail and correlation counters included), as a crashed or
// hostile client could leave it, and runs the consumer's side on it:
// Read, Unblock, Read again, Discard, then a Write and a Read. Nothing may
// panic, and every message handed out must lie inside the data region.
func FuzzRingBuffer(f *testing.F) {
	mem := testmem.Bytes(f, fuzzCapacity+TrailerLength)
	// Real data: records written through Write, one half-written (a dead
	// producer's negative length), and one claimed but never written.
	seed := func(prep func(r *RingBuffer)) {
		clear(mem)
		r, err := New(mem)
		if err != nil {
			f.Fatal(err)
		}
		prep(r)
		f.Add(append([]byte(nil), mem...))
	}
	seed(func(r *RingBuffer) {
		for i := range 5 {
			_ = r.Write(int32(i+1), make([]byte, 10*i))
		}
	})
	seed(func(r *RingBuffer) {
		_ = r.Write(1, []byte("first"))
		idx := r.claim(align(RecordHeaderLength+24, RecordAlignment))
		r.setLength(idx, -(RecordHeaderLength + 24))
	})
	seed(func(r *RingBuffer) {
		_ = r.claim(align(RecordHeaderLength+8, RecordAlignment))
		_ = r.Write(2, []byte("after a gap"))
	})
	seed(func(r *RingBuffer) {
		for i := range 40 {
			_ = r.Write(3, make([]byte, 20))
			if i%3 == 0 {
				_, _ = r.Read(func(int32, []byte) {}, 2)
			}
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := copy(mem, data)
		clear(mem[n:])
		r, err := New(mem)
		if err != nil {
			t.Fatal(err)
		}
		h := func(typ int32, msg []byte) {
			if typ == PaddingMsgTypeID || len(msg) > fuzzCapacity-RecordHeaderLength {
				t.Fatalf("message type %d of %d bytes", typ, len(msg))
			}
		}
		read := func() {
			if _, err := r.Read(h, 1000); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read: %v", err)
			}
		}
		read()
		r.Unblock()
		read()
		r.Unblock()
		read()
		r.Discard()
		if r.Head() != r.Tail() {
			t.Fatalf("after Discard head %d tail %d", r.Head(), r.Tail())
		}
		_ = r.NextCorrelationID()
		if err := r.Write(7, []byte("after discard")); err == nil {
			// One Read stops at the end of the buffer, as Aeron's does: a
			// record written after padding at the end needs a second one.
			got := 0
			for range 2 {
				if _, err := r.Read(func(typ int32, msg []byte) {
					if typ == 7 && string(msg) == "after discard" {
						got++
					}
				}, 10); err != nil {
					t.Fatalf("Read after Discard and Write: %v", err)
				}
			}
			if got != 1 {
				t.Fatalf("read back %d copies of the message written after Discard", got)
			}
		} else if !errors.Is(err, ErrFull) {
			// A tail near MaxInt64 may leave no room; anything else is a bug.
			t.Logf("Write after Discard: %v (tail %d)", err, binary.LittleEndian.Uint64(mem[fuzzCapacity+TailPositionOffset:]))
		}
	})
}
