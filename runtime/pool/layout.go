package pool

import "github.com/tpool-go/tpool/gen/wire"

// Layout constants of wire spec v1.2.
const (
	// SuperblockSize is the fixed size of the superblock at offset 0 of
	// every region (section 6); it is not derived from SBE metadata.
	SuperblockSize = 64
	// HeaderSlotBytes is the size of one header ring slot (section 8.1).
	HeaderSlotBytes = 256
	// MaxDims is MAX_DIMS: the capacity of TensorHeader dims and strides.
	MaxDims = 8
	// LayoutVersion is the superblock layout_version written and accepted.
	LayoutVersion uint32 = 1
	// Magic is the superblock magic, ASCII "TPOLSHM1" read as a
	// little-endian u64 (so the bytes on disk read "1MHSLPOT").
	Magic uint64 = 0x544F504C53484D31
	// PoolSlotBytesUnset is the payload-pool slot_bytes some producers
	// write (the C driver); readers accept it as well as stride_bytes.
	PoolSlotBytesUnset uint32 = 0xFFFFFFFF
	// StrideAlign is the granularity of a payload pool's stride_bytes.
	StrideAlign = 64

	// Wire schema identity checked on the TensorHeader embedded in a slot,
	// as the generated codecs define it.
	WireSchemaID           = wire.SchemaID
	WireSchemaVersion      = wire.SchemaVersion
	TensorHeaderTemplateID = wire.TensorHeaderTemplateID
	// TensorHeaderBlockLength is the TensorHeader SBE block length.
	TensorHeaderBlockLength = wire.TensorHeaderBlockLength
	// TensorHeaderLen is the length of headerBytes: the 8-byte SBE message
	// header plus the TensorHeader block.
	TensorHeaderLen = sbeMessageHeaderLen + TensorHeaderBlockLength

	sbeMessageHeaderLen = wire.MessageHeaderEncodedLength
)

// RegionType tells a header ring from a payload pool (superblock
// region_type).
type RegionType int16

// Region types of the wire schema.
const (
	HeaderRing  RegionType = 1
	PayloadPool RegionType = 2
)

var regionTypeNames = [...]string{HeaderRing: "HEADER_RING", PayloadPool: "PAYLOAD_POOL"}

func (t RegionType) String() string { return enumString(regionTypeNames[:], "RegionType", int(t)) }

// HeaderRingSize returns the byte size of a header ring of nslots slots.
func HeaderRingSize(nslots uint32) int64 {
	return SuperblockSize + int64(nslots)*HeaderSlotBytes
}

// PoolSize returns the byte size of a payload pool.
func PoolSize(nslots, strideBytes uint32) int64 {
	return SuperblockSize + int64(nslots)*int64(strideBytes)
}

func isPow2(n uint32) bool { return n != 0 && n&(n-1) == 0 }
