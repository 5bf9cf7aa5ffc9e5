package broadcast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

type rec struct {
	Type int32
	Msg  string
}

func receiveAll(t *testing.T, c *CopyReceiver) ([]rec, error) {
	t.Helper()
	var out []rec
	for {
		n, err := c.Receive(func(typ int32, msg []byte) { out = append(out, rec{typ, string(msg)}) })
		if err != nil || n == 0 {
			return out, err
		}
	}
}

func TestTransmitReceive(t *testing.T) {
	b := testmem.Bytes(t, 1024+TrailerLength)
	tx, err := NewTransmitter(b)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := NewReceiver(b)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCopyReceiver(rx)
	if err := tx.Transmit(0x0F03, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	// Header: length 11, type at 4; tail 16, latest 0, intent 16.
	le := binary.LittleEndian
	if got := []uint64{uint64(le.Uint32(b)), uint64(le.Uint32(b[4:])), le.Uint64(b[1024+TailIntentCounterOffset:]),
		le.Uint64(b[1024+TailCounterOffset:]), le.Uint64(b[1024+LatestCounterOffset:])}; !cmp.Equal(got, []uint64{11, 0x0F03, 16, 16, 0}) {
		t.Errorf("layout = %v", got)
	}
	got, err := receiveAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]rec{{0x0F03, "abc"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWrapAround(t *testing.T) {
	b := testmem.Bytes(t, 256+TrailerLength)
	tx, _ := NewTransmitter(b)
	rx, _ := NewReceiver(b)
	c := NewCopyReceiver(rx)
	for i := range 50 {
		m := fmt.Sprintf("m%02d%s", i, make([]byte, i%25))
		if err := tx.Transmit(int32(i+1), []byte(m)); err != nil {
			t.Fatal(err)
		}
		got, err := receiveAll(t, c)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if diff := cmp.Diff([]rec{{int32(i + 1), m}}, got); diff != "" {
			t.Fatalf("message %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestLapped(t *testing.T) {
	b := testmem.Bytes(t, 256+TrailerLength)
	tx, _ := NewTransmitter(b)
	rx, _ := NewReceiver(b)
	c := NewCopyReceiver(rx)
	for i := range 20 {
		_ = tx.Transmit(1, []byte(fmt.Sprintf("message %02d", i)))
	}
	if _, err := receiveAll(t, c); !errors.Is(err, ErrLapped) {
		t.Fatalf("error = %v, want ErrLapped", err)
	}
	if rx.LappedCount() != 1 {
		t.Errorf("lapped count = %d", rx.LappedCount())
	}
	// After being lapped the receiver resumes from the latest record.
	_ = tx.Transmit(2, []byte("fresh"))
	got, err := receiveAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != (rec{2, "fresh"}) {
		t.Errorf("after lap got %v", got)
	}
}

func TestErrors(t *testing.T) {
	b := testmem.Bytes(t, 256+TrailerLength)
	tx, _ := NewTransmitter(b)
	if err := tx.Transmit(1, make([]byte, 33)); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	if err := tx.Transmit(0, nil); !errors.Is(err, ErrMsgTypeID) {
		t.Errorf("type 0: %v", err)
	}
	if _, err := NewReceiver(make([]byte, 300)); !errors.Is(err, ErrCapacity) {
		t.Errorf("capacity: %v", err)
	}
	// A corrupted record length is reported, not followed.
	rx, _ := NewReceiver(b)
	_ = tx.Transmit(1, []byte("x"))
	binary.LittleEndian.PutUint32(b, 4000)
	if _, err := NewCopyReceiver(rx).Receive(func(int32, []byte) {}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt: %v", err)
	}
}

func BenchmarkTransmitReceive(b *testing.B) {
	mem := testmem.Bytes(b, 64*1024+TrailerLength)
	tx, _ := NewTransmitter(mem)
	rx, _ := NewReceiver(mem)
	c := NewCopyReceiver(rx)
	msg := make([]byte, 64)
	h := func(int32, []byte) {}
	b.ReportAllocs()
	for b.Loop() {
		_ = tx.Transmit(1, msg)
		_, _ = c.Receive(h)
	}
}

func TestShortPaddingIsCorrupt(t *testing.T) {
	b := testmem.Bytes(t, 256+TrailerLength)
	rx, _ := NewReceiver(b)
	// A padding record must run to the end of the buffer; this one stops
	// at 16 bytes.
	le := binary.LittleEndian
	le.PutUint32(b, 16)
	le.PutUint32(b[4:], 0xFFFFFFFF)
	le.PutUint64(b[256+TailIntentCounterOffset:], 64)
	le.PutUint64(b[256+TailCounterOffset:], 64)
	if _, err := NewCopyReceiver(rx).Receive(func(int32, []byte) {}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("error = %v, want ErrCorrupt", err)
	}
}

func TestMisalignedCursorIsCorrupt(t *testing.T) {
	b := testmem.Bytes(t, 256+TrailerLength)
	tx, _ := NewTransmitter(b)
	rx, _ := NewReceiver(b)
	_ = tx.Transmit(1, []byte("x"))
	binary.LittleEndian.PutUint64(b[256+TailIntentCounterOffset:], 1<<20)
	binary.LittleEndian.PutUint64(b[256+LatestCounterOffset:], 255)
	if _, err := NewCopyReceiver(rx).Receive(func(int32, []byte) {}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("error = %v, want ErrCorrupt", err)
	}
}
