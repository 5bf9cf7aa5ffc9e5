package cpeer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Channel is the channel of every tensor_pool_c stream. Aeron refuses a
// second publication on a channel and stream with another term-length, so a
// peer sharing streams with the C programs must use this exact string.
const Channel = "aeron:ipc?term-length=4m"

// Stream ids of the control plane, as tp_driver and the C examples use them
// by default.
const (
	ControlStreamID    int32 = 1000 // attach, detach, keepalive, hello
	AnnounceStreamID   int32 = 1001 // ShmPoolAnnounce
	DescriptorStreamID int32 = 1100 // FrameDescriptor
	QoSStreamID        int32 = 1200
	MetadataStreamID   int32 = 1300
)

// Config describes the tp_driver that StartTPDriver runs: one static
// stream with one payload pool. The zero value of each field but AeronDir
// means its documented default.
type Config struct {
	AeronDir    string // Aeron directory of a running media driver; required
	StreamID    uint32 // the pool stream; default 10000
	HeaderSlots uint32 // slots of the header ring, a power of two; default 64
	StrideBytes uint32 // payload pool 1 slot size; default 65536
	Namespace   string // SHM namespace; default "default"
	// ShmDir is the SHM base directory (also the only allowed base
	// directory). Default: a fresh directory under /dev/shm (mode 0700),
	// removed with everything in it by the test's cleanup.
	ShmDir string
}

// withDefaults returns c with zero fields set to their defaults (ShmDir
// excepted).
func (c Config) withDefaults() Config {
	if c.StreamID == 0 {
		c.StreamID = 10000
	}
	if c.HeaderSlots == 0 {
		c.HeaderSlots = 64
	}
	if c.StrideBytes == 0 {
		c.StrideBytes = 65536
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	return c
}

// Validate reports a Config that StartTPDriver cannot use.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.AeronDir == "":
		return errors.New("cpeer: Config.AeronDir is empty")
	case c.ShmDir == "":
		return errors.New("cpeer: Config.ShmDir is empty")
	case c.HeaderSlots&(c.HeaderSlots-1) != 0:
		return fmt.Errorf("cpeer: Config.HeaderSlots %d is not a power of two", c.HeaderSlots)
	case strings.ContainsAny(c.AeronDir+c.ShmDir+c.Namespace, "\"\\\n"):
		return errors.New("cpeer: a Config path or name holds a quote, backslash or newline")
	}
	return nil
}

// TOML returns tp_driver's configuration file for c (defaults applied),
// modelled on tensor_pool_c's docs/examples/driver_camera_example.toml with
// small pools, no prefaulting, and the announce stream on 1001.
func (c Config) TOML() string {
	c = c.withDefaults()
	ch := strconv.Quote(Channel)
	return fmt.Sprintf(`[driver]
instance_id = "cpeer-driver"
aeron_dir = %q
control_channel = %s
control_stream_id = %d
announce_channel = %s
announce_stream_id = %d
qos_channel = %s
qos_stream_id = %d
stream_id_range = "20000-29999"
descriptor_stream_id_range = "31000-31999"
control_stream_id_range = "32000-32999"

[shm]
base_dir = %q
namespace = %q
require_hugepages = false
page_size_bytes = 4096
permissions_mode = "660"
allowed_base_dirs = [%q]

[policies]
allow_dynamic_streams = false
announce_period_ms = 1000
lease_keepalive_interval_ms = 1000
lease_expiry_grace_intervals = 3
prefault_shm = false
mlock_shm = false
epoch_gc_enabled = true
epoch_gc_keep = 2
epoch_gc_min_age_ns = 3000000000
shutdown_timeout_ms = 2000

[profiles.default]
header_nslots = %d

[[profiles.default.payload_pools]]
pool_id = 1
stride_bytes = %d

[streams.cpeer]
stream_id = %d
profile = "default"
`, c.AeronDir, ch, ControlStreamID, ch, AnnounceStreamID, ch, QoSStreamID,
		c.ShmDir, c.Namespace, c.ShmDir, c.HeaderSlots, c.StrideBytes, c.StreamID)
}

// A Driver is a running tp_driver.
type Driver struct {
	Config     Config // as run, defaults and ShmDir filled in
	ConfigPath string // its configuration file (mode 0600)
	Process    *Process
}

// StartTPDriver writes cfg's configuration into a temporary directory,
// starts tp_driver on it and waits until it listens on the control stream.
// The cleanup stops it (SIGINT; it must exit 0) and then removes the SHM
// base directory if StartTPDriver made it.
func StartTPDriver(t testing.TB, cfg Config) *Driver {
	t.Helper()
	exe := TPCBin(t, "tp_driver")
	cfg = cfg.withDefaults()
	if cfg.ShmDir == "" {
		cfg.ShmDir = ShmDir(t)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tp_driver.toml")
	if err := os.WriteFile(path, []byte(cfg.TOML()), 0o600); err != nil {
		t.Fatalf("write tp_driver config: %v", err)
	}
	p := Start(t, "tp_driver", nil, exe, "-c", path)
	t.Cleanup(func() {
		if code := p.Stop(); code != 0 {
			t.Errorf("tp_driver exited with status %d after SIGINT, want 0", code)
		}
	})
	WaitSubscribed(t, cfg.AeronDir, Channel, ControlStreamID)
	return &Driver{Config: cfg, ConfigPath: path, Process: p}
}

// ShmDir makes a fresh directory for pool files under /dev/shm (mode 0700,
// no world bits, as the C clients require) and removes it with everything
// in it in the test's cleanup. Without /dev/shm it uses t.TempDir.
func ShmDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "tpool-cpeer-")
	if err != nil {
		t.Logf("no directory under /dev/shm (%v); using t.TempDir", err)
		return t.TempDir()
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %v", err)
		}
	})
	return dir
}

// A Client names what a C example producer or consumer attaches to.
type Client struct {
	AeronDir string
	StreamID uint32
	ClientID uint32 // nonzero and distinct for every client of one driver
	Count    int    // frames to publish, or to receive before exiting
	Env      []string
}

// args returns the examples' positional arguments and environment: long
// attach and connection waits (Timeout) so a loaded machine fails nothing,
// and the announce stream the driver uses.
func (c Client) args(t testing.TB, exe string) ([]string, []string) {
	t.Helper()
	if c.AeronDir == "" || c.StreamID == 0 || c.ClientID == 0 || c.Count <= 0 {
		t.Fatalf("cpeer: incomplete Client %+v: AeronDir, StreamID, ClientID and Count are required", c)
	}
	ms := strconv.FormatInt(Timeout.Milliseconds(), 10)
	env := append([]string{
		"TP_EXAMPLE_ATTACH_TIMEOUT_MS=" + ms,
		"TP_EXAMPLE_WAIT_CONNECTED_MS=" + ms,
		"TP_EXAMPLE_MAX_WAIT_MS=" + ms,
		"TP_EXAMPLE_ANNOUNCE_STREAM_ID=" + strconv.Itoa(int(AnnounceStreamID)),
	}, c.Env...)
	argv := []string{exe, c.AeronDir, Channel, strconv.FormatUint(uint64(c.StreamID), 10),
		strconv.FormatUint(uint64(c.ClientID), 10), strconv.Itoa(c.Count)}
	return argv, env
}

// A Frame is one frame line of a C example: the consumer's
// "Frame seq=N pool_id=P payload=B" or the producer's
// "Published frame pool_id=P seq=N" (Payload 0).
type Frame struct {
	Seq     uint64
	PoolID  uint32
	Payload uint32 // payload bytes
}

// ParseConsumed parses the consumer's line for an accepted frame.
func ParseConsumed(line string) (Frame, bool) {
	var f Frame
	n, err := fmt.Sscanf(line, "Frame seq=%d pool_id=%d payload=%d", &f.Seq, &f.PoolID, &f.Payload)
	return f, err == nil && n == 3 && line == fmt.Sprintf("Frame seq=%d pool_id=%d payload=%d", f.Seq, f.PoolID, f.Payload)
}

// ParsePublished parses the producer's line for a published frame.
func ParsePublished(line string) (Frame, bool) {
	var f Frame
	n, err := fmt.Sscanf(line, "Published frame pool_id=%d seq=%d", &f.PoolID, &f.Seq)
	return f, err == nil && n == 2 && line == fmt.Sprintf("Published frame pool_id=%d seq=%d", f.PoolID, f.Seq)
}

func frames(lines []string, parse func(string) (Frame, bool)) []Frame {
	var fs []Frame
	for _, l := range lines {
		if f, ok := parse(l); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// A Consumer is a running tp_example_consumer_driver.
type Consumer struct {
	Process *Process
	want    int
}

// StartConsumer starts tp_example_consumer_driver and waits until it has
// attached and its control subscription is connected, so that a producer
// started afterwards finds it. A consumer killed by a signal before that
// (the C examples sometimes crash, see CrashedAfter) is logged and started
// again, at most three times in all, each time with another client id
// (ClientID + 1000 x retry): the driver keeps a dead consumer's lease, and
// refuses its client id, until the lease expires.
func StartConsumer(t testing.TB, c Client) *Consumer {
	t.Helper()
	const tries = 3
	for try := 1; ; try++ {
		cc := c
		cc.ClientID += uint32(1000 * (try - 1))
		argv, env := cc.args(t, TPCBin(t, "tp_example_consumer_driver"))
		p := Start(t, "consumer", env, argv...)
		if _, ok := p.await(func(l string) bool { return l == "Control subscription connected" }); ok {
			return &Consumer{Process: p, want: c.Count}
		}
		if try == tries || p.Signaled() == "" {
			t.Fatalf("consumer ended (%s) before printing %q (try %d of %d)", p.Status(), "Control subscription connected", try, tries)
		}
		t.Logf("consumer died (%s) before it attached; starting it again (output: %q)", p.Status(), p.Lines())
	}
}

// Frames waits for the consumer to exit and returns the frames it
// accepted, in order. It fails the test unless the consumer exited 0 (it
// does once it has received Count frames) or CrashedAfter excuses it.
func (c *Consumer) Frames(t testing.TB) []Frame {
	t.Helper()
	code := c.Process.Wait(t)
	fs := frames(c.Process.Lines(), ParseConsumed)
	if code != 0 && !CrashedAfter(t, c.Process, len(fs), c.want) {
		t.Fatalf("consumer exited with status %d (%s)", code, c.Process.Status())
	}
	return fs
}

// CheckFrames fails the test (without stopping it) unless the producer
// published and the consumer accepted frames 0 to n-1, in order, each in
// pool 1 with 16 payload bytes (the example producer's 2x2 float32
// tensors).
func CheckFrames(t testing.TB, published, consumed []Frame, n int) {
	t.Helper()
	var want []uint64
	for i := range uint64(n) {
		want = append(want, i)
	}
	seqs := func(fs []Frame) []uint64 {
		var s []uint64
		for _, f := range fs {
			s = append(s, f.Seq)
		}
		return s
	}
	if s := seqs(published); !slices.Equal(s, want) {
		t.Errorf("producer published sequences %v, want %v", s, want)
	}
	if s := seqs(consumed); !slices.Equal(s, want) {
		t.Errorf("consumer accepted sequences %v, want %v", s, want)
	}
	for _, f := range consumed {
		if f.PoolID != 1 || f.Payload != 16 {
			t.Errorf("frame %d: pool %d, %d payload bytes; want pool 1, 16 bytes", f.Seq, f.PoolID, f.Payload)
		}
	}
}

// RunProducer runs tp_example_producer_driver to completion and returns the
// frames it published, in order. It fails the test unless the producer
// exited 0 or CrashedAfter excuses it.
func RunProducer(t testing.TB, c Client) []Frame {
	t.Helper()
	argv, env := c.args(t, TPCBin(t, "tp_example_producer_driver"))
	p := Start(t, "producer", env, argv...)
	code := p.Wait(t)
	fs := frames(p.Lines(), ParsePublished)
	if code != 0 && !CrashedAfter(t, p, len(fs), c.Count) {
		t.Fatalf("producer exited with status %d (%s)", code, p.Status())
	}
	return fs
}

// CrashedAfter reports whether a C example that has finished its work
// (done of want frames) then died of SIGABRT or SIGSEGV, and logs it if so.
// The tensor_pool_c examples (commit 4142559) sometimes corrupt their heap:
// their client conductor runs on its agent thread and, during start-up, on
// the main thread too, and the two can complete and free the same pending
// Aeron subscription (AddressSanitizer: heap use after free in
// aeron_async_add_subscription_poll). glibc then aborts with "double free
// or corruption (!prev)" when a thread exits, or the process segfaults.
// Such a crash after all frames were handled says nothing about the peer
// under test; any other failure does.
func CrashedAfter(t testing.TB, p *Process, done, want int) bool {
	t.Helper()
	sig := p.Signaled()
	if done < want || (sig != "aborted" && sig != "segmentation fault") {
		return false
	}
	t.Logf("%s finished its %d frames, then died (%s): the known heap corruption of the C examples (a race in tensor_pool_c's client, see CrashedAfter)", p.Name, done, p.Status())
	return true
}
