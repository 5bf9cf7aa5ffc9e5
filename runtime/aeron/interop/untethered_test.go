package interop_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// TestUntetheredSubscriberLikeAeronmd checks the semantics runtime/client
// relies on (docs/AERON.md, "Untethered subscriptions") against aeronmd,
// tpool-aeronmd and the embedded driver, each with its default timer
// interval (1 s) and untethered timeouts (5 s, 10 s): the publication's
// channel sets untethered-window-limit-timeout and
// untethered-resting-timeout, and a tether=false subscriber that stops
// reading is cut loose (its image goes unavailable), so the publisher and
// a subscriber that keeps reading go on past the window; after the
// resting timeout the stalled subscriber gets an image again.
func TestUntetheredSubscriberLikeAeronmd(t *testing.T) {
	drivers := []driver{
		{"aeronmd", func(t testing.TB, dir string) { startAeronmd(t, dir) }},
		{"tpool-aeronmd", func(t testing.TB, dir string) { startTpoolAeronmd(t, dir) }},
		{"embedded", startEmbedded},
	}
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir() + "/aeron"
			d.start(t, dir)
			c := connect(t, dir)
			const stream = 3101
			events := make(chan string, 16)
			live, err := c.AddSubscription(ctx(t), "aeron:ipc?tether=false", stream)
			if err != nil {
				t.Fatal(err)
			}
			stalled, err := c.AddSubscription(ctx(t), "aeron:ipc?tether=false", stream,
				aeron.WithAvailableImage(func(*aeron.Image) { events <- "available" }),
				aeron.WithUnavailableImage(func(*aeron.Image) { events <- "unavailable" }))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := c.AddPublication(ctx(t), "aeron:ipc?untethered-window-limit-timeout=500ms|untethered-resting-timeout=2s", stream)
			if err != nil {
				t.Fatal(err)
			}
			// The log metadata carries the channel's timeouts (offsets
			// 472 and 480 of the metadata after the three terms).
			logFile := filepath.Join(dir, "publications", strconv.FormatInt(pub.RegistrationID(), 10)+".logbuffer")
			f, err := os.Open(logFile)
			if err != nil {
				t.Fatal(err)
			}
			var meta [16]byte
			_, err = f.ReadAt(meta[:], 3*int64(pub.TermLength())+472)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if w, r := binary.LittleEndian.Uint64(meta[:]), binary.LittleEndian.Uint64(meta[8:]); w != 500e6 || r != 2e9 {
				t.Errorf("log metadata: untethered timeouts %d ns and %d ns, want 500 ms and 2 s", w, r)
			}
			eventually(t, "both subscribers connected", func() bool {
				return pub.IsConnected() && live.ImageCount() == 1 && stalled.ImageCount() == 1
			})
			if e := <-events; e != "available" {
				t.Fatalf("first event %q", e)
			}
			// Four windows (the window is half the 1 MiB term) of
			// messages, every one offered until it goes, while only the
			// live subscriber reads.
			msg := make([]byte, 992)
			const total = 4 * termLength / 2 / 1024
			received := 0
			h := func([]byte, *aeron.Header) { received++ }
			start := time.Now()
			var blocked time.Duration
			for sent := 0; sent < total; {
				if r := pub.Offer(msg); r > 0 {
					sent++
				} else if r != aeron.BackPressured && r != aeron.AdminAction {
					t.Fatalf("offer %d: %s", sent, aeron.StatusString(r))
				} else {
					t0 := time.Now()
					live.Poll(h, 64)
					time.Sleep(100 * time.Microsecond)
					blocked += time.Since(t0)
				}
				live.Poll(h, 64)
				if time.Since(start) > testTimeout {
					t.Fatalf("only %d of %d messages offered within %v: the stalled subscriber holds the publication", sent, total, testTimeout)
				}
			}
			eventually(t, "the live subscriber reads everything", func() bool { live.Poll(h, 64); return received == total })
			t.Logf("%s: %d messages past the stalled subscriber; back pressure for %v", d.name, total, blocked.Round(time.Millisecond))
			for _, want := range []string{"unavailable", "available"} {
				select {
				case e := <-events:
					if e != want {
						t.Fatalf("stalled subscriber: event %q, want %q", e, want)
					}
				case <-ctx(t).Done():
					t.Fatalf("stalled subscriber: no %q event", want)
				}
			}
		})
	}
}
