package pool

import (
	"fmt"
	"io"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/shm"
	"golang.org/x/sys/unix"
)

// Region is a mapped header ring or payload pool: its superblock as
// validated when it was created or opened, and its memory.
type Region struct {
	m        *shm.Mapping
	sb       Superblock
	path     string
	activity *atomic.Uint64
}

// CreateRegion creates the region file at path (which must not exist) with
// the given file mode, sizes it for sb and writes the superblock: the
// owner's side. For a header ring, SlotBytes is 256 and StrideBytes 0; for
// a payload pool StrideBytes must be a power of two and a multiple of 64
// and SlotBytes is written as StrideBytes (docs/DECISIONS.md, decision 2). LayoutVersion,
// PID and the timestamps are filled in when zero. On error nothing is left
// behind.
func CreateRegion(path string, sb Superblock, mode os.FileMode) (*Region, error) {
	if err := checkMode(mode); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if sb.LayoutVersion == 0 {
		sb.LayoutVersion = LayoutVersion
	}
	if !isPow2(sb.NSlots) {
		return nil, fmt.Errorf("create %s: nslots %d is not a power of two: %w", path, sb.NSlots, ErrNSlots)
	}
	switch sb.RegionType {
	case HeaderRing:
		if sb.PoolID != 0 {
			return nil, fmt.Errorf("create %s: header ring pool_id %d: %w", path, sb.PoolID, ErrPoolID)
		}
		sb.SlotBytes, sb.StrideBytes = HeaderSlotBytes, 0
	case PayloadPool:
		if err := CheckProducerStride(sb.StrideBytes); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		sb.SlotBytes = sb.StrideBytes
	default:
		return nil, fmt.Errorf("create %s: region_type %d: %w", path, int16(sb.RegionType), ErrRegionType)
	}
	size := sb.regionSize()
	if size > math.MaxInt {
		return nil, fmt.Errorf("create %s: %d bytes: %w", path, size, ErrRegionSize)
	}
	if sb.PID == 0 {
		sb.PID = uint64(os.Getpid())
	}
	now := MonotonicNow()
	if sb.StartTimestampNs == 0 {
		sb.StartTimestampNs = now
	}
	if sb.ActivityTimestampNs == 0 {
		sb.ActivityTimestampNs = now
	}
	m, err := shm.Create(path, int(size), mode)
	if err != nil {
		return nil, err
	}
	r, err := newRegion(m, path, sb)
	if err == nil {
		err = sb.Encode(m.Bytes())
	}
	if err != nil {
		m.Close()
		os.Remove(path)
		return nil, err
	}
	return r, nil
}

func newRegion(m *shm.Mapping, path string, sb Superblock) (*Region, error) {
	act, err := shm.Uint64At(m.Bytes(), sbActivityTS)
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", path, err)
	}
	return &Region{m: m, sb: sb, path: path, activity: act}, nil
}

// OpenRegion maps the region named by a shm:file URI: the reader's side.
// In order, it parses the URI, opens the file through allow (containment,
// no symlinks, regular file, fstat re-check), checks hugepage backing if
// the URI requires it, reads and checks the superblock against want, and
// checks the file size against the layout. Only then does it map the
// file, read-only unless writable, and re-check that the superblock did
// not change. A rejected region is never left mapped.
func OpenRegion(uri string, allow *AllowList, want Expect, writable bool) (*Region, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	f, err := allow.Open(u.Path, writable)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	huge, err := isHugetlbfs(f)
	if err != nil {
		return nil, err
	}
	if u.RequireHugepages && !huge {
		return nil, fmt.Errorf("%s: %w", u.Path, ErrNotHugepages)
	}
	var buf [SuperblockSize]byte
	if _, err := f.ReadAt(buf[:], 0); err != nil {
		if err == io.EOF {
			err = ErrShortRegion
		}
		return nil, fmt.Errorf("read superblock: %w", namedOnce(u.Path, err))
	}
	sb, err := DecodeSuperblock(buf[:])
	if err == nil {
		err = sb.Check(want)
	}
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", u.Path, err)
	}
	size := sb.regionSize()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("fstat %s: %w", u.Path, err)
	}
	// hugetlbfs rounds file sizes up to the huge page size.
	if st.Size < size || (!huge && st.Size != size) || size > math.MaxInt {
		return nil, fmt.Errorf("region %s is %d bytes, layout needs %d: %w", u.Path, st.Size, size, ErrRegionSize)
	}
	access := shm.ReadOnly
	if writable {
		access = shm.ReadWrite
	}
	m, err := shm.MapFile(f, int(size), access)
	if err != nil {
		return nil, err
	}
	again, err := DecodeSuperblock(m.Bytes())
	if err == nil {
		again.ActivityTimestampNs = sb.ActivityTimestampNs // the owner refreshes it
		if again != sb {
			err = fmt.Errorf("region %s: %w", u.Path, ErrSuperblockChange)
		}
	}
	var r *Region
	if err == nil {
		r, err = newRegion(m, u.Path, sb)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return r, nil
}

// regionSize returns the file size the layout of a checked superblock
// needs: its superblock and nslots header slots or pool strides.
func (s *Superblock) regionSize() int64 {
	if s.RegionType == PayloadPool {
		return PoolSize(s.NSlots, s.StrideBytes)
	}
	return HeaderRingSize(s.NSlots)
}

// Superblock returns the superblock as validated at create or open time.
func (r *Region) Superblock() Superblock { return r.sb }

// Current decodes the superblock as it is now. A reader compares it with
// Superblock to notice a region recreated in place (wire spec 15.14: any
// change of magic, layout_version, epoch or pid means remap) and reads
// ActivityTimestampNs for liveness.
func (r *Region) Current() (Superblock, error) {
	b := r.m.Bytes()
	if b == nil {
		return Superblock{}, ErrClosed
	}
	return DecodeSuperblock(b)
}

// Path returns the region's file path.
func (r *Region) Path() string { return r.path }

// Bytes returns the whole mapping, superblock included. It is valid until
// Close.
func (r *Region) Bytes() []byte { return r.m.Bytes() }

// Activity returns the current activity_timestamp_ns.
func (r *Region) Activity() uint64 { return r.activity.Load() }

// SetActivity stores activity_timestamp_ns; the owner calls it at the
// announce cadence (wire spec 7.1).
func (r *Region) SetActivity(ns uint64) { r.activity.Store(ns) }

// Mapping exposes the underlying mapping (for Prefault and Lock).
func (r *Region) Mapping() *shm.Mapping { return r.m }

// Close unmaps the region; everything taken from it becomes invalid. It is
// idempotent. It does not remove the file.
func (r *Region) Close() error { return r.m.Close() }

// MonotonicNow returns CLOCK_MONOTONIC in nanoseconds, the clock domain of
// superblock timestamps. It makes no system call (it is on every frame's
// path): Go's monotonic clock on Linux is CLOCK_MONOTONIC read through the
// vDSO, so the value is the clock read once at start plus Go's monotonic
// time since then.
func MonotonicNow() uint64 { return monoBase + uint64(time.Since(monoStart)) }

// monoBase is CLOCK_MONOTONIC read by a system call just before monoStart.
var monoBase, monoStart = monotonicSyscall(), time.Now()

func monotonicSyscall() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}
