package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// No tpoold: the producer creates the regions and announces them on
// Aeron, the consumer maps what is announced. Both use the same API as in
// driver mode. In real programs they are separate processes sharing a
// media driver (tpool-aeronmd); here the client embeds one.
func ExampleConfig_noDriver() {
	tmp, err := os.MkdirTemp("", "tpool-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.New(ctx, client.Config{
		AeronDir:            filepath.Join(tmp, "aeron"),
		EmbeddedMediaDriver: true,
		NoDriver:            true,
		NoDriverConfig:      client.NoDriverConfig{BaseDir: filepath.Join(tmp, "shm")}, // need not exist
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: 10000})
	if err != nil {
		log.Fatal(err)
	}
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: 10000,
		Layout: client.StreamLayout{NSlots: 16, Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 4096}}}})
	if err != nil {
		log.Fatal(err)
	}
	// Wait until the consumer has mapped the announced stream.
	for cons.Status().State != client.StateMapped && ctx.Err() == nil {
		cons.Poll(func(client.FrameView) {})
		time.Sleep(time.Millisecond)
	}

	h, _ := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, 5)
	if _, err := prod.OfferFrame([]byte("hello"), &pool.FrameMeta{Tensor: h}); err != nil {
		log.Fatal(err)
	}
	f, err := cons.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if p := string(f.Payload()); f.Verify() {
		fmt.Printf("frame %d: %q, epoch announced by the producer: %v\n", f.Seq(), p, f.Epoch() == prod.Epoch())
	}
	// Output:
	// frame 0: "hello", epoch announced by the producer: true
}
