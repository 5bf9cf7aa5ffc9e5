package errorlog

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
	"github.com/tpool-go/tpool/runtime/shm"
)

func TestRecordDistinct(t *testing.T) {
	b := testmem.Bytes(t, 256)
	now := int64(10)
	l := New(b, func() int64 { return now })
	l.Record("boom")
	now = 20
	l.Record("boom")
	l.Record("other")
	want := []entry{{Count: 2, FirstMs: 10, LastMs: 20, Text: "boom"}, {Count: 1, FirstMs: 20, LastMs: 20, Text: "other"}}
	if diff := cmp.Diff(want, read(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if l.Record(string(make([]byte, 300))) {
		t.Error("oversized error recorded")
	}
}

// entry is one decoded record.
type entry struct {
	Count   int32
	FirstMs int64
	LastMs  int64
	Text    string
}

// read decodes every complete record of an error log region, as a
// reader of the CnC file (AeronStat's error stat) does.
func read(b []byte) []entry {
	var out []entry
	for off := 0; off+HeaderLength <= len(b); {
		p, err := shm.Int32At(b, off)
		if err != nil {
			break
		}
		length := int(p.Load())
		if length < HeaderLength || off+length > len(b) {
			break
		}
		c, _ := shm.Int32At(b, off+ObservationCountOffset)
		out = append(out, entry{
			Count:   c.Load(),
			FirstMs: int64(binary.LittleEndian.Uint64(b[off+FirstObservationTimeOffset:])),
			LastMs:  int64(binary.LittleEndian.Uint64(b[off+LastObservationTimeOffset:])),
			Text:    string(b[off+EncodedErrorOffset : off+length]),
		})
		off += (length + RecordAlignment - 1) &^ (RecordAlignment - 1)
	}
	return out
}
