package ringbuffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

type rec struct {
	Type int32
	Msg  string
}

func drain(t *testing.T, r *RingBuffer) []rec {
	t.Helper()
	var out []rec
	for {
		before := r.Head()
		n, err := r.Read(func(typ int32, msg []byte) { out = append(out, rec{typ, string(msg)}) }, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && r.Head() == before {
			return out
		}
	}
}

func TestNewRejectsBadCapacity(t *testing.T) {
	for _, n := range []int{0, 100, TrailerLength + 1000} {
		if _, err := New(make([]byte, n)); !errors.Is(err, ErrCapacity) {
			t.Errorf("New(%d bytes) error = %v, want ErrCapacity", n, err)
		}
	}
}

func TestWriteRead(t *testing.T) {
	b := testmem.Bytes(t, 1024+TrailerLength)
	r, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(7, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Record layout: length 8+5=13 at 0, type 7 at 4, payload at 8.
	if got := binary.LittleEndian.Uint32(b[0:]); got != 13 {
		t.Errorf("record length = %d, want 13", got)
	}
	if got := binary.LittleEndian.Uint32(b[4:]); got != 7 {
		t.Errorf("record type = %d, want 7", got)
	}
	if got := binary.LittleEndian.Uint64(b[1024+TailPositionOffset:]); got != 16 {
		t.Errorf("tail = %d, want 16 (aligned)", got)
	}
	if err := r.Write(8, []byte("world!")); err != nil {
		t.Fatal(err)
	}
	want := []rec{{7, "hello"}, {8, "world!"}}
	if diff := cmp.Diff(want, drain(t, r)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if r.Head() != r.Tail() {
		t.Errorf("head %d != tail %d", r.Head(), r.Tail())
	}
	for i := range 1024 {
		if b[i] != 0 {
			t.Fatalf("byte %d not zeroed after read", i)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	r, err := New(testmem.Bytes(t, 1024+TrailerLength))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		typ  int32
		n    int
		want error
	}{
		{"too long", 1, 1024/8 + 1, ErrTooLong},
		{"type zero", 0, 1, ErrMsgTypeID},
		{"padding type", -1, 1, ErrMsgTypeID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Write(tt.typ, make([]byte, tt.n)); !errors.Is(err, tt.want) {
				t.Errorf("Write error = %v, want %v", err, tt.want)
			}
		})
	}
	// Fill up: 128-byte messages take 136 bytes; 7 fit in 1024.
	msg := make([]byte, 128)
	n := 0
	for r.Write(1, msg) == nil {
		n++
	}
	if n != 7 {
		t.Errorf("wrote %d records before full, want 7", n)
	}
	if err := r.Write(1, msg); !errors.Is(err, ErrFull) {
		t.Errorf("error = %v, want ErrFull", err)
	}
}

func TestWrapWithPadding(t *testing.T) {
	r, err := New(testmem.Bytes(t, 256+TrailerLength))
	if err != nil {
		t.Fatal(err)
	}
	var want []rec
	for i := range 40 {
		m := fmt.Sprintf("message-%02d-%s", i, string(make([]byte, i%20)))
		if err := r.Write(int32(i+1), []byte(m)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		want = append(want, rec{int32(i + 1), m})
		if i%2 == 1 {
			if diff := cmp.Diff(want, drain(t, r)); diff != "" {
				t.Fatalf("after %d (-want +got):\n%s", i, diff)
			}
			want = nil
		}
	}
}

func TestCorrelationAndHeartbeat(t *testing.T) {
	r, err := New(testmem.Bytes(t, 1024+TrailerLength))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := r.NextCorrelationID(), r.NextCorrelationID(); a != 0 || b != 1 {
		t.Errorf("correlation ids %d, %d, want 0, 1", a, b)
	}
	r.SetConsumerHeartbeat(12345)
	if r.ConsumerHeartbeat() != 12345 {
		t.Error("heartbeat not stored")
	}
}

func TestCorruptRecord(t *testing.T) {
	b := testmem.Bytes(t, 1024+TrailerLength)
	r, _ := New(b)
	_ = r.Write(1, []byte("ok"))
	// Forge a record claiming more than the buffer holds.
	binary.LittleEndian.PutUint32(b[16:], 5000)
	binary.LittleEndian.PutUint64(b[1024+TailPositionOffset:], 32)
	var got []rec
	n, err := r.Read(func(typ int32, msg []byte) { got = append(got, rec{typ, string(msg)}) }, 10)
	if n != 1 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read = %d, %v; want 1, ErrCorrupt", n, err)
	}
	r.Discard()
	if r.Head() != r.Tail() {
		t.Error("Discard did not move head to tail")
	}
}

func TestUnblock(t *testing.T) {
	b := testmem.Bytes(t, 1024+TrailerLength)
	r, _ := New(b)
	// A producer that died after claiming: tail moved, length negative.
	idx := r.claim(24)
	binary.LittleEndian.PutUint32(b[idx:], uint32(0xFFFFFFFF-24+1))
	_ = r.Write(3, []byte("after"))
	if got := drain(t, r); len(got) != 0 {
		t.Fatalf("read past a blocked record: %v", got)
	}
	if !r.Unblock() {
		t.Fatal("Unblock = false")
	}
	if diff := cmp.Diff([]rec{{3, "after"}}, drain(t, r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r.Unblock() {
		t.Error("Unblock on an empty buffer = true")
	}
}

func TestConcurrentProducers(t *testing.T) {
	r, err := New(testmem.Bytes(t, 4096+TrailerLength))
	if err != nil {
		t.Fatal(err)
	}
	const producers, each = 4, 2000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var msg [8]byte
			for i := 0; i < each; {
				binary.LittleEndian.PutUint32(msg[:], uint32(p))
				binary.LittleEndian.PutUint32(msg[4:], uint32(i))
				if err := r.Write(int32(p+1), msg[:]); err == nil {
					i++
				} else if !errors.Is(err, ErrFull) {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]uint32, producers)
	total := 0
	for total < producers*each {
		n, err := r.Read(func(typ int32, msg []byte) {
			p := binary.LittleEndian.Uint32(msg)
			i := binary.LittleEndian.Uint32(msg[4:])
			if int32(p+1) != typ || i != next[p] {
				t.Errorf("producer %d: got seq %d, want %d", p, i, next[p])
			}
			next[p] = i + 1
		}, 50)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	wg.Wait()
}

func BenchmarkWriteRead(b *testing.B) {
	r, _ := New(testmem.Bytes(b, 64*1024+TrailerLength))
	msg := make([]byte, 64)
	h := func(int32, []byte) {}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Write(1, msg)
		_, _ = r.Read(h, 1)
	}
}

func TestMisalignedPositionsAreCorrupt(t *testing.T) {
	b := testmem.Bytes(t, 1024+TrailerLength)
	r, _ := New(b)
	binary.LittleEndian.PutUint64(b[1024+TailPositionOffset:], 13)
	if err := r.Write(1, []byte("x")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Write with misaligned tail: %v", err)
	}
	binary.LittleEndian.PutUint64(b[1024+HeadPositionOffset:], 5)
	if _, err := r.Read(func(int32, []byte) {}, 1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Read with misaligned head: %v", err)
	}
	if r.Unblock() {
		t.Error("Unblock acted on misaligned positions")
	}
	r.Discard()
	if err := r.Write(1, []byte("x")); err != nil {
		t.Errorf("after Discard: %v", err)
	}
}
