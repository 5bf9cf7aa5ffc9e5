package pool

import "encoding/binary"

// This file is the only place that touches the bytes of the SlotHeader SBE
// message (wire schema id 900, template 51, block length 60) that fills
// each 256-byte header ring slot without a message header. Its headerBytes
// var data (uint32 length prefix) holds the embedded TensorHeader. It uses
// encoding/binary at the schema's offsets and is to be switched to the
// generated gen/wire codec once that exists; the tests pin the offsets to
// the reference vector wire__SlotHeader.bin.
//
// seq_commit (offset 0) is never touched here: it is the seqlock word and
// only the atomics in seqlock.go read or write it.

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
// seq_commit: the producer's full overwrite of 8.3 step 3.
func writeSlot(slot []byte, f *slotFields, h *TensorHeader) {
	slot = slot[:HeaderSlotBytes]
	le := binary.LittleEndian
	le.PutUint32(slot[shValuesLen:], f.valuesLen)
	le.PutUint32(slot[shPayloadSlot:], f.payloadSlot)
	le.PutUint16(slot[shPoolID:], f.poolID)
	le.PutUint32(slot[shPayloadOffset:], f.payloadOffset)
	le.PutUint64(slot[shTimestamp:], f.timestampNs)
	le.PutUint32(slot[shMetaVersion:], f.metaVersion)
	clear(slot[shPad:shHeaderBytesLen])
	le.PutUint32(slot[shHeaderBytesLen:], TensorHeaderLen)
	encodeTensorHeader(slot[shHeaderBytes:], h)
}

// readSlot decodes the fields of slot other than seq_commit and returns
// the headerBytes, or nil if its length prefix is not TensorHeaderLen (the
// only length v1.2 allows, and the only one that fits the slot).
func readSlot(slot []byte, f *slotFields) []byte {
	slot = slot[:HeaderSlotBytes]
	le := binary.LittleEndian
	f.valuesLen = le.Uint32(slot[shValuesLen:])
	f.payloadSlot = le.Uint32(slot[shPayloadSlot:])
	f.poolID = le.Uint16(slot[shPoolID:])
	f.payloadOffset = le.Uint32(slot[shPayloadOffset:])
	f.timestampNs = le.Uint64(slot[shTimestamp:])
	f.metaVersion = le.Uint32(slot[shMetaVersion:])
	if le.Uint32(slot[shHeaderBytesLen:]) != TensorHeaderLen {
		return nil
	}
	return slot[shHeaderBytes : shHeaderBytes+TensorHeaderLen]
}
