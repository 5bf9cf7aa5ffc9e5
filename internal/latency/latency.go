// Package latency records round-trip times for benchmarks in an
// HdrHistogram (github.com/HdrHistogram/hdrhistogram-go) and reports
// percentiles as benchmark metrics. Recording does not allocate.
package latency

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder holds a histogram of durations from 1 ns to 60 s with three
// significant figures.
type Recorder struct {
	h *hdrhistogram.Histogram
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{h: hdrhistogram.New(1, int64(60*time.Second), 3)}
}

// Record adds one sample; values outside the range are clamped.
func (r *Recorder) Record(d time.Duration) {
	v := d.Nanoseconds()
	if v < 1 {
		v = 1
	}
	if max := r.h.HighestTrackableValue(); v > max {
		v = max
	}
	_ = r.h.RecordValue(v) // cannot fail: v is in range
}

// Percentile returns the value at percentile p (0..100).
func (r *Recorder) Percentile(p float64) time.Duration {
	return time.Duration(r.h.ValueAtQuantile(p))
}

// Count returns the number of samples.
func (r *Recorder) Count() int64 { return r.h.TotalCount() }

// Report adds p50, p99, p99.9 and max, in nanoseconds, to the benchmark's
// output.
func (r *Recorder) Report(b *testing.B) {
	if r.h.TotalCount() == 0 {
		return
	}
	b.ReportMetric(float64(r.h.ValueAtQuantile(50)), "p50-ns")
	b.ReportMetric(float64(r.h.ValueAtQuantile(99)), "p99-ns")
	b.ReportMetric(float64(r.h.ValueAtQuantile(99.9)), "p99.9-ns")
	b.ReportMetric(float64(r.h.Max()), "max-ns")
}
