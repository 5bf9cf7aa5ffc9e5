package errorlog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

func TestRecordDistinct(t *testing.T) {
	b := testmem.Bytes(t, 256)
	now := int64(10)
	l := New(b, func() int64 { return now })
	l.Record("boom")
	now = 20
	l.Record("boom")
	l.Record("other")
	want := []Entry{{Count: 2, FirstMs: 10, LastMs: 20, Text: "boom"}, {Count: 1, FirstMs: 20, LastMs: 20, Text: "other"}}
	if diff := cmp.Diff(want, Read(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if l.Record(string(make([]byte, 300))) {
		t.Error("oversized error recorded")
	}
}
