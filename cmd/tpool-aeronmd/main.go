// Command tpool-aeronmd runs tpool's embedded Aeron media driver (IPC only)
// as a standalone process, for Aeron clients in other processes: tpool's own
// and real Aeron clients (C, Java, Julia).
//
// Usage:
//
//	tpool-aeronmd [-dir DIR] [-keep-dir] [-ipc-term-length N] [-client-liveness-timeout D] [-idle STRATEGY] [-v]
//
// The directory defaults to $AERON_DIR, then /dev/shm/aeron-<user>. The
// driver refuses a directory a live driver uses and takes over a stale one.
// It runs until SIGINT or SIGTERM, then shuts down and removes its directory
// unless -keep-dir is given.
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
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tpool-aeronmd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "Aeron directory (default $AERON_DIR, then /dev/shm/aeron-<user>)")
	keep := fs.Bool("keep-dir", false, "leave the directory in place on shutdown")
	termLength := fs.Int("ipc-term-length", mediadriver.DefaultIPCTermLength, "term length of aeron:ipc publications without a term-length parameter")
	liveness := fs.Duration("client-liveness-timeout", mediadriver.DefaultClientLivenessTimeout, "remove clients silent for this long")
	idle := fs.String("idle", "backoff", "the conductor's idle strategy: "+agent.IdleStrategyNames+
		"; each wake-up of an idle driver takes a core from spinning clients for a moment, so on a machine with few cores a longer sleep (e.g. sleep:10ms) trims their latency tail at the cost of slower command handling (see docs/PERFORMANCE.md)")
	verbose := fs.Bool("v", false, "log debug events")
	fs.Usage = func() {
		fmt.Fprint(stderr, `tpool-aeronmd runs tpool's embedded Aeron media driver (aeron:ipc only)
until SIGINT or SIGTERM, then removes its directory unless -keep-dir.
Real Aeron clients (C, Java) and tpool's Go client can use it.

Usage:
  tpool-aeronmd [-dir DIR] [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "tpool-aeronmd: unexpected arguments %v\n", fs.Args())
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	idleStrategy, err := agent.ParseIdleStrategy(*idle)
	if err != nil {
		logger.Error("invalid -idle", "err", err)
		return 2
	}
	cfg := mediadriver.Config{
		Idle:                  idleStrategy,
		Dir:                   *dir,
		KeepDir:               *keep,
		IPCTermLength:         *termLength,
		ClientLivenessTimeout: *liveness,
		Logger:                logger,
	}
	if err := cfg.Validate(); err != nil {
		logger.Error("invalid configuration", "err", err)
		return 2
	}
	d, err := mediadriver.Start(cfg)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	<-ctx.Done()
	logger.Info("shutting down")
	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		logger.Error("shutdown timed out")
		return 1
	}
	if err != nil {
		logger.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
