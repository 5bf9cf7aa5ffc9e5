package aeron_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// addFunc adds a publication: (*aeron.Client).AddPublication or
// AddExclusivePublication.
type addFunc = func(*aeron.Client, context.Context, string, int32) (*aeron.Publication, error)

// publishKinds adds a concurrent or an exclusive publication.
var publishKinds = []struct {
	name string
	add  addFunc
}{
	{"concurrent", (*aeron.Client).AddPublication},
	{"exclusive", (*aeron.Client).AddExclusivePublication},
}

// connectedPair starts a driver with a subscription and a publication
// (added by add) on stream, and waits until they see each other.
func connectedPair(t *testing.T, add addFunc, subChannel, pubChannel string, stream int32) (*aeron.Subscription, *aeron.Publication) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	sub, err := c.AddSubscription(ctx(t), subChannel, stream)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := add(c, ctx(t), pubChannel, stream)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected", pub.IsConnected)
	return sub, pub
}

// TestEveryOfferPathAcrossTermRotations sends checksummed messages through
// every offer path (one buffer, two buffers, a vector, a claim, and
// fragmented messages above the MTU) across dozens of term rotations, for
// both kinds of publication, and checks that they arrive whole and in order.
func TestEveryOfferPathAcrossTermRotations(t *testing.T) {
	for _, kind := range publishKinds {
		t.Run(kind.name, func(t *testing.T) {
			const channel = "aeron:ipc?term-length=64k"
			sub, pub := connectedPair(t, kind.add, channel, channel, 71)
			next, got := uint32(0), 0
			asm := aeron.NewFragmentAssembler(func(b []byte, _ *aeron.Header) {
				_, seq, err := checkMessage(b)
				if err != nil || seq != next {
					t.Fatalf("message %d: seq %d, %v", next, seq, err)
				}
				next++
				got++
			}, 8<<10)
			h := asm.Handler()
			sizes := []int{12, 100, 1000, pub.MaxPayloadLength(), pub.MaxPayloadLength() + 1, 5000}
			const count = 3000
			var claim aeron.BufferClaim
			for i := range count {
				msg := make([]byte, sizes[i%len(sizes)])
				fillMessage(msg, 0, uint32(i))
				eventually(t, "offer", func() bool {
					var r int64
					switch {
					case i%5 == 1 && len(msg) <= pub.MaxPayloadLength():
						if r = pub.TryClaim(len(msg), &claim); r > 0 {
							copy(claim.Buffer(), msg)
							claim.Commit()
						}
					case i%5 == 2:
						r = pub.Offer2(msg[:7], msg[7:])
					case i%5 == 3:
						r = pub.OfferV([][]byte{msg[:3], msg[3:9], msg[9:]})
					default:
						r = pub.Offer(msg)
					}
					if r == aeron.Closed || r == aeron.MaxPositionExceeded || r == aeron.MessageTooLong {
						t.Fatalf("offer %d: %s", i, aeron.StatusString(r))
					}
					if r < 0 {
						sub.Poll(h, 100) // make room
					}
					return r > 0
				})
			}
			eventually(t, "all messages", func() bool { sub.Poll(h, 100); return got == count })
			if rotations := pub.Position() / int64(pub.TermLength()); rotations < 40 {
				t.Errorf("only %d term rotations; the test should cross many", rotations)
			}
		})
	}
}

// TestMaxPositionExceeded starts a stream in its last possible term and
// offers until the stream is full: both kinds of publication must stop
// with MaxPositionExceeded, never wrap the term id, and deliver everything
// before.
func TestMaxPositionExceeded(t *testing.T) {
	for _, kind := range publishKinds {
		t.Run(kind.name, func(t *testing.T) {
			// Term id init+2^31-1 is the last; start 4 KiB before its end.
			const channel = "aeron:ipc?term-length=64k|init-term-id=0|term-id=2147483647|term-offset=61440"
			sub, pub := connectedPair(t, kind.add, "aeron:ipc", channel, 72)
			maxPosition := int64(64*1024) << 31
			msg := make([]byte, 100)
			sent, got := 0, 0
			h := func([]byte, *aeron.Header) { got++ }
			var r int64
			eventually(t, "MaxPositionExceeded", func() bool {
				r = pub.Offer(msg)
				switch {
				case r > 0:
					sent++
					if r > maxPosition {
						t.Fatalf("position %d beyond the maximum %d", r, maxPosition)
					}
				case r == aeron.BackPressured || r == aeron.AdminAction:
					sub.Poll(h, 100)
				case r != aeron.MaxPositionExceeded:
					t.Fatalf("offer: %s", aeron.StatusString(r))
				}
				return r == aeron.MaxPositionExceeded
			})
			if want := 4096 / 160; sent != want { // 100+32 bytes aligned to 160
				t.Errorf("sent %d messages before the end, want %d", sent, want)
			}
			if again := pub.Offer(msg); again != aeron.MaxPositionExceeded {
				t.Errorf("offer after the end = %s", aeron.StatusString(again))
			}
			eventually(t, "delivery", func() bool { sub.Poll(h, 100); return got == sent })
		})
	}
}
