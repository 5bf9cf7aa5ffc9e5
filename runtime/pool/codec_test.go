package pool

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The reference vectors are encoded by SBE-generated codecs from the wire
// schema (see /work/shared/vectors/reference/expected.json in the project
// workspace); the tests skip when they are absent.
const vectorDir = "../../../shared/vectors/reference"

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Skipf("reference vector %s: %v", name, err)
	}
	return b
}

// Offsets inside the TensorHeader block (after the message header), from
// the schema: tests use them to check the codec and to corrupt fields.
const (
	thDtype          = 0
	thMajorOrder     = 2
	thNDims          = 4
	thPadAlign       = 5
	thProgressUnit   = 6
	thProgressStride = 7
	thDims           = 11
	thStrides        = thDims + 4*MaxDims
	thPad            = thStrides + 4*MaxDims // 109 reserved bytes to the end
)

// Field values of the reference vectors, from expected.json.
var (
	refSuperblock = Superblock{
		LayoutVersion:       1413689889,
		Epoch:               1803822932162786082,
		StreamID:            1447375907,
		RegionType:          PayloadPool,
		PoolID:              13604,
		NSlots:              1481061925,
		SlotBytes:           1497904934,
		StrideBytes:         1514747943,
		PID:                 2237863969191246120,
		StartTimestampNs:    2310204142029322793,
		ActivityTimestampNs: 2382544314867399466,
	}
	refTensor = TensorHeader{
		Dtype: Float64, MajorOrder: RowMajor, NDims: 8, ProgressUnit: ProgressRows,
		ProgressStrideBytes: 1451520,
		Dims:                [MaxDims]int32{2, 3, 4, 5, 6, 7, 8, 9},
		Strides:             [MaxDims]int32{1451520, 483840, 120960, 24192, 4032, 576, 72, 8},
	}
	refSlot = slotFields{
		valuesLen: 1430532898, payloadSlot: 1447375907, poolID: 13604,
		payloadOffset: 1481061925, timestampNs: 2093183623515092774, metaVersion: 1514747943,
	}
	refSeqCommit uint64 = 1731482759324709409
)

func TestSuperblockMatchesReferenceVector(t *testing.T) {
	ref := readVector(t, "wire__ShmRegionSuperblock.bin")
	got, err := DecodeSuperblock(ref)
	if err != nil {
		t.Fatalf("DecodeSuperblock: %v", err)
	}
	if diff := cmp.Diff(refSuperblock, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	enc := make([]byte, SuperblockSize)
	if err := refSuperblock.Encode(enc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ref, enc); diff != "" {
		t.Errorf("encoded bytes (-want +got):\n%s", diff)
	}
	act := make([]byte, SuperblockSize)
	(&Superblock{ActivityTimestampNs: 0x0102030405060708}).Encode(act)
	if got := binary.LittleEndian.Uint64(act[sbActivityTS:]); got != 0x0102030405060708 {
		t.Errorf("activity_timestamp_ns is not at offset %d", sbActivityTS)
	}
	if string(enc[:8]) != "1MHSLPOT" {
		t.Errorf("magic bytes on disk %q, want 1MHSLPOT", enc[:8])
	}
}

func TestTensorHeaderMatchesReferenceVectors(t *testing.T) {
	withHdr := readVector(t, "wire__TensorHeader__hdr.bin")
	block := readVector(t, "wire__TensorHeader.bin")
	if diff := cmp.Diff(block, withHdr[sbeMessageHeaderLen:]); diff != "" {
		t.Fatalf("vectors disagree:\n%s", diff)
	}
	var got TensorHeader
	if r := decodeTensorHeader(withHdr, &got); r != DropNone {
		t.Fatalf("decode: %v", r)
	}
	if diff := cmp.Diff(refTensor, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("reference tensor does not validate: %v", err)
	}
	enc := make([]byte, TensorHeaderLen)
	encodeTensorHeader(enc, &refTensor)
	// The vector puts pattern bytes in padAlign (offset 5) and the first
	// reserved byte; producers write zeros there.
	want := append([]byte(nil), withHdr...)
	want[sbeMessageHeaderLen+thPadAlign] = 0
	want[sbeMessageHeaderLen+thPad] = 0
	if diff := cmp.Diff(want, enc); diff != "" {
		t.Errorf("encoded (-want +got):\n%s", diff)
	}
}

func TestSlotHeaderMatchesReferenceVector(t *testing.T) {
	ref := readVector(t, "wire__SlotHeader.bin")
	if len(ref) != HeaderSlotBytes {
		t.Fatalf("vector is %d bytes", len(ref))
	}
	if got := binary.LittleEndian.Uint64(ref[shSeqCommit:]); got != refSeqCommit {
		t.Errorf("seq_commit %d, want %d", got, refSeqCommit)
	}
	var f slotFields
	hb := readSlot(ref, &f)
	if hb == nil {
		t.Fatal("headerBytes length rejected")
	}
	if diff := cmp.Diff(refSlot, f, cmp.AllowUnexported(slotFields{})); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	var th TensorHeader
	if r := decodeTensorHeader(hb, &th); r != DropNone {
		t.Fatalf("embedded header: %v", r)
	}
	if diff := cmp.Diff(refTensor, th); diff != "" {
		t.Errorf("embedded (-want +got):\n%s", diff)
	}

	enc := make([]byte, HeaderSlotBytes)
	binary.LittleEndian.PutUint64(enc, refSeqCommit)
	writeSlot(enc, &refSlot, &refTensor)
	want := append([]byte(nil), ref...)
	clear(want[shPad:shHeaderBytesLen]) // reserved: the vector has a pattern byte
	want[shHeaderBytes+sbeMessageHeaderLen+thPadAlign] = 0
	want[shHeaderBytes+sbeMessageHeaderLen+thPad] = 0
	if diff := cmp.Diff(want, enc); diff != "" {
		t.Errorf("encoded (-want +got):\n%s", diff)
	}
}

func TestWriteSlotOverwritesEverything(t *testing.T) {
	slot := make([]byte, HeaderSlotBytes)
	for i := range slot {
		slot[i] = 0xAA
	}
	h, err := NewTensorHeader(Uint8, RowMajor, 4)
	if err != nil {
		t.Fatal(err)
	}
	writeSlot(slot, &slotFields{valuesLen: 4}, &h)
	for i := 8; i < HeaderSlotBytes; i++ {
		if slot[i] == 0xAA {
			t.Errorf("byte %d of the slot was not overwritten", i)
		}
	}
	for i := range 8 {
		if slot[i] != 0xAA {
			t.Errorf("writeSlot touched seq_commit byte %d", i)
		}
	}
}
