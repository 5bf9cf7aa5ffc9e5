package pool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// No-driver mode: a producer creates and owns its regions in the canonical
// layout and hands consumers an Announcement (what a ShmPoolAnnounce would
// carry) by whatever means it likes; consumers Attach to it. There is no
// control plane, so consumers without FrameDescriptors follow the ring
// with Consumer.Ready.

// PoolConfig is one payload pool size class.
type PoolConfig struct {
	ID          uint16
	StrideBytes uint32 // a power of two, a multiple of 64
}

// StreamConfig configures a stream created without a driver.
type StreamConfig struct {
	// BaseDir defaults to DefaultBaseDir; Namespace to DefaultNamespace;
	// User to the current user.
	BaseDir   string
	User      string
	Namespace string
	StreamID  uint32
	// Epoch, when 0, is chosen as the driver does: CLOCK_MONOTONIC in
	// nanoseconds, and above every epoch directory of the stream already
	// present.
	Epoch uint64
	// NSlots is the ring size, a power of two, shared by every pool.
	NSlots uint32
	Pools  []PoolConfig
	// FileMode defaults to FileModeShared, DirMode to DirModeShared.
	FileMode os.FileMode
	DirMode  os.FileMode
	// Prefault touches every page at creation; Lock also mlocks them.
	Prefault bool
	Lock     bool
}

func (c *StreamConfig) setDefaults() {
	if c.BaseDir == "" {
		c.BaseDir = DefaultBaseDir
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.User == "" {
		c.User = CurrentUser()
	}
	if c.FileMode == 0 {
		c.FileMode = FileModeShared
	}
	if c.DirMode == 0 {
		c.DirMode = DirModeShared
	}
}

// Validate checks the configuration (after defaults are applied).
func (c StreamConfig) Validate() error {
	c.setDefaults()
	if _, err := (Layout{BaseDir: c.BaseDir, User: c.User, Namespace: c.Namespace}).Dir(); err != nil {
		return err
	}
	if !isPow2(c.NSlots) {
		return fmt.Errorf("nslots %d is not a power of two: %w", c.NSlots, ErrLayout)
	}
	if len(c.Pools) == 0 {
		return fmt.Errorf("no payload pools: %w", ErrLayout)
	}
	seen := map[uint16]bool{}
	for _, p := range c.Pools {
		if seen[p.ID] {
			return fmt.Errorf("pool id %d twice: %w", p.ID, ErrLayout)
		}
		seen[p.ID] = true
		if err := CheckProducerStride(p.StrideBytes); err != nil {
			return fmt.Errorf("pool %d: %w", p.ID, err)
		}
	}
	if err := checkMode(c.FileMode); err != nil {
		return err
	}
	return checkMode(c.DirMode)
}

// Announcement is what consumers need to map a stream: the content of a
// ShmPoolAnnounce.
type Announcement struct {
	StreamID      uint32
	Epoch         uint64
	LayoutVersion uint32
	NSlots        uint32
	HeaderURI     string
	Pools         []AnnouncedPool
}

// AnnouncedPool is one payload pool of an Announcement.
type AnnouncedPool struct {
	ID          uint16
	NSlots      uint32
	StrideBytes uint32
	URI         string
}

// Stream is a stream created by its producer without a driver.
type Stream struct {
	ann   Announcement
	dir   string
	ring  *Region
	pools []*Region
	prod  *Producer
}

// CreateStream creates the epoch directory and the regions of a stream and
// returns it with its Producer. On error everything created is removed.
func CreateStream(cfg StreamConfig) (_ *Stream, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	l := Layout{BaseDir: cfg.BaseDir, User: cfg.User, Namespace: cfg.Namespace, StreamID: cfg.StreamID}
	if cfg.Epoch == 0 {
		cfg.Epoch = chooseEpoch(l)
	}
	l.Epoch = cfg.Epoch
	dir, err := l.Dir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("epoch directory %s: %w", dir, fs.ErrExist)
	}
	if err := MkdirAll(dir, cfg.DirMode); err != nil {
		return nil, err
	}
	s := &Stream{dir: dir}
	defer func() {
		if err != nil {
			s.Close()
			s.Remove()
		}
	}()
	hp, _ := l.HeaderPath()
	hu, err := NewURI(hp, false)
	if err != nil {
		return nil, err
	}
	s.ring, err = CreateRegion(hp, Superblock{Epoch: cfg.Epoch, StreamID: cfg.StreamID, RegionType: HeaderRing, NSlots: cfg.NSlots}, cfg.FileMode)
	if err != nil {
		return nil, err
	}
	s.ann = Announcement{StreamID: cfg.StreamID, Epoch: cfg.Epoch, LayoutVersion: LayoutVersion, NSlots: cfg.NSlots, HeaderURI: hu.String()}
	for _, pc := range cfg.Pools {
		pp, _ := l.PoolPath(pc.ID)
		pu, err := NewURI(pp, false)
		if err != nil {
			return nil, err
		}
		r, err := CreateRegion(pp, Superblock{Epoch: cfg.Epoch, StreamID: cfg.StreamID, RegionType: PayloadPool, PoolID: pc.ID, NSlots: cfg.NSlots, StrideBytes: pc.StrideBytes}, cfg.FileMode)
		if err != nil {
			return nil, err
		}
		s.pools = append(s.pools, r)
		s.ann.Pools = append(s.ann.Pools, AnnouncedPool{ID: pc.ID, NSlots: cfg.NSlots, StrideBytes: pc.StrideBytes, URI: pu.String()})
	}
	for _, r := range append([]*Region{s.ring}, s.pools...) {
		if cfg.Prefault || cfg.Lock {
			if err := r.Mapping().Prefault(); err != nil {
				return nil, err
			}
		}
		if cfg.Lock {
			if err := r.Mapping().Lock(); err != nil {
				return nil, err
			}
		}
	}
	s.prod, err = NewProducer(s.ring, s.pools, 0)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// chooseEpoch returns CLOCK_MONOTONIC now, or one more than the newest
// epoch directory of the stream if that is not older.
func chooseEpoch(l Layout) uint64 {
	epoch := MonotonicNow()
	l.Epoch = 0
	d, err := l.Dir()
	if err != nil {
		return epoch
	}
	entries, err := os.ReadDir(filepath.Dir(d))
	if err != nil {
		return epoch
	}
	for _, e := range entries {
		if v, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && v >= epoch {
			epoch = v + 1
		}
	}
	return epoch
}

// Announcement returns what consumers need to attach.
func (s *Stream) Announcement() Announcement {
	a := s.ann
	a.Pools = append([]AnnouncedPool(nil), s.ann.Pools...)
	return a
}

// Producer returns the stream's producer.
func (s *Stream) Producer() *Producer { return s.prod }

// Dir returns the epoch directory.
func (s *Stream) Dir() string { return s.dir }

// Close unmaps the regions; the files stay for consumers still mapping
// them until Remove.
func (s *Stream) Close() error { return closeRegions(s.ring, s.pools) }

// Remove deletes the region files and the epoch directory (not its
// parents). Consumers that mapped the regions keep their mappings.
func (s *Stream) Remove() error {
	if s.dir == "" {
		return nil
	}
	return os.RemoveAll(s.dir)
}

// Attachment is a consumer's mapping of an announced stream.
type Attachment struct {
	Ring     *Region
	Pools    []*Region
	Consumer *Consumer
}

// Attach maps every region of a read-only, checking each path against
// allow and each superblock against the announcement (and, when
// activityNotBefore is non-zero, its freshness). Nothing stays mapped on
// error.
func Attach(a Announcement, allow *AllowList, activityNotBefore uint64) (_ *Attachment, err error) {
	at := &Attachment{}
	defer func() {
		if err != nil {
			at.Close()
		}
	}()
	want := Expect{Epoch: a.Epoch, StreamID: a.StreamID, RegionType: HeaderRing, NSlots: a.NSlots,
		LayoutVersion: a.LayoutVersion, ActivityNotBefore: activityNotBefore}
	at.Ring, err = OpenRegion(a.HeaderURI, allow, want, false)
	if err != nil {
		return nil, err
	}
	for _, p := range a.Pools {
		if p.NSlots != a.NSlots {
			return nil, fmt.Errorf("pool %d announces %d slots, the ring %d: %w", p.ID, p.NSlots, a.NSlots, ErrNSlots)
		}
		w := want
		w.RegionType, w.PoolID, w.StrideBytes = PayloadPool, p.ID, p.StrideBytes
		r, err := OpenRegion(p.URI, allow, w, false)
		if err != nil {
			return nil, err
		}
		at.Pools = append(at.Pools, r)
	}
	at.Consumer, err = NewConsumer(at.Ring, at.Pools)
	if err != nil {
		return nil, err
	}
	return at, nil
}

// Close unmaps the stream. It is idempotent.
func (a *Attachment) Close() error { return closeRegions(a.Ring, a.Pools) }

// closeRegions unmaps a ring (nil if never mapped) and its pools, joining
// the errors; Stream and Attachment both close this way.
func closeRegions(ring *Region, pools []*Region) error {
	var errs []error
	if ring != nil {
		errs = append(errs, ring.Close())
	}
	for _, p := range pools {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}
