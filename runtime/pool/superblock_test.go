package pool

import (
	"errors"
	"strings"
	"testing"
)

func goodPoolSuperblock() (Superblock, Expect) {
	sb := Superblock{
		LayoutVersion: LayoutVersion, Epoch: 77, StreamID: 10000, RegionType: PayloadPool,
		PoolID: 3, NSlots: 64, SlotBytes: 4096, StrideBytes: 4096, PID: 1,
		StartTimestampNs: 100, ActivityTimestampNs: 500,
	}
	return sb, Expect{Epoch: 77, StreamID: 10000, RegionType: PayloadPool, PoolID: 3, NSlots: 64, StrideBytes: 4096}
}

func TestSuperblockCheck(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(sb *Superblock, want *Expect)
		wantErr error
	}{
		{"valid pool", func(*Superblock, *Expect) {}, nil},
		{"valid pool, C-style slot_bytes", func(sb *Superblock, _ *Expect) { sb.SlotBytes = PoolSlotBytesUnset }, nil},
		{"valid pool, non power-of-two multiple of 64", func(sb *Superblock, w *Expect) { sb.StrideBytes, sb.SlotBytes, w.StrideBytes = 192, 192, 192 }, nil},
		{"valid header ring", func(sb *Superblock, w *Expect) {
			sb.RegionType, sb.PoolID, sb.SlotBytes, sb.StrideBytes = HeaderRing, 0, HeaderSlotBytes, 0
			w.RegionType = HeaderRing
		}, nil},
		{"header ring with stride 256", func(sb *Superblock, w *Expect) {
			sb.RegionType, sb.PoolID, sb.SlotBytes, sb.StrideBytes = HeaderRing, 0, HeaderSlotBytes, 256
			w.RegionType = HeaderRing
		}, nil},
		{"fresh enough", func(_ *Superblock, w *Expect) { w.ActivityNotBefore = 500 }, nil},
		{"layout version", func(sb *Superblock, _ *Expect) { sb.LayoutVersion = 2 }, ErrLayoutVersion},
		{"explicit layout version", func(sb *Superblock, w *Expect) { w.LayoutVersion = 2 }, ErrLayoutVersion},
		{"epoch", func(sb *Superblock, _ *Expect) { sb.Epoch = 78 }, ErrEpoch},
		{"stream id", func(sb *Superblock, _ *Expect) { sb.StreamID = 1 }, ErrStreamID},
		{"unknown region type", func(sb *Superblock, _ *Expect) { sb.RegionType = 3 }, ErrRegionType},
		{"zero region type", func(sb *Superblock, _ *Expect) { sb.RegionType = 0 }, ErrRegionType},
		{"unexpected region type", func(sb *Superblock, _ *Expect) { sb.RegionType = HeaderRing }, ErrRegionType},
		{"pool id", func(sb *Superblock, _ *Expect) { sb.PoolID = 4 }, ErrPoolID},
		{"header ring pool id not 0", func(sb *Superblock, w *Expect) {
			sb.RegionType, sb.SlotBytes, sb.StrideBytes = HeaderRing, HeaderSlotBytes, 0
			w.RegionType = HeaderRing
		}, ErrPoolID},
		{"nslots mismatch", func(sb *Superblock, _ *Expect) { sb.NSlots = 128 }, ErrNSlots},
		{"nslots not power of two", func(sb *Superblock, w *Expect) { sb.NSlots, w.NSlots = 48, 48 }, ErrNSlots},
		{"nslots zero", func(sb *Superblock, w *Expect) { sb.NSlots, w.NSlots = 0, 0 }, ErrNSlots},
		{"header slot bytes", func(sb *Superblock, w *Expect) {
			sb.RegionType, sb.PoolID, sb.SlotBytes, sb.StrideBytes = HeaderRing, 0, 128, 0
			w.RegionType = HeaderRing
		}, ErrSlotBytes},
		{"header stride bytes", func(sb *Superblock, w *Expect) {
			sb.RegionType, sb.PoolID, sb.SlotBytes, sb.StrideBytes = HeaderRing, 0, HeaderSlotBytes, 64
			w.RegionType = HeaderRing
		}, ErrStrideBytes},
		{"pool slot bytes", func(sb *Superblock, _ *Expect) { sb.SlotBytes = 1024 }, ErrSlotBytes},
		{"stride zero", func(sb *Superblock, w *Expect) { sb.StrideBytes, w.StrideBytes = 0, 0 }, ErrStrideBytes},
		{"stride not multiple of 64", func(sb *Superblock, w *Expect) { sb.StrideBytes, sb.SlotBytes, w.StrideBytes = 100, 100, 100 }, ErrStrideBytes},
		{"stride mismatch", func(sb *Superblock, _ *Expect) { sb.StrideBytes, sb.SlotBytes = 8192, 8192 }, ErrStrideBytes},
		{"stale", func(_ *Superblock, w *Expect) { w.ActivityNotBefore = 501 }, ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, want := goodPoolSuperblock()
			tt.edit(&sb, &want)
			// Through the bytes, as a reader sees it.
			b := make([]byte, SuperblockSize)
			if err := sb.Encode(b); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeSuperblock(b)
			if err != nil {
				t.Fatal(err)
			}
			err = got.Check(want)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Check = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeSuperblockRejects(t *testing.T) {
	sb, _ := goodPoolSuperblock()
	b := make([]byte, SuperblockSize)
	if err := sb.Encode(b); err != nil {
		t.Fatal(err)
	}
	badMagic := append([]byte(nil), b...)
	copy(badMagic, "TPOLSHM1") // the ASCII string is not the little-endian u64
	tests := []struct {
		name    string
		b       []byte
		wantErr error
	}{
		{"short", b[:63], ErrShortRegion},
		{"empty", nil, ErrShortRegion},
		{"magic as big-endian text", badMagic, ErrBadMagic},
		{"zeroed", make([]byte, 64), ErrBadMagic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeSuperblock(tt.b); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if err := sb.Encode(make([]byte, 10)); !errors.Is(err, ErrShortRegion) {
		t.Errorf("Encode into 10 bytes: %v", err)
	}
}

func TestCheckProducerStride(t *testing.T) {
	for _, s := range []uint32{64, 128, 4096, 1 << 20, 1 << 31} {
		if err := CheckProducerStride(s); err != nil {
			t.Errorf("stride %d: %v", s, err)
		}
	}
	for _, s := range []uint32{0, 32, 100, 192, 4160} {
		if err := CheckProducerStride(s); !errors.Is(err, ErrStrideBytes) {
			t.Errorf("stride %d: %v, want ErrStrideBytes", s, err)
		}
	}
	// The message is about the user's configuration, not a superblock, and
	// suggests the stride to use instead.
	tests := []struct {
		stride uint32
		want   string
	}{
		{614400, "stride_bytes 614400 must be a power of two and a multiple of 64; the next valid stride is 1048576: pool: stride_bytes invalid or mismatched"},
		{0, "the next valid stride is 64:"},
		{100, "the next valid stride is 128:"},
		{1<<31 + 1, "at most 2147483648:"},
	}
	for _, tt := range tests {
		err := CheckProducerStride(tt.stride)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckProducerStride(%d) = %v, want it to contain %q", tt.stride, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "superblock") {
			t.Errorf("CheckProducerStride(%d) = %v: mentions a superblock", tt.stride, err)
		}
	}
}

func FuzzSuperblock(f *testing.F) {
	sb, _ := goodPoolSuperblock()
	b := make([]byte, SuperblockSize)
	sb.Encode(b)
	f.Add(b, uint64(77), uint32(10000), uint16(3), uint32(64), uint32(4096), true)
	f.Add(make([]byte, 64), uint64(0), uint32(0), uint16(0), uint32(1), uint32(64), false)
	f.Fuzz(func(t *testing.T, b []byte, epoch uint64, stream uint32, pool uint16, nslots, stride uint32, isPool bool) {
		want := Expect{Epoch: epoch, StreamID: stream, PoolID: pool, NSlots: nslots, StrideBytes: stride, RegionType: HeaderRing}
		if isPool {
			want.RegionType = PayloadPool
		}
		sb, err := DecodeSuperblock(b)
		if err != nil {
			return
		}
		if sb.Check(want) != nil {
			return
		}
		// Accepted: every rule must hold.
		if sb.Epoch != epoch || sb.StreamID != stream || sb.NSlots != nslots || !isPow2(sb.NSlots) ||
			sb.LayoutVersion != LayoutVersion || sb.RegionType != want.RegionType {
			t.Fatalf("accepted %+v for %+v", sb, want)
		}
		if isPool && (sb.PoolID != pool || sb.StrideBytes != stride || stride == 0 || stride%64 != 0 ||
			(sb.SlotBytes != stride && sb.SlotBytes != PoolSlotBytesUnset)) {
			t.Fatalf("accepted pool %+v for %+v", sb, want)
		}
		if !isPool && (sb.PoolID != 0 || sb.SlotBytes != HeaderSlotBytes) {
			t.Fatalf("accepted ring %+v", sb)
		}
	})
}
