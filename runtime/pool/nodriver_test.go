package pool

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNoDriverStream(t *testing.T) {
	base := t.TempDir()
	cfg := StreamConfig{BaseDir: base, User: "bob", Namespace: "lab", StreamID: 10001, NSlots: 8,
		Pools: []PoolConfig{{ID: 1, StrideBytes: 256}, {ID: 2, StrideBytes: 4096}}, Prefault: true}
	s, err := CreateStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	defer s.Close()
	a := s.Announcement()
	if a.Epoch == 0 || a.NSlots != 8 || len(a.Pools) != 2 || a.LayoutVersion != LayoutVersion {
		t.Fatalf("announcement %+v", a)
	}
	wantDir := filepath.Join(base, "tensorpool-bob", "lab", "10001", strconv.FormatUint(a.Epoch, 10))
	if s.Dir() != wantDir || a.HeaderURI != "shm:file?path="+wantDir+"/header.ring" || a.Pools[1].URI != "shm:file?path="+wantDir+"/2.pool" {
		t.Errorf("dir %s, announcement %+v", s.Dir(), a)
	}
	for _, p := range []string{wantDir, filepath.Join(base, "tensorpool-bob")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode() & (os.ModePerm | os.ModeSetgid); got != DirModeShared {
			t.Errorf("%s mode %v", p, got)
		}
	}

	at, err := Attach(a, mustAllow(t, base), a.Epoch) // fresh: activity is at least the epoch's clock
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	c := at.Consumer
	if _, ok := c.Newest(); ok {
		t.Error("Newest on an empty ring")
	}
	if c.Ready(0) {
		t.Error("Ready before anything was written")
	}
	prod := s.Producer()
	for i := range 10 {
		if _, err := prod.Publish([]byte{byte(i)}, bytesMeta(t, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n, ok := c.Newest(); !ok || n != 9 {
		t.Errorf("Newest = %d, %v", n, ok)
	}
	if !c.Ready(1) || !c.Ready(9) || c.Ready(10) {
		t.Error("Ready: overwritten and committed frames are ready, unwritten ones are not")
	}
	prod.Claim(1) // seq 10 in progress
	if c.Ready(10) {
		t.Error("Ready for a frame in progress")
	}
	f, r := c.Read(a.Epoch, 9)
	if r != DropNone || f.Payload[0] != 9 || c.Verify(&f) != DropNone {
		t.Errorf("Read(9) = %v %v", f.Payload, r)
	}

	// A second stream of the same id gets a newer epoch and its own dir.
	s2, err := CreateStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Remove()
	defer s2.Close()
	if s2.Announcement().Epoch <= a.Epoch {
		t.Errorf("epoch %d after %d", s2.Announcement().Epoch, a.Epoch)
	}

	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wantDir); !errors.Is(err, fs.ErrNotExist) {
		t.Error("Remove left the epoch directory")
	}
	// The consumer's mapping outlives the files.
	if f, r := c.Read(a.Epoch, 10); r != DropNotCommitted {
		t.Errorf("after Remove: %v %v", f, r)
	}
}

func TestChooseEpochAfterExisting(t *testing.T) {
	base := t.TempDir()
	l := Layout{BaseDir: base, User: "u", Namespace: "n", StreamID: 7}
	huge := uint64(1) << 62
	l.Epoch = huge
	d, _ := l.Dir()
	must(t, os.MkdirAll(d, 0o700))
	if got := chooseEpoch(l); got != huge+1 {
		t.Errorf("chooseEpoch = %d, want %d", got, huge+1)
	}
	s, err := CreateStream(StreamConfig{BaseDir: base, User: "u", Namespace: "n", StreamID: 7, Epoch: huge, NSlots: 2, Pools: []PoolConfig{{1, 64}}})
	if err == nil {
		s.Close()
		t.Fatal("created over an existing epoch directory")
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("err = %v", err)
	}
}

func TestStreamConfigValidate(t *testing.T) {
	good := StreamConfig{BaseDir: "/tmp/x", StreamID: 1, NSlots: 4, Pools: []PoolConfig{{1, 64}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(c *StreamConfig)
		wantErr error
	}{
		{"relative base", func(c *StreamConfig) { c.BaseDir = "x" }, ErrNotAbsolute},
		{"bad namespace", func(c *StreamConfig) { c.Namespace = "../x" }, ErrBadName},
		{"nslots", func(c *StreamConfig) { c.NSlots = 3 }, ErrLayout},
		{"no pools", func(c *StreamConfig) { c.Pools = nil }, ErrLayout},
		{"duplicate pool", func(c *StreamConfig) { c.Pools = []PoolConfig{{1, 64}, {1, 128}} }, ErrLayout},
		{"stride", func(c *StreamConfig) { c.Pools = []PoolConfig{{1, 192}} }, ErrStrideBytes},
		{"file mode", func(c *StreamConfig) { c.FileMode = 0o666 }, ErrInsecureMode},
		{"dir mode", func(c *StreamConfig) { c.DirMode = 0o755 }, ErrInsecureMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			if err := c.Validate(); !errors.Is(err, tt.wantErr) {
				t.Errorf("Validate = %v, want %v", err, tt.wantErr)
			}
			if _, err := CreateStream(c); !errors.Is(err, tt.wantErr) {
				t.Errorf("CreateStream = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAttachRejects(t *testing.T) {
	base := t.TempDir()
	s, err := CreateStream(StreamConfig{BaseDir: base, StreamID: 3, NSlots: 4, Pools: []PoolConfig{{1, 64}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	allow := mustAllow(t, base)
	tests := []struct {
		name    string
		edit    func(a *Announcement)
		notOld  uint64
		wantErr error
	}{
		{"epoch", func(a *Announcement) { a.Epoch++ }, 0, ErrEpoch},
		{"stream", func(a *Announcement) { a.StreamID++ }, 0, ErrStreamID},
		{"nslots", func(a *Announcement) { a.NSlots = 8; a.Pools[0].NSlots = 8 }, 0, ErrNSlots},
		{"pool nslots differ", func(a *Announcement) { a.Pools[0].NSlots = 8 }, 0, ErrNSlots},
		{"stride", func(a *Announcement) { a.Pools[0].StrideBytes = 128 }, 0, ErrStrideBytes},
		{"pool id", func(a *Announcement) { a.Pools[0].ID = 2 }, 0, ErrPoolID},
		{"layout version", func(a *Announcement) { a.LayoutVersion = 2 }, 0, ErrLayoutVersion},
		{"stale", func(*Announcement) {}, MonotonicNow() + 1e12, ErrStale},
		{"pool URI outside", func(a *Announcement) { a.Pools[0].URI = "shm:file?path=/etc/passwd" }, 0, ErrNotContained},
		{"no pools", func(a *Announcement) { a.Pools = nil }, 0, ErrLayout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.Announcement()
			tt.edit(&a)
			at, err := Attach(a, allow, tt.notOld)
			if err == nil {
				at.Close()
				t.Fatal("attached")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// Announcement hands out a copy.
	a := s.Announcement()
	a.Pools[0].ID = 99
	if diff := cmp.Diff(uint16(1), s.Announcement().Pools[0].ID); diff != "" {
		t.Error(diff)
	}
}
