package pool

import "fmt"

// Expect is what a reader was told about a region (by ShmPoolAnnounce, an
// attach response or configuration) and checks its superblock against.
type Expect struct {
	// Epoch and StreamID must match exactly.
	Epoch    uint64
	StreamID uint32
	// RegionType is HeaderRing or PayloadPool.
	RegionType RegionType
	// PoolID is the announced pool id (ignored for a header ring, whose
	// pool_id must be 0).
	PoolID uint16
	// NSlots is the announced header_nslots: a power of two, the same for
	// the ring and every pool (15.5).
	NSlots uint32
	// StrideBytes is the announced pool stride (payload pools only).
	StrideBytes uint32
	// LayoutVersion defaults to [LayoutVersion] when zero.
	LayoutVersion uint32
	// ActivityNotBefore, when non-zero, is the oldest acceptable
	// activity_timestamp_ns (now minus the freshness window, in the
	// producer's clock domain, normally CLOCK_MONOTONIC).
	ActivityNotBefore uint64
}

// Check applies the superblock rules of wire spec 7.1, 15.1, 15.5 and 15.22
// and decisions 1 and 2 of docs/DECISIONS.md (stride_bytes, pool slot_bytes). It returns the
// first rule broken, wrapping one of the Err... sentinels, in this order:
// layout version, epoch, stream id, region type, pool id, nslots, slot
// bytes, stride bytes, freshness.
func (s *Superblock) Check(want Expect) error {
	lv := want.LayoutVersion
	if lv == 0 {
		lv = LayoutVersion
	}
	switch {
	case s.LayoutVersion != lv:
		return fmt.Errorf("layout_version %d, want %d: %w", s.LayoutVersion, lv, ErrLayoutVersion)
	case s.Epoch != want.Epoch:
		return fmt.Errorf("epoch %d, want %d: %w", s.Epoch, want.Epoch, ErrEpoch)
	case s.StreamID != want.StreamID:
		return fmt.Errorf("stream_id %d, want %d: %w", s.StreamID, want.StreamID, ErrStreamID)
	case s.RegionType != HeaderRing && s.RegionType != PayloadPool:
		return fmt.Errorf("region_type %d: %w", int16(s.RegionType), ErrRegionType)
	case s.RegionType != want.RegionType:
		return fmt.Errorf("region_type %v, want %v: %w", s.RegionType, want.RegionType, ErrRegionType)
	}
	if s.RegionType == HeaderRing && s.PoolID != 0 {
		return fmt.Errorf("header ring pool_id %d, want 0: %w", s.PoolID, ErrPoolID)
	}
	if s.RegionType == PayloadPool && s.PoolID != want.PoolID {
		return fmt.Errorf("pool_id %d, want %d: %w", s.PoolID, want.PoolID, ErrPoolID)
	}
	if !isPow2(s.NSlots) || s.NSlots != want.NSlots {
		return fmt.Errorf("nslots %d, want %d (a power of two): %w", s.NSlots, want.NSlots, ErrNSlots)
	}
	if s.RegionType == HeaderRing {
		if s.SlotBytes != HeaderSlotBytes {
			return fmt.Errorf("header ring slot_bytes %d, want %d: %w", s.SlotBytes, HeaderSlotBytes, ErrSlotBytes)
		}
		// Both reference producers write 0; accept the slot size too.
		if s.StrideBytes != 0 && s.StrideBytes != HeaderSlotBytes {
			return fmt.Errorf("header ring stride_bytes %d: %w", s.StrideBytes, ErrStrideBytes)
		}
	} else {
		if err := checkStride(s.StrideBytes); err != nil {
			return err
		}
		if s.StrideBytes != want.StrideBytes {
			return fmt.Errorf("stride_bytes %d, want %d: %w", s.StrideBytes, want.StrideBytes, ErrStrideBytes)
		}
		if s.SlotBytes != s.StrideBytes && s.SlotBytes != PoolSlotBytesUnset {
			return fmt.Errorf("pool slot_bytes %d, want %d or %#x: %w", s.SlotBytes, s.StrideBytes, PoolSlotBytesUnset, ErrSlotBytes)
		}
	}
	if want.ActivityNotBefore != 0 && s.ActivityTimestampNs < want.ActivityNotBefore {
		return fmt.Errorf("activity_timestamp_ns %d older than %d: %w", s.ActivityTimestampNs, want.ActivityNotBefore, ErrStale)
	}
	return nil
}

// checkStride applies the consumer's stride rule (docs/DECISIONS.md,
// decision 1): any positive multiple of 64 bytes, so pools made by either
// reference driver map.
func checkStride(stride uint32) error {
	if stride == 0 || stride%StrideAlign != 0 {
		return fmt.Errorf("stride_bytes %d is not a positive multiple of %d: %w", stride, StrideAlign, ErrStrideBytes)
	}
	return nil
}

// CheckProducerStride applies the producer's stricter stride rule
// (docs/DECISIONS.md, decision 1, and wire spec 15.22): a power of two and
// a multiple of 64.
// Its error suggests the next valid stride (see [NextProducerStride]).
func CheckProducerStride(stride uint32) error {
	if stride%StrideAlign == 0 && isPow2(stride) {
		return nil
	}
	if next, ok := NextProducerStride(stride); ok {
		return fmt.Errorf("stride_bytes %d must be a power of two and a multiple of %d; the next valid stride is %d: %w",
			stride, StrideAlign, next, ErrStrideBytes)
	}
	return fmt.Errorf("stride_bytes %d must be a power of two and a multiple of %d, at most %d: %w",
		stride, StrideAlign, uint32(maxProducerStride), ErrStrideBytes)
}

// maxProducerStride is the largest power of two a uint32 holds.
const maxProducerStride = 1 << 31

// NextProducerStride returns the smallest stride a producer may use
// (a power of two, at least 64) that holds n bytes, and false if none
// does (n above 2 GiB).
func NextProducerStride(n uint32) (uint32, bool) {
	if n > maxProducerStride {
		return 0, false
	}
	s := uint32(StrideAlign)
	for s < n {
		s <<= 1
	}
	return s, true
}
