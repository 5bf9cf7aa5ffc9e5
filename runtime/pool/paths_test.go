package pool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLayout(t *testing.T) {
	l := Layout{BaseDir: "/dev/shm/tensorpool", User: "alice", Namespace: "lab1", StreamID: 10000, Epoch: 123456789}
	d, err := l.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/dev/shm/tensorpool/tensorpool-alice/lab1/10000/123456789"; d != want {
		t.Errorf("Dir = %s, want %s", d, want)
	}
	hp, _ := l.HeaderPath()
	pp, _ := l.PoolPath(2)
	if hp != d+"/header.ring" || pp != d+"/2.pool" {
		t.Errorf("paths %s %s", hp, pp)
	}
	bad := []Layout{
		{BaseDir: "relative", Namespace: "x"},
		{BaseDir: "/b", Namespace: ""},
		{BaseDir: "/b", Namespace: ".."},
		{BaseDir: "/b", Namespace: "."},
		{BaseDir: "/b", Namespace: "a/b"},
	}
	for _, l := range bad {
		if _, err := l.Dir(); err == nil {
			t.Errorf("Dir of %+v succeeded", l)
		}
	}
	l.User = "../../etc"
	d, _ = l.Dir()
	if filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(d)))) != "/dev/shm/tensorpool" {
		t.Errorf("user name escaped its directory: %s", d)
	}
}

func TestSanitizeUser(t *testing.T) {
	tests := map[string]string{
		"alice": "alice", "a.b-c_d9": "a.b-c_d9", "": "unknown", "../x": ".._x",
		"a/b": "a_b", "dom\\user": "dom_user", "sp ace": "sp_ace", "é": "__", "a\x00b": "a_b",
	}
	for in, want := range tests {
		if got := SanitizeUser(in); got != want {
			t.Errorf("SanitizeUser(%q) = %q, want %q", in, got, want)
		}
	}
	if CurrentUser() == "" {
		t.Error("CurrentUser is empty")
	}
}

func TestMkdirAllModes(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	for _, mode := range []os.FileMode{DirModeShared, DirModePrivate} {
		t.Run(mode.String(), func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "a", "b", "c")
			if err := MkdirAll(dir, mode); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir} {
				st, err := os.Stat(d)
				if err != nil {
					t.Fatal(err)
				}
				if got := st.Mode() & (os.ModePerm | os.ModeSetgid); got != mode {
					t.Errorf("%s mode %v, want %v", d, got, mode)
				}
			}
			if st, _ := os.Stat(root); st.Mode().Perm() != 0o700 {
				t.Errorf("existing parent changed to %v", st.Mode())
			}
			if err := MkdirAll(dir, mode); err != nil {
				t.Errorf("second MkdirAll: %v", err)
			}
		})
	}
	if err := MkdirAll(filepath.Join(t.TempDir(), "x"), 0o775); !errors.Is(err, ErrInsecureMode) {
		t.Errorf("world-readable dir mode: %v", err)
	}
	if err := MkdirAll("rel/x", 0o700); !errors.Is(err, ErrNotAbsolute) {
		t.Errorf("relative: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	writeFile(t, f, 1, 0o600)
	if err := MkdirAll(filepath.Join(f, "x"), 0o700); err == nil {
		t.Error("MkdirAll under a file succeeded")
	}
}

const deniedDirEnv = "TPOOL_DENIED_DIR"

// A second user on a shared machine: the error names the directory that
// refuses, with its mode, owner and group, not the deepest path. As root
// the test re-executes itself as nobody (root ignores permissions).
func TestMkdirAllPermissionDenied(t *testing.T) {
	if dir := os.Getenv(deniedDirEnv); dir != "" {
		return // the child's work is in TestMkdirAllPermissionDeniedHelper
	}
	root := t.TempDir()
	base := filepath.Join(root, "base")
	must(t, os.Mkdir(base, 0o750))
	deep := filepath.Join(base, "tensorpool-other", "default", "1", "42")

	var msg string
	if os.Geteuid() == 0 {
		// Let nobody reach base but not write in it. t.TempDir made root
		// and its parent 0700.
		must(t, os.Chmod(root, 0o755))
		must(t, os.Chmod(filepath.Dir(root), 0o755))
		for d := filepath.Dir(filepath.Dir(root)); ; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err != nil || st.Mode().Perm()&0o001 == 0 {
				t.Skipf("%s is not searchable by others", d)
			}
			if d == "/" {
				break
			}
		}
		must(t, os.Chmod(base, 0o755))
		// The test binary's own directory is private: run a copy.
		bin := filepath.Join(root, "pool.test")
		exe, err := os.ReadFile(os.Args[0])
		must(t, err)
		must(t, os.WriteFile(bin, exe, 0o755))
		cmd := exec.Command(bin, "-test.run=^TestMkdirAllPermissionDeniedHelper$")
		cmd.Env = append(os.Environ(), deniedDirEnv+"="+deep)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child as nobody: %v\n%s", err, out)
		}
		msg = string(out)
	} else {
		must(t, os.Chmod(base, 0o500))
		t.Cleanup(func() { os.Chmod(base, 0o700) })
		err := MkdirAll(deep, DirModePrivate)
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("MkdirAll = %v, want fs.ErrPermission", err)
		}
		msg = err.Error()
	}
	for _, want := range []string{"mkdir " + deep + ": directory " + base + " (", "does not let user", "create entries in it", "permission denied", "docs/SHM.md"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Count(msg, deep) != 1 {
		t.Errorf("error %q names %s more than once", msg, deep)
	}
}

// TestMkdirAllPermissionDeniedHelper runs in the child of
// TestMkdirAllPermissionDenied and prints MkdirAll's error.
func TestMkdirAllPermissionDeniedHelper(t *testing.T) {
	dir := os.Getenv(deniedDirEnv)
	if dir == "" {
		t.Skip("run by TestMkdirAllPermissionDenied")
	}
	err := MkdirAll(dir, DirModePrivate)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("MkdirAll = %v, want fs.ErrPermission", err)
	}
	fmt.Println(err)
}
