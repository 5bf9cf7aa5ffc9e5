package pool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// AllowList holds the canonical allowed base directories under which a
// consumer maps regions (wire spec 15.21a.5). Build it once at
// configuration time; it is safe for concurrent use.
//
// A base directory need not exist yet: on a fresh machine the first
// producer creates it, and a consumer may well start first. Such a
// directory is pending: it allows nothing until it exists, is resolved to
// its canonical form the first time a region is opened after it appeared,
// and from then on is fixed like any other. A pending directory must then
// be a real directory, not a symbolic link, since whoever created it was
// not the one who configured it.
type AllowList struct {
	mu      sync.Mutex
	dirs    []string // canonical, fixed once resolved
	pending []string // absolute and clean, not existing when last looked at
}

// NewAllowList resolves each directory to its canonical form (absolute,
// symbolic links resolved) once. Each must be absolute, and a directory if
// it exists; one that does not exist yet is pending (see [AllowList]). A
// base dir that is itself a symlink is allowed here, and only its target
// is trusted from then on.
func NewAllowList(dirs ...string) (*AllowList, error) {
	if len(dirs) == 0 {
		return nil, ErrNoAllowedDirs
	}
	a := &AllowList{}
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("allowed dir %q: %w", d, ErrNotAbsolute)
		}
		c, err := filepath.EvalSymlinks(d)
		if errors.Is(err, fs.ErrNotExist) {
			a.pending = append(a.pending, filepath.Clean(d))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("allowed dir: %w", err)
		}
		st, err := os.Stat(c)
		if err != nil {
			return nil, fmt.Errorf("allowed dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("allowed dir %q is not a directory", d)
		}
		a.dirs = append(a.dirs, filepath.Clean(c))
	}
	return a, nil
}

// namedOnce drops the path from a *fs.PathError's message when the caller
// names the same path: it returns err itself when err already names path,
// else err with path in front.
func namedOnce(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// resolvePending fixes the canonical form of every pending directory that
// exists now as a real directory. A pending path that appeared as a
// symbolic link or a non-directory stays pending and allows nothing.
func (a *AllowList) resolvePending() {
	a.mu.Lock()
	defer a.mu.Unlock()
	kept := a.pending[:0]
	for _, d := range a.pending {
		st, err := os.Lstat(d)
		if err != nil || !st.IsDir() {
			kept = append(kept, d)
			continue
		}
		c, err := filepath.EvalSymlinks(d)
		if err != nil {
			kept = append(kept, d)
			continue
		}
		a.dirs = append(a.dirs, filepath.Clean(c))
	}
	a.pending = kept
}

// Dirs returns the canonical allowed directories, followed by the pending
// ones as configured.
func (a *AllowList) Dirs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append(append([]string(nil), a.dirs...), a.pending...)
}

// Contains reports whether the canonical path p lies strictly inside one
// of the allowed directories (pending ones that exist by now included).
func (a *AllowList) Contains(p string) bool {
	a.mu.Lock()
	n := len(a.pending)
	a.mu.Unlock()
	if n > 0 {
		a.resolvePending()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.dirs {
		prefix := d + "/"
		if d == "/" {
			prefix = "/"
		}
		if len(p) > len(prefix) && strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// Open opens an announced region file for mapping, applying every step of
// wire spec 15.21a.5: path absolute; canonical form contained in an
// allowed directory; a regular file; opened without following any
// symbolic link (each directory of the canonical path is opened with
// O_NOFOLLOW in turn, so a symlink swapped in after the check makes the
// open fail); and the open descriptor re-checked with fstat to be the
// same regular file. The file must grant nothing to other users and have
// a single hard link. The descriptor is opened non-blocking, so a FIFO
// swapped in cannot block.
func (a *AllowList) Open(path string, writable bool) (*os.File, error) {
	if a == nil || len(a.Dirs()) == 0 {
		return nil, ErrNoAllowedDirs
	}
	if !filepath.IsAbs(path) || strings.IndexByte(path, 0) >= 0 {
		return nil, fmt.Errorf("region path %q: %w", path, ErrNotAbsolute)
	}
	canon, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("resolve region path: %w", namedOnce(path, err))
	}
	canon = filepath.Clean(canon)
	if !a.Contains(canon) {
		return nil, fmt.Errorf("region path %q (canonical %q) not in %v: %w", path, canon, a.Dirs(), ErrNotContained)
	}
	var before unix.Stat_t
	if err := unix.Lstat(canon, &before); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: canon, Err: err}
	}
	if before.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s (type %#o): %w", canon, before.Mode&unix.S_IFMT, ErrNotRegular)
	}
	if testHookBeforeOpen != nil {
		testHookBeforeOpen(canon)
	}
	fd, err := openNoFollow(canon, writable)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), canon)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("fstat %s: %w", canon, err) // unix errors name nothing
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = fmt.Errorf("%s: %w", canon, ErrNotRegular)
	case st.Dev != before.Dev || st.Ino != before.Ino:
		err = fmt.Errorf("%s: %w", canon, ErrFileChanged)
	case st.Mode&0o007 != 0:
		err = fmt.Errorf("%s mode %#o: %w", canon, st.Mode&0o777, ErrInsecureMode)
	case st.Nlink != 1:
		// A hard link can bring a file from outside the allowed dirs in;
		// region files are never linked twice.
		err = fmt.Errorf("%s has %d links: %w", canon, st.Nlink, ErrHardLink)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// testHookBeforeOpen lets tests swap files between the checks and the open.
var testHookBeforeOpen func(canon string)

// openNoFollow opens the absolute, symlink-free path p one element at a
// time with O_NOFOLLOW, so no symbolic link anywhere in it is followed.
func openNoFollow(p string, writable bool) (int, error) {
	dirfd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %w", err)
	}
	elems := strings.Split(strings.Trim(p, "/"), "/")
	for i, e := range elems {
		last := i == len(elems)-1
		flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if last {
			flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
			if writable {
				flags = flags&^unix.O_RDONLY | unix.O_RDWR
			}
		}
		fd, err := unix.Openat(dirfd, e, flags, 0)
		unix.Close(dirfd)
		if err != nil {
			if errors.Is(err, syscall.ELOOP) || (!last && errors.Is(err, syscall.ENOTDIR)) {
				return -1, fmt.Errorf("open %s at %q: %w", p, e, ErrSymlink)
			}
			return -1, fmt.Errorf("open %s: %w", p, err)
		}
		if last {
			return fd, nil
		}
		dirfd = fd
	}
	unix.Close(dirfd)
	return -1, fmt.Errorf("open %s: %w", p, ErrNotRegular)
}

// hugetlbfsMagic is HUGETLBFS_MAGIC from linux/magic.h.
const hugetlbfsMagic = 0x958458f6

// isHugetlbfs reports whether f lives on hugetlbfs (statfs f_type).
func isHugetlbfs(f *os.File) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return false, fmt.Errorf("fstatfs %s: %w", f.Name(), err)
	}
	return uint64(st.Type) == hugetlbfsMagic, nil
}
