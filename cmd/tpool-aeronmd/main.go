// Command tpool-aeronmd runs tpool's embedded Aeron media driver (aeron:ipc
// and aeron:udp: unicast, multicast, multi-destination-cast) as a standalone process, for Aeron clients in other
// processes: tpool's own and real Aeron clients (C, Java, Julia).
//
// Usage:
//
//	tpool-aeronmd [-dir DIR] [-keep-dir] [-ipc-term-length N] [-client-liveness-timeout D] [-idle STRATEGY]
//	              [-threading MODE] [-udp-term-length N] [-udp-mtu N] [-image-liveness-timeout D]
//	              [-sender-idle STRATEGY] [-receiver-idle STRATEGY] [-rtt-interval D]
//	              [-gomaxprocs auto|N] [-cpuprofile FILE] [-v]
//
// The directory defaults to $AERON_DIR, then /dev/shm/aeron-<user>. The
// driver refuses a directory a live driver uses and takes over a stale one.
// It runs until SIGINT or SIGTERM, then shuts down and removes its directory
// unless -keep-dir is given.
//
// GOMAXPROCS: the driver's agents never give up their P when idle (they
// spin, yield the thread and sleep in nanosleep), so with fewer Ps than
// agent goroutines plus one, the goroutines reading the UDP sockets wait
// for a P, up to 10 ms (docs/AERON.md). -gomaxprocs auto, the default,
// raises GOMAXPROCS to what the threading mode needs (4 dedicated, 3
// shared-network, 2 shared) unless the GOMAXPROCS environment variable
// sets it; a number sets it.
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
	"runtime"
	"runtime/pprof"
	"strconv"
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
	threading := fs.String("threading", string(mediadriver.ThreadingDedicated), "threading mode of the conductor, sender and receiver agents: "+
		mediadriver.ThreadingModeNames+" (as Aeron's DEDICATED, SHARED_NETWORK and SHARED)")
	udpTermLength := fs.Int("udp-term-length", mediadriver.DefaultUDPTermLength, "term length of aeron:udp publications without a term-length parameter")
	udpMTU := fs.Int("udp-mtu", mediadriver.DefaultUDPMTU, "MTU of aeron:udp publications without an mtu parameter")
	rttInterval := fs.Duration("rtt-interval", 0, "how often each UDP image asks its publication for a round-trip measurement (RTTM), shown in its rcv-rtt counter; 0 never, as Aeron's default")
	imageLiveness := fs.Duration("image-liveness-timeout", mediadriver.DefaultImageLivenessTimeout, "a UDP image that hears nothing from its publication this long goes unavailable")
	senderIdle := fs.String("sender-idle", "backoff", "the sender agent's idle strategy (same choices as -idle; used for the shared network goroutine in shared-network mode)")
	receiverIdle := fs.String("receiver-idle", "backoff", "the receiver agent's idle strategy (same choices as -idle; dedicated mode only)")
	procs := fs.String("gomaxprocs", "auto", "GOMAXPROCS: a number, or auto: at least the threading mode's agent goroutines plus one (4 dedicated, 3 shared-network, 2 shared), so that a P is free for the goroutines reading the UDP sockets (fewer delay each read up to 10 ms), unless the GOMAXPROCS environment variable is set")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the whole run to this file, for diagnosis")
	verbose := fs.Bool("v", false, "log debug events")
	fs.Usage = func() {
		fmt.Fprint(stderr, `tpool-aeronmd runs tpool's embedded Aeron media driver (aeron:ipc, and
unicast aeron:udp?endpoint=host:port, multicast
aeron:udp?endpoint=GROUP:port|interface=ADDR[/PREFIX]|ttl=N (the group's
last byte odd; status messages go to the group + 1; interface= an address or
a subnet such as 192.168.1.0/24 selecting the local interface on it) and
multi-destination-cast (control=, control-mode=manual|dynamic),
wire-compatible with Aeron's aeronmd) until SIGINT or SIGTERM, then removes
its directory unless -keep-dir. Real Aeron clients (C, Java) and tpool's Go
client can use it.

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
	mode, err := mediadriver.ParseThreadingMode(*threading)
	if err != nil {
		logger.Error("invalid -threading", "err", err)
		return 2
	}
	n, err := gomaxprocs(*procs, os.Getenv("GOMAXPROCS") != "", runtime.GOMAXPROCS(0), mode)
	if err != nil {
		logger.Error("invalid -gomaxprocs", "err", err)
		return 2
	}
	if n != runtime.GOMAXPROCS(0) {
		logger.Info("setting GOMAXPROCS", "from", runtime.GOMAXPROCS(0), "to", n, "threading", string(mode))
		old := runtime.GOMAXPROCS(n)
		defer runtime.GOMAXPROCS(old)
	}
	sndIdle, err := agent.ParseIdleStrategy(*senderIdle)
	if err != nil {
		logger.Error("invalid -sender-idle", "err", err)
		return 2
	}
	rcvIdle, err := agent.ParseIdleStrategy(*receiverIdle)
	if err != nil {
		logger.Error("invalid -receiver-idle", "err", err)
		return 2
	}
	cfg := mediadriver.Config{
		UDP: mediadriver.UDPConfig{
			Threading: mode, SenderIdle: sndIdle, ReceiverIdle: rcvIdle,
			TermLength: *udpTermLength, MTU: *udpMTU, ImageLivenessTimeout: *imageLiveness,
			RTTMeasurementInterval: *rttInterval,
		},
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
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			logger.Error("cpu profile", "err", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			logger.Error("cpu profile", "err", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				logger.Error("cpu profile", "err", err)
			}
		}()
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

// gomaxprocs is the GOMAXPROCS to run with: the -gomaxprocs value (a
// positive number, or auto), the current setting and whether the
// environment set it, for the threading mode.
func gomaxprocs(flagValue string, fromEnv bool, current int, mode mediadriver.ThreadingMode) (int, error) {
	if flagValue == "auto" {
		if fromEnv {
			return current, nil
		}
		return max(current, mode.MinGOMAXPROCS()), nil
	}
	n, err := strconv.Atoi(flagValue)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want auto or a positive number", flagValue)
	}
	return n, nil
}
