package sysbench

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/internal/aeronbench"
	"github.com/tpool-go/tpool/internal/proctest"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/shm"
)

// BenchmarkFrames: the producer offers b.N frames flat out (OfferFrame:
// copy into the slot, seqlock commit, FrameDescriptor), the consumer
// process validates each and verifies it after its (empty) handler; the
// clock stops when the consumer has had every descriptor. Metrics:
// frames/s and GiB/s offered, delivered/s (frames the consumer accepted
// intact; the rest were overwritten before it read them, counted as late),
// copy-frames/s (plain copy() of the same bytes into a ring of the same
// layout under /dev/shm, measured just before and just after, the faster
// of the two) and x-copy, the ratio of frames/s to it; the consumer's
// allocations per frame; desc-lost/frame, the descriptors the producer
// dropped after its retries because the consumer was a publication window
// behind (their frames were written but never announced); the 1-minute
// load average.
func BenchmarkFrames(b *testing.B) {
	for _, fs := range sizes {
		b.Run(fs.name, func(b *testing.B) { benchFrames(b, fs) })
	}
}

func benchFrames(b *testing.B, fs frameSize) {
	s := getSystem(b)
	p := s.producer(b, fs)
	payload := pattern(fs.bytes)
	meta := frameMeta(b, fs)
	copyBefore := s.copyFrames(b, fs, payload, b.N)
	st0 := p.Stats()
	r, elapsed := s.run(b, fs, idleBackoff, func() {
		for range b.N {
			if _, err := p.OfferFrame(payload, &meta); err != nil {
				b.Fatal(err)
			}
		}
		// Descriptors lost to back pressure (the consumer fell a
		// publication window behind) never come: say so.
		if sent := p.Stats().DescriptorsSent - st0.DescriptorsSent; sent != uint64(b.N) {
			if err := s.cons.Send("expect %d", sent); err != nil {
				b.Fatal(err)
			}
		}
	})
	st1 := p.Stats()
	rate := float64(b.N) / elapsed.Seconds()
	copyRate := max(copyBefore, s.copyFrames(b, fs, payload, b.N))
	b.ReportMetric(rate, "frames/s")
	b.ReportMetric(rate*float64(fs.bytes)/(1<<30), "GiB/s")
	b.ReportMetric(float64(r.accepted)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(copyRate, "copy-frames/s")
	b.ReportMetric(rate/copyRate, "x-copy")
	b.ReportMetric(float64(r.mallocs)/float64(b.N), "cons-allocs/frame")
	b.ReportMetric(load1(), "load1")
	b.ReportMetric(float64(st1.DescriptorsDropped-st0.DescriptorsDropped)/float64(b.N), "desc-lost/frame")
}

// BenchmarkLatency: 64 KiB frames filled in place (TryClaim, copy, the
// timestamp taken just before Commit), at 1 kHz and flat out; the consumer
// records the CLOCK_MONOTONIC time from that timestamp to its handler in
// an HdrHistogram. "spin" runs the consumer's wait loop with a busy-spin
// idle strategy instead of the client's default backoff (which parks up
// to 1 ms when idle).
func BenchmarkLatency(b *testing.B) {
	for _, m := range []struct {
		name   string
		period time.Duration
		idle   int64
	}{
		{"1kHz", time.Millisecond, idleBackoff},
		{"1kHz-spin", time.Millisecond, idleSpin},
		{"flat-out", 0, idleBackoff},
	} {
		b.Run(m.name+"-64KiB", func(b *testing.B) { benchLatency(b, m.period, m.idle) })
	}
}

func benchLatency(b *testing.B, period time.Duration, idle int64) {
	fs := sizeNamed("64KiB")
	s := getSystem(b)
	p := s.producer(b, fs)
	payload := pattern(fs.bytes)
	meta := frameMeta(b, fs)
	r, elapsed := s.run(b, fs, idle, func() {
		next := time.Now()
		for range b.N {
			if period > 0 {
				next = next.Add(period)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
			}
			if err := claimFrame(p, &meta.Tensor, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
	b.ReportMetric(float64(r.p50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(r.p99.Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(r.p999.Nanoseconds()), "p99.9-ns")
	b.ReportMetric(float64(r.max.Nanoseconds()), "max-ns")
	b.ReportMetric(float64(r.latencies), "samples")
	b.ReportMetric(float64(r.mallocs)/float64(b.N), "cons-allocs/frame")
	b.ReportMetric(load1(), "load1")
}

// claimFrame writes one frame in place, timestamped just before Commit.
func claimFrame(p *client.Producer, h *pool.TensorHeader, payload []byte) error {
	c, err := p.TryClaim(h)
	if err != nil {
		return err
	}
	copy(c.Payload, payload)
	c.Meta.TimestampNs = pool.MonotonicNow()
	return p.Commit(&c)
}

// BenchmarkDescriptorPath: the descriptor path alone, no payload. The
// benchmark process offers b.N raw messages of a FrameDescriptor's size
// on one IPC stream, then encodes and offers b.N FrameDescriptors on
// another; the consumer process counts the first and decodes the second.
// Both through tpoold's media driver, in the same run: raw-msgs/s,
// desc-msgs/s and x-raw, their ratio.
func BenchmarkDescriptorPath(b *testing.B) {
	s := getSystem(b)
	const size = wire.MessageHeaderEncodedLength + wire.FrameDescriptorBlockLength
	msg := make([]byte, size)
	b.ReportAllocs()
	b.ResetTimer() // both runs are timed: ns/op is their sum
	raw, rawAllocs := s.sink(b, rawStream, 0, func(pub *aeron.Publication) {
		for i := range b.N {
			binary.LittleEndian.PutUint64(msg[size-8:], uint64(i))
			aeronbench.Offer(b, pub, msg)
		}
	})
	var enc wire.FrameDescriptorEncoder
	desc, descAllocs := s.sink(b, descStream, 1, func(pub *aeron.Publication) {
		for i := range b.N {
			if enc.WrapWithHeader(msg) != nil {
				b.Fatal("descriptor buffer too small")
			}
			enc.SetStreamId(1)
			enc.SetEpoch(1)
			enc.SetSeq(uint64(i))
			enc.SetMetaVersion(0)
			n, _ := enc.Finish()
			aeronbench.Offer(b, pub, msg[:n])
		}
	})
	rawRate, descRate := float64(b.N)/raw.Seconds(), float64(b.N)/desc.Seconds()
	b.ReportMetric(rawRate, "raw-msgs/s")
	b.ReportMetric(descRate, "desc-msgs/s")
	b.ReportMetric(descRate/rawRate, "x-raw")
	b.ReportMetric(float64(rawAllocs+descAllocs)/float64(2*b.N), "cons-allocs/msg")
	b.ReportMetric(load1(), "load1")
}

// run has the consumer consume len descriptors of fs while produce runs,
// and returns its report and the time from the start of produce until the
// consumer had them all. It reports produce-ns/frame, the producer's time
// alone.
func (s *system) run(b *testing.B, fs frameSize, idle int64, produce func()) (result, time.Duration) {
	b.Helper()
	if err := s.cons.Send("run %d %d %d", fs.stream, b.N, idle); err != nil {
		b.Fatal(err)
	}
	s.cons.MustAwait(b, "marked")
	b.SetBytes(int64(fs.bytes))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	produce()
	produced := time.Since(start)
	line := s.cons.MustAwait(b, "done")
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(produced.Nanoseconds())/float64(b.N), "produce-ns/frame")
	r := parseResult(b, line)
	if r.timeout {
		b.Fatalf("the consumer saw %d of %d descriptors: %s", r.descriptors, b.N, line)
	}
	return r, elapsed
}

// sink has the consumer read b.N messages of stream (mode 0: raw, 1:
// FrameDescriptors) while produce offers them, and returns the time from
// the start of produce until the consumer had them all. The benchmark's
// timer runs throughout.
func (s *system) sink(b *testing.B, stream int32, mode int, produce func(*aeron.Publication)) (time.Duration, uint64) {
	b.Helper()
	pub := s.publication(b, stream)
	if err := s.cons.Send("sink %d %d %d", mode, stream, b.N); err != nil {
		b.Fatal(err)
	}
	s.cons.MustAwait(b, "marked")
	for deadline := time.Now().Add(proctest.Timeout); !pub.IsConnected(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the consumer's subscription never connected")
		}
	}
	start := time.Now()
	produce(pub)
	line := s.cons.MustAwait(b, "done")
	elapsed := time.Since(start)
	if bad := proctest.Uint(b, line, "bad"); bad != 0 {
		b.Fatalf("the consumer decoded %d bad descriptors: %s", bad, line)
	}
	return elapsed, proctest.Uint(b, line, "mallocs")
}

// copyRings are the copy baseline's destinations, one per frame size.
var copyRings = map[string]*shm.Mapping{}

// copyFrames copies src n times into the slots of a ring laid out as the
// size's payload pool (slots x stride, a prefaulted file under /dev/shm
// like the pool) and returns frames per second.
func (s *system) copyFrames(b *testing.B, fs frameSize, src []byte, n int) float64 {
	b.Helper()
	m := copyRings[fs.name]
	if m == nil {
		var err error
		m, err = shm.CreateAllocated(filepath.Join(s.dir, "copy-"+fs.name), int(fs.slots)*int(fs.stride), 0o600)
		if err == nil {
			err = m.Prefault()
		}
		if err != nil {
			b.Fatal(err)
		}
		copyRings[fs.name] = m
	}
	ring := m.Bytes()
	slots, stride := int(fs.slots), int(fs.stride)
	for i := range slots {
		copy(ring[i*stride:i*stride+len(src)], src)
	}
	start := time.Now()
	for i := range n {
		off := (i % slots) * stride
		copy(ring[off:off+len(src)], src)
	}
	return float64(n) / time.Since(start).Seconds()
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// load1 returns the 1-minute load average (0 if unknown).
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}
