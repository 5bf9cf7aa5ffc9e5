package pool

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func writeFile(t *testing.T, path string, size int, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, size), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mustAllow(t testing.TB, dirs ...string) *AllowList {
	t.Helper()
	a, err := NewAllowList(dirs...)
	if err != nil {
		t.Fatalf("NewAllowList: %v", err)
	}
	return a
}

func TestAllowListOpen(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	outside := filepath.Join(root, "outside")
	sibling := filepath.Join(root, "base2") // shares base's name as a prefix
	for _, d := range []string{base, outside, sibling, filepath.Join(base, "sub"), filepath.Join(base, "dir")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(base, "sub", "good.pool")
	writeFile(t, good, 64, 0o660)
	writeFile(t, filepath.Join(outside, "secret"), 64, 0o600)
	writeFile(t, filepath.Join(sibling, "f"), 64, 0o600)
	writeFile(t, filepath.Join(base, "world"), 64, 0o604)
	writeFile(t, filepath.Join(base, "worldw"), 64, 0o662)
	must(t, os.Symlink(good, filepath.Join(base, "link-in")))
	must(t, os.Link(filepath.Join(outside, "secret"), filepath.Join(base, "hardlink")))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(base, "link-out")))
	must(t, os.Symlink(outside, filepath.Join(base, "dirlink-out")))
	must(t, os.Symlink(filepath.Join(base, "sub"), filepath.Join(base, "dirlink-in")))
	must(t, os.Symlink(filepath.Join(base, "nowhere"), filepath.Join(base, "dangling")))
	must(t, unix.Mkfifo(filepath.Join(base, "fifo"), 0o600))
	sock := filepath.Join(base, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	allow := mustAllow(t, base)
	tests := []struct {
		name     string
		path     string
		wantErr  error // nil means success
		wantName string
	}{
		{"regular file", good, nil, good},
		{"dot-dot staying inside", filepath.Join(base, "sub", "..", "sub", "good.pool"), nil, good},
		{"symlink inside to inside", filepath.Join(base, "link-in"), nil, good},
		{"directory symlink inside", filepath.Join(base, "dirlink-in", "good.pool"), nil, good},
		{"relative", "base/sub/good.pool", ErrNotAbsolute, ""},
		{"empty", "", ErrNotAbsolute, ""},
		{"dot-dot escaping", filepath.Join(base, "..", "outside", "secret"), ErrNotContained, ""},
		{"raw dot-dot escaping", base + "/../outside/secret", ErrNotContained, ""},
		{"symlink to outside", filepath.Join(base, "link-out"), ErrNotContained, ""},
		{"directory symlink to outside", filepath.Join(base, "dirlink-out", "secret"), ErrNotContained, ""},
		{"sibling with base as prefix", filepath.Join(sibling, "f"), ErrNotContained, ""},
		{"the base dir itself", base, ErrNotContained, ""},
		{"directory", filepath.Join(base, "dir"), ErrNotRegular, ""},
		{"fifo", filepath.Join(base, "fifo"), ErrNotRegular, ""},
		{"socket", sock, ErrNotRegular, ""},
		{"world readable", filepath.Join(base, "world"), ErrInsecureMode, ""},
		{"world writable", filepath.Join(base, "worldw"), ErrInsecureMode, ""},
		{"hard link to outside", filepath.Join(base, "hardlink"), ErrHardLink, ""},
		{"dangling symlink", filepath.Join(base, "dangling"), fs.ErrNotExist, ""},
		{"missing", filepath.Join(base, "missing"), fs.ErrNotExist, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, writable := range []bool{false, true} {
				f, err := allow.Open(tt.path, writable)
				if tt.wantErr == nil {
					if err != nil {
						t.Fatalf("Open(writable=%v): %v", writable, err)
					}
					if f.Name() != tt.wantName {
						t.Errorf("opened %s, want %s", f.Name(), tt.wantName)
					}
					f.Close()
					continue
				}
				if err == nil {
					f.Close()
					t.Fatalf("Open(writable=%v) succeeded, want %v", writable, tt.wantErr)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Open(writable=%v) = %v, want %v", writable, err, tt.wantErr)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAllowListDeviceFile(t *testing.T) {
	allow := mustAllow(t, "/dev")
	if _, err := allow.Open("/dev/null", false); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/null: %v, want ErrNotRegular", err)
	}
}

// TestAllowListSwapAfterCheck replaces the file, or a directory above it,
// after the containment checks and before the open: the open must not
// reach the substitute.
func TestAllowListSwapAfterCheck(t *testing.T) {
	tests := []struct {
		name    string
		swap    func(t *testing.T, file, dir, outside string)
		wantErr error
	}{
		{"file replaced by symlink to outside", func(t *testing.T, file, _, outside string) {
			must(t, os.Remove(file))
			must(t, os.Symlink(filepath.Join(outside, "secret"), file))
		}, ErrSymlink},
		{"directory replaced by symlink to outside", func(t *testing.T, _, dir, outside string) {
			must(t, os.Rename(dir, dir+".old"))
			must(t, os.Symlink(outside, dir))
		}, ErrSymlink},
		{"file replaced by another file", func(t *testing.T, file, _, _ string) {
			// Created before the old one goes, so it cannot reuse its inode.
			writeFile(t, file+".new", 64, 0o600)
			must(t, os.Rename(file+".new", file))
		}, ErrFileChanged},
		{"file replaced by fifo", func(t *testing.T, file, _, _ string) {
			must(t, os.Remove(file))
			must(t, unix.Mkfifo(file, 0o600))
		}, ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			base := filepath.Join(root, "base")
			dir := filepath.Join(base, "epoch")
			outside := filepath.Join(root, "outside")
			must(t, os.MkdirAll(dir, 0o700))
			must(t, os.MkdirAll(outside, 0o700))
			// Same name inside the outside dir, so a followed link would open it.
			writeFile(t, filepath.Join(outside, "secret"), 64, 0o600)
			writeFile(t, filepath.Join(outside, "f"), 64, 0o600)
			file := filepath.Join(dir, "f")
			writeFile(t, file, 64, 0o600)
			allow := mustAllow(t, base)

			testHookBeforeOpen = func(string) { tt.swap(t, file, dir, outside) }
			defer func() { testHookBeforeOpen = nil }()
			f, err := allow.Open(file, false)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded after the swap, want %v", tt.wantErr)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAllowListBaseDirIsSymlink(t *testing.T) {
	root := t.TempDir()
	real1 := filepath.Join(root, "real1")
	real2 := filepath.Join(root, "real2")
	must(t, os.MkdirAll(real1, 0o700))
	must(t, os.MkdirAll(real2, 0o700))
	writeFile(t, filepath.Join(real1, "f"), 64, 0o600)
	writeFile(t, filepath.Join(real2, "f"), 64, 0o600)
	link := filepath.Join(root, "base")
	must(t, os.Symlink(real1, link))

	allow := mustAllow(t, link)
	if got := allow.Dirs(); len(got) != 1 || got[0] != real1 {
		t.Fatalf("Dirs = %v, want [%s]", got, real1)
	}
	f, err := allow.Open(filepath.Join(link, "f"), false)
	if err != nil {
		t.Fatalf("through the base symlink: %v", err)
	}
	f.Close()
	// Retargeting the base link later must not widen what is allowed.
	must(t, os.Remove(link))
	must(t, os.Symlink(real2, link))
	if _, err := allow.Open(filepath.Join(link, "f"), false); !errors.Is(err, ErrNotContained) {
		t.Errorf("after retargeting the base link: %v, want ErrNotContained", err)
	}
}

func TestNewAllowListRejects(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	writeFile(t, file, 1, 0o600)
	tests := []struct {
		name    string
		dirs    []string
		wantErr error
	}{
		{"none", nil, ErrNoAllowedDirs},
		{"relative", []string{"tmp"}, ErrNotAbsolute},
		{"a file", []string{file}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAllowList(tt.dirs...)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	var nilList *AllowList
	if _, err := nilList.Open("/x", false); !errors.Is(err, ErrNoAllowedDirs) {
		t.Errorf("nil allow list: %v", err)
	}
}

// A base directory that does not exist yet (a fresh machine, the consumer
// started first) is pending, not an error: it allows nothing until it
// exists, then works like any other, and a symlink planted there by
// someone else never widens what is allowed.
func TestAllowListPendingBaseDir(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	allow, err := NewAllowList(base)
	if err != nil {
		t.Fatalf("missing base dir: %v", err)
	}
	if got := allow.Dirs(); len(got) != 1 || got[0] != base {
		t.Fatalf("Dirs = %v, want [%s]", got, base)
	}
	region := filepath.Join(base, "f")
	if _, err := allow.Open(region, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("before the base dir exists: %v, want fs.ErrNotExist", err)
	} else if strings.Count(err.Error(), region) != 1 {
		t.Errorf("%q names the path more or less than once", err)
	}
	must(t, os.Mkdir(base, 0o700))
	writeFile(t, region, 64, 0o600)
	f, err := allow.Open(region, false)
	if err != nil {
		t.Fatalf("after the base dir appeared: %v", err)
	}
	f.Close()

	// Planted as a symlink: stays pending, allows nothing.
	elsewhere := filepath.Join(root, "elsewhere")
	must(t, os.Mkdir(elsewhere, 0o700))
	writeFile(t, filepath.Join(elsewhere, "f"), 64, 0o600)
	link := filepath.Join(root, "later")
	allow2, err := NewAllowList(link)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(elsewhere, link))
	if _, err := allow2.Open(filepath.Join(link, "f"), false); !errors.Is(err, ErrNotContained) {
		t.Errorf("pending base dir planted as a symlink: %v, want ErrNotContained", err)
	}
	if allow2.Contains(filepath.Join(elsewhere, "f")) {
		t.Error("the symlink's target became allowed")
	}
}
