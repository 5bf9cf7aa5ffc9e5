package counters

import (
	"testing"

	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

const fuzzCounters = 4

// FuzzReader lays arbitrary bytes over the metadata of a counters file (as
// another process could write it) and runs every reader accessor on every
// id, in range or not: nothing may panic. Seeds are the metadata a Manager
// writes for real counters.
func FuzzReader(f *testing.F) {
	meta := testmem.Bytes(f, fuzzCounters*MetadataLength)
	values := testmem.Bytes(f, fuzzCounters*ValueLength)
	now := func() int64 { return 1000 }
	m, err := NewManager(meta, values, now, 1000)
	if err != nil {
		f.Fatal(err)
	}
	id, _ := m.Allocate(TypePublisherLimit, StreamKey(77, 5, 1001, "aeron:ipc"), "pub-lmt: 77 5 1001 aeron:ipc")
	_, _ = m.Allocate(TypeSystem, make([]byte, 500), string(make([]byte, 1000)))
	_, _ = m.Allocate(TypeSystem, nil, "")
	_ = m.Free(id)
	f.Add(append([]byte(nil), meta...))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := copy(meta, data)
		clear(meta[n:])
		r, err := NewReader(meta, values)
		if err != nil {
			t.Fatal(err)
		}
		for id := int32(-1); id <= fuzzCounters; id++ {
			_ = r.State(id)
			_ = r.TypeID(id)
			_ = r.FreeForReuseDeadline(id)
			if k := r.Key(id); len(k) > MetadataLength {
				t.Fatalf("Key(%d) of %d bytes", id, len(k))
			}
			if l := r.Label(id); len(l) > MaxLabelLength {
				t.Fatalf("Label(%d) of %d bytes", id, len(l))
			}
			_ = r.Value(id)
			_ = r.RegistrationID(id)
			_ = r.OwnerID(id)
			_ = r.KeyRegistrationID(id)
			_ = r.IsActive(id, TypePublisherLimit, 1001)
			_, _ = r.Addr(id)
		}
		r.ForEach(func(id, typeID int32, label string) {
			if id < 0 || id >= fuzzCounters || len(label) > MaxLabelLength {
				t.Fatalf("ForEach gave id %d label of %d bytes", id, len(label))
			}
		})
		_ = r.Find(TypePublisherLimit, 1001)
		_ = r.FindByKey(TypePublisherLimit, 1001)
		_ = r.Find(TypeSystem, 0)
		_ = r.FindByKey(TypeSystem, 0)
	})
}
