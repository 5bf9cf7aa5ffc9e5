package nodriverit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/internal/proctest"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// The children's environment.
const (
	aeronEnv = "TPOOL_NDIT_AERON"
	baseEnv  = "TPOOL_NDIT_BASE"
	evilEnv  = "TPOOL_NDIT_EVIL" // the announcer's directory outside the allowed one
)

const (
	testStream = 10000
	frameBytes = 4096
	// A short announce period keeps the tests quick; the freshness window
	// is long so that a loaded machine never makes a live producer look
	// gone (the tests do not depend on the gone detection).
	announcePeriod = 100 * time.Millisecond
	freshness      = 2 * time.Second
)

func TestMain(m *testing.M) {
	proctest.RunRole(map[string]proctest.Role{"mediadriver": runMediaDriver, "producer": runProducer,
		"consumer": runConsumer, "announcer": runAnnouncer})
	os.Exit(m.Run())
}

type env struct {
	t        *testing.T
	aeronDir string
	base     string // does not exist until the first producer makes it
}

func newEnv(t *testing.T) *env {
	t.Helper()
	shm, err := os.MkdirTemp("/dev/shm", "tpool-ndit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	e := &env{t: t, aeronDir: filepath.Join(shm, "aeron"), base: filepath.Join(shm, "tensorpool")}
	md := proctest.TB(t, "mediadriver", aeronEnv+"="+e.aeronDir)
	md.MustAwait(t, "ready")
	return e
}

func (e *env) spawn(role string, extra ...string) *proctest.Child {
	e.t.Helper()
	return proctest.TB(e.t, role, append([]string{aeronEnv + "=" + e.aeronDir, baseEnv + "=" + e.base}, extra...)...)
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func clientConfig() client.Config {
	return client.Config{AeronDir: os.Getenv(aeronEnv), NoDriver: true, NoDriverConfig: client.NoDriverConfig{
		AnnouncePeriod: announcePeriod, Freshness: freshness, BaseDir: os.Getenv(baseEnv)}}
}

func runMediaDriver(ctx context.Context, _ <-chan proctest.Command) error {
	d, err := mediadriver.Start(mediadriver.Config{Dir: os.Getenv(aeronEnv), ClientLivenessTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return d.Close()
}

// The test pattern: byte i of frame seq of epoch e.
func patternByte(epoch, seq uint64, i int) byte { return byte(epoch*13 + seq*31 + uint64(i)) }

func intact(b []byte, epoch, seq uint64) bool {
	if len(b) != frameBytes {
		return false
	}
	for i, x := range b {
		if x != patternByte(epoch, seq, i) {
			return false
		}
	}
	return true
}

// runProducer creates the stream, reports "producing epoch=E dir=D" and
// writes a frame every millisecond until killed or stopped.
func runProducer(ctx context.Context, _ <-chan proctest.Command) error {
	c, err := client.New(ctx, clientConfig(), logger())
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream, Layout: client.StreamLayout{
		NSlots: 1024, Pools: []pool.PoolConfig{{ID: 1, StrideBytes: frameBytes}}}})
	if err != nil {
		return err
	}
	fmt.Printf("producing epoch=%d dir=%s\n", p.Epoch(), p.Dir())
	h, err := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, frameBytes)
	if err != nil {
		return err
	}
	epoch := p.Epoch()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.Close()
		case <-t.C:
		}
		cl, err := p.TryClaim(&h)
		if err != nil {
			return err
		}
		for i := range cl.Payload {
			cl.Payload[i] = patternByte(epoch, cl.Seq, i)
		}
		if err := p.Commit(&cl); err != nil {
			return err
		}
	}
}

// runConsumer polls, checking the pattern of every frame; it reports
// "got N" every 100 intact frames and, on "stats", its counters.
func runConsumer(ctx context.Context, cmds <-chan proctest.Command) error {
	c, err := client.New(ctx, clientConfig(), logger())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		return err
	}
	fmt.Println("subscribed")
	var good, corrupt uint64
	handler := func(f client.FrameView) {
		ok := intact(f.Payload(), f.Epoch(), f.Seq())
		if !f.Verify() {
			return
		}
		if !ok {
			corrupt++
			fmt.Fprintf(os.Stderr, "corrupt frame seq %d epoch %d\n", f.Seq(), f.Epoch())
			return
		}
		good++
		if good%100 == 0 {
			fmt.Printf("got %d epoch=%d\n", good, f.Epoch())
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case cmd := <-cmds:
			if cmd.Is("stats") {
				for s.Poll(handler) > 0 {
				}
				st, ss := s.Stats(), s.Status()
				a := ss.Announces
				fmt.Printf("stats good=%d corrupt=%d accepted=%d remaps=%d epoch=%d state=%v rejected=%d malformed=%d other=%d stale=%d old=%d mapfailures=%d gone=%d\n",
					good, corrupt, st.Accepted, st.Remaps, ss.Epoch, ss.State, a.Rejected, a.Malformed, a.Other, a.Stale, a.Old, a.MapFailures, a.ProducerGone)
			}
		default:
		}
		if s.Poll(handler) == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// runAnnouncer is a hostile peer on the announce stream: it creates a
// valid stream outside the allowed directory and, until stopped, announces
// it (and other bad announces) with the newest epochs, mixed with garbage.
// It reports "sent N" every 100 messages.
func runAnnouncer(ctx context.Context, _ <-chan proctest.Command) error {
	evil, err := pool.CreateStream(pool.StreamConfig{BaseDir: os.Getenv(evilEnv), StreamID: testStream, NSlots: 64,
		Pools: []pool.PoolConfig{{ID: 1, StrideBytes: frameBytes}}})
	if err != nil {
		return err
	}
	defer evil.Remove()
	defer evil.Close()
	ea := evil.Announcement()
	ac, err := aeron.Connect(ctx, aeron.Config{Dir: os.Getenv(aeronEnv)})
	if err != nil {
		return err
	}
	defer ac.Close()
	pub, err := ac.AddPublication(ctx, client.DefaultChannel, client.DefaultAnnounceStreamID)
	if err != nil {
		return err
	}
	snd := control.NewSender(pub, 0)
	base := os.Getenv(baseEnv)
	msgs := []func(now uint64) *control.PoolAnnounce{
		func(now uint64) *control.PoolAnnounce { // a valid stream, outside the allowed directory
			return &control.PoolAnnounce{StreamID: testStream, ProducerID: 666, Epoch: now, TimestampNs: now,
				ClockDomain: wire.ClockDomainMonotonic, LayoutVersion: pool.LayoutVersion, HeaderNslots: 64, HeaderSlotBytes: 256,
				Pools: []control.Pool{{PoolID: 1, Nslots: 64, StrideBytes: frameBytes, RegionURI: ea.Pools[0].URI}}, HeaderURI: ea.HeaderURI}
		},
		func(now uint64) *control.PoolAnnounce { // escaping the allowed directory by ..
			return &control.PoolAnnounce{StreamID: testStream, ProducerID: 666, Epoch: now, TimestampNs: now,
				ClockDomain: wire.ClockDomainMonotonic, LayoutVersion: pool.LayoutVersion, HeaderNslots: 64, HeaderSlotBytes: 256,
				Pools:     []control.Pool{{PoolID: 1, Nslots: 64, StrideBytes: frameBytes, RegionURI: "shm:file?path=" + base + "/../../../proc/self/mem"}},
				HeaderURI: "shm:file?path=" + base + "/../../../etc/passwd"}
		},
	}
	garbage := [][]byte{[]byte("garbage"), make([]byte, 100), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}}
	sent := 0
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := uint64(driverclient.Now())
		var r int64
		if i%3 == 2 {
			r = pub.Offer(garbage[i%len(garbage)])
		} else {
			r = snd.SendPoolAnnounce(msgs[i%len(msgs)](now))
		}
		if r > 0 {
			sent++
			if sent%100 == 0 {
				fmt.Printf("sent %d\n", sent)
			}
		}
	}
}

// mapsOf returns the consumer's mappings of files under dir (from
// /proc/PID/maps).
func mapsOf(t *testing.T, pid int, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, dir) {
			out = append(out, l)
		}
	}
	return out
}
