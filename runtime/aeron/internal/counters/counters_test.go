package counters

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

type clock struct{ ms int64 }

func (c *clock) now() int64 { return c.ms }

func newManager(t *testing.T, n int) (*Manager, []byte, []byte, *clock) {
	t.Helper()
	meta := testmem.Bytes(t, n*MetadataLength)
	values := testmem.Bytes(t, n*ValueLength)
	c := &clock{ms: 1000}
	m, err := NewManager(meta, values, c.now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return m, meta, values, c
}

func setValue(t *testing.T, m *Manager, id int32, v int64) {
	t.Helper()
	p, err := m.Addr(id)
	if err != nil {
		t.Fatal(err)
	}
	p.Store(v)
}

func TestAllocateLayout(t *testing.T) {
	m, meta, values, _ := newManager(t, 4)
	key := StreamKey(77, 5, 1001, "aeron:ipc")
	id, err := m.Allocate(TypePublisherLimit, key, "pub-lmt: 77 5 1001 aeron:ipc ")
	if err != nil {
		t.Fatal(err)
	}
	m.SetRegistrationID(id, 77)
	m.SetOwnerID(id, 9)
	setValue(t, m, id, 4096)
	le := binary.LittleEndian
	got := map[string]int64{
		"state":        int64(int32(le.Uint32(meta[StateOffset:]))),
		"type":         int64(le.Uint32(meta[TypeIDOffset:])),
		"deadline":     int64(le.Uint64(meta[FreeForReuseDeadlineOffset:])),
		"key reg":      int64(le.Uint64(meta[KeyOffset:])),
		"key session":  int64(le.Uint32(meta[KeyOffset+8:])),
		"key stream":   int64(le.Uint32(meta[KeyOffset+12:])),
		"key chan len": int64(le.Uint32(meta[KeyOffset+16:])),
		"label len":    int64(le.Uint32(meta[LabelLengthOffset:])),
		"value":        int64(le.Uint64(values[0:])),
		"registration": int64(le.Uint64(values[RegistrationIDOffset:])),
		"owner":        int64(le.Uint64(values[OwnerIDOffset:])),
	}
	want := map[string]int64{
		"state": 1, "type": 1, "deadline": NotFreeToReuse, "key reg": 77, "key session": 5, "key stream": 1001,
		"key chan len": 9, "label len": 29, "value": 4096, "registration": 77, "owner": 9,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	if l := m.Label(id); l != "pub-lmt: 77 5 1001 aeron:ipc " {
		t.Errorf("label %q", l)
	}
	if f := m.Find(TypePublisherLimit, 77); f != id {
		t.Errorf("Find = %d", f)
	}
	if f := m.Find(TypePublisherLimit, 78); f != NullCounterID {
		t.Errorf("Find missing = %d", f)
	}
}

func TestFreeAndReuse(t *testing.T) {
	m, _, _, c := newManager(t, 3)
	for range 3 {
		if _, err := m.Allocate(TypeSystem, nil, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Allocate(TypeSystem, nil, "full"); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("error = %v, want ErrNoSpace", err)
	}
	setValue(t, m, 1, 55)
	if err := m.Free(1); err != nil {
		t.Fatal(err)
	}
	if err := m.Free(1); !errors.Is(err, ErrID) {
		t.Errorf("double free: %v", err)
	}
	if m.State(1) != RecordReclaimed {
		t.Error("state not reclaimed")
	}
	if _, err := m.Allocate(TypeSystem, nil, "too soon"); !errors.Is(err, ErrNoSpace) {
		t.Errorf("reuse before deadline: %v", err)
	}
	c.ms += 1000
	id, err := m.Allocate(TypeSystem, nil, "reused")
	if err != nil || id != 1 {
		t.Fatalf("reuse = %d, %v", id, err)
	}
	if m.Value(1) != 0 {
		t.Error("reused counter value not reset")
	}
	var seen []string
	m.ForEach(func(id, typeID int32, label string) { seen = append(seen, label) })
	if diff := cmp.Diff([]string{"x", "reused", "x"}, seen); diff != "" {
		t.Errorf("ForEach (-want +got):\n%s", diff)
	}
}

func TestLabelTruncatedAndBadIDs(t *testing.T) {
	m, _, _, _ := newManager(t, 2)
	long := string(make([]byte, 1000))
	id, _ := m.Allocate(TypeSystem, make([]byte, 500), long)
	if len(m.Label(id)) != MaxLabelLength {
		t.Errorf("label length %d", len(m.Label(id)))
	}
	for _, bad := range []int32{-1, 2, 1 << 20} {
		if _, err := m.Addr(bad); !errors.Is(err, ErrID) {
			t.Errorf("Addr(%d) = %v", bad, err)
		}
		if m.Label(bad) != "" || m.Value(bad) != 0 {
			t.Errorf("reads of %d not empty", bad)
		}
	}
	if _, err := NewReader(make([]byte, 100), make([]byte, 128)); !errors.Is(err, ErrLengths) {
		t.Errorf("NewReader lengths: %v", err)
	}
}
