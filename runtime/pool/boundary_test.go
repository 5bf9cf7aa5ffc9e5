package pool

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoUnsafe keeps runtime/shm the only unsafe boundary: neither this
// package nor the example programs may import unsafe.
func TestNoUnsafe(t *testing.T) {
	for _, dir := range []string{".", "../../examples/nodriver"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "unsafe" {
					t.Errorf("%s imports unsafe", path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRequireHugepagesOnHugetlbfs maps a region on a real hugetlbfs mount
// when TPOOL_HUGEPAGES_DIR names a writable directory on one.
func TestRequireHugepagesOnHugetlbfs(t *testing.T) {
	dir := os.Getenv("TPOOL_HUGEPAGES_DIR")
	if dir == "" {
		t.Skip("set TPOOL_HUGEPAGES_DIR to a directory on hugetlbfs")
	}
	dir, err := os.MkdirTemp(dir, "tpool-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "1.pool")
	sb := Superblock{Epoch: 1, StreamID: 1, RegionType: PayloadPool, PoolID: 1, NSlots: 2, StrideBytes: 1 << 20}
	r, err := CreateRegion(p, sb, FileModePrivate)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := Expect{Epoch: 1, StreamID: 1, RegionType: PayloadPool, PoolID: 1, NSlots: 2, StrideBytes: 1 << 20}
	got, err := OpenRegion(URI{Path: p, RequireHugepages: true}.String(), mustAllow(t, dir), want, false)
	if err != nil {
		t.Fatalf("OpenRegion with require_hugepages on hugetlbfs: %v", err)
	}
	got.Close()
}
