// Command consumer prints the size and centroid of the point clouds on the
// point cloud example's stream (10001), read in place through the stubs
// tensorgen generated from ../points/streams.toml.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tpool-go/tpool/examples/pointcloud/points"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/typed"
)

func main() {
	fs := flag.NewFlagSet("consumer", flag.ExitOnError)
	aeronDir := fs.String("aeron-dir", "", "Aeron `DIR` of tpoold's media driver (default: Aeron's)")
	base := fs.String("base", "", "SHM base `DIR` tpoold uses (default /dev/shm/tensorpool)")
	frames := fs.Int("frames", 0, "stop after this many clouds (0: until Ctrl-C)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "consumer prints the point clouds of stream 10001 (size and centroid).\nStart tpoold -config examples/pointcloud/tpoold.toml first.\n\nFlags:")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *aeronDir, *base, *frames, os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
		slog.Error("consumer", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, aeronDir, base string, frames int, w io.Writer) error {
	cfg := client.Config{AeronDir: aeronDir}
	if base != "" {
		cfg.Driver = driverclient.Config{AllowedBaseDirs: []string{base}}
	}
	c, err := client.New(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := points.NewCloudConsumer(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(w, "ready")
	for n := 0; frames == 0 || n < frames; n++ {
		cloud, f, err := s.Next(ctx) // waits; a cloud of another shape is an error
		if errors.Is(err, typed.ErrMismatch) {
			slog.Warn("skipped", "err", err)
			continue
		}
		if err != nil {
			return err
		}
		x, y, z := points.Centroid(cloud) // read in place
		if f.Verify() {                   // not overwritten while we read
			fmt.Fprintf(w, "cloud %d: %d points, centroid (%.2f, %.2f, %.2f)\n", f.Seq(), cloud.Shape()[0], x, y, z)
		}
	}
	return nil
}
