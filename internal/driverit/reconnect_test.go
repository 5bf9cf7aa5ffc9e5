package driverit

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// Restarting tpoold with its embedded media driver (the default) while a
// producer and a consumer of runtime/client stream through it. The
// clients lose the media driver with tpoold; they fail closed (the
// producer pauses, the consumer's lease is not usable), reconnect to the
// restarted tpoold's media driver by themselves, reattach at a higher
// epoch and stream again. Every frame the consumer accepted holds the test
// pattern of its sequence number. After SIGKILL the new tpoold starts at
// once in the same Aeron directory, whose CnC heartbeat still looks fresh
// (the media driver's lock file proves its owner dead), and the clients
// notice that their CnC was replaced.
func TestTpooldRestartMidStream(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newEmbeddedEnv(t)
			drv := e.spawn("tpoold", "")
			drv.await("ready")
			cons := e.spawn("rclient", "consumer")
			prod := e.spawn("rclient", "producer")
			e1 := epochOf(t, prod.await("mapped"))
			if got := epochOf(t, cons.await("frames")); got != e1 {
				t.Fatalf("consumer reads epoch %d, producer writes %d", got, e1)
			}

			if err := drv.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			<-drv.done
			// After SIGKILL the new tpoold starts at once, beside the dead
			// one's fresh-looking CnC; after SIGTERM only once the clients
			// have noticed and wait for a media driver.
			restart := func() { e.spawn("tpoold", "").await("ready") }
			if sig == syscall.SIGKILL {
				restart()
			}
			prod.awaitAll("failclosed", "paused", "event MediaDriverLost")
			cons.awaitAll("failclosed", "event MediaDriverLost")
			if sig != syscall.SIGKILL {
				restart()
			}
			for _, c := range []*child{prod, cons} {
				c.await("event MediaDriverReconnected")
				if ep := epochOf(t, c.await("event Reattached")); ep <= e1 {
					t.Fatalf("reattached at epoch %d, not above %d", ep, e1)
				}
			}
			e2 := epochOf(t, prod.await("mapped"))
			// The consumer reads the new epoch's frames.
			for {
				l := cons.await("frames")
				if epochOf(t, l) == e2 {
					break
				}
			}
			_ = cons.stdin.Close()
			sum := cons.await("summary")
			if bad := field(t, sum, "bad"); bad != 0 || field(t, sum, "good") == 0 {
				t.Fatalf("consumer: %s", sum)
			}
			t.Logf("epochs %d -> %d; %s", e1, e2, sum)
		})
	}
}

// awaitAll waits for a line starting with each prefix, in any order.
func (c *child) awaitAll(prefixes ...string) {
	c.t.Helper()
	left := map[string]bool{}
	for _, p := range prefixes {
		left[p] = true
	}
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for len(left) > 0 {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("child ended before %v", left)
			}
			for p := range left {
				if strings.HasPrefix(l, p) {
					delete(left, p)
				}
			}
		case <-timer.C:
			c.t.Fatalf("no %v from the child", left)
		}
	}
}

// newEmbeddedEnv makes the directories of a test whose tpoold embeds its
// media driver (no media driver in the test process).
func newEmbeddedEnv(t *testing.T) *env {
	t.Helper()
	shmDir, err := os.MkdirTemp("/dev/shm", "driverit-embedded-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shmDir) })
	return &env{t: t, base: t.TempDir(), aeronDir: filepath.Join(shmDir, "aeron")}
}

// runTpoold runs tpoold's engine with its embedded media driver in
// aeronDir (through AERON_DIR, as tpoold's users set it) until SIGTERM,
// SIGINT or the end of ctx, then stops it cleanly.
func runTpoold(ctx context.Context, aeronDir, base string, log *slog.Logger) error {
	if err := os.Setenv("AERON_DIR", aeronDir); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := driver.Start(ctx, driverConfig("", base), log)
	if err != nil {
		return err
	}
	if d.MediaDriver() != driver.MediaDriverEmbedded {
		_ = d.Close()
		return fmt.Errorf("media driver %s, want embedded", d.MediaDriver())
	}
	fmt.Println("ready")
	<-ctx.Done()
	return d.Close()
}

// The test pattern of tp produce (cmd/tp/pattern.go): little-endian words
// magic, seq, then seq*mul + i.
const (
	patternMagic uint64 = 0x31305453_45545054
	patternMul   uint64 = 0x9E3779B97F4A7C15
)

func fillPattern(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b, patternMagic)
	binary.LittleEndian.PutUint64(b[8:], seq)
	for i := 2; 8*i+8 <= len(b); i++ {
		binary.LittleEndian.PutUint64(b[8*i:], seq*patternMul+uint64(i))
	}
}

func checkPattern(b []byte, seq uint64) bool {
	if len(b) < 16 || binary.LittleEndian.Uint64(b) != patternMagic || binary.LittleEndian.Uint64(b[8:]) != seq {
		return false
	}
	for i := 2; 8*i+8 <= len(b); i++ {
		if binary.LittleEndian.Uint64(b[8*i:]) != seq*patternMul+uint64(i) {
			return false
		}
	}
	return true
}

// runRClient runs a runtime/client producer or consumer (arg) of
// testStream until its stdin closes, reporting on stdout: every driver
// client event ("event KIND epoch=E"), "failclosed" when the lease stops
// being usable, and for the producer "mapped epoch=E" at each new epoch
// and "paused" when an offer is refused; for the consumer "frames
// epoch=E" at the first accepted frame of each epoch, and at the end
// "summary good=N bad=M" (bad: frames that validated but do not hold
// their pattern).
func runRClient(ctx context.Context, aeronDir, base, arg string, log *slog.Logger) error {
	cfg := client.Config{AeronDir: aeronDir, Driver: clientConfig(base)}
	cfg.Driver.OnEvent = func(e driverclient.Event) {
		var epoch uint64
		if e.Info != nil {
			epoch = e.Info.Epoch
		}
		fmt.Printf("event %v epoch=%d\n", e.Kind, epoch)
	}
	c, err := client.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 32, 32)
	if err != nil {
		return err
	}
	watch := func(l *driverclient.Lease) func() {
		usable := true
		return func() {
			if u := l.Usable(); u != usable {
				usable = u
				if !u {
					fmt.Println("failclosed")
				}
			}
		}
	}
	if arg == "producer" {
		p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
		if err != nil {
			return err
		}
		check := watch(p.Lease())
		var epoch uint64
		paused := false
		for ctx.Err() == nil {
			check()
			cl, err := p.TryClaim(&h)
			if err == nil {
				fillPattern(cl.Payload, cl.Seq)
				err = p.Commit(&cl)
			}
			switch {
			case err == nil:
				if e := p.Epoch(); e != epoch {
					epoch, paused = e, false
					fmt.Printf("mapped epoch=%d\n", e)
				}
			case !paused:
				paused = true
				fmt.Printf("paused err=%q\n", err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		return err
	}
	check := watch(s.Lease())
	var good, bad atomic.Uint64
	var epoch uint64
	handler := func(f client.FrameView) {
		ok := checkPattern(f.Payload(), f.Seq())
		if !f.Verify() {
			return // overwritten while read: counted as a drop, not accepted
		}
		if !ok {
			bad.Add(1)
			return
		}
		good.Add(1)
		if f.Epoch() != epoch {
			epoch = f.Epoch()
			fmt.Printf("frames epoch=%d seq=%d\n", epoch, f.Seq())
		}
	}
	for ctx.Err() == nil {
		check()
		if s.Poll(handler) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	st := s.Stats()
	fmt.Printf("summary good=%d bad=%d accepted=%d dropped=%d unmapped=%d remaps=%d\n",
		good.Load(), bad.Load(), st.Accepted, st.Dropped(), st.Unmapped, st.Remaps)
	return nil
}
