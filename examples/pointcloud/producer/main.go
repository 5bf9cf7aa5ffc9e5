// Command producer publishes point clouds of varying size on the point
// cloud example's stream (10001) through the stubs tensorgen generated
// from ../points/streams.toml. Start tpoold with ../tpoold.toml first.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/examples/pointcloud/points"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

func main() {
	fs := flag.NewFlagSet("producer", flag.ExitOnError)
	aeronDir := fs.String("aeron-dir", "", "Aeron `DIR` of tpoold's media driver (default: Aeron's)")
	base := fs.String("base", "", "SHM base `DIR` tpoold uses (default /dev/shm/tensorpool)")
	frames := fs.Int("frames", 100, "number of clouds to publish")
	every := fs.Duration("every", 10*time.Millisecond, "pause between clouds")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "producer publishes point clouds (float32 [n 3], n up to 65536) on stream 10001.\nStart tpoold -config examples/pointcloud/tpoold.toml first.\n\nFlags:")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *aeronDir, *base, *frames, *every); err != nil {
		slog.Error("producer", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, aeronDir, base string, frames int, every time.Duration) error {
	cfg := client.Config{AeronDir: aeronDir}
	if base != "" {
		cfg.Driver = driverclient.Config{AllowedBaseDirs: []string{base}}
	}
	c, err := client.New(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := points.NewCloudProducer(ctx, c)
	if err != nil {
		return err
	}
	defer p.Close()
	for k := range frames {
		cloud, err := p.Claim(points.Points(k)) // a slot sized for this scan
		if err != nil {
			return err
		}
		points.Scan(cloud, k) // write the points in place
		if _, err := p.Commit(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
	return nil
}
