// Package cam is what the camera example's producer and consumer agree
// on: the frame shape, the metadata keys, the calibration blob and the
// test pattern.
package cam

import (
	"encoding/binary"
	"hash/crc32"
)

// The frame: 480 rows of 640 uint16 pixels.
const (
	Rows = 480
	Cols = 640
)

// Metadata attribute keys (DataSourceMeta) and the calibration blob's
// type (MetaBlob).
const (
	KeySensor     = "sensor"
	KeyExposureUs = "exposure_us"
	KeyGain       = "gain"
	// BlobDarkFrame is a per-pixel dark frame (uint16, little-endian,
	// row major) to subtract.
	BlobDarkFrame uint32 = 1
)

// DarkFrame returns the example's calibration blob.
func DarkFrame() []byte {
	b := make([]byte, 2*Rows*Cols)
	for i := range Rows * Cols {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(100+(i*7919)%23))
	}
	return b
}

// DarkFrameCRC is the CRC32C of DarkFrame, for the consumer's check.
func DarkFrameCRC() uint32 {
	return crc32.Checksum(DarkFrame(), crc32.MakeTable(crc32.Castagnoli))
}

// Pixel is the test pattern: pixel i of frame seq.
func Pixel(seq uint64, i int) uint16 { return uint16(seq*31 + uint64(i)) }

// FillRow writes row r of frame seq's test pattern into row.
func FillRow(row []uint16, seq uint64, r int) {
	for c := range row {
		row[c] = Pixel(seq, r*Cols+c)
	}
}

// Intact reports whether img (Rows*Cols pixels) holds frame seq's pattern.
func Intact(img []uint16, seq uint64) bool {
	if len(img) != Rows*Cols {
		return false
	}
	for i, v := range img {
		if v != Pixel(seq, i) {
			return false
		}
	}
	return true
}
