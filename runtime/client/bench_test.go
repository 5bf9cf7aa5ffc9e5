package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// pair is a producer and a consumer of one stream in one process.
type pair struct {
	prod    *client.Producer
	cons    *client.Consumer
	h       pool.TensorHeader
	payload []byte
	meta    pool.FrameMeta
	got     int
	handler func(client.FrameView)
}

func newPair(tb testing.TB, elems int32) *pair {
	e := newEnv(tb)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(tb)
	p := &pair{}
	var err error
	if p.prod, err = c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream}); err != nil {
		tb.Fatal(err)
	}
	if p.cons, err = c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream}); err != nil {
		tb.Fatal(err)
	}
	if p.h, err = pool.NewTensorHeader(pool.Uint16, pool.RowMajor, elems); err != nil {
		tb.Fatal(err)
	}
	p.payload = make([]byte, 2*elems)
	p.meta = pool.FrameMeta{Tensor: p.h}
	p.handler = func(f client.FrameView) {
		if f.Verify() {
			p.got++
		}
	}
	return p
}

// receive polls until n more frames arrived, or until every frame the
// producer published is accounted for: its descriptor handled by the
// consumer (accepted or dropped and counted) or dropped by the producer
// after its offer retries (back pressure: on a loaded machine the media
// driver may not have moved the publication limit yet). It fails the
// test, rather than spinning for ever, when nothing comes for 30 s.
// Allocation-free.
func (p *pair) receive(tb testing.TB, n int) {
	want := p.got + n
	var deadline time.Time
	for i := 0; p.got < want; i++ {
		p.cons.Poll(p.handler)
		if i%4096 == 4095 {
			st, ps := p.cons.Stats(), p.prod.Stats()
			if st.Descriptors+ps.DescriptorsDropped+ps.NoSubscriber >= ps.Frames && p.cons.Poll(p.handler) == 0 {
				return
			}
			switch now := time.Now(); {
			case deadline.IsZero():
				deadline = now.Add(30 * time.Second)
			case now.After(deadline):
				tb.Fatalf("no frame for 30 s: got %d of %d; consumer %+v; producer %+v", p.got, want, st, ps)
			}
		}
	}
}

func (p *pair) offer(tb testing.TB) {
	if _, err := p.prod.OfferFrame(p.payload, &p.meta); err != nil {
		tb.Fatal(err)
	}
}

func (p *pair) claim(tb testing.TB) {
	cl, err := p.prod.TryClaim(&p.h)
	if err != nil {
		tb.Fatal(err)
	}
	cl.Payload[0] = 1
	if err := p.prod.Commit(&cl); err != nil {
		tb.Fatal(err)
	}
}

func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newPair(t, 1024)
	ctx := context.Background()
	tests := []struct {
		name string
		fn   func()
	}{
		{"OfferFrame+Poll", func() { p.offer(t); p.receive(t, 1) }},
		{"TryClaim+Commit+Poll", func() { p.claim(t); p.receive(t, 1) }},
		{"OfferFrame+Next", func() {
			p.offer(t)
			if _, err := p.cons.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 10 { // warm up: first mappings, descriptor images
				tt.fn()
			}
			if n := testing.AllocsPerRun(200, tt.fn); n != 0 {
				t.Errorf("%v allocations per frame, want 0", n)
			}
		})
	}
}

// BenchmarkOfferPoll moves frames of several sizes from OfferFrame to a
// Poll handler in one process (descriptors over Aeron IPC), against a
// plain copy of the same bytes.
func BenchmarkOfferPoll(b *testing.B) {
	for _, size := range []struct {
		name  string
		elems int32
	}{{"4KiB", 2048}, {"64KiB", 32768}} {
		b.Run("copy-"+size.name, func(b *testing.B) {
			src, dst := make([]byte, 2*size.elems), make([]byte, 2*size.elems)
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				copy(dst, src)
			}
		})
		b.Run("offer-poll-"+size.name, func(b *testing.B) {
			p := newPair(b, size.elems)
			b.SetBytes(int64(len(p.payload)))
			b.ReportAllocs()
			for b.Loop() {
				p.offer(b)
				p.receive(b, 1)
			}
		})
	}
}
