package clientit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/proctest"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

// peerQoS is the QoS interval of the peer roles: a consumer that goes
// away is forgotten after 5 of them.
const peerQoS = 100 * time.Millisecond

func peerConfig(decline bool) client.Config {
	c := clientConfig(os.Getenv(aeronEnv), os.Getenv(baseEnv))
	c.QoSInterval = peerQoS
	c.DeclinePerConsumerStreams = decline
	return c
}

// runPeerProducer is runProducer with per-consumer streams: arguments
// "FRAMES PERIOD_US DECLINE" (DECLINE 1: decline every per-consumer
// stream). It reports "done frames=... elapsed_us=..." with its peer
// counters, then, on "peers", one line of them.
func runPeerProducer(ctx context.Context, cmds <-chan proctest.Command) error {
	var frames, periodUs, decline int
	if _, err := fmt.Sscan(os.Getenv(argEnv), &frames, &periodUs, &decline); err != nil {
		return fmt.Errorf("arguments %q: %w", os.Getenv(argEnv), err)
	}
	c, err := client.New(ctx, peerConfig(decline == 1), logger())
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		return err
	}
	h, err := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, frameBytes)
	if err != nil {
		return err
	}
	fmt.Println("attached")
	for cmd := range cmds {
		if cmd.Is("go") {
			break
		}
	}
	var errs int
	start := time.Now()
	next := start
	for range frames {
		next = next.Add(time.Duration(periodUs) * time.Microsecond)
		time.Sleep(time.Until(next))
		claim, err := p.TryClaim(&h)
		if err == nil {
			fillPattern(claim.Payload, claim.Seq)
			err = p.Commit(&claim)
		}
		if err != nil {
			errs++
		}
	}
	peers := func() string {
		ps := p.PeerStats()
		return fmt.Sprintf("consumers=%d descstreams=%d ctlstreams=%d granted=%d declined=%d forgotten=%d paced=%d persent=%d",
			ps.Consumers, ps.DescriptorStreams, ps.ControlStreams, ps.Granted, ps.Declined, ps.Forgotten, ps.Paced, ps.DescriptorsSent)
	}
	fmt.Printf("done frames=%d errors=%d elapsed_us=%d %s\n", p.Stats().Frames, errs, time.Since(start).Microseconds(), peers())
	for {
		select {
		case <-ctx.Done():
			return nil
		case cmd := <-cmds:
			if cmd.Is("peers") {
				fmt.Println("peers", peers())
			}
		}
	}
}

// runPeerConsumer is runConsumer in a mode: arguments "MODE RATE_HZ"
// (MODE 1 STREAM, 2 RATE_LIMITED). On "stats" it reports its counters
// with its per-consumer state.
func runPeerConsumer(ctx context.Context, cmds <-chan proctest.Command) error {
	var mode, rate uint32
	if _, err := fmt.Sscan(os.Getenv(argEnv), &mode, &rate); err != nil {
		return fmt.Errorf("arguments %q: %w", os.Getenv(argEnv), err)
	}
	c, err := client.New(ctx, peerConfig(false), logger())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream, Mode: client.ConsumerMode(mode), MaxRateHz: rate})
	if err != nil {
		return err
	}
	fmt.Println("attached")
	var good, corrupt uint64
	handler := func(f client.FrameView) {
		ok := intact(f.Payload(), f.Seq())
		if !f.Verify() {
			return
		}
		if ok {
			good++
		} else {
			corrupt++
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
				st, ps := s.Stats(), s.PeerStatus()
				fmt.Printf("stats accepted=%d good=%d corrupt=%d descriptors=%d dropped=%d gap=%d ratelimited=%d paced=%d state=%s descstream=%d ctlstream=%d\n",
					st.Accepted, good, corrupt, st.Descriptors, st.Dropped(), st.Gap, st.RateLimited, st.Paced, ps.State,
					ps.DescriptorStreamID, ps.ControlStreamID)
			}
		default:
		}
		if s.Poll(handler) == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// Three processes next to tpoold: a producer, a STREAM consumer and a
// RATE_LIMITED one at 10 Hz. The STREAM consumer gets every frame; the
// RATE_LIMITED one about 10 per second: paced by the producer on its own
// stream when granted, dropped locally (RateLimited) when declined. A
// consumer that is SIGKILLed is forgotten and its streams freed.
func TestRateLimitedAcrossProcesses(t *testing.T) {
	const frames, periodUs, hz = 600, 5000, 10
	for _, tc := range []struct {
		name    string
		decline int
	}{{"granted", 0}, {"declined", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			full := e.spawn("peerconsumer", "1 0")
			slow := e.spawn("peerconsumer", fmt.Sprint(2, hz))
			full.MustAwait(t, "attached")
			slow.MustAwait(t, "attached")
			prod := e.spawn("peerproducer", fmt.Sprint(frames, periodUs, tc.decline))
			prod.MustAwait(t, "attached")
			time.Sleep(3 * peerQoS) // the consumers' hellos get their answer before the frames flow
			if err := prod.Send("go"); err != nil {
				t.Fatal(err)
			}
			done := prod.MustAwait(t, "done")
			stats := func(c *proctest.Child) string {
				if err := c.Send("stats"); err != nil {
					t.Fatal(err)
				}
				return c.MustAwait(t, "stats")
			}
			fs, ss := stats(full), stats(slow)
			t.Logf("producer: %s\nSTREAM: %s\nRATE_LIMITED: %s", done, fs, ss)
			if n := proctest.Uint(t, done, "frames"); n != frames {
				t.Fatalf("producer committed %d frames, want %d", n, frames)
			}
			for _, st := range []string{fs, ss} {
				if n := proctest.Uint(t, st, "corrupt"); n != 0 {
					t.Errorf("%d corrupt frames: %s", n, st)
				}
			}
			if n := proctest.Uint(t, fs, "good"); n != frames {
				t.Errorf("the STREAM consumer got %d of %d frames", n, frames)
			}
			// A generous band on the count: at least half of 10 Hz over the
			// nominal 3 s, at most 1.5 times 10 Hz over the time the
			// producer took.
			elapsed := time.Duration(proctest.Uint(t, done, "elapsed_us")) * time.Microsecond
			lo, hi := uint64(0.5*hz*frames*periodUs/1e6), uint64(1.5*hz*elapsed.Seconds())+3
			got := proctest.Uint(t, ss, "good")
			if got < lo || got > hi {
				t.Errorf("RATE_LIMITED consumer at %d Hz got %d frames in %v, want %d..%d", hz, got, elapsed, lo, hi)
			}
			state, _ := proctest.Field(ss, "state")
			limited, paced := proctest.Uint(t, ss, "ratelimited"), proctest.Uint(t, ss, "paced")
			if tc.decline == 1 {
				if state != "declined" || limited == 0 || paced != 0 || proctest.Uint(t, ss, "descstream") != 0 {
					t.Errorf("declined: want local rate limiting on the shared stream: %s", ss)
				}
				if proctest.Uint(t, done, "declined") == 0 || proctest.Uint(t, done, "descstreams") != 0 {
					t.Errorf("the producer did not decline: %s", done)
				}
				return
			}
			if state != "granted" || paced == 0 || proctest.Uint(t, ss, "descstream") == 0 || proctest.Uint(t, ss, "gap") != 0 {
				t.Errorf("granted: want pacing by the producer on a per-consumer stream: %s", ss)
			}
			if proctest.Uint(t, done, "descstreams") != 1 || proctest.Uint(t, done, "consumers") != 2 {
				t.Errorf("producer: %s", done)
			}

			// The RATE_LIMITED consumer dies: no more hellos or QoS from it,
			// so the producer forgets it and frees its streams.
			slow.Kill()
			deadline := time.Now().Add(proctest.Timeout)
			for {
				if err := prod.Send("peers"); err != nil {
					t.Fatal(err)
				}
				p := prod.MustAwait(t, "peers")
				if proctest.Uint(t, p, "forgotten") == 1 {
					if proctest.Uint(t, p, "consumers") != 1 || proctest.Uint(t, p, "descstreams") != 0 || proctest.Uint(t, p, "ctlstreams") != 0 {
						t.Errorf("after forgetting the dead consumer: %s", p)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the dead consumer was never forgotten: %s", p)
				}
				time.Sleep(peerQoS)
			}
		})
	}
}
