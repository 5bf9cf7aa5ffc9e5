package broadcast

import (
	"testing"

	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

const fuzzCapacity = 256

// FuzzReceiver lays arbitrary bytes over a broadcast buffer (records and
// trailer counters), as a hostile or crashed driver could leave it, and
// runs a Receiver (ReceiveNext, MsgTypeID, Message, Validate) and a
// CopyReceiver over it: errors, never panics, and every message lies in
// the data region. Seeds are buffers a Transmitter wrote, wrapped around.
func FuzzReceiver(f *testing.F) {
	mem := testmem.Bytes(f, fuzzCapacity+TrailerLength)
	for _, n := range []int{1, 5, 40} {
		clear(mem)
		tx, err := NewTransmitter(mem)
		if err != nil {
			f.Fatal(err)
		}
		for i := range n {
			_ = tx.Transmit(int32(i+1), make([]byte, (i*7)%50))
		}
		f.Add(append([]byte(nil), mem...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := copy(mem, data)
		clear(mem[n:])
		r, err := NewReceiver(mem)
		if err != nil {
			t.Fatal(err)
		}
		// Start the receiver at 0 as well as at latest: both are positions
		// a real receiver may hold.
		r.cursor, r.nextRecord = 0, 0
		for range 2 * fuzzCapacity / RecordAlignment {
			ok, err := r.ReceiveNext()
			if err != nil || !ok {
				break
			}
			_ = r.MsgTypeID()
			if m := r.Message(); len(m) > fuzzCapacity {
				t.Fatalf("message of %d bytes", len(m))
			}
			_ = r.Validate()
		}
		r2, err := NewReceiver(mem)
		if err != nil {
			t.Fatal(err)
		}
		c := NewCopyReceiver(r2)
		for range 2 * fuzzCapacity / RecordAlignment {
			k, err := c.Receive(func(typ int32, msg []byte) {
				if len(msg) > fuzzCapacity {
					t.Fatalf("copied message of %d bytes", len(msg))
				}
			})
			if err != nil || k == 0 {
				break
			}
		}
	})
}
