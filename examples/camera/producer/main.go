// Command producer is the camera example's producer: 480x640 uint16
// frames through the stubs tensorgen generated from
// ../internal/cam/streams.toml (cam.FrameProducer), filled in place as a
// DMA engine would: a claim queue of -claims frames open at once
// (client.ProducerConfig.MaxClaims), each filled a band of rows per tick
// with a progress report after every band (FrameProgress STARTED,
// throttled PROGRESS, COMPLETE), committed when full; described by camera
// metadata: the sensor id, exposure and gain as
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
	claims := fs.Int("claims", 2, "frames filled at once (the claim queue's depth, `N` >= 1); each takes N ticks to fill")
	linger := fs.Duration("linger", time.Second, "how long to stay attached after the last frame, so consumers read it")
	level := fs.String("log-level", "warn", "log `LEVEL`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil || *rate <= 0 || *claims < 1 || *claims > cam.Rows/band {
		fmt.Fprintf(stderr, "producer: bad -log-level, -rate or -claims (1 to %d)\n", cam.Rows/band)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	if err := produce(ctx, log, stdout, *aeronDir, strings.Split(*allow, ","), uint32(*stream), *frames, *rate, *every, *claims, *linger); err != nil {
		log.Error("producer failed", "err", err)
		return 1
	}
	return 0
}

func produce(ctx context.Context, log *slog.Logger, stdout io.Writer, aeronDir string, allow []string,
	stream uint32, frames uint64, rate float64, every uint64, depth int, linger time.Duration) error {
	c, err := client.New(ctx, client.Config{AeronDir: aeronDir, Driver: driverclient.Config{AllowedBaseDirs: allow}}, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if stream != cam.FrameSpec().StreamID {
		return fmt.Errorf("stream %d: the camera stream is declared with id %d (internal/cam/streams.toml)", stream, cam.FrameSpec().StreamID)
	}
	// The client's configuration: a claim queue and FrameProgress; the
	// stubs fill in the stream id and check the rest against the
	// declaration.
	prod, err := cam.NewFrameProducerWith(ctx, c, client.ProducerConfig{MaxClaims: depth, Progress: true})
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
	d := &dma{prod: prod, depth: depth}
	defer d.abort()
	versions, published := 1, uint64(0)
	for frames == 0 || d.sent < frames || len(d.open) > 0 {
		if ctx.Err() != nil {
			break // interrupted: stop cleanly, the open claims aborted
		}
		select {
		case <-ctx.Done():
			continue
		case <-tick.C:
		}
		if every > 0 && d.sent > 0 && d.sent%every == 0 && published != d.sent {
			exposure += 250
			if err := publish(); err != nil {
				return err
			}
			versions++
			published = d.sent
		}
		if err := d.step(frames == 0 || d.sent+uint64(len(d.open)) < frames); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(linger):
	}
	ps, ms, pg := prod.Untyped().Stats(), prod.Untyped().MetaStats(), prod.Untyped().ProgressStats()
	fmt.Fprintf(stdout, "camera producer: stream %d: sent %d frames, %d meta versions (last %d), %d metadata rounds, paused %d, lost %d; claim queue %d, progress hints started %d progress %d (throttled %d) complete %d\n",
		stream, d.sent, versions, prod.Untyped().MetaVersion(), ms.Rounds, ps.Paused, d.lost, depth,
		pg.Started, pg.Progress, pg.Throttled, pg.Complete)
	return nil
}

// band is how many rows a DMA transfer writes before it reports progress.
const band = 48

// dma is the camera's DMA ring: depth frames are filled at once; every
// tick a new claim starts (its FrameProgress STARTED), every open frame
// gets the next Rows/depth rows, a band at a time with a progress report
// (PROGRESS, throttled by the client) after each, and the frame that is
// full is committed (COMPLETE, then its FrameDescriptor). In steady state
// one frame is committed per tick.
type dma struct {
	prod       *cam.FrameProducer
	depth      int
	open       []dmaFrame // oldest first; at most depth
	k          uint64     // frame number of the next claim (carried in the frame)
	sent, lost uint64
}

type dmaFrame struct {
	cl   cam.FrameClaim
	k    uint64
	rows int // filled
}

// step runs one tick; claim says whether to start a new frame.
func (d *dma) step(claim bool) error {
	if claim {
		switch cl, err := d.prod.TryClaim(); {
		case errors.Is(err, client.ErrPaused):
			// The driver is away: no frame this tick, the camera goes on.
		case err != nil:
			return err
		default:
			cl.SetTimestampNs(pool.MonotonicNow()) // capture starts
			d.open = append(d.open, dmaFrame{cl: cl, k: d.k})
			d.k++
		}
	}
	per := (cam.Rows + d.depth - 1) / d.depth
	for i := range d.open {
		f := &d.open[i]
		img := f.cl.View()
		for end := min(f.rows+per, cam.Rows); f.rows < end; {
			n := min(band, end-f.rows)
			for r := f.rows; r < f.rows+n; r++ {
				cam.FillRow(img.Row(r), f.k, r)
			}
			f.rows += n
			if err := f.cl.ProgressRows(f.rows); err != nil {
				// ErrClaimLost: a remap took the slot; the frame is lost.
				f.rows = -1
				break
			}
		}
	}
	// Commit the full frames (the oldest are full first), drop the lost.
	n := 0
	for _, f := range d.open {
		switch {
		case f.rows < 0:
			f.cl.Abort()
			d.lost++
		case f.rows == cam.Rows:
			switch _, err := f.cl.Commit(); {
			case errors.Is(err, client.ErrPaused), errors.Is(err, client.ErrClaimLost):
				d.lost++
			case err != nil:
				return err
			default:
				d.sent++
			}
		default:
			d.open[n] = f
			n++
		}
	}
	d.open = d.open[:n]
	return nil
}

// abort gives up the open claims.
func (d *dma) abort() {
	for _, f := range d.open {
		f.cl.Abort()
	}
	d.open = d.open[:0]
}
