// Command producer is the camera example's producer: 480x640 uint16
// frames, filled row by row in place (as a DMA engine would, with
// FrameProgress hints), described by camera metadata: a data source name,
// the sensor, exposure and gain as attributes, and a dark frame as a
// calibration blob. The exposure changes every -exposure-every frames,
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
	"strconv"
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
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: stream, MaxClaims: 2, Progress: true})
	if err != nil {
		return err
	}
	if err := prod.SetSource(client.DataSource{Name: "camera0", Summary: "480x640 uint16"}); err != nil {
		return err
	}
	if _, err := prod.PublishBlob(cam.BlobDarkFrame, cam.DarkFrame()); err != nil {
		return err
	}
	exposure := 1000
	publish := func() error {
		_, err := prod.PublishMeta([]client.Attribute{
			{Key: cam.KeySensor, Format: "text/plain", Value: []byte("IMX-demo")},
			{Key: cam.KeyExposureUs, Format: "text/plain", Value: strconv.AppendInt(nil, int64(exposure), 10)},
			{Key: cam.KeyGain, Format: "text/plain", Value: []byte("2.0")},
		})
		return err
	}
	if err := publish(); err != nil {
		return err
	}
	h, err := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, cam.Rows, cam.Cols)
	if err != nil {
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
		switch err := capture(prod, &h); {
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
	ps, ms := prod.Stats(), prod.MetaStats()
	fmt.Fprintf(stdout, "camera producer: stream %d: sent %d frames, %d meta versions (last %d), %d metadata rounds, paused %d\n",
		stream, sent, versions, prod.MetaVersion(), ms.Rounds, ps.Paused)
	return nil
}

// capture fills one frame in place, a band of rows at a time with a
// progress hint after each, as a DMA engine would, and commits it.
func capture(prod *client.Producer, h *pool.TensorHeader) error {
	cl, err := prod.TryClaim(h)
	if err != nil {
		return err
	}
	img, err := client.ClaimView[uint16](&cl)
	if err != nil {
		prod.Abort(&cl)
		return err
	}
	flat, _ := img.Flat()
	const band = 48
	for r := 0; r < cam.Rows; r++ {
		cam.FillRow(flat[r*cam.Cols:(r+1)*cam.Cols], cl.Seq, r)
		if (r+1)%band == 0 {
			if err := prod.Progress(&cl, (r+1)*cam.Cols*2); err != nil {
				prod.Abort(&cl)
				return err
			}
		}
	}
	cl.Meta.TimestampNs = pool.MonotonicNow()
	return prod.Commit(&cl)
}
