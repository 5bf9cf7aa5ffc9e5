package pool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every error names a thing once: os errors already carry their path, so
// wrapping them with it again reads "mkdir /x: mkdir /x: ..." (issue 13).
func TestErrorsNamePathOnce(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, 64, 0o600)
	existing := filepath.Join(dir, "existing.pool")
	writeFile(t, existing, 64, 0o600)
	allow := mustAllow(t, dir)

	tests := []struct {
		name, path string
		err        func() error
	}{
		{"mkdir in /proc", "/proc/tpool-test-dir", func() error { return MkdirAll("/proc/tpool-test-dir", DirModePrivate) }},
		{"mkdir under a file", filepath.Join(file, "sub"), func() error { return MkdirAll(filepath.Join(file, "sub"), DirModePrivate) }},
		{"create over an existing file", existing, func() error {
			_, err := CreateRegion(existing, Superblock{RegionType: PayloadPool, NSlots: 4, StrideBytes: 64}, FileModePrivate)
			return err
		}},
		{"open a missing region", filepath.Join(dir, "missing.pool"), func() error {
			_, err := OpenRegion(URI{Path: filepath.Join(dir, "missing.pool")}.String(), allow, Expect{}, false)
			return err
		}},
		{"read a missing superblock", file, func() error {
			_, err := OpenRegion(URI{Path: file}.String(), allow, Expect{}, false)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil {
				t.Fatal("no error")
			}
			if n := strings.Count(err.Error(), tt.path); n != 1 {
				t.Errorf("%q names %s %d times, want once", err, tt.path, n)
			}
		})
	}
	if _, err := os.Stat(existing); err != nil {
		t.Errorf("CreateRegion removed the file it refused to overwrite: %v", err)
	}
}
