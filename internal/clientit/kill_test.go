package clientit

import (
	"fmt"
	"testing"

	"github.com/tpool-go/tpool/internal/proctest"
)

// TestConsumerKilledMidStream: of two consumers of a stream, one is
// SIGKILLed while frames flow. In every case the producer goes on
// (every frame committed, no error, never paused) and the other consumer
// accepts no corrupt frame and receives every descriptor the producer
// sent.
//
// The dead consumer's subscription stays on the descriptor stream until
// the media driver times its client out (client liveness, 10 s by
// default), and an IPC publication cannot run more than a window (half
// the 4 MiB term: about 21,800 descriptors) ahead of its slowest tethered
// subscriber. Consumers subscribe untethered (runtime/client/tether.go),
// so the dead one is cut loose at the first media driver timer tick (1 s)
// that finds it three quarters of a window behind, lingers (still holding
// the publication, as in Aeron) until the next tick, and rests 5 s before
// it rejoins. At 1 kHz it never gets that far behind in the test: every
// descriptor is sent and the other consumer receives every frame. At
// 10 kHz it does, about 1.6 s after the kill; the publication may then
// wait up to two ticks less 0.55 s (at most about 14,500 descriptors the
// producer drops after its offer retries), once in the 8 s of the test.
// Tethered, it waited until the media driver timed the dead client out:
// 58,154 of 80,000 dropped. The test allows a quarter.
func TestConsumerKilledMidStream(t *testing.T) {
	tests := []struct {
		name       string
		frames     uint64
		periodUs   int
		maxDropped uint64 // descriptors the producer may drop
	}{
		{"1kHz", 1500, 1000, 0},
		{"10kHz", 80000, 100, 80000 / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.maxDropped > 0 && testing.Short() {
				t.Skip("-short")
			}
			e := newEnv(t)
			victim, other := e.spawn("consumer", ""), e.spawn("consumer", "")
			victim.MustAwait(t, "attached")
			other.MustAwait(t, "attached")
			prod := e.spawn("producer", fmt.Sprint(tt.frames, tt.periodUs))
			prod.MustAwait(t, "attached")
			if err := prod.Send("go"); err != nil {
				t.Fatal(err)
			}
			victim.MustAwait(t, "got 300")
			victim.Kill()
			if exited, code := victim.Exited(); !exited || code != -1 {
				t.Fatalf("the victim did not die of the signal (exited %v, code %d)", exited, code)
			}
			done := prod.MustAwait(t, "done")
			t.Log("producer: ", done)
			if n := proctest.Uint(t, done, "frames"); n != tt.frames {
				t.Errorf("producer committed %d frames, want %d", n, tt.frames)
			}
			for _, k := range []string{"errors", "paused", "nosub"} {
				if n := proctest.Uint(t, done, k); n != 0 {
					t.Errorf("producer: %s=%d, want 0", k, n)
				}
			}
			sent := proctest.Uint(t, done, "sent")
			if err := other.Send("stats"); err != nil {
				t.Fatal(err)
			}
			st := other.MustAwait(t, "stats")
			t.Log("other consumer: ", st)
			if n := proctest.Uint(t, st, "corrupt"); n != 0 {
				t.Errorf("the other consumer accepted %d corrupt frames", n)
			}
			dropped := proctest.Uint(t, done, "dropped")
			if dropped+sent != tt.frames || dropped > tt.maxDropped {
				t.Errorf("producer sent %d descriptors and dropped %d, want %d in all and at most %d dropped",
					sent, dropped, tt.frames, tt.maxDropped)
			}
			// Every descriptor sent reaches the other consumer (whether its
			// frame was still in the ring is another matter at 10 kHz).
			if n := proctest.Uint(t, st, "descriptors"); n != sent {
				t.Errorf("other consumer: %d descriptors, the producer sent %d", n, sent)
			}
			if tt.maxDropped > 0 {
				t.Logf("%d of %d descriptors dropped while the dead consumer's subscription held the stream", dropped, tt.frames)
				return
			}
			for k, want := range map[string]uint64{"descriptors": tt.frames, "accepted": tt.frames, "good": tt.frames, "dropped": 0, "gap": 0} {
				if n := proctest.Uint(t, st, k); n != want {
					t.Errorf("other consumer: %s=%d, want %d", k, n, want)
				}
			}
		})
	}
}
