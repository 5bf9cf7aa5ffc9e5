package pool

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// validSlot returns the bytes of a committed-looking slot for the fuzz
// seeds: a 4 x 8 uint32 tensor in pool 2 (stride 128), payload slot idx.
func validSlot(idx uint32) []byte {
	b := make([]byte, HeaderSlotBytes)
	h := hdr(Uint32, RowMajor, []int32{4, 8}, nil)
	writeSlot(b, &slotFields{valuesLen: 128, payloadSlot: idx, poolID: 2}, &h)
	return b
}

// FuzzConsumerSlot writes arbitrary bytes into a committed header slot
// and reads it: the consumer must never panic, and whatever it accepts
// must satisfy every rule.
func FuzzConsumerSlot(f *testing.F) {
	f.Add(validSlot(0))
	if ref, err := os.ReadFile(filepath.Join(vectorDir, "wire__SlotHeader.bin")); err == nil {
		f.Add(ref)
	}
	bad := validSlot(0)
	binary.LittleEndian.PutUint32(bad[shHeaderBytesLen:], 0xffffffff)
	f.Add(bad)
	s := newTestStream(f, 4, 64, 128)
	seq := uint64(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		seq++
		idx := seq & s.prod.ring.mask
		slot := s.prod.ring.slot(idx)
		n := copy(slot, data)
		clear(slot[n:])
		// Fuzz the slot index in the data as written, but keep seeds valid
		// by rewriting payload_slot when the input is a seed for slot 0.
		if len(data) >= 16 && binary.LittleEndian.Uint32(data[shPayloadSlot:]) == 0 {
			binary.LittleEndian.PutUint32(slot[shPayloadSlot:], uint32(idx))
		}
		s.prod.ring.words[idx].Store(committed(seq))
		fr, r := s.cons.Read(5, seq)
		if r != DropNone {
			if r.Late() {
				t.Fatalf("single-threaded read dropped as late: %v", r)
			}
			return
		}
		if uint64(fr.PayloadSlot) != idx || (fr.PoolID != 1 && fr.PoolID != 2) {
			t.Fatalf("accepted slot %d pool %d", fr.PayloadSlot, fr.PoolID)
		}
		if len(fr.Payload) > int(s.strides[fr.PoolID]) {
			t.Fatalf("accepted %d payload bytes in stride %d", len(fr.Payload), s.strides[fr.PoolID])
		}
		h := fr.Tensor
		if h.resolve() != DropNone || h != fr.Tensor {
			t.Fatalf("accepted tensor header %+v that does not validate", fr.Tensor)
		}
		if h.Dtype != Bit && len(fr.Payload) > 0 {
			if _, ok := h.Extent(int64(len(fr.Payload))); !ok {
				t.Fatalf("accepted tensor %+v beyond %d payload bytes", h, len(fr.Payload))
			}
		}
		if binary.LittleEndian.Uint32(slot[shPayloadOffset:]) != 0 {
			t.Fatal("accepted non-zero payload offset")
		}
		// Touch every payload byte: must stay inside the mapping.
		var sum byte
		for _, c := range fr.Payload {
			sum += c
		}
		_ = sum
		if r := s.cons.Verify(&fr); r != DropNone {
			t.Fatalf("Verify: %v", r)
		}
	})
}

// FuzzTensorHeader decodes and validates arbitrary embedded headers.
func FuzzTensorHeader(f *testing.F) {
	f.Add(validSlot(0)[shHeaderBytes:])
	if ref, err := os.ReadFile(filepath.Join(vectorDir, "wire__TensorHeader__hdr.bin")); err == nil {
		f.Add(ref)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < TensorHeaderLen {
			data = append(data, make([]byte, TensorHeaderLen-len(data))...)
		}
		var h TensorHeader
		if decodeTensorHeader(data, &h) != DropNone {
			return
		}
		if h.resolve() != DropNone {
			return
		}
		n := int(h.NDims)
		if n < 1 || n > MaxDims || h.Dtype.Size() == 0 || (h.MajorOrder != RowMajor && h.MajorOrder != ColumnMajor) {
			t.Fatalf("accepted %+v", h)
		}
		for i := range n {
			if h.Dims[i] < 0 || h.Strides[i] <= 0 {
				t.Fatalf("accepted dims %v strides %v", h.Dims, h.Strides)
			}
		}
		ext, _ := h.Extent(1 << 32)
		if ext < 0 {
			t.Fatalf("negative extent %d", ext)
		}
		payload := make([]byte, 256)
		if v, err := NewView[uint8](payload, &h); err == nil && v.Len() > 0 {
			idx := make([]int, n)
			for i := range n {
				idx[i] = v.Dim(i) - 1
			}
			_ = v.At(idx...) // the last element is inside the payload
		}
	})
}
