package pool

import "github.com/tpool-go/tpool/gen/wire"

// This file is the only place that touches the bytes of the SlotHeader SBE
// message (wire schema id 900, template 51, block length 60) that fills
// each 256-byte header ring slot without a message header. Its headerBytes
// var data (uint32 length prefix at offset 60) holds the embedded
// TensorHeader. It goes through the generated gen/wire codec; the tests
// also pin the layout to the reference vector wire__SlotHeader.bin.
//
// seq_commit (offset 0) is the seqlock word: only the atomics in seqlock.go
// read or write it, so slots are encoded with WrapInPlace, which never
// writes a field it is not given.

// Offsets used by tests that corrupt slots field by field.
const (
	shSeqCommit      = 0
	shValuesLen      = 8
	shPayloadSlot    = 12
	shPoolID         = 16
	shPayloadOffset  = 18
	shTimestamp      = 22
	shMetaVersion    = 30
	shPad            = 34 // 26 reserved bytes
	shHeaderBytesLen = 60 // the SBE block length
	shHeaderBytes    = 64
)

// slotFields are the SlotHeader fields other than seq_commit.
type slotFields struct {
	valuesLen     uint32
	payloadSlot   uint32
	poolID        uint16
	payloadOffset uint32
	timestampNs   uint64
	metaVersion   uint32
}

// writeSlot overwrites every byte of slot (HeaderSlotBytes long) except
// seq_commit: the producer's full overwrite of 8.3 step 3. It encodes in
// place (WrapInPlace leaves seq_commit to the seqlock's atomics) and
// encodes the tensor header straight into the reserved headerBytes.
func writeSlot(slot []byte, f *slotFields, h *TensorHeader) {
	var e wire.SlotHeaderEncoder
	if e.WrapInPlace(slot[:HeaderSlotBytes]) != nil {
		panic("pool: slot shorter than a slot header") // slots are HeaderSlotBytes long
	}
	clear(slot[shPad:shHeaderBytesLen]) // the reserved bytes, part of the overwrite
	e.SetValuesLenBytes(f.valuesLen)
	e.SetPayloadSlot(f.payloadSlot)
	e.SetPoolId(f.poolID)
	e.SetPayloadOffset(f.payloadOffset)
	e.SetTimestampNs(f.timestampNs)
	e.SetMetaVersion(f.metaVersion)
	th, err := e.ReserveHeaderBytes(TensorHeaderLen)
	if err != nil {
		panic("pool: slot too short for headerBytes")
	}
	encodeTensorHeader(th, h)
	if n, err := e.Finish(); err != nil || n != HeaderSlotBytes {
		panic("pool: slot header does not fill the slot")
	}
}

// readSlot decodes the fields of slot other than seq_commit and returns
// the headerBytes, or nil if its length is not TensorHeaderLen (the only
// length v1.2 allows, and the only one that fits the slot).
func readSlot(slot []byte, f *slotFields) []byte {
	var d wire.SlotHeaderDecoder
	if d.Wrap(slot[:HeaderSlotBytes:HeaderSlotBytes], wire.SlotHeaderBlockLength, wire.SchemaVersion) != nil {
		return nil
	}
	f.valuesLen = d.ValuesLenBytes()
	f.payloadSlot = d.PayloadSlot()
	f.poolID = d.PoolId()
	f.payloadOffset = d.PayloadOffset()
	f.timestampNs = d.TimestampNs()
	f.metaVersion = d.MetaVersion()
	hb := d.HeaderBytes()
	if len(hb) != TensorHeaderLen {
		return nil
	}
	return hb
}
