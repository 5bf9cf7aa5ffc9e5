// Command consumer is the camera example's consumer, on the stubs
// tensorgen generated from ../internal/cam/streams.toml
// (cam.FrameConsumer): it checks every frame against the test pattern and
// its metadata (the typed camerameta.CameraInfo of the meta_version the
// frame carries, the calibration blob's checksum), follows the producer's
// FrameProgress hints through the stubs' typed handler (cam.OnFrameProgress:
// rows filled), and prints per-second statistics: frames per second, drops
// by reason, progress hints by state and the current metadata. It ends after -frames frames, after -idle without a
// frame once frames came, after -timeout, or on SIGINT/SIGTERM, with a
// summary line; the exit code is 0 only if every frame received was
// intact and had consistent metadata, and every progress hint was
// consistent (whole bands of rows, COMPLETE for the whole frame).
//
//	consumer -frames 1000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/examples/camera/internal/cam"
	"github.com/tpool-go/tpool/examples/camera/internal/cam/camerameta"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/typed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: consumer [flags]\n\nChecks the camera example's frames and metadata and prints per-second statistics.\n\nFlags:")
		fs.PrintDefaults()
	}
	aeronDir := fs.String("aeron-dir", "", "Aeron media driver `DIR` (default $AERON_DIR, else /dev/shm/aeron-<user>)")
	allow := fs.String("allow-dir", pool.DefaultBaseDir, "comma-separated base `DIRS` region files may be in (tpoold's shm.base_dir)")
	stream := fs.Uint("stream", 10000, "stream `ID` to consume")
	frames := fs.Uint64("frames", 0, "stop after `N` frames (0: no limit)")
	idle := fs.Duration("idle", 2*time.Second, "stop after this `DURATION` without a frame, once frames came (0: never)")
	timeout := fs.Duration("timeout", 0, "stop after this `DURATION` (0: no limit)")
	level := fs.String("log-level", "warn", "log `LEVEL`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintln(stderr, "consumer: bad -log-level")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	ok, err := consume(ctx, log, stdout, *aeronDir, strings.Split(*allow, ","), uint32(*stream), *frames, *idle)
	if err != nil {
		log.Error("consumer failed", "err", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// tally is what the handler saw.
type tally struct {
	cons                            *cam.FrameConsumer
	received, intact, corrupt, torn uint64
	withMeta, badMeta               uint64
	versions                        map[uint32]bool // meta version -> consistent
	last                            time.Time
	darkCRC                         uint32
	info                            string // the last metadata seen, for report
	// FrameProgress hints by state, and those whose rows were not whole
	// bands of the producer or beyond the frame (a COMPLETE must say the
	// whole frame).
	progress    [4]uint64
	badProgress uint64
}

// hint counts one FrameProgress hint of the stream, in rows.
func (t *tally) hint(p typed.Progress) {
	if int(p.State) < len(t.progress) {
		t.progress[p.State]++
	}
	rows := p.Rows()
	switch p.State {
	case client.ProgressStarted:
		if rows != 0 {
			t.badProgress++
		}
	case client.ProgressFilling:
		if rows < 1 || rows > cam.Rows || p.Elements()%cam.Cols != 0 {
			t.badProgress++
		}
	case client.ProgressComplete:
		if rows != cam.Rows || p.Elements() != cam.Rows*cam.Cols {
			t.badProgress++
		}
	}
}

func (t *tally) frame(img cam.FrameView, f client.FrameView) {
	t.received++
	t.last = time.Now()
	_, good := cam.Intact(img.Data())
	// The typed metadata of this frame's meta_version, if it arrived (nil
	// until then); an attribute that does not decode is inconsistent.
	info, err := t.cons.Meta(f)
	hasMeta, metaOK := err != nil, err == nil
	if md := f.Meta(); info != nil && md != nil {
		hasMeta = true
		ok, seen := t.versions[md.Version]
		if !seen { // a new version: check it once (allocating here is fine)
			dark, hasDark := md.Blob(cam.BlobDarkFrame)
			ok = hasDark && crc32.Checksum(dark, crc32.MakeTable(crc32.Castagnoli)) == t.darkCRC &&
				info.SensorId() == cam.SensorID && info.Gain() == cam.Gain && info.ExposureUs() > 0
			t.versions[md.Version] = ok
			t.info = describe(md, info)
		}
		metaOK = ok && md.Version == f.MetaVersion()
	}
	switch {
	case !f.Verify(): // overwritten while we read: not counted as received data
		t.torn++
		t.received--
	case !good:
		t.corrupt++
	default:
		t.intact++
		if hasMeta {
			t.withMeta++
			if !metaOK {
				t.badMeta++
			}
		}
	}
}

// describe is the metadata's line in the per-second report.
func describe(md *client.Meta, info *camerameta.CameraInfoDecoder) string {
	dark, _ := md.Blob(cam.BlobDarkFrame)
	return fmt.Sprintf("v%d %s (%s): sensor_id=%d exposure_us=%d gain=%g dark_frame=%dB",
		md.Version, md.Source.Name, md.Source.Summary, info.SensorId(), info.ExposureUs(), info.Gain(), len(dark))
}

func consume(ctx context.Context, log *slog.Logger, stdout io.Writer, aeronDir string, allow []string,
	stream uint32, frames uint64, idle time.Duration) (bool, error) {
	c, err := client.New(ctx, client.Config{AeronDir: aeronDir, Driver: driverclient.Config{AllowedBaseDirs: allow}}, log)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if stream != cam.FrameSpec().StreamID {
		return false, fmt.Errorf("stream %d: the camera stream is declared with id %d (internal/cam/streams.toml)", stream, cam.FrameSpec().StreamID)
	}
	t := &tally{versions: map[uint32]bool{}, darkCRC: cam.DarkFrameCRC()}
	// OnProgress subscribes to the stream's FrameProgress; the stubs'
	// OnFrameProgress hands the hints over in rows.
	cons, err := cam.NewFrameConsumerWith(ctx, c, client.ConsumerConfig{OnProgress: cam.OnFrameProgress(t.hint)})
	if err != nil {
		return false, err
	}
	defer cons.Close()
	t.cons = cons
	fmt.Fprintf(stdout, "camera consumer: stream %d: waiting for frames\n", stream)
	start := time.Now()
	next := start.Add(time.Second)
	var lastReceived uint64
	backoff := agent.NewBackoff()
	for ctx.Err() == nil && (frames == 0 || t.received < frames) {
		n := cons.Poll(t.frame)
		now := time.Now()
		if !now.Before(next) {
			report(stdout, cons.Untyped(), t, now.Sub(start), t.received-lastReceived)
			lastReceived = t.received
			next = next.Add(time.Second)
		}
		if idle > 0 && t.received > 0 && now.Sub(t.last) > idle {
			break
		}
		backoff.Idle(n)
	}
	st := cons.Untyped().Stats()
	fmt.Fprintf(stdout, "camera consumer: stream %d: received %d, intact %d, corrupt %d, torn %d, with metadata %d (inconsistent %d), meta versions %d, dropped %d (late %d), gap %d, mismatched %d, progress hints started %d progress %d complete %d (inconsistent %d)\n",
		stream, t.received, t.intact, t.corrupt, t.torn, t.withMeta, t.badMeta, len(t.versions), st.Dropped(), st.Late(), st.Gap, cons.Mismatched(),
		t.progress[client.ProgressStarted], t.progress[client.ProgressFilling], t.progress[client.ProgressComplete], t.badProgress)
	if err := cons.Err(); err != nil {
		fmt.Fprintf(stdout, "camera consumer: %v\n", err)
	}
	return t.received > 0 && t.corrupt == 0 && t.badMeta == 0 && t.withMeta > 0 && cons.Mismatched() == 0 && t.badProgress == 0, nil
}

// report prints one per-second line: rate, drops by reason, progress
// hints so far by state and the current metadata.
func report(w io.Writer, cons *client.Consumer, t *tally, since time.Duration, n uint64) {
	st := cons.Stats()
	var drops strings.Builder
	for r, d := range st.Drops {
		if d > 0 {
			fmt.Fprintf(&drops, " %v=%d", pool.DropReason(r), d)
		}
	}
	if st.Unmapped > 0 {
		fmt.Fprintf(&drops, " unmapped=%d", st.Unmapped)
	}
	if drops.Len() == 0 {
		drops.WriteString(" none")
	}
	meta := t.info
	if meta == "" {
		meta = "none yet"
	}
	fmt.Fprintf(w, "t=%2.0fs fps=%d frames=%d intact=%d drops:%s gap=%d progress started=%d progress=%d complete=%d meta %s\n",
		since.Seconds(), n, t.received, t.intact, drops.String(), st.Gap,
		t.progress[client.ProgressStarted], t.progress[client.ProgressFilling], t.progress[client.ProgressComplete], meta)
}
