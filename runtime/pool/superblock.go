package pool

import (
	"encoding/binary"
	"fmt"
)

// This file is the only place that touches the bytes of the
// ShmRegionSuperblock SBE message (wire schema id 900, template 50, stored
// without a message header at offset 0 of every region). It uses
// encoding/binary at the schema's offsets and is to be switched to the
// generated gen/wire codec once that exists; the tests pin the offsets to
// the reference vector wire__ShmRegionSuperblock.bin.

const (
	sbMagic         = 0
	sbLayoutVersion = 8
	sbEpoch         = 12
	sbStreamID      = 20
	sbRegionType    = 24
	sbPoolID        = 26
	sbNSlots        = 28
	sbSlotBytes     = 32
	sbStrideBytes   = 36
	sbPID           = 40
	sbStartTS       = 48
	sbActivityTS    = 56 // 8-byte aligned: updated atomically
)

// Superblock is the decoded ShmRegionSuperblock of a region.
type Superblock struct {
	LayoutVersion       uint32
	Epoch               uint64
	StreamID            uint32
	RegionType          RegionType
	PoolID              uint16 // 0 for a header ring
	NSlots              uint32
	SlotBytes           uint32
	StrideBytes         uint32
	PID                 uint64
	StartTimestampNs    uint64
	ActivityTimestampNs uint64
}

// Encode writes the superblock, with the TPOLSHM1 magic, into b[:64].
// It is the owner's one-time initialization of a region.
func (s *Superblock) Encode(b []byte) error {
	if len(b) < SuperblockSize {
		return fmt.Errorf("encode superblock into %d bytes: %w", len(b), ErrShortRegion)
	}
	b = b[:SuperblockSize]
	le := binary.LittleEndian
	le.PutUint64(b[sbMagic:], Magic)
	le.PutUint32(b[sbLayoutVersion:], s.LayoutVersion)
	le.PutUint64(b[sbEpoch:], s.Epoch)
	le.PutUint32(b[sbStreamID:], s.StreamID)
	le.PutUint16(b[sbRegionType:], uint16(s.RegionType))
	le.PutUint16(b[sbPoolID:], s.PoolID)
	le.PutUint32(b[sbNSlots:], s.NSlots)
	le.PutUint32(b[sbSlotBytes:], s.SlotBytes)
	le.PutUint32(b[sbStrideBytes:], s.StrideBytes)
	le.PutUint64(b[sbPID:], s.PID)
	le.PutUint64(b[sbStartTS:], s.StartTimestampNs)
	le.PutUint64(b[sbActivityTS:], s.ActivityTimestampNs)
	return nil
}

// DecodeSuperblock reads the superblock at the start of b. It checks only
// what decoding needs (length and magic); [Superblock.Check] applies the
// rest of the rules.
func DecodeSuperblock(b []byte) (Superblock, error) {
	if len(b) < SuperblockSize {
		return Superblock{}, fmt.Errorf("superblock of %d bytes: %w", len(b), ErrShortRegion)
	}
	b = b[:SuperblockSize]
	le := binary.LittleEndian
	if m := le.Uint64(b[sbMagic:]); m != Magic {
		return Superblock{}, fmt.Errorf("magic %#016x: %w", m, ErrBadMagic)
	}
	return Superblock{
		LayoutVersion:       le.Uint32(b[sbLayoutVersion:]),
		Epoch:               le.Uint64(b[sbEpoch:]),
		StreamID:            le.Uint32(b[sbStreamID:]),
		RegionType:          RegionType(le.Uint16(b[sbRegionType:])),
		PoolID:              le.Uint16(b[sbPoolID:]),
		NSlots:              le.Uint32(b[sbNSlots:]),
		SlotBytes:           le.Uint32(b[sbSlotBytes:]),
		StrideBytes:         le.Uint32(b[sbStrideBytes:]),
		PID:                 le.Uint64(b[sbPID:]),
		StartTimestampNs:    le.Uint64(b[sbStartTS:]),
		ActivityTimestampNs: le.Uint64(b[sbActivityTS:]),
	}, nil
}
