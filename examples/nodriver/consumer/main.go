// Command consumer is the consumer half of tpool's no-driver example. It
// waits for the announcement the producer writes to -announce, maps the
// stream read-only (only under the -allow directories), follows the header
// ring without any control plane, validates every frame in place and
// prints what it received, what it dropped and why, and whether every
// accepted frame was intact. It exits with status 1 if one was not.
//
// It may start before the producer, even before the base directory
// exists: it waits for the announcement. When it joins a stream already
// running, it starts at the newest frame and reports the sequence it
// joined at; frames written before that are not drops.
//
//	consumer -allow /dev/shm/tensorpool -frames 5000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/examples/nodriver/internal/frame"
	"github.com/tpool-go/tpool/runtime/pool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

var errCorrupt = errors.New("accepted frames that were not intact")

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	announce := fs.String("announce", filepath.Join(os.TempDir(), "tpool-nodriver.json"), "the producer's announcement")
	allow := fs.String("allow", pool.DefaultBaseDir, "comma-separated allowed base directories")
	frames := fs.Uint64("frames", 5000, "stop after this sequence number (0: when idle)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the announcement")
	idle := fs.Duration("idle", 2*time.Second, "stop after this long without a new frame")
	if err := fs.Parse(args); err != nil {
		return err
	}
	allowed, err := pool.NewAllowList(strings.Split(*allow, ",")...)
	if err != nil {
		return err
	}
	a, err := readAnnouncement(ctx, *announce, *wait)
	if err != nil {
		return err
	}
	// Fresh: refreshed within the last three announce periods (1 s each).
	notBefore := uint64(0)
	if now := pool.MonotonicNow(); now > 3e9 {
		notBefore = now - 3e9
	}
	at, err := pool.Attach(a, allowed, notBefore)
	if err != nil {
		return err
	}
	defer at.Close()
	c := at.Consumer
	fmt.Fprintf(out, "consumer: attached to stream %d epoch %d\n", a.StreamID, a.Epoch)

	next := uint64(0)
	if n, ok := c.Newest(); ok && n > 0 {
		next = n // joined late: start at the newest frame
		fmt.Fprintf(out, "consumer: joined at seq %d (frames 0 to %d were written before it joined)\n", n, n-1)
	}
	joined := next
	var intact, corrupt uint64
	last := time.Now()
	for ctx.Err() == nil && (*frames == 0 || next < *frames) {
		if !c.Ready(next) {
			if time.Since(last) > *idle {
				break
			}
			time.Sleep(50 * time.Microsecond)
			continue
		}
		last = time.Now()
		seq := next
		next++
		f, r := c.Read(a.Epoch, seq)
		if r != pool.DropNone {
			continue
		}
		ok := false
		if v, err := pool.NewView[float32](f.Payload, &f.Tensor); err == nil {
			flat, dense := v.Flat()
			ok = dense && frame.Check(flat, seq)
		}
		if c.Verify(&f) != pool.DropNone {
			continue // overwritten while we read it: correctly dropped
		}
		if ok {
			intact++
		} else {
			corrupt++
		}
	}
	report(out, c.Stats(), joined, next, intact, corrupt)
	if corrupt > 0 {
		return errCorrupt
	}
	return ctx.Err()
}

// report prints what happened to the frames from joined (the first
// sequence the consumer looked at) up to next (the first it did not).
func report(out io.Writer, st pool.ConsumerStats, joined, next, intact, corrupt uint64) {
	dropped := st.Drops.Total()
	fmt.Fprintf(out, "consumer: received %d of the %d frames from seq %d, dropped %d (late %d, gap %d)",
		st.Accepted, next-joined, joined, dropped, st.DropsLate, st.DropsGap)
	if dropped > 0 {
		fmt.Fprintf(out, " [%v]", st.Drops)
	}
	fmt.Fprintln(out)
	if corrupt == 0 {
		fmt.Fprintf(out, "consumer: all %d accepted frames intact\n", intact)
	} else {
		fmt.Fprintf(out, "consumer: %d of %d accepted frames NOT intact\n", corrupt, intact+corrupt)
	}
}

func readAnnouncement(ctx context.Context, path string, wait time.Duration) (pool.Announcement, error) {
	var a pool.Announcement
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			return a, json.Unmarshal(b, &a)
		}
		if !errors.Is(err, fs.ErrNotExist) || time.Now().After(deadline) {
			return a, fmt.Errorf("announcement: %w", err)
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
