package pool

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/runtime/shm"
)

// viewSeed returns a fuzz input for FuzzView: the embedded header of h
// followed by the payload length.
func viewSeed(h TensorHeader, payloadLen uint16) []byte {
	b := make([]byte, TensorHeaderLen+2)
	encodeTensorHeader(b, &h)
	binary.LittleEndian.PutUint16(b[TensorHeaderLen:], payloadLen)
	return b
}

// FuzzView views a payload through every header that validation accepts
// and calls every accessor with in-range arguments: none may panic, and
// what they return must agree with the header. The input is an embedded
// tensor header (as a producer writes it into a slot) and a payload
// length.
func FuzzView(f *testing.F) {
	f.Add(viewSeed(hdr(Uint32, RowMajor, []int32{4, 8}, nil), 128))
	f.Add(viewSeed(hdr(Uint8, RowMajor, []int32{3, 0}, nil), 0))
	f.Add(viewSeed(hdr(Uint8, ColumnMajor, []int32{0, 3}, nil), 16))
	f.Add(viewSeed(hdr(Uint16, RowMajor, []int32{3, 2}, []int32{8, 2}), 24))
	f.Add(viewSeed(hdr(Float64, ColumnMajor, []int32{2, 3, 4}, nil), 192))
	if ref, err := os.ReadFile(filepath.Join(vectorDir, "wire__TensorHeader__hdr.bin")); err == nil {
		f.Add(append(ref, 0, 4))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < TensorHeaderLen+2 {
			data = append(data, make([]byte, TensorHeaderLen+2-len(data))...)
		}
		var h TensorHeader
		if decodeTensorHeader(data[:TensorHeaderLen], &h) != DropNone || h.resolve() != DropNone {
			return
		}
		payload := make([]byte, binary.LittleEndian.Uint16(data[TensorHeaderLen:]))
		for i := range payload {
			payload[i] = byte(i)
		}
		switch h.Dtype {
		case Uint8, Boolean, Bytes:
			exerciseView[uint8](t, payload, &h)
		case Int8:
			exerciseView[int8](t, payload, &h)
		case Uint16:
			exerciseView[uint16](t, payload, &h)
		case Int16:
			exerciseView[int16](t, payload, &h)
		case Uint32:
			exerciseView[uint32](t, payload, &h)
		case Int32:
			exerciseView[int32](t, payload, &h)
		case Uint64:
			exerciseView[uint64](t, payload, &h)
		case Int64:
			exerciseView[int64](t, payload, &h)
		case Float32:
			exerciseView[float32](t, payload, &h)
		case Float64:
			exerciseView[float64](t, payload, &h)
		}
		// Every dtype also meets a mismatched type: an error, never a panic.
		_, _ = NewView[uint64](payload, &h)
	})
}

// exerciseView calls every accessor of the view of payload through h with
// arguments in range.
func exerciseView[T shm.Elem](t *testing.T, payload []byte, h *TensorHeader) {
	v, err := NewView[T](payload, h)
	if err != nil {
		return
	}
	n := v.NDims()
	if n != int(h.NDims) {
		t.Fatalf("NDims = %d, header %d", n, h.NDims)
	}
	total := int64(1)
	for i := range n {
		if v.Dim(i) != int(h.Dims[i]) {
			t.Fatalf("Dim(%d) = %d, header %d", i, v.Dim(i), h.Dims[i])
		}
		total *= int64(v.Dim(i))
	}
	if int64(v.Len()) != total || int64(v.Len()) != h.Len() {
		t.Fatalf("Len = %d, want %d", v.Len(), total)
	}
	if flat, ok := v.Flat(); ok && len(flat) != v.Len() {
		t.Fatalf("Flat has %d elements, Len %d", len(flat), v.Len())
	}
	if n == 2 {
		rows := v.Dim(0)
		for _, i := range []int{0, 1, rows / 2, rows - 2, rows - 1} {
			if i < 0 || i >= rows {
				continue
			}
			if row, ok := v.Row(i); ok && len(row) != v.Dim(1) {
				t.Fatalf("Row(%d) has %d elements, dim 1 is %d", i, len(row), v.Dim(1))
			}
		}
	}
	if v.Len() == 0 {
		return
	}
	// The corners of the index space (first and last index of every
	// dimension, 2^n of them, n <= MaxDims) cover the extreme offsets.
	idx := make([]int, n)
	for mask := range 1 << n {
		for i := range n {
			idx[i] = 0
			if mask&(1<<i) != 0 {
				idx[i] = v.Dim(i) - 1
			}
		}
		x := v.At(idx...)
		v.Set(x, idx...)
	}
}
