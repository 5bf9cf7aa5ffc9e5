package pool

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzAttach attaches to an arbitrary announcement (the JSON a producer
// publishes, as the examples exchange it) whose header ring file holds
// arbitrary bytes, as another process could write both. Attach and
// OpenRegion must return an error or a working attachment, never panic,
// and leave nothing mapped on error. Seeds are a real stream's
// announcement and ring file.
func FuzzAttach(f *testing.F) {
	s := newTestStream(f, 4, 64)
	a := Announcement{StreamID: s.layout.StreamID, Epoch: s.layout.Epoch, NSlots: s.nslots, HeaderURI: s.ringURI,
		Pools: []AnnouncedPool{{ID: 1, NSlots: s.nslots, StrideBytes: s.strides[1], URI: s.poolURI[1]}}}
	ann, err := json.Marshal(a)
	if err != nil {
		f.Fatal(err)
	}
	hp, _ := s.layout.HeaderPath()
	ring, err := os.ReadFile(hp)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ann, ring)
	f.Add(ann, ring[:SuperblockSize])
	bad := a
	bad.Pools = append(bad.Pools, AnnouncedPool{ID: 2, NSlots: 4, StrideBytes: 64, URI: s.poolURI[1]})
	annBad, _ := json.Marshal(bad)
	f.Add(annBad, ring)
	f.Fuzz(func(t *testing.T, annJSON, file []byte) {
		var a Announcement
		if json.Unmarshal(annJSON, &a) != nil {
			return
		}
		if err := os.WriteFile(hp, file, FileModeShared); err != nil {
			t.Fatal(err)
		}
		at, err := Attach(a, s.allow, 0)
		if err != nil {
			return
		}
		defer at.Close()
		if _, ok := at.Consumer.Newest(); ok {
			// An attached ring's slots are readable whatever they hold.
			_ = at.Consumer.Ready(0)
		}
		_, _ = at.Consumer.Read(a.Epoch, 0)
	})
}
