package pool

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzAttach attaches to an arbitrary announcement (the JSON a producer
// publishes, as the examples exchange it) whose header ring and payload
// pool files hold arbitrary bytes, as another process could write all
// three. Attach and OpenRegion must return an error or a working
// attachment, never panic, and leave nothing mapped on error; a frame that
// reads as valid must be readable to its last payload byte. Seeds are a
// real stream's announcement and files, and truncations of them.
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
	pp, _ := s.layout.PoolPath(1)
	pool, err := os.ReadFile(pp)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ann, ring, pool)
	f.Add(ann, ring[:SuperblockSize], pool)
	f.Add(ann, ring, pool[:SuperblockSize])
	f.Add(ann, ring, pool[:len(pool)-1])
	bad := a
	bad.Pools = append(bad.Pools, AnnouncedPool{ID: 2, NSlots: 4, StrideBytes: 64, URI: s.poolURI[1]})
	annBad, _ := json.Marshal(bad)
	f.Add(annBad, ring, pool)
	f.Fuzz(func(t *testing.T, annJSON, ringFile, poolFile []byte) {
		var a Announcement
		if json.Unmarshal(annJSON, &a) != nil {
			return
		}
		if err := os.WriteFile(hp, ringFile, FileModeShared); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pp, poolFile, FileModeShared); err != nil {
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
		// A frame that validates is readable to its last payload byte.
		for seq := uint64(0); seq < 4; seq++ {
			if fr, r := at.Consumer.Read(a.Epoch, seq); r == DropNone {
				for i := range fr.Payload {
					_ = fr.Payload[i]
				}
			}
		}
	})
}
