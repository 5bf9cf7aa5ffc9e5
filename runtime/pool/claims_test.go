package pool

import (
	"errors"
	"testing"
)

// Several open claims: committed in any order, each frame reads back; the
// oldest is abandoned when the limit or the ring's wrap would overrun it.
func TestClaimQueue(t *testing.T) {
	s := newTestStream(t, 8, 64)
	for _, n := range []int{0, -1, 9} {
		if err := s.prod.SetMaxClaims(n); err == nil {
			t.Errorf("SetMaxClaims(%d) accepted", n)
		}
	}
	if err := s.prod.SetMaxClaims(3); err != nil {
		t.Fatal(err)
	}
	if s.prod.MaxClaims() != 3 {
		t.Fatalf("MaxClaims %d", s.prod.MaxClaims())
	}
	var cs []Claim
	for i := range 3 {
		c, err := s.prod.Claim(8)
		if err != nil {
			t.Fatal(err)
		}
		c.Payload[0] = byte(10 + i)
		cs = append(cs, c)
	}
	if s.prod.OpenClaims() != 3 {
		t.Fatalf("open %d", s.prod.OpenClaims())
	}
	for _, i := range []int{2, 0, 1} { // out of order
		if err := s.prod.Commit(&cs[i], bytesMeta(t, 8)); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	for i, c := range cs {
		f, r := s.cons.Read(5, c.Seq)
		if r != DropNone || f.Payload[0] != byte(10+i) {
			t.Errorf("frame %d: %v, payload %v", c.Seq, r, f.Payload[:1])
		}
	}

	// A fourth claim abandons the oldest of three open.
	a, _ := s.prod.Claim(8)
	b, _ := s.prod.Claim(8)
	c, _ := s.prod.Claim(8)
	d, _ := s.prod.Claim(8)
	if err := s.prod.Commit(&a, bytesMeta(t, 8)); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("commit of the claim abandoned by the limit: %v", err)
	}
	if _, r := s.cons.Read(5, a.Seq); r != DropNotCommitted {
		t.Errorf("abandoned frame reads %v, want not committed", r)
	}
	// Abandon closes one explicitly.
	if err := s.prod.Abandon(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.prod.Abandon(&b); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("second Abandon: %v", err)
	}
	if err := s.prod.Commit(&d, bytesMeta(t, 8)); err != nil {
		t.Fatal(err)
	}
	// c stays open while the ring wraps (8 slots) onto its slot: then it
	// is abandoned, not overwritten under its writer.
	for range 6 { // the sequences between d and c+8
		x, _ := s.prod.Claim(8)
		if err := s.prod.Commit(&x, bytesMeta(t, 8)); err != nil {
			t.Fatal(err)
		}
	}
	if s.prod.OpenClaims() != 1 {
		t.Fatalf("open %d, want c only", s.prod.OpenClaims())
	}
	x, _ := s.prod.Claim(8) // seq c.Seq+8: c's slot
	if err := s.prod.Commit(&c, bytesMeta(t, 8)); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("commit of the claim the ring wrapped onto: %v", err)
	}
	if err := s.prod.Commit(&x, bytesMeta(t, 8)); err != nil {
		t.Fatal(err)
	}
	if got := s.prod.Stats().Abandoned; got != 3 {
		t.Errorf("abandoned %d, want 3 (limit, Abandon, wrap)", got)
	}

	// Lowering the limit abandons the oldest beyond it.
	s.prod.Claim(8)
	last, _ := s.prod.Claim(8)
	if err := s.prod.SetMaxClaims(1); err != nil {
		t.Fatal(err)
	}
	if s.prod.OpenClaims() != 1 {
		t.Errorf("open %d after lowering the limit", s.prod.OpenClaims())
	}
	if err := s.prod.Commit(&last, bytesMeta(t, 8)); err != nil {
		t.Errorf("the newest claim was not kept: %v", err)
	}
}

func TestClaimQueueAlloc(t *testing.T) {
	s := newTestStream(t, 16, 64)
	if err := s.prod.SetMaxClaims(4); err != nil {
		t.Fatal(err)
	}
	m := bytesMeta(t, 8)
	var cs [4]Claim
	allocs := testing.AllocsPerRun(100, func() {
		for i := range cs {
			cs[i], _ = s.prod.Claim(8)
		}
		for i := len(cs) - 1; i >= 0; i-- {
			if err := s.prod.Commit(&cs[i], m); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 4 claims and commits", allocs)
	}
}
