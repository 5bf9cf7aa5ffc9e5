// Package frame is the payload convention shared by the no-driver example
// programs: a float32 tensor whose first element carries the frame's
// sequence number (as raw bits) and whose last element carries a CRC-32C
// of everything before it, so a consumer can check each frame it accepts.
package frame

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Fill writes the frame of sequence seq into v (at least two elements).
func Fill(v []float32, seq uint64) {
	v[0] = math.Float32frombits(uint32(seq))
	for i := 1; i < len(v)-1; i++ {
		v[i] = float32(seq%1000) + float32(i)*0.5
	}
	v[len(v)-1] = math.Float32frombits(sum(v[:len(v)-1]))
}

// Check reports whether v is intact and is frame seq.
func Check(v []float32, seq uint64) bool {
	n := len(v)
	if n < 2 || math.Float32bits(v[0]) != uint32(seq) {
		return false
	}
	return math.Float32bits(v[n-1]) == sum(v[:n-1])
}

func sum(v []float32) uint32 {
	var b [4]byte
	crc := uint32(0)
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		crc = crc32.Update(crc, castagnoli, b[:])
	}
	return crc
}
