// Command consumer is the consumer half of tpool's no-driver example.
// Through runtime/client in no-driver mode it listens for the producer's
// ShmPoolAnnounce on Aeron, maps the stream read-only (only under the
// -allow directories) once announced, reads the frames its FrameDescriptors
// name, validates each in place and prints what it received, what it
// dropped and why, and whether every accepted frame was intact. It exits
// with status 1 if one was not.
//
// It may start before the producer, even before the base directory
// exists: it waits for an announce. When it joins a stream already
// running, it starts at the newest frame and reports the sequence it
// joined at; frames written before that are not drops. A media driver
// must run at -aeron-dir (see the producer).
//
//	consumer -aeron-dir /dev/shm/aeron-demo -allow /dev/shm/tensorpool -frames 5000
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

	"github.com/tpool-go/tpool/examples/nodriver/internal/frame"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

var errCorrupt = errors.New("accepted frames that were not intact")

func run(ctx context.Context, args []string, out, logOut io.Writer) error {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	aeronDir := fs.String("aeron-dir", "", "Aeron media driver directory (default $AERON_DIR, else /dev/shm/aeron-<user>)")
	allow := fs.String("allow", pool.DefaultBaseDir, "comma-separated allowed base directories")
	stream := fs.Uint("stream", 10000, "stream id")
	frames := fs.Uint64("frames", 5000, "stop after this sequence number (0: when idle)")
	period := fs.Duration("announce-period", client.DefaultAnnouncePeriod, "the producer's ShmPoolAnnounce period")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the first frame")
	idle := fs.Duration("idle", 2*time.Second, "stop after this long without a new frame")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := client.New(ctx, client.Config{AeronDir: *aeronDir, NoDriver: true,
		NoDriverConfig: client.NoDriverConfig{AllowedBaseDirs: strings.Split(*allow, ","), AnnouncePeriod: *period}}, log)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: uint32(*stream)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "consumer: waiting for stream %d\n", *stream)

	var joined, last uint64
	var intact, corrupt uint64
	started := false
	for *frames == 0 || !started || last+1 < *frames {
		d := *idle
		if !started {
			d = *wait
		}
		fctx, cancel := context.WithTimeout(ctx, d)
		f, err := s.Next(fctx)
		cancel()
		if err != nil {
			break // idle, or interrupted
		}
		if !started {
			started, joined = true, f.Seq()
			fmt.Fprintf(out, "consumer: mapped stream %d epoch %d\n", *stream, f.Epoch())
			if joined > 0 {
				fmt.Fprintf(out, "consumer: joined at seq %d (frames 0 to %d were written before it joined)\n", joined, joined-1)
			}
		}
		last = f.Seq()
		ok := false
		if v, err := client.FrameAs[float32](f); err == nil {
			flat, dense := v.Flat()
			ok = dense && frame.Check(flat, f.Seq())
		}
		if !f.Verify() {
			continue // overwritten while we read it: correctly dropped (and counted)
		}
		if ok {
			intact++
		} else {
			corrupt++
		}
	}
	if !started {
		return fmt.Errorf("no frame within %v: %+v", *wait, s.Status())
	}
	_ = s.Close() // closes out the last frame, so Stats counts it
	report(out, s.Stats(), joined, last+1, intact, corrupt)
	if corrupt > 0 {
		return errCorrupt
	}
	return ctx.Err()
}

// report prints what happened to the frames from joined (the first
// sequence the consumer received) up to next (the first it did not).
func report(out io.Writer, st client.ConsumerStats, joined, next, intact, corrupt uint64) {
	dropped := st.Dropped()
	fmt.Fprintf(out, "consumer: received %d of the %d frames from seq %d, dropped %d (late %d, gap %d)",
		st.Accepted, next-joined, joined, dropped, st.Late(), st.Gap)
	if dropped > 0 {
		var rs []string
		for r, n := range st.Drops {
			if n > 0 {
				rs = append(rs, fmt.Sprintf("%v %d", pool.DropReason(r), n))
			}
		}
		fmt.Fprintf(out, " [%s]", strings.Join(rs, ", "))
	}
	fmt.Fprintln(out)
	if corrupt == 0 {
		fmt.Fprintf(out, "consumer: all %d accepted frames intact\n", intact)
	} else {
		fmt.Fprintf(out, "consumer: %d of %d accepted frames NOT intact\n", corrupt, intact+corrupt)
	}
}
