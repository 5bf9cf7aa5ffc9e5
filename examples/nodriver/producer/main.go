// Command producer is the producer half of tpool's no-driver example: a
// tensor stream with no SHM driver (tpoold). Through runtime/client in
// no-driver mode it creates the stream's header ring and payload pool in
// the canonical layout under -base (which need not exist), announces them
// on Aeron (ShmPoolAnnounce on stream 1001, every -announce-period and at
// once when a consumer subscribes), then writes -frames frames of a
// float32 tensor, each carrying its sequence number and a checksum. After
// -linger it stops, and its regions are removed.
//
// Aeron still carries the announces and the frame descriptors: a media
// driver must run at -aeron-dir (tpool-aeronmd, as `make demo-nodriver`
// starts it, or -embedded-media-driver to run one in this process for the
// consumer to use while the producer lives).
//
//	tpool-aeronmd -dir /dev/shm/aeron-demo &
//	producer -aeron-dir /dev/shm/aeron-demo -base /dev/shm/tensorpool -frames 5000 -rate 2000
//
// A producer that crashes (or is killed with SIGKILL) cannot remove its
// epoch directory. -clean removes every epoch directory under -base whose
// producer is provably gone (its process no longer exists and its activity
// is older than -stale-after; see pool.RemoveStale) and exits; add -n to
// only list them:
//
//	producer -base /dev/shm/tensorpool -clean -n
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/examples/nodriver/internal/frame"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out, logOut io.Writer) error {
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	aeronDir := fs.String("aeron-dir", "", "Aeron media driver directory (default $AERON_DIR, else /dev/shm/aeron-<user>)")
	embedded := fs.Bool("embedded-media-driver", false, "run a media driver in this process at -aeron-dir")
	base := fs.String("base", pool.DefaultBaseDir, "SHM base directory (created if missing)")
	namespace := fs.String("namespace", pool.DefaultNamespace, "namespace under the base directory")
	stream := fs.Uint("stream", 10000, "stream id")
	nslots := fs.Uint("nslots", 256, "header ring slots (a power of two)")
	frames := fs.Uint64("frames", 5000, "frames to write")
	rate := fs.Float64("rate", 2000, "frames per second (0: as fast as possible)")
	rows := fs.Int("rows", 32, "tensor rows")
	cols := fs.Int("cols", 32, "tensor columns")
	period := fs.Duration("announce-period", client.DefaultAnnouncePeriod, "ShmPoolAnnounce period")
	linger := fs.Duration("linger", time.Second, "how long to keep the stream after the last frame")
	clean := fs.Bool("clean", false, "remove the epoch directories of crashed producers under -base, then exit")
	dryRun := fs.Bool("n", false, "with -clean: only list what would be removed")
	staleAfter := fs.Duration("stale-after", pool.DefaultStaleAfter, "with -clean: how old the activity of an epoch whose producer process is gone must be")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clean {
		return removeStale(out, *base, *staleAfter, *dryRun)
	}
	h, err := pool.NewTensorHeader(pool.Float32, pool.RowMajor, int32(*rows), int32(*cols))
	if err != nil {
		return err
	}
	size := int(h.Len()) * 4
	if size < 8 {
		return errors.New("the tensor needs at least two elements")
	}
	if size > 1<<31 {
		return fmt.Errorf("the tensor is %d bytes, more than a pool slot can hold (2 GiB)", size)
	}
	stride := max(64, uint32(1)<<bits.Len(uint(size-1))) // the smallest power of two that fits

	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := client.New(ctx, client.Config{AeronDir: *aeronDir, EmbeddedMediaDriver: *embedded, NoDriver: true,
		NoDriverConfig: client.NoDriverConfig{BaseDir: *base, Namespace: *namespace, AnnouncePeriod: *period}}, log)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: uint32(*stream), Layout: client.StreamLayout{
		NSlots: uint32(*nslots), Pools: []pool.PoolConfig{{ID: 1, StrideBytes: stride}}, Prefault: true}})
	if err != nil {
		return err
	}
	defer p.Close() // removes the regions
	fmt.Fprintf(out, "producer: stream %d epoch %d in %s, %d frames of %dx%d float32\n",
		*stream, p.Epoch(), p.Dir(), *frames, *rows, *cols)

	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) / *rate)
	}
	start := time.Now()
	for i := uint64(0); i < *frames; i++ {
		if ctx.Err() != nil {
			break
		}
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		cl, err := p.TryClaim(&h)
		if err != nil {
			return err // cannot happen: the pool was sized for the frame
		}
		v, err := client.ClaimView[float32](&cl)
		if err != nil {
			return err
		}
		flat, _ := v.Flat()
		frame.Fill(flat, cl.Seq)
		cl.Meta.TimestampNs = pool.MonotonicNow()
		if err := p.Commit(&cl); err != nil {
			return err
		}
	}
	st := p.Stats()
	fmt.Fprintf(out, "producer: committed %d frames in %v (descriptors sent %d, no subscriber %d; announces sent %d)\n",
		st.Frames, time.Since(start).Round(time.Millisecond), st.DescriptorsSent, st.NoSubscriber, p.AnnounceStats().Sent)
	select {
	case <-time.After(*linger):
	case <-ctx.Done():
	}
	return nil
}

// removeStale is -clean: remove (or, dry, list) abandoned epoch directories.
func removeStale(out io.Writer, base string, staleAfter time.Duration, dry bool) error {
	gone, err := pool.RemoveStale(base, staleAfter, dry)
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	for _, e := range gone {
		fmt.Fprintf(out, "producer: %s %s (%s)\n", verb, e.Dir, e.Reason)
	}
	if len(gone) == 0 {
		fmt.Fprintf(out, "producer: nothing to clean under %s\n", base)
	}
	return err
}
