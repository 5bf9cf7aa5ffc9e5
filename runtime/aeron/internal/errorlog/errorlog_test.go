package errorlog

import (
	"encoding/binary"
	"fmt"
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
}

func TestFullLogCountsWhatItLoses(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		overflow bool // room for the overflow record
	}{
		{"room for a few", 512, true},
		{"room for the overflow record only", align(HeaderLength + len(OverflowText)), true},
		{"too small for the overflow record", 64, false},
		{"empty", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testmem.Bytes(t, max(tt.size, 8))[:tt.size]
			now := int64(1)
			l := New(b, func() int64 { now++; return now })
			recorded := 0
			for i := 0; recorded == i; i++ {
				if l.Record(fmt.Sprintf("distinct error %d", i)) {
					recorded++
				}
			}
			// The log is full: more new errors are counted, not recorded,
			// while known ones still merge.
			for i := range 5 {
				if l.Record(fmt.Sprintf("another error %d", i)) {
					t.Fatal("recorded a new error in a full log")
				}
			}
			if recorded > 0 && !l.Record("distinct error 0") {
				t.Error("a known error was not merged in a full log")
			}
			if l.Lost() != 6 {
				t.Errorf("Lost() = %d, want 6", l.Lost())
			}
			got := read(b)
			if len(got) != recorded+btoi(tt.overflow) {
				t.Fatalf("%d records, want %d distinct plus overflow %v: %+v", len(got), recorded, tt.overflow, got)
			}
			if recorded > 0 && got[0].Count != 2 {
				t.Errorf("first error observed %d times, want 2", got[0].Count)
			}
			if tt.overflow {
				last := got[len(got)-1]
				if last.Text != OverflowText || last.Count != 6 || last.LastMs <= last.FirstMs {
					t.Errorf("overflow record %+v, want %q observed 6 times", last, OverflowText)
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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
