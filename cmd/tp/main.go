// Command tp is tpool's operator tool for tensor streams, in driver mode
// (through tpoold) or, with -no-driver, without it (the producer creates
// the regions and announces them on Aeron itself).
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
//
// With -no-driver, tp produce creates the stream's regions under -base-dir
// and publishes ShmPoolAnnounce on -announce-stream (1001) every
// -announce-period; tp consume maps what the announces name (inside
// -allow-dir). Both still need an Aeron media driver (tpool-aeronmd, or
// -embedded-media-driver in one of them).
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
does not matter: tp waits for it), or, with -no-driver, without it: the
producer creates the regions and announces them on Aeron, consumers map
what is announced. An Aeron media driver is needed either way (tpoold
embeds one; without tpoold run tpool-aeronmd, or give one tp
-embedded-media-driver).

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
	embeddedMD     bool
	// No-driver mode.
	noDriver       bool
	announcePeriod time.Duration
	freshness      time.Duration
	baseDir        string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.aeronDir, "aeron-dir", "", "Aeron media driver `DIR` (default $AERON_DIR, else /dev/shm/aeron-<user>)")
	fs.StringVar(&c.controlChannel, "control-channel", client.DefaultChannel, "tpoold's control `CHANNEL` (driver.control_channel)")
	fs.IntVar(&c.controlStream, "control-stream", client.DefaultControlStreamID, "tpoold's control stream `ID` (driver.control_stream_id)")
	fs.IntVar(&c.announceStream, "announce-stream", 0, "the stream `ID` pools are announced on (default: tpoold's control stream, as driver.announce_stream_id defaults; with -no-driver 1001)")
	fs.StringVar(&c.descChannel, "descriptor-channel", client.DefaultChannel, "FrameDescriptor `CHANNEL`")
	fs.IntVar(&c.descStream, "descriptor-stream", client.DefaultDescriptorStreamID, "FrameDescriptor stream `ID`")
	fs.UintVar(&c.clientID, "client-id", 0, "client `ID` to attach with (0: a random id per lease); with -no-driver the producer_id announced (0: random)")
	fs.StringVar(&c.allowDirs, "allow-dir", pool.DefaultBaseDir, "comma-separated base `DIRS` that region files may be in (tpoold's shm.base_dir)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log `LEVEL`: debug, info, warn or error")
	fs.BoolVar(&c.embeddedMD, "embedded-media-driver", false, "start tpool's embedded Aeron media driver in this process at -aeron-dir (none may be running there); other processes can use it while this one runs")
	fs.BoolVar(&c.noDriver, "no-driver", false, "run without tpoold: produce creates the regions under -base-dir and announces them on -announce-stream; consume maps what is announced (inside -allow-dir)")
	fs.DurationVar(&c.announcePeriod, "announce-period", client.DefaultAnnouncePeriod, "with -no-driver: the producer's ShmPoolAnnounce `PERIOD`")
	fs.DurationVar(&c.freshness, "freshness", 0, "with -no-driver: how old an announce may be, and how long a producer may go unannounced before consumers drop it (`DURATION`; default 3 x -announce-period)")
	fs.StringVar(&c.baseDir, "base-dir", pool.DefaultBaseDir, "with -no-driver: the `DIR` produce creates regions under (need not exist)")
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", c.logLevel)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})), nil
}

func (c *common) config() client.Config {
	if c.noDriver {
		return client.Config{
			AeronDir:            c.aeronDir,
			EmbeddedMediaDriver: c.embeddedMD,
			DescriptorChannel:   c.descChannel,
			DescriptorStreamID:  int32(c.descStream),
			NoDriver:            true,
			NoDriverConfig: client.NoDriverConfig{
				AnnounceChannel:  c.controlChannel,
				AnnounceStreamID: int32(c.announceStream),
				AnnouncePeriod:   c.announcePeriod,
				Freshness:        c.freshness,
				BaseDir:          c.baseDir,
				AllowedBaseDirs:  strings.Split(c.allowDirs, ","),
				ProducerID:       uint32(c.clientID),
			},
		}
	}
	return client.Config{
		AeronDir:            c.aeronDir,
		EmbeddedMediaDriver: c.embeddedMD,
		DescriptorChannel:   c.descChannel,
		DescriptorStreamID:  int32(c.descStream),
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
