package pool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Cleaning up after crashed producers. A producer without a driver removes
// its epoch directory when it stops cleanly ([Stream.Remove]); one that
// crashes leaves it (the header ring and every payload pool, often many
// MiB of /dev/shm) until someone removes it. With a driver, the driver's
// garbage collection does this instead.

// DefaultStaleAfter is RemoveStale's default age of activity_timestamp_ns
// past which an epoch whose producer process is gone is abandoned (a live
// producer refreshes it on commits and heartbeats, at least once a
// second).
const DefaultStaleAfter = time.Minute

// StaleEpoch is an epoch directory RemoveStale removed (or, with dryRun,
// would remove), and why.
type StaleEpoch struct {
	Dir    string // absolute path of the epoch directory
	PID    uint64 // the producer's pid from the header ring superblock, 0 if unreadable
	Reason string
}

// RemoveStale removes the epoch directories under base
// (<base>/tensorpool-<user>/<namespace>/<stream_id>/<epoch>/) whose
// producer is provably gone (wire spec 15.21a.7):
//
//   - the process named by the header ring's pid no longer exists and its
//     activity_timestamp_ns is older than staleAfter (0 means
//     DefaultStaleAfter), both, so that neither a pid from another pid
//     namespace nor a producer that merely paused is taken for dead; or
//   - the directory has no readable header ring and has not been modified
//     for staleAfter (a producer that crashed while creating it).
//
// Everything else, and anything that is not a directory of that shape
// (symbolic links included), is left alone. Every access goes through an
// [os.Root] opened on base, so nothing outside base is read or removed
// whatever the tree contains. Directories the caller may not read are
// skipped. With dryRun nothing is removed. It returns what it removed (or
// would remove) and the errors it met, joined.
//
// Pids are only meaningful in the pid namespace of the producers: run it
// where they ran.
func RemoveStale(base string, staleAfter time.Duration, dryRun bool) ([]StaleEpoch, error) {
	if !filepath.IsAbs(base) {
		return nil, fmt.Errorf("base dir %q: %w", base, ErrNotAbsolute)
	}
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	root, err := os.OpenRoot(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing was ever created
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	now := MonotonicNow()
	var found []StaleEpoch
	var errs []error
	for _, u := range subdirs(root, ".", &errs) {
		if !strings.HasPrefix(u, "tensorpool-") {
			continue
		}
		for _, ns := range subdirs(root, u, &errs) {
			for _, stream := range subdirs(root, path.Join(u, ns), &errs) {
				if _, err := strconv.ParseUint(stream, 10, 32); err != nil {
					continue
				}
				for _, ep := range subdirs(root, path.Join(u, ns, stream), &errs) {
					if _, err := strconv.ParseUint(ep, 10, 64); err != nil {
						continue
					}
					rel := path.Join(u, ns, stream, ep)
					pid, reason := staleReason(root, rel, now, staleAfter)
					if reason == "" {
						continue
					}
					found = append(found, StaleEpoch{Dir: filepath.Join(base, filepath.FromSlash(rel)), PID: pid, Reason: reason})
					if !dryRun {
						if err := root.RemoveAll(rel); err != nil {
							errs = append(errs, err)
						}
					}
				}
			}
		}
	}
	return found, errors.Join(errs...)
}

// subdirs lists the real directories (no symbolic links) in dir of root;
// a directory it may not read is skipped silently, other errors are
// collected.
func subdirs(root *os.Root, dir string, errs *[]error) []string {
	f, err := root.Open(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrPermission) {
			*errs = append(*errs, err)
		}
		return nil
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		*errs = append(*errs, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type()&fs.ModeType == fs.ModeDir {
			names = append(names, e.Name())
		}
	}
	return names
}

// staleReason says why the epoch directory rel is abandoned, or "" if its
// producer may still be alive.
func staleReason(root *os.Root, rel string, now uint64, staleAfter time.Duration) (uint64, string) {
	sb, err := readSuperblock(root, path.Join(rel, "header.ring"))
	if err != nil {
		st, serr := root.Lstat(rel)
		if serr == nil && time.Since(st.ModTime()) > staleAfter {
			return 0, fmt.Sprintf("no valid header ring (%v) and unmodified for %v", err, time.Since(st.ModTime()).Round(time.Second))
		}
		return 0, ""
	}
	a := sb.ActivityTimestampNs
	if a >= now || now-a <= uint64(staleAfter) {
		return sb.PID, "" // fresh
	}
	if sb.PID == 0 || sb.PID > 1<<22 || processAlive(int(sb.PID)) {
		return sb.PID, "" // 1<<22 is the kernel's largest pid_max
	}
	return sb.PID, fmt.Sprintf("producer pid %d is gone, no activity for %v", sb.PID, time.Duration(now-a).Round(time.Millisecond))
}

func readSuperblock(root *os.Root, rel string) (Superblock, error) {
	f, err := root.OpenFile(rel, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return Superblock{}, err
	}
	defer f.Close()
	b := make([]byte, SuperblockSize)
	if _, err := io.ReadFull(f, b); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return Superblock{}, err // "read <rel>: ..."
		}
		return Superblock{}, fmt.Errorf("read %s: %w", rel, err) // a short file
	}
	return DecodeSuperblock(b)
}

// processAlive reports whether a process with pid exists (signal 0: ESRCH
// means it does not; EPERM means it exists under another user).
func processAlive(pid int) bool {
	return !errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}
