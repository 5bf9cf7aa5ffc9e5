package gen_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/sbe"
)

// TestWrapInPlace: re-encoding a SlotHeader in place leaves the words it is
// not told to write (seq_commit) alone, and a reserved var-data field is
// filled in place.
func TestWrapInPlace(t *testing.T) {
	slot := make([]byte, 256)
	for i := range slot {
		slot[i] = 0xee
	}
	seqCommit := bytes.Clone(slot[:8])
	var e wire.SlotHeaderEncoder
	if err := e.WrapInPlace(slot); err != nil {
		t.Fatal(err)
	}
	e.SetValuesLenBytes(4096)
	e.SetPayloadSlot(3)
	e.SetPoolId(1)
	e.SetPayloadOffset(0)
	e.SetTimestampNs(99)
	e.SetMetaVersion(2)
	hb, err := e.ReserveHeaderBytes(192)
	if err != nil {
		t.Fatal(err)
	}
	var th wire.TensorHeaderEncoder
	if err := th.WrapWithHeader(hb); err != nil {
		t.Fatal(err)
	}
	th.SetDtype(wire.DtypeFloat32)
	th.SetNdims(1)
	n, err := e.Finish()
	if err != nil || n != 256 {
		t.Fatalf("Finish = %d, %v", n, err)
	}
	if !bytes.Equal(slot[:8], seqCommit) {
		t.Errorf("seq_commit changed: %x", slot[:8])
	}
	var d wire.SlotHeaderDecoder
	if err := d.Wrap(slot, wire.SlotHeaderBlockLength, wire.SchemaVersion); err != nil {
		t.Fatal(err)
	}
	var td wire.TensorHeaderDecoder
	if err := td.WrapWithHeader(d.HeaderBytes()); err != nil {
		t.Fatal(err)
	}
	if d.ValuesLenBytes() != 4096 || d.PayloadSlot() != 3 || td.Dtype() != wire.DtypeFloat32 || td.Ndims() != 1 {
		t.Errorf("decoded %s / %s", d.String(), td.String())
	}
	if _, err := e.ReserveHeaderBytes(1); !errors.Is(err, sbe.ErrEncodeOrder) {
		t.Errorf("second reserve: %v, want ErrEncodeOrder", err)
	}
}

func TestReserveTooLarge(t *testing.T) {
	var e wire.DataSourceMetaEncoder
	if err := e.WrapWithHeader(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	attrs, err := e.Attributes(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := attrs.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := attrs.ReserveKey(100); !errors.Is(err, sbe.ErrShortBuffer) {
		t.Errorf("ReserveKey(100) in a 64-byte buffer: %v", err)
	}
	if _, err := e.Finish(); !errors.Is(err, sbe.ErrShortBuffer) {
		t.Errorf("Finish after a failure: %v", err)
	}
}
