package latency

import (
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	r := New()
	for i := 1; i <= 1000; i++ {
		r.Record(time.Duration(i) * time.Microsecond)
	}
	r.Record(0)             // clamped to 1 ns
	r.Record(2 * time.Hour) // clamped to the top of the range
	tests := []struct {
		p      float64
		lo, hi time.Duration
	}{
		{50, 499 * time.Microsecond, 502 * time.Microsecond},
		{99, 989 * time.Microsecond, 992 * time.Microsecond},
	}
	for _, tt := range tests {
		if got := r.Percentile(tt.p); got < tt.lo || got > tt.hi {
			t.Errorf("p%v = %v, want within [%v, %v]", tt.p, got, tt.lo, tt.hi)
		}
	}
	if r.Count() != 1002 {
		t.Errorf("count %d", r.Count())
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	r := New()
	if n := testing.AllocsPerRun(1000, func() { r.Record(1234) }); n != 0 {
		t.Errorf("%v allocations per Record", n)
	}
}
