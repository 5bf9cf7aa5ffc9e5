package aeron_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/agent"
)

// TestStressPingPong runs many rounds of busy-spinning ping-pong between
// this process (with the embedded driver) and a re-executed pong process.
// It caught the timer stall described in docs/AERON.md ("Found and
// fixed"); run it with TPOOL_AERON_STRESS=1 after any change to the idle
// strategies, watch its progress and send SIGQUIT to the test binary if it
// stops printing rounds. TPOOL_AERON_STRESS_IDLE=yield runs the conductors
// with agent.Yielding instead of their default backoff.
func TestStressPingPong(t *testing.T) {
	if os.Getenv("TPOOL_AERON_STRESS") == "" {
		t.Skip("set TPOOL_AERON_STRESS=1 to run")
	}
	rounds, _ := strconv.Atoi(os.Getenv("TPOOL_AERON_STRESS_ROUNDS"))
	rounds = max(rounds, 30)
	for round := range rounds {
		dir := filepath.Join(t.TempDir(), "aeron"+strconv.Itoa(round))
		var idle agent.IdleStrategy
		if os.Getenv("TPOOL_AERON_STRESS_IDLE") == "yield" {
			idle = agent.Yielding{} // no timers, no syscalls
		}
		d, err := mediadriver.Start(mediadriver.Config{Dir: dir, TimerInterval: 10 * time.Millisecond, Idle: idle})
		if err != nil {
			t.Fatal(err)
		}
		c, err := aeron.Connect(ctx(t), aeron.Config{Dir: dir, Idle: idle})
		if err != nil {
			t.Fatal(err)
		}
		const stream = 4201
		pub, err := c.AddExclusivePublication(ctx(t), benchChannel, stream)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := c.AddSubscription(ctx(t), benchChannel, stream+1)
		if err != nil {
			t.Fatal(err)
		}
		pong := startChild(t, "pong", dir, "STREAM="+strconv.Itoa(stream))
		pong.expect(t, "ready")
		eventually(t, "connected", func() bool { return pub.IsConnected() && sub.IsConnected() })
		msg := make([]byte, 32)
		received := false
		h := func([]byte, *aeron.Header) { received = true }
		for range 300_000 {
			for pub.Offer(msg) < 0 {
			}
			received = false
			for !received {
				sub.Poll(h, 1)
			}
		}
		_ = pong.cmd.Process.Kill()
		_ = c.Close()
		_ = d.Close()
		t.Logf("round %d ok", round)
	}
}
