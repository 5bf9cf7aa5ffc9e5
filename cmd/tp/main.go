// Command tp is tpool's operator tool for tensor streams in driver mode.
//
// Usage:
//
//	tp produce -stream ID -frames N -shape 480x640 -dtype uint16 [-rate HZ] [common flags]
//	tp consume -stream ID [-frames N] [-timeout D] [-json] [common flags]
//
// tp produce attaches to a stream through tpoold and writes test-pattern
// frames whose content is derived from their sequence number. tp consume
// attaches to a stream, validates every frame, checks the test pattern of
// tp produce where it finds one, and ends with one summary line (a JSON
// object with -json). Both exit 0 only when every frame they received was
// intact. `tp <command> -h` lists the flags.
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

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

const usage = `tp is tpool's operator tool for tensor streams: it produces and consumes
frames through the SHM driver (tpoold), which must be running (start order
does not matter: tp waits for it).

Usage:
  tp produce -stream ID -frames N -shape 480x640 -dtype uint16 [-rate HZ]
      write N test-pattern frames (content derived from the sequence number)
  tp consume -stream ID [-frames N] [-timeout D] [-json]
      read frames, check them, print one summary line

Exit status: 0 when every frame received was intact (and, for produce, every
frame was written); 1 otherwise; 2 for bad usage.
Run "tp produce -h" or "tp consume -h" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "produce":
		return produce(ctx, args[1:], stdout, stderr)
	case "consume":
		return consume(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tp: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// common holds the flags of every subcommand.
type common struct {
	aeronDir       string
	controlChannel string
	controlStream  int
	announceStream int
	descChannel    string
	descStream     int
	clientID       uint
	allowDirs      string
	logLevel       string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.aeronDir, "aeron-dir", "", "Aeron media driver `DIR` (default $AERON_DIR, else /dev/shm/aeron-<user>)")
	fs.StringVar(&c.controlChannel, "control-channel", client.DefaultChannel, "tpoold's control `CHANNEL` (driver.control_channel)")
	fs.IntVar(&c.controlStream, "control-stream", client.DefaultControlStreamID, "tpoold's control stream `ID` (driver.control_stream_id)")
	fs.IntVar(&c.announceStream, "announce-stream", 0, "the stream `ID` tpoold announces pools on (driver.announce_stream_id; default the control stream)")
	fs.StringVar(&c.descChannel, "descriptor-channel", client.DefaultChannel, "FrameDescriptor `CHANNEL`")
	fs.IntVar(&c.descStream, "descriptor-stream", client.DefaultDescriptorStreamID, "FrameDescriptor stream `ID`")
	fs.UintVar(&c.clientID, "client-id", 0, "client `ID` to attach with (0: a random id per lease)")
	fs.StringVar(&c.allowDirs, "allow-dir", pool.DefaultBaseDir, "comma-separated base `DIRS` that region files may be in (tpoold's shm.base_dir)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log `LEVEL`: debug, info, warn or error")
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", c.logLevel)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})), nil
}

func (c *common) config() client.Config {
	return client.Config{
		AeronDir:           c.aeronDir,
		DescriptorChannel:  c.descChannel,
		DescriptorStreamID: int32(c.descStream),
		Driver: driverclient.Config{
			ClientID:         uint32(c.clientID),
			ControlChannel:   c.controlChannel,
			ControlStreamID:  int32(c.controlStream),
			AnnounceChannel:  c.controlChannel,
			AnnounceStreamID: int32(c.announceStream),
			AllowedBaseDirs:  strings.Split(c.allowDirs, ","),
		},
	}
}

// parse parses a subcommand's flags; ok false means exit with code.
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, help string) (code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // the flag package reports the error; help goes to stdout below
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, help)
			fs.PrintDefaults()
			return 0, false
		}
		fmt.Fprintf(stderr, "run \"tp %s -h\" for the flags\n", fs.Name())
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tp %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return 2, false
	}
	return 0, true
}

// since returns seconds since start, at least a nanosecond.
func since(start time.Time) float64 { return max(time.Since(start).Seconds(), 1e-9) }
