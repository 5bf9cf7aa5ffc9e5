package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

const produceHelp = `tp produce attaches to a stream through tpoold as its producer and writes
test-pattern frames: the payload, read as 64-bit little-endian words, holds
a marker, the frame's sequence number and words derived from it, so tp
consume can check every byte. While tpoold has revoked the lease (or is
gone) frames are not lost: tp produce waits and writes them once it has
reattached. It prints one summary line at the end.

With -no-driver there is no tpoold: tp produce creates the stream's regions
itself under -base-dir (a header ring of -nslots slots and one payload pool
whose slots fit the frame), announces them on -announce-stream every
-announce-period, and removes them when it ends (SIGINT and SIGTERM
included). Its epoch is above that of any earlier producer of the stream.

Usage:
  tp produce -stream ID -frames N -shape 480x640 -dtype uint16 [-rate HZ] [flags]

Flags:
`

func produce(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	var cf common
	cf.register(fs)
	stream := fs.Uint("stream", 10000, "stream `ID` to produce (tpoold must serve it)")
	frames := fs.Uint64("frames", 1000, "number of frames to write (0: until interrupted)")
	shape := fs.String("shape", "480x640", "tensor `DIMS`, row major, separated by x")
	dtype := fs.String("dtype", "uint16", "element `TYPE`: "+dtypeNames())
	rate := fs.Float64("rate", 0, "frames per second (0: as fast as possible)")
	attach := fs.Duration("attach-timeout", time.Minute, "how long to wait for tpoold to grant the lease (a rejection is retried until then: a killed producer's lease lasts until it expires)")
	linger := fs.Duration("linger", time.Second, "how long to stay attached after the last frame, so consumers read it")
	nslots := fs.Uint("nslots", client.DefaultLayoutSlots, "with -no-driver: header ring `SLOTS` (a power of two)")
	if code, ok := parse(fs, args, stdout, stderr, produceHelp); !ok {
		return code
	}
	log, err := cf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tp produce:", err)
		return 2
	}
	h, err := parseTensor(*shape, *dtype)
	if err != nil {
		fmt.Fprintln(stderr, "tp produce:", err)
		return 2
	}
	if *stream == 0 || *stream > 1<<32-1 {
		fmt.Fprintln(stderr, "tp produce: -stream: want a stream id in 1..4294967295")
		return 2
	}
	pcfg := client.ProducerConfig{StreamID: uint32(*stream)}
	if cf.noDriver {
		if *nslots == 0 || *nslots&(*nslots-1) != 0 || *nslots > 1<<31 {
			fmt.Fprintln(stderr, "tp produce: -nslots: want a power of two")
			return 2
		}
		n, _ := h.Extent(1 << 31)
		pcfg.Layout = client.StreamLayout{NSlots: uint32(*nslots), Pools: []pool.PoolConfig{{ID: 1, StrideBytes: strideFor(n)}}}
	}
	c, err := client.New(ctx, cf.config(), log)
	if err != nil {
		fmt.Fprintln(stderr, "tp produce:", err)
		return 1
	}
	defer c.Close()
	p, err := attachProducer(ctx, c, pcfg, *attach, log)
	if err != nil {
		fmt.Fprintln(stderr, "tp produce:", err)
		return 1
	}
	log.Info("producing", "stream", *stream, "epoch", p.Epoch(), "shape", *shape, "dtype", h.Dtype)

	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) / *rate)
	}
	start := time.Now()
	var sent uint64
	var failure error
	for *frames == 0 || sent < *frames {
		if ctx.Err() != nil {
			break
		}
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(sent) * interval)); d > 0 {
				sleep(ctx, d)
			}
		}
		cl, err := p.TryClaim(&h)
		if err == nil {
			fillPattern(cl.Payload, cl.Seq)
			cl.Meta.TimestampNs = pool.MonotonicNow()
			err = p.Commit(&cl)
		}
		switch {
		case err == nil:
			sent++
		case errors.Is(err, client.ErrPaused) || errors.Is(err, client.ErrClaimLost):
			sleep(ctx, time.Millisecond) // reattaching: write this frame once we can
		default:
			failure = err
		}
		if failure != nil {
			break
		}
	}
	elapsed := since(start)
	if failure == nil && ctx.Err() == nil {
		sleep(ctx, *linger)
	}
	st := p.Stats()
	fmt.Fprintf(stdout, "tp produce: stream %d: sent %d frames in %.2fs (%.1f fps), epochs %d, paused %d, descriptors %d (no subscriber %d, dropped %d)\n",
		*stream, sent, elapsed, float64(sent)/elapsed, st.Remaps, st.Paused, st.DescriptorsSent, st.NoSubscriber, st.DescriptorsDropped)
	if err := p.Close(); err != nil {
		log.Warn("detach", "err", err)
	}
	if failure != nil {
		fmt.Fprintln(stderr, "tp produce:", failure)
		return 1
	}
	if *frames != 0 && sent < *frames {
		return 1 // interrupted
	}
	return 0
}

// attachProducer attaches, retrying a rejection (another producer still
// holds the stream, e.g. the lease of a producer that was killed has not
// expired yet) until timeout.
func attachProducer(ctx context.Context, c *client.Client, cfg client.ProducerConfig, timeout time.Duration, log *slog.Logger) (*client.Producer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		p, err := c.NewProducer(ctx, cfg)
		var re *driverclient.ResponseError
		if err == nil || !errors.As(err, &re) || re.Code != gdriver.ResponseCodeRejected || ctx.Err() != nil {
			return p, err
		}
		log.Warn("attach rejected; retrying", "err", err)
		sleep(ctx, 250*time.Millisecond)
		if ctx.Err() != nil {
			return nil, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

var dtypes = []pool.Dtype{pool.Uint8, pool.Int8, pool.Uint16, pool.Int16, pool.Uint32, pool.Int32,
	pool.Uint64, pool.Int64, pool.Float32, pool.Float64, pool.Boolean, pool.Bytes}

func dtypeNames() string {
	var s []string
	for _, d := range dtypes {
		s = append(s, strings.ToLower(d.String()))
	}
	return strings.Join(s, ", ")
}

// parseTensor parses -shape and -dtype into a dense row-major header.
func parseTensor(shape, dtype string) (pool.TensorHeader, error) {
	var dt pool.Dtype
	for _, d := range dtypes {
		if strings.EqualFold(d.String(), dtype) {
			dt = d
		}
	}
	if dt == pool.DtypeUnknown {
		return pool.TensorHeader{}, fmt.Errorf("-dtype %q: want one of %s", dtype, dtypeNames())
	}
	parts := strings.Split(shape, "x")
	if len(parts) > pool.MaxDims {
		return pool.TensorHeader{}, fmt.Errorf("-shape %q: at most %d dimensions", shape, pool.MaxDims)
	}
	dims := make([]int32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n <= 0 {
			return pool.TensorHeader{}, fmt.Errorf("-shape %q: dimension %q is not a positive integer", shape, p)
		}
		dims[i] = int32(n)
	}
	h, err := pool.NewTensorHeader(dt, pool.RowMajor, dims...)
	if err != nil {
		return pool.TensorHeader{}, fmt.Errorf("-shape %q -dtype %s: %w", shape, dtype, err)
	}
	return h, nil
}

// strideFor returns the smallest payload slot that holds n bytes: a power
// of two, at least 64.
func strideFor(n int64) uint32 {
	s := uint32(64)
	for int64(s) < n && s < 1<<31 {
		s <<= 1
	}
	return s
}
