package pool

import (
	"fmt"

	"github.com/tpool-go/tpool/gen/wire"
)

// This file is the only place that touches the bytes of the
// ShmRegionSuperblock SBE message (wire schema id 900, template 50, stored
// without a message header at offset 0 of every region). It goes through
// the generated gen/wire codec; the tests also pin the layout to the
// reference vector wire__ShmRegionSuperblock.bin.

// sbActivityTS is the offset of activity_timestamp_ns, the one field
// updated after creation (atomically, so it must be 8-byte aligned).
const sbActivityTS = 56

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
	var e wire.ShmRegionSuperblockEncoder
	if len(b) < SuperblockSize || e.Wrap(b[:SuperblockSize]) != nil {
		return fmt.Errorf("encode superblock into %d bytes: %w", len(b), ErrShortRegion)
	}
	e.SetMagic(Magic)
	e.SetLayoutVersion(s.LayoutVersion)
	e.SetEpoch(s.Epoch)
	e.SetStreamId(s.StreamID)
	e.SetRegionType(wire.RegionType(s.RegionType))
	e.SetPoolId(s.PoolID)
	e.SetNslots(s.NSlots)
	e.SetSlotBytes(s.SlotBytes)
	e.SetStrideBytes(s.StrideBytes)
	e.SetPid(s.PID)
	e.SetStartTimestampNs(s.StartTimestampNs)
	e.SetActivityTimestampNs(s.ActivityTimestampNs)
	_, err := e.Finish()
	return err
}

// DecodeSuperblock reads the superblock at the start of b. It checks only
// what decoding needs (length and magic); [Superblock.Check] applies the
// rest of the rules.
func DecodeSuperblock(b []byte) (Superblock, error) {
	var d wire.ShmRegionSuperblockDecoder
	if len(b) < SuperblockSize || d.Wrap(b[:SuperblockSize], wire.ShmRegionSuperblockBlockLength, wire.SchemaVersion) != nil {
		return Superblock{}, fmt.Errorf("superblock of %d bytes: %w", len(b), ErrShortRegion)
	}
	if m := d.Magic(); m != Magic {
		return Superblock{}, fmt.Errorf("magic %#016x: %w", m, ErrBadMagic)
	}
	return Superblock{
		LayoutVersion:       d.LayoutVersion(),
		Epoch:               d.Epoch(),
		StreamID:            d.StreamId(),
		RegionType:          RegionType(d.RegionType()),
		PoolID:              d.PoolId(),
		NSlots:              d.Nslots(),
		SlotBytes:           d.SlotBytes(),
		StrideBytes:         d.StrideBytes(),
		PID:                 d.Pid(),
		StartTimestampNs:    d.StartTimestampNs(),
		ActivityTimestampNs: d.ActivityTimestampNs(),
	}, nil
}
