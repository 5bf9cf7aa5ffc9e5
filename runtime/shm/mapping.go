package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Sentinel errors returned (wrapped) by this package.
var (
	// ErrClosed is returned when operating on a Mapping after Close.
	ErrClosed = errors.New("shm: mapping closed")
	// ErrBadSize is returned for a non-positive or unrepresentable size.
	ErrBadSize = errors.New("shm: bad mapping size")
	// ErrOutOfRange is returned when an offset lies outside a slice.
	ErrOutOfRange = errors.New("shm: offset out of range")
	// ErrMisaligned is returned when an atomic offset is not naturally aligned.
	ErrMisaligned = errors.New("shm: misaligned atomic offset")
)

// Access says whether a mapping may be written.
type Access int

const (
	// ReadOnly maps with PROT_READ: a stray write faults.
	ReadOnly Access = iota
	// ReadWrite maps with PROT_READ|PROT_WRITE.
	ReadWrite
)

// Mapping is a shared file mapping. It is safe for concurrent use; Close is
// idempotent.
type Mapping struct {
	mu     sync.Mutex
	data   []byte
	access Access
	locked bool
}

// MapFile maps size bytes of f from offset 0 with MAP_SHARED. The file
// descriptor may be closed afterwards; the mapping stays valid. Callers that
// must check the file (type, size, ownership) do so on f before calling.
func MapFile(f *os.File, size int, access Access) (*Mapping, error) {
	if size <= 0 {
		return nil, fmt.Errorf("map %s: size %d: %w", f.Name(), size, ErrBadSize)
	}
	prot := unix.PROT_READ
	if access == ReadWrite {
		prot |= unix.PROT_WRITE
	}
	data, err := unix.Mmap(int(f.Fd()), 0, size, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s (%d bytes): %w", f.Name(), size, err)
	}
	return &Mapping{data: data, access: access}, nil
}

// Create creates a new file at path (it must not exist) with the given
// permission bits, sizes it to size bytes (zero-filled) and maps it
// read-write. The mode is applied with fchmod after creation so the process
// umask neither widens nor narrows it. On any error nothing is left behind.
func Create(path string, size int, mode os.FileMode) (*Mapping, error) {
	return create(path, size, mode, false)
}

// CreateAllocated is Create for a file whose blocks are all allocated up
// front (fallocate) and every page touched once, as Aeron's driver prepares
// log buffers: the first pass of a writer over each page then takes no
// fault, and a full file system fails here rather than with SIGBUS later.
func CreateAllocated(path string, size int, mode os.FileMode) (*Mapping, error) {
	return create(path, size, mode, true)
}

func create(path string, size int, mode os.FileMode, allocate bool) (*Mapping, error) {
	if size <= 0 {
		return nil, fmt.Errorf("create %s: size %d: %w", path, size, ErrBadSize)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode.Perm())
	if err != nil {
		return nil, pathError("create", path, err)
	}
	defer f.Close()
	m, err := func() (*Mapping, error) {
		if err := f.Chmod(mode.Perm()); err != nil {
			return nil, err // "chmod <path>: ..."
		}
		if err := f.Truncate(int64(size)); err != nil {
			return nil, fmt.Errorf("size to %d bytes: %w", size, err) // err names path
		}
		// fallocate on the descriptor just created (not on the path, which
		// another process could have replaced); file systems without it
		// still get every page touched below.
		if allocate {
			err := unix.Fallocate(int(f.Fd()), 0, 0, int64(size))
			if err != nil && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
				return nil, fmt.Errorf("allocate %s (%d bytes): %w", path, size, err)
			}
		}
		m, err := MapFile(f, size, ReadWrite)
		if err != nil || !allocate {
			return m, err
		}
		// fallocate reserves the blocks, but tmpfs still clears each page
		// and maps it on first touch; write every page once now, as Aeron
		// does, so that cost is paid here and not on a publisher's hot path.
		for i := 0; i < size; i += os.Getpagesize() {
			m.data[i] = 0
		}
		return m, nil
	}()
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return m, nil
}

// Open maps an existing regular file in full. It refuses symbolic links at
// the last path element (O_NOFOLLOW) and anything that is not a regular file.
func Open(path string, access Access) (*Mapping, error) {
	flags := os.O_RDONLY
	if access == ReadWrite {
		flags = os.O_RDWR
	}
	f, err := os.OpenFile(path, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err // "open <path>: ..."
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err // "stat <path>: ..."
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() <= 0 || st.Size() > int64(^uint(0)>>1) {
		return nil, fmt.Errorf("open %s: size %d: %w", path, st.Size(), ErrBadSize)
	}
	return MapFile(f, int(st.Size()), access)
}

// Bytes returns the mapped memory. It is valid until Close.
func (m *Mapping) Bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data
}

// Len returns the mapped length, or 0 after Close.
func (m *Mapping) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data)
}

// Access reports how the mapping was made.
func (m *Mapping) Access() Access { return m.access }

// Prefault touches every page so later accesses do not take page faults.
// Read-only mappings are read; read-write mappings are advised WILLNEED and
// then read, which never changes their contents.
func (m *Mapping) Prefault() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return ErrClosed
	}
	_ = unix.Madvise(m.data, unix.MADV_WILLNEED)
	page := os.Getpagesize()
	var sink byte
	for i := 0; i < len(m.data); i += page {
		sink ^= m.data[i]
	}
	_ = sink
	return nil
}

// Lock pins the mapping in RAM with mlock. It usually needs CAP_IPC_LOCK or
// a sufficient RLIMIT_MEMLOCK.
func (m *Mapping) Lock() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return ErrClosed
	}
	if err := unix.Mlock(m.data); err != nil {
		return fmt.Errorf("mlock %d bytes: %w", len(m.data), err)
	}
	m.locked = true
	return nil
}

// Sync flushes the mapping to its file (msync MS_SYNC).
func (m *Mapping) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return ErrClosed
	}
	return unix.Msync(m.data, unix.MS_SYNC)
}

// Close unmaps the memory. Slices and atomic pointers taken from the mapping
// must not be used afterwards. Close is idempotent.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	if m.locked {
		_ = unix.Munlock(m.data)
	}
	err := unix.Munmap(m.data)
	m.data = nil
	if err != nil {
		return fmt.Errorf("munmap: %w", err)
	}
	return nil
}

// pathError returns err, an error of an os call on path, as a
// *fs.PathError with op: the path is named once whatever err said.
func pathError(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
