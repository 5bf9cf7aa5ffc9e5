package pool_test

import (
	"fmt"
	"log"
	"os"

	"github.com/tpool-go/tpool/runtime/pool"
)

// A producer and a consumer of one stream, without a driver: the producer
// fills a 2 x 3 float32 tensor in place, the consumer reads it in place.
// In real use they are different processes and the Announcement travels
// in a ShmPoolAnnounce.
func Example() {
	base, err := os.MkdirTemp("", "tpool-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(base)

	s, err := pool.CreateStream(pool.StreamConfig{
		BaseDir: base, StreamID: 10000, NSlots: 8,
		Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 4096}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Producer: claim, fill through a typed view, commit.
	h, _ := pool.NewTensorHeader(pool.Float32, pool.RowMajor, 2, 3)
	p := s.Producer()
	c, err := p.Claim(int(h.Len()) * 4)
	if err != nil {
		log.Fatal(err)
	}
	w, _ := pool.NewView[float32](c.Payload, &h)
	for i := range 2 {
		for j := range 3 {
			w.Set(float32(10*i+j), i, j)
		}
	}
	if err := p.Commit(&c, &pool.FrameMeta{Tensor: h}); err != nil {
		log.Fatal(err)
	}

	// Consumer: map what was announced, read frame c.Seq, verify.
	allow, _ := pool.NewAllowList(base)
	a := s.Announcement()
	at, err := pool.Attach(a, allow, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer at.Close()
	f, r := at.Consumer.Read(a.Epoch, c.Seq)
	if r != pool.DropNone {
		log.Fatal(r)
	}
	v, _ := pool.NewView[float32](f.Payload, &f.Tensor)
	row, _ := v.Row(1)
	sum := v.At(0, 2) + row[2]
	if at.Consumer.Verify(&f) != pool.DropNone {
		return // overwritten while reading: discard sum
	}
	fmt.Println(f.Tensor.Dtype, f.Tensor.Shape(), row, sum)
	// Output: FLOAT32 [2 3] [10 11 12] 14
}

// Counting drops by reason: a consumer's stats print the reasons that
// occurred.
func ExampleDropCounts_String() {
	var st pool.ConsumerStats
	st.Drops[pool.DropOverwritten] = 3
	st.Drops[pool.DropNotCommitted] = 1
	fmt.Printf("dropped %d: %v\n", st.Drops.Total(), st.Drops)
	// Output: dropped 4: not committed 1, overwritten 3
}

// Cleaning up after crashed producers: list, then remove, the epoch
// directories under a base directory whose producer is gone. Here there
// are none: the only stream's producer is this live process.
func ExampleRemoveStale() {
	base, err := os.MkdirTemp("", "tpool-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(base)
	s, err := pool.CreateStream(pool.StreamConfig{BaseDir: base, StreamID: 1, NSlots: 4,
		Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 64}}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	gone, err := pool.RemoveStale(base, 0, false)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range gone {
		fmt.Println("removed", e.Dir, "because", e.Reason)
	}
	fmt.Println(len(gone), "removed")
	// Output: 0 removed
}
