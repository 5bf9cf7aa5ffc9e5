package pool

import (
	"encoding/binary"
	"testing"
)

// FuzzConsumerWords stores arbitrary seqlock words (as a crashed or
// hostile producer could leave them) in every slot of a ring and runs
// the consumer's Ready, Newest and Read on them: no panic, and Newest
// reports a committed word that is in the ring.
func FuzzConsumerWords(f *testing.F) {
	s := newTestStream(f, 4, 64)
	h := hdr(Uint8, RowMajor, []int32{4}, nil)
	// Real data: the words of a ring after frames 0..5 were committed, and
	// with frame 6 claimed but not committed.
	for range 6 {
		c, err := s.prod.Claim(4)
		if err != nil {
			f.Fatal(err)
		}
		if err := s.prod.Commit(&c, &FrameMeta{Tensor: h}); err != nil {
			f.Fatal(err)
		}
	}
	words := func(extra uint64) []byte {
		b := make([]byte, 8*len(s.prod.ring.words)+8)
		for i := range s.prod.ring.words {
			binary.LittleEndian.PutUint64(b[8*i:], s.prod.ring.words[i].Load())
		}
		binary.LittleEndian.PutUint64(b[len(b)-8:], extra)
		return b
	}
	f.Add(words(5))
	f.Add(words(6))
	f.Add(words(1 << 63))
	if _, err := s.prod.Claim(4); err != nil {
		f.Fatal(err)
	}
	f.Add(words(6))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The consumer maps the ring read-only: write through the
		// producer's mapping of the same file.
		ring := s.prod.ring.words
		in := make([]byte, 8*len(ring)+8)
		copy(in, data)
		for i := range ring {
			ring[i].Store(binary.LittleEndian.Uint64(in[8*i:]))
		}
		seq := binary.LittleEndian.Uint64(in[8*len(ring):])
		_ = s.cons.Ready(seq)
		_ = s.cons.Ready(seq + 1)
		newest, ok := s.cons.Newest()
		if ok {
			found := false
			for i := range ring {
				if ring[i].Load() == committed(newest) {
					found = true
				}
			}
			if !found {
				t.Fatalf("Newest = %d, not committed in any slot", newest)
			}
			_ = s.cons.Ready(newest)
			_, _ = s.cons.Read(5, newest)
		}
		_, _ = s.cons.Read(5, seq)
	})
}
