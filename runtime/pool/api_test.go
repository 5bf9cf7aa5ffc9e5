package pool

import (
	"errors"
	"strings"
	"testing"
)

// Traps a new user fell into (issue 13): each must be an error or a
// documented behaviour, never a panic or a silent surprise.

func TestCommitNilArguments(t *testing.T) {
	s := newTestStream(t, 4, 64)
	c, err := s.prod.Claim(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.prod.Commit(&c, nil); !errors.Is(err, ErrTensorHeader) || !strings.Contains(err.Error(), "nil *FrameMeta") {
		t.Errorf("Commit(&c, nil) = %v, want an ErrTensorHeader naming the nil FrameMeta", err)
	}
	if err := s.prod.Commit(nil, bytesMeta(t, 16)); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("Commit(nil, m) = %v, want ErrNotClaimed", err)
	}
	if _, err := s.prod.Publish(make([]byte, 16), nil); !errors.Is(err, ErrTensorHeader) {
		t.Errorf("Publish(p, nil) = %v, want ErrTensorHeader", err)
	}
	// The claim survived: a proper commit still works.
	c = s.prod.claims.open[len(s.prod.claims.open)-1]
	if err := s.prod.Commit(&c, bytesMeta(t, 16)); err != nil {
		t.Fatal(err)
	}
}

// A producer that only commits stays live to consumers checking
// freshness: Commit refreshes activity_timestamp_ns in every region.
func TestCommitRefreshesActivity(t *testing.T) {
	s := newTestStream(t, 4, 64, 128)
	regions := append([]*Region{s.prod.ring.region}, s.prod.pools[0].region, s.prod.pools[1].region)
	for _, r := range regions {
		r.SetActivity(1)
	}
	before := MonotonicNow()
	if _, err := s.prod.Publish(make([]byte, 16), bytesMeta(t, 16)); err != nil {
		t.Fatal(err)
	}
	after := MonotonicNow()
	for _, r := range regions {
		if a := r.Activity(); a < before || a > after {
			t.Errorf("%s: activity %d after a commit, want within [%d, %d]", r.Path(), a, before, after)
		}
	}
	// And a consumer demanding freshness accepts the regions.
	for id := range s.poolURI {
		w := s.expect(PayloadPool, id)
		w.ActivityNotBefore = before
		r, err := OpenRegion(s.poolURI[id], s.allow, w, false)
		if err != nil {
			t.Fatalf("pool %d after a commit: %v", id, err)
		}
		r.Close()
	}
}

func TestDropCountsString(t *testing.T) {
	var d DropCounts
	if got := d.String(); got != "none" {
		t.Errorf("no drops: %q", got)
	}
	d[DropOverwritten] = 3
	d[DropDtype] = 1
	if got, want := d.String(), "overwritten 3, unknown dtype 1"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if d.Total() != 4 {
		t.Errorf("Total = %d, want 4", d.Total())
	}
	st := ConsumerStats{Drops: d}
	if got := st.Drops.String(); !strings.Contains(got, "overwritten 3") {
		t.Errorf("ConsumerStats.Drops prints %q", got)
	}
}

func TestNDimsErrorGivesRange(t *testing.T) {
	_, err := NewTensorHeader(Float32, RowMajor, make([]int32, 9)...)
	if err == nil || !strings.Contains(err.Error(), "9 dims, want 1 to 8") {
		t.Errorf("9 dims: %v", err)
	}
	if err := (&TensorHeader{Dtype: Float32, MajorOrder: RowMajor}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "ndims out of range, want 1 to 8") {
		t.Errorf("0 dims: %v", err)
	}
}
