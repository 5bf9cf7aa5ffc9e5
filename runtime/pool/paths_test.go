package pool

import (
	"errors"
	"os"
	"path/filepath"
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
