package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
	"golang.org/x/sys/unix"
)

// ErrMlock is wrapped by the fatal error of a driver whose
// policies.mlock_shm could not be honoured.
var ErrMlock = errors.New("driver: mlock of an SHM region failed")

// lockMapping mlocks a region; a variable so tests can make it fail (the
// tests run as root, where mlock does not fail).
var lockMapping = (*shm.Mapping).Lock

// dirMode derives the mode of created directories from the file mode:
// each class that may read files may also search directories, and shared
// group access keeps the group on new entries (setgid), as wire spec
// 15.21a.6 recommends (0660 -> 2770, 0600 -> 0700).
func dirMode(file os.FileMode) os.FileMode {
	m := file.Perm()
	if m&0o400 != 0 {
		m |= 0o100
	}
	if m&0o040 != 0 {
		m |= 0o010
	}
	m &^= 0o007
	if m&0o070 != 0 {
		m |= os.ModeSetgid
	}
	return m
}

// shmTree is the driver's part of the file system: the canonical layout
// under the base directory and the directories it created (removed again
// on a clean stop if empty).
type shmTree struct {
	base, user, ns string
	nsDir          string // <base>/tensorpool-<user>/<ns>
	fileMode       os.FileMode
	dirMode        os.FileMode
	prefault, lock bool
	hugepages      bool     // the base directory is on hugetlbfs
	pageSize       int64    // its page size
	created        []string // directories this driver created, parents first
}

func newSHMTree(c *Config) (*shmTree, error) {
	t := &shmTree{base: filepath.Clean(c.SHM.BaseDir), user: pool.CurrentUser(), ns: c.SHM.Namespace,
		fileMode: c.SHM.PermissionsMode.Perm(), dirMode: dirMode(c.SHM.PermissionsMode),
		prefault: c.Policies.PrefaultSHM, lock: c.Policies.MlockSHM}
	l := pool.Layout{BaseDir: t.base, User: t.user, Namespace: t.ns, StreamID: 0}
	d, err := l.Dir() // <ns>/0/0
	if err != nil {
		return nil, err
	}
	t.nsDir = filepath.Dir(filepath.Dir(d))
	if err := t.mkdir(t.nsDir); err != nil {
		return nil, err
	}
	if err := t.checkAllowed(c.SHM.AllowedBaseDirs); err != nil {
		t.removeCreated()
		return nil, err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(t.base, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", t.base, err)
	}
	t.hugepages = uint64(st.Type) == 0x958458f6 // HUGETLBFS_MAGIC
	t.pageSize = int64(os.Getpagesize())
	if t.hugepages {
		t.pageSize = int64(st.Bsize) // hugetlbfs reports its huge page size
	}
	return t, nil
}

// ErrNotAllowed: the regions would live outside shm.allowed_base_dirs
// (after resolving symbolic links), where clients refuse to map them.
var ErrNotAllowed = errors.New("driver: shm.base_dir resolves outside shm.allowed_base_dirs")

// checkAllowed applies the clients' containment rule (wire spec 15.21a.5)
// to the driver's own directory, so it never hands out URIs clients must
// refuse: the canonical namespace directory must lie inside one of the
// allowed directories that exist.
func (t *shmTree) checkAllowed(dirs []string) error {
	var existing []string
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			existing = append(existing, d)
		}
	}
	allow, err := pool.NewAllowList(existing...)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	canon, err := filepath.EvalSymlinks(t.nsDir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", t.nsDir, err)
	}
	if !allow.Contains(canon) {
		return fmt.Errorf("%w: %s is %s, not inside %v", ErrNotAllowed, t.nsDir, canon, allow.Dirs())
	}
	return nil
}

// mkdir creates dir and its missing parents with the directory mode,
// remembering which it created.
func (t *shmTree) mkdir(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := pool.MkdirAll(dir, t.dirMode); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		t.created = append(t.created, missing[i])
	}
	return nil
}

// removeCreated removes the directories the driver created, deepest
// first, if they are empty (it may be called again once more was removed).
func (t *shmTree) removeCreated() {
	for i := len(t.created) - 1; i >= 0; i-- {
		_ = os.Remove(t.created[i])
	}
}

func (t *shmTree) streamDir(id uint32) string {
	return filepath.Join(t.nsDir, strconv.FormatUint(uint64(id), 10))
}

// epochSHM is the mapped regions of one epoch of a stream.
type epochSHM struct {
	epoch   uint64
	dir     string
	regions []*pool.Region // header ring first
	ann     control.PoolAnnounce
}

func (e *epochSHM) close() {
	for _, r := range e.regions {
		_ = r.Close()
	}
	e.regions = nil
}

// create makes the epoch directory and regions of a stream: the header
// ring and one pool per profile pool, all with nslots slots, prefaulted
// and mlocked as configured. On error nothing is left behind; an mlock
// failure wraps ErrMlock.
func (t *shmTree) create(streamID uint32, epoch uint64, p *Profile, hugepages bool) (_ *epochSHM, err error) {
	if len(p.PayloadPools) == 0 {
		return nil, fmt.Errorf("profile %q has no payload pools", p.Name)
	}
	l := pool.Layout{BaseDir: t.base, User: t.user, Namespace: t.ns, StreamID: streamID, Epoch: epoch}
	dir, err := l.Dir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("epoch directory %s: %w", dir, fs.ErrExist)
	}
	if err := t.mkdir(t.streamDir(streamID)); err != nil {
		return nil, err
	}
	if err := pool.MkdirAll(dir, t.dirMode); err != nil {
		return nil, err
	}
	e := &epochSHM{epoch: epoch, dir: dir}
	defer func() {
		if err != nil {
			e.close()
			_ = os.RemoveAll(dir)
		}
	}()
	add := func(path string, sb pool.Superblock) (string, error) {
		u, err := pool.NewURI(path, hugepages)
		if err != nil {
			return "", err
		}
		r, err := pool.CreateRegion(path, sb, t.fileMode)
		if err != nil {
			return "", err
		}
		e.regions = append(e.regions, r)
		if t.prefault || t.lock {
			if err := allocate(path, int64(len(r.Bytes()))); err != nil {
				return "", err
			}
			if err := r.Mapping().Prefault(); err != nil {
				return "", fmt.Errorf("prefault %s: %w", path, err)
			}
		}
		if t.lock {
			if err := lockMapping(r.Mapping()); err != nil {
				return "", fmt.Errorf("%s: %w: %w", path, ErrMlock, err)
			}
		}
		return u.String(), nil
	}
	hp, _ := l.HeaderPath()
	hu, err := add(hp, pool.Superblock{Epoch: epoch, StreamID: streamID, RegionType: pool.HeaderRing, NSlots: p.HeaderNslots})
	if err != nil {
		return nil, err
	}
	e.ann = control.PoolAnnounce{StreamID: streamID, Epoch: epoch, LayoutVersion: pool.LayoutVersion,
		HeaderNslots: p.HeaderNslots, HeaderSlotBytes: control.HeaderSlotBytes, HeaderURI: hu}
	for _, pp := range p.PayloadPools {
		path, _ := l.PoolPath(pp.PoolID)
		u, err := add(path, pool.Superblock{Epoch: epoch, StreamID: streamID, RegionType: pool.PayloadPool,
			PoolID: pp.PoolID, NSlots: p.HeaderNslots, StrideBytes: pp.StrideBytes})
		if err != nil {
			return nil, err
		}
		e.ann.Pools = append(e.ann.Pools, control.Pool{PoolID: pp.PoolID, Nslots: p.HeaderNslots, StrideBytes: pp.StrideBytes, RegionURI: u})
	}
	return e, nil
}

// allocate reserves every block of a region file just created (fallocate),
// so its pages exist before any process writes them: "prefault/zero" of
// policies.prefault_shm, and a full file system fails the attach here
// instead of raising SIGBUS in a producer later. File systems without
// fallocate are left to the read prefault.
func allocate(path string, size int64) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Fallocate(fd, 0, 0, size); err != nil && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("allocate %s (%d bytes): %w", path, size, err)
	}
	return nil
}

// epochDirs lists the numeric epoch directories of a stream, newest first.
func (t *shmTree) epochDirs(streamID uint32) []uint64 {
	entries, err := os.ReadDir(t.streamDir(streamID))
	if err != nil {
		return nil
	}
	var out []uint64
	for _, e := range entries {
		if v, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() && strconv.FormatUint(v, 10) == e.Name() {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// maxEpoch returns the highest epoch directory under the namespace (any
// stream), so a restarted driver starts above what a previous one left.
func (t *shmTree) maxEpoch() uint64 {
	var m uint64
	streams, _ := os.ReadDir(t.nsDir)
	for _, s := range streams {
		id, err := strconv.ParseUint(s.Name(), 10, 32)
		if err != nil || !s.IsDir() {
			continue
		}
		if ep := t.epochDirs(uint32(id)); len(ep) > 0 && ep[0] > m {
			m = ep[0]
		}
	}
	return m
}

// gcStream removes old epoch directories of a stream: the newest keep
// epochs (current included, which is never removed) stay; older ones go
// once their directory is at least minAge old. It returns how many it
// removed.
func (t *shmTree) gcStream(streamID uint32, current uint64, keep int, minAge time.Duration, now time.Time) int {
	removed := 0
	kept := 0
	if current != 0 {
		kept = 1
	}
	for _, ep := range t.epochDirs(streamID) {
		if ep == current {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		dir := filepath.Join(t.streamDir(streamID), strconv.FormatUint(ep, 10))
		st, err := os.Lstat(dir)
		if err != nil || now.Sub(st.ModTime()) < minAge {
			continue
		}
		if os.RemoveAll(dir) == nil {
			removed++
		}
	}
	return removed
}

// cleanupDead removes epoch directories under the namespace whose header
// ring names a process that no longer exists and whose
// activity_timestamp_ns is older than minAge (wire spec 15.21a.7): what a
// crashed driver or a crashed no-driver producer left behind. Both
// conditions are needed, so regions of a live producer in another PID
// namespace, which keeps its activity fresh, stay. Directories it cannot
// read are left alone. It returns how many it removed.
func (t *shmTree) cleanupDead(minAge time.Duration) int {
	removed := 0
	now := pool.MonotonicNow()
	streams, _ := os.ReadDir(t.nsDir)
	for _, s := range streams {
		id, err := strconv.ParseUint(s.Name(), 10, 32)
		if err != nil || !s.IsDir() {
			continue
		}
		for _, ep := range t.epochDirs(uint32(id)) {
			dir := filepath.Join(t.streamDir(uint32(id)), strconv.FormatUint(ep, 10))
			sb, ok := headerSuperblock(filepath.Join(dir, "header.ring"))
			if !ok || sb.PID == 0 || sb.PID > 1<<31 || processAlive(int(sb.PID)) {
				continue
			}
			if sb.ActivityTimestampNs <= now && now-sb.ActivityTimestampNs < uint64(minAge) {
				continue
			}
			if os.RemoveAll(dir) == nil {
				removed++
			}
		}
		// Remove the stream directory too if that emptied it.
		_ = os.Remove(t.streamDir(uint32(id)))
	}
	return removed
}

// headerSuperblock reads the superblock of a header ring file.
func headerSuperblock(path string) (pool.Superblock, bool) {
	f, err := os.Open(path)
	if err != nil {
		return pool.Superblock{}, false
	}
	defer f.Close()
	var b [pool.SuperblockSize]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return pool.Superblock{}, false
	}
	sb, err := pool.DecodeSuperblock(b[:])
	return sb, err == nil
}

// processAlive reports whether a process with pid exists (kill 0; EPERM
// means it exists but belongs to someone else).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeStream deletes every epoch directory of a stream, then the stream
// directory if that left it empty.
func (t *shmTree) removeStream(id uint32) {
	for _, ep := range t.epochDirs(id) {
		_ = os.RemoveAll(filepath.Join(t.streamDir(id), strconv.FormatUint(ep, 10)))
	}
	_ = os.Remove(t.streamDir(id))
}
