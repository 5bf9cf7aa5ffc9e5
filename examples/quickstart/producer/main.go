// Command producer writes 480x640 uint16 images to stream 10000 through
// tpoold (start bin/tpoold first). It is quoted in README.md.
package main

import (
	"context"
	"log"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

func main() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: 10000})
	if err != nil {
		log.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 480, 640)
	for i := range 100 {
		claim, err := p.TryClaim(&h) // a slot in shared memory
		if err != nil {
			log.Fatal(err)
		}
		img, _ := client.ClaimView[uint16](&claim)
		img.Set(uint16(i), 240, 320) // write the image in place
		if err := p.Commit(&claim); err != nil {
			log.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
