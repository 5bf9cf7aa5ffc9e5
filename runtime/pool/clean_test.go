package pool

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return uint64(cmd.Process.Pid)
}

// patchSuperblock overwrites a u64 of the header ring's superblock.
func patchSuperblock(t *testing.T, dir string, off int64, v uint64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "header.ring"), os.O_WRONLY, 0)
	must(t, err)
	defer f.Close()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveStale(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base") // created by the first stream
	newStream := func(stream uint32) string {
		s, err := CreateStream(StreamConfig{BaseDir: base, User: "tester", StreamID: stream, NSlots: 4,
			Pools: []PoolConfig{{ID: 1, StrideBytes: 64}}})
		if err != nil {
			t.Fatal(err)
		}
		must(t, s.Close())
		return s.Dir()
	}
	live := newStream(1)
	dead := deadPID(t)
	crashed := newStream(2)
	patchSuperblock(t, crashed, 40, dead)
	patchSuperblock(t, crashed, 56, 1) // activity long ago
	paused := newStream(3)
	patchSuperblock(t, paused, 56, 1) // our pid: alive, however old its activity
	justCrashed := newStream(4)
	patchSuperblock(t, justCrashed, 40, dead) // activity still fresh
	halfMade := filepath.Join(filepath.Dir(live), "12")
	must(t, os.Mkdir(halfMade, 0o700))
	old := time.Now().Add(-2 * DefaultStaleAfter)
	must(t, os.Chtimes(halfMade, old, old))
	justMade := filepath.Join(filepath.Dir(live), "13")
	must(t, os.Mkdir(justMade, 0o700))

	// A crashed epoch outside base, reachable only through a symlink
	// planted inside: never touched.
	outside := filepath.Join(t.TempDir(), "9")
	must(t, os.Mkdir(outside, 0o700))
	writeFile(t, filepath.Join(outside, "header.ring"), SuperblockSize, 0o600)
	must(t, os.Symlink(outside, filepath.Join(filepath.Dir(live), "99")))
	must(t, os.Chtimes(outside, old, old)) // stale if it were inside
	must(t, os.Symlink(filepath.Dir(outside), filepath.Join(base, "tensorpool-evil")))

	dirs := func(s []StaleEpoch) []string {
		var d []string
		for _, e := range s {
			d = append(d, e.Dir)
		}
		slices.Sort(d)
		return d
	}
	want := []string{halfMade, crashed}
	slices.Sort(want)

	got, err := RemoveStale(base, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dirs(got), want) {
		t.Fatalf("dry run found %v, want %v", dirs(got), want)
	}
	for _, d := range want {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("dry run removed %s", d)
		}
	}
	got, err = RemoveStale(base, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dirs(got), want) {
		t.Fatalf("removed %v, want %v", dirs(got), want)
	}
	for _, d := range want {
		if _, err := os.Lstat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", d, err)
		}
	}
	for _, d := range []string{live, paused, justCrashed, justMade, outside, filepath.Join(outside, "header.ring")} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s should have been kept: %v", d, err)
		}
	}
	if got, err := RemoveStale(filepath.Join(t.TempDir(), "never"), 0, false); err != nil || len(got) != 0 {
		t.Errorf("missing base: %v, %v", got, err)
	}
	if _, err := RemoveStale("relative", 0, false); err == nil {
		t.Error("relative base accepted")
	}
}
