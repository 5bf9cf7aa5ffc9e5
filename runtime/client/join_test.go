package client_test

import (
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// Descriptors a consumer may meet besides fresh ones: frames committed
// before it joined (replayed after a quick restart), frames never written,
// other epochs, other streams and garbage. Each is counted as what it is;
// none reaches the handler.
func TestJoinAndHostileDescriptors(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	c := e.newClient(false)
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 8)
	payload := make([]byte, 16)
	// 200 frames before the consumer exists: the 64-slot ring holds 136-199.
	for range 200 {
		if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h}); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	epoch := prod.Epoch()

	// A second publication on the descriptor stream plays the replaying
	// media driver and a hostile peer.
	a, err := aeron.Connect(ctx, aeron.Config{Dir: e.aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pub, err := a.AddPublication(ctx, client.DefaultChannel, client.DefaultDescriptorStreamID)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var buf [64]byte
	send := func(msg []byte) {
		t.Helper()
		for pub.Offer(msg) < 0 {
			if ctx.Err() != nil {
				t.Fatal("cannot offer")
			}
			time.Sleep(time.Millisecond)
		}
	}
	descriptor := func(stream uint32, epoch, seq uint64) {
		var enc wire.FrameDescriptorEncoder
		if err := enc.WrapWithHeader(buf[:]); err != nil {
			t.Fatal(err)
		}
		enc.SetStreamId(stream)
		enc.SetEpoch(epoch)
		enc.SetSeq(seq)
		n, _ := enc.Finish()
		send(buf[:n])
	}
	descriptor(testStream, epoch, 10)    // overwritten before we joined: before-join
	descriptor(testStream, epoch, 11)    // likewise (a regression now, still before join)
	descriptor(testStream+1, epoch, 150) // another stream: ignored
	descriptor(testStream, epoch, 150)   // committed before we joined, still intact: accepted
	descriptor(testStream, epoch+1, 151) // an epoch we do not have: dropped
	descriptor(testStream, epoch, 5000)  // never written: dropped
	send([]byte("definitely not a FrameDescriptor"))

	var seqs []uint64
	handler := func(f client.FrameView) {
		if f.Verify() {
			seqs = append(seqs, f.Seq())
		}
	}
	want := uint64(5) // descriptors of our stream
	for st := cons.Stats(); st.Descriptors < want || st.Malformed < 1; st = cons.Stats() {
		if ctx.Err() != nil {
			t.Fatalf("stats %+v", st)
		}
		cons.Poll(handler)
		time.Sleep(time.Millisecond)
	}
	st := cons.Stats()
	if len(seqs) != 1 || seqs[0] != 150 {
		t.Fatalf("handled %v, want [150]", seqs)
	}
	if st.BeforeJoin != 2 || st.Accepted != 1 || st.Drops[pool.DropEpoch] != 1 || st.Drops[pool.DropStale] != 1 ||
		st.Dropped() != 2 || st.Malformed != 1 || st.Gap != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The bogus sequence 5000 did not stop the stream: new frames arrive.
	for range 3 {
		if _, err := prod.OfferFrame(payload, &pool.FrameMeta{Tensor: h}); err != nil {
			t.Fatal(err)
		}
	}
	for len(seqs) < 4 {
		if ctx.Err() != nil {
			t.Fatalf("handled %v; stats %+v", seqs, cons.Stats())
		}
		cons.Poll(handler)
		time.Sleep(time.Millisecond)
	}
	if seqs[1] != 200 || seqs[3] != 202 {
		t.Fatalf("handled %v", seqs)
	}
	if st := cons.Stats(); st.Gap != 0 || st.Accepted != 4 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("stats %+v", st)
}
