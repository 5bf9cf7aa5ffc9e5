package interop_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLogBuffersAreNotSparse checks that an IPC publication's log buffer
// file is fully allocated when the channel does not ask for a sparse one,
// as the C driver does (aeron.term.buffer.sparse.file defaults to false and
// aeron_map_new_file then touches every page). tpool's driver left them
// sparse until ae0ab38; a sparse log makes a full /dev/shm fail with SIGBUS
// in a publisher instead of at AddPublication, and costs a page-allocating
// fault on the first pass over each page.
func TestLogBuffersAreNotSparse(t *testing.T) {
	for _, d := range []driver{cDriver, embeddedDriver, tpoolAeronmd} {
		t.Run(d.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "aeron")
			d.start(t, dir)
			c := connect(t, dir)
			const channel = "aeron:ipc?term-length=64k"
			if _, err := c.AddPublication(ctx(t), channel, streamID); err != nil {
				t.Fatalf("AddPublication(%q): %v", channel, err)
			}
			logs, err := filepath.Glob(filepath.Join(dir, "publications", "*.logbuffer"))
			if err != nil || len(logs) != 1 {
				t.Fatalf("found log buffers %v (%v), want one under %s/publications", logs, err, dir)
			}
			fi, err := os.Stat(logs[0])
			if err != nil {
				t.Fatal(err)
			}
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				t.Skip("no block counts on this platform")
			}
			if allocated := st.Blocks * 512; allocated < fi.Size() {
				t.Errorf("log buffer %s is sparse: %d of %d bytes allocated", filepath.Base(logs[0]), allocated, fi.Size())
			}
		})
	}
}
