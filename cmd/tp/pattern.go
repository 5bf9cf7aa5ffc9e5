package main

import "encoding/binary"

// The test pattern of tp produce, independent of dtype: the payload read
// as little-endian 64-bit words holds patternMagic, the sequence number,
// then word i = seq*patternMul + i; a tail shorter than a word holds the
// low bytes of the next word. Payloads shorter than 16 bytes carry no
// pattern.
const (
	patternMagic uint64 = 0x31305453_45545054 // "TPTEST01"
	patternMul   uint64 = 0x9E3779B97F4A7C15
)

func fillPattern(b []byte, seq uint64) {
	if len(b) < 16 {
		return
	}
	binary.LittleEndian.PutUint64(b, patternMagic)
	binary.LittleEndian.PutUint64(b[8:], seq)
	base := seq * patternMul
	i := 2
	for ; 8*i+8 <= len(b); i++ {
		binary.LittleEndian.PutUint64(b[8*i:], base+uint64(i))
	}
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], base+uint64(i))
	copy(b[8*i:], tail[:])
}

// hasPattern reports whether b starts like a test-pattern frame.
func hasPattern(b []byte) bool {
	return len(b) >= 16 && binary.LittleEndian.Uint64(b) == patternMagic
}

// checkPattern reports whether b is the intact pattern of frame seq.
func checkPattern(b []byte, seq uint64) bool {
	if !hasPattern(b) || binary.LittleEndian.Uint64(b[8:]) != seq {
		return false
	}
	base := seq * patternMul
	i := 2
	for ; 8*i+8 <= len(b); i++ {
		if binary.LittleEndian.Uint64(b[8*i:]) != base+uint64(i) {
			return false
		}
	}
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], base+uint64(i))
	n := len(b) - 8*i
	return string(b[8*i:]) == string(tail[:n])
}
