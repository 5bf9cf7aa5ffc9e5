package pool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File and directory modes (wire spec 15.21a.6). None grants anything to
// other users; tpool refuses to create such files, and C clients refuse to
// map them.
const (
	FileModeShared  os.FileMode = 0o660
	FileModePrivate os.FileMode = 0o600
	DirModeShared               = 0o770 | os.ModeSetgid
	DirModePrivate  os.FileMode = 0o700
	// DefaultBaseDir is shm.base_dir of the Driver Model spec section 17.
	DefaultBaseDir = "/dev/shm/tensorpool"
	// DefaultNamespace is the namespace used when none is configured.
	DefaultNamespace = "default"
)

// Layout names the canonical directory of one epoch of one stream (wire
// spec 15.21a.3):
//
//	<BaseDir>/tensorpool-<User>/<Namespace>/<StreamID>/<Epoch>/
//	    header.ring
//	    <pool_id>.pool
type Layout struct {
	BaseDir   string // absolute
	User      string // sanitized by Dir; empty means the current user
	Namespace string // a single path element
	StreamID  uint32
	Epoch     uint64
}

// Dir returns the epoch directory.
func (l Layout) Dir() (string, error) {
	if !filepath.IsAbs(l.BaseDir) {
		return "", fmt.Errorf("base dir %q: %w", l.BaseDir, ErrNotAbsolute)
	}
	if err := checkName(l.Namespace); err != nil {
		return "", fmt.Errorf("namespace: %w", err)
	}
	u := l.User
	if u == "" {
		u = CurrentUser()
	}
	return filepath.Join(filepath.Clean(l.BaseDir), "tensorpool-"+SanitizeUser(u), l.Namespace,
		strconv.FormatUint(uint64(l.StreamID), 10), strconv.FormatUint(l.Epoch, 10)), nil
}

// HeaderPath returns the path of the header ring file.
func (l Layout) HeaderPath() (string, error) {
	d, err := l.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "header.ring"), nil
}

// PoolPath returns the path of payload pool id's file.
func (l Layout) PoolPath(id uint16) (string, error) {
	d, err := l.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, strconv.FormatUint(uint64(id), 10)+".pool"), nil
}

func checkName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("%q: %w", s, ErrBadName)
	}
	return nil
}

// SanitizeUser maps a user name onto [A-Za-z0-9._-], replacing every other
// byte with '_', so that it is one safe path element (an empty name
// becomes "unknown").
func SanitizeUser(name string) string {
	if name == "" {
		return "unknown"
	}
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// CurrentUser returns the effective user's name, falling back to $USER and
// then to the numeric uid.
func CurrentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if s := os.Getenv("USER"); s != "" {
		return s
	}
	return strconv.Itoa(os.Geteuid())
}

// MkdirAll creates dir and any missing parents with exactly mode
// (DirModeShared or DirModePrivate, or any mode without "other" bits):
// each directory it creates is chmod'ed after mkdir so the umask changes
// nothing. Existing directories are left as they are.
//
// When permission is denied, the error names the directory that refuses
// (not the deepest path), its mode, owner and group, and points at the
// multi-user setup of docs/SHM.md; it still matches fs.ErrPermission.
func MkdirAll(dir string, mode os.FileMode) error {
	if err := checkMode(mode); err != nil {
		return err
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("mkdir %q: %w", dir, ErrNotAbsolute)
	}
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("mkdir %s: %s is not a directory", dir, d)
			}
			break
		}
		if errors.Is(err, fs.ErrPermission) {
			return deniedError(dir, err)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err // a *fs.PathError naming d
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, mode.Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
			if errors.Is(err, fs.ErrPermission) {
				return deniedError(dir, err)
			}
			return err // "mkdir <d>: ..."
		}
		if err := os.Chmod(d, mode); err != nil {
			return err // "chmod <d>: ..."
		}
	}
	return nil
}

// deniedError explains a permission error met while creating dir: which
// directory refuses the current user, with its mode, owner and group.
func deniedError(dir string, err error) error {
	errno := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		errno = pe.Err
	}
	refusing, what := refusingDir(dir)
	st, serr := os.Stat(refusing)
	if serr != nil {
		return fmt.Errorf("mkdir %s: %w (see docs/SHM.md, \"Several users on one machine\")", dir, errno)
	}
	return fmt.Errorf("mkdir %s: directory %s (%v, owner %s, group %s) does not let user %s %s: %w "+
		"(see docs/SHM.md, \"Several users on one machine\")",
		dir, refusing, st.Mode(), ownerName(st), groupName(st), CurrentUser(), what, errno)
}

// refusingDir walks dir from the root and returns the first existing
// directory the effective user cannot search (what: "search it"), or the
// deepest existing one, which then refuses the creation of its missing
// child (what: "create entries in it").
func refusingDir(dir string) (string, string) {
	cur := "/"
	for _, e := range strings.Split(strings.Trim(dir, "/"), "/") {
		if unix.Faccessat(unix.AT_FDCWD, cur, unix.X_OK, unix.AT_EACCESS) != nil {
			return cur, "search it"
		}
		next := filepath.Join(cur, e)
		if _, err := os.Stat(next); err != nil {
			break
		}
		cur = next
	}
	return cur, "create entries in it"
}

func ownerName(st fs.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "?"
	}
	id := strconv.FormatUint(uint64(sys.Uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}

func groupName(st fs.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "?"
	}
	id := strconv.FormatUint(uint64(sys.Gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return g.Name
	}
	return id
}

func checkMode(mode os.FileMode) error {
	if mode.Perm()&0o007 != 0 {
		return fmt.Errorf("mode %v: %w", mode, ErrInsecureMode)
	}
	return nil
}
