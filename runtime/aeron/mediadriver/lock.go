package mediadriver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockFileName is the file in the Aeron directory that a running tpool
// media driver holds an exclusive flock on for its whole life. Its content
// is "<pid> <start timestamp ms>\n", the PID and StartTimestampMs of the
// CnC file the driver wrote.
//
// The lock is what lets a driver replace the CnC of a predecessor that was
// killed (SIGKILL) less than DriverTimeout ago, whose heartbeat still looks
// fresh: a lock file that nobody holds, naming the PID and start time of
// the CnC in the directory, proves that CnC's driver is dead (the kernel
// drops a flock when its process dies). Without such a proof (no lock
// file, as with a real aeronmd, or one naming another CnC) a fresh
// heartbeat still means a live driver, Aeron's rule.
const LockFileName = "tpool-mediadriver.lock"

// dirLock is a driver's hold on its directory.
type dirLock struct {
	f       *os.File
	path    string
	created bool // the file did not exist before
	// pid and startMs are what the file said when taken (0 if nothing).
	pid, startMs int64
}

// lockDir creates dir if needed and takes the lock file's flock without
// waiting. A lock held by another process is a live tpool driver.
func lockDir(dir string) (*dirLock, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, err // "mkdir <path>: ..."
	}
	path := filepath.Join(dir, LockFileName)
	l := &dirLock{path: path}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
		l.created = true
	}
	if err != nil {
		return nil, err // "open <path>: ..."
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is locked by a running tpool media driver: %w", path, ErrActiveDriver)
		}
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	l.f = f
	b, _ := io.ReadAll(io.LimitReader(f, 64))
	if fields := strings.Fields(string(b)); len(fields) == 2 {
		l.pid, _ = strconv.ParseInt(fields[0], 10, 64)
		l.startMs, _ = strconv.ParseInt(fields[1], 10, 64)
	}
	return l, nil
}

// names reports whether the lock file named the CnC of pid started at
// startMs: then that driver held the lock, and it is free now.
func (l *dirLock) names(pid, startMs int64) bool {
	return l.pid != 0 && l.pid == pid && l.startMs == startMs
}

// record writes the driver's identity (its CnC's PID and start time).
func (l *dirLock) record(pid, startMs int64) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt([]byte(fmt.Sprintf("%d %d\n", pid, startMs)), 0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	return nil
}

// release drops the lock; remove also deletes a file this driver created
// (a refused start leaves the directory as it found it).
func (l *dirLock) release(remove bool) {
	if l == nil || l.f == nil {
		return
	}
	if remove && l.created {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close() // drops the flock
	l.f = nil
}

// removeContents removes everything in dir except the lock file.
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err // "open <dir>: ..."
	}
	for _, e := range entries {
		if e.Name() == LockFileName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err // names the path
		}
	}
	return nil
}
