// Command tpoold is the SHM Tensor Pool driver (Driver Model spec v1.0): it
// owns the shared-memory pools of its streams, grants producer and consumer
// leases over the Aeron control plane, and announces each stream's regions.
// docs/DRIVER.md is its manual.
//
// Usage:
//
//	tpoold [-config FILE] [-log-level LEVEL] [-metrics-addr HOST:PORT]
//	tpoold -check-config FILE
//	tpoold [-config FILE] -print-config
//
// Without -config it runs the built-in configuration (one static stream,
// 10000). Environment variables named after the keys (DRIVER_CONTROL_STREAM_ID
// for driver.control_stream_id, ...) override the file. With
// driver.aeron_dir unset it runs its embedded Aeron media driver in
// $AERON_DIR (default /dev/shm/aeron-<user>), or uses the live media driver
// already running in an $AERON_DIR that is set. It runs until SIGINT
// or SIGTERM (or an accepted shutdown request), then drains, announces its
// shutdown, removes its shared memory and exits 0. A second signal during
// the drain ends it at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, stop, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `tpoold is the SHM Tensor Pool driver: it creates the shared-memory pools of
its streams, grants producer and consumer leases over Aeron, and announces
the pools. It runs until SIGINT or SIGTERM, then drains for
policies.shutdown_timeout_ms, announces its shutdown, removes its shared
memory and exits 0. See docs/DRIVER.md.

Usage:
  tpoold [-config FILE] [flags]       run the driver
  tpoold -check-config FILE           validate FILE (with the environment), list
                                      the keys tpoold ignores; exit 0 if valid, 1 if not
  tpoold [-config FILE] -print-config print the effective configuration (file,
                                      environment and defaults) as TOML

Without -config the built-in configuration is used: one static stream 10000
(profile "default": 64 slots of 1 MiB), control on aeron:ipc stream 1000,
SHM under /dev/shm/tensorpool, and tpool's embedded Aeron media driver.
Every key can be set by an environment variable, which wins over the file:
the key in upper case with '.' replaced by '_' (driver.control_stream_id is
DRIVER_CONTROL_STREAM_ID).

Aeron: with driver.aeron_dir (DRIVER_AERON_DIR) set, tpoold uses the live
media driver there (aeronmd or tpool-aeronmd). Unset, it runs its embedded
media driver in $AERON_DIR (default /dev/shm/aeron-<user>); if a live media
driver already runs in the $AERON_DIR you set, tpoold uses that one.

Flags:
`

// run is main without the process: it returns the exit code (0 success, 1
// failure, 2 bad usage). stopSignals is called once a shutdown has begun,
// so that a second signal kills the process.
func run(ctx context.Context, stopSignals func(), args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("tpoold", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `FILE` (TOML, Driver Model spec section 17)")
	checkPath := fs.String("check-config", "", "validate `FILE` and exit")
	printConfig := fs.Bool("print-config", false, "print the effective configuration as TOML and exit")
	logLevel := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on `HOST:PORT` at /metrics (off when empty)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "tpoold: unexpected arguments %q (see tpoold -h)\n", fs.Args())
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "tpoold: -log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	if *checkPath != "" {
		if *configPath != "" || *printConfig {
			fmt.Fprintln(stderr, "tpoold: -check-config takes no -config or -print-config")
			return 2
		}
		return checkConfig(*checkPath, stdout, stderr, getenv)
	}

	cfg, ignored, err := loadConfig(*configPath, getenv)
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	if *printConfig {
		b, err := tomlconfig.Marshal(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "tpoold: %v\n", err)
			return 1
		}
		_, _ = stdout.Write(b)
		return 0
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	source := *configPath
	if source == "" {
		source = "built-in defaults"
	}
	logger.Info("configuration loaded", "source", source, "instance_id", cfg.Driver.InstanceID)
	for _, i := range ignored {
		logger.Info("ignored configuration key", "key", i.Key, "line", i.Line, "why", i.Why)
	}
	for _, w := range cfg.Warnings() {
		logger.Warn("configuration", "key", w.Key, "warning", w.Problem)
	}

	// Bind the metrics port before starting the driver, so a taken port
	// fails before any shared memory is created.
	var ln net.Listener
	if *metricsAddr != "" {
		if ln, err = net.Listen("tcp", *metricsAddr); err != nil {
			logger.Error("metrics endpoint", "err", err)
			return 1
		}
	}

	d, err := startDriver(ctx, cfg, logger)
	if aeronDir := getenv(tomlconfig.EnvAeronDir); errors.Is(err, driver.ErrMediaDriverActive) && cfg.Driver.AeronDir == "" && aeronDir != "" {
		// AERON_DIR names a live media driver: use it, as Aeron clients do.
		logger.Info("a media driver is running in $AERON_DIR; using it", "aeron_dir", aeronDir)
		cfg.Driver.AeronDir = aeronDir
		d, err = startDriver(ctx, cfg, logger)
	}
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		logger.Error("cannot start the driver", "err", err)
		return 1
	}
	var metrics *metricsServer
	if ln != nil {
		metrics = serveMetrics(ln, cfg.Driver.InstanceID, d.Metrics, logger)
		logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}

	code := 0
	select {
	case <-ctx.Done():
		logger.Info("signal received, shutting down (a second signal ends tpoold at once)", "drain", cfg.Policies.ShutdownTimeout)
		stopSignals()
	case <-d.Done():
		stopSignals()
		if err := d.Err(); err != nil {
			logger.Error("driver stopped", "err", err)
			code = 1
		} else {
			logger.Info("driver stopped by a shutdown request")
		}
	}
	if err := d.Close(); err != nil {
		logger.Error("shutdown", "err", err)
		code = 1
	}
	if metrics != nil {
		metrics.close()
	}
	if code == 0 {
		logger.Info("tpoold stopped")
	}
	return code
}

// loadConfig reads the file (or only the environment when path is empty).
func loadConfig(path string, getenv func(string) string) (driver.Config, []tomlconfig.Ignored, error) {
	if path == "" {
		c, err := tomlconfig.FromEnv(getenv)
		return c, nil, err
	}
	return tomlconfig.Load(path, getenv)
}

func checkConfig(path string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, ignored, err := tomlconfig.Load(path, getenv)
	for _, i := range ignored {
		fmt.Fprintf(stdout, "%s:%d: %s: ignored by tpoold (%s)\n", path, i.Line, i.Key, i.Why)
	}
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "%s: warning: %s: %s\n", path, w.Key, w.Problem)
	}
	fmt.Fprintf(stdout, "%s: valid (%d profiles, %d static streams, dynamic streams %s)\n",
		path, len(cfg.Profiles), len(cfg.Streams), onOff(cfg.Policies.AllowDynamicStreams))
	return 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// printConfigError prints one problem per line.
func printConfigError(w io.Writer, err error) {
	errs := tomlconfig.Errors(err)
	if len(errs) == 0 {
		fmt.Fprintf(w, "tpoold: %v\n", err)
		return
	}
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	fmt.Fprint(w, b.String())
}
