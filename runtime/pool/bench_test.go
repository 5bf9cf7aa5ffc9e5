package pool

import "testing"

var benchSizes = []struct {
	name   string
	size   int
	stride uint32
}{
	{"64B", 64, 64},
	{"4KiB", 4 << 10, 4 << 10},
	{"64KiB", 64 << 10, 64 << 10},
	{"640KiB", 640 << 10, 1 << 20},
	{"4MiB", 4 << 20, 4 << 20},
}

func reportGiBps(b *testing.B, size int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/s/(1<<30), "GiB/s")
	}
}

// BenchmarkPublish compares claim + fill + commit of a frame with a plain
// copy() of the same bytes into the same payload slot, size by size.
func BenchmarkPublish(b *testing.B) {
	for _, bs := range benchSizes {
		s := newTestStream(b, 4, bs.stride)
		src := make([]byte, bs.size)
		for i := range src {
			src[i] = byte(i)
		}
		meta := bytesMeta(b, bs.size)
		// Touch every page once so neither variant pays the first faults.
		for range 4 {
			if _, err := s.prod.Publish(src, meta); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(bs.name+"/claim-fill-commit", func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				c, err := s.prod.Claim(bs.size)
				if err != nil {
					b.Fatal(err)
				}
				copy(c.Payload, src)
				if err := s.prod.Commit(&c, meta); err != nil {
					b.Fatal(err)
				}
			}
			reportGiBps(b, bs.size)
		})
		b.Run(bs.name+"/copy", func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			dst := s.prod.pools[0].data
			i := uint64(0)
			for b.Loop() {
				off := (i & 3) * uint64(bs.stride) // the same slots claims cycle through
				copy(dst[off:off+uint64(bs.size)], src)
				i++
			}
			reportGiBps(b, bs.size)
		})
	}
}

// BenchmarkConsumerValidate measures Read + Verify of a committed frame:
// the consumer's whole per-frame validation, without touching the payload.
func BenchmarkConsumerValidate(b *testing.B) {
	const nslots = 1024
	s := newTestStream(b, nslots, 4096)
	h, err := NewTensorHeader(Float32, RowMajor, 32, 32)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 4096)
	for range nslots {
		if _, err := s.prod.Publish(payload, &FrameMeta{Tensor: h}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	seq := uint64(0)
	for b.Loop() {
		s.cons.haveLast = false // re-read the ring's frames in a loop
		f, r := s.cons.Read(5, seq)
		if r != DropNone || s.cons.Verify(&f) != DropNone {
			b.Fatalf("seq %d: %v", seq, r)
		}
		seq = (seq + 1) % nslots
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	s := newTestStream(t, 16, 64, 4096)
	meta := bytesMeta(t, 100)
	src := make([]byte, 100)
	dst := make([]byte, 4096)
	tests := []struct {
		name string
		fn   func()
	}{
		{"claim fill commit", func() {
			c, err := s.prod.Claim(100)
			if err != nil {
				t.Fatal(err)
			}
			copy(c.Payload, src)
			if err := s.prod.Commit(&c, meta); err != nil {
				t.Fatal(err)
			}
		}},
		{"publish", func() {
			if _, err := s.prod.Publish(src, meta); err != nil {
				t.Fatal(err)
			}
		}},
		{"claim with no pool fitting", func() {
			if _, err := s.prod.Claim(1 << 20); err == nil {
				t.Fatal("claimed")
			}
		}},
		{"read and verify", func() {
			seq, _ := s.prod.Publish(src, meta)
			f, r := s.cons.Read(5, seq)
			if r != DropNone || s.cons.Verify(&f) != DropNone {
				t.Fatal(r)
			}
		}},
		{"copy", func() {
			seq, _ := s.prod.Publish(src, meta)
			if _, r := s.cons.Copy(5, seq, dst); r != DropNone {
				t.Fatal(r)
			}
		}},
		{"view", func() {
			seq, _ := s.prod.Publish(src, meta)
			f, r := s.cons.Read(5, seq)
			if r != DropNone {
				t.Fatal(r)
			}
			if _, err := NewView[uint8](f.Payload, &f.Tensor); err != nil {
				t.Fatal(err)
			}
		}},
		{"dropped read", func() {
			if _, r := s.cons.Read(6, s.prod.Next()); r != DropEpoch {
				t.Fatal(r)
			}
			s.prod.Claim(8) // in progress
			if _, r := s.cons.Read(5, s.prod.Next()-1); r != DropNotCommitted {
				t.Fatal(r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
}
