// Command consumer prints the frames of stream 10000 until Ctrl-C. It is
// quoted in README.md.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/tpool-go/tpool/runtime/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := client.New(ctx, client.Config{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: 10000})
	if err != nil {
		log.Fatal(err)
	}
	for {
		f, err := s.Next(ctx) // waits for a frame; fails on Ctrl-C
		if err != nil {
			return
		}
		img, _ := client.FrameAs[uint16](f) // reads in place, no copy
		px := img.At(240, 320)
		if f.Verify() { // not overwritten while we read
			fmt.Println("frame", f.Seq(), f.Tensor().Shape(), "pixel", px)
		}
	}
}
