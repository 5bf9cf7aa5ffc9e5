// Command producer is the camera example's producer: 480x640 uint16
// frames through the stubs tensorgen generated from
// ../internal/cam/streams.toml (cam.FrameProducer), filled row by row in
// place, described by camera metadata: the sensor id, exposure and gain as
// the stream's typed metadata (a camerameta.CameraInfo message), and,
// through the client Producer underneath (Untyped), a data source name and
// a dark frame as a calibration blob. The exposure changes every -exposure-every frames,
// which makes a new meta_version. It needs tpoold serving -stream.
//
//	producer -frames 1000 -rate 100
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
	"strings"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/examples/camera/internal/cam"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: producer [flags]\n\nWrites 480x640 uint16 camera frames with metadata through tpoold.\n\nFlags:")
		fs.PrintDefaults()
	}
	aeronDir := fs.String("aeron-dir", "", "Aeron media driver `DIR` (default $AERON_DIR, else /dev/shm/aeron-<user>)")
	allow := fs.String("allow-dir", pool.DefaultBaseDir, "comma-separated base `DIRS` region files may be in (tpoold's shm.base_dir)")
	stream := fs.Uint("stream", 10000, "stream `ID` to produce (tpoold must serve it)")
	frames := fs.Uint64("frames", 1000, "frames to write (0: until interrupted)")
	rate := fs.Float64("rate", 100, "frames per second")
	every := fs.Uint64("exposure-every", 200, "change the exposure (a new meta_version) every `N` frames (0: never)")
	linger := fs.Duration("linger", time.Second, "how long to stay attached after the last frame, so consumers read it")
	level := fs.String("log-level", "warn", "log `LEVEL`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil || *rate <= 0 {
		fmt.Fprintln(stderr, "producer: bad -log-level or -rate")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	if err := produce(ctx, log, stdout, *aeronDir, strings.Split(*allow, ","), uint32(*stream), *frames, *rate, *every, *linger); err != nil {
		log.Error("producer failed", "err", err)
		return 1
	}
	return 0
}

func produce(ctx context.Context, log *slog.Logger, stdout io.Writer, aeronDir string, allow []string,
	stream uint32, frames uint64, rate float64, every uint64, linger time.Duration) error {
	c, err := client.New(ctx, client.Config{AeronDir: aeronDir, Driver: driverclient.Config{AllowedBaseDirs: allow}}, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if stream != cam.FrameSpec().StreamID {
		return fmt.Errorf("stream %d: the camera stream is declared with id %d (internal/cam/streams.toml)", stream, cam.FrameSpec().StreamID)
	}
	prod, err := cam.NewFrameProducer(ctx, c)
	if err != nil {
		return err
	}
	defer prod.Close()
	// The stubs cover frames and the typed metadata; the data source and
	// the calibration blob go through the client Producer underneath.
	if err := prod.Untyped().SetSource(client.DataSource{Name: "camera0", Summary: "480x640 uint16"}); err != nil {
		return err
	}
	if _, err := prod.Untyped().PublishBlob(cam.BlobDarkFrame, cam.DarkFrame()); err != nil {
		return err
	}
	exposure := uint32(1000)
	publish := func() error {
		m := prod.Meta()
		m.SetSensorId(cam.SensorID)
		m.SetExposureUs(exposure)
		m.SetGain(cam.Gain)
		_, err := prod.PublishMeta()
		return err
	}
	if err := publish(); err != nil {
		return err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var sent uint64
	versions := 1
	for frames == 0 || sent < frames {
		select {
		case <-ctx.Done():
			frames = sent // interrupted: stop cleanly
			continue
		case <-tick.C:
		}
		if every > 0 && sent > 0 && sent%every == 0 {
			exposure += 250
			if err := publish(); err != nil {
				return err
			}
			versions++
		}
		switch err := capture(prod, sent); {
		case errors.Is(err, client.ErrPaused), errors.Is(err, client.ErrClaimLost):
			continue // the driver is away: this frame is lost, the camera goes on
		case err != nil:
			return err
		}
		sent++
	}
	select {
	case <-ctx.Done():
	case <-time.After(linger):
	}
	ps, ms := prod.Untyped().Stats(), prod.Untyped().MetaStats()
	fmt.Fprintf(stdout, "camera producer: stream %d: sent %d frames, %d meta versions (last %d), %d metadata rounds, paused %d\n",
		stream, sent, versions, prod.Untyped().MetaVersion(), ms.Rounds, ps.Paused)
	return nil
}

// capture fills frame number k in place, row by row, as a DMA engine
// would, and commits it.
func capture(prod *cam.FrameProducer, k uint64) error {
	img, err := prod.Claim()
	if err != nil {
		return err
	}
	for r := range cam.Rows {
		cam.FillRow(img.Row(r), k, r)
	}
	prod.SetTimestampNs(pool.MonotonicNow())
	_, err = prod.Commit()
	return err
}
