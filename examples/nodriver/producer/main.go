// Command producer is the producer half of tpool's no-driver example. It
// creates a stream's header ring and payload pool in the canonical layout
// under -base, writes the stream's announcement (the content of a
// ShmPoolAnnounce) as JSON to -announce for consumers, then writes -frames
// frames of a float32 tensor, each carrying its sequence number and a
// checksum, and removes the regions after -linger. It keeps the regions'
// activity timestamps fresh by committing (and heartbeats when it idles).
//
//	producer -base /dev/shm/tensorpool -frames 5000 -rate 2000
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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/examples/nodriver/internal/frame"
	"github.com/tpool-go/tpool/runtime/pool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	base := fs.String("base", pool.DefaultBaseDir, "SHM base directory")
	namespace := fs.String("namespace", pool.DefaultNamespace, "namespace under the base directory")
	stream := fs.Uint("stream", 10000, "stream id")
	nslots := fs.Uint("nslots", 256, "header ring slots (a power of two)")
	frames := fs.Uint64("frames", 5000, "frames to write")
	rate := fs.Float64("rate", 2000, "frames per second (0: as fast as possible)")
	rows := fs.Int("rows", 32, "tensor rows")
	cols := fs.Int("cols", 32, "tensor columns")
	announce := fs.String("announce", filepath.Join(os.TempDir(), "tpool-nodriver.json"), "where to write the announcement")
	linger := fs.Duration("linger", time.Second, "how long to keep the regions after the last frame")
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

	s, err := pool.CreateStream(pool.StreamConfig{
		BaseDir: *base, Namespace: *namespace, StreamID: uint32(*stream), NSlots: uint32(*nslots),
		Pools: []pool.PoolConfig{{ID: 1, StrideBytes: stride}}, Prefault: true,
	})
	if err != nil {
		return err
	}
	defer s.Remove()
	defer s.Close()
	if err := writeAnnouncement(*announce, s.Announcement()); err != nil {
		return err
	}
	defer os.Remove(*announce)
	fmt.Fprintf(out, "producer: stream %d epoch %d in %s, %d frames of %dx%d float32\n",
		*stream, s.Announcement().Epoch, s.Dir(), *frames, *rows, *cols)

	p := s.Producer()
	meta := pool.FrameMeta{Tensor: h}
	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) / *rate)
	}
	start := time.Now()
	lastBeat := start
	for i := uint64(0); i < *frames; i++ {
		if ctx.Err() != nil {
			break
		}
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		c, err := p.Claim(size)
		if err != nil {
			return err // cannot happen: the pool was sized for the frame
		}
		v, err := pool.NewView[float32](c.Payload, &h)
		if err != nil {
			return err
		}
		flat, _ := v.Flat()
		frame.Fill(flat, c.Seq)
		meta.TimestampNs = pool.MonotonicNow()
		if err := p.Commit(&c, &meta); err != nil {
			return err
		}
		if time.Since(lastBeat) >= time.Second {
			p.Heartbeat(pool.MonotonicNow())
			lastBeat = time.Now()
		}
	}
	st := p.Stats()
	fmt.Fprintf(out, "producer: committed %d frames in %v (dropped %d: no pool fits)\n",
		st.Committed, time.Since(start).Round(time.Millisecond), st.DropsNoPool)
	select {
	case <-time.After(*linger):
	case <-ctx.Done():
	}
	return nil
}

// writeAnnouncement writes a atomically, so a consumer never reads half.
func writeAnnouncement(path string, a pool.Announcement) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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
