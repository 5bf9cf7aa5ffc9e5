package clientit

import (
	"fmt"
	"testing"

	"github.com/tpool-go/tpool/internal/proctest"
)

// TestConsumerKilledMidStream: of two consumers of a stream, one is
// SIGKILLed while frames flow. In every case the producer goes on
// (every frame committed, no error, never paused) and the other consumer
// accepts no corrupt frame.
//
// At 1 kHz nothing else changes: every descriptor is sent and the other
// consumer receives every frame. At 10 kHz it does not: the dead
// consumer's subscription stays on the descriptor stream, tethered, until
// the media driver times its client out (client liveness, 10 s by
// default), and the publication cannot run more than a window (half the
// 4 MiB term: about 21,800 descriptors) ahead of it. The producer then
// drops every descriptor after its offer retries (DescriptorsDropped), so
// the other consumer never hears of those frames. That case checks only
// the guarantees above and logs the loss (docs/CLIENT.md).
func TestConsumerKilledMidStream(t *testing.T) {
	tests := []struct {
		name     string
		frames   uint64
		periodUs int
		lossless bool
	}{
		{"1kHz", 1500, 1000, true},
		{"10kHz", 40000, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.lossless && testing.Short() {
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
			if !tt.lossless {
				t.Logf("%d of %d descriptors lost to the dead consumer's tethered subscription", tt.frames-sent, tt.frames)
				return
			}
			if n := proctest.Uint(t, done, "dropped"); n != 0 || sent != tt.frames {
				t.Errorf("producer sent %d descriptors and dropped %d, want %d and 0", sent, n, tt.frames)
			}
			for k, want := range map[string]uint64{"descriptors": tt.frames, "accepted": tt.frames, "good": tt.frames, "dropped": 0, "gap": 0} {
				if n := proctest.Uint(t, st, k); n != want {
					t.Errorf("other consumer: %s=%d, want %d", k, n, want)
				}
			}
		})
	}
}
